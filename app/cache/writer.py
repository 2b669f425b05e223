"""Writing refresh results: sync runs, per-page staging, promotion, retention.

Pages go to `count_staging` in one short transaction each. Only a run that completes is
promoted (one transaction): changed rows are appended to history, current is upserted,
and a full run drops rows the system no longer reports. Partial and failed runs discard
their staged rows, so the last good data stays in place with its age.

Middleware errors take the same path through `middleware_error_staging`. They are staged
rather than upserted as they arrive because the one thing a middleware read can say
about an error it does not list, "no longer open", is only true of a complete read: a
middleware connector lists every open error on every read (see app.sources.celigo), so a
complete run of any mode closes the open errors it did not list, and a run that failed
half-way must change nothing (or it would close every error it had not reached yet).

Order lines (ERP, WMS and supplier views of order/PO lines) are staged the same way in
`order_line_staging` and applied only when the run completes: upserted with their
first and last seen times, and, after a full read, the system's lines it no longer
lists are dropped (the refresh says a drop folder's read is never full: its files are
archived once picked up). Lines no run has listed within the retention are pruned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from sqlalchemy import (
    Engine,
    Integer,
    and_,
    bindparam,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)

from app.cache import meta
from app.cache.engine import writer
from app.cache.models import (
    CountCurrent,
    CountGone,
    CountHistory,
    CountStaging,
    InventoryEvent,
    Item,
    Location,
    LocationRef,
    MessageStaging,
    MiddlewareError,
    OrderLineRecord,
    OrderLineStaging,
    SkuCheck,
    SyncRun,
    System,
)
from app.cache.staging import (
    QUANTITIES,
    STAGING,
    as_they_come,
    stage_as_they_come,
    staging_rows,
)
from app.cache.upsert import bulk_insert, execute_prepared, upsert_from_select
from app.plain import printable
from app.records import Page, RunStats

_EVENT = ("system", "source_id", "event_id", "kind", "sku", "location", "delta", "at",
          "reason", "run_id")
_MESSAGE_CONTENT = ("flow", "flow_id", "step", "handoff", "sku", "location", "trace_key",
                    "occurred_at", "source", "code", "message", "classification", "retry_key",
                    "resolved", "resolved_at")
_MESSAGE = ("run_id", "system", "error_id", *_MESSAGE_CONTENT, "read_at")
_ORDER_CONTENT = ("sku", "kind", "location", "quantity", "version", "changed_at", "amended_at",
                  "status", "released_at", "picked", "shipped", "confirmed", "confirmed_at",
                  "source_id")
_ORDER = ("run_id", "system", "number", "line", *_ORDER_CONTENT, "read_at")


# A page's tally, run once per page: built once with bind parameters (see execute_prepared).
_PAGE_DONE = update(SyncRun).where(SyncRun.id == bindparam("run")).values(
    pages=SyncRun.pages + literal_column("1"), rows=SyncRun.rows + bindparam("added"),
    requests=bindparam("requests"), throttled=bindparam("throttled"),
    retries=bindparam("retries"))


class CacheWriter:
    def __init__(self, engine: Engine) -> None:
        self.engine = writer(engine)
        self._busy: dict[int, float] = {}  # run id → seconds spent writing its pages

    # -- set-up -------------------------------------------------------------------------
    def register(self, systems: Mapping[str, tuple[str, str]],
                 locations: Mapping[str, str | None]) -> None:
        """Record the configured systems (role → kind, base URL) and location codes."""
        with self.engine.begin() as conn:
            bulk_insert(conn, System.__table__, ("name", "kind", "base_url"),
                        [(name, kind, url) for name, (kind, url) in systems.items()],
                        key=("name",), update=("kind", "base_url"))
            bulk_insert(conn, Location.__table__, ("code", "name"),
                        list(locations.items()), key=("code",), keep_existing=("name",))

    def forget_remapped(self, mapped: Mapping[str, list[str]]) -> None:
        """Rows kept under "system:id" for a location [locations] now maps: the next read
        stores them under the location's code, so the old ones go (and stop raising
        unmapped-location). Run before every read (a refresh, a SKU's re-read)."""
        with self.engine.begin() as conn:
            for system, external_ids in mapped.items():
                # Only a location last read unmapped can have such rows (until a read
                # under the new mapping records its code): the delete scans every one of
                # the system's counts, so it runs only when there may be some.
                was_unmapped = set(conn.scalars(select(LocationRef.external_id).where(
                    LocationRef.system == system, LocationRef.code.is_(None),
                    LocationRef.external_id.in_(external_ids))))
                stale = [f"{system}:{external}" for external in external_ids
                         if external in was_unmapped]
                if stale:
                    conn.execute(delete(CountCurrent).where(CountCurrent.system == system,
                                                            CountCurrent.location.in_(stale)))

    def abandon_interrupted(self, now: int) -> int:
        """Runs left 'running' by a killed refresh become failed (their staged rows go
        with the next clear_staging)."""
        with self.engine.begin() as conn:
            stale = conn.scalars(select(SyncRun.id).where(SyncRun.status == "running")).all()
            if stale:
                conn.execute(update(SyncRun).where(SyncRun.id.in_(stale)).values(
                    status="failed", finished_at=now, error="interrupted (refresh was killed)"))
        return len(stale)

    # -- a run --------------------------------------------------------------------------
    def start_run(self, system: str, mode: str, started_at: int, since: int | None) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(SyncRun.__table__.insert().values(
                system=system, mode=mode, started_at=started_at, since=since))
            return result.inserted_primary_key[0]

    def write_page(self, run_id: int, system: str, page: Page, read_at: int,
                   codes: Mapping[str, str], stats: RunStats) -> int:
        """Stage one page in one transaction; returns rows at unmapped locations (staged too,
        under "system:id", so a lookup can show stock the mapping does not cover)."""
        began = time.perf_counter()
        quick = self.engine.dialect.name == "sqlite" and as_they_come(page.counts, codes)
        counts, unmapped = ([], {}) if quick else \
            staging_rows(page.counts, run_id, system, read_at, codes)
        # Few rows each: every text field is made printable, ids included (the same on
        # every side, so joins still hold), a message keeping its line breaks.
        p = printable
        events = [(system, p(e.source_id), p(e.event_id), p(e.kind), p(e.sku),
                   codes.get(e.location_id, f"{system}:{p(e.location_id)}"), e.delta, e.at,
                   p(e.reason), run_id) for e in page.events]
        refs = [(system, loc.location_id, p(loc.name), codes.get(loc.location_id), read_at)
                for loc in page.locations]
        messages = [(run_id, system, p(m.error_id), p(m.flow), p(m.flow_id), p(m.step),
                     p(m.handoff), p(m.sku), None if m.location_id is None else
                     codes.get(m.location_id, f"{system}:{p(m.location_id)}"),
                     p(m.trace_key), m.occurred_at, p(m.source), p(m.code),
                     p(m.message, one_line=False), p(m.classification), p(m.retry_key),
                     m.resolved, m.resolved_at, read_at) for m in page.messages]
        orders = [(run_id, system, p(o.number), p(o.line), p(o.sku), p(o.kind),
                   None if o.location_id is None else
                   codes.get(o.location_id, f"{system}:{p(o.location_id)}"),
                   o.quantity, o.version, o.changed_at, o.amended_at, p(o.status),
                   o.released_at, o.picked, o.shipped, o.confirmed, o.confirmed_at,
                   p(o.source_id), read_at) for o in page.orders]
        with self.engine.begin() as conn:
            if quick:
                stage_as_they_come(conn, page.counts, run_id, system, read_at, codes)
            else:
                bulk_insert(conn, CountStaging.__table__, STAGING, counts,
                            key=("run_id", "system", "sku", "location"))
            bulk_insert(conn, InventoryEvent.__table__, _EVENT, events,
                        key=("system", "source_id"))
            bulk_insert(conn, LocationRef.__table__,
                        ("system", "external_id", "name", "code", "seen_at"), refs,
                        key=("system", "external_id"), keep_existing=("name",))
            # The same error twice in a run (resolved between two requests): the last wins.
            bulk_insert(conn, MessageStaging.__table__, _MESSAGE, messages,
                        key=("run_id", "system", "error_id"))
            bulk_insert(conn, OrderLineStaging.__table__, _ORDER, orders,
                        key=("run_id", "system", "number", "line"))
            if unmapped:
                self._count_unmapped(conn, system, unmapped, read_at)
            execute_prepared(conn, _PAGE_DONE, {
                "run": run_id, "added": len(page.counts) + len(events) + len(messages)
                + len(orders), "requests": stats.requests, "throttled": stats.throttled,
                "retries": stats.retries})
        self._busy[run_id] = self._busy.get(run_id, 0.0) + time.perf_counter() - began
        return sum(unmapped.values())

    @staticmethod
    def _count_unmapped(conn, system: str, unmapped: Mapping[str, int], read_at: int) -> None:
        bulk_insert(conn, LocationRef.__table__, ("system", "external_id", "seen_at", "rows"),
                    [(system, ext, read_at, 0) for ext in unmapped],
                    key=("system", "external_id"), update=())
        for ext, rows in unmapped.items():
            conn.execute(update(LocationRef).where(
                LocationRef.system == system, LocationRef.external_id == ext,
            ).values(rows=LocationRef.rows + rows, seen_at=read_at))

    def drop_staged(self, run_ids: list[int]) -> None:
        """Only these runs' staged rows (a re-read must not touch a refresh's staging)."""
        with self.engine.begin() as conn:
            conn.execute(delete(CountStaging).where(CountStaging.run_id.in_(run_ids)))
            conn.execute(delete(MessageStaging).where(MessageStaging.run_id.in_(run_ids)))
            conn.execute(delete(OrderLineStaging).where(OrderLineStaging.run_id.in_(run_ids)))

    def clear_staging(self) -> None:
        """Drop every staged row at once (SQLite truncates a table deleted without a
        WHERE), when no run is under way: cheaper than deleting each run's rows."""
        with self.engine.begin() as conn:
            conn.execute(delete(CountStaging))
            conn.execute(delete(MessageStaging))
            conn.execute(delete(OrderLineStaging))

    def finish_run(self, run_id: int, system: str, *, status: str, finished_at: int,
                   stats: RunStats, full: bool, error: str | None = None,
                   started_at: int | None = None, sku: str | None = None,
                   codes: Mapping[str, str] | None = None) -> None:
        """Close a run: a complete one is promoted, any other leaves the cache as it was.
        Staged rows stay until clear_staging (they are ignored once the run is closed).
        A single-SKU run (`sku`) confirms only that SKU's rows. `codes`: the mapping the
        run stored its rows under (location id → code), kept with a complete read."""
        began = time.perf_counter()
        with self.engine.begin() as conn:
            values = dict(status=status, finished_at=finished_at, error=printable(error),
                          requests=stats.requests, throttled=stats.throttled,
                          retries=stats.retries)
            if status == "complete":
                staged = conn.scalar(select(func.count()).select_from(CountStaging)
                                     .where(CountStaging.run_id == run_id))
                counted = conn.scalar(select(SyncRun.rows).where(SyncRun.id == run_id))
                events = conn.scalar(select(func.count()).select_from(InventoryEvent)
                                     .where(InventoryEvent.run_id == run_id))
                messages = conn.scalar(select(func.count()).select_from(MessageStaging)
                                       .where(MessageStaging.run_id == run_id))
                orders = conn.scalar(select(func.count()).select_from(OrderLineStaging)
                                     .where(OrderLineStaging.run_id == run_id))
                values["duplicates"] = max(0, (counted or 0) - (events or 0) - (staged or 0)
                                           - (messages or 0) - (orders or 0))
                _promote(conn, run_id, system, full)
                if sku is None:
                    _keep_high_water(conn, run_id, system, full, finished_at)
                    if codes is not None:
                        meta.write(conn, {f"{MAPPING}.{system}": mapping_mark(codes)})
                    _promote_messages(conn, run_id, system, started_at)
                    _promote_orders(conn, run_id, system, full)
                _name_items(conn, run_id, system)
                if sku is not None:
                    bulk_insert(conn, SkuCheck.__table__, ("system", "sku", "checked_at"),
                                [(system, sku, started_at)], key=("system", "sku"))
                else:
                    conn.execute(update(System).where(System.name == system)
                                 .values(last_good_read_at=started_at))
                if full:  # unmapped tallies restart with each full read
                    conn.execute(update(LocationRef).where(
                        LocationRef.system == system, LocationRef.seen_at < started_at,
                    ).values(rows=0))
            busy = self._busy.pop(run_id, 0.0) + time.perf_counter() - began
            values["write_ms"] = int(busy * 1000)
            conn.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))

    # -- upkeep -------------------------------------------------------------------------
    def prune(self, cutoff: int) -> int:
        """Drop superseded observations older than `cutoff`, keeping each key's state as of
        the cutoff (the newest version read by then, in history or current)."""
        old, c = CountHistory.__table__, CountCurrent.__table__
        newer = old.alias("newer")

        def same_key(table):
            return and_(table.c.system == old.c.system, table.c.sku == old.c.sku,
                        table.c.location == old.c.location)

        with self.engine.begin() as conn:
            result = conn.execute(delete(old).where(
                old.c.read_at < cutoff,
                or_(exists().where(same_key(newer), newer.c.read_at > old.c.read_at,
                                   newer.c.read_at <= cutoff),
                    exists().where(same_key(c), c.c.read_at <= cutoff)),
            ))
            m = MiddlewareError.__table__
            conn.execute(delete(m).where(
                m.c.resolved.is_(True), func.coalesce(m.c.resolved_at, m.c.occurred_at) < cutoff))
            conn.execute(delete(OrderLineRecord).where(OrderLineRecord.last_seen_at < cutoff))
            meta.write(conn, {"pruned_before": str(cutoff)})
            return result.rowcount


