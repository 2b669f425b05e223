"""ShipHero public GraphQL API (WMS role).

POST {base_url}/graphql with a Bearer token. Warehouses come from `account`, stock from
`warehouse_products` per warehouse (cursor paging on its `data` connection, `updated_from`
for incremental reads), events from `inventory_changes`. ShipHero throttles by credits:
an HTTP 200 whose error has `code: 30` and a `time_remaining` such as "4 seconds".

Orders come from `orders(updated_from:)` with their allocations and line items (a
connection inside each order, so a page of orders costs 1 + orders × (1 + lines) credits:
pages stay small, and an order with more lines pages them through `order(id:)`). ShipHero
has no "released for picking" time: the allocation's `allocated_at` stands for it. The pick
state is derived: shipped (fulfillment_status "fulfilled", or everything shipped), picked
(tote_picks' picked_quantity covers the line), picking (some picked), released
(allocated), else ShipHero's own status word; anything "cancel…" is cancelled.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx

from app.records import CountRow, EventRow, LocationRow, OrderLineRow, Page
from app.sources.base import Fields, Window, iso_epoch, merge
from app.sources.errors import PayloadError
from app.sources.http import (
    HttpSettings,
    Throttle,
    Transient,
    VendorClient,
    error_body,
    short,
)

NOT_ENOUGH_CREDITS = 30
RESTORE_PER_SECOND = 60  # ShipHero's documented credit refill rate

WAREHOUSES = """query { account { request_id complexity data {
  warehouses { id legacy_id identifier } } } }"""

PRODUCTS = """query($warehouse: String, $sku: String, $since: ISODateTime, $first: Int,
  $after: String) {
  warehouse_products(warehouse_id: $warehouse, sku: $sku, updated_from: $since) {
    request_id complexity
    data(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { sku on_hand allocated available backorder updated_at
                     product { name } } } } } }"""

CHANGES = """query($warehouse: String, $since: ISODateTime, $first: Int, $after: String) {
  inventory_changes(warehouse_id: $warehouse, date_from: $since) {
    request_id complexity
    data(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { id sku warehouse_id change_in_on_hand reason cycle_counted
                     created_at } } } } }"""

MAX_COST = 4004  # no single query may cost more credits
ORDER_PAGE = 25
ORDER_LINES = 20  # line items per order in the orders query; more are paged per order
LINE_FIELDS = """id sku quantity quantity_allocated quantity_shipped fulfillment_status
  updated_at tote_picks { tote_id picked_quantity quantity created_at }"""

ORDERS = """query($since: ISODateTime, $first: Int, $after: String, $lines: Int) {
  orders(updated_from: $since) {
    request_id complexity
    data(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { id order_number fulfillment_status updated_at
        allocations { warehouse_id allocated_at line_items { line_item_id sku
                                                             quantity_allocated } }
        line_items(first: $lines) { pageInfo { hasNextPage endCursor }
          edges { node { """ + LINE_FIELDS + """ } } } } } } } }"""

ORDER_LINES_QUERY = """query($id: String!, $first: Int, $after: String) {
  order(id: $id) { request_id complexity data { id
    line_items(first: $first, after: $after) { pageInfo { hasNextPage endCursor }
      edges { node { """ + LINE_FIELDS + """ } } } } } }"""


class ShipHeroClient(VendorClient):
    def check(self, response: httpx.Response) -> None:
        body = self.json(response)
        for error in (body.get("errors") or []) if isinstance(body, dict) else []:
            if isinstance(error, dict) and error.get("code") == NOT_ENOUGH_CREDITS:
                raise Throttle(_credit_wait(error), "not enough credits")
            if isinstance(error, dict) and "internal" in str(error.get("message", "")).lower():
                raise Transient(f"ShipHero error: {short(error.get('message', ''))}")

    def error_text(self, response: httpx.Response) -> str:
        found = error_body(response)
        if found is not None:
            body, first = found
            if first is not None:
                return short(str(first.get("message", "")))
            if "message" in body:
                return short(str(body["message"]))
        return short(response.text)


def _credit_wait(error: dict) -> float:
    """Seconds until enough credits: ShipHero's time_remaining, else from the deficit."""
    remaining = str(error.get("time_remaining") or "")
    number = remaining.split(" ")[0]
    if number.replace(".", "", 1).isdigit():
        unit = remaining.split(" ")[1] if " " in remaining else "seconds"
        return float(number) * (60 if unit.startswith("minute") else 1)
    try:
        deficit = float(error["required_credits"]) - float(error["remaining_credits"])
        return max(1.0, math.ceil(deficit / RESTORE_PER_SECOND))
    except (KeyError, TypeError, ValueError):
        return 5.0


