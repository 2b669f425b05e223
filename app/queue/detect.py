"""Count detectors: after every refresh, every finding over what changed becomes (or
keeps, or clears) an exception (middleware failed messages: app.queue.messages; order
and PO lines: app.queue.orders).

What changed: the keys (SKU, location) the refresh's runs staged, plus the keys with
inventory events recent enough that a time-based finding (a stranded adjustment, an
unposted receipt) may have just come due. A full refresh stages every row, so it examines
everything. Findings about a whole system (stale, throttled) and about a location the
mapping lacks are judged once per system or location, not per SKU.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, bindparam, func, select, text

from app.cache.models import QueueAudit, QueueItem
from app.cache.sku import sku_facts_many, system_rows
from app.config import Config
from app.diagnosis import diagnose
from app.diagnosis.catalogue import CATALOGUE, ORDER_CODES, SYSTEM_WIDE
from app.diagnosis.compare import any_gap
from app.diagnosis.evidence import Evidence, SystemState
from app.diagnosis.sync import stale_sources, throttled_syncs
from app.lookup import by_location, evidence_at, system_states
from app.queue.candidates import Candidate, from_finding, from_system_finding
from app.queue.messages import detect_messages
from app.queue.orders import detect_orders
from app.queue.store import ACTIVE, Outcome, apply, wake_snoozed
from app.records import TITLES

PER_KEY = {code for code in CATALOGUE if code not in SYSTEM_WIDE} - {
    "unmapped-location", "recurring", "failed-messages", *ORDER_CODES}
"""The count findings judged per SKU and location (messages and orders have their own)."""

_SYSTEMS = "('wms', 'erp', 'storefront')"
_CHANGED_KEYS = (
    "SELECT sku, location FROM count_staging WHERE run_id IN :runs"
    " UNION SELECT sku, location FROM inventory_event WHERE run_id IN :runs OR at >= :recent")
# Triage in SQL, so a full refresh never brings every key into Python: a changed key goes
# on to the rules only if it has an inventory trail or its systems' numbers differ at all
# (tolerances and pool definitions are the rules' business; this is a superset of
# `any_gap`, which compares available across the systems and on-hand WMS/ERP).
_TRIAGE = text(
    f"WITH changed(sku, location) AS ({_CHANGED_KEYS})"
    " SELECT k.sku, k.location FROM changed k WHERE EXISTS (SELECT 1 FROM inventory_event e"
    "   WHERE e.sku = k.sku AND e.location = k.location)"
    " OR (SELECT max(c.available) <> min(c.available) OR max(CASE WHEN c.system <> 'storefront'"
    "   THEN c.on_hand END) <> min(CASE WHEN c.system <> 'storefront' THEN c.on_hand END)"
    f"   FROM count_current c WHERE c.system IN {_SYSTEMS} AND c.sku = k.sku"
    "   AND c.location = k.location)"
).bindparams(bindparam("runs", expanding=True))
# The per-key exceptions a detector run may clear: those at a changed key, and those where
# no system counts anything and nothing happened any more (a key gone from every system).
_IN_SCOPE = text(
    "SELECT q.key FROM exception q WHERE q.code IN :codes AND q.sku IS NOT NULL AND ("
    f" EXISTS (SELECT 1 FROM count_staging s WHERE s.run_id IN :runs AND s.system IN {_SYSTEMS}"
    "   AND s.sku = q.sku AND s.location = q.location)"
    " OR EXISTS (SELECT 1 FROM inventory_event e WHERE e.sku = q.sku"
    "   AND e.location = q.location AND (e.run_id IN :runs OR e.at >= :recent))"
    f" OR NOT EXISTS (SELECT 1 FROM count_current c WHERE c.system IN {_SYSTEMS}"
    "   AND c.sku = q.sku AND c.location = q.location)"
    "   AND NOT EXISTS (SELECT 1 FROM inventory_event e WHERE e.sku = q.sku"
    "   AND e.location = q.location))"
).bindparams(bindparam("runs", expanding=True), bindparam("codes", expanding=True))
_UNMAPPED = text("SELECT system, external_id, name, rows FROM location_ref"
                 " WHERE code IS NULL AND rows > 0")
SKU_BATCH = 2000  # SKUs whose facts are in memory at once (bounded on a full refresh)


def detect(engine: Engine, config: Config, now: int, run_ids: Iterable[int]) -> Outcome:
    """Run every count detector over what the given (complete) runs changed."""
    refresh = config.settings.refresh
    scope = {"runs": list(run_ids) or [-1],
             "recent": now - refresh.sync_tolerance_seconds - 2 * refresh.interval_seconds}
    outcome = Outcome()
    with engine.begin() as conn:
        wake_snoozed(conn, now)
    _per_key(engine, config, now, scope, outcome)
    _whole_systems(engine, config, now, outcome)
    _unmapped_locations(engine, now, outcome)
    def recur(conn, item_id: int, key: str) -> None:
        _recurrence(conn, config, item_id, key, now, outcome)

    detect_messages(engine, config, now, outcome, on_reopen=recur)
    detect_orders(engine, config, now, outcome, on_reopen=recur)
    return outcome


def _per_key(engine: Engine, config: Config, now: int, scope: dict, outcome: Outcome) -> None:
    th, owners = config.thresholds(), config.settings.owners
    by_sku: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for sku, location in conn.execute(_TRIAGE, scope):
            by_sku.setdefault(sku, []).append(location)
        examined = set(conn.scalars(_IN_SCOPE, {**scope, "codes": sorted(PER_KEY)}))
    found: dict[str, Candidate] = {}
    skus = sorted(by_sku)
    for start in range(0, len(skus), SKU_BATCH):
        for sku, facts in sku_facts_many(engine, skus[start:start + SKU_BATCH]).items():
            grouped, systems = by_location(facts), system_states(facts, config)
            for location in by_sku[sku]:
                if location not in facts.locations:
                    continue  # an unmapped location is judged as a whole, below
                if not any_gap(grouped.get(location, {}), th) and not any(
                        e.location == location for e in facts.events):
                    continue  # equal numbers and no trail: no rule can find anything
                ev, _ = evidence_at(facts, location, grouped, systems, now)
                for finding in diagnose(ev, th, owners):
                    if finding.code in PER_KEY:
                        candidate = from_finding(finding, ev)
                        found[candidate.key] = candidate
    with engine.begin() as conn:
        apply(conn, found, lambda key: key in examined, examined, now, outcome,
              on_reopen=lambda c, item_id, key: _recurrence(c, config, item_id, key, now,
                                                            outcome))


def _whole_systems(engine: Engine, config: Config, now: int, outcome: Outcome) -> None:
    th, owners = config.thresholds(), config.settings.owners
    states = {name: SystemState(row.name, row.kind, row.last_good_read_at, row.runs)
              for name, row in system_rows(engine).items() if name in config.systems}
    ev = Evidence("", "", now, {}, states)
    found = {}
    for finding in [*stale_sources(ev, th), *throttled_syncs(ev, th)]:
        candidate = from_system_finding(finding, finding.handoff)
        candidate.evidence["finding"]["owner_name"] = owners.get(finding.owner)
        found[candidate.key] = candidate
    with engine.begin() as conn:
        existing = set(conn.scalars(select(QueueItem.key).where(
            QueueItem.code.in_(SYSTEM_WIDE))))
        apply(conn, found, lambda key: True, existing, now, outcome)


def _unmapped_locations(engine: Engine, now: int, outcome: Outcome) -> None:
    found = {}
    with engine.begin() as conn:
        for system, external, name, rows in conn.execute(_UNMAPPED):
            location = f"{system}:{external}"
            where = f" ({name})" if name else ""
            kind = CATALOGUE["unmapped-location"]
            found[f"unmapped-location|{location}"] = Candidate(
                f"unmapped-location|{location}", "unmapped-location", system, kind.owner,
                f"The {TITLES.get(system, system)} has a location {external}{where} that "
                f"[locations] does not map; {rows} rows there are compared with nothing.",
                {"system": system, "external_id": external, "name": name, "rows": rows},
                location=location)
        existing = set(conn.scalars(select(QueueItem.key).where(
            QueueItem.code == "unmapped-location")))
        apply(conn, found, lambda key: True, existing, now, outcome)


def _recurrence(conn, config: Config, item_id: int, key: str, now: int,
                outcome: Outcome) -> None:
    """N re-openings of one exception within M days raise `recurring` (kept open until a
    person resolves it: the treadmill stops when the handoff is fixed, not the number)."""
    queue = config.settings.queue
    since = now - queue.recurrence_days * 86400
    reopened = conn.scalar(select(func.count()).select_from(QueueAudit).where(
        QueueAudit.exception_id == item_id, QueueAudit.action == "reopened",
        QueueAudit.at >= since)) + 1  # this one is written with the others, after
    if reopened < queue.recurrence_count:
        return
    base = conn.execute(select(QueueItem).where(QueueItem.id == item_id)).one()
    kind = CATALOGUE["recurring"]
    summary = (f"{base.code} at {base.location or base.document or ''} for "
               f"{base.sku or base.document or ''} came back {reopened} times in "
               f"{queue.recurrence_days} days: the number was fixed, the handoff was not.")
    candidate = Candidate(f"recurring|{key}", "recurring", base.handoff, kind.owner, summary,
                          {"of": key, "reopened": reopened}, sku=base.sku,
                          location=base.location, document=base.document)
    apply(conn, {candidate.key: candidate}, lambda _: False, (), now, Outcome())
    outcome.recurring += 1


__all__ = ["ACTIVE", "detect"]
