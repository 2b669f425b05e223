"""Simulated Shopify Admin GraphQL API (storefront), from shopify.dev's documentation.

Inventory items → inventory levels → quantities(names:), locations, cursor paging (250
max), search syntax for `sku:` and `updated_at:`, the cost-based throttle (bucket and
restore rate, THROTTLED in an HTTP 200, MAX_COST_EXCEEDED over 1000 points), and bulk
operations whose JSONL file flattens nested connections into lines with __parentId.
"""

from __future__ import annotations

import asyncio
import json
import re
from bisect import bisect_right
from collections.abc import AsyncIterator, Iterator

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app.simulator import graphql
from app.simulator.faults import mangle
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
)
from app.simulator.vendor import VendorSim, json_response
from app.simulator.world import SimItem, SimLocation, World


class ShopifySim(VendorSim):
    role = "storefront"

    def __init__(self, world: World, token: str) -> None:
        super().__init__(world, token, bucket=(2000.0, 100.0))  # a Standard plan's points
        self.operations: list[dict] = []
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
                "edges": lambda _: [{"cursor": cursor(r.index), "node": node(r)} for r in page]}

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

    def _item(self, item: SimItem, unbounded: bool = False) -> dict:
        # Anything costly is a callable: computed only when the query selects it.
        number = item_number(item)
        name = item.name or item.sku
        return {
            "__typename": "InventoryItem", "id": f"gid://shopify/InventoryItem/{number}",
            "sku": item.sku, "tracked": True, "legacyResourceId": str(number),
            "createdAt": lambda _: shopify_time(self.world.base_now - 86400 * 90),
            "updatedAt": lambda _: shopify_time(self._item_updated(item)
                                         or self.world.base_now - 86400 * 90),
            "variant": lambda _: {
                "__typename": "ProductVariant",
                "id": f"gid://shopify/ProductVariant/{number + 1_000_000}",
                "displayName": f"{name} - Default Title", "title": "Default Title",
                "sku": item.sku, "product": {
                    "__typename": "Product", "title": name,
                    "id": f"gid://shopify/Product/{number + 2_000_000}"}},
            "inventoryLevels": lambda a: self._connection(
                self._levels_of_item(item, a.get("query")), a, self._level, unbounded),
        }

    def _levels_of_item(self, item: SimItem, query: str | None) -> list:
        view = self.world.view(self.role)
        levels = [_Level(loc.index, loc, item, view[(loc.code, item.sku)])
                  for loc in self.world.locations_of(self.role) if (loc.code, item.sku) in view]
        return _filter_levels(levels, query)

    def _levels_at(self, loc: SimLocation, query: str | None) -> list:
        def compute() -> list:
            view = self.world.view(self.role)
            levels = [_Level(item.index, loc, item, view[(loc.code, item.sku)])
                      for item in self.world.items if (loc.code, item.sku) in view]
            return _filter_levels(levels, query)

        return self.memo(("levels", loc.code, query), compute)

    def _level(self, level: _Level) -> dict:
        item_no = item_number(level.item)
        level_no = (level.location.index + 1) * 100_000_000 + item_no
        on_hand, available, committed, incoming, updated = level.count
        on_hand, available = on_hand or 0, available or 0
        committed, incoming = committed or 0, incoming or 0
        values = {"available": available, "on_hand": on_hand, "committed": committed,
                  "incoming": incoming, "reserved": max(0, on_hand - available - committed),
                  "damaged": 0, "safety_stock": 0, "quality_control": 0}

        def quantities(args: dict) -> list[dict]:
            unknown = [n for n in args["names"] if n not in QUANTITY_NAMES]
            if unknown:
                raise graphql.Fail(f"Invalid quantity name: {unknown[0]}")
            stamp = shopify_time(updated)
            return [{"name": n, "quantity": values[n],
                     "id": f"gid://shopify/InventoryQuantity/{level_no}?name={n}",
                     "updatedAt": stamp if values[n] else None}
                    for n in args["names"]]

        return {"__typename": "InventoryLevel",
                "id": f"gid://shopify/InventoryLevel/{level_no}?inventory_item_id={item_no}",
                "createdAt": lambda _: shopify_time(self.world.base_now - 86400 * 90),
                "updatedAt": shopify_time(updated),
                "location": lambda _: self._location(level.location),
                "item": lambda _: self._item(level.item), "quantities": quantities}

    def _location(self, loc: SimLocation, unbounded: bool = False) -> dict:
        return {"__typename": "Location", "id": location_gid(loc), "name": loc.name,
                "isActive": True, "legacyResourceId": str(68_000_001 + loc.index),
                "inventoryLevels": lambda a: self._connection(
                    self._levels_at(loc, a.get("query")), a, self._level, unbounded)}

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

    # -- bulk operations -------------------------------------------------------------------
    def _start_bulk(self, query: str, group: bool | None) -> dict:
        if self.operations:  # a running operation carries on while nobody polls it
            self._advance(self.operations[-1])
        if self.operations and self.operations[-1]["status"] in ("CREATED", "RUNNING"):
            return {"bulkOperation": None, "userErrors": [{
                "field": None, "code": "OPERATION_IN_PROGRESS",
                "message": "A bulk query operation for this app and shop is already in "
                           f"progress: {self.operations[-1]['id']}."}]}
        prepared = SCHEMA.prepare(query, {})
        if isinstance(prepared, list) or prepared.is_mutation:
            message = prepared[0]["message"] if isinstance(prepared, list) else "not a query"
            error = {"field": ["query"], "code": "INVALID",
                     "message": f"Invalid bulk query: {message}"}
            return {"bulkOperation": None, "userErrors": [error]}
        number = 4_046_733_967_001 + len(self.operations)
        if group is None:  # grouped by default from 2025-07 until 2026-01
            group = "2025-07" <= self._version < "2026-01"
        operation = {"id": f"gid://shopify/BulkOperation/{number}", "number": number,
                     "status": "CREATED", "query": query, "prepared": prepared, "group": group,
                     "createdAt": shopify_time(self.world.now())}
        self.operations.append(operation)
        return {"bulkOperation": self._operation(operation), "userErrors": []}

    def _advance(self, operation: dict) -> None:
        """Each poll moves the operation on: CREATED → RUNNING → COMPLETED."""
        if operation["status"] == "CREATED":
            operation["status"] = "RUNNING"
        elif operation["status"] == "RUNNING":
            operation["status"] = "COMPLETED"
            operation["completedAt"] = shopify_time(self.world.now())

    def _operation(self, operation: dict) -> dict:
        done = operation["status"] == "COMPLETED"
        url = (f"{self._base}/_bulk/{operation['number']}.jsonl?Expires=1893456000"
               f"&Signature=sim") if done else None
        return {"__typename": "BulkOperation", "id": operation["id"],
                "status": operation["status"], "errorCode": None, "type": "QUERY",
                "createdAt": operation["createdAt"], "completedAt": operation.get("completedAt"),
                "objectCount": "0", "rootObjectCount": "0", "fileSize": None,
                "url": url, "partialDataUrl": None, "query": operation["query"]}

    async def bulk_file(self, request: Request) -> Response:
        if request.headers.get("X-Shopify-Access-Token"):
            self.storage_token_leaks += 1
        number = int(request.path_params["number"])
        operation = next((o for o in self.operations if o["number"] == number), None)
        if operation is None or operation["status"] != "COMPLETED":
            return Response("<Error><Code>NoSuchKey</Code></Error>", 404,
                            media_type="application/xml")
        faults = self.world.faults.get(self.role)
        action = await self.gate.admit(faults, self.world.now())
        if action in ("down", "error"):
            return self.down()
        lines = self._jsonl(operation["prepared"], operation["group"])
        how = self.gate.malformed_now(faults)
        if how is not None:
            body, media = mangle(b"".join(lines), how)
            return Response(body, media_type=media)
        return StreamingResponse(_chunks(lines), media_type="application/jsonl")

    def _jsonl(self, prepared: graphql.Request, group: bool) -> Iterator[bytes]:
        """The bulk file: one line per connection node, nested ones with __parentId.

        Grouped, each node is followed by its children and the file streams in constant
        memory. Ungrouped, Shopify promises no order: here every child comes first, the
        hardest order for a reader.
        """
        if not group:
            lines = list(self._jsonl(prepared, True))
            yield from sorted(lines, key=lambda line: b'"__parentId"' not in line)
            return
        field, args, selection, node_type = graphql.root_connection(prepared)
        if field == "inventoryItems":
            rows, node = self._items(args.get("query")), self._item
        elif field == "locations":
            rows, node = self.world.locations_of(self.role), self._location
        else:
            return
        for row in rows:
            projected = graphql.project(prepared, node(row, unbounded=True), selection, node_type)
            yield from _flatten_node(projected, None)


