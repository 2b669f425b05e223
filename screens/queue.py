"""The exception queue: every divergence seamdesk found, owned by someone, filtered and
sorted in SQL and drawn a page at a time (it stays fast at a million exceptions).

Keys act on the highlighted exception; the same keys in upper case act on every exception
the filter matches, after a confirmation that says how many will change.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from contextlib import suppress
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input, Static

from app.clock import age_text, narrow_span
from app.diagnosis.catalogue import CODE_WIDTH, OWNER_WIDTH
from app.queue.query import QueueFilter, QueueRow, parse_filter, unknown_values
from app.threads import helpers
from screens.base import DeskScreen
from screens.queue_action import ActionDialog, Request
from widgets.queue_detail import DetailPane, detail_text
from widgets.quiet_footer import QuietFooter
from widgets.status_header import StatusHeader
from widgets.virtual_table import PAGE, Column, VirtualTable

if TYPE_CHECKING:
    from textual.widget import Widget

    from app.queue.query import Overview, QueueDetail

COLUMNS = [
    Column("Age", 7, lambda r: r.age),
    Column("Code", CODE_WIDTH, lambda r: r.code),
    Column("SKU", 14, lambda r: r.sku or r.document or ""),
    Column("Loc", 5, lambda r: "?" if ":" in (r.location or "") else r.location or ""),
    Column("Handoff", 15, lambda r: r.handoff, min_table=120),
    Column("Owner", OWNER_WIDTH, lambda r: r.assignee or r.owner,
           min_table=100),
    Column("Status", 8, lambda r: r.status),
    Column("Re", 2, lambda r: str(r.recurrences or ""), justify="right", min_table=100),
    Column("Summary", 0, lambda r: r.summary),
]
RELOAD_SECONDS = 30
FIRST_PAGE_WAIT = 0.1  # seconds a new screen waits for its rows before it first paints
PATIENCE = 0.1  # seconds the rows wait for their count (else two frames, two layouts)


def _within(future: Future, seconds: float):
    """The future's result if it is ready within `seconds`, else None."""
    try:
        return future.result(timeout=seconds)
    except TimeoutError:
        return None


def _settle(future: asyncio.Future, result) -> None:
    """Resolve an asyncio future from a thread (once; not after its loop has closed)."""

    def settle() -> None:
        if not future.done():
            future.set_result(result)

    with suppress(RuntimeError):  # the app has exited meanwhile
        future.get_loop().call_soon_threadsafe(settle)


class Shown:
    """A queue row with its age worked out once (the table draws it on every repaint)."""

    __slots__ = ("age", "row")

    def __init__(self, row: QueueRow, now: int) -> None:
        self.row, self.age = row, narrow_span(now - row.opened_at)

    def __getattr__(self, name: str):
        return getattr(self.row, name)


class RowsLoaded(Message):
    """The first page of a reload, with its count and the overview if they came in time
    (else `Counted` and `OverviewLoaded` follow)."""

    def __init__(self, reload: int, where: QueueFilter, sort: str, top: bool, first: list,
                 now: int, total: int | None, overview: Overview | None) -> None:
        super().__init__()
        self.reload, self.where, self.sort, self.top = reload, where, sort, top
        self.first, self.now, self.total, self.overview = first, now, total, overview
        self.shown = False  # applied already (on mount, before it came round the queue)


class Counted(Message):
    def __init__(self, reload: int, total: int) -> None:
        super().__init__()
        self.reload, self.total = reload, total


