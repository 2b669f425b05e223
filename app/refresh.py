"""Refresh: read every configured system concurrently into the cache.

Each system's pages flow through a small queue to the cache writer, which runs on one
dedicated thread (SQLite has one writer anyway), so fetching and writing overlap and the
event loop never blocks on the database. Incremental reads start from the newest
`updated_at` the cache holds for that system (the vendor's clock, not ours, so clock skew
cannot lose changes), minus an overlap; a full read runs when asked, when there is no
complete run yet, or when the last full read is older than `full_every_hours`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from app.cache import meta
from app.cache.engine import sqlite_path
from app.cache.models import InventoryEvent, OrderLineRecord, SyncRun
from app.cache.writer import CacheWriter, high_water, mapping_mark, stored_mapping
from app.clock import Clock, system_clock
from app.config import Config
from app.errors import SeamdeskError, UsageError
from app.queue.store import Outcome
from app.records import Page
from app.redact import without_secrets
from app.sources.base import Window
from app.sources.errors import SourceError
from app.sources.registry import FOLDER_KINDS, MIDDLEWARE_KINDS, SUPPLIER_KINDS, make_connector
from app.threads import bulk_work

OVERLAP_SECONDS = 300  # re-read a little: vendors commit rows a moment after stamping them
QUEUE_PAGES = 4
Progress = Callable[[str, int, int], None]  # system, pages, rows so far


class RefreshBusy(SeamdeskError):
    title = "Refresh already running"


@dataclass(slots=True)
class SystemResult:
    system: str
    mode: str
    status: str  # complete | partial | failed
    pages: int = 0
    rows: int = 0
    unmapped: int = 0
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    seconds: float = 0.0
    error: str | None = None
    run_id: int | None = None

    def summary(self) -> str:
        line = (f"{self.system}: {self.status} ({self.mode}), {self.rows} rows in "
                f"{self.pages} pages, {self.seconds:.1f} s")
        extras = [f"{n} {label}" for n, label in ((self.throttled, "throttled"),
                                                 (self.retries, "retries"),
                                                 (self.unmapped, "rows at unmapped locations"))
                  if n]
        if extras:
            line += ", " + ", ".join(extras)
        if self.error:
            line += f": {self.error}"
        return line


@contextlib.contextmanager
def refresh_lock(cache_url: str, engine: Engine | None = None) -> Iterator[None]:
    """One refresh per cache: a second one is refused with a clear message. A SQLite
    cache is locked by a file beside it; a PostgreSQL one by a session advisory lock in
    its database, so one refresher runs across every terminal that shares it."""
    path = sqlite_path(cache_url)
    if path is not None:
        with _file_lock(path):
            yield
    elif make_url(cache_url).get_backend_name() == "postgresql":
        with _advisory_lock(cache_url, engine):
            yield
    else:
        yield


def _busy(cache: object, holder: str) -> RefreshBusy:
    return RefreshBusy(f"another refresh of {cache} is running ({holder}); "
                       "try again when it finishes")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".refresh.lock")
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = Path(lock_path).read_text().strip() or "another process"
            raise _busy(path, f"pid {holder}") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)


# pg_try_advisory_lock's key: any constant, the same in every seamdesk ("seamdesk" + 1).
ADVISORY_KEY = 0x5EA3DE5C00000001
HOLDER = "refresh.holder"  # Meta: who holds the advisory lock (for the busy message)


@contextlib.contextmanager
def _advisory_lock(cache_url: str, engine: Engine | None) -> Iterator[None]:
    """Held by a connection of its own for the whole refresh (autocommit: no transaction
    stays open meanwhile); the server drops it if that connection or its host dies."""
    from app.cache.engine import make_engine, redacted

    engine = engine or make_engine(cache_url)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        if not conn.scalar(select(func.pg_try_advisory_lock(ADVISORY_KEY))):
            holder = meta.value(conn, HOLDER)
            raise _busy(redacted(cache_url), holder or "another process")
        meta.write(conn, {HOLDER: f"pid {os.getpid()} on {socket.gethostname()}"})
        try:
            yield
        finally:
            try:
                conn.scalar(select(func.pg_advisory_unlock(ADVISORY_KEY)))
            except Exception:  # the connection is gone, and the lock with it
                conn.invalidate()
    finally:
        conn.close()


class Refresher:
    def __init__(self, config: Config, engine: Engine, *, clock: Clock = system_clock,
                 transport=None, sleep=None, progress: Progress | None = None) -> None:
        self.config = config
        self.engine = engine
        self.writer = CacheWriter(engine)
        self.clock = clock
        self.transport = transport
        self.sleep = sleep
        self.progress = progress
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cache-writer")
        self._secrets = config.secrets()  # what a vendor's answer must not bring into the cache
        self.queue: Outcome | None = None  # what the detectors made of the refresh

    def now(self) -> int:
        return int(self.clock())

    async def _db(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, lambda: fn(*args, **kwargs))

    async def run(self, systems: list[str] | None = None, full: bool = False
                  ) -> list[SystemResult]:
        names = list(dict.fromkeys(systems or self.config.systems))  # each one read once
        for name in names:
            if name not in self.config.systems:
                raise UsageError(f"no system {name!r} in the config "
                                    f"(configured: {', '.join(self.config.systems)})")
        try:
            with bulk_work():
                await self._db(self._prepare)
                results = await asyncio.gather(*(self._system(n, full) for n in names))
                await self._detect()  # (its writes run beside its judging: the same convoy)
            await self._db(self.writer.clear_staging)
            await self._db(self.writer.prune,
                           self.now() - self.config.settings.cache.history_days * 86400)
        finally:
            self._thread.shutdown(wait=False)
        return list(results)

    async def _detect(self) -> None:
        from app.queue.detect import detect

        # Always: a refresh where every read failed still judges staleness and throttling.
        self.queue = await self._db(detect, self.engine, self.config, self.now())

    def _prepare(self) -> None:
        settings = self.config.systems
        self.writer.register({n: (s.kind, s.source) for n, s in settings.items()},
                             {code: None for code in self.config.settings.locations})
        self._forget_remapped()
        self.writer.abandon_interrupted(self.now())
        self.writer.clear_staging()  # under the refresh lock no run is staging: all stale

    def _forget_remapped(self) -> None:
        self.writer.forget_remapped({name: list(self.config.location_code(name))
                                     for name in self.config.systems})

    def _window(self, system: str, full: bool) -> tuple[str, Window]:
        now = self.now()
        history_start = now - self.config.settings.cache.history_days * 86400
        with self.engine.connect() as conn:
            last_full = conn.scalar(select(func.max(SyncRun.started_at)).where(
                SyncRun.system == system, SyncRun.status == "complete", SyncRun.mode == "full"))
            kind = self.config.systems[system].kind
            if kind in MIDDLEWARE_KINDS:
                last_good = conn.scalar(select(func.max(SyncRun.started_at)).where(
                    SyncRun.system == system, SyncRun.status == "complete",
                    SyncRun.mode != "sku"))
                return self._message_window(full, last_full, last_good)
            # Order documents: from the newest change the cache holds (the vendor's clock).
            # High-water marks ignore times in our future: one row a vendor stamped days
            # ahead (a skewed clock, a typo) must not make every later read skip changes.
            orders_hw = conn.scalar(select(func.max(OrderLineRecord.changed_at)).where(
                OrderLineRecord.system == system, OrderLineRecord.changed_at <= now))
            orders_since = None if orders_hw is None else orders_hw - OVERLAP_SECONDS
            if kind in SUPPLIER_KINDS:
                stale = last_full is None or self.now() - last_full > \
                    self.config.settings.refresh.full_every_hours * 3600
                if full or stale or orders_since is None:
                    return "full", Window()
                return "incremental", Window(orders_since=orders_since)
            counts_hw = high_water(conn, system, now)
            # A new mapping for the system: the rows it moves (kept apart under
            # "system:id" until now, or under a code it no longer maps) are read again.
            mapped_as = stored_mapping(conn, system)
            remapped = mapped_as not in (None, mapping_mark(self.config.location_code(system)))
            events_hw = conn.scalar(select(func.max(InventoryEvent.at)).where(
                InventoryEvent.system == system, InventoryEvent.at <= now))
        stale_full = last_full is None or \
            self.now() - last_full > self.config.settings.refresh.full_every_hours * 3600
        events_since = max(history_start, (events_hw or 0) - OVERLAP_SECONDS)
        if full or stale_full or counts_hw is None or remapped:
            return "full", Window(None, events_since)
        return "incremental", Window(counts_hw - OVERLAP_SECONDS, events_since,
                                     orders_since=orders_since)

    def _message_window(self, full: bool, last_full: int | None, last_good: int | None
                        ) -> tuple[str, Window]:
        """Middleware: open errors are listed whole on every read; an incremental read
        asks only for errors resolved since the last complete read began (our clock: an
        error that came and went between two reads occurred after the first one started;
        the overlap covers skew). Errors that were open and went are closed by the
        promotion, whatever their age."""
        stale_full = last_full is None or \
            self.now() - last_full > self.config.settings.refresh.full_every_hours * 3600
        if full or stale_full or last_good is None:
            return "full", Window()
        return "incremental", Window(messages_since=last_good - OVERLAP_SECONDS)

    async def reread_sku(self, sku: str) -> list[SystemResult]:
        """Every location of one SKU from each compared system, through the vendors'
        single-item queries: a run of mode 'sku' per system, promoted like any other."""
        names = [n for n in ("wms", "erp", "storefront") if n in self.config.systems]
        try:  # no _prepare: a refresh elsewhere may be staging (its rows are not ours)
            await self._db(self._forget_remapped)
            results = list(await asyncio.gather(*(self._system(n, sku=sku) for n in names)))
            await self._detect()
            await self._db(self.writer.drop_staged, [r.run_id for r in results])
            return results
        finally:
            self._thread.shutdown(wait=False)

    async def _system(self, system: str, full: bool = False, sku: str | None = None
                      ) -> SystemResult:
        started = time.perf_counter()
        if sku is None:
            mode, window = await self._db(self._window, system, full)
        else:
            mode, window = "sku", None
        run_at = self.now()
        since = None if window is None else next(
            (t for t in (window.counts_since, window.messages_since, window.orders_since)
             if t is not None), None)
        run_id = await self._db(self.writer.start_run, system, mode, run_at, since)
        result = SystemResult(system, mode, "running", run_id=run_id)
        connector = make_connector(self.config, system, transport=self.transport,
                                   sleep=self.sleep)
        codes = self.config.location_code(system)
        queue: asyncio.Queue[Page | None] = asyncio.Queue(maxsize=QUEUE_PAGES)

        async def fetch() -> None:
            try:
                pages = connector.read(window) if sku is None else connector.read_sku(sku)
                async for page in pages:
                    await queue.put(page)
            finally:
                await queue.put(None)

        async def store() -> None:
            while (page := await queue.get()) is not None:
                # Every row of a run carries the run's start as its read time, the same
                # moment last_good_read_at records: one clock for "when was this read".
                page = without_secrets(page, self._secrets)
                result.unmapped += await self._db(self.writer.write_page, run_id, system, page,
                                                  run_at, codes, connector.stats)
                result.pages += 1
                result.rows += len(page)
                if self.progress:
                    self.progress(system, result.pages, result.rows)

        fetcher, storer = asyncio.create_task(fetch()), asyncio.create_task(store())
        try:
            await asyncio.gather(fetcher, storer)
            result.status = "complete"
            if connector.stats.notes:  # e.g. malformed export rows skipped, by line
                result.error = "; ".join(connector.stats.notes)
        except SourceError as exc:  # (only a read raises it: the store drains what it read)
            # The pages fetched before the failure may still be on their way to the cache:
            # whether any got there tells a partial read from a failed one.
            await asyncio.wait((storer,))
            error = exc.message
            if not storer.cancelled() and (failed := storer.exception()) is not None:
                error += f"; staging what came before failed too: {type(failed).__name__}"
            result.status, result.error = "partial" if result.rows else "failed", error
        except Exception as exc:  # a bug or an unforeseen answer: record it, keep the rest
            fetcher.cancel()
            result.status = "partial" if result.rows else "failed"
            result.error = _redact(connector, f"{type(exc).__name__}: {exc}")
        finally:
            await connector.aclose()
        stats = connector.stats
        result.requests, result.throttled, result.retries = \
            stats.requests, stats.throttled, stats.retries
        # A drop folder's read lists what is there now, not everything ever delivered.
        full_listing = mode == "full" and self.config.systems[system].kind not in FOLDER_KINDS
        await self._db(self.writer.finish_run, run_id, system, status=result.status,
                       finished_at=self.now(), stats=stats, full=full_listing,
                       error=result.error, started_at=run_at, sku=sku, codes=codes)
        result.seconds = time.perf_counter() - started
        return result


def _redact(connector, text: str) -> str:
    """A connector's text with its secrets hidden (one without an HTTP client has none)."""
    client = getattr(connector, "client", None)
    return client.redact(text) if client is not None else text
