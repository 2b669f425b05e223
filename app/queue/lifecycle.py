"""What people do to exceptions: acknowledge, assign, resolve (with a note), snooze until
a time, reopen. One exception or a whole filtered set at once; set-based SQL either way,
with one audit row per exception changed, naming the operator.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, update

from app.cache.engine import writer
from app.cache.models import QueueItem
from app.errors import UsageError
from app.queue.query import QueueFilter, conditions
from app.queue.store import audit_each


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    past: str  # for the audit trail and messages
    allowed_from: tuple[str, ...]


ACTIONS = {a.name: a for a in (
    Action("acknowledge", "acknowledged", ("open",)),
    Action("assign", "assigned", ("open", "acknowledged", "assigned", "snoozed")),
    Action("resolve", "resolved", ("open", "acknowledged", "assigned", "snoozed")),
    Action("snooze", "snoozed", ("open", "acknowledged", "assigned")),
    Action("reopen", "reopened", ("resolved", "cleared")),
    # A resolve whose fix was re-keying the number by hand (health counts these).
    Action("correct", "corrected by hand", ("open", "acknowledged", "assigned", "snoozed")),
)}
CORRECTED = ACTIONS["correct"].past  # the audit action health counts


def act(engine: Engine, action: str, target: QueueFilter | list[int], operator: str,
        now: int, *, note: str | None = None, assignee: str | None = None,
        until: int | None = None) -> int:
    """Apply `action` to the exceptions `target` names (ids, or every one a filter
    matches) that are in a state it applies to; returns how many changed."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise UsageError(f"unknown queue action {action!r} (actions: {', '.join(ACTIONS)})")
    note = (note or "").strip() or None
    values: dict = {"status": {"reopen": "open", "correct": "resolved"}.get(action, spec.past)}
    if action in ("resolve", "correct"):
        if not note:
            raise UsageError(f"{action}: a resolution note is required (what was done)")
        values.update(closed_at=now, note=note, snoozed_until=None)
    elif action == "assign":
        if not (assignee or "").strip():
            raise UsageError("assign: say to whom (an owner role or a person)")
        values["assignee"] = assignee.strip()
        note = note or f"to {values['assignee']}"
    elif action == "snooze":
        if until is None or until <= now:
            raise UsageError("snooze: give a time in the future")
        values["snoozed_until"] = until
    elif action == "reopen":
        values.update(opened_at=now, closed_at=None, note=None)
    q = QueueItem
    scope = [q.status.in_(spec.allowed_from)]
    if isinstance(target, QueueFilter):  # the same clauses the confirmation counted
        scope += conditions(engine, target)
    else:
        scope.append(q.id.in_(list(target)))
    with writer(engine).begin() as conn:
        audit_each(conn, scope, now, operator, spec.past, note)
        return conn.execute(update(q).where(*scope).values(**values)).rowcount
