"""Diagnosis: pure functions from cached observations, events and sync runs to findings
(FINDINGS.md). No database, network or terminal: `app.lookup` gathers the evidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

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


def diagnose(ev: Evidence, th: Thresholds, owners: Mapping[str, str] | None = None
             ) -> list[Finding]:
    """Every finding for one SKU at one location, most specific first."""
    owners = owners or {}
    found = [finding for rule in RULES for finding in rule(ev, th)]
    return [replace(f, owner_name=owners.get(f.owner)) for f in found]


__all__ = ["Evidence", "Finding", "Thresholds", "diagnose"]
