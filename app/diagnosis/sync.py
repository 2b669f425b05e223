"""Findings about the sync itself: a system not read lately, rate limits, and stock at a
location the mapping does not know."""

from __future__ import annotations

from app.clock import span_text
from app.diagnosis.counts import make
from app.diagnosis.evidence import LABELS, Evidence, Finding, Thresholds, is_stale
from app.records import COMPARED


def stale_sources(ev: Evidence, th: Thresholds, systems: tuple[str, ...] = COMPARED
                  ) -> list[Finding]:
    """Systems not read within the stale limit (`systems`: the compared three for a SKU;
    the queue also asks about the middleware and the supplier feed)."""
    findings = []
    for name in systems:
        state = ev.systems.get(name)
        if state is None:
            continue  # not configured: nothing to be stale
        if not is_stale(state, ev.counts.get(name), ev.now, th):
            continue
        last = state.last_good_read_at
        run = state.runs[0] if state.runs else None
        why = f"; the last run {run.status}: {run.error}" if run and run.error else \
            (f"; the last run {run.status}" if run and run.status != "complete" else "")
        age = ("has never completed a read" if last is None else
               f"was last read successfully {span_text(ev.now - last)} ago "
               f"(limit {span_text(th.stale_after)})")
        findings.append(make("stale-source", f"The {LABELS[name]} ({state.kind}) {age}{why}.",
                             handoff=name, systems=(name,)))
    return findings


def throttled_syncs(ev: Evidence, th: Thresholds, systems: tuple[str, ...] = COMPARED
                    ) -> list[Finding]:
    findings = []
    for name in systems:
        state = ev.systems.get(name)
        run = next((r for r in state.runs if r.status != "running"), None) if state else None
        if run is None or not run.requests or not run.throttled:
            continue
        share = run.throttled / run.requests
        if share < th.throttled_share and run.status == "complete":
            continue
        findings.append(make(
            "throttled-sync",
            f"The {LABELS[name]} ({state.kind}) answered {run.throttled} of {run.requests} "
            f"requests in its last {run.mode} refresh with a rate limit ({share:.0%}); "
            "updates queue behind it.", handoff=name, systems=(name,)))
    return findings


def unmapped_location(ev: Evidence, th: Thresholds) -> list[Finding]:
    if ev.mapped:
        return []
    system, _, external_id = ev.location.partition(":")
    name = f" ({ev.location_name})" if ev.location_name else ""
    units = ev.counts[system].available if system in ev.counts else None
    held = f" and offers {units} of {ev.sku} there" if units is not None else ""
    return [make("unmapped-location",
                 f"The {LABELS.get(system, system)} has a location {external_id}{name} that "
                 f"[locations] does not map{held}; its stock is compared with nothing.",
                 handoff=system, systems=(system,))]
