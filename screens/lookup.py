"""The lookup screen: type a SKU, see what WMS, ERP and storefront say at each location,
how old each number is, which handoff is broken, why, and who owns it.

Database work runs in thread workers and HTTP (re-read) in an async worker; results come
back as typed messages, so typing never waits on SQLite or the network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import (
    Footer,
    Input,
    OptionList,
    Static,
)
from textual.widgets.option_list import Option

from app.diagnosis.catalogue import SYSTEM_WIDE
from screens.base import DeskScreen
from widgets.count_panel import CountPanel, HandoffLine
from widgets.finding_card import FindingCard
from widgets.history_view import history_text
from widgets.status_header import StatusHeader

if TYPE_CHECKING:  # types only: the data layer loads after the first paint
    from app.lookup import LocationLookup, SkuLookup
    from app.refresh import SystemResult

SEARCH_LIMIT = 50
RELOAD_SECONDS = 30


class SearchHits(Message):
    def __init__(self, query: str, hits: list[tuple[str, str | None]]) -> None:
        super().__init__()
        self.query, self.hits = query, hits


class LookupLoaded(Message):
    def __init__(self, result: SkuLookup, location: str | None) -> None:
        super().__init__()
        self.result, self.location = result, location


class RereadFinished(Message):
    def __init__(self, sku: str, results: list[SystemResult]) -> None:
        super().__init__()
        self.sku, self.results = sku, results


def hit_prompt(sku: str, name: str | None, query: str) -> Text:
    """'SKU  name' with the typed text underlined where it matches; plain text throughout."""
    text = Text(sku, style="bold")
    if name:
        text.append(f"  {name}", style="dim")
    start = text.plain.lower().find(query.lower()) if query else -1
    if start >= 0:
        text.stylize("underline", start, start + len(query))
    return text


class LookupScreen(DeskScreen):
    CSS_PATH = "lookup.tcss"
    BINDINGS = [
        Binding("slash", "search", "Search", id="search"),
        Binding("r", "reread", "Re-read", id="reread"),
        Binding("c", "app.checklist", "Checklist", id="start_checklist"),
        Binding("a", "tab('locations')", "Locations", id="locations", show=False),
        Binding("f", "tab('findings')", "Findings", id="findings", show=False),
        Binding("h", "tab('history')", "History", id="history", show=False),
        Binding("n", "next_location", "Next location", id="next_location", show=False),
        Binding("escape", "close_hits", "Close", show=False),
        Binding("down", "into_hits", show=False),
    ]

    def __init__(self, sku: str | None = None, location: str | None = None) -> None:
        super().__init__()
        self.result: SkuLookup | None = None
        self.location: str | None = None
        self._initial = (sku, location)
        self._opened: str | None = None  # the SKU put in the search box by opening it
        self._opened_at: str | None = None  # and the location it was opened at, if any
        self._details_of: tuple[str | None, str | None] = (None, None)  # the tabs' SKU, location
        self._hits_for: str | None = None  # the query the hit list answers
        self._tabs_ready = False  # the detail tabs have mounted their contents

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Input(placeholder="Type a SKU or item name  (/ to search, enter to open)",
                    id="search")
        yield OptionList(id="hits")
        yield Static(id="title")
        yield CountPanel(id="counts")
        yield HandoffLine(id="handoff")
        yield Vertical(id="details")  # the tabs arrive after the first paint
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#hits", OptionList).display = False
        self.call_after_refresh(self._mount_details)
        # Ages and staleness move on, and refreshes land, while the screen stays open on
        # a shared terminal: re-read the cache (a millisecond) every little while.
        self.set_interval(RELOAD_SECONDS, self.reload)
        self._show()
        if self._initial[0]:
            self.open_sku(*self._initial)
        else:
            self.query_one("#search", Input).focus()

    # -- searching ------------------------------------------------------------------------
    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.focus()
        search.select_all()

    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        if event.value != self._opened:  # the SKU just opened: its hits would be ignored
            self.search(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search")
    def search(self, query: str) -> None:
        self.post_message(SearchHits(query, self.app.desk.search(query, SEARCH_LIMIT)))

    def on_search_hits(self, message: SearchHits) -> None:
        search = self.query_one("#search", Input)
        if message.query != search.value or message.query == self._opened:
            return  # typing has moved on, or this is the SKU just opened
        hits = self.query_one("#hits", OptionList)
        hits.clear_options()
        hits.add_options([Option(hit_prompt(sku, name, message.query), id=sku)
                          for sku, name in message.hits])
        self._hits_for = message.query
        hits.display = bool(message.hits) and (search.has_focus or hits.has_focus)
        if message.hits:
            hits.highlighted = 0

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        hits = self.query_one("#hits", OptionList)
        typed = event.value.strip()
        if not typed:
            return
        # The list may answer an earlier query (a scanner types faster than SQL answers):
        # only a list shown for exactly this text may choose for it.
        current = hits.display and self._hits_for == event.value and hits.option_count
        exact = next((o.id for o in hits.options if o.id and o.id.lower() == typed.lower()),
                     None) if current else None
        chosen = exact or (hits.get_option_at_index(hits.highlighted).id
                           if current and hits.highlighted is not None else typed)
        self.open_sku(chosen)

    @on(OptionList.OptionSelected, "#hits")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.open_sku(event.option.id)

    def action_into_hits(self) -> None:
        hits = self.query_one("#hits", OptionList)
        if hits.display and self.query_one("#search", Input).has_focus:
            hits.focus()

    def action_close_hits(self) -> None:
        hits = self.query_one("#hits", OptionList)
        if hits.display:
            hits.display = False
        self._focus_content()

    def _focus_content(self) -> None:
        """Focus the active tab's body, so the screen's keys work (not typed as text)."""
        if not self.query("#tabs"):
            self.set_focus(None)
            return
        active = self.query_one("#tabs").active
        target = {"findings": "#cards", "locations": "#grid", "history": "#history-scroll"}
        body = self.query_one(target.get(active, "#cards"))
        if body.focusable:
            body.focus()
        else:  # an empty tab takes no focus: leave the search box all the same
            self.set_focus(None)

    # -- loading a SKU --------------------------------------------------------------------
    def open_sku(self, sku: str, location: str | None = None) -> None:
        """Show a SKU (from search, the palette or another screen)."""
        self.query_one("#hits", OptionList).display = False
        self._opened, self._opened_at = sku, location
        self.query_one("#search", Input).value = sku
        self.load(sku, location)

    @work(thread=True, exclusive=True, exit_on_error=False, group="lookup")
    def load(self, sku: str, location: str | None = None) -> None:
        self.post_message(LookupLoaded(self.app.desk.lookup(sku), location))

    def on_lookup_loaded(self, message: LookupLoaded) -> None:
        if self._opened and message.result.sku.lower() != self._opened.lower():
            return  # a slower lookup of a SKU opened before the current one
        same_sku = self.result is not None and self.result.sku == message.result.sku
        self.result = message.result
        codes = [loc.location for loc in self.result.locations]
        keep = message.location or (self.location if same_sku else None)
        if keep in codes:
            self.location = keep
        else:  # the first location with something wrong, else the first
            flagged = [loc.location for loc in self.result.locations
                       if any(f.code not in SYSTEM_WIDE for f in loc.findings)]
            self.location = (flagged or codes or [None])[0]
        self._show()
        self._focus_content()

    def reload(self) -> None:
        """Load again what is open. A SKU opened from another screen is loaded before this
        screen resumes (the resume comes after): that SKU, not the one it replaces."""
        if self._opened and (self.result is None
                             or self.result.sku.lower() != self._opened.lower()):
            self.load(self._opened, self._opened_at)
        elif self.result is not None:
            self.load(self.result.sku, self.location)

    def on_screen_resume(self) -> None:
        self.reload()  # back from the systems screen, perhaps after a refresh

    def on_data_refreshed(self, _message) -> None:  # a background refresh landed
        self.reload()

    @property
    def current(self) -> LocationLookup | None:
        if self.result is None or self.location is None:
            return None
        return self.result.location(self.location)

    def _show(self) -> None:
        loc = self.current
        title = self.query_one("#title", Static)
        if self.result is None:
            title.update(Text("No SKU chosen yet", style="dim"))
        else:
            text = Text(self.result.sku, style="bold")
            if self.result.name:
                text.append(f"  {self.result.name}")
            if loc is not None:
                text.append("  @ ", style="dim")
                text.append(loc.location, style="bold")
                if loc.location_name:
                    text.append(f" {loc.location_name}", style="dim")
                index = [x.location for x in self.result.locations].index(loc.location)
                text.append(f"  ({index + 1} of {len(self.result.locations)}, n: next)",
                            style="dim")
            elif not self.result.locations:
                text.append("  no system holds a count for it yet", style="dim")
            title.update(text)
        self.query_one(CountPanel).show(self.result, loc)
        self.query_one(HandoffLine).show(loc)
        self._show_details()

    def _mount_details(self) -> None:
        from widgets.detail_tabs import DetailTabs  # the heaviest widgets: after the paint

        self.query_one("#details").mount(DetailTabs())

    def on_detail_tabs_ready(self) -> None:
        self._tabs_ready = True
        self._show_details()
        if self.result is not None:
            self._focus_content()

    def _show_details(self) -> None:
        """The tabs' contents, once they are mounted (a lookup that lands before that is
        shown when they are: filled twice, the cards would be mounted twice)."""
        if not self._tabs_ready:
            return
        loc = self.current
        self.query_one("#grid").fill(self.result, self.location)
        cards = self.query_one("#cards", VerticalScroll)
        cards.remove_children()
        if loc is not None:
            if loc.findings:
                cards.mount_all(FindingCard(f, i) for i, f in enumerate(loc.findings, 1))
            else:
                cards.mount(Static(Text("No findings: the systems agree here.")))
        self.query_one("#timeline", Static).update(
            history_text(loc) if loc else Text("Choose a SKU to see its history.", style="dim"))
        shown = (self.result.sku if self.result else None, self.location)
        if shown != self._details_of:  # another SKU or location: from the top (a reload of
            self._details_of = shown  # the same one keeps the place being read)
            for scrolled in (cards, self.query_one("#history-scroll")):
                scrolled.scroll_home(animate=False)

    def on_location_grid_chosen(self, message) -> None:  # LocationGrid.Chosen
        self.location = message.location
        self._show()
        self.query_one("#tabs").active = "findings"
        self._focus_content()

    def action_next_location(self) -> None:
        if self.result is None or not self.result.locations:
            return
        codes = [loc.location for loc in self.result.locations]
        index = codes.index(self.location) if self.location in codes else -1
        self.location = codes[(index + 1) % len(codes)]
        self._show()

    def action_tab(self, tab: str) -> None:
        if not self.query("#tabs"):
            return
        tabs = self.query_one("#tabs")
        tabs.active = tab
        self._focus_content()

    # -- re-read ---------------------------------------------------------------------------
    def action_reread(self) -> None:
        if self.result is None:
            self.notify("Choose a SKU first.", severity="warning")
            return
        if self.app.read_only:
            self.notify("Read-only session: re-reading from the systems is not allowed here.",
                        severity="warning")
            return
        self.notify(f"Re-reading {self.result.sku} from the three systems…", markup=False)
        self.reread(self.result.sku)

    @work(exclusive=True, exit_on_error=False, group="reread")
    async def reread(self, sku: str) -> None:
        desk = await self.app.open_desk()
        self.post_message(RereadFinished(sku, await desk.reread(sku)))

    def on_reread_finished(self, message: RereadFinished) -> None:
        failed = [r for r in message.results if r.status != "complete"]
        for result in failed:
            self.notify(result.summary(), title=f"{result.system} re-read {result.status}",
                        severity="error", timeout=10, markup=False)
        if not failed:
            self.notify(f"{message.sku}: fresh numbers from all three systems.", markup=False)
        self.app.update_freshness()
        if self.result is not None and self.result.sku == message.sku:
            self.load(message.sku, self.location)
