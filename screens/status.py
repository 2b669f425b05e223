"""The status screen: each system, its last good refresh, rows, age and last outcome.

It stands in for the lookup screen until that arrives, and stays as the place to see
whether the cache can be trusted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from app.clock import age_text, iso
from screens.base import DeskScreen
from widgets.status_header import StatusHeader

if TYPE_CHECKING:  # types only: the data layer loads after the first paint
    from app.refresh import SystemResult
    from app.service import SystemHealth

COLUMNS = (("System", 11), ("Kind", 15), ("Last good", 11), ("Age", 10), ("Rows", 7),
           ("Last run", 9))
OUTCOME_STYLE = {"complete": "green", "partial": "yellow", "failed": "red bold",
                 "running": "cyan"}


class StatusLoaded(Message):
    def __init__(self, systems: list[SystemHealth]) -> None:
        super().__init__()
        self.systems = systems


class RefreshFinished(Message):
    def __init__(self, results: list[SystemResult]) -> None:
        super().__init__()
        self.results = results


class StatusScreen(DeskScreen):
    CSS_PATH = "status.tcss"
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="refresh"),
        Binding("f", "refresh(True)", "Full refresh", id="full_refresh"),
        Binding("escape", "app.pop_screen", "Back", id="back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.systems: list[SystemHealth] = []

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static("Systems", id="title")
        yield DataTable(id="systems", cursor_type="row", zebra_stripes=True)
        yield Static(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # Fixed widths: the layout must not shift as rows arrive (or in snapshots).
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="status")
    def load(self) -> None:
        self.post_message(StatusLoaded(self.app.desk.health()))

    def on_status_loaded(self, message: StatusLoaded) -> None:
        self.systems = message.systems
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for system in self.systems:
            table.add_row(*self._cells(system), key=system.name)
        if self.systems:
            table.move_cursor(row=min(max(row, 0), len(self.systems) - 1))
        self._show_detail()

    def _cells(self, system: SystemHealth) -> list[Text]:
        run = system.last_run
        if system.last_good_read_at is None:
            read, age = Text("never", style="red"), Text("—")
        else:
            read = Text(iso(system.last_good_read_at)[5:16].replace("T", " "))  # MM-DD HH:MM
            age = Text(age_text(system.age or 0), style="red bold" if system.stale else "")
        outcome = Text(run.status if run else "no runs", style=OUTCOME_STYLE.get(
            run.status if run else "", "dim"))
        return [Text(system.name, style="bold"), Text(system.kind), read, age,
                Text(f"{system.rows:,}", justify="right"), outcome]

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        table = self.query_one(DataTable)
        detail = self.query_one("#detail", Static)
        if not self.systems or table.cursor_row < 0:
            detail.update(Text("No systems configured."))
            return
        system = self.systems[min(table.cursor_row, len(self.systems) - 1)]
        detail.update(describe(system))

    def action_refresh(self, full: bool = False) -> None:
        if self.app.read_only:
            self.notify("Read-only session: refresh is not allowed here.", severity="warning")
            return
        self.notify("Full refresh started…" if full else "Refresh started…")
        self.run_refresh(full)

    @work(exclusive=True, exit_on_error=False, group="refresh")
    async def run_refresh(self, full: bool) -> None:
        desk = await self.app.open_desk()
        results = await desk.refresh(full=full)
        self.post_message(RefreshFinished(results))

    def on_refresh_finished(self, message: RefreshFinished) -> None:
        failed = [r for r in message.results if r.status != "complete"]
        for result in failed:
            self.notify(result.summary(), title=f"{result.system} refresh {result.status}",
                        severity="error", timeout=10, markup=False)
        if not failed:
            rows = sum(r.rows for r in message.results)
            self.notify(f"Refresh complete: {rows:,} rows read.")
        self.load()
        self.app.update_freshness()

    def on_data_refreshed(self, _message) -> None:  # a background refresh landed
        self.load()


def describe(system: SystemHealth) -> Text:
    """The selected system's last run in words (plain text: errors come from vendors)."""
    text = Text()
    text.append(f"{system.name} ({system.kind})", style="bold")
    run = system.last_run
    if run is None:
        text.append("\nNever refreshed. Press r to refresh now.")
        return text
    text.append(f"\nLast run: {run.mode}, {run.status}, started {iso(run.started_at)}, "
                f"{run.rows:,} rows in {run.pages:,} pages, {run.requests:,} requests")
    if run.throttled or run.retries:
        text.append(f", {run.throttled} throttled, {run.retries} retries", style="yellow")
    if run.error:
        text.append("\nError: ", style="red bold")
        text.append(run.error)
    if system.stale:
        text.append("\nStale: no good read within the configured limit; numbers shown "
                    "elsewhere are old.", style="red")
    if system.unmapped_locations:
        text.append("\nNot in [locations]: " + ", ".join(system.unmapped_locations),
                    style="yellow")
    return text
