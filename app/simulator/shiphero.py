"""Simulated ShipHero public GraphQL API (WMS), from developer.shiphero.com.

`account` (warehouses), `warehouse_products` and `inventory_changes` wrapped in
{request_id, complexity, data}, paging on `data(first, after)` with cursors
base64("arrayconnection:N"), ISODateTime filters read as UTC, and the credit bucket
(4004 credits, 60/s): a query that costs more than is left gets an HTTP 200 error with
code 30, required_credits, remaining_credits and time_remaining. Orders: see
app.simulator.shiphero_orders; warehouse product nodes, and the usual page of them built
directly: app.simulator.shiphero_products.
"""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.simulator import graphql
from app.simulator.shiphero_orders import ORDERS_SDL, OrdersMixin
from app.simulator.shiphero_products import (
    ACCOUNT,
    ProductNode,
    cursor,
    gid,
    iso_time,
    products_data,
    warehouse_legacy_id,
)
from app.simulator.vendor import VendorSim, json_response
from app.simulator.world import SimEvent, SimLocation, World

SDL = """
scalar ISODateTime
type Query {
  account(analyze: Boolean): AccountQueryResult
  warehouse_products(warehouse_id: String, sku: String, active: Boolean,
    customer_account_id: String, created_from: ISODateTime, created_to: ISODateTime,
    updated_from: ISODateTime, updated_to: ISODateTime, analyze: Boolean):
  WarehouseProductsQueryResult
  inventory_changes(sku: String, warehouse_id: String, location_id: String,
    date_from: ISODateTime, date_to: ISODateTime, reason: String,
    customer_account_id: String, analyze: Boolean): InventoryChangesQueryResult
  user_quota: UserQuota
}
type AccountQueryResult { request_id: String complexity: Int data: Account }
type Account { id: String legacy_id: Int warehouses: [Warehouse] }
type Warehouse { id: String legacy_id: Int account_id: String identifier: String address: Address }
type Address { name: String address1: String address2: String city: String state: String
  country: String zip: String phone: String }
type WarehouseProductsQueryResult { request_id: String complexity: Int
  data(first: Int, after: String, last: Int, before: String, sort: String):
  WarehouseProductConnection }
type WarehouseProductConnection { pageInfo: PageInfo! edges: [WarehouseProductEdge]! }
type WarehouseProductEdge { node: WarehouseProduct cursor: String! }
type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor:
  String }
type WarehouseProduct { id: String legacy_id: Int account_id: String sku: String
  warehouse_id: String warehouse_identifier: String on_hand: Int allocated: Int available: Int
  backorder: Int reserve_inventory: Int non_sellable_quantity: Int inventory_bin: String
  active: Boolean created_at: ISODateTime updated_at: ISODateTime product: Product }
type Product { id: String legacy_id: Int name: String sku: String barcode: String }
type InventoryChangesQueryResult { request_id: String complexity: Int
  data(first: Int, after: String, last: Int, before: String, sort: String):
  InventoryChangeConnection }
type InventoryChangeConnection { pageInfo: PageInfo! edges: [InventoryChangeEdge]! }
type InventoryChangeEdge { node: InventoryChange cursor: String! }
type InventoryChange { id: String legacy_id: Int user_id: String account_id: String
  warehouse_id: String sku: String previous_on_hand: Int change_in_on_hand: Int reason: String
  cycle_counted: Boolean location_id: String created_at: ISODateTime }
type UserQuota { credits_remaining: Int max_available: Int increment_rate: Int }
"""
SCHEMA = graphql.Schema(SDL + ORDERS_SDL)
DEFAULT_PAGE = 100


def _read_time(text: str | None) -> int | None:
    if text is None:
        return None
    if not re.fullmatch(r"\d{4}-\d\d-\d\d([T ]\d\d:\d\d:\d\d(\.\d+)?)?", text):
        raise graphql.Fail(f"'{text}' is not a valid ISODateTime")
    return int(datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=UTC).timestamp())


def _reason(event: SimEvent) -> tuple[str, bool]:
    """How ShipHero's free-text reasons read for each kind of change."""
    detail = event.reason or ""
    return {
        "adjustment": (detail or "Change from the product page via the ShipHero Web Dashboard.",
                       False),
        "receipt": (f"Received on purchase order {detail}".strip(), False),
        "shipment": (f"Shipped order {detail}".strip(), False),
        "transfer": (f"Transfer {detail}".strip(), False),
        "cycle_count": (f"Cycle count {detail}".strip(), True),
    }[event.kind]


