"""Judging the changed keys of a batch of SKUs: their facts from the cache, the count rules,
and a candidate exception for each finding (app.queue.detect decides the batches and
writes what they find)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from app.cache.sku import sku_facts_many
from app.diagnosis import RULES, diagnose
from app.diagnosis.catalogue import CATALOGUE, ORDER_CODES, SYSTEM_WIDE
from app.diagnosis.compare import any_gap
from app.diagnosis.counts import looks_elsewhere
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


def judge(conn: Connection, rules: Rules, batch: dict[str, list[str]], now: int
          ) -> dict[str, Candidate]:
    """Every per-key finding at the given locations of each SKU (SKU → locations)."""
    found: dict[str, Candidate] = {}
    # Each key's own rows first; a key whose rules look at the SKU's other locations is
    # judged again with every location's (a few: pool-boundary's shape is rare).
    elsewhere = _judge(rules, sku_facts_many(conn, sorted(batch), batch), batch, now, found,
                       partial=True)
    if not elsewhere:
        return found
    _judge(rules, sku_facts_many(conn, sorted(elsewhere)), elsewhere, now, found)
    # In the batch's order again: new exceptions are numbered in the order they come.
    order = {key: at for at, key in enumerate(
        (sku, location) for sku in sorted(batch) for location in batch[sku])}
    return dict(sorted(found.items(), key=lambda kv: order[kv[1].sku, kv[1].location]))


def _judge(rules: Rules, facts_of: dict, batch: dict[str, list[str]], now: int,
           found: dict[str, Candidate], partial: bool = False) -> dict[str, list[str]]:
    """Judge the keys into `found`; with `partial` facts (the keys' own locations only),
    those whose rules look elsewhere are left out and returned (SKU → locations)."""
    th, elsewhere = rules.thresholds, {}
    # The SKUs of a batch share one read of the systems and their runs.
    systems = system_states(next(iter(facts_of.values())), rules.systems) if facts_of else {}
    for sku, facts in facts_of.items():
        grouped = by_location(facts)
        for location in batch[sku]:
            if location not in facts.locations:
                continue  # an unmapped location is judged as a whole, by the detectors
            ev, _ = evidence_at(facts, location, grouped, systems, now)
            if not ev.events and not any_gap(ev, th):
                continue  # equal numbers and no trail: no rule can find anything
            if partial and looks_elsewhere(ev):
                elsewhere.setdefault(sku, []).append(location)
                continue
            for finding in diagnose(ev, th, rules.owners, _KEY_RULES):
                if finding.code in PER_KEY:
                    candidate = from_finding(finding, ev)
                    found[candidate.key] = candidate
    return elsewhere
