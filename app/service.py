"""The service layer: what screens and commands ask of seamdesk, without Textual.

One Desk per process holds the config, the cache engine, the clock and who is at the
terminal. Screens call it from workers (DB work in threads, HTTP in async workers);
headless commands call the same methods, so the TUI and --json output cannot disagree.
"""

from __future__ import annotations

import getpass
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.clock import Clock, system_clock
from app.errors import UsageError
from app.records import RunSummary

if TYPE_CHECKING:  # the database and HTTP stacks load on first use, after the first paint
    from sqlalchemy import Engine

    from app.alerts.evaluate import AlertOutcome
    from app.checklist.case import Case
    from app.checklist.escalate import Outcome as PacketOutcome
    from app.checklist.escalate import SvgRenderer
    from app.checklist.packet import Listed
    from app.checklist.state import Checklist
    from app.checklist.steps import Step
    from app.checklist.webhook import Sent
    from app.config import Config
    from app.health.figures import Figures
    from app.lookup import SkuLookup
    from app.queue.query import Overview, QueueDetail, QueueFilter, QueueRow
    from app.queue.store import Outcome
    from app.refresh import Progress, SystemResult


@dataclass(frozen=True, slots=True)
class SystemHealth:
    """One configured system as the status screen shows it."""

    name: str
    kind: str
    last_good_read_at: int | None
    age: int | None  # seconds since the last good read
    stale: bool
    rows: int
    last_run: RunSummary | None
    unmapped_locations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Freshness:
    """A system's age since its last good read, as the header shows it."""

    name: str
    label: str
    age: int | None  # None: never read
    stale: bool


LABELS = {"wms": "WMS", "erp": "ERP", "storefront": "SF", "supplier": "SUP",
          "middleware": "MW"}


def resolve_operator(explicit: str | None) -> str:
    """--operator, else $SEAMDESK_OPERATOR, else the login name."""
    name = explicit or os.environ.get("SEAMDESK_OPERATOR")
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
    name = " ".join(name.split())
    if not name or len(name) > 64:
        raise UsageError("--operator: give a name of 1 to 64 characters")
    return name


