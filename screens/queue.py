"""The exception queue: every divergence seamdesk found, owned by someone, filtered and
sorted in SQL and drawn a page at a time (it stays fast at a million exceptions).

Keys act on the highlighted exception; the same keys in upper case act on every exception
the filter matches, after a confirmation that says how many will change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Footer, Header, Input, Static

from app.clock import age_text, span_text
from app.queue.query import QueueFilter, QueueRow, parse_filter
from screens.base import DeskScreen
from screens.queue_action import ActionDialog, Request
from widgets.queue_detail import detail_text
from widgets.virtual_table import PAGE, Column, VirtualTable

if TYPE_CHECKING:
    from app.queue.query import Overview, QueueDetail

COLUMNS = [
    Column("Age", 7, lambda r: r.age),
    Column("Code", 21, lambda r: r.code),
    Column("SKU", 14, lambda r: r.sku or r.document or ""),
    Column("Loc", 5, lambda r: "?" if ":" in (r.location or "") else r.location or ""),
    Column("Handoff", 15, lambda r: r.handoff, min_table=120),
    Column("Owner", 12, lambda r: r.assignee or r.owner, min_table=100),
    Column("Status", 8, lambda r: r.status),
    Column("Re", 2, lambda r: str(r.recurrences or ""), justify="right", min_table=100),
    Column("Summary", 0, lambda r: r.summary),
]
RELOAD_SECONDS = 30


class Shown:
    """A queue row with its age worked out once (the table draws it on every repaint)."""

    __slots__ = ("age", "row")

    def __init__(self, row: QueueRow, now: int) -> None:
        self.row, self.age = row, span_text(now - row.opened_at).replace(" min", "m")

    def __getattr__(self, name: str):
        return getattr(self.row, name)


class Reloaded(Message):
    def __init__(self, total: int, overview: Overview, first: list, now: int) -> None:
        super().__init__()
        self.total, self.overview, self.first, self.now = total, overview, first, now


class DetailLoaded(Message):
    def __init__(self, detail: QueueDetail | None) -> None:
        super().__init__()
        self.detail = detail


class ActionDone(Message):
    def __init__(self, action: str, changed: int) -> None:
        super().__init__()
        self.action, self.changed = action, changed


class QueueScreen(DeskScreen):
    CSS_PATH = "queue.tcss"
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("t", "sort", "Sort", id="sort"),
        Binding("k", "act('acknowledge')", "Ack", id="acknowledge"),
        Binding("g", "act('assign')", "Assign", id="assign"),
        Binding("x", "act('resolve')", "Resolve", id="resolve"),
        Binding("z", "act('snooze')", "Snooze", id="snooze", show=False),
        Binding("o", "act('reopen')", "Reopen", id="reopen", show=False),
        Binding("K", "act('acknowledge', True)", "Ack all", id="acknowledge_all", show=False),
        Binding("G", "act('assign', True)", "Assign all", id="assign_all", show=False),
        Binding("X", "act('resolve', True)", "Resolve all", id="resolve_all", show=False),
        Binding("l", "lookup", "Look up", id="lookup_sku"),
        Binding("escape", "back", "Back", id="back", show=False),
        Binding("e", "back", "Back", id="queue_back", show=False),  # e toggles the queue
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sort = "age"
        self.current: QueueRow | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="Filter: code:… status:… owner:… loc:… handoff:… or words",
                    id="filter")
        yield Static(id="overview")
        yield Static(id="columns")
        yield VirtualTable(COLUMNS, lambda shown: shown.row.cursor(self.sort), id="rows")
        yield Static(id="detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).value = self.app.queue_filter
        self.query_one("#rows", VirtualTable).focus()
        self.set_interval(RELOAD_SECONDS, self.reload)  # refreshes land; ages move on

    def on_screen_resume(self) -> None:  # shown first, or back from another screen
        self.reload()

    @property
    def where(self) -> QueueFilter:
        return parse_filter(self.app.queue_filter)

    # -- loading --------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="queue")
    def reload(self) -> None:
        """The counts and the first page in one go, so the table paints with its rows."""
        desk, where = self.app.desk, self.where
        overview = desk.queue_overview()
        plain = where == QueueFilter(status=where.status)  # no narrowing but status
        total = sum(overview.by_status.get(s, 0) for s in where.statuses()) if plain \
            else desk.queue_count(where)
        now = desk.now()
        first = [Shown(row, now) for row in desk.queue_page(where, self.sort, None, PAGE)]
        self.post_message(Reloaded(total, overview, first, now))

    def on_reloaded(self, message: Reloaded) -> None:
        table = self.query_one("#rows", VirtualTable)
        desk, where, sort, now = self.app.desk, self.where, self.sort, message.now

        def loader(offset: int, after: tuple | None, limit: int) -> list[Shown]:
            rows = desk.queue_page(where, sort, after, limit, offset)
            return [Shown(row, now) for row in rows]

        table.reset(loader, message.total, keep_cursor=True, first=message.first)
        self.query_one("#columns", Static).update(table.header_text())
        self._show_overview(message.overview, message.total, now)
        if not message.total:
            self.current = None
            self.query_one("#detail", Static).update(
                Text("No exceptions match this filter.", style="dim"))

    def _show_overview(self, overview: Overview, total: int, now: int) -> None:
        text = Text()
        for status, n in overview.by_status.items():
            if n or status == "open":
                text.append(f"{status} {n:,}  ", style="bold" if status == "open" else "")
        if overview.oldest_open_at is not None:
            text.append(f"│ oldest {age_text(now - overview.oldest_open_at)}  ")
        text.append(f"│ {total:,} match · by {self.sort}", style="dim")
        self.query_one("#overview", Static).update(text)

    def on_virtual_table_highlighted(self, message: VirtualTable.Highlighted) -> None:
        self.current = message.row.row
        self.load_detail(self.current.id)

    def on_virtual_table_selected(self, message: VirtualTable.Selected) -> None:
        self.current = message.row.row
        self.load_detail(self.current.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail")
    def load_detail(self, item_id: int) -> None:
        self.post_message(DetailLoaded(self.app.desk.queue_detail(item_id)))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        if message.detail is not None and self.current is not None \
                and message.detail.row.id != self.current.id:
            return  # a slower answer for a row the cursor has left
        desk = self.app.desk
        self.query_one("#detail", Static).update(
            detail_text(message.detail, desk.now(), desk.config.settings.owners))

    # -- filter and sort ------------------------------------------------------------------
    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    @on(Input.Submitted, "#filter")
    def _filtered(self, event: Input.Submitted) -> None:
        self.app.queue_filter = event.value.strip()  # kept while the app runs
        self.query_one("#rows", VirtualTable).cursor = 0
        self.query_one("#rows", VirtualTable).focus()
        self.reload()

    def action_sort(self) -> None:
        self.sort = "severity" if self.sort == "age" else "age"
        self.query_one("#rows", VirtualTable).cursor = 0
        self.reload()

    # -- actions --------------------------------------------------------------------------
    def action_act(self, action: str, bulk: bool = False) -> None:
        if self.app.read_only:
            self.notify(f"Read-only session: {action} is not allowed here.",
                        severity="warning")
            return
        if bulk:
            self._confirm_bulk(action)
            return
        if self.current is None:
            self.notify("Choose an exception first.", severity="warning")
            return
        row = self.current
        what = f"#{row.id} {row.code} {row.sku or row.document or ''} {row.location or ''}"
        self._ask(action, what.strip(), [row.id])

    @work(thread=True, exit_on_error=False, group="bulk")
    def _confirm_bulk(self, action: str) -> None:
        count = self.app.desk.queue_count(self.where)
        noun = "exception" if count == 1 else "exceptions"
        what = f"all {count:,} {noun} matching “{self.app.queue_filter or 'active'}”"
        self.app.call_from_thread(self._ask, action, what, self.where)

    def _ask(self, action: str, what: str, target) -> None:
        suggestion = "24" if action == "snooze" else ""

        def chosen(request: Request | None) -> None:
            if request is not None:
                self.run_action(request, target)

        self.app.push_screen(ActionDialog(action, what, suggestion), chosen)

    @work(thread=True, exit_on_error=False, group="act")
    def run_action(self, request: Request, target) -> None:
        desk = self.app.desk
        kwargs: dict = {}
        if request.action == "assign":
            kwargs["assignee"] = request.value
        elif request.action == "snooze":
            try:
                hours = float(request.value)
            except ValueError:
                hours = 0
            kwargs["until"] = desk.now() + int(hours * 3600)
        else:
            kwargs["note"] = request.value
        changed = desk.queue_act(request.action, target, **kwargs)
        self.post_message(ActionDone(request.action, changed))

    def on_action_done(self, message: ActionDone) -> None:
        noun = "exception" if message.changed == 1 else "exceptions"
        past = {"acknowledge": "Acknowledged", "assign": "Assigned", "resolve": "Resolved",
                "snooze": "Snoozed", "reopen": "Reopened"}[message.action]
        self.notify(f"{past} {message.changed} {noun}.", markup=False)
        self.reload()
        if self.current is not None:
            self.load_detail(self.current.id)

    # -- elsewhere ------------------------------------------------------------------------
    def action_lookup(self) -> None:
        if self.current is not None and self.current.sku:
            self.app.show_sku(self.current.sku)

    def action_back(self) -> None:
        if self.query_one("#filter", Input).has_focus:
            self.query_one("#rows", VirtualTable).focus()
        else:
            self.app.pop_screen()
