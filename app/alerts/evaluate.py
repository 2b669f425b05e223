"""After every refresh: turn what changed into pending alerts, then deliver them.

Finding rules read the exception audit trail past a cursor (Meta `alerts.audit_cursor`):
every audit row is one state change of one exception, so each is alerted once. Condition
rules look at the state now and name the episode they report (the oldest open exception
and when it opened; a system and its last good read), so a condition still true at the
next refresh is the same state and is not alerted again. Either way the alert's `dedupe`
key is unique in the `alert` table: nothing is posted twice for one state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from sqlalchemy import Engine, func, select

from app.alerts.deliver import Delivered, deliver
from app.alerts.message import condition_body, finding_body
from app.alerts.settings import AlertRule, Destination, effective_rules
from app.cache import meta
from app.cache.engine import writer
from app.cache.models import AlertRecord, QueueAudit, QueueItem, System
from app.cache.upsert import insert_new
from app.clock import iso
from app.queue.store import ACTIVE

CURSOR = "alerts.audit_cursor"


@dataclass(slots=True)
class AlertOutcome:
    raised: int = 0  # new alerts written
    sent: int = 0
    failed: int = 0  # deliveries that failed this time (retried later, or given up)
    held: int = 0  # waiting for the rate limit

    def summary(self) -> str:
        parts = [f"{n} {label}" for n, label in ((self.sent, "sent"), (self.failed, "failed"),
                                                 (self.held, "held by the rate limit")) if n]
        return ", ".join(parts) or "none"


def destinations_of(rule: AlertRule, named: dict[str, Destination]) -> dict[str, Destination]:
    return {name: named[name] for name in rule.to} if rule.to else {f"rule:{rule.name}": rule}


def evaluate(engine: Engine, config, now: int, *, transport=None,
             sleep: Callable[[float], None] = time.sleep) -> AlertOutcome:
    settings = config.settings
    named = settings.alert_destinations
    rules = effective_rules(settings.alerts, named)
    outcome = AlertOutcome()
    if not rules:
        return outcome
    rows: list[dict] = []
    # The first evaluation on a cache looks at this refresh's changes only, not at every
    # state change in its history (a new rule must not flood a channel with old news).
    first = now - 2 * settings.refresh.interval_seconds
    with writer(engine).begin() as conn:
        cursor = meta.value(conn, CURSOR)
        newest = conn.scalar(select(func.max(QueueAudit.id))) or 0
        changes = (QueueAudit.id > int(cursor), QueueAudit.id <= newest) \
            if cursor is not None else (QueueAudit.at >= first, QueueAudit.id <= newest)
        for rule in rules:
            for subject, state, body in _triggered(conn, rule, config, now, changes):
                for name, destination in destinations_of(rule, named).items():
                    payload = finding_body(body, destination.format) if "code" in body \
                        else condition_body(body, destination.format)
                    rows.append(dict(dedupe=f"{rule.name}|{name}|{subject}|{state}",
                                     rule=rule.name, destination=name, subject=subject,
                                     created_at=now, body=orjson.dumps(payload).decode()))
        if rows:
            result = conn.execute(insert_new(conn, AlertRecord.__table__), rows)
            outcome.raised = max(0, result.rowcount)
        meta.write(conn, {CURSOR: str(newest)})
    current = {name: d for rule in rules for name, d in destinations_of(rule, named).items()}
    delivered: Delivered = deliver(engine, current, settings.alerting, now,
                                   transport=transport, sleep=sleep)
    outcome.sent, outcome.failed, outcome.held = delivered.sent, delivered.failed, \
        delivered.held
    return outcome


def _triggered(conn, rule: AlertRule, config, now: int, changes: tuple):
    """(subject, state, facts) for each thing the rule reports now."""
    if rule.codes:
        q, a = QueueItem, QueueAudit
        found = conn.execute(
            select(a.id, a.action, a.at, a.note, q.key, q.code, q.sku, q.location,
                   q.document, q.handoff, q.owner, q.status, q.summary, q.opened_at)
            .join(q, q.id == a.exception_id)
            .where(*changes, a.action.in_(rule.on), q.code.in_(rule.codes))
            .order_by(a.id))
        owners = config.settings.owners
        matrix = config.settings.ownership.matrix()
        for row in found:
            facts = {"code": row.code, "change": row.action, "at": row.at, "key": row.key,
                     "sku": row.sku, "location": row.location, "document": row.document,
                     "handoff": row.handoff, "owner": row.owner, "status": row.status,
                     "summary": row.summary, "owners": owners, "matrix": matrix,
                     "rule": rule.name}
            yield row.key, f"{row.action}@{row.at}", facts
    elif rule.oldest_open_hours is not None:
        oldest = conn.execute(select(QueueItem.id, QueueItem.key, QueueItem.code,
                                     QueueItem.opened_at, QueueItem.summary)
                              .where(QueueItem.status.in_(ACTIVE))
                              .order_by(QueueItem.opened_at, QueueItem.id).limit(1)).first()
        if oldest and now - oldest.opened_at > rule.oldest_open_hours * 3600:
            yield "oldest-open", f"{oldest.key}@{oldest.opened_at}", {
                "rule": rule.name, "condition": "oldest-open", "since": oldest.opened_at,
                "now": now, "hours": rule.oldest_open_hours, "subject": oldest.key,
                "summary": oldest.summary}
    else:
        reads = dict(conn.execute(select(System.name, System.last_good_read_at)).all())
        for system in config.systems:
            last = reads.get(system)
            if last is not None and now - last > rule.stale_hours * 3600:
                yield system, f"stale@{last}", {
                    "rule": rule.name, "condition": "stale", "since": last, "now": now,
                    "hours": rule.stale_hours, "subject": system, "summary": ""}


def summary(engine: Engine, now: int) -> dict:
    """For `seamdesk health --json` and the health screen: what waits, what failed."""
    a = AlertRecord
    with engine.connect() as conn:
        by_status = dict(conn.execute(select(a.status, func.count()).group_by(a.status)).all())
        sent_day = conn.scalar(select(func.count()).where(a.status == "sent",
                                                          a.sent_at >= now - 86400))
        last = conn.execute(select(a.rule, a.destination, a.last_attempt_at, a.error)
                            .where(a.error.is_not(None), a.status != "sent")
                            .order_by(a.last_attempt_at.desc()).limit(1)).first()
    return {"pending": by_status.get("pending", 0), "failed": by_status.get("failed", 0),
            "sent_last_24h": sent_day or 0,
            "last_failure": None if last is None else {
                "rule": last.rule, "destination": last.destination,
                "at": iso(last.last_attempt_at), "error": last.error}}
