"""Read-side queries: everything screens and --json commands show comes from here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from app.cache.models import CountCurrent, CountHistory, LocationRef, SyncRun, System
from app.records import ROLES, Observation, RunSummary

_QUANTITY_COLUMNS = (CountCurrent.system, CountCurrent.location, CountCurrent.sku,
                     CountCurrent.on_hand, CountCurrent.available, CountCurrent.allocated,
                     CountCurrent.in_transit, CountCurrent.updated_at, CountCurrent.read_at)


@dataclass(frozen=True, slots=True)
class SystemStatus:
    name: str
    kind: str
    last_good_read_at: int | None
    rows: int
    last_run: RunSummary | None
    unmapped_locations: tuple[str, ...]


def latest(engine: Engine, sku: str, location: str,
           systems: tuple[str, ...] = ROLES) -> dict[str, Observation]:
    """The last good observation of each system for one SKU at one location.

    An unchanged row was re-read (or confirmed by the updated-since filter) by every
    complete run since it was stored, so its read time is the newest complete run's.
    """
    query = (select(*_QUANTITY_COLUMNS, System.last_good_read_at)
             .join(System, System.name == CountCurrent.system, isouter=True)
             .where(CountCurrent.system.in_(systems), CountCurrent.sku == sku,
                    CountCurrent.location == location))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {row[0]: Observation(*row[:8], max(row[8], row[9] or 0)) for row in rows}


def history(engine: Engine, sku: str, location: str, limit: int = 50,
            systems: tuple[str, ...] = ROLES) -> list[Observation]:
    """Every version seen of one SKU at one location, newest first: the superseded ones
    in history and the current one, each with the time it was first read."""
    rows = []
    with engine.connect() as conn:
        for table in (CountHistory, CountCurrent):
            query = (select(table.system, table.location, table.sku, table.on_hand,
                            table.available, table.allocated, table.in_transit,
                            table.updated_at, table.read_at)
                     .where(table.system.in_(systems), table.sku == sku,
                            table.location == location)
                     .order_by(table.read_at.desc()).limit(limit))
            rows += [Observation(*row) for row in conn.execute(query)]
    return sorted(rows, key=lambda o: o.read_at, reverse=True)[:limit]


_RUN_COLUMNS = (SyncRun.id, SyncRun.system, SyncRun.mode, SyncRun.status, SyncRun.started_at,
                SyncRun.finished_at, SyncRun.pages, SyncRun.rows, SyncRun.requests,
                SyncRun.throttled, SyncRun.retries, SyncRun.error)


def last_run(engine: Engine, system: str) -> RunSummary | None:
    with engine.connect() as conn:
        return _last_run(conn, system)


def _last_run(conn, system: str) -> RunSummary | None:
    query = (select(*_RUN_COLUMNS).where(SyncRun.system == system)
             .order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(1))
    row = conn.execute(query).first()
    return RunSummary(*row) if row else None


def system_status(engine: Engine) -> list[SystemStatus]:
    """One line per configured system: last good read, rows held, the newest run."""
    with engine.connect() as conn:
        systems = conn.execute(select(System.name, System.kind, System.last_good_read_at)
                               .order_by(System.name)).all()
        rows = dict(conn.execute(select(CountCurrent.system, func.count())
                                 .group_by(CountCurrent.system)).all())
        unmapped: dict[str, list[str]] = {}
        refs = conn.execute(select(LocationRef.system, LocationRef.external_id,
                                   LocationRef.name).where(LocationRef.code.is_(None)))
        for system, external_id, name in refs:
            unmapped.setdefault(system, []).append(f"{external_id} ({name})" if name
                                                   else external_id)
        return [SystemStatus(name, kind, last_good, rows.get(name, 0), _last_run(conn, name),
                             tuple(unmapped.get(name, ())))
                for name, kind, last_good in systems]


def current_counts(engine: Engine, system: str) -> dict[tuple[str, str], tuple]:
    """(location, sku) → (on_hand, available, allocated, in_transit, updated_at)."""
    c = CountCurrent
    query = select(c.location, c.sku, c.on_hand, c.available, c.allocated, c.in_transit,
                   c.updated_at).where(c.system == system)
    with engine.connect() as conn:
        return {(r[0], r[1]): tuple(r[2:]) for r in conn.execute(query)}
