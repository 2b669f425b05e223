"""Everything the cache knows about one SKU, read in one transaction with a handful of
indexed seeks (the lookup's data path: `seamdesk lookup`, the lookup screen, packets).

The count tables are keyed (system, sku, location), so each read is a seek per system.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from app.records import Observation, OpenMessage, OrderLine, RunSummary

MAX_HISTORY = 200  # versions per SKU (newest); enough for every location's timeline
MAX_EVENTS = 200
MAX_MESSAGES = 200  # open middleware errors per SKU (newest)
RUNS_PER_SYSTEM = 3

# Plain SQL in the driver's own dialect-neutral subset, run on the DBAPI cursor: this
# path runs on every keystroke that opens a SKU and must stay far under 2 ms, and
# SQLAlchemy's per-statement overhead alone is several times the indexed reads it wraps.
_IN_COMPARED = "('wms', 'erp', 'storefront')"
_ITEM = "SELECT name, pack FROM item WHERE sku = ?"
# The system's last good read comes from `_shared`: no join per row.
_CURRENT_FROM = (
    "SELECT c.system, c.location, c.sku, c.on_hand, c.available, c.allocated, c.in_transit,"
    " c.updated_at, c.read_at, s.checked_at FROM {keys}count_current c"
    " LEFT JOIN sku_check s ON s.system = c.system AND s.sku = c.sku WHERE ")
_CURRENT = _CURRENT_FROM.format(keys="") + f"c.system IN {_IN_COMPARED} AND c.sku = ?"
# The detectors' keys, joined in: three seeks per key instead of every location's rows
# (a plain row-value IN scans the whole system here).
_CURRENT_AT = (
    "WITH judged(sku, location) AS (VALUES {pairs}) "
    + _CURRENT_FROM.format(keys="judged j CROSS JOIN ")
    + f"c.system IN {_IN_COMPARED} AND c.sku = j.sku AND c.location = j.location")
_HISTORY = (
    "SELECT system, location, sku, on_hand, available, allocated, in_transit, updated_at,"
    f" read_at FROM count_history WHERE system IN {_IN_COMPARED} AND sku = ?"
    " ORDER BY read_at DESC LIMIT ?")
_EVENTS = (
    "SELECT system, event_id, kind, location, delta, at, reason FROM inventory_event"
    " WHERE sku = ? ORDER BY at DESC LIMIT ?")
_MESSAGES = (  # a seek on ix_middleware_error_sku, read newest first in index order
    "SELECT system, error_id, flow, handoff, location, occurred_at, code, message,"
    " classification FROM middleware_error WHERE sku = ? AND resolved = ?"
    " ORDER BY occurred_at DESC LIMIT ?")
_ORDERS = (  # a seek on ix_order_line_sku: every system's view of the SKU's order lines
    f"SELECT {', '.join(OrderLine.__slots__)} FROM order_line WHERE sku = ?")
_SYSTEM_ROWS = "SELECT name, kind, last_good_read_at FROM system"
_RUNS = (
    "SELECT id, system, mode, status, started_at, finished_at, pages, rows, requests,"
    " throttled, retries, error FROM sync_run WHERE system = ? AND mode <> 'sku'"
    " ORDER BY started_at DESC, id DESC LIMIT ?")
_LOCATIONS = (  # a mapped location's name: config's, else what a system calls it
    "SELECT l.code, coalesce(l.name, (SELECT max(r.name) FROM location_ref r"
    " WHERE r.code = l.code)) FROM location l")
_UNMAPPED = "SELECT system, external_id, name FROM location_ref WHERE code IS NULL"
_CONFIRMED = (
    f"SELECT max(started_at) FROM sync_run WHERE system IN {_IN_COMPARED}"
    " AND status = 'complete' AND mode <> 'sku' AND started_at >= ? AND started_at < ?")


class _Reader:
    """A read transaction on the DBAPI cursor, with `?` placeholders made right for the
    driver (sqlite3 takes them as they are; psycopg wants %s)."""

    def __init__(self, conn: Connection) -> None:
        self.cursor = conn.connection.driver_connection.cursor()
        self.pyformat = conn.dialect.paramstyle != "qmark"

    def rows(self, sql: str, *params) -> list[tuple]:
        self.cursor.execute(sql.replace("?", "%s") if self.pyformat else sql, params)
        return self.cursor.fetchall()


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
    messages: tuple[OpenMessage, ...] = ()  # open middleware errors, newest first
    orders: tuple[OrderLine, ...] = ()  # each system's view of the SKU's order lines


def sku_facts(engine: Engine, sku: str) -> SkuFacts:
    with engine.connect() as conn, conn.begin():  # one snapshot, even mid-refresh
        read = _Reader(conn)
        shared = _shared(read)
        item = read.rows(_ITEM, sku)
        current = read.rows(_CURRENT, sku)
        history = read.rows(_HISTORY, sku, MAX_HISTORY)
        events = read.rows(_EVENTS, sku, MAX_EVENTS)
        messages = read.rows(_MESSAGES, sku, False, MAX_MESSAGES)
        orders = read.rows(_ORDERS, sku)
    return _facts(sku, item[0] if item else None, current, history, events, shared, messages,
                  orders)


BATCH = 500  # SKUs per IN list: well under every driver's parameter limit


def sku_facts_many(conn: Connection, skus: list[str],
                   locations: Mapping[str, Collection[str]] | None = None
                   ) -> dict[str, SkuFacts]:
    """The facts of many SKUs in a few batched queries (the detectors' bulk path; the
    whole history of each, no per-SKU limits), in the caller's transaction. With
    `locations` (SKU → locations), only those locations' rows, history and events."""
    result: dict[str, SkuFacts] = {}
    read = _Reader(conn)
    shared = _shared(read)
    for start in range(0, len(skus), BATCH):
        batch = skus[start:start + BATCH]
        marks = ", ".join("?" * len(batch))
        items = {row[0]: row[1:] for row in read.rows(
            f"SELECT sku, name, pack FROM item WHERE sku IN ({marks})", *batch)}
        grouped: dict[str, tuple[list, list, list]] = {sku: ([], [], []) for sku in batch}
        if locations is None:
            current = read.rows(_CURRENT.replace("c.sku = ?", f"c.sku IN ({marks})"), *batch)
        else:
            current, keys = [], [(sku, loc) for sku in batch for loc in locations[sku]]
            for at in range(0, len(keys), BATCH):
                pairs = keys[at:at + BATCH]
                current += read.rows(_CURRENT_AT.format(pairs=", ".join(["(?, ?)"] * len(
                    pairs))), *(value for pair in pairs for value in pair))
        for row in current:
            grouped[row[2]][0].append(row)
        history_sql = _HISTORY.replace("sku = ?", f"sku IN ({marks})").replace(
            " LIMIT ?", "")
        for row in read.rows(history_sql, *batch):
            grouped[row[2]][1].append(row)
        for row in read.rows(f"SELECT sku, system, event_id, kind, location, delta, at,"
                             f" reason FROM inventory_event WHERE sku IN ({marks})"
                             " ORDER BY at DESC", *batch):
            grouped[row[0]][2].append(row[1:])
        for sku, (current, history, events) in grouped.items():
            if locations is not None:
                here = locations[sku]
                history = [r for r in history if r[1] in here]
                events = [r for r in events if r[3] in here]
            result[sku] = _facts(sku, items.get(sku), current, history, events, shared)
    return result