class OverviewLoaded(Message):
    def __init__(self, reload: int, overview: Overview, now: int) -> None:
        super().__init__()
        self.reload, self.overview, self.now = reload, overview, now


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
    AUTO_FOCUS = "#rows"  # not the filter box: focus moving on mount redraws the footer
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("t", "sort", "Sort", id="sort"),
        Binding("k", "act('acknowledge')", "Ack", id="acknowledge"),
        Binding("g", "act('assign')", "Assign", id="assign"),
        Binding("x", "act('resolve')", "Resolve", id="resolve"),
        Binding("m", "act('correct')", "Resolve: corrected by hand", id="correct",
                show=False),
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
        self._reloads = 0  # the newest reload: answers to older ones are dropped
        self._resumed = False
        self._first: asyncio.Future | None = None  # the first page, for on_mount
        self._shown: tuple[QueueFilter, str] | None = None  # what the table holds
        self._total: int | None = None  # None while counting
        self._header: Text | None = None
        self._overview: tuple[Overview, int] | None = None  # with the time it was read
        self._detail_lines = (0, -1)  # the detail's width and lines, as laid out

    def compose(self) -> ComposeResult:
        # Read the first page now, while the widgets mount (on_mount waits for it).
        self._first = asyncio.get_running_loop().create_future()
        self.reload()
        yield StatusHeader()
        yield Input(self.app.queue_filter,
                    placeholder="Filter: code:… status:… owner:… loc:… handoff:… or words",
                    id="filter")
        yield Static(id="overview")
        yield Static(id="columns")
        yield VirtualTable(COLUMNS, lambda shown: shown.row.cursor(self.sort), id="rows")
        yield DetailPane(id="detail")
        yield QuietFooter(compact=True, id="keys")
        yield QuietFooter(compact=True, id="typing", typing=True)

    async def on_mount(self) -> None:
        self.query_one("#rows", VirtualTable).focus()  # (AUTO_FOCUS did, if the app has it)
        self.set_interval(RELOAD_SECONDS, self.reload)  # refreshes land; ages move on
        # The screen's first frame follows this handler: with the rows, if they are a few
        # milliseconds away, rather than a frame of "…" and a second one.
        first, self._first = self._first, None
        try:
            message = await asyncio.wait_for(asyncio.shield(first), FIRST_PAGE_WAIT)
        except TimeoutError:
            return  # a slow cache: the rows come as a message instead
        if message is not None:
            self.on_rows_loaded(message)

    def on_data_refreshed(self, _message) -> None:  # a background refresh landed
        self.reload()

    def on_screen_resume(self) -> None:  # back from another screen (compose loads first)
        if self._resumed:
            # The filter may have been set elsewhere (a health figure's drill-down).
            box = self.query_one("#filter", Input)
            changed = box.value != self.app.queue_filter
            box.value = self.app.queue_filter
            self.reload(top=changed)
        self._resumed = True

    def watch_focused(self, focused: Widget | None) -> None:
        typing = isinstance(focused, Input)
        for footer in self.query(QuietFooter):  # the footer of the state the screen is in
            footer.display = footer.typing == typing

    @property
    def where(self) -> QueueFilter:
        return parse_filter(self.app.queue_filter)

    # -- loading --------------------------------------------------------------------------
    def reload(self, top: bool = False) -> None:
        """The first page, its count and the overview, each shown as soon as it is here
        (`top`: move the cursor to the first row; else it stays where it is)."""
        self._reloads += 1
        self._reload(self._reloads, self.where, self.sort, top, self._first)

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue")
    def _reload(self, reload: int, where: QueueFilter, sort: str, top: bool,
                early: asyncio.Future | None) -> None:
        try:
            desk = self.app.desk
            # Counted (and the overview read) beside the page, in threads of their own.
            counting = helpers("queue-count", 2).submit(desk.queue_count, where)
            overview = helpers("queue-count", 2).submit(desk.queue_overview)
            now = desk.now()
            first = [Shown(row, now) for row in desk.queue_page(where, sort, None, PAGE)]
            exact = len(first) < PAGE  # a short first page is the whole result
            # (a new screen's first frame waits for the rows: not for a slow count too)
            patience = PATIENCE if early is None else PATIENCE / 5
            total = len(first) if exact else _within(counting, patience)
            message = RowsLoaded(reload, where, sort, top, first, now, total,
                                 _within(overview, patience if total is not None else 0))
            self.post_message(message)
            if early is not None:
                _settle(early, message)
            if total is None:
                self.post_message(Counted(reload, counting.result()))
            if message.overview is None:
                self.post_message(OverviewLoaded(reload, overview.result(), now))
        finally:
            if early is not None:  # (an error: on_mount stops waiting; the worker reports it)
                _settle(early, None)

    def on_rows_loaded(self, message: RowsLoaded) -> None:
        if message.reload != self._reloads or message.shown:
            return
        message.shown = True
        table = self.query_one("#rows", VirtualTable)
        desk, where, sort, now = self.app.desk, message.where, message.sort, message.now

        def loader(offset: int, after: tuple | None, limit: int) -> list[Shown]:
            rows = desk.queue_page(where, sort, after, limit, offset)
            return [Shown(row, now) for row in rows]

        again = self._shown == (where, sort) and self._total is not None
        if message.total is not None or not again:  # else: the old count until recounted
            self._total = message.total
        self._shown = (where, sort)
        if message.overview is not None:
            self._overview = (message.overview, now)
        table.reset(loader, len(message.first) if self._total is None else self._total,
                    keep_cursor=not message.top, first=message.first)
        self._show_columns(table)
        self._counted(message.total)

    def on_virtual_table_resized(self, message: VirtualTable.Resized) -> None:
        self._show_columns(message.table)

    def _show_columns(self, table: VirtualTable) -> None:
        header = table.header_text()
        if header != self._header:
            self._header = header
            self.query_one("#columns", Static).update(header, layout=False)  # one line

    def on_counted(self, message: Counted) -> None:
        if message.reload == self._reloads:
            self._total = message.total
            self.query_one("#rows", VirtualTable).set_total(message.total)
            self._counted(message.total)

    def on_overview_loaded(self, message: OverviewLoaded) -> None:
        if message.reload == self._reloads:
            self._overview = (message.overview, message.now)
            self._show_overview()

    def _counted(self, total: int | None) -> None:
        self._show_overview()
        if total == 0:
            self.current = None
            self._show_detail(Text("No exceptions match this filter.", style="dim"))

    def _show_overview(self) -> None:
        text = Text()
        if self._overview is not None:
            overview, now = self._overview
            for status, n in overview.by_status.items():
                if n or status == "open":
                    text.append(f"{status} {n:,}  ", style="bold" if status == "open" else "")
            if overview.oldest_open_at is not None:
                text.append(f"│ oldest {age_text(now - overview.oldest_open_at)}  ")
        total = "counting…" if self._total is None else f"{self._total:,}"
        why = unknown_values(self.where, self.app.desk.config.settings.locations) \
            if self._total == 0 else None
        if why:  # in place of the order: what matches nothing says why (80 columns)
            text.append("│ 0 match: ", style="dim")
            text.append(why, style="bold")
        else:
            text.append(f"│ {total} match · by {self.sort}", style="dim")
        self.query_one("#overview", Static).update(text, layout=False)  # one line, always

    def on_virtual_table_highlighted(self, message: VirtualTable.Highlighted) -> None:
        self.current = message.row.row
        # After the frame that moves the cursor: its thread would compete with drawing it.
        self.call_after_refresh(self._detail_for, self.current.id)

    def _detail_for(self, item_id: int) -> None:
        if self.current is not None and self.current.id == item_id:
            self.load_detail(item_id)

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
        self._show_detail(detail_text(message.detail, desk.now(), desk.config.settings.owners))

    def _show_detail(self, text: Text) -> None:
        """Lay the screen out again only if the detail's height changes: a relayout
        repaints every widget, and the cursor changes the detail on every key."""
        pane = self.query_one("#detail", DetailPane)
        detail = pane.text
        detail.update(text, layout=False)
        width, shown = detail.content_region.width, pane.content_region.height
        last_width, last = self._detail_lines
        if width == last_width and last > shown and text.plain.count("\n") >= shown:
            return  # at its tallest before and still (no need to wrap it to know)
        lines = detail.get_content_height(self.size, self.size, width) if width else -1
        same = width == last_width and (lines == last or last > shown <= lines
                                        or 0 <= last < shown >= lines)
        if not same or pane.has_focus:  # (shown: the height laid out for the last;
            detail.refresh(layout=True)  # clipped or padded to it; focused: it scrolls)
        self._detail_lines = (width, lines)

    # -- filter and sort ------------------------------------------------------------------
    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    @on(Input.Submitted, "#filter")
    def _filtered(self, event: Input.Submitted) -> None:
        self.app.queue_filter = event.value.strip()  # kept while the app runs
        self.reload(top=True)  # first: its thread reads while the focus moves
        self.query_one("#rows", VirtualTable).focus()

    def action_sort(self) -> None:
        self.sort = "severity" if self.sort == "age" else "age"
        self.reload(top=True)

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

        roles = tuple(self.app.desk.config.settings.owners)
        self.app.push_screen(ActionDialog(action, what, suggestion, roles), chosen)

    @work(thread=True, exit_on_error=False, group="act")
    def run_action(self, request: Request, target) -> None:
        desk = self.app.desk
        kwargs: dict = {}
        if request.action == "assign":
            kwargs["assignee"] = request.value
        elif request.action == "snooze":  # (the dialog took only a number of hours)
            kwargs["until"] = desk.now() + int(float(request.value) * 3600)
        else:
            kwargs["note"] = request.value
        changed = desk.queue_act(request.action, target, **kwargs)
        self.post_message(ActionDone(request.action, changed))

    def on_action_done(self, message: ActionDone) -> None:
        noun = "exception" if message.changed == 1 else "exceptions"
        past = {"acknowledge": "Acknowledged", "assign": "Assigned", "resolve": "Resolved",
                "correct": "Resolved (corrected by hand)",
                "snooze": "Snoozed", "reopen": "Reopened"}[message.action]
        self.notify(f"{past} {message.changed} {noun}.", markup=False)
        self.reload()
        if self.current is not None:
            self.load_detail(self.current.id)

    # -- elsewhere ------------------------------------------------------------------------
    def action_lookup(self) -> None:
        if self.current is not None and self.current.sku:
            self.app.show_sku(self.current.sku, self.current.location)

    def action_back(self) -> None:
        rows = self.query_one("#rows", VirtualTable)
        if not rows.has_focus:  # from the filter box or the detail: back to the rows first
            rows.focus()
        else:
            self.app.pop_screen()
