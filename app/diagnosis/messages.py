"""Findings from the integration middleware: open failed messages for the SKU, one
finding per handoff with how many, how old the oldest is and what the newest says."""

from __future__ import annotations

from app.clock import span_text
from app.diagnosis.counts import make
from app.diagnosis.evidence import Evidence, Finding, Thresholds
from app.records import COMPARED, HANDOFFS, OpenMessage

ROUTES = {"wms->erp": "WMS→ERP", "erp->storefront": "ERP→storefront", "erp->wms": "ERP→WMS",
          "erp->supplier": "ERP→supplier"}
UNKNOWN = "middleware"  # the handoff of a flow whose name names none (the system's name)
QUOTE_LIMIT = 160


def failed_messages(ev: Evidence, th: Thresholds) -> list[Finding]:
    if not ev.mapped or not ev.messages:
        return []  # an unmapped location is compared with nothing, messages included
    groups: dict[str, list[OpenMessage]] = {}
    for message in ev.messages:
        groups.setdefault(message.handoff or UNKNOWN, []).append(message)
    order = {handoff: i for i, handoff in enumerate((*HANDOFFS, UNKNOWN))}
    findings = []
    for handoff in sorted(groups, key=lambda h: (order.get(h, len(order)), h)):
        rows = sorted(groups[handoff], key=lambda m: (m.occurred_at, m.error_id))
        oldest, newest = rows[0], rows[-1]
        flows = sorted({m.flow for m in rows})
        route = f"on {ROUTES[handoff]}" if handoff in ROUTES else "in a flow of no known handoff"
        where = f"{ev.sku} {route} ({'flows' if len(flows) > 1 else 'flow'} {', '.join(flows)})"
        age = span_text(ev.now - oldest.occurred_at)
        error = f"{newest.error_id} ({newest.code})" if newest.code else newest.error_id
        said = f"\"{quote(newest.message)}\""
        if len(rows) == 1:
            summary = f"1 open middleware error for {where}, {age} old: {error} says {said}"
        else:
            summary = (f"{len(rows)} open middleware errors for {where}, the oldest {age} old; "
                       f"the newest, {error}, says {said}")
        systems = tuple(s for s in handoff.split("->") if s in COMPARED)
        findings.append(make("failed-messages", summary, handoff=handoff, systems=systems))
    return findings


def quote(text: str) -> str:
    """A vendor's message as one line of plain text, shortened."""
    text = " ".join(str(text).split()) or "(no message)"
    return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT - 1] + "…"
