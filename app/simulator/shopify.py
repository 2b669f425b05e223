"""Simulated Shopify Admin GraphQL API (storefront), from shopify.dev's documentation.

Inventory items → inventory levels → quantities(names:), locations, cursor paging (250
max), search syntax for `sku:` and `updated_at:`, the cost-based throttle (bucket and
restore rate, THROTTLED in an HTTP 200, MAX_COST_EXCEEDED over 1000 points), and bulk
operations whose JSONL file flattens nested connections into lines with __parentId.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.simulator import graphql
from app.simulator.shopify_bulk import BulkMixin
from app.simulator.shopify_format import (
    MAX_COST,
    MAX_PAGE,
    QUANTITY_NAMES,
    SCHEMA,
    cursor,
    item_number,
    location_gid,
    matches_time,
    position,
    search,
    shopify_time,
    time_filter,
    time_floor,
)
from app.simulator.vendor import VendorSim, json_response
from app.simulator.world import SimItem, SimLocation, World


class ShopifySim(BulkMixin, VendorSim):
    role = "storefront"

    def __init__(self, world: World, token: str) -> None:
        super().__init__(world, token, bucket=(2000.0, 100.0))  # a Standard plan's points
        world.updated_since(self.role, 0)  # the index by update time, before any request
        self.operations: list[dict] = []
        self._location_nodes: dict[tuple[int, bool], dict] = {}
        self._base = ""  # this endpoint's URL, learnt from requests (for bulk file URLs)
        self._version = "2025-10"

    def routes(self) -> list[Route]:
        return [Route("/admin/api/{version}/graphql.json", self.graphql, methods=["POST"]),
                Route("/_bulk/{number}.jsonl", self.bulk_file, methods=["GET"])]

    # -- vendor answers ------------------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        return request.headers.get("X-Shopify-Access-Token") == self.token

    def unauthorized(self) -> Response:
        return json_response({"errors": "[API] Invalid API key or access token "
                                        "(unrecognized login or wrong password)"}, 401)

    def throttle(self) -> Response:
        # As Shopify does when the bucket runs dry: the request asked for more than is left.
        return json_response({
            "errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": {"cost": self._cost(int(self.bucket.available) + 1, None)}})

    def error(self) -> Response:
        if self.gate.rng.random() < 0.5:
            return self.down()
        return json_response({"errors": "An unexpected error occurred"}, 500)

    def _cost(self, requested: float, actual: float | None) -> dict:
        return {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": {
            "maximumAvailable": self.bucket.size,
            "currentlyAvailable": int(self.bucket.available),
            "restoreRate": self.bucket.restore_rate}}

    # -- GraphQL ---------------------------------------------------------------------------
    async def graphql(self, request: Request) -> Response:
        version = request.path_params["version"]
        if not re.fullmatch(r"20\d\d-(01|04|07|10)|unstable", version):
            return json_response({"errors": "Not Found"}, 404)

        async def answer() -> Response:
            try:
                body = json.loads(await request.body())
            except ValueError:
                return json_response({"errors": {"query": "Required parameter missing or invalid"}},
                                     400)
            if not isinstance(body, dict):
                return json_response({"errors": {"query": "Required parameter missing or invalid"}},
                                     400)
            prepared = SCHEMA.prepare(body.get("query"), body.get("variables"),
                                      body.get("operationName"))
            if isinstance(prepared, list):
                return json_response({"errors": prepared})
            self._base = str(request.url).split("/admin/api/")[0]  # bulk files live here
            self._version = version
            return self._run(prepared)

        return await self.guarded(request, answer)

    def _run(self, prepared: graphql.Request) -> Response:
        requested = 10 if prepared.is_mutation else graphql.query_cost(
            prepared, lambda first, inner: 2 + first * inner, object_cost=1) + 1
        if requested > MAX_COST:
            return json_response({"errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max "
                           f"cost limit ({MAX_COST}).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                               "maxCost": MAX_COST}}]})
        if not self.bucket.take(requested):
            return json_response({
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": {"cost": self._cost(requested, None)}})
        data, errors = graphql.execute(prepared, self._root())
        body = {"data": data, "extensions": {"cost": self._cost(requested, requested)}}
        if errors:
            body["errors"] = errors
        return json_response(body)

    # -- resolvers -------------------------------------------------------------------------
    def _root(self) -> dict:
        return {
            "inventoryItems": lambda a: self._connection(
                self._items(a.get("query")), a, self._item),
            "locations": lambda a: self._connection(
                self.world.locations_of(self.role), a, self._location),
            "location": lambda a: self._find_location(a.get("id")),
            "node": lambda a: self._node(a["id"]),
            "currentBulkOperation": lambda a: self._operation(self.operations[-1])
            if self.operations else None,
            "bulkOperationRunQuery": lambda a: self._start_bulk(a["query"],
                                                                a.get("groupObjects")),
        }

    def _connection(self, rows: list, args: dict, node, unbounded: bool = False) -> dict:
        first = args.get("first")
        if unbounded:
            first = len(rows)
        elif first is None and args.get("last") is None:
            raise graphql.Fail("you must provide one of first or last")
        elif first is None:
            raise graphql.Fail("last is not supported by this simulator; use first")
        elif not 0 <= first <= MAX_PAGE:
            raise graphql.Fail(f"The first argument must be between 0 and {MAX_PAGE}.")
        after = args.get("after")
        start = bisect_right([r.index for r in rows], position(after)) if after else 0
        page = rows[start:start + first]
        return {"pageInfo": lambda _: {
                    "hasNextPage": start + first < len(rows), "hasPreviousPage": start > 0,
                    "startCursor": cursor(page[0].index) if page else None,
                    "endCursor": cursor(page[-1].index) if page else None},
                "nodes": lambda _: [node(r) for r in page],
                "edges": lambda _: [_Edge(r, node) for r in page]}

    def _items(self, query: str | None) -> list[SimItem]:
        def compute() -> list[SimItem]:
            items = self.world.items
            for field, op, value in search(query):
                if field == "sku":
                    items = [it for it in items if it.sku == value]
                elif field == "updated_at":
                    items = [it for it in items
                             if matches_time(self._item_updated(it), op, value)]
            return items

        return self.memo(("items", query), compute) if query else self.world.items

    def _item_updated(self, item: SimItem) -> int | None:
        view = self.world.view(self.role)
        times = [view[(loc.code, item.sku)][4] for loc in self.world.locations_of(self.role)
                 if (loc.code, item.sku) in view]
        return max((t for t in times if t is not None), default=None)

    def _item(self, item: SimItem, unbounded: bool = False) -> _ItemNode:
        return _ItemNode(self, item, unbounded)

    def _levels_of_item(self, item: SimItem, query: str | None) -> list:
        view, keep = self.world.view(self.role), time_filter(query)
        return [_Level(loc.index, loc, item, count) for loc in self.world.locations_of(self.role)
                if (count := view.get((loc.code, item.sku))) is not None
                and (keep is None or keep(count[4]))]

    def _levels_at(self, loc: SimLocation, query: str | None) -> list:
        def compute() -> list:
            view, keep, code = self.world.view(self.role), time_filter(query), loc.code
            floor = time_floor(query)
            if floor is not None:  # updated since: from the index by time, in item order
                items = sorted((self.world.item_index[sku] for at, sku in
                                self.world.updated_since(self.role, floor) if at == code),
                               key=lambda item: item.index)
            else:
                items = self.world.items
            return [_Level(item.index, loc, item, count) for item in items
                    if (count := view.get((code, item.sku))) is not None
                    and (keep is None or keep(count[4]))]

        return self.memo(("levels", loc.code, query), compute)

    def _level(self, level: _Level) -> _LevelNode:
        return _LevelNode(self, level)

    def _location(self, loc: SimLocation, unbounded: bool = False) -> dict:
        # The same for every level at the location (its levels are read when asked for).
        node = self._location_nodes.get((loc.index, unbounded))
        if node is None:
            node = self._location_nodes[(loc.index, unbounded)] = {
                "__typename": "Location", "id": location_gid(loc), "name": loc.name,
                "isActive": True, "legacyResourceId": str(68_000_001 + loc.index),
                "inventoryLevels": lambda a: self._connection(
                    self._levels_at(loc, a.get("query")), a, self._level, unbounded)}
        return node

    def _find_location(self, gid: str | None) -> dict | None:
        for loc in self.world.locations_of(self.role):
            if location_gid(loc) == gid:
                return self._location(loc)
        return None

    def _node(self, gid: str) -> dict | None:
        for operation in self.operations:
            if operation["id"] == gid:
                self._advance(operation)
                return self._operation(operation)
        if gid.startswith("gid://shopify/Location/"):
            return self._find_location(gid)
        return None


class _Edge:
    """An edge of a connection: its node, and a cursor only if asked for."""

    __slots__ = ("node", "row")

    def __init__(self, row, node) -> None:
        self.row, self.node = row, node

    def get(self, name: str, default=None):
        if name == "node":
            return self.node(self.row)
        if name == "cursor":
            return cursor(self.row.index)
        return default


class _ItemNode:
    """One InventoryItem; like levels, each field is worked out only when selected."""

    __slots__ = ("item", "sim", "unbounded")

    def __init__(self, sim: ShopifySim, item: SimItem, unbounded: bool) -> None:
        self.sim, self.item, self.unbounded = sim, item, unbounded

    def get(self, name: str, default=None):
        field = _ITEM_FIELDS.get(name)
        return default if field is None else field(self)


def _variant(node: _ItemNode) -> dict:
    item = node.item
    number, name = item_number(item), item.name or item.sku
    return {"__typename": "ProductVariant",
            "id": f"gid://shopify/ProductVariant/{number + 1_000_000}",
            "displayName": f"{name} - Default Title", "title": "Default Title",
            "sku": item.sku, "product": {
                "__typename": "Product", "title": name,
                "id": f"gid://shopify/Product/{number + 2_000_000}"}}


def _item_levels(node: _ItemNode):
    sim, item, unbounded = node.sim, node.item, node.unbounded
    return lambda a: sim._connection(sim._levels_of_item(item, a.get("query")), a, sim._level,
                                     unbounded)


_ITEM_FIELDS = {
    "__typename": lambda n: "InventoryItem",
    "id": lambda n: f"gid://shopify/InventoryItem/{item_number(n.item)}",
    "sku": lambda n: n.item.sku,
    "tracked": lambda n: True,
    "legacyResourceId": lambda n: str(item_number(n.item)),
    "createdAt": lambda n: shopify_time(n.sim.world.base_now - 86400 * 90),
    "updatedAt": lambda n: shopify_time(n.sim._item_updated(n.item)
                                        or n.sim.world.base_now - 86400 * 90),
    "variant": _variant,
    "inventoryLevels": _item_levels,
}


class _LevelNode:
    """One InventoryLevel: a bulk read lists every level and selects a few of its
    fields, so each is worked out only when asked for (the projection reads nodes
    through `get`, as it reads dicts)."""

    __slots__ = ("level", "sim")

    def __init__(self, sim: ShopifySim, level: _Level) -> None:
        self.sim, self.level = sim, level

    def get(self, name: str, default=None):
        field = _LEVEL_FIELDS.get(name)
        return default if field is None else field(self.sim, self.level)


def _level_id(level: _Level) -> str:
    item_no = item_number(level.item)
    level_no = (level.location.index + 1) * 100_000_000 + item_no
    return f"gid://shopify/InventoryLevel/{level_no}?inventory_item_id={item_no}"


def _quantities(level: _Level, args: dict) -> list[_Quantity]:
    unknown = [n for n in args["names"] if n not in QUANTITY_NAMES]
    if unknown:
        raise graphql.Fail(f"Invalid quantity name: {unknown[0]}")
    return [_Quantity(level, n) for n in args["names"]]


class _Quantity:
    """One of a level's named quantities (`reserved` is what on hand holds beyond the
    available and committed units)."""

    __slots__ = ("level", "name")

    def __init__(self, level: _Level, name: str) -> None:
        self.level, self.name = level, name

    def get(self, field: str, default=None):
        if field == "name":
            return self.name
        if field == "quantity":
            return self.quantity
        if field == "id":
            level = self.level
            level_no = (level.location.index + 1) * 100_000_000 + item_number(level.item)
            return f"gid://shopify/InventoryQuantity/{level_no}?name={self.name}"
        if field == "updatedAt":
            return shopify_time(self.level.count[4]) if self.quantity else None
        return default

    @property
    def quantity(self) -> int:
        on_hand, available, committed, incoming, _ = self.level.count
        name = self.name
        if name == "available":
            return available or 0
        if name == "on_hand":
            return on_hand or 0
        if name == "committed":
            return committed or 0
        if name == "incoming":
            return incoming or 0
        if name == "reserved":
            return max(0, (on_hand or 0) - (available or 0) - (committed or 0))
        return 0  # damaged, safety_stock, quality_control


_LEVEL_FIELDS = {
    "__typename": lambda sim, level: "InventoryLevel",
    "id": lambda sim, level: _level_id(level),
    "createdAt": lambda sim, level: shopify_time(sim.world.base_now - 86400 * 90),
    "updatedAt": lambda sim, level: shopify_time(level.count[4]),
    "location": lambda sim, level: sim._location(level.location),
    "item": lambda sim, level: sim._item(level.item),
    "quantities": lambda sim, level: lambda args: _quantities(level, args),
}


class _Level:
    __slots__ = ("count", "index", "item", "location")

    def __init__(self, index: int, location: SimLocation, item: SimItem, count) -> None:
        self.index, self.location, self.item, self.count = index, location, item, count


