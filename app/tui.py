"""The Textual application and the one factory that builds it (CLI, serve and tests).

The app paints first and opens the desk (config, cache) in a thread right after, so a
cold start costs little more than Textual's own; screens reach the desk from workers
through `app.desk`, which waits for it. A config error ends the app with exit code 2 and
its one line (see `failure`).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.worker import Worker, WorkerState

from app.errors import ConfigError, SeamdeskError
from screens.lookup import LookupScreen
from screens.palette import SkuCommands

if TYPE_CHECKING:  # types only: the data layer loads after the first paint
    from app.service import Desk, Freshness

FRESHNESS_SECONDS = 30  # how often the header's ages are re-read from the cache
IDLE_CHECK_SECONDS = 5


class DataRefreshed(Message):
    """A background refresh landed: screens showing cached data re-read it."""


class SeamdeskApp(App):
    TITLE = "seamdesk"
    BINDINGS = [
        # shown in the lookup screen's footer (its own binding); here for every other screen
        Binding("c", "checklist", "Checklist", id="checklist", show=False),
        Binding("e", "queue", "Queue", id="queue"),
        Binding("s", "systems", "Systems", id="systems", show=False),
        Binding("d", "health", "Health", id="health", show=False),  # in help and ctrl+p
        Binding("question_mark,f1", "help", "Help", key_display="?/F1", id="help"),
        Binding("ctrl+o", "switch_operator", "Who is at the terminal", id="switch_operator",
                show=False),
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
        self.freshness: tuple[Freshness, ...] = ()  # the header's ages, per system
        self.refreshing: str | None = None  # a background refresh's progress, for the header
        self.idle_timeout = 0  # seconds; 0: never (config [session])
        self.idle_clock: Callable[[], float] = time.monotonic  # tests move it by hand
        self._last_input = self.idle_clock()

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
        self.refresh_headers()
        self.push_screen(LookupScreen(*self._start))
        # After the first paint: the opening thread's imports would compete for the GIL.
        self.call_after_refresh(self._open_desk)

    @work(thread=True, exit_on_error=False, group="open")
    def _open_desk(self) -> None:
        try:
            desk = self._opener()
            desk.open_cache()  # now, so a bad [cache] url ends the app with exit code 2
            self._desk = desk
            self.call_from_thread(self._start_session, desk)
        except SeamdeskError as exc:
            self.failure = exc
            self.call_from_thread(self.exit, return_code=2)
        finally:
            self._opened.set()

    # -- the session: settings, freshness, background refresh, who is at the terminal ------
    def _start_session(self, desk: Desk) -> None:
        session = desk.config.settings.session
        try:
            self._apply_look(session.theme, session.keys)
        except ConfigError as exc:
            self.failure = exc
            self.exit(return_code=2)
            return
        self.read_only = desk.read_only
        self.idle_timeout = session.idle_timeout_seconds
        # Start-up objects live as long as the app: keep the collector from re-scanning
        # them on every full collection (100+ ms pauses in the middle of paging).
        gc.freeze()
        self.update_freshness()
        self.set_interval(FRESHNESS_SECONDS, self.update_freshness)
        if self.idle_timeout:
            self.set_interval(min(IDLE_CHECK_SECONDS, self.idle_timeout), self._check_idle)
        if session.auto_refresh and not desk.read_only:
            self.set_interval(desk.config.settings.refresh.interval_seconds,
                              self.background_refresh)
        self.refresh_headers()

    def _apply_look(self, theme: str, keys: dict[str, str]) -> None:
        """The theme and key overrides from config [session]; unknown names are config
        errors (exit 2), like every other mistake in the file."""
        path = self._desk.config.path if self._desk else "config"
        if theme not in self.available_themes:
            raise ConfigError(f"{path}: session.theme: unknown theme {theme!r} (themes: "
                              f"{', '.join(sorted(self.available_themes))})")
        # Only when rebinding: the catalogue imports every screen (80 ms a snapshot skips).
        known = {b.id for b in binding_catalogue() if b.id} if keys else set()
        for binding_id in keys:
            if binding_id not in known:
                raise ConfigError(f"{path}: session.keys.{binding_id}: no such action "
                                  f"(actions: {', '.join(sorted(known))})")
        self.theme = theme
        if keys:
            self.set_keymap(keys)

    def refresh_headers(self) -> None:
        from widgets.status_header import StatusHeader

        for screen in self.screen_stack:
            for header in screen.query(StatusHeader):
                header.refresh()

    @work(thread=True, exclusive=True, exit_on_error=False, group="freshness")
    def update_freshness(self) -> None:
        freshness = tuple(self.desk.freshness())
        self.call_from_thread(self._show_freshness, freshness)

    def _show_freshness(self, freshness: tuple[Freshness, ...]) -> None:
        self.freshness = freshness
        self.refresh_headers()

    @work(exclusive=True, exit_on_error=False, group="autorefresh")
    async def background_refresh(self) -> None:
        """Every [refresh] interval: read the systems without blocking anything; failures
        are toasts naming the system and the reason, the old numbers stay with their age."""
        from app.refresh import RefreshBusy

        desk = await self.open_desk()
        done: dict[str, int] = {}

        def progress(system: str, _pages: int, rows: int) -> None:
            done[system] = rows
            self.refreshing = f"refreshing {', '.join(done)}… {sum(done.values())} rows"
            self.refresh_headers()

        self.refreshing = "refreshing…"
        self.refresh_headers()
        try:
            results = await desk.refresh(progress=progress)
        except RefreshBusy:
            return  # another refresher (cron, a second terminal) is at it: its data arrives
        finally:
            self.refreshing = None
            self.refresh_headers()
        for result in results:
            if result.status != "complete":
                self.notify(result.summary(), title=f"{result.system} refresh {result.status}",
                            severity="error", timeout=15, markup=False)
        if desk.alert_outcome is not None and desk.alert_outcome.failed:
            self.notify(f"Alerts: {desk.alert_outcome.summary()} (d: health shows why)",
                        title="Alert delivery failed", severity="warning", timeout=15,
                        markup=False)
        self.update_freshness()
        for screen in self.screen_stack:
            screen.post_message(DataRefreshed())

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self._last_input = self.idle_clock()
        await super().on_event(event)

    def _check_idle(self) -> None:
        """Idle past the timeout: nobody is at the terminal any more. Forget the operator
        and go back to the lookup screen, so the next person starts clean."""
        if not self.operator or self.idle_clock() - self._last_input < self.idle_timeout:
            return
        self.set_operator("")
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.notify("Idle: the operator was signed out. ctrl+o to sign in.", timeout=30)

    def set_operator(self, name: str) -> None:
        self.operator = name
        if self._desk is not None:
            self._desk.operator = name
        self.refresh_headers()

    def action_switch_operator(self) -> None:
        from screens.operator import OperatorScreen

        def chosen(name: str | None) -> None:
            if name:
                self.set_operator(name)
                self.notify(f"Operator: {name}", markup=False)

        self.push_screen(OperatorScreen(self.operator), chosen)

    def action_systems(self) -> None:
        """s opens the systems screen; s (or escape) there goes back."""
        from screens.status import StatusScreen  # on first use, like the other screens

        if isinstance(self.screen, StatusScreen):
            self.pop_screen()
        else:
            self.push_screen(StatusScreen())

    def action_queue(self) -> None:
        from screens.queue import QueueScreen  # loads the queue's data layer on first use

        if isinstance(self.screen, QueueScreen):
            self.pop_screen()
            return
        if not self.is_screen_installed("queue"):  # one instance: reopening costs no mounts
            self.install_screen(QueueScreen(), "queue")
        self.push_screen("queue")

    def action_health(self) -> None:
        """d opens the health screen; d (or escape) there goes back."""
        from screens.health import HealthScreen

        if isinstance(self.screen, HealthScreen):
            self.pop_screen()
        else:
            self.push_screen(HealthScreen())

    def open_queue(self, where: str) -> None:
        """The queue screen with a filter (a health figure's drill-down)."""
        self.queue_filter = where
        self.action_queue()

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

    def get_system_commands(self, screen):
        """The command palette offers every action, not only the ones in the footer."""
        from textual.app import SystemCommand

        yield from super().get_system_commands(screen)
        yield SystemCommand("Start a checklist", "symptom, six steps, escalation packet",
                            self.action_checklist)
        yield SystemCommand("Exception queue", "every divergence found, owned",
                            self.action_queue)
        yield SystemCommand("Systems", "each system's last refresh, rows and runs",
                            self.action_systems)
        yield SystemCommand("Health", "each handoff over 30 days, worst first; alerts",
                            self.action_health)
        yield SystemCommand("Switch operator", "who is at the terminal",
                            self.action_switch_operator)
        if not self.read_only:
            yield SystemCommand("Refresh now", "read every system in the background",
                                self.background_refresh)
        yield SystemCommand("Help", "keys, and what each finding means", self.action_help)

    def action_help(self) -> None:
        from screens.help import HelpScreen  # here: its ownership matrix imports pydantic,
        # which the first paint of the lookup screen does without

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def show_sku(self, sku: str, location: str | None = None) -> None:
        """Open a SKU (at a location, if given) on the lookup screen, from the command
        palette or another screen."""
        while not isinstance(self.screen, LookupScreen) and len(self.screen_stack) > 2:
            self.pop_screen()
        if isinstance(self.screen, LookupScreen):
            self.screen.open_sku(sku, location)

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


def binding_catalogue() -> list[Binding]:
    """Every binding of the app and its screens (for key overrides and help)."""
    from screens.checklist import ChecklistScreen
    from screens.health import HealthScreen
    from screens.queue import QueueScreen
    from screens.status import StatusScreen
    from screens.symptoms import SymptomScreen

    found = []
    for owner in (SeamdeskApp, LookupScreen, StatusScreen, QueueScreen, SymptomScreen,
                  ChecklistScreen, HealthScreen):
        found += [b for b in owner.BINDINGS if isinstance(b, Binding)]
    return found


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
