"""Everything the cache knows about one SKU, read on one connection with a handful of
indexed seeks (the lookup's data path: `seamdesk lookup`, the lookup screen, packets).

Statements are written once as `text()` so SQLAlchemy compiles each a single time; the
count tables are keyed (system, sku, location), so each read is a seek per system.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, text

from app.cache.queries import Observation, RunSummary

COMPARED = ("wms", "erp", "storefront")
MAX_HISTORY = 200  # versions per SKU (newest); enough for every location's timeline
MAX_EVENTS = 200
RUNS_PER_SYSTEM = 3

_SYSTEMS = bindparam("systems", expanding=True)
_ITEM = text("SELECT name, pack FROM item WHERE sku = :sku")
_CURRENT = text(
    "SELECT c.system, c.location, c.sku, c.on_hand, c.available, c.allocated, c.in_transit,"
    " c.updated_at, c.read_at, s.last_good_read_at, k.checked_at FROM count_current c"
    " LEFT JOIN system s ON s.name = c.system"
    " LEFT JOIN sku_check k ON k.system = c.system AND k.sku = c.sku"
    " WHERE c.system IN :systems AND c.sku = :sku").bindparams(_SYSTEMS)
_HISTORY = text(
    "SELECT system, location, sku, on_hand, available, allocated, in_transit, updated_at,"
    " read_at FROM count_history WHERE system IN :systems AND sku = :sku"
    " ORDER BY read_at DESC LIMIT :limit").bindparams(_SYSTEMS)
_EVENTS = text(
    "SELECT system, event_id, kind, location, delta, at, reason FROM inventory_event"
    " WHERE sku = :sku ORDER BY at DESC LIMIT :limit")
_SYSTEM_ROWS = text("SELECT name, kind, last_good_read_at FROM system")
_RUNS = text(
    "SELECT id, system, mode, status, started_at, finished_at, pages, rows, requests,"
    " throttled, retries, error FROM sync_run WHERE system = :system"
    " ORDER BY started_at DESC, id DESC LIMIT :limit")
_LOCATIONS = text(  # a mapped location's name: config's, else what a system calls it
    "SELECT l.code, coalesce(l.name, (SELECT max(r.name) FROM location_ref r"
    " WHERE r.code = l.code)) FROM location l")
_UNMAPPED = text("SELECT system, external_id, name FROM location_ref WHERE code IS NULL")
_CONFIRMED = text(
    "SELECT max(started_at) FROM sync_run WHERE system IN :systems AND status = 'complete'"
    " AND started_at >= :since AND started_at < :before").bindparams(_SYSTEMS)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    system: str
    event_id: str
    kind: str
    location: str
    delta: int
    at: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class SystemRow:
    name: str
    kind: str
    last_good_read_at: int | None
    runs: tuple[RunSummary, ...]


@dataclass(frozen=True, slots=True)
class SkuFacts:
    sku: str
    name: str | None
    pack: int | None
    known: bool  # the SKU is in the item table or has counts
    current: tuple[Observation, ...]  # read_at: the newest complete run that confirmed it
    stored: dict[tuple[str, str], int]  # (system, location) → when this version was first read
    history: tuple[Observation, ...]  # superseded versions, newest first
    events: tuple[StoredEvent, ...]  # newest first
    systems: dict[str, SystemRow]
    locations: dict[str, str | None]  # mapped code → name
    unmapped: dict[str, str | None]  # "system:external id" → its name in that system


def sku_facts(engine: Engine, sku: str, systems: tuple[str, ...] = COMPARED) -> SkuFacts:
    with engine.connect() as conn:
        item = conn.execute(_ITEM, {"sku": sku}).first()
        current, stored = [], {}
        for row in conn.execute(_CURRENT, {"systems": list(systems), "sku": sku}):
            current.append(Observation(*row[:8], max(row[8], row[9] or 0, row[10] or 0)))
            stored[(row[0], row[1])] = row[8]
        history = tuple(Observation(*row) for row in conn.execute(
            _HISTORY, {"systems": list(systems), "sku": sku, "limit": MAX_HISTORY}))
        events = tuple(StoredEvent(*row) for row in conn.execute(
            _EVENTS, {"sku": sku, "limit": MAX_EVENTS}))
        system_rows = {}
        for name, kind, last_good in conn.execute(_SYSTEM_ROWS):
            runs = tuple(RunSummary(*r) for r in conn.execute(
                _RUNS, {"system": name, "limit": RUNS_PER_SYSTEM}))
            system_rows[name] = SystemRow(name, kind, last_good, runs)
        locations = dict(conn.execute(_LOCATIONS).all())
        unmapped = {f"{system}:{external}": name
                    for system, external, name in conn.execute(_UNMAPPED)}
    return SkuFacts(sku, item[0] if item else None, item[1] if item else None,
                    item is not None or bool(current), tuple(current), stored, history,
                    events, system_rows, locations, unmapped)


def confirmed_between(engine: Engine, systems: tuple[str, ...], since: int,
                      before: int) -> int | None:
    """The start of the newest complete run in [since, before): the last time an
    unchanged state was read again."""
    with engine.connect() as conn:
        return conn.scalar(_CONFIRMED, {"systems": list(systems), "since": since,
                                        "before": before})


_SEARCH_PREFIX = text(
    "SELECT sku, name FROM item WHERE sku >= :low AND sku < :high ORDER BY sku LIMIT :limit")
_SEARCH_ANY = text(
    "SELECT sku, name FROM item WHERE (lower(sku) LIKE :pattern ESCAPE '\\'"
    " OR lower(name) LIKE :pattern ESCAPE '\\') ORDER BY sku LIMIT :limit")


def search_items(engine: Engine, query: str, limit: int = 50) -> list[tuple[str, str | None]]:
    """SKUs whose code starts with the query (an index range), then SKUs and names that
    contain it anywhere, up to `limit`; never the whole catalogue in memory."""
    query = query.strip()
    if not query:
        return []
    with engine.connect() as conn:
        hits = list(conn.execute(_SEARCH_PREFIX, {"low": query, "high": query + "\U0010ffff",
                                                  "limit": limit}).all())
        if len(hits) < limit and query.upper() != query:  # SKUs are mostly upper case
            hits += conn.execute(_SEARCH_PREFIX, {"low": query.upper(),
                                                  "high": query.upper() + "\U0010ffff",
                                                  "limit": limit - len(hits)}).all()
        if len(hits) < limit:
            escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            seen = {sku for sku, _ in hits}
            for sku, name in conn.execute(_SEARCH_ANY, {"pattern": f"%{escaped}%",
                                                        "limit": limit + len(seen)}):
                if sku not in seen:
                    hits.append((sku, name))
                    if len(hits) >= limit:
                        break
    return [(sku, name) for sku, name in hits]
