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

_CHANGED = text(
    "SELECT DISTINCT sku, location FROM count_staging WHERE run_id IN :runs"
    " UNION SELECT sku, location FROM inventory_event WHERE run_id IN :runs OR at >= :recent"
).bindparams(bindparam("runs", expanding=True))
_UNMAPPED = text("SELECT system, external_id, name, rows FROM location_ref"
                 " WHERE code IS NULL AND rows > 0")


def detect(engine: Engine, config: Config, now: int, run_ids: Iterable[int]) -> Outcome:
    """Run every count detector over what the given (complete) runs changed."""
    runs = list(run_ids) or [-1]
    refresh = config.settings.refresh
    recent = now - refresh.sync_tolerance_seconds - 2 * refresh.interval_seconds
    with engine.connect() as conn:
        keys = {(sku, loc) for sku, loc in conn.execute(
            _CHANGED, {"runs": runs, "recent": recent})}
    outcome = Outcome()
    with engine.begin() as conn:
        wake_snoozed(conn, now)
    _per_key(engine, config, now, keys, outcome)
    _whole_systems(engine, config, now, outcome)
    _unmapped_locations(engine, now, outcome)
    def recur(conn, item_id: int, key: str) -> None:
        _recurrence(conn, config, item_id, key, now, outcome)

    detect_messages(engine, config, now, outcome, on_reopen=recur)
    detect_orders(engine, config, now, outcome, on_reopen=recur)
    return outcome


def _per_key(engine: Engine, config: Config, now: int, keys: set[tuple[str, str]],
             outcome: Outcome) -> None:
    th, owners = config.thresholds(), config.settings.owners
    found: dict[str, Candidate] = {}
    by_sku: dict[str, list[str]] = {}
    for sku, location in keys:
        by_sku.setdefault(sku, []).append(location)
    skus = sorted(by_sku)
    for start in range(0, len(skus), 2000):  # bounded memory on a full refresh
        batch = skus[start:start + 2000]
        for sku, facts in sku_facts_many(engine, batch).items():
            grouped, systems = by_location(facts), system_states(facts, config)
            for location in by_sku[sku]:
                if location not in facts.locations:
                    continue  # an unmapped location is judged as a whole, below
                ev, _ = evidence_at(facts, location, grouped, systems, now)
                if not ev.events and not any_gap(ev.counts, th):
                    continue  # equal numbers and no trail: no rule can find anything
                for finding in diagnose(ev, th, owners):
                    if finding.code in PER_KEY:
                        candidate = from_finding(finding, ev)
                        found[candidate.key] = candidate
    with engine.begin() as conn:
        examined = _existing_keys(conn, keys)
        apply(conn, found, lambda key: key in examined, examined, now, outcome,
              on_reopen=lambda c, item_id, key: _recurrence(c, config, item_id, key, now,
                                                            outcome))


def _existing_keys(conn, keys: set[tuple[str, str]]) -> set[str]:
    """Keys of per-key exceptions at the examined SKU/locations (so absent ones clear)."""
    by_sku: dict[str, set[str]] = {}
    for sku, location in keys:
        by_sku.setdefault(sku, set()).add(location)
    skus, result = sorted(by_sku), set()
    for start in range(0, len(skus), 500):
        query = select(QueueItem.key, QueueItem.sku, QueueItem.location, QueueItem.code).where(
            QueueItem.sku.in_(skus[start:start + 500]))
        for key, sku, location, code in conn.execute(query):
            if location in by_sku[sku] and code in PER_KEY:
                result.add(key)
    return result


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