HIGH_WATER = "counts.high_water"  # Meta key prefix; its system's name follows
MAPPING = "counts.mapping"  # Meta key prefix: the mapping the system's rows are stored under


def mapping_mark(codes: Mapping[str, str]) -> str:
    """A system's [locations] mapping (its location id → code) as one comparable text."""
    return json.dumps(sorted(codes.items()))


def stored_mapping(conn, system: str) -> str | None:
    """The mapping the system's last complete read stored its rows under (None: a cache
    from before it was kept)."""
    return meta.value(conn, f"{MAPPING}.{system}")


def high_water(conn, system: str, now: int) -> int | None:
    """The newest update time among the system's counts, by its own clock (an incremental
    read asks for changes since then), kept as each complete read is promoted: finding it
    in the rows is a scan of every one of the system's counts."""
    stored = meta.value(conn, f"{HIGH_WATER}.{system}")
    if stored is not None:
        return int(stored)
    # A cache from before the mark was kept: once from the rows. Rows a single-SKU re-read
    # wrote say nothing about the others' changes; a time in our future (a skewed clock,
    # a typo) must not make every later read skip changes.
    c = CountCurrent.__table__
    sku_runs = select(SyncRun.id).where(SyncRun.system == system, SyncRun.mode == "sku")
    return conn.scalar(select(func.max(c.c.updated_at)).where(
        c.c.system == system, c.c.run_id.not_in(sku_runs), c.c.updated_at <= now))


