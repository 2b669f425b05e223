"""Count detectors: after every refresh, every finding over what changed becomes (or
keeps, or clears) an exception (middleware failed messages: app.queue.messages; order
and PO lines: app.queue.orders).

What changed: the keys (SKU, location) whose current rows a run wrote or dropped since
the detectors last ran, plus the keys with inventory events recent enough that a
time-based finding (a stranded adjustment, an unposted receipt) may have just come due.
A key nothing changed at keeps its verdict, so a full re-read of an unchanged catalogue
judges almost nothing; other rules (thresholds, owners, the mapping, a new version)
judge every key again. Findings about a whole system (stale, throttled) and about a location
the mapping lacks are judged once per system or location, not per SKU (app.queue.judge
judges the keys).
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import Future

import orjson
from sqlalchemy import Engine, bindparam, delete, func, select, text

from app import __version__
from app.cache import meta
from app.cache.engine import lean_cache
from app.cache.models import CountGone, QueueAudit, QueueItem
from app.cache.sku import system_rows
from app.config import Config
from app.diagnosis.catalogue import CATALOGUE, SYSTEM_WIDE
from app.diagnosis.evidence import Evidence, SystemState
from app.diagnosis.sync import stale_sources, throttled_syncs
from app.queue.candidates import Candidate, from_system_finding
from app.queue.judge import PER_KEY, Rules, judge
from app.queue.messages import detect_messages
from app.queue.orders import detect_orders
from app.queue.store import ACTIVE, Outcome, apply, wake_snoozed
from app.records import ROLES, TITLES
from app.threads import helpers

_SYSTEMS = "('wms', 'erp', 'storefront')"
# A key's systems' numbers differ at all, over its count rows (an aggregate): available
# across the three, on hand between the WMS and the ERP.
_DIFFER = ("max(available) <> min(available)"
           " OR max(CASE WHEN system <> 'storefront' THEN on_hand END)"
           " <> min(CASE WHEN system <> 'storefront' THEN on_hand END)")
# A key changed if a run since the last judged one wrote its current row (rows a read
# found unchanged keep their old run id), dropped it (count_gone), or brought an event
# there; and events recent enough that a time-based finding may have just come due.
_CHANGED_KEYS = (
    "SELECT sku, location FROM count_current WHERE run_id > :judged"
    " UNION SELECT sku, location FROM count_gone WHERE run_id > :judged"
    " UNION SELECT sku, location FROM inventory_event WHERE run_id > :judged OR at >= :recent")
# One pass over the changed keys (materialized once) gives two kinds of rows:
# - 'judge': the keys the rules must see (each is read for judging anyway, so a key whose
#   numbers agree costs no more there than a test for it here would);
# - 'scope': the per-key exceptions at changed keys, which this run updates or clears.
# Both cost in proportion to what changed, not to the size of the catalogue or the queue.
_JUDGE_AND_SCOPE = text(
    f"WITH changed(sku, location) AS MATERIALIZED ({_CHANGED_KEYS})"
    " SELECT 'judge', sku, location FROM changed"
    " UNION ALL SELECT 'scope', q.key, q.sku FROM changed k JOIN exception q"
    "   ON q.sku = k.sku AND q.location = k.location WHERE q.code IN :codes"
).bindparams(bindparam("codes", expanding=True))
# Judging everything again (a first refresh, new rules): a triage in SQL, so a full
# judging never brings every key into Python. One sorted pass over every count (which
# beats seeking three rows for each of the 400k keys of a big catalogue) keeps the keys
# with an inventory trail or numbers that differ at all (a superset of `any_gap`:
# tolerances and pool definitions are the rules' business). Every per-key exception is
# in scope, including those at keys no system counts any more. (Between two judgings a
# key can only lose its last row through a full read's promotion, which count_gone
# records, or a new mapping, which is new rules.)
_EVERY_SUSPECT = text(
    f"SELECT sku, location FROM count_current WHERE system IN {_SYSTEMS}"
    f" GROUP BY sku, location HAVING {_DIFFER}"
    " UNION SELECT sku, location FROM inventory_event")
_EVERY_EXCEPTION = text(
    "SELECT key, sku FROM exception WHERE code IN :codes AND sku IS NOT NULL"
).bindparams(bindparam("codes", expanding=True))
# Judged up to the newest finished run below any still running (a re-read may finish
# while a refresh elsewhere is still reading: that refresh's rows are judged by its own
# detectors, so the mark must not pass them).
_JUDGED_UP_TO = text(
    "SELECT coalesce((SELECT min(id) - 1 FROM sync_run WHERE status = 'running'),"
    " (SELECT max(id) FROM sync_run), 0)")
_UNMAPPED = text("SELECT system, external_id, name, rows FROM location_ref"
                 " WHERE code IS NULL AND rows > 0")
SKU_BATCH = 1000  # SKUs whose facts are in memory at once (bounded on a full refresh)
IN_FLIGHT = 3  # batches judged and not yet written
JUDGED, RULES = "detect.judged_run", "detect.rules"  # Meta keys


def detect(engine: Engine, config: Config, now: int) -> Outcome:
    """Run every detector over what changed since they last ran."""
    refresh = config.settings.refresh
    started, outcome = time.perf_counter(), Outcome()
    with engine.begin() as conn:
        wake_snoozed(conn, now)
        marks = meta.read(conn, JUDGED, RULES)
        up_to = conn.scalar(_JUDGED_UP_TO)
    rules = rules_fingerprint(config)
    # Other rules (new thresholds, owners, a mapping, a new version) judge everything again.
    judged = int(marks.get(JUDGED, 0)) if marks.get(RULES) == rules else 0
    scope = {"judged": judged,
             "recent": now - refresh.sync_tolerance_seconds - 2 * refresh.interval_seconds}
    _per_key(engine, config, now, scope, outcome)
    _whole_systems(engine, config, now, outcome)
    _unmapped_locations(engine, now, outcome)
    def recur(conn, item_id: int, key: str) -> None:
        _recurrence(conn, config, item_id, key, now, outcome)

    detect_messages(engine, config, now, outcome, on_reopen=recur)
    detect_orders(engine, config, now, outcome, on_reopen=recur)
    with engine.begin() as conn:
        meta.write(conn, {JUDGED: str(up_to), RULES: rules})
        conn.execute(delete(CountGone).where(CountGone.run_id <= up_to))
    outcome.seconds = time.perf_counter() - started
    return outcome


def rules_fingerprint(config: Config) -> str:
    """What the count findings depend on besides the data: when it changes, every key is
    judged again rather than only the changed ones."""
    settings = config.settings
    basis = [__version__, repr(config.thresholds()), settings.owners, settings.locations]
    return hashlib.sha256(orjson.dumps(basis, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _per_key(engine: Engine, config: Config, now: int, scope: dict, outcome: Outcome) -> None:
    """Judged and written a batch of SKUs at a time, so memory stays bounded however many
    keys a refresh changed (a first full read of a big catalogue judges every one)."""
    by_sku: dict[str, list[str]] = {}
    examined: dict[str, set[str]] = {}  # SKU → keys of its exceptions in scope
    codes = sorted(PER_KEY)
    with engine.connect() as conn:
        if scope["judged"]:
            for kind, first, second in conn.execute(_JUDGE_AND_SCOPE, {**scope, "codes": codes}):
                if kind == "judge":
                    by_sku.setdefault(first, []).append(second)
                else:
                    examined.setdefault(second, set()).add(first)
        else:
            for sku, location in conn.execute(_EVERY_SUSPECT):
                by_sku.setdefault(sku, []).append(location)
            for key, sku in conn.execute(_EVERY_EXCEPTION, {"codes": codes}):
                examined.setdefault(sku, set()).add(key)

    def write(found: dict[str, Candidate], keys: set[str]) -> None:
        with engine.begin() as conn, lean_cache(conn):
            apply(conn, found, keys.__contains__, keys, now, outcome,
                  on_reopen=lambda c, item_id, key: _recurrence(c, config, item_id, key, now,
                                                                outcome))

    # A batch is written on a helper thread while the next ones are judged: the writes
    # spend most of their time in SQLite (indexes, the trigram index), which runs without
    # the GIL. One thread writes them in order; a few batches in flight absorb the batches
    # that are slower to write than to judge, and keep memory bounded.
    writing: list[Future] = []

    def settle(found: dict[str, Candidate], skus) -> None:
        keys = set().union(*(examined.pop(sku, ()) for sku in skus))
        if len(writing) == IN_FLIGHT:
            writing.pop(0).result()
        writing.append(helpers("detect-writes").submit(write, found, keys))

    rules = Rules(config.thresholds(), dict(config.settings.owners), frozenset(config.systems))
    skus = sorted(by_sku)
    # One read transaction for every batch: the writes commit beside it, and a new one
    # per batch would start each with an empty page cache.
    with engine.connect() as conn, conn.begin():
        for start in range(0, len(skus), SKU_BATCH):
            batch = {sku: by_sku[sku] for sku in skus[start:start + SKU_BATCH]}
            settle(judge(conn, rules, batch, now), batch)
    settle({}, list(examined))  # in scope, but the triage saw nothing there: all clear
    for future in writing:
        future.result()


def _whole_systems(engine: Engine, config: Config, now: int, outcome: Outcome) -> None:
    th, owners = config.thresholds(), config.settings.owners
    states = {name: SystemState(row.name, row.kind, row.last_good_read_at, row.runs)
              for name, row in system_rows(engine).items() if name in config.systems}
    ev = Evidence("", "", now, {}, states)
    found = {}
    for finding in [*stale_sources(ev, th, ROLES), *throttled_syncs(ev, th, ROLES)]:
        candidate = from_system_finding(finding, finding.handoff)
        candidate.evidence["finding"]["owner_name"] = owners.get(finding.owner)
        if finding.code == "stale-source" and \
                (last := states[finding.handoff].last_good_read_at) is not None:
            candidate.since = last + th.stale_after  # stale from when the limit passed
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
