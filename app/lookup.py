"""The three-system count lookup: what `seamdesk lookup`, the lookup screen and packets
show for a SKU, computed once from the cache.

`lookup()` reads the SKU's facts (app.cache.sku), builds the evidence for each location,
runs the diagnosis engine and returns plain data; `as_json()` is the CONTRACTS.md shape.
"""

from __future__ import annotations

import difflib
from collections.abc import Container
from dataclasses import dataclass, field, replace

from sqlalchemy import Engine

from app.cache.sku import (
    SkuFacts,
    confirmed_between,
    sku_any_case,
    sku_facts,
    skus_near,
)
from app.clock import age_text, clock_text, iso
from app.config import Config
from app.diagnosis import diagnose
from app.diagnosis.catalogue import routed_to
from app.diagnosis.compare import QUANTITIES, cell_conflicts, last_known_good
from app.diagnosis.evidence import (
    Event,
    Evidence,
    Finding,
    SystemState,
    Thresholds,
    is_stale,
)
from app.diagnosis.orders import OrderView, order_findings, order_json, order_views
from app.errors import UsageError
from app.records import COMPARED, Observation, OpenMessage


@dataclass(frozen=True, slots=True)
class LocatedOrder:
    """An order line of the SKU here, as the ERP, the WMS and the supplier hold it."""

    view: OrderView
    findings: tuple[Finding, ...]
    block: dict  # order_json: the cross-system context, times as ISO text


@dataclass(frozen=True, slots=True)
class LocationLookup:
    sku: str
    location: str  # canonical code, or "system:id" for a location the mapping lacks
    location_name: str | None
    mapped: bool
    now: int
    counts: dict[str, Observation]  # read_at: the newest complete run that confirmed it
    stale: dict[str, bool]  # per compared system
    findings: list[Finding]
    conflicts: dict[tuple[str, str], tuple[str, ...]]  # (system, quantity) → disagrees with
    last_agreed_at: int | None
    diverged_at: int | None
    history: tuple[Observation, ...] = ()  # every version here, newest first
    events: tuple[Event, ...] = ()  # newest first
    messages: tuple[OpenMessage, ...] = ()  # open middleware errors, newest first
    orders: tuple[LocatedOrder, ...] = ()  # its findings are in `findings` too

    @property
    def broken(self) -> set[str]:
        """The handoffs the findings name: wms->erp, erp->storefront (both: the two)."""
        pairs = {"wms->erp", "erp->storefront"}
        names = {f.handoff for f in self.findings if f.handoff in pairs}
        if any(f.code == "both-handoffs" for f in self.findings):
            names |= pairs
        return names

    def agreement(self) -> str:
        """When the three last agreed, in words: 'last agreed 08:00 UTC (7 h ago)'."""
        if self.last_agreed_at is None:
            return "never seen agreeing"
        when = f"{clock_text(self.last_agreed_at, self.now)} " \
            f"({age_text(self.now - self.last_agreed_at)})"
        if self.diverged_at is None:
            return f"agree, confirmed {when}"
        return f"last agreed {when}; disagreeing since {clock_text(self.diverged_at, self.now)}"

    def as_json(self) -> dict:
        systems = {}
        for name in COMPARED:
            obs = self.counts.get(name)
            entry = {q: getattr(obs, q) if obs else None for q in QUANTITIES}
            entry.update(updated_at=iso(obs.updated_at) if obs else None,
                         read_at=iso(obs.read_at) if obs else None,
                         stale=self.stale.get(name, True))
            systems[name] = entry
        return {"sku": self.sku, "location": self.location, "read_at": iso(self.now),
                "location_name": self.location_name, "mapped": self.mapped,
                "systems": systems, "findings": [f.as_json() for f in self.findings],
                "last_agreed_at": iso(self.last_agreed_at),
                "diverged_at": iso(self.diverged_at),
                "middleware_errors": [
                    {"system": m.system, "error_id": m.error_id, "flow": m.flow,
                     "handoff": m.handoff, "occurred_at": iso(m.occurred_at), "code": m.code,
                     "classification": m.classification, "message": m.message}
                    for m in self.messages],
                "orders": [{**o.block, "findings": [f.code for f in o.findings]}
                           for o in self.orders]}


@dataclass(frozen=True, slots=True)
class SkuLookup:
    sku: str
    name: str | None
    pack: int | None
    locations: list[LocationLookup] = field(default_factory=list)
    systems: dict[str, SystemState] = field(default_factory=dict)

    def location(self, code: str) -> LocationLookup | None:
        return next((loc for loc in self.locations if loc.location == code), None)