def _keep_high_water(conn, run_id: int, system: str, full: bool, now: int) -> None:
    """After a complete read (not a single SKU's): a full read's newest time is the mark
    (the vendor's rows may have gone back), an incremental one's raises it."""
    s = CountStaging.__table__
    read = conn.scalar(select(func.max(s.c.updated_at)).where(
        s.c.run_id == run_id, s.c.updated_at <= now))
    marks = [read] if full else [read, high_water(conn, system, now)]
    marks = [mark for mark in marks if mark is not None]
    if marks:
        meta.write(conn, {f"{HIGH_WATER}.{system}": str(max(marks))})


def _name_items(conn, run_id: int, system: str) -> None:
    """Item names from a complete run, one per SKU. The item master belongs to the ERP:
    its names win; the other systems' only fill gaps."""
    s = CountStaging.__table__
    names = (select(s.c.sku, func.max(s.c.name))
             .where(s.c.run_id == run_id, s.c.system == system, s.c.name.is_not(None))
             .group_by(s.c.sku))
    upsert_from_select(conn, Item.__table__, ("sku", "name"), names, key=("sku",),
                       when="changed" if system == "erp" else "empty")


def _promote(conn, run_id: int, system: str, full: bool) -> None:
    s, c, h = CountStaging.__table__, CountCurrent.__table__, CountHistory.__table__
    same_key = and_(c.c.system == s.c.system, c.c.sku == s.c.sku, c.c.location == s.c.location)
    differs = or_(*(c.c[q].is_distinct_from(s.c[q]) for q in QUANTITIES))
    columns = ("system", "sku", "location", "run_id", *QUANTITIES, "read_at")
    if conn.scalar(select(c.c.sku).where(c.c.system == system).limit(1)) is None:
        # The system's first read into this cache: nothing to supersede, compare or drop.
        conn.execute(c.insert().from_select(
            list(columns), select(*(s.c[n] for n in columns)).where(s.c.run_id == run_id)))
        return
    # 1. Observations this run supersedes move to history before current changes.
    superseded = (select(*(c.c[n] for n in columns)).select_from(c.join(s, same_key))
                  .where(s.c.run_id == run_id, differs))
    conn.execute(h.insert().from_select(list(columns), superseded))
    # 2. New and changed observations become current (unchanged rows are not touched).
    fresh = (select(*(s.c[n] for n in columns)).select_from(s.outerjoin(c, same_key))
             .where(s.c.run_id == run_id, or_(c.c.sku.is_(None), differs)))
    upsert_from_select(conn, c, columns, fresh, key=("system", "sku", "location"))
    # 3. A full read that no longer mentions a row: its last observation is history now.
    if full:  # rows this run just wrote carry its id: only older ones need the check
        gone = and_(c.c.system == system, c.c.run_id != run_id, ~exists().where(
            s.c.run_id == run_id, s.c.system == c.c.system, s.c.sku == c.c.sku,
            s.c.location == c.c.location))
        conn.execute(h.insert().from_select(list(columns),
                                            select(*(c.c[n] for n in columns)).where(gone)))
        conn.execute(CountGone.__table__.insert().from_select(
            ["run_id", "system", "sku", "location"],
            select(literal(run_id, Integer()), c.c.system, c.c.sku, c.c.location).where(gone)))
        conn.execute(delete(c).where(gone))