class Desk:
    def __init__(self, config: Config, *, clock: Clock = system_clock, operator: str = "",
                 read_only: bool = False, transport=None, sleep=None) -> None:
        self.config = config
        self.clock = clock
        self.operator = operator
        self.read_only = read_only
        self._engine: Engine | None = None
        self.queue_outcome: Outcome | None = None  # the detectors' work in the last refresh
        self._engine_lock = threading.Lock()
        self._transport = transport
        self._webhook_transport = None  # tests route the ticket webhook in-process
        self._sleep = sleep
        self.alert_outcome: AlertOutcome | None = None  # alerts after the last refresh
        self.alert_sleep = None  # tests: no waiting between delivery attempts

    @property
    def engine(self) -> Engine:
        """The cache, opened (and its schema created) on first use: SQLAlchemy is the
        largest import of all, and the TUI paints before anything needs it."""
        with self._engine_lock:
            if self._engine is None:
                from app.cache.engine import make_engine

                self._engine = make_engine(self.config.cache_url, read_only=self.read_only)
            return self._engine

    @property
    def cache_read_only(self) -> bool:
        """Whether this user may only read the cache file (a read-only session's): nothing
        is saved to it, not even a checklist to resume."""
        from app.cache.engine import is_read_only

        return is_read_only(self.engine)

    def open_cache(self) -> None:
        """Open the cache now rather than on first use (a bad [cache] url shows at once)."""
        _ = self.engine

    def who(self) -> str:
        """The operator an action is recorded under; nobody signed in refuses it."""
        if not self.operator:
            raise UsageError("nobody is signed in at this terminal: ctrl+o to give your name")
        return self.operator

    def now(self) -> int:
        return int(self.clock())

    def health(self) -> list[SystemHealth]:
        """Every configured system, refreshed or not, with its age and last run."""
        from app.cache import queries

        known = {s.name: s for s in queries.system_status(self.engine)}
        stale_after = self.config.settings.refresh.stale_after_seconds
        result = []
        for name, settings in self.config.systems.items():
            status = known.get(name)
            last_good = status.last_good_read_at if status else None
            age = None if last_good is None else max(0, self.now() - last_good)
            result.append(SystemHealth(
                name, settings.kind, last_good, age, age is None or age > stale_after,
                status.rows if status else 0, status.last_run if status else None,
                status.unmapped_locations if status else ()))
        return result

    def freshness(self) -> list[Freshness]:
        """Every configured system's age since its last good read (one cheap query: the
        header asks every half minute)."""
        from app.cache.sku import system_rows

        rows = system_rows(self.engine)
        limit, now = self.config.settings.refresh.stale_after_seconds, self.now()
        result = []
        for name in self.config.systems:
            row = rows.get(name)
            last = row.last_good_read_at if row else None
            age = None if last is None else max(0, now - last)
            result.append(Freshness(name, LABELS.get(name, name), age,
                                    age is None or age > limit))
        return result

    def health_figures(self, days: int = 30) -> Figures:
        """The health figures over the last `days` (daily buckets), from the cache;
        the heavy part is remembered until the cache changes."""
        from app.cache.sku import system_rows
        from app.health.figures import compute
        from app.health.window import Window

        rows = system_rows(self.engine)
        systems = {name: rows[name].last_good_read_at if name in rows else None
                   for name in self.config.systems}
        return compute(self.engine, Window(days, self.now()), systems,
                       self.config.settings.refresh.stale_after_seconds)

    def lookup(self, sku: str, location: str | None = None) -> SkuLookup:
        """The three-system comparison and findings for a SKU, from the cache only."""
        from app.lookup import lookup

        return lookup(self.engine, self.config, sku.strip(), self.now(), location)

    def search(self, query: str, limit: int = 50) -> list[tuple[str, str | None]]:
        from app.cache.item_search import search_items

        return search_items(self.engine, query, limit)

    # -- the exception queue ---------------------------------------------------------------
    def queue_page(self, where: QueueFilter, sort: str = "age", after: tuple | None = None,
                   limit: int = 100, offset: int = 0) -> list[QueueRow]:
        from app.queue import query

        return query.page(self.engine, where, sort, after, limit, offset)

    def queue_count(self, where: QueueFilter) -> int:
        from app.queue import query

        return query.count(self.engine, where)

    def queue_overview(self) -> Overview:
        from app.queue import query

        return query.overview(self.engine)

    def queue_detail(self, item_id: int) -> QueueDetail | None:
        from app.queue import query

        return query.detail(self.engine, item_id)

    def queue_act(self, action: str, target: QueueFilter | list[int], *, note: str | None = None,
                  assignee: str | None = None, until: int | None = None) -> int:
        """Acknowledge, assign, resolve, snooze or reopen, as the operator at the desk."""
        from app.queue.lifecycle import act

        if self.read_only:
            raise UsageError(f"read-only session: {action} is not allowed here")
        return act(self.engine, action, target, self.who(), self.now(),
                   note=note, assignee=assignee, until=until)

    # -- checklists and escalation packets ---------------------------------------------------
    def start_checklist(self, sku: str, location: str | None, symptom: int) -> Checklist:
        """A new checklist for a SKU at a location (default: the first with a finding),
        saved at once so it can be resumed; UsageError for an unknown SKU or location."""
        from app.checklist.case import gather
        from app.checklist.state import Checklist, save
        from app.checklist.symptoms import symptom as find_symptom

        case = gather(self.engine, self.config, sku.strip(), location, find_symptom(symptom),
                      self.now())
        checklist = Checklist(case.sku, case.location, symptom, self.who(), self.now())
        if not self.cache_read_only:  # (without an id, nothing later saves it either)
            save(self.engine, checklist, self.now())
        return checklist

    def open_checklist(self, checklist: Checklist) -> tuple[Case, list[Step]]:
        """The checklist's steps as the cache fills them now."""
        from app.checklist.escalate import open_case

        return open_case(self.engine, self.config, checklist, self.now())

    def save_checklist(self, checklist: Checklist) -> int | None:
        """Save for resuming; None in a cache this user may only read."""
        from app.checklist.state import save

        if checklist.id is None and self.cache_read_only:
            return None
        return save(self.engine, checklist, self.now())

    def unfinished_checklists(self) -> list[Checklist]:
        from app.checklist.state import unfinished

        return unfinished(self.engine)

    def packets(self) -> list[Listed]:
        from app.checklist.packet import listed

        return listed(self.config.packets_dir())

    def write_packet(self, checklist: Checklist, render_svg: SvgRenderer,
                     folder: Path | None = None) -> PacketOutcome:
        from app.checklist.escalate import write_packet

        return write_packet(self.engine, self.config, checklist, self.now(), render_svg, folder)

    def send_packet(self, packet: dict) -> Sent:
        """POST packet.json to the [handoff] webhook; the packet is on disk either way."""
        from app.checklist.webhook import send

        if self.read_only:
            raise UsageError("read-only session: sending packets is not allowed here")
        return send(self.config, packet, self._webhook_transport)

    async def reread(self, sku: str) -> list[SystemResult]:
        """Re-read one SKU (every location) from the three systems now."""
        from app.refresh import Refresher, refresh_lock

        if self.read_only:
            raise UsageError("read-only session: re-reading is not allowed here")
        with refresh_lock(self.config.cache_url, self.engine):
            refresher = Refresher(self.config, self.engine, clock=self.clock,
                                  transport=self._transport, sleep=self._sleep)
            results = await refresher.reread_sku(sku)
            self.queue_outcome = refresher.queue
            await self._alert()
            return results

    async def refresh(self, systems: list[str] | None = None, full: bool = False,
                      progress: Progress | None = None) -> list[SystemResult]:
        from app.refresh import Refresher, refresh_lock

        if self.read_only:
            raise UsageError("read-only session: refresh is not allowed here")
        with refresh_lock(self.config.cache_url, self.engine):
            refresher = Refresher(self.config, self.engine, clock=self.clock,
                                  transport=self._transport, sleep=self._sleep,
                                  progress=progress)
            results = await refresher.run(systems, full)
            self.queue_outcome = refresher.queue
            await self._alert()
            return results

    async def _alert(self) -> None:
        """After every refresh (under its lock, so two refreshers never post one alert
        twice): [[alerts]] rules over what changed; deliveries in a thread."""
        import asyncio

        from app.alerts.evaluate import evaluate

        extra = {"sleep": self.alert_sleep} if self.alert_sleep else {}
        self.alert_outcome = await asyncio.to_thread(
            evaluate, self.engine, self.config, self.now(), **extra)

    def alert_summary(self) -> dict:
        """Alerts pending, failed (with the last error) and sent in the last day."""
        from app.alerts.evaluate import summary

        return summary(self.engine, self.now())
