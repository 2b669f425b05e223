"""The Textual application and the one factory that builds it (CLI, serve and tests)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from app.errors import SeamdeskError
from app.service import Desk


class SeamdeskApp(App):
    TITLE = "seamdesk"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk

    def on_mount(self) -> None:
        from screens.status import StatusScreen

        mode = " · read-only" if self.desk.read_only else ""
        self.sub_title = f"{self.desk.operator}{mode}"
        self.push_screen(StatusScreen(self.desk))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures surface: a toast naming what went wrong."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, SeamdeskError):
            self.notify(Text(error.message), title=error.title, severity="error", timeout=10)
        else:
            self.notify(Text(f"{type(error).__name__}: {error}"), title="Unexpected error",
                        severity="error", timeout=10)


def make_app(desk: Desk) -> SeamdeskApp:
    """Build the app; every entry point (CLI, `serve`, tests) goes through here."""
    return SeamdeskApp(desk)