def _promote_messages(conn, run_id: int, system: str, started_at: int | None) -> None:
    """A complete run's middleware errors become the system's: new and changed ones are
    upserted, and open ones this run did not list are no longer open (resolved in the
    vendor, or purged by it), as of the run's start unless a later read brings the
    vendor's own resolvedAt."""
    s, m = MessageStaging.__table__, MiddlewareError.__table__
    columns = ("system", "error_id", *_MESSAGE_CONTENT, "read_at", "run_id")
    staged = select(*(s.c[n] for n in columns[:-1]), s.c.run_id,
                    s.c.read_at.label("first_read_at")).where(s.c.run_id == run_id)
    upsert_from_select(conn, m, (*columns, "first_read_at"), staged,
                       key=("system", "error_id"), when="changed", keep=("first_read_at",),
                       compare=_MESSAGE_CONTENT)
    listed = exists().where(s.c.run_id == run_id, s.c.system == m.c.system,
                            s.c.error_id == m.c.error_id)
    conn.execute(update(m).where(m.c.system == system, m.c.resolved.is_(False), ~listed)
                 .values(resolved=True, resolved_at=started_at, run_id=run_id))


def _promote_orders(conn, run_id: int, system: str, full: bool) -> None:
    """A complete run's order lines become the system's view: upserted (keeping when
    each was first seen); a full read's unlisted lines are gone from the system."""
    s, o = OrderLineStaging.__table__, OrderLineRecord.__table__
    columns = ("system", "number", "line", *_ORDER_CONTENT, "run_id")
    staged = select(*(s.c[n] for n in columns), s.c.read_at.label("first_seen_at"),
                    s.c.read_at.label("last_seen_at")).where(s.c.run_id == run_id)
    upsert_from_select(conn, o, (*columns, "first_seen_at", "last_seen_at"), staged,
                       key=("system", "number", "line"), keep=("first_seen_at",))
    if full:  # every line this run listed now carries its id
        conn.execute(delete(o).where(o.c.system == system, o.c.run_id != run_id))
