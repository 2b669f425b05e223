"""Judging the changed keys of a batch of SKUs: their facts from the cache, the count rules,
and a candidate exception for each finding (app.queue.detect decides the batches and
writes what they find)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from app.cache.sku import sku_facts_many
from app.diagnosis import RULES, diagnose
from app.diagnosis.catalogue import CATALOGUE, ORDER_CODES, SYSTEM_WIDE
from app.diagnosis.compare import any_gap
from app.diagnosis.evidence import Thresholds
from app.diagnosis.messages import failed_messages
from app.diagnosis.sync import stale_sources, throttled_syncs, unmapped_location
from app.lookup import by_location, evidence_at, system_states
from app.queue.candidates import Candidate, from_finding

PER_KEY = {code for code in CATALOGUE if code not in SYSTEM_WIDE} - {
    "unmapped-location", "recurring", "failed-messages", *ORDER_CODES}
"""The count findings judged per SKU and location (messages and orders have their own)."""
# The rules that can find them: a whole system's, a location's and the middleware's are
# judged once each by the detectors, not again for every key.
_KEY_RULES = tuple(rule for rule in RULES if rule not in (
    failed_messages, unmapped_location, stale_sources, throttled_syncs))


@dataclass(frozen=True, slots=True)
class Rules:
    """What judging needs from the config."""

    thresholds: Thresholds
    owners: dict[str, str]
    systems: frozenset[str]  # the configured ones


def judge(engine: Engine, rules: Rules, batch: dict[str, list[str]], now: int
          ) -> dict[str, Candidate]:
    """Every per-key finding at the given locations of each SKU (SKU → locations)."""
    th, found = rules.thresholds, {}
    facts_of = sku_facts_many(engine, sorted(batch), batch)
    # The SKUs of a batch share one read of the systems and their runs.
    systems = system_states(next(iter(facts_of.values())), rules.systems) if facts_of else {}
    for sku, facts in facts_of.items():
        grouped = by_location(facts)
        for location in batch[sku]:
            if location not in facts.locations:
                continue  # an unmapped location is judged as a whole, by the detectors
            if not any_gap(grouped.get(location, {}), th) and not any(
                    e.location == location for e in facts.events):
                continue  # equal numbers and no trail: no rule can find anything
            ev, _ = evidence_at(facts, location, grouped, systems, now)
            for finding in diagnose(ev, th, rules.owners, _KEY_RULES):
                if finding.code in PER_KEY:
                    candidate = from_finding(finding, ev)
                    found[candidate.key] = candidate
    return found
