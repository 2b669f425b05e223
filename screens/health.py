"""The health screen: which handoff is worst this week and since when, then every handoff
and system over the last 30 days as sparklines (one bar a day), and the highlighted
one's figures. `enter` on any row opens the exception queue filtered to what it counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static

from app.clock import narrow_span
from app.health.report import headline, spark
from screens.base import DeskScreen
from screens.help import OWNERSHIP_TITLE, ownership_text
from widgets.quiet_footer import QuietFooter
from widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from app.health.figures import Figures, Lane

DAYS = 30
ACTIVE = "status:active"
EVERY = "status:open,acknowledged,assigned,snoozed,resolved,cleared"


class HealthLoaded(Message):
    def __init__(self, figures: Figures, alerts: dict, matrix: dict) -> None:
        super().__init__()
        self.figures, self.alerts, self.matrix = figures, alerts, matrix


def _age(seconds: float | None) -> str:
    return "—" if seconds is None else narrow_span(seconds)


def _bars(values: list, style: str = "") -> Text:
    return Text(spark(values, blank="·"), style=style)  # (no value: a dot, not a gap)


def lane_filter(lane: Lane) -> str:
    return ACTIVE if lane.name == "all" else f"handoff:{lane.name} {ACTIVE}"


def figure_rows(figures: Figures, lane: Lane) -> list[tuple[str, str, list, str]]:
    """(figure, latest value, daily series, the queue filter it drills into)."""
    where = "" if lane.name == "all" else f"handoff:{lane.name} "
    now = figures.window.now
    rows = [("Opened per day", str(lane.opened[-1]), lane.opened, where + EVERY),
            ("Oldest unresolved", _age(None if lane.oldest_open_at is None
                                       else now - lane.oldest_open_at),
             lane.oldest_age, where + ACTIVE)]
    if lane.is_system or lane.name == "all":
        rate = lane.failed_run_rate()
        latest = next((r for r in reversed(rate) if r is not None), None)
        rows.append(("Failed sync runs", "—" if latest is None else f"{latest:.0%}",
                     [r or 0 for r in rate], where + ACTIVE))
    if not lane.is_system:
        rows.append(("Failed messages/day", str(lane.failed_messages[-1]),
                     lane.failed_messages, f"code:failed-messages {where}{ACTIVE}"))
    if any(v is not None for v in lane.delay):
        latest = next(v for v in reversed(lane.delay) if v is not None)
        rows.append(("Propagation delay", _age(latest), lane.delay, where + ACTIVE))
    rows += [("Duplicate postings", str(lane.week("duplicates")) + " 7d", lane.duplicates,
              f"code:duplicate-posting {where}{EVERY}"),
             ("Corrected by hand", str(lane.week("corrections")) + " 7d", lane.corrections,
              where + "status:resolved"),
             ("Open → resolve", _age(next((v for v in reversed(lane.resolve_seconds)
                                          if v is not None), None)),
              lane.resolve_seconds, where + "status:resolved")]
    for code, n in sorted(lane.codes.items(), key=lambda kv: -kv[1]):
        rows.append((f"open {code}", str(n), [], f"code:{code} {where}{ACTIVE}"))
    if lane.name == "all":
        for cause, n in figures.recurring_by_cause.items():
            rows.append((f"↻ recurring {cause}", str(n), [], f"code:recurring {cause}"))
    return rows


class HealthScreen(DeskScreen):
    CSS_PATH = "health.tcss"
    AUTO_FOCUS = "#lanes"
    BINDINGS = [
        # (priority: before the tables' own enter)
        Binding("enter", "drill", "Open in queue", id="health_drill", priority=True),
        Binding("tab", "switch", "Lanes/figures", id="health_switch", show=False),
        Binding("w", "owners", "Who owns what", id="ownership"),
        Binding("escape", "back", "Back", id="health_back", show=False),
        Binding("d", "back", "Back", id="health_toggle", show=False),  # d toggles it
    ]

    def __init__(self) -> None:
        super().__init__()
        self.figures: Figures | None = None
        self.matrix: dict = {}
        self.alerts: dict = {}
        self.showing_owners = False
        self._rows: list[tuple[str, str, list, str]] = []  # the figures table's rows

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static(id="headline")
        yield DataTable(id="lanes", cursor_type="row", zebra_stripes=False)
        yield DataTable(id="figures", cursor_type="row")
        yield Static(id="owners")
        yield QuietFooter(compact=True)

    def on_mount(self) -> None:
        lanes = self.query_one("#lanes", DataTable)
        # 80 columns hold the 30 bars: 15 + 4 + 6 + 5 + 6 + 30, and a cell's padding each
        for label, width in (("Handoff/system", 15), ("Open", 4), ("Oldest", 6),
                             ("New7d", 5), ("Fail7d", 6), (f"{DAYS} days: new/day", DAYS)):
            lanes.add_column(label, width=width)
        figures = self.query_one("#figures", DataTable)
        for label, width in (("Figure", 28), ("Latest", 8), (f"{DAYS} days", DAYS)):
            figures.add_column(label, width=width)
        self.query_one("#owners").display = False
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="health")
    def load(self) -> None:
        desk = self.app.desk
        self.post_message(HealthLoaded(desk.health_figures(DAYS), desk.alert_summary(),
                                       desk.config.settings.ownership.matrix()))

    def on_data_refreshed(self, _message) -> None:
        self.load()

    def on_health_loaded(self, message: HealthLoaded) -> None:
        self.figures, self.alerts, self.matrix = message.figures, message.alerts, \
            message.matrix
        figures = message.figures
        worst = figures.worst()
        text = Text(headline(figures), style="bold")
        failed, pending = self.alerts.get("failed", 0), self.alerts.get("pending", 0)
        if failed or pending:
            text.append(f"\nAlerts: {failed} failed, {pending} waiting", style="red")
            if (last := self.alerts.get("last_failure")) is not None:
                text.append(f" (last: {last['destination']}: {last['error']})", style="red")
        self.query_one("#headline", Static).update(text)
        table = self.query_one("#lanes", DataTable)
        shown = [*figures.handoffs(), *figures.systems(), figures.total]
        # The first time, the cursor starts on the worst handoff; later it stays put.
        row = shown.index(worst) if table.row_count == 0 and worst else table.cursor_row
        table.clear()
        for lane in shown:
            style = "bold red" if lane is worst else ""
            name = Text(lane.name + (" STALE" if lane.stale else ""), style=style or
                        ("red" if lane.stale else ""))
            fails = lane.week("failed_runs" if lane.is_system else "failed_messages")
            table.add_row(name, Text(str(lane.open_now), justify="right"),
                          Text(_age(None if lane.oldest_open_at is None
                                    else figures.window.now - lane.oldest_open_at)),
                          Text(str(lane.week("opened")), justify="right"),
                          Text(str(fails), justify="right"),
                          _bars(lane.opened, "red" if lane is worst else "cyan"),
                          key=lane.name)
        table.move_cursor(row=min(max(row, 0), table.row_count - 1))
        self._show_figures()

    def _lane(self) -> Lane | None:
        if self.figures is None:
            return None
        row = self.query_one("#lanes", DataTable).cursor_row
        shown = [*self.figures.handoffs(), *self.figures.systems(), self.figures.total]
        return shown[row] if 0 <= row < len(shown) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "lanes":
            self._show_figures()

    def _show_figures(self) -> None:
        lane, table = self._lane(), self.query_one("#figures", DataTable)
        table.clear()
        if lane is None or self.figures is None:
            return
        self._rows = figure_rows(self.figures, lane)
        for label, latest, series, _where in self._rows:
            table.add_row(Text(label), Text(latest, justify="right"),
                          _bars(series, "green"))

    def action_drill(self) -> None:
        """The queue, filtered to what the highlighted row counts."""
        focused = self.focused
        lane = self._lane()
        if lane is None:
            return
        where = lane_filter(lane)
        if getattr(focused, "id", None) == "figures":
            table = self.query_one("#figures", DataTable)
            if 0 <= table.cursor_row < len(self._rows):
                where = self._rows[table.cursor_row][3]
        self.app.open_queue(where)

    def action_switch(self) -> None:
        target = "#figures" if self.focused and self.focused.id == "lanes" else "#lanes"
        self.query_one(target).focus()

    def action_owners(self) -> None:
        """Swap the figures for the ownership matrix (and back)."""
        self.showing_owners = not self.showing_owners
        owners = self.query_one("#owners", Static)
        owners.border_title = Text(OWNERSHIP_TITLE)  # (not markup; a border: 24 rows fit)
        owners.update(ownership_text(self.matrix, title=False))
        owners.display = self.showing_owners
        self.query_one("#figures").display = not self.showing_owners

    def action_back(self) -> None:
        self.app.pop_screen()

