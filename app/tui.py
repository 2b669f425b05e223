"""The Textual application and the one factory that builds it (CLI, serve and tests).

The app paints first and opens the desk (config, cache) in a thread right after, so a
cold start costs little more than Textual's own; screens reach the desk from workers
through `app.desk`, which waits for it. A config error ends the app with exit code 2 and
its one line (see `failure`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from app.errors import SeamdeskError
from screens.help import HelpScreen
from screens.lookup import LookupScreen
from screens.palette import SkuCommands
from screens.status import StatusScreen

if TYPE_CHECKING:  # types only: the data layer loads after the first paint
    from app.service import Desk


class SeamdeskApp(App):
    TITLE = "seamdesk"
    BINDINGS = [
        # shown in the lookup screen's footer (its own binding); here for every other screen
        Binding("c", "checklist", "Checklist", id="checklist", show=False),
        Binding("e", "queue", "Queue", id="queue"),
        Binding("s", "systems", "Systems", id="systems", show=False),
        Binding("question_mark,f1", "help", "Help", key_display="?/F1", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]
    COMMANDS = App.COMMANDS | {SkuCommands}

    def __init__(self, opener: Callable[[], Desk], *, operator: str, read_only: bool,
                 sku: str | None = None, location: str | None = None) -> None:
        super().__init__()
        self.operator, self.read_only = operator, read_only
        self.failure: SeamdeskError | None = None  # why the desk could not open
        self._opener = opener
        self._desk: Desk | None = None
        self._opened = threading.Event()
        self._start = (sku, location)
        self.queue_filter = ""  # the queue screen's filter, kept while the app runs

    @property
    def desk(self) -> Desk:
        """The desk, once open; call from workers only (it waits for the opening)."""
        if not self._opened.wait(timeout=120):
            raise SeamdeskError("the cache took too long to open")
        if self._desk is None:
            raise self.failure or SeamdeskError("the cache could not be opened")
        return self._desk

    async def open_desk(self) -> Desk:
        """The desk, for async workers: waits off the event loop."""
        return await asyncio.to_thread(lambda: self.desk)

    def on_mount(self) -> None:
        self.sub_title = self.operator + (" · read-only" if self.read_only else "")
        self.push_screen(LookupScreen(*self._start))
        # After the first paint: the opening thread's imports would compete for the GIL.
        self.call_after_refresh(self._open_desk)

    @work(thread=True, exit_on_error=False, group="open")
    def _open_desk(self) -> None:
        try:
            desk = self._opener()
            desk.open_cache()  # now, so a bad [cache] url ends the app with exit code 2
            self._desk = desk
        except SeamdeskError as exc:
            self.failure = exc
            self.call_from_thread(self.exit, return_code=2)
        finally:
            self._opened.set()

    def action_systems(self) -> None:
        """s opens the systems screen; s (or escape) there goes back."""
        if isinstance(self.screen, StatusScreen):
            self.pop_screen()
        else:
            self.push_screen(StatusScreen())

    def action_queue(self) -> None:
        from screens.queue import QueueScreen  # loads the queue's data layer on first use

        if isinstance(self.screen, QueueScreen):
            self.pop_screen()
        else:
            self.push_screen(QueueScreen())

    def action_checklist(self) -> None:
        """c starts a checklist for what is on screen (the lookup's SKU and location, the
        queue's exception), or lists the unfinished ones and the packets."""
        from screens.symptoms import SymptomScreen, symptom_for

        screen = self.screen
        sku = location = code = None
        if isinstance(screen, LookupScreen) and screen.result is not None:
            sku, location = screen.result.sku, screen.location
        elif (row := getattr(screen, "current", None)) is not None:  # the queue's cursor
            sku, location, code = row.sku, row.location, row.code
        self.push_screen(SymptomScreen(sku, location, symptom_for(code) if code else None))

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "checklist":  # already in one: keep the key (and the footer) free
            return getattr(self.screen, "OFFERS_CHECKLIST", True)
        return True

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


def make_app(desk: Desk | Callable[[], Desk], sku: str | None = None,
             location: str | None = None, *, operator: str | None = None,
             read_only: bool | None = None) -> SeamdeskApp:
    """Build the app, optionally opened on a SKU (and location); every entry point (CLI,
    `serve`, snapshots, tests) goes through here. Pass a Desk, or a function that opens
    one (with the operator and read-only flag known up front, for the header)."""
    if callable(desk):
        return SeamdeskApp(desk, operator=operator or "", read_only=bool(read_only),
                           sku=sku, location=location)
    opened = desk
    return SeamdeskApp(lambda: opened, operator=desk.operator, read_only=desk.read_only,
                       sku=sku, location=location)