class _Edge:
    """An edge of a connection: its node, and a cursor only if asked for."""

    __slots__ = ("node", "offset", "row")

    def __init__(self, offset: int, row, node) -> None:
        self.offset, self.row, self.node = offset, row, node

    def get(self, name: str, default=None):
        if name == "node":
            return self.node(self.row)
        if name == "cursor":
            return cursor(self.offset)
        return default


class ShipHeroSim(OrdersMixin, VendorSim):
    role = "wms"

    def __init__(self, world: World, token: str) -> None:
        super().__init__(world, token, bucket=(4004.0, 60.0))  # ShipHero's credits
        world.updated_since(self.role, 0)  # the index by update time, before any request
        self._requests = 0

    def routes(self) -> list[Route]:
        return [Route("/graphql", self.graphql, methods=["POST"])]

    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def unauthorized(self) -> Response:
        return json_response({"errors": [{"message": "Unauthorized", "code": 401}]}, 401)

    def throttle(self) -> Response:
        return self._no_credits("warehouse_products", 101, 12)

    def error(self) -> Response:
        return json_response({"errors": [{"message": "Internal Server Error"}]}, 500)

    def _request_id(self) -> str:
        self._requests += 1
        return f"{0x5D3A155D1CA7D3313FE00000 + self._requests:024x}"

    def _no_credits(self, operation: str, required: int, remaining: int) -> Response:
        seconds = max(1, math.ceil((required - remaining) / self.bucket.restore_rate))
        return json_response({"errors": [{
            "code": 30, "operation": operation, "field": operation,
            "request_id": self._request_id(), "required_credits": required,
            "remaining_credits": remaining, "time_remaining": f"{seconds} seconds",
            "message": "There are not enough credits to perform the requested operation, "
                       f"which requires {required} credits. The are {remaining} credits left. "
                       f"In {seconds} seconds you will have enough credits to perform the "
                       "operation"}], "data": {operation: None}})

    async def graphql(self, request: Request) -> Response:
        async def answer() -> Response:
            try:
                body = json.loads(await request.body())
            except ValueError:
                return json_response({"errors": [{"message": "Invalid JSON body"}]}, 400)
            if not isinstance(body, dict):
                return json_response({"errors": [{"message": "Invalid request body"}]}, 400)
            prepared = SCHEMA.prepare(body.get("query"), body.get("variables"),
                                      body.get("operationName"))
            if isinstance(prepared, list):
                return json_response({"errors": prepared}, 400)
            return self._run(prepared)

        return await self.guarded(request, answer)

    def _run(self, prepared: graphql.Request) -> Response:
        complexity = 1 + graphql.query_cost(
            prepared, lambda first, inner: (first or DEFAULT_PAGE) * (1 + inner))
        operation = graphql.field_names(prepared)[0]
        if not self.bucket.take(complexity):
            return self._no_credits(operation, complexity, int(self.bucket.available))
        data = products_data(self, prepared, complexity)  # a plain stock page, directly
        if data is not None:
            return json_response({"data": data})
        data, errors = graphql.execute(prepared, self._root(complexity))
        if errors:
            for error in errors:
                error.update(operation=operation, field=operation, code=22,
                             request_id=self._request_id())
            return json_response({"errors": errors, "data": {operation: None}})
        return json_response({"data": data})

    # -- resolvers -------------------------------------------------------------------------
    def _root(self, complexity: int) -> dict:
        def wrap(data) -> dict:
            return {"request_id": self._request_id(), "complexity": complexity, "data": data}

        return {
            "account": lambda a: wrap({"id": ACCOUNT, "legacy_id": 4285, "warehouses": [
                self._warehouse(loc) for loc in self.world.locations_of(self.role)]}),
            "warehouse_products": lambda a: wrap(
                lambda page: self._connection(self._products(a), page, self._product)),
            "inventory_changes": lambda a: wrap(
                lambda page: self._connection(self._changes(a), page, self._change)),
            "orders": lambda a: wrap(
                lambda page: self._connection(self._orders(a), page, self._order)),
            "order": lambda a: wrap(self._order_by_id(a.get("id"))),
            "user_quota": lambda a: {"credits_remaining": int(self.bucket.available),
                                     "max_available": int(self.bucket.size),
                                     "increment_rate": int(self.bucket.restore_rate)},
        }

    def _connection(self, rows: list, page: dict, node) -> dict:
        first = page.get("first") or DEFAULT_PAGE
        start = 0
        if page.get("after"):
            try:
                start = int(base64.b64decode(page["after"]).decode().split(":")[1]) + 1
            except (ValueError, IndexError):
                raise graphql.Fail("Invalid cursor") from None
        chunk = rows[start:start + first]
        return {"pageInfo": {"hasNextPage": start + first < len(rows),
                             "hasPreviousPage": start > 0,
                             "startCursor": cursor(start) if chunk else None,
                             "endCursor": cursor(start + len(chunk) - 1) if chunk else None},
                "edges": [_Edge(start + i, row, node) for i, row in enumerate(chunk)]}

    _time = staticmethod(iso_time)
    _read_time = staticmethod(_read_time)

    def _warehouse_gid(self, code: str) -> str:
        return gid("Warehouse", warehouse_legacy_id(self.world.location_index[code]))

    def _warehouse_of(self, warehouse_id: str | None) -> list[SimLocation]:
        locations = self.world.locations_of(self.role)
        if warehouse_id is None:
            return locations
        return [loc for loc in locations
                if gid("Warehouse", warehouse_legacy_id(loc)) == warehouse_id]

    def _products(self, args: dict) -> list:
        since = _read_time(args.get("updated_from"))
        until = _read_time(args.get("updated_to"))
        sku = args.get("sku")

        def compute() -> list:
            view = self.world.view(self.role)
            warehouses = self._warehouse_of(args.get("warehouse_id"))
            if since is not None and not sku:  # changed since: from the index by time
                at = {loc.code: loc for loc in warehouses}
                changed = [(at[code], self.world.item_index[item_sku], view[(code, item_sku)])
                           for code, item_sku in self.world.updated_since(self.role, since)
                           if code in at]
                changed.sort(key=lambda row: (row[0].index, row[1].index))  # as listed
                return [row for row in changed if until is None or row[2][4] <= until]
            rows = []
            for loc in warehouses:
                items = [self.world.item_index[sku]] if sku in self.world.item_index else \
                    ([] if sku else self.world.items)
                for item in items:
                    count = view.get((loc.code, item.sku))
                    if count is None:
                        continue
                    updated = count[4]
                    if since is not None and (updated is None or updated < since):
                        continue
                    if until is not None and (updated is None or updated > until):
                        continue
                    rows.append((loc, item, count))
            return rows

        return self.memo(("products", args.get("warehouse_id"), sku, since, until), compute)

    def _product(self, row) -> ProductNode:
        return ProductNode(row, self.world.base_now)

    def _changes(self, args: dict) -> list:
        since = _read_time(args.get("date_from"))
        until = _read_time(args.get("date_to"))
        codes = {loc.code for loc in self._warehouse_of(args.get("warehouse_id"))}
        return [e for e in self.world.events_of(self.role)
                if e.location in codes and (since is None or e.at >= since)
                and (until is None or e.at <= until)
                and (args.get("sku") is None or e.sku == args["sku"])]

    def _change(self, event: SimEvent) -> dict:
        loc = self.world.location_index[event.location]
        reason, cycle = _reason(event)
        return {"id": event.id, "legacy_id": 98_765 + event.seq,
                "user_id": gid("User", 489254), "account_id": ACCOUNT,
                "warehouse_id": gid("Warehouse", warehouse_legacy_id(loc)), "sku": event.sku,
                "previous_on_hand": None, "change_in_on_hand": event.delta, "reason": reason,
                "cycle_counted": cycle, "location_id": gid("Bin", 1234 + loc.index),
                "created_at": iso_time(event.at)}

    def _warehouse(self, loc: SimLocation) -> dict:
        legacy = warehouse_legacy_id(loc)
        return {"id": gid("Warehouse", legacy), "legacy_id": legacy, "account_id": ACCOUNT,
                "identifier": loc.name, "address": {"name": loc.name, "address1": "",
                "address2": "", "city": "", "state": "", "country": "US", "zip": "",
                "phone": ""}}
