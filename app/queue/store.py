"""Writing detector results into the queue: open, update, reopen and auto-clear, with an
audit row for every change of state (never for a mere re-sighting, so the trail stays
readable).

`apply` is handed the candidates found and the scope that was examined; an active
exception in that scope that no candidate matches is cleared ("cleared by refresh at T").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Integer, String, bindparam, case, insert, literal, select, update

from app.cache.models import QueueAudit, QueueItem
from app.cache.upsert import bulk_insert, bulk_update
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
    seconds: float = 0.0  # how long the detectors took

    def summary(self) -> str:
        parts = [f"{n} {label}" for n, label in ((self.opened, "opened"),
                                                 (self.reopened, "reopened"),
                                                 (self.cleared, "cleared"),
                                                 (self.recurring, "recurring")) if n]
        return ", ".join(parts) or "no change"


_COLUMNS = (QueueItem.id, QueueItem.key, QueueItem.status)
_T = QueueItem.__table__  # Core statements: thousands of rows per refresh, one statement each
# Every column a new row has (recurrences too: a column left to its default would have
# each of thousands of rows copied again to add it).
_NEW = ("key", "code", "sku", "location", "document", "handoff", "owner", "severity",
        "status", "summary", "evidence", "first_seen_at", "opened_at", "seen_at", "recurrences")
_REOPEN = update(_T).where(_T.c.id == bindparam("_id")).values(
    status="open", opened_at=bindparam("_at"), seen_at=bindparam("_at"), closed_at=None,
    note=None, snoozed_until=None, summary=bindparam("_summary"),
    evidence=bindparam("_evidence"), recurrences=_T.c.recurrences + 1)
# The new exceptions' "opened" audit rows, written set-based: fetching the ids of a
# thousand new rows (RETURNING) is a thousand steps, each giving the GIL away and waiting
# to get it back from the judging thread.
_OPENED = insert(QueueAudit).from_select(
    ["exception_id", "at", "actor", "action", "note"],
    select(_T.c.id, bindparam("at", type_=Integer()), literal(REFRESH, String()),
           literal("opened", String()), _T.c.summary).where(
        _T.c.key.in_(bindparam("keys", expanding=True))))


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
    new, seen, back = [], [], []
    for key, candidate in found.items():
        row = existing.get(key)
        if row is None:
            # Its age counts from when the systems began to differ, not from when a
            # refresh first looked (the first run after install finds old divergences).
            since = now if candidate.since is None else min(now, candidate.since)
            new.append((key, candidate.code, candidate.sku, candidate.location,
                        candidate.document, candidate.handoff, candidate.owner,
                        candidate.severity, "open", candidate.summary,
                        candidate.evidence_json(), now, since, now, 0))
            continue
        if row.status in ACTIVE:
            seen.append((row.id, candidate.evidence_json(), now, candidate.handoff,
                         candidate.summary))
        else:
            back.append(({"_id": row.id, "_at": now, "_summary": candidate.summary,
                          "_evidence": candidate.evidence_json()}, key))
    gone = [(row.id, "cleared", now, None) for key, row in existing.items()
            if key not in found and row.status in ACTIVE and in_scope(key)]
    bulk_insert(conn, _T, _NEW, new)
    for start in range(0, len(new), 500):
        conn.execute(_OPENED, {"at": now, "keys": [row[0] for row in new[start:start + 500]]})
    audits = []
    bulk_update(conn, _T, "id", ("evidence", "seen_at", "handoff"), [r[:4] for r in seen])
    # A summary is set only where it changed: setting it re-indexes the row's trigrams.
    bulk_update(conn, _T, "id", ("summary",), [(r[0], r[4]) for r in seen], changed_only=True)
    if back:
        conn.execute(_REOPEN, [values for values, _ in back])
    for values, key in back:
        audits.append(_audit(values["_id"], now, "reopened",
                             f"found again by refresh at {iso(now)}"))
        if on_reopen is not None:
            on_reopen(conn, values["_id"], key)
    bulk_update(conn, _T, "id", ("status", "closed_at", "snoozed_until"), gone)
    audits += [_audit(row[0], now, "cleared",
                      f"cleared by refresh at {iso(now)}: {why_cleared}") for row in gone]
    outcome.opened += len(new)
    outcome.updated += len(seen)
    outcome.reopened += len(back)
    outcome.cleared += len(gone)
    bulk_insert(conn, QueueAudit.__table__, _AUDIT_COLUMNS, audits)


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


_AUDIT_COLUMNS = ("exception_id", "at", "actor", "action", "note")


def _audit(item_id: int, at: int, action: str, note: str | None = None) -> tuple:
    return item_id, at, REFRESH, action, note
