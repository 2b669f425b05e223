"""NetSuite SuiteQL over REST (ERP role).

POST {base_url}/services/rest/query/v1/suiteql?limit=&offset= with `Prefer: transient`
and a Bearer token. Answers are {links, count, hasMore, items, offset, totalResults};
every value is a string and NULL columns are left out. One query returns at most
100,000 rows, so reads are partitioned: page by offset within a partition, then start a
new query after the last (item, location) key. Pages that hasMore (then totalResults)
says exist are asked for while the current one is read: up to two ahead, within the
client's concurrency budget. Times are projected with TO_CHAR so the user's date-format
preference cannot change them; NetSuite renders them in the account's time zone
(`timezone` in the system's config). No Retry-After on 429: back off with jitter.

Orders: purchase and sales order lines (transaction + transactionline + item; item lines
only: mainline = 'F', taxline = 'F', item IS NOT NULL), ordered quantity as ABS(quantity)
because sales order lines are stored negative, status as the letter REST SuiteQL returns
(labelled here from NetSuite's list: BUILTIN.DF's wording is not settled). NetSuite keeps
no PO version, so it is derived from the amendment history in `systemnote`, in two steps
as recommended for that table (recordtypeid first, never a JOIN): the documents' ids
from `transaction`, then `systemnote WHERE recordtypeid = -30 AND recordid IN (...)` with
type 4 (changed after creation) and a TRANLINE field. Version = 1 + the number of saves
that changed an ordered quantity (rows of one save share a timestamp), amended_at = the
newest one. The line-quantity field code is not documented ("TRANLINE.RQTY" by the
pattern of the codes seen; `quantity_field` overrides it), and `systemnote.lineid` is
contested, so amendments are counted per document and apply to each of its lines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from app.records import CountRow, EventRow, LocationRow, OrderLineRow, Page
from app.sources.base import Fields, Window, iso_epoch, quick_or_careful
from app.sources.errors import PayloadError
from app.sources.http import HttpSettings, VendorClient, short

ENDPOINT = "/services/rest/query/v1/suiteql"
PAGE_LIMIT = 1000  # SuiteQL's maximum page
QUERY_CAP = 100_000  # SuiteQL's maximum rows per query
PAGES_AHEAD = 2  # of a big read, asked for before they are needed
TIME_MASK = "'YYYY-MM-DD HH24:MI:SS'"
EVENT_TYPES = {"InvAdjst": "adjustment", "ItemRcpt": "receipt", "ItemShip": "shipment",
               "InvTrnfr": "transfer", "InvCount": "cycle_count"}

LOCATIONS = "SELECT id, name FROM location WHERE isinactive = 'F' ORDER BY id"

STOCK = f"""SELECT ail.item AS item_id, i.itemid AS sku, i.displayname AS display_name,
 ail.location AS location_id, ail.quantityonhand AS on_hand,
 ail.quantityavailable AS available, ail.quantitycommitted AS committed,
 ail.quantityintransit AS in_transit,
 TO_CHAR(ail.lastquantityavailablechange, {TIME_MASK}) AS changed_at
FROM aggregateItemLocation ail JOIN item i ON i.id = ail.item
WHERE (ail.item > {{item}} OR (ail.item = {{item}} AND ail.location > {{location}})){{extra}}
ORDER BY ail.item, ail.location"""

EVENTS = f"""SELECT t.id AS txn_id, t.tranid AS tranid, t.type AS type,
 t.externalid AS externalid, t.memo AS txn_memo,
 TO_CHAR(t.createddate, {TIME_MASK}) AS created_at, tl.id AS line_id, i.itemid AS sku,
 tl.location AS location_id, tl.quantity AS quantity, tl.memo AS line_memo
FROM transaction t JOIN transactionline tl ON tl.transaction = t.id
 JOIN item i ON i.id = tl.item
WHERE t.type IN ({", ".join(f"'{t}'" for t in EVENT_TYPES)}) AND tl.mainline = 'F'
 AND (t.id > {{item}} OR (t.id = {{item}} AND tl.id > {{location}})){{extra}}
ORDER BY t.id, tl.id"""

ORDER_TYPES = {"PurchOrd": "purchase", "SalesOrd": "sales"}
ORDERS = f"""SELECT t.id AS txn_id, t.tranid AS tranid, t.type AS type, t.status AS status,
 TO_CHAR(t.lastmodifieddate, {TIME_MASK}) AS modified_at, tl.id AS line_id,
 tl.linesequencenumber AS line_seq, i.itemid AS sku, tl.location AS location_id,
 ABS(tl.quantity) AS quantity, tl.quantityshiprecv AS done, tl.isclosed AS isclosed
