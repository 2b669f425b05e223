"""Findings from the event trail: a WMS event with no ERP counterpart after the sync
tolerance (adjustment, receipt, shipment), or an ERP that posted one event twice."""

from __future__ import annotations

from app.clock import clock_text, span_text
from app.diagnosis.compare import drift_of
from app.diagnosis.counts import make
from app.diagnosis.evidence import Event, Evidence, Finding, Thresholds

UNMATCHED = {"adjustment": "stranded-adjustment", "cycle_count": "stranded-adjustment",
             "receipt": "unposted-receipt", "shipment": "unconfirmed-shipment"}
MAX_PER_CODE = 3  # the newest few; the rest are in the history panel


def _counterpart(event: Event, erp: list[Event], wms_ids: set[str], th: Thresholds) -> bool:
    """The ERP recorded the same document, or the same change soon after under an id of
    its own (not one that answers another WMS event)."""
    return any(e.event_id == event.event_id or
               (e.event_id not in wms_ids and e.kind == event.kind and e.delta == event.delta
                and e.at >= event.at - th.sync_tolerance) for e in erp)


def _label(event: Event) -> str:
    reason = f", {event.reason}" if event.reason else ""
    return f"{event.event_id} ({event.delta:+d}{reason})"


def unmatched_events(ev: Evidence, th: Thresholds) -> list[Finding]:
    wms, erp = ev.counts.get("wms"), ev.counts.get("erp")
    if wms is None or erp is None or not any(e.system == "wms" for e in ev.events):
        return []  # a number is missing, or the WMS did nothing here that could strand
    upstream, _ = drift_of(ev, th)
    if not upstream:
        return []  # the numbers agree: nothing was stranded
    erp_events = [e for e in ev.events if e.system == "erp"]
    wms_ids = {e.event_id for e in ev.events if e.system == "wms"}
    findings: dict[str, list[Finding]] = {}
    for event in sorted((e for e in ev.events if e.system == "wms"), key=lambda e: -e.at):
        code = UNMATCHED.get(event.kind)
        waited = ev.now - event.at
        if code is None or waited <= th.sync_tolerance or \
                _counterpart(event, erp_events, wms_ids, th):
            continue
        if len(findings.setdefault(code, [])) >= MAX_PER_CODE:
            continue
        numbers = f"WMS {wms.on_hand} vs ERP {erp.on_hand} on hand"
        if code == "unconfirmed-shipment":
            committed = f" with {erp.allocated} committed" if erp.allocated else ""
            text = (f"The WMS shipped {event.event_id} ({-event.delta} units"
                    f"{', ' + event.reason if event.reason else ''}) at "
                    f"{clock_text(event.at, ev.now)}; {span_text(waited)} later the ERP still "
                    f"shows {erp.on_hand} on hand{committed}, pending fulfillment.")
        elif code == "unposted-receipt":
            text = (f"The WMS received {_label(event)} at {clock_text(event.at, ev.now)}; the "
                    f"ERP has no matching receipt {span_text(waited)} later ({numbers}).")
        else:
            what = "cycle count" if event.kind == "cycle_count" else "adjustment"
            text = (f"WMS {what} {_label(event)} at {clock_text(event.at, ev.now)} has no "
                    f"ERP counterpart {span_text(waited)} later ({numbers}).")
        findings[code].append(make(code, text, systems=("wms", "erp")))
    return [f for group in findings.values() for f in group]


def duplicate_postings(ev: Evidence, th: Thresholds) -> list[Finding]:
    """The ERP holds one event id twice, or one posting of double the WMS quantity."""
    wms = {e.event_id: e for e in ev.events if e.system == "wms"}
    postings: dict[str, list[Event]] = {}
    for event in ev.events:
        if event.system == "erp":
            postings.setdefault(event.event_id, []).append(event)
    findings = []
    for event_id, erp in postings.items():
        original = wms.get(event_id)
        total = sum(e.delta for e in erp)
        doubled = original is not None and original.delta and total == 2 * original.delta
        if len(erp) < 2 and not doubled:
            continue
        times = " and ".join(clock_text(e.at, ev.now) for e in erp[:3])
        posts = {1: "once with double the quantity", 2: "twice"}.get(len(erp),
                                                                   f"{len(erp)} times")
        once = (f"; the WMS recorded {original.delta:+d} once" if original
                else "; the WMS has no such event")
        findings.append(make(
            "duplicate-posting",
            f"The ERP posted {_label(erp[0])} {posts} ({times}; {total:+d} in total){once}.",
            systems=("wms", "erp")))
    return findings