def system_rows(engine: Engine) -> dict[str, SystemRow]:
    """Every registered system with its last good read and newest refreshes."""
    with engine.connect() as conn, conn.begin():
        return _shared(_Reader(conn))[0]


def _shared(read: _Reader) -> tuple[dict, dict, dict]:
    """What every SKU's facts share: systems with their runs, locations, unmapped ones."""
    systems = {}
    for name, kind, last_good in read.rows(_SYSTEM_ROWS):
        runs = tuple(RunSummary(*r) for r in read.rows(_RUNS, name, RUNS_PER_SYSTEM))
        systems[name] = SystemRow(name, kind, last_good, runs)
    locations = dict(read.rows(_LOCATIONS))
    unmapped = {f"{system}:{external}": name for system, external, name in read.rows(_UNMAPPED)}
    return systems, locations, unmapped


def _facts(sku: str, item, current_rows, history_rows, event_rows, shared,
           message_rows=(), order_rows=()) -> SkuFacts:
    systems, locations, unmapped = shared
    current, stored = [], {}
    for row in current_rows:
        system = systems.get(row[0])
        good = system.last_good_read_at if system is not None else None
        current.append(Observation(*row[:8], max(row[8], good or 0, row[9] or 0)))
        stored[(row[0], row[1])] = row[8]
    name, pack = item if item else (None, None)
    return SkuFacts(sku, name, pack, item is not None or bool(current), tuple(current),
                    stored, tuple(Observation(*row) for row in history_rows),
                    tuple(StoredEvent(*row) for row in event_rows), systems, locations,
                    unmapped, tuple(OpenMessage(*row) for row in message_rows),
                    tuple(OrderLine(*row) for row in order_rows))


def confirmed_between(engine: Engine, since: int, before: int) -> int | None:
    """The start of the newest complete run in [since, before): the last time an
    unchanged state was read again."""
    with engine.connect() as conn, conn.begin():
        return _Reader(conn).rows(_CONFIRMED, since, before)[0][0]


_ANY_CASE = "SELECT sku FROM item WHERE lower(sku) = lower(?) LIMIT 2"
_NEAR = "SELECT sku FROM item WHERE sku >= ? ORDER BY sku LIMIT 400"


def sku_any_case(engine: Engine, sku: str) -> str | None:
    """The one SKU spelled like this in another case ("tee-blk-m"), if exactly one."""
    with engine.connect() as conn, conn.begin():
        found = _Reader(conn).rows(_ANY_CASE, sku)
    return found[0][0] if len(found) == 1 else None


def skus_near(engine: Engine, low: str) -> list[str]:
    """SKUs from `low` on in key order: candidates for "did you mean"."""
    with engine.connect() as conn, conn.begin():
        return [row[0] for row in _Reader(conn).rows(_NEAR, low)]
