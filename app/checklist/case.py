"""Everything the cache knows that the checklist asks about, for one SKU at one location:
the three-system comparison, the order lines, the exceptions already open, and the sync
runs, middleware errors and operator notes since the systems last agreed.

`gather()` reads it in a few indexed queries; the steps (app.checklist.steps) and the
packet (app.checklist.packet) are pure functions of the result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Engine, or_, select

from app.cache.models import MiddlewareError, QueueAudit, QueueItem, SyncRun
from app.checklist.symptoms import Symptom
from app.config import Config
from app.diagnosis.catalogue import CATALOGUE, SEVERITY
from app.diagnosis.counts import make
from app.diagnosis.evidence import Finding
from app.errors import UsageError
from app.lookup import LocatedOrder, LocationLookup, SkuLookup, lookup
from app.queue.store import ACTIVE, REFRESH
from app.records import RunSummary

DEFAULT_WINDOW = 24 * 3600  # looked back when the three were never seen agreeing
MAX_ROWS = 50  # per list in a packet: the newest; the cache keeps the rest


@dataclass(frozen=True, slots=True)
class Exception_:
    """An exception the queue holds for this SKU here (any status)."""

    id: int
    code: str
    handoff: str
    status: str
    opened_at: int
    recurrences: int
    assignee: str | None
    summary: str


@dataclass(frozen=True, slots=True)
class Note:
    at: int
    actor: str
    action: str
    note: str
    code: str  # of the exception it was written on


@dataclass(frozen=True, slots=True)
class Message:
    """A middleware error for this SKU since the window opened, open or resolved."""

    system: str
    error_id: str
    flow: str
    handoff: str | None
    occurred_at: int
    retry_key: str | None
    code: str | None
    message: str
    resolved_at: int | None


@dataclass(frozen=True, slots=True)
class Case:
    sku: str
    name: str | None
    symptom: Symptom
    now: int
    lookup: SkuLookup
    loc: LocationLookup
    window_start: int  # the last known good, else DEFAULT_WINDOW before window_end
    window_end: int  # when they began to disagree, else now
    exceptions: tuple[Exception_, ...]
    runs: tuple[RunSummary, ...]  # not clean (partial, failed, throttled, retried)
    messages: tuple[Message, ...]
    notes: tuple[Note, ...]
    owners: dict[str, str]

    @property
    def orders(self) -> tuple[LocatedOrder, ...]:
        return self.loc.orders

    @property
    def location(self) -> str:
        return self.loc.location

    @property
    def findings(self) -> list[Finding]:
        """Every finding for the SKU here: counts, order lines, and a recurrence the queue
        raised, the worst first."""
        recurring = "recurring"
        found = [*self.loc.findings,
                 *(replace(make(recurring, item.summary, handoff=item.handoff),
                           owner_name=self.owners.get(CATALOGUE[recurring].owner))
                   for item in self.exceptions
                   if item.code == recurring and item.status in ACTIVE)]
        return sorted(found, key=lambda f: -SEVERITY.get(f.code, 2))

    def matching(self) -> list[Finding]:
        """The findings the symptom asks about."""
        return [f for f in self.findings if f.code in self.symptom.codes]


def gather(engine: Engine, config: Config, sku: str, location: str | None, symptom: Symptom,
           now: int) -> Case:
    """The case for a SKU at a location (default: the first with something wrong).
    Raises UsageError naming the closest match for an unknown SKU or location."""
    result = lookup(engine, config, sku, now, location)
    if not result.locations:
        raise UsageError(f"{result.sku}: no system holds a count for it yet")
    loc = result.locations[0] if location else next(
        (x for x in result.locations if x.findings), result.locations[0])
    end = loc.diverged_at if loc.diverged_at is not None else now
    # Never seen agreeing: look back a day from when the disagreement began.
    start = loc.last_agreed_at if loc.last_agreed_at is not None else end - DEFAULT_WINDOW
    with engine.connect() as conn:
        q = QueueItem
        items = conn.execute(
            select(q.id, q.code, q.handoff, q.status, q.opened_at, q.recurrences, q.assignee,
                   q.summary)
            .where(q.sku == result.sku, or_(q.location == loc.location, q.location.is_(None)))
            .order_by(q.opened_at.desc()).limit(MAX_ROWS)).all()
        a = QueueAudit
        notes = conn.execute(
            select(a.at, a.actor, a.action, a.note, q.code).join(q, q.id == a.exception_id)
            .where(q.sku == result.sku, or_(q.location == loc.location, q.location.is_(None)),
                   a.note.is_not(None), a.actor != REFRESH, a.at >= start)
            .order_by(a.at.desc()).limit(MAX_ROWS)).all()
        r = SyncRun
        runs = conn.execute(
            select(r.id, r.system, r.mode, r.status, r.started_at, r.finished_at, r.pages,
                   r.rows, r.requests, r.throttled, r.retries, r.error)
            .where(r.started_at >= start, r.system.in_(list(config.systems)),
                   or_(r.status != "complete", r.throttled > 0, r.retries > 0))
            .order_by(r.started_at.desc()).limit(MAX_ROWS)).all()
        m = MiddlewareError
        messages = conn.execute(
            select(m.system, m.error_id, m.flow, m.handoff, m.occurred_at, m.retry_key,
                   m.code, m.message, m.resolved_at)
            .where(m.sku == result.sku,
                   or_(m.location == loc.location, m.location.is_(None)),
                   or_(m.resolved.is_(False), m.occurred_at >= start))
            .order_by(m.occurred_at.desc()).limit(MAX_ROWS)).all()
    return Case(result.sku, result.name, symptom, now, result, loc, start, end,
                tuple(Exception_(*row) for row in items), tuple(RunSummary(*row) for row in runs),
                tuple(Message(*row) for row in messages),
                tuple(Note(*row) for row in notes), dict(config.settings.owners))
