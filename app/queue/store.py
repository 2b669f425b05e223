"""Writing detector results into the queue: open, update, reopen and auto-clear, with an
audit row for every change of state (never for a mere re-sighting, so the trail stays
readable).

`apply` is handed the candidates found and the scope that was examined; an active
exception in that scope that no candidate matches is cleared ("cleared by refresh at T").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Integer, String, case, insert, literal, select, update

from app.cache.models import QueueAudit, QueueItem
from app.clock import iso
from app.queue.candidates import Candidate

ACTIVE = ("open", "acknowledged", "assigned", "snoozed")
CLOSED = ("resolved", "cleared")
REFRESH = "refresh"  # the actor of everything a detector does


@dataclass(slots=True)
class Outcome:
    opened: int = 0
    updated: int = 0
    reopened: int = 0
    cleared: int = 0
    recurring: int = 0

    def summary(self) -> str:
        parts = [f"{n} {label}" for n, label in ((self.opened, "opened"),
                                                 (self.reopened, "reopened"),
                                                 (self.cleared, "cleared"),
                                                 (self.recurring, "recurring")) if n]
        return ", ".join(parts) or "no change"


_COLUMNS = (QueueItem.id, QueueItem.key, QueueItem.status)


def apply(conn: Connection, found: dict[str, Candidate], in_scope: Callable[[str], bool],
          existing_keys: Iterable[str], now: int, outcome: Outcome,
          on_reopen: Callable[[Connection, int, str], None] | None = None,
          why_cleared: str = "the systems agree again") -> None:
    """Bring the queue in line with what a detector found.

    `existing_keys`: the keys of exceptions the detector examined (found or not);
    `in_scope(key)`: whether an active exception absent from `found` should clear (the
    audit note says `why_cleared`)."""
    keys = set(existing_keys) | set(found)
    existing = {}
    key_list = sorted(keys)
    for start in range(0, len(key_list), 500):
        batch = key_list[start:start + 500]
        for row in conn.execute(select(*_COLUMNS).where(QueueItem.key.in_(batch))):
            existing[row.key] = row
    audits: list[dict] = []
    for key, candidate in found.items():
        row = existing.get(key)
        if row is None:
            item_id = conn.execute(insert(QueueItem).values(
                key=key, code=candidate.code, sku=candidate.sku, location=candidate.location,
                document=candidate.document, handoff=candidate.handoff,
                owner=candidate.owner, severity=candidate.severity, status="open",
                summary=candidate.summary, evidence=candidate.evidence_json(),
                first_seen_at=now, opened_at=now, seen_at=now)).inserted_primary_key[0]
            audits.append(_audit(item_id, now, "opened", candidate.summary))
            outcome.opened += 1
        elif row.status in ACTIVE:
            values = dict(summary=candidate.summary, evidence=candidate.evidence_json(),
                          seen_at=now, handoff=candidate.handoff)
            conn.execute(update(QueueItem).where(QueueItem.id == row.id).values(**values))
            outcome.updated += 1
        else:
            conn.execute(update(QueueItem).where(QueueItem.id == row.id).values(
                status="open", opened_at=now, seen_at=now, closed_at=None, note=None,
                snoozed_until=None, summary=candidate.summary,
                evidence=candidate.evidence_json(), recurrences=QueueItem.recurrences + 1))
            audits.append(_audit(row.id, now, "reopened",
                                 f"found again by refresh at {iso(now)}"))
            outcome.reopened += 1
            if on_reopen is not None:
                on_reopen(conn, row.id, key)
    for key, row in existing.items():
        if key in found or row.status not in ACTIVE or not in_scope(key):
            continue
        conn.execute(update(QueueItem).where(QueueItem.id == row.id).values(
            status="cleared", closed_at=now, snoozed_until=None))
        audits.append(_audit(row.id, now, "cleared", f"cleared by refresh at {iso(now)}: "
                             f"{why_cleared}"))
        outcome.cleared += 1
    if audits:
        conn.execute(insert(QueueAudit), audits)


def wake_snoozed(conn: Connection, now: int) -> int:
    """Snoozes that ran out: back to assigned (if someone has it) or open."""
    q = QueueItem
    due = (q.status == "snoozed", q.snoozed_until <= now)
    audit_each(conn, due, now, REFRESH, "snooze ended")
    return conn.execute(update(q).where(*due).values(
        status=case((q.assignee.is_not(None), "assigned"), else_="open"),
        snoozed_until=None)).rowcount


def audit_each(conn: Connection, where, at: int, actor: str, action: str,
               note: str | None = None) -> None:
    """One audit row for every exception `where` matches, written set-based (before the
    update that changes what `where` matches)."""
    q = QueueItem
    conn.execute(insert(QueueAudit).from_select(
        ["exception_id", "at", "actor", "action", "note"],
        select(q.id, literal(at, Integer()), literal(actor, String()),
               literal(action, String()), literal(note, String())).where(*where)))


def _audit(item_id: int, at: int, action: str, note: str | None = None) -> dict:
    return {"exception_id": item_id, "at": at, "actor": REFRESH, "action": action,
            "note": note}