def lookup(engine: Engine, config: Config, sku: str, now: int,
           location: str | None = None) -> SkuLookup:
    """The comparison and findings for a SKU at one location or every location it has.
    Raises UsageError (exit 2) naming the closest matches for an unknown SKU or location."""
    facts = sku_facts(engine, sku)
    if not facts.known and (spelled := sku_any_case(engine, sku)):
        facts = sku_facts(engine, spelled)  # people type "tee-blk-m" for TEE-BLK-M
    if not facts.known:
        raise UsageError(f"no such SKU {sku!r} in the cache" + _closest(engine, sku),
                         title="Unknown SKU")
    if location is not None and location not in facts.locations:
        location = next((code for code in facts.locations if code.lower() == location.lower()),
                        location)  # "dal1" means DAL1
    if location is not None and location not in facts.locations:
        close = difflib.get_close_matches(location, list(facts.locations), n=3, cutoff=0.4)
        hint = f"; closest: {', '.join(close)}" if close else \
            f"; known: {', '.join(sorted(facts.locations)) or 'none yet'}"
        raise UsageError(f"no such location {location!r}{hint}", title="Unknown location")
    th = config.thresholds()
    systems = system_states(facts, config.systems)
    grouped = by_location(facts)
    codes = [location] if location else sorted(
        grouped, key=lambda code: (code not in facts.locations, code))
    result = SkuLookup(facts.sku, facts.name, facts.pack, systems=systems)
    views = order_views(list(facts.orders), supplier_read="supplier" in config.systems)
    for code in codes:
        here = [v for v in views if v.location in (code, None)]
        result.locations.append(_at_location(engine, config, facts, code, grouped, th,
                                             systems, now, here))
    return result


def by_location(facts: SkuFacts) -> dict[str, dict[str, Observation]]:
    """location → system → its current observation."""
    grouped: dict[str, dict[str, Observation]] = {}
    for obs in facts.current:
        grouped.setdefault(obs.location, {})[obs.system] = obs
    return grouped


def evidence_at(facts: SkuFacts, code: str, grouped: dict[str, dict[str, Observation]],
                systems: dict[str, SystemState], now: int) -> tuple[Evidence, list]:
    """What the engine reasons over for the SKU at one location, and every version seen
    there (current ones at their first read) for last known good."""
    counts = grouped.get(code, {})
    mapped = code in facts.locations
    siblings = {other: rows for other, rows in grouped.items()
                if other != code and other in facts.locations}
    history = [o for o in facts.history if o.location == code]
    versions = [*(o.read_first_at(facts.stored[(o.system, code)]) for o in counts.values()),
                *history]
    events = tuple(Event(e.system, e.event_id, e.kind, e.delta, e.at, e.reason)
                   for e in reversed(facts.events) if e.location == code)
    # An error that names no location (Celigo's never do) holds for each mapped location.
    messages = tuple(m for m in facts.messages if m.location in (code, None)) if mapped else ()
    evidence = Evidence(
        facts.sku, code, now, counts, systems, facts.pack, events,
        tuple(sorted(versions, key=lambda o: o.read_at, reverse=True)), siblings,
        facts.locations.get(code) if mapped else facts.unmapped.get(code), mapped, messages)
    return evidence, versions


def system_states(facts: SkuFacts, configured: Container[str]) -> dict[str, SystemState]:
    return {name: SystemState(row.name, row.kind, row.last_good_read_at, row.runs)
            for name, row in facts.systems.items() if name in configured}


def _at_location(engine: Engine, config: Config, facts: SkuFacts, code: str,
                 grouped: dict[str, dict[str, Observation]], th: Thresholds,
                 systems: dict[str, SystemState], now: int,
                 views: list[OrderView]) -> LocationLookup:
    evidence, versions = evidence_at(facts, code, grouped, systems, now)
    counts, mapped = evidence.counts, evidence.mapped
    owners = config.settings.owners
    findings = diagnose(evidence, th, owners)
    orders = tuple(LocatedOrder(view, tuple(replace(f, owner_name=routed_to(f.code, owners))
                                            for f in order_findings(view, now, th)),
                                order_json(view)) for view in views)
    findings += [f for order in orders for f in order.findings]
    agreement = last_known_good(versions, th) if mapped else None
    agreed, diverged = (agreement.last_agreed_at, agreement.diverged_at) if agreement \
        else (None, None)
    if agreed is not None and diverged is None and counts:
        agreed = min(o.read_at for o in counts.values())  # agree now: since each was read
    elif agreed is not None and diverged is not None:
        confirmed = confirmed_between(engine, agreed, diverged)
        agreed = max(agreed, confirmed or agreed)
    stale = {name: is_stale(systems.get(name), counts.get(name), now, th)
             for name in COMPARED}
    return LocationLookup(facts.sku, code, evidence.location_name, mapped, now, counts,
                          stale, findings, cell_conflicts(counts, th), agreed, diverged,
                          evidence.history, tuple(reversed(evidence.events)), evidence.messages,
                          orders)


def _closest(engine: Engine, sku: str) -> str:
    """A few SKUs near the mistyped one (same leading characters), for the error line."""
    close = difflib.get_close_matches(sku.upper(), skus_near(engine, sku[:3].upper()), n=3,
                                      cutoff=0.5)
    return f"; closest: {', '.join(close)}" if close else ""
