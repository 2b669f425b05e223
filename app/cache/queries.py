"""Read-side queries: everything screens and --json commands show comes from here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from app.cache.models import (
    CountCurrent,
    LocationRef,
    MiddlewareError,
    OrderLineRecord,
    SyncRun,
    System,
)
from app.records import RunSummary


@dataclass(frozen=True, slots=True)
class SystemStatus:
    name: str
    kind: str
    last_good_read_at: int | None
    rows: int
    last_run: RunSummary | None
    unmapped_locations: tuple[str, ...]


_RUN_COLUMNS = (SyncRun.id, SyncRun.system, SyncRun.mode, SyncRun.status, SyncRun.started_at,
                SyncRun.finished_at, SyncRun.pages, SyncRun.rows, SyncRun.requests,
                SyncRun.throttled, SyncRun.retries, SyncRun.error)


def last_run(engine: Engine, system: str) -> RunSummary | None:
    with engine.connect() as conn:
        return _last_run(conn, system)


def _last_run(conn, system: str) -> RunSummary | None:
    """The newest refresh of a system (single-SKU re-reads are not refreshes of it)."""
    query = (select(*_RUN_COLUMNS).where(SyncRun.system == system, SyncRun.mode != "sku")
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
        for system, errors in conn.execute(select(MiddlewareError.system, func.count())
                                           .group_by(MiddlewareError.system)):
            rows[system] = rows.get(system, 0) + errors  # a middleware holds errors
        for system, lines in conn.execute(select(OrderLineRecord.system, func.count())
                                          .group_by(OrderLineRecord.system)):
            rows[system] = rows.get(system, 0) + lines  # order lines (a supplier: only)
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