class ShipHeroConnector:
    kind = "shiphero"

    def __init__(self, system: str, base_url: str, token: str, settings: HttpSettings,
                 page_size: int | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 sleep=asyncio.sleep) -> None:
        self.system = system
        # Big pages cost no more credits per row and save round trips (and per-page cache
        # transactions); 1,000 rows cost 1,001 credits, a quarter of the 4,004-credit cap
        # of one query.
        self.page_size = page_size or 1000
        self.client = ShipHeroClient(
            system, base_url, {"Authorization": f"Bearer {token}"}, settings,
            secrets=[token], transport=transport, sleep=sleep)
        self.stats = self.client.stats
        self._warehouses: dict[str, tuple[str, str | None]] = {}  # id → (legacy id, name)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _query(self, query: str, variables: dict, field: str) -> Fields:
        body = await self.client.post_json("/graphql", {"query": query, "variables": variables})
        if not isinstance(body, dict):
            raise PayloadError(f"{self.system}: answer is not a GraphQL response")
        errors = body.get("errors")
        if errors:
            message = errors[0].get("message") if isinstance(errors[0], dict) else errors[0]
            raise PayloadError(self.client.redact(f"{self.system}: {field}: {short(message)}"))
        return Fields(self.system, field, (body.get("data") or {}).get(field))

    async def _load_warehouses(self) -> list[LocationRow]:
        account = await self._query(WAREHOUSES, {}, "account")
        rows = []
        for raw in account.obj("data").list("warehouses"):
            wh = Fields(self.system, "warehouse", raw)
            legacy = str(wh.int("legacy_id"))
            name = wh.text("identifier", optional=True)
            self._warehouses[wh.text("id")] = (legacy, name)
            rows.append(LocationRow(legacy, name))
        return rows

    async def _pages(self, query: str, field: str, variables: dict) -> AsyncIterator[list]:
        # Credits are charged for the rows asked for: start at ShipHero's default page and
        # grow while pages come back full (a big read), so small reads stay cheap.
        after, first = None, min(100, self.page_size)
        while True:
            result = await self._query(
                query, {**variables, "first": first, "after": after}, field)
            data = result.obj("data")
            yield data.list("edges")
            info = data.obj("pageInfo")
            if not info.record.get("hasNextPage"):
                return
            after, first = info.text("endCursor"), min(first * 2, self.page_size)

    def _products(self, edges: list, legacy: str) -> list[CountRow]:
        """A page of warehouse products: the quick way for the whole page, else edge by
        edge (a bad edge or node is then named, a recoverable one read carefully)."""
        try:
            return [_quick_edge(edge, legacy) for edge in edges]
        except (KeyError, TypeError, ValueError, AttributeError):
            return [self._careful_edge(edge, legacy) for edge in edges]

    def _careful_edge(self, edge: dict, legacy: str) -> CountRow:
        node = _node(edge)
        try:
            return _quick_edge(edge, legacy)
        except (KeyError, TypeError, ValueError, AttributeError):
            return self._careful_product(node, legacy)

    def _careful_product(self, node: dict, legacy: str) -> CountRow:
        wp = Fields(self.system, "warehouse_product", node)
        product = node.get("product") if isinstance(node.get("product"), dict) else {}
        return CountRow(
            sku=wp.text("sku"), location_id=legacy, on_hand=wp.int("on_hand"),
            available=wp.int("available"), allocated=wp.int("allocated"), in_transit=None,
            updated_at=wp.time("updated_at", iso_epoch), name=product.get("name"))

    def _change(self, node: dict) -> EventRow:
        change = Fields(self.system, "inventory_change", node)
        warehouse = change.text("warehouse_id")
        legacy = self._warehouses.get(warehouse, (warehouse, None))[0]
        reason = change.text("reason", optional=True)
        kind = _kind(reason, bool(node.get("cycle_counted")))
        source_id = change.text("id")
        return EventRow(source_id=source_id, event_id=source_id, kind=kind,
                        sku=change.text("sku"), location_id=legacy,
                        delta=change.int("change_in_on_hand"),
                        at=change.time("created_at", iso_epoch, optional=False), reason=reason)

    async def read(self, window: Window) -> AsyncIterator[Page]:
        yield Page(locations=await self._load_warehouses())
        since = _shiphero_time(window.counts_since)
        events_since = _shiphero_time(window.events_since)
        streams = [self._stock(warehouse, legacy, since)
                   for warehouse, (legacy, _) in self._warehouses.items()]
        streams += [self._changes(warehouse, events_since) for warehouse in self._warehouses]
        streams.append(self._orders(_shiphero_time(window.orders_since)))
        async for page in merge(streams, self.client.settings.max_concurrency):
            yield page

    async def _orders(self, since: str | None) -> AsyncIterator[Page]:
        first = max(1, min(self.page_size, ORDER_PAGE, (MAX_COST - 1) // (1 + ORDER_LINES)))
        after = None
        while True:
            result = await self._query(ORDERS, {"since": since, "first": first, "after": after,
                                                "lines": ORDER_LINES}, "orders")
            data = result.obj("data")
            rows: list[OrderLineRow] = []
            for edge in data.list("edges"):
                rows += await self._order_rows(_node(edge))
            if rows:
                yield Page(orders=rows)
            info = data.obj("pageInfo")
            if not info.record.get("hasNextPage"):
                return
            after = info.text("endCursor")

    async def _order_rows(self, node: dict) -> list[OrderLineRow]:
        order = Fields(self.system, "order", node)
        order_id, number = order.text("id"), order.text("order_number")
        state = (order.text("fulfillment_status", optional=True) or "").lower()
        updated = order.time("updated_at", iso_epoch)
        released: int | None = None
        warehouses: set[str] = set()
        by_line: dict[str, tuple[str | None, int | None]] = {}  # line → (warehouse, at)
        allocations = order.list("allocations") if node.get("allocations") is not None else []
        for i, raw in enumerate(allocations):
            allocation = Fields(self.system, f"order {number} allocations[{i}]", raw)
            at = allocation.time("allocated_at", iso_epoch)
            gid = allocation.text("warehouse_id", optional=True)
            legacy = self._warehouses.get(gid, (gid, None))[0] if gid else None
            if legacy:
                warehouses.add(legacy)
            released = _newest(released, at)
            for j, item in enumerate(raw.get("line_items") or []):
                line_id = Fields(self.system, f"allocations[{i}].line_items[{j}]",
                                 item).text("line_item_id")
                by_line[line_id] = (legacy, _newest(by_line.get(line_id, (None, None))[1], at))
        only = warehouses.pop() if len(warehouses) == 1 else None
        rows = []
        async for line in self._line_items(order_id, order.obj("line_items")):
            item = Fields(self.system, f"order {number} line_item", line)
            line_id, quantity = item.text("id"), item.int("quantity", default=0)
            picked = sum(Fields(self.system, "tote_pick", pick).int("picked_quantity",
                                                                      default=0)
                         for pick in line.get("tote_picks") or [])
            shipped = item.int("quantity_shipped", default=0)
            warehouse, at = by_line.get(line_id, (only, released))
            allocated = at is not None or (item.int("quantity_allocated", default=0) or 0) > 0
            rows.append(OrderLineRow(
                number=number, line=line_id, sku=item.text("sku"), location_id=warehouse,
                quantity=quantity, changed_at=updated, released_at=at, picked=picked,
                shipped=shipped, source_id=order_id,
                status=_pick_state(state, quantity or 0, allocated, picked, shipped or 0)))
        return rows

    async def _line_items(self, order_id: str, connection: Fields) -> AsyncIterator[dict]:
        """An order's line items: the page that came with it, then the rest by order(id)."""
        while True:
            for edge in connection.list("edges"):
                yield _node(edge)
            info = connection.obj("pageInfo")
            if not info.record.get("hasNextPage"):
                return
            variables = {"id": order_id, "first": ORDER_LINES, "after": info.text("endCursor")}
            result = await self._query(ORDER_LINES_QUERY, variables, "order")
            connection = result.obj("data").obj("line_items")

    async def _stock(self, warehouse: str, legacy: str, since: str | None):
        variables = {"warehouse": warehouse, "since": since, "sku": None}
        async for edges in self._pages(PRODUCTS, "warehouse_products", variables):
            yield Page(counts=self._products(edges, legacy))

    async def _changes(self, warehouse: str, since: str | None):
        variables = {"warehouse": warehouse, "since": since}
        async for edges in self._pages(CHANGES, "inventory_changes", variables):
            yield Page(events=[self._change(_node(e)) for e in edges])

    async def read_sku(self, sku: str) -> AsyncIterator[Page]:
        if not self._warehouses:
            yield Page(locations=await self._load_warehouses())
        rows = []
        for warehouse, (legacy, _) in self._warehouses.items():
            variables = {"warehouse": warehouse, "sku": sku, "since": None}
            async for edges in self._pages(PRODUCTS, "warehouse_products", variables):
                rows += self._products(edges, legacy)
        yield Page(counts=[r for r in rows if r.sku == sku])


def _quick_edge(edge: dict, legacy: str) -> CountRow:
    node = edge["node"]
    sku, on_hand, available, allocated = (node["sku"], node["on_hand"], node["available"],
                                          node["allocated"])
    if not (type(sku) is str and sku and type(on_hand) is type(available) is type(allocated)
            is int):
        raise TypeError
    updated, product = node["updated_at"], node.get("product")
    return CountRow(sku, legacy, on_hand, available, allocated, None,
                    None if updated is None else iso_epoch(updated),
                    product.get("name") if type(product) is dict else None)


def _pick_state(status: str, quantity: int, allocated: bool, picked: int,
                shipped: int) -> str:
    if "cancel" in status:
        return "cancelled"
    if status == "fulfilled" or (quantity > 0 and shipped >= quantity):
        return "shipped"
    if quantity > 0 and picked >= quantity:
        return "picked"
    if picked > 0:
        return "picking"
    if allocated:
        return "released"
    return status or "pending"


def _newest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _node(edge: object) -> dict:
    if not isinstance(edge, dict) or not isinstance(edge.get("node"), dict):
        raise PayloadError(f"edge without a node: {short(repr(edge))}")
    return edge["node"]


def _kind(reason: str | None, cycle_counted: bool) -> str:
    """ShipHero's reasons are free text; classify the common ones."""
    text = (reason or "").lower()
    if cycle_counted or "cycle count" in text:
        return "cycle_count"
    if "receiv" in text or "purchase order" in text:
        return "receipt"
    if "ship" in text:
        return "shipment"
    if "transfer" in text:
        return "transfer"
    return "adjustment"


def _shiphero_time(epoch: int | None) -> str | None:
    # ISODateTime is read as UTC; offsets are not documented, so send none.
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")
