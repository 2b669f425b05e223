"""The order detector: each document line as the ERP, the WMS and the supplier hold it
becomes the order findings' exceptions (`code|document|SKU`), cleared once the systems
line up again.

The three systems number lines differently (NetSuite's line sequence, ShipHero's line
item ids, the supplier's line numbers), so a document line is joined by the document
number (compared without case, spaces or punctuation: "PO-1042" is "po1042") and the SKU;
a SKU on several lines of one document counts as one line with their sum. Like the
middleware detector it judges the whole set the cache holds on every refresh: the set
changes only when a read completes, and re-judging keeps "after the sync tolerance"
current. The ERP is the reference: a line it does not hold is judged by nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

from sqlalchemy import Connection, Engine, select

from app.cache.models import OrderLineRecord, QueueItem
from app.config import Config
from app.diagnosis.catalogue import CATALOGUE, ORDER_CODES
from app.diagnosis.orders import (
    SIDES,
    began_at,
    context_lines,
    order_findings,
    order_json,
    order_views,
)
from app.queue.candidates import Candidate
from app.queue.store import Outcome, apply
from app.records import OrderLine

_COLUMNS = tuple(f.name for f in fields(OrderLine))


def detect_orders(engine: Engine, config: Config, now: int, outcome: Outcome,
                  on_reopen: Callable[[Connection, int, str], None] | None = None) -> None:
    if "erp" not in config.systems:
        return  # no ERP configured: nothing to judge, nothing to clear
    o = OrderLineRecord
    query = select(*(o.__table__.c[name] for name in _COLUMNS)).where(
        o.system.in_([s for s in SIDES if s in config.systems]))
    with engine.connect() as conn:
        lines = [OrderLine(*row) for row in conn.execute(query)]
    th, owners = config.thresholds(), config.settings.owners
    found: dict[str, Candidate] = {}
    for view in order_views(lines, supplier_read="supplier" in config.systems):
        findings = order_findings(view, now, th)
        if not findings:
            continue
        block = order_json(view)
        context = context_lines(block, now)
        for finding in findings:
            kind = CATALOGUE[finding.code]
            key = f"{finding.code}|{view.document}|{view.sku}"
            evidence = {"finding": {**finding.as_json(), "owner_name": owners.get(kind.owner)},
                        "order": block, "context": context, "also_owners": list(kind.also)}
            found[key] = Candidate(key, finding.code, finding.handoff, finding.owner,
                                   finding.summary, evidence, sku=view.sku,
                                   location=view.location, document=view.document,
                                   since=began_at(finding.code, view))
    with engine.begin() as conn:
        existing = set(conn.scalars(select(QueueItem.key).where(
            QueueItem.code.in_(ORDER_CODES))))
        apply(conn, found, lambda key: True, existing, now, outcome, on_reopen=on_reopen,
              why_cleared="the ERP, the WMS and the supplier agree on the line again")