FROM transaction t JOIN transactionline tl ON tl.transaction = t.id
 JOIN item i ON i.id = tl.item
WHERE t.type IN ('PurchOrd', 'SalesOrd') AND tl.mainline = 'F' AND tl.taxline = 'F'
 AND tl.item IS NOT NULL
 AND (t.id > {{item}} OR (t.id = {{item}} AND tl.id > {{location}})){{extra}}
ORDER BY t.id, tl.id"""
AMENDMENTS = f"""SELECT sn.id AS id, sn.recordid AS recordid, sn.type AS type, sn.field AS field,
 TO_CHAR(sn.date, {TIME_MASK}) AS changed_at
FROM systemnote sn
WHERE sn.recordtypeid = -30 AND sn.recordid IN ({{ids}}) AND sn.type = 4
 AND sn.field LIKE 'TRANLINE.%'
ORDER BY sn.recordid, sn.date, sn.id"""
QUANTITY_FIELD = "TRANLINE.RQTY"
NOTE_BATCH = 90  # ids per systemnote query (about 2 s each on a real account)
STATUS = {  # the letter REST SuiteQL returns → NetSuite's label
    "PurchOrd": {"A": "Pending Supervisor Approval", "B": "Pending Receipt",
                 "C": "Rejected by Supervisor", "D": "Partially Received",
                 "E": "Pending Billing/Partially Received", "F": "Pending Bill",
                 "G": "Fully Billed", "H": "Closed"},
    "SalesOrd": {"A": "Pending Approval", "B": "Pending Fulfillment", "C": "Cancelled",
                 "D": "Partially Fulfilled", "E": "Pending Billing/Partially Fulfilled",
                 "F": "Pending Billing", "G": "Billed", "H": "Closed"},
}


class NetSuiteClient(VendorClient):
    def error_text(self, response: httpx.Response) -> str:
        try:
            body = response.json()
            detail = body["o:errorDetails"][0]
            return short(f"{detail.get('o:errorCode', '')}: {detail.get('detail', '')}")
        except (ValueError, KeyError, IndexError, TypeError):
            return short(response.text)

    def retry_auth(self, response: httpx.Response, attempt: int) -> bool:
        # NetSuite sometimes answers 401 INVALID_LOGIN when the account's concurrency
        # limit is hit; one more try tells a busy account from a revoked token.
        return attempt == 0


class NetSuiteConnector:
    kind = "netsuite"

    def __init__(self, system: str, base_url: str, token: str, settings: HttpSettings,
                 page_size: int | None = None, timezone: str = "UTC",
                 transport: httpx.AsyncBaseTransport | None = None, sleep=asyncio.sleep,
                 quantity_field: str = QUANTITY_FIELD) -> None:
        self.system = system
        self.quantity_field = quantity_field
        self.limit = min(page_size or PAGE_LIMIT, PAGE_LIMIT)
        self.zone = ZoneInfo(timezone)
        self.utc = timezone in ("UTC", "Etc/UTC")
        self.client = NetSuiteClient(
            system, base_url,
            {"Authorization": f"Bearer {token}", "Prefer": "transient"},
            settings, secrets=[token], transport=transport, sleep=sleep)
        self.stats = self.client.stats
        self._count = quick_or_careful(self._quick_count, self._careful_count)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _page(self, sql: str, offset: int) -> tuple[list, bool]:
        items, more, _ = await self._counted_page(sql, offset)
        return items, more

    async def _counted_page(self, sql: str, offset: int) -> tuple[list, bool, int | None]:
        """A page, whether more follow, and totalResults (None if it is not a count)."""
        body = await self.client.post_json(
            ENDPOINT, {"q": sql}, params={"limit": self.limit, "offset": offset})
        items = Fields(self.system, "suiteql", body).list("items")
        if not all(type(item) is dict for item in items):
            raise PayloadError(f"{self.system}: suiteql.items should hold objects")
        if not isinstance(body.get("hasMore"), bool):
            raise PayloadError(f"{self.system}: suiteql.hasMore should be true or false")
        total = body.get("totalResults")
        return items, body["hasMore"], total if type(total) is int else None

    async def _partitioned(self, template: str, extra: str, key: Callable[[dict], tuple]
                           ) -> AsyncIterator[list[dict]]:
        """Every row of a keyset-ordered query, however many, as pages of row objects.

        A partition that fills the 100,000-row cap may say hasMore: false even though
        rows remain, so a full partition always starts another after its last key.
        """
        last = (0, 0)
        # Pages asked for ahead of the one being read, within the concurrency budget:
        # NetSuite answers them while this one is parsed and stored.
        depth = min(PAGES_AHEAD, self.client.settings.max_concurrency - 1)
        while True:
            sql = template.format(item=last[0], location=last[1], extra=extra)
            offset, read, more, end = 0, 0, True, None
            ahead: dict[int, asyncio.Task] = {}
            try:
                while more and offset + self.limit <= QUERY_CAP:
                    task = ahead.pop(offset, None)
                    rows, more, total = await (task or self._counted_page(sql, offset))
                    if end is None and total is not None:  # rows the partition holds
                        end = min(total, QUERY_CAP)
                    for n in range(1, depth + 1):
                        at = offset + n * self.limit
                        # The next page exists if hasMore says so; later ones if the count
                        # says so (a page asked for in vain comes back empty).
                        if at + self.limit > QUERY_CAP or not more or \
                                (n > 1 and (end is None or at >= end)):
                            break
                        if at not in ahead:
                            ahead[at] = _background(self._counted_page(sql, at))
                    if rows:
                        yield rows
                        try:
                            last = key(rows[-1])
                        except (KeyError, TypeError, ValueError):
                            raise PayloadError(f"{self.system}: a row without its key "
                                               f"columns: {short(repr(rows[-1]))}") from None
                    read += len(rows)
                    offset += self.limit
                    if not rows:
                        return
            finally:
                for task in ahead.values():  # the read stopped early: nobody wants them
                    task.cancel()
            if read < QUERY_CAP - self.limit and not more:
                return

    def _time(self, text: str) -> int:
        # TO_CHAR(..., 'YYYY-MM-DD HH24:MI:SS') in the account's zone
        if len(text) != 19:
            raise ValueError(text)
        if self.utc:  # the common case, without a zone lookup per row
            return iso_epoch(text)
        return int(datetime.fromisoformat(text).replace(tzinfo=self.zone).timestamp())

    def _since(self, epoch: int | None, column: str) -> str:
        if epoch is None:
            return ""
        local = datetime.fromtimestamp(epoch, self.zone).strftime("%Y-%m-%d %H:%M:%S")
        return f" AND {column} > TO_TIMESTAMP('{local}', {TIME_MASK})"

    def _quick_count(self, raw: dict) -> CountRow:
        sku, location, changed = raw["sku"], raw["location_id"], raw.get("changed_at")
        if not (type(sku) is str and sku and type(location) is str and location):
            raise TypeError
        get = raw.get
        return CountRow(sku, location, int(get("on_hand", "0")), int(get("available", "0")),
                        int(get("committed", "0")), int(get("in_transit", "0")),
                        None if changed is None else self._time(changed),
                        get("display_name"))

    def _counts(self, rows: list[dict]) -> list[CountRow]:
        """A page of stock rows: the quick way for the whole page, else row by row."""
        quick = self._quick_count
        try:
            return [quick(raw) for raw in rows]
        except (KeyError, TypeError, ValueError, AttributeError):
            return [self._count(raw) for raw in rows]

    def _careful_count(self, raw: dict) -> CountRow:
        # A NULL quantity is left out of the answer; in aggregateItemLocation it means 0.
        row = Fields(self.system, "item", raw)
        return CountRow(
            sku=row.text("sku"), location_id=row.text("location_id"),
            on_hand=row.int("on_hand", default=0), available=row.int("available", default=0),
            allocated=row.int("committed", default=0),
            in_transit=row.int("in_transit", default=0),
            updated_at=row.time("changed_at", self._time),
            name=row.text("display_name", optional=True))

    def _event(self, raw: dict) -> EventRow:
        row = Fields(self.system, "item", raw)
        txn_type = row.text("type")
        if txn_type not in EVENT_TYPES:
            raise PayloadError(f"{self.system}: transaction type {txn_type!r} was not asked for")
        reference = row.text("externalid", optional=True) or row.text("tranid")
        return EventRow(
            source_id=f"{row.text('txn_id')}:{row.text('line_id')}", event_id=reference,
            kind=EVENT_TYPES[txn_type], sku=row.text("sku"),
            location_id=row.text("location_id"), delta=row.int("quantity"),
            at=row.time("created_at", self._time, optional=False),
            reason=row.text("line_memo", optional=True) or row.text("txn_memo", optional=True))

    async def _locations(self) -> list[LocationRow]:
        rows, offset, more = [], 0, True  # a few locations: one partition is plenty
        while more:
            items, more = await self._page(LOCATIONS, offset)
            for raw in items:
                loc = Fields(self.system, "location", raw)
                rows.append(LocationRow(loc.text("id"), loc.text("name", optional=True)))
            offset += self.limit
        return rows

    async def read(self, window: Window) -> AsyncIterator[Page]:
        yield Page(locations=await self._locations())
        key = lambda r: (int(r["item_id"]), int(r["location_id"]))  # noqa: E731
        extra = self._since(window.counts_since, "ail.lastquantityavailablechange")
        async for rows in self._partitioned(STOCK, extra, key):
            yield Page(counts=self._counts(rows))
        key = lambda r: (int(r["txn_id"]), int(r["line_id"]))  # noqa: E731
        extra = self._since(window.events_since, "t.createddate")
        async for rows in self._partitioned(EVENTS, extra, key):
            yield Page(events=[self._event(r) for r in rows])
        extra = self._since(window.orders_since, "t.lastmodifieddate")
        async for rows in self._partitioned(ORDERS, extra, key):
            yield Page(orders=await self._order_lines(rows))

    async def _order_lines(self, rows: list[dict]) -> list[OrderLineRow]:
        """One page of order lines, each with its document's version from systemnote."""
        ids: list[int] = []
        for raw in rows:
            txn = Fields(self.system, "order line", raw).int("txn_id")
            if txn not in ids:
                ids.append(txn)
        history: dict[int, tuple[int, int | None]] = {}
        for start in range(0, len(ids), NOTE_BATCH):
            history.update(await self._amendments(ids[start:start + NOTE_BATCH]))
        return [self._order_line(raw, history) for raw in rows]

    async def _amendments(self, ids: list[int]) -> dict[int, tuple[int, int | None]]:
        """Document id → (version, newest quantity amendment), from systemnote rows
        (aggregated here: GROUP BY on systemnote answers UNEXPECTED_ERROR)."""
        sql = AMENDMENTS.format(ids=", ".join(str(i) for i in ids))
        saves: dict[int, set[int]] = {i: set() for i in ids}
        offset, more = 0, True
        while more:
            items, more = await self._page(sql, offset)
            for raw in items:
                note = Fields(self.system, "systemnote", raw)
                if note.text("field") != self.quantity_field or note.int("type") != 4:
                    continue  # a price, receipt or pick change: not a new version
                record = note.int("recordid")
                if record in saves:
                    saves[record].add(note.time("changed_at", self._time, optional=False))
            offset += self.limit
        return {i: (1 + len(times), max(times, default=None)) for i, times in saves.items()}

    def _order_line(self, raw: dict, history: dict[int, tuple[int, int | None]]
                    ) -> OrderLineRow:
        row = Fields(self.system, "order line", raw)
        txn_type = row.text("type")
        if txn_type not in ORDER_TYPES:
            raise PayloadError(f"{self.system}: transaction type {txn_type!r} was not asked for")
        letter = row.text("status", optional=True)
        status = "Closed" if raw.get("isclosed") == "T" else \
            STATUS[txn_type].get(letter or "", letter)
        version, amended = history.get(row.int("txn_id"), (1, None))
        return OrderLineRow(
            number=row.text("tranid"), line=row.text("line_seq", optional=True)
            or row.text("line_id"), sku=row.text("sku"), kind=ORDER_TYPES[txn_type],
            location_id=row.text("location_id", optional=True),
            quantity=_quantity(row, "quantity"), version=version,
            changed_at=row.time("modified_at", self._time), amended_at=amended,
            status=status, shipped=_quantity(row, "done"),
            source_id=f"{row.text('txn_id')}:{row.text('line_id')}")

    async def read_sku(self, sku: str) -> AsyncIterator[Page]:
        quoted = "'" + sku.replace("'", "''") + "'"
        key = lambda r: (int(r["item_id"]), int(r["location_id"]))  # noqa: E731
        async for rows in self._partitioned(STOCK, f" AND i.itemid = {quoted}", key):
            yield Page(counts=self._counts(rows))


def _background(coro) -> asyncio.Task:
    """A task whose failure is seen when it is awaited, or dropped quietly if it never is
    (cancelled because the read stopped)."""
    task = asyncio.ensure_future(coro)
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


def _quantity(row: Fields, key: str) -> int | None:
    """A SuiteQL quantity: a decimal string ("735.04" occurs), absolute (sales order lines
    are negative), rounded to whole units; None when NULL (left out of the answer)."""
    text = row.text(key, optional=True)
    if text is None:
        return None
    try:
        return abs(round(float(text)))
    except (ValueError, OverflowError):
        raise PayloadError(f"{row.system}: {row.what}.{key} should be a number, got "
                           f"{text!r}") from None
