"""Simulated NetSuite SuiteQL over REST (ERP), from Oracle's Help Center.

The data live in an in-memory SQLite database with NetSuite's table and column names
(item, location, aggregateItemLocation, transaction, transactionline, systemnote), and each SuiteQL
query runs there after a few Oracle-isms are translated (TO_CHAR, TO_TIMESTAMP, TO_DATE,
FETCH FIRST n ROWS ONLY). Answers follow the REST envelope: links, count, hasMore,
items (every value a string, NULL columns left out, lower-case keys), offset,
totalResults; errors are RFC 7807 bodies with o:errorDetails. A query returns at most
100,000 rows. Dates not wrapped in TO_CHAR come out in the user's date format (M/D/YYYY).

The scenario's [[order]] rows are purchase orders (a number starting "PO") or sales
orders: a header line, item lines at the order's location (sales order quantities
negative, as NetSuite stores them; a tax line too), and the System Notes NetSuite keeps:
a creation burst (type 2, no old value), the status set on approval (type 4,
TRANDOC.KSTATUS) and one type-4 TRANLINE.RQTY row per amendment of a line's quantity,
each as of the simulator's clock (app.simulator.orders). As reported of real accounts,
a systemnote query without `recordtypeid` in its predicate (which times out there) or
with an aggregate (GROUP BY, COUNT) answers 500 UNEXPECTED_ERROR.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections import OrderedDict

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.simulator import suiteql
from app.simulator.suiteql import (
    Result,
    date_value,
    to_char,
    to_timestamp,
    translate,
)
from app.simulator.vendor import VendorSim, json_response
from app.simulator.world import SimLocation, World

MAX_LIMIT = 1000
TYPES = {"adjustment": "InvAdjst", "receipt": "ItemRcpt", "shipment": "ItemShip",
         "transfer": "InvTrnfr", "cycle_count": "InvCount"}
TYPE_URL = "https://www.rfc-editor.org/rfc/rfc9110.html#section-"
SCHEMA = """
CREATE TABLE item (id INTEGER PRIMARY KEY, itemid TEXT, displayname TEXT, itemtype TEXT,
  isinactive TEXT, lastmodifieddate TEXT);
CREATE TABLE location (id INTEGER PRIMARY KEY, name TEXT, isinactive TEXT);
CREATE TABLE aggregateItemLocation (item INTEGER, location INTEGER, quantityonhand INTEGER,
  quantityavailable INTEGER, quantitycommitted INTEGER, quantityonorder INTEGER,
  quantityintransit INTEGER, quantitybackordered INTEGER, lastquantityavailablechange TEXT,
  PRIMARY KEY (item, location)) WITHOUT ROWID;
CREATE INDEX ail_changed ON aggregateItemLocation (lastquantityavailablechange);
CREATE TABLE "transaction" (id INTEGER PRIMARY KEY, tranid TEXT, type TEXT, trandate TEXT,
  createddate TEXT, lastmodifieddate TEXT, externalid TEXT, memo TEXT, status TEXT,
  entity INTEGER);
CREATE TABLE transactionline ("transaction" INTEGER, id INTEGER, item INTEGER,
  location INTEGER, quantity INTEGER, memo TEXT, mainline TEXT, taxline TEXT DEFAULT 'F',
  linesequencenumber INTEGER, quantityshiprecv INTEGER, isclosed TEXT DEFAULT 'F',
  PRIMARY KEY ("transaction", id));
CREATE TABLE systemnote (id INTEGER PRIMARY KEY, recordtypeid INTEGER, recordid INTEGER,
  field TEXT, oldvalue TEXT, newvalue TEXT, date TEXT, name INTEGER, role INTEGER,
  context TEXT, type INTEGER);
