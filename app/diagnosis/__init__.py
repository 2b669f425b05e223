"""Diagnosis: pure functions from cached observations, events and sync runs to findings
(FINDINGS.md). No database, network or terminal: `app.lookup` gathers the evidence."""

from __future__ import annotations

from collections.abc import Mapping

from app.diagnosis import counts, messages, sync, trail
from app.diagnosis.evidence import Evidence, Finding, Thresholds

RULES = (
    counts.stock_findings,  # phantom, hidden, pool-boundary: the most specific first
    counts.ghost_reservation,
    counts.uom_mismatch,
    counts.pool_definition,
    trail.duplicate_postings,
    trail.unmatched_events,
    messages.failed_messages,  # the middleware's own word on why a handoff is stuck
    counts.drift_findings,  # which handoff, timing or rules
    sync.unmapped_location,
    sync.stale_sources,
    sync.throttled_syncs,
)


def diagnose(ev: Evidence, th: Thresholds, owners: Mapping[str, str] | None = None,
             rules: tuple = RULES) -> list[Finding]:
    """Every finding for one SKU at one location, most specific first (or those of
    `rules`: the detectors judge whole systems and messages on their own)."""
    owners = owners or {}
    found = [finding for rule in rules for finding in rule(ev, th)]
    return [f if (name := owners.get(f.owner)) == f.owner_name else f.owned_by(name)
            for f in found]


__all__ = ["Evidence", "Finding", "Thresholds", "diagnose"]
