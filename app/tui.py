"""The Textual application and the one factory that builds it (CLI, serve and tests)."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from app.errors import SeamdeskError
from app.service import Desk
from screens.help import HelpScreen
from screens.lookup import LookupScreen
from screens.palette import SkuCommands
from screens.status import StatusScreen


class SeamdeskApp(App):
    TITLE = "seamdesk"
    BINDINGS = [
        Binding("s", "systems", "Systems", id="systems"),
        Binding("question_mark,f1", "help", "Help", key_display="?", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]
    COMMANDS = App.COMMANDS | {SkuCommands}

    def __init__(self, desk: Desk, sku: str | None = None, location: str | None = None) -> None:
        super().__init__()
        self.desk = desk
        self._start = (sku, location)

    def on_mount(self) -> None:
        mode = " · read-only" if self.desk.read_only else ""
        self.sub_title = f"{self.desk.operator}{mode}"
        self.push_screen(LookupScreen(self.desk, *self._start))

    def action_systems(self) -> None:
        if not isinstance(self.screen, StatusScreen):
            self.push_screen(StatusScreen(self.desk))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def show_sku(self, sku: str) -> None:
        """Open a SKU on the lookup screen (from the command palette or another screen)."""
        while not isinstance(self.screen, LookupScreen) and len(self.screen_stack) > 2:
            self.pop_screen()
        if isinstance(self.screen, LookupScreen):
            self.screen.open_sku(sku)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.report_failure(event.worker.error)

    def report_failure(self, error: BaseException | None) -> None:
        """The one place worker failures surface: a toast naming what went wrong."""
        if isinstance(error, SeamdeskError):
            self.notify(error.message, title=error.title, severity="error", timeout=10,
                        markup=False)  # messages quote vendor text: never markup
        else:
            self.notify(f"{type(error).__name__}: {error}", title="Unexpected error",
                        severity="error", timeout=10, markup=False)


def make_app(desk: Desk, sku: str | None = None, location: str | None = None) -> SeamdeskApp:
    """Build the app, optionally opened on a SKU (and location); every entry point (CLI,
    `serve`, snapshots, tests) goes through here."""
    return SeamdeskApp(desk, sku, location)
