"""The service layer: what screens and commands ask of seamdesk, without Textual.

One Desk per process holds the config, the cache engine, the clock and who is at the
terminal. Screens call it from workers (DB work in threads, HTTP in async workers);
headless commands call the same methods, so the TUI and --json output cannot disagree.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass

from app.cache import queries
from app.cache.engine import make_engine
from app.cache.item_search import search_items
from app.clock import Clock, system_clock
from app.config import Config
from app.errors import UsageError
from app.lookup import SkuLookup, lookup
from app.refresh import Progress, Refresher, SystemResult, refresh_lock


@dataclass(frozen=True, slots=True)
class SystemHealth:
    """One configured system as the status screen shows it."""

    name: str
    kind: str
    last_good_read_at: int | None
    age: int | None  # seconds since the last good read
    stale: bool
    rows: int
    last_run: queries.RunSummary | None
    unmapped_locations: tuple[str, ...]


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
        self.engine = make_engine(config.cache_url)
        self._transport = transport
        self._sleep = sleep

    def now(self) -> int:
        return int(self.clock())

    def health(self) -> list[SystemHealth]:
        """Every configured system, refreshed or not, with its age and last run."""
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

    def lookup(self, sku: str, location: str | None = None) -> SkuLookup:
        """The three-system comparison and findings for a SKU, from the cache only."""
        return lookup(self.engine, self.config, sku.strip(), self.now(), location)

    def search(self, query: str, limit: int = 50) -> list[tuple[str, str | None]]:
        return search_items(self.engine, query, limit)

    async def reread(self, sku: str) -> list[SystemResult]:
        """Re-read one SKU (every location) from the three systems now."""
        if self.read_only:
            raise UsageError("read-only session: re-reading is not allowed here")
        with refresh_lock(self.config.cache_url):
            refresher = Refresher(self.config, self.engine, clock=self.clock,
                                  transport=self._transport, sleep=self._sleep)
            return await refresher.reread_sku(sku)

    async def refresh(self, systems: list[str] | None = None, full: bool = False,
                      progress: Progress | None = None) -> list[SystemResult]:
        if self.read_only:
            raise UsageError("read-only session: refresh is not allowed here")
        with refresh_lock(self.config.cache_url):
            refresher = Refresher(self.config, self.engine, clock=self.clock,
                                  transport=self._transport, sleep=self._sleep,
                                  progress=progress)
            return await refresher.run(systems, full)