CREATE INDEX systemnote_record ON systemnote (recordtypeid, recordid);
"""
ORDER_STATUS = {"PurchOrd": ("Pending Supervisor Approval", "Pending Receipt"),
                "SalesOrd": ("Pending Approval", "Pending Fulfillment")}


_TXN = ('INSERT INTO "transaction" (id, tranid, type, trandate, createddate, lastmodifieddate,'
        " externalid, memo, status) VALUES (?,?,?,?,?,?,?,?,?)")
_LINE = ('INSERT INTO transactionline ("transaction", id, item, location, quantity, memo,'
         " mainline, taxline, linesequencenumber, quantityshiprecv)"
         " VALUES (?,?,?,?,?,?,?,?,?,?)")


class _Notes:
    """System Notes rows of one transaction (recordtypeid -30: every transaction type)."""

    def __init__(self, record: int, rows: list[tuple]) -> None:
        self.record, self.rows = record, rows

    def add(self, field: str, old: str | None, new: str, at: int, kind: int,
            context: str = "UIF") -> None:
        author = -4 if kind == 2 else 311  # -4: the system itself
        self.rows.append((88_000_000 + len(self.rows), -30, self.record, field, old, new,
                          date_value(at), author, 3, context, kind))


def location_internal_id(loc: SimLocation) -> int:
    return loc.index + 1


def item_internal_id(index: int) -> int:
    return 1000 + index


class NetSuiteSim(VendorSim):
    role = "erp"

    def __init__(self, world: World, token: str) -> None:
        super().__init__(world, token)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._built_version = -1
        self._results: OrderedDict[str, Result] = OrderedDict()
        world.listeners.append(self._apply_changes)
        self._database()  # ready before the first request, as the real one is

    def routes(self) -> list[Route]:
        return [Route("/services/rest/query/v1/suiteql", self.suiteql, methods=["POST"])]

    # -- vendor answers ------------------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    @staticmethod
    def _problem(status: int, title: str, section: str, code: str, detail: str,
                 **extra) -> Response:
        body = {"type": TYPE_URL + section, "title": title, "status": status,
                "o:errorDetails": [{"detail": detail, "o:errorCode": code, **extra}]}
        return json_response(body, status)

    def unauthorized(self) -> Response:
        response = self._problem(
            401, "Unauthorized", "15.5.2", "INVALID_LOGIN",
            "Invalid login attempt. For more details, see the Login Audit Trail in the "
            "NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.")
        response.headers["WWW-Authenticate"] = (
            'Bearer realm="1234567", error="invalid_token", '
            'error_description="Invalid login attempt."')
        return response

    def throttle(self) -> Response:
        return json_response({
            "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
            "title": "Bad Request", "status": 429, "o:errorCode": "USER_ERROR",
            "o:errorDetails": [{"detail": "Concurrent request limit exceeded. Request blocked.",
                                "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}]}, 429)

    def error(self) -> Response:
        return self._problem(500, "Internal Server Error", "15.6.1", "UNEXPECTED_ERROR",
                             "An unexpected error occurred. Error ID: sim0000error")

    def _bad(self, detail: str, param: str = "q") -> Response:
        return self._problem(400, "Bad Request", "15.5.1", "INVALID_PARAMETER", detail,
                             **{"o:errorQueryParam": param})

    # -- SuiteQL ---------------------------------------------------------------------------
    async def suiteql(self, request: Request) -> Response:
        async def answer() -> Response:
            try:
                limit = int(request.query_params.get("limit", MAX_LIMIT))
                offset = int(request.query_params.get("offset", 0))
            except ValueError:
                return self._bad("limit and offset must be whole numbers", "limit")
            if not 1 <= limit <= MAX_LIMIT:
                return self._bad(f"Invalid limit {limit}: the limit must be between 1 and "
                                 f"{MAX_LIMIT}.", "limit")
            if offset < 0 or offset + limit > suiteql.QUERY_CAP:
                return self._bad(f"Invalid offset {offset}: a query returns at most "
                                 f"{suiteql.QUERY_CAP} results.", "offset")
            try:
                body = json.loads(await request.body())
                query = body["q"]
                assert isinstance(query, str)
            except (ValueError, KeyError, TypeError, AssertionError):
                return self._bad("The request body must be JSON with the query in \"q\".")
            if re.search(r"\bsystemnote\b", query, re.I) and (
                    re.search(r"\bgroup\s+by\b|\bcount\s*\(", query, re.I)
                    or not re.search(r"\brecordtypeid\b", query, re.I)):
                return self.error()
            # On the event loop, not in a worker thread: a page steps SQLite once per row,
            # and from a worker every step gives the GIL back and waits for it behind the
            # loop rendering the other vendors' pages (20 pages: 0.2 s alone, 5 s beside a
            # busy thread). The longest single step, counting a 100,000-row partition,
            # takes some 35 ms.
            return self._run(query, limit, offset, str(
                request.url.remove_query_params(["limit", "offset"])))

        return await self.guarded(request, answer)

    def _run(self, query: str, limit: int, offset: int, url: str) -> Response:
        sql = translate(query)
        with self._lock:
            db = self._database()
            try:
                result = self._result(db, sql)
                items = result.rows_until(offset + limit)[offset:offset + limit]
                total = result.total(db)
            except (sqlite3.Error, ValueError) as exc:
                return self._bad("Invalid search query. Detailed unprocessed description "
                                 f"follows. Search error occurred: {exc}")
        more = offset + len(items) < min(total, suiteql.QUERY_CAP)  # nothing past the cap

        def link(rel: str, at: int) -> dict:
            return {"rel": rel, "href": f"{url}?limit={limit}&offset={at}"}

        links = [link("next", offset + limit)] if more else []
        links += [link("last", max(0, (total - 1) // limit * limit)), link("self", offset)]
        return json_response({"links": links, "count": len(items), "hasMore": more,
                              "items": orjson.Fragment("[" + ",".join(items) + "]"),
                              "offset": offset, "totalResults": total})

    def _result(self, db: sqlite3.Connection, sql: str) -> Result:
        """A query's result, kept for its later pages (SQLite's OFFSET would evaluate
        every skipped row again); the four most recent queries are kept."""
        if sql in self._results:
            self._results.move_to_end(sql)
            return self._results[sql]
        result = self._results[sql] = Result(db, sql)
        if len(self._results) > 4:
            self._results.popitem(last=False)[1].close()
        return result

    def _forget_results(self) -> None:
        for result in self._results.values():
            result.close()
        self._results.clear()

    # -- the database ----------------------------------------------------------------------
    def _database(self) -> sqlite3.Connection:
        """Built from the world on first use and whenever it travels in time."""
        if self._db is None or self._built_version != self.world.version:
            self._build()
        return self._db

    def _build(self) -> None:
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.create_function("to_char", 2, to_char, deterministic=True)
        db.create_function("to_timestamp", 2, to_timestamp, deterministic=True)
        db.create_function("to_date", 2, to_timestamp, deterministic=True)
        db.executescript(SCHEMA)
        world = self.world
        db.executemany("INSERT INTO item VALUES (?, ?, ?, 'InvtPart', 'F', ?)", [
            (item_internal_id(it.index), it.sku, it.name, date_value(world.base_now - 86400 * 90))
            for it in world.items])
        db.executemany("INSERT INTO location VALUES (?, ?, 'F')", [
            (location_internal_id(loc), loc.name) for loc in world.locations_of(self.role)])
        db.executemany("INSERT INTO aggregateItemLocation VALUES (?,?,?,?,?,0,?,0,?)",
                       self._stock_rows(world.view(self.role)))
        self._insert_events(db)
        self._insert_orders(db)
        db.commit()
        self._forget_results()  # cursors of the database being replaced
        self._db, self._built_version = db, world.version

    def _stock_rows(self, view: dict, keys=None) -> list[tuple]:
        rows = []
        for location, sku in (keys if keys is not None else view):
            count = view.get((location, sku))
            loc = self.world.location_index[location]
            if count is None or self.role not in loc.systems:
                continue
            on_hand, available, committed, in_transit, updated = count
            rows.append((item_internal_id(self.world.item_index[sku].index),
                         location_internal_id(loc), on_hand, available, committed, in_transit,
                         date_value(updated)))
        return rows

    def _insert_events(self, db: sqlite3.Connection) -> None:
        for number, event in enumerate(self.world.events_of(self.role)):
            txn = 48_000 + number
            loc = self.world.location_index[event.location]
            at = date_value(event.at)
            db.execute(_TXN, (txn, f"{TYPES[event.kind][:3].upper()}{txn}", TYPES[event.kind],
                              at, at, at, event.id, None, None))
            db.execute(_LINE, (txn, 0, None, location_internal_id(loc), None, None, "T", "F",
                               0, None))
            db.execute(_LINE, (txn, 1, item_internal_id(self.world.item_index[event.sku].index),
                               location_internal_id(loc), event.delta, event.reason, "F", "F",
                               1, None))

    def _insert_orders(self, db: sqlite3.Connection) -> None:
        now, notes = self.world.now(), []
        for number, lines in self.world.order_documents().items():
            held = [(line, step) for line in lines if (step := line.erp_as_of(now))]
            if not held:
                continue
            txn = 60_000 + lines[0].index
            kind = "PurchOrd" if number.upper().startswith("PO") else "SalesOrd"
            sign = 1 if kind == "PurchOrd" else -1  # sales order lines are stored negative
            created = lines[0].created
            approved = created + 60
            modified = max(approved, *(step.at for _, step in held))
            db.execute(_TXN, (txn, number, kind, date_value(created), date_value(created),
                              date_value(modified), None, None, "B"))
            db.execute(_LINE, (txn, 0, None, self._location(lines[0].location), None, None,
                               "T", "F", 0, None))
            note = _Notes(txn, notes)
            note.add("TRANDOC.KSTATUS", None, ORDER_STATUS[kind][0], created, 2, context="UIF")
            note.add("TRANDOC.KSTATUS", *ORDER_STATUS[kind], approved, 4, context="UIF")
            for line, step in held:
                db.execute(_LINE, (txn, line.line,
                                   item_internal_id(self.world.item_index[line.sku].index),
                                   self._location(line.location), sign * step.quantity, None,
                                   "F", "F", line.line, 0))
                for field, value in (("TRANLINE.RQTY", line.erp[0].quantity),
                                     ("TRANLINE.RQTYSHIPRECV", 0), ("TRANLINE.RQTYPICKED", 0),
                                     ("TRANLINE.RQTYPACKED", 0)):
                    note.add(field, None, str(value), created, 2)
                for before, after in zip(line.erp, line.erp[1:], strict=False):
                    if after.at <= now:
                        note.add("TRANLINE.RQTY", str(before.quantity), str(after.quantity),
                                 after.at, 4, context="UIF")
            if kind == "SalesOrd":  # tax lines carry no item here; readers must skip them
                db.execute(_LINE, (txn, len(lines) + 1, None, self._location(lines[0].location),
                                   None, None, "F", "T", len(lines) + 1, None))
        db.executemany("INSERT INTO systemnote VALUES (?,?,?,?,?,?,?,?,?,?,?)", notes)

    def _location(self, code: str) -> int | None:
        loc = self.world.location_index[code]
        return location_internal_id(loc) if self.role in loc.systems else None

    def _apply_changes(self, system: str, keys: list) -> None:
        """Mutations land in the database at once, so the next read sees them."""
        if system != self.role or self._db is None:
            return
        with self._lock:
            self._forget_results()  # no cursor reads on across the change
            self._db.executemany(
                "INSERT OR REPLACE INTO aggregateItemLocation VALUES (?,?,?,?,?,0,?,0,?)",
                self._stock_rows(self.world.counts[self.role], keys))
            self._db.commit()
            self._built_version = self.world.version + 1  # mutate() bumps after listeners