class _Level:
    __slots__ = ("count", "index", "item", "location")

    def __init__(self, index: int, location: SimLocation, item: SimItem, count) -> None:
        self.index, self.location, self.item, self.count = index, location, item, count


def _filter_levels(levels: list, query: str | None) -> list:
    for field, op, value in search(query):
        if field == "updated_at":
            levels = [lv for lv in levels if matches_time(lv.count[4], op, value)]
    return levels


def _is_connection(value) -> bool:
    return isinstance(value, dict) and ("edges" in value or "nodes" in value)


def _flatten_node(node: dict, parent_id: str | None) -> Iterator[bytes]:
    """One node's line (without its connections), then its connections' nodes."""
    line = {k: v for k, v in node.items() if not _is_connection(v)}
    if parent_id is not None:
        line["__parentId"] = parent_id
    yield orjson.dumps(line) + b"\n"
    for value in node.values():
        if _is_connection(value):
            children = value.get("nodes") or [e["node"] for e in value.get("edges") or []]
            for child in children:
                yield from _flatten_node(child, node.get("id"))


async def _chunks(lines: Iterator[bytes], size: int = 512) -> AsyncIterator[bytes]:
    """Stream the file in chunks, letting other requests in between (no thread hop)."""
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield b"".join(batch)
            batch = []
            await asyncio.sleep(0)
    if batch:
        yield b"".join(batch)
