"""The middleware detector: open failed messages become one exception per SKU and handoff
(`failed-messages|SKU|handoff`), cleared once the middleware no longer lists any of them.

It judges the whole open set the cache holds every time (a few rows, one indexed scan):
the set changes only when a middleware read completes, and re-judging it otherwise keeps
the ages in the summaries current. A trace key that is no SKU seamdesk knows (an order
number, say) is kept as the exception's document instead; an error without one is keyed
by its flow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

from sqlalchemy import Connection, Engine, select

from app.cache.models import Item, MiddlewareError, QueueItem
from app.clock import iso, span_text
from app.config import Config
from app.diagnosis.catalogue import CATALOGUE
from app.diagnosis.evidence import Evidence
from app.diagnosis.messages import UNKNOWN, failed_messages
from app.queue.candidates import Candidate
from app.queue.store import Outcome, apply
from app.records import OpenMessage
from app.sources.registry import MIDDLEWARE_KINDS

CODE = "failed-messages"
_OPEN = tuple(f.name for f in fields(OpenMessage))  # the columns an OpenMessage holds
MAX_LISTED = 50  # errors listed in one exception's evidence (the newest)


def detect_messages(engine: Engine, config: Config, now: int, outcome: Outcome,
                    on_reopen: Callable[[Connection, int, str], None] | None = None) -> None:
    systems = [name for name, s in config.systems.items() if s.kind in MIDDLEWARE_KINDS]
    if not systems:
        return  # no middleware configured: nothing to judge, nothing to clear
    e = MiddlewareError
    query = (select(*(e.__table__.c[name] for name in _OPEN),
                    e.sku, e.flow_id, e.step, Item.sku.is_not(None).label("known"))
             .outerjoin(Item, Item.sku == e.sku)
             .where(e.system.in_(systems), e.resolved.is_(False)))
    groups: dict[tuple[str, str], list] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            subject = row.sku or f"flow:{row.flow}"
            groups.setdefault((subject, row.handoff or UNKNOWN), []).append(row)
    found: dict[str, Candidate] = {}
    for (subject, handoff), rows in groups.items():
        candidate = _candidate(config, subject, handoff, rows, now)
        found[candidate.key] = candidate
    with engine.begin() as conn:
        existing = set(conn.scalars(select(QueueItem.key).where(QueueItem.code == CODE)))
        apply(conn, found, lambda key: True, existing, now, outcome, on_reopen=on_reopen,
              why_cleared="the middleware no longer lists these errors as open")


def _candidate(config: Config, subject: str, handoff: str, rows: list, now: int
               ) -> Candidate:
    rows = sorted(rows, key=lambda r: (r.occurred_at, r.error_id), reverse=True)  # newest 1st
    messages = tuple(OpenMessage(*(getattr(r, n) for n in _OPEN))
                     for r in rows)
    known_sku = bool(rows[0].known)
    locations = {m.location for m in messages}
    location = locations.pop() if len(locations) == 1 else None
    ev = Evidence(subject, location or "", now, {}, messages=messages)
    finding = failed_messages(ev, config.thresholds())[0]
    kind = CATALOGUE[CODE]
    evidence = {
        "finding": {**finding.as_json(), "owner_name": config.settings.owners.get(kind.owner)},
        "errors": [{"system": r.system, "error_id": r.error_id, "flow": r.flow,
                    "flow_id": r.flow_id, "step": r.step, "location": r.location,
                    "occurred_at": iso(r.occurred_at), "age_seconds": now - r.occurred_at,
                    "age": span_text(now - r.occurred_at), "code": r.code,
                    "classification": r.classification, "message": r.message}
                   for r in rows[:MAX_LISTED]],
        "open_errors": len(rows), "also_owners": list(kind.also)}
    return Candidate(f"{CODE}|{subject}|{handoff}", CODE, handoff, kind.owner, finding.summary,
                     evidence, sku=subject if known_sku else None, location=location,
                     document=None if known_sku else subject,
                     since=rows[-1].occurred_at)  # the oldest open error
