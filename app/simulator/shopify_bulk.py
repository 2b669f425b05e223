"""Shopify bulk operations for the simulator: bulkOperationRunQuery, the operation polled
with node(id:) through CREATED, RUNNING and COMPLETED, and the JSONL file at a signed
storage URL, where every node of a nested connection is its own line with __parentId
(grouped after its parent, or, ungrouped, in no promised order)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

import orjson
from graphql import FieldNode
from graphql.execution.values import get_argument_values
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app.simulator import graphql
from app.simulator.faults import mangle
from app.simulator.shopify_format import (
    QUANTITY_NAMES,
    SCHEMA,
    item_number,
    location_gid,
    shopify_time,
)


class BulkMixin:
    """The bulk operations of ShopifySim (which supplies world, role, gate, operations,
    _base, _version, _items, _item, _location and storage_token_leaks)."""

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
        number = self.gate.requests + 1  # admit counts this request first thing
        action = await self.gate.admit(faults, self.world.now())
        if action in ("down", "error"):
            return self.down()
        lines = self._jsonl(operation["prepared"], operation["group"])
        how = self.gate.malformed_now(faults, number)
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
            lines_of = _plain_items(self, prepared, selection)
            if lines_of is not None:
                for row in rows:
                    yield from lines_of(row)
                return
        elif field == "locations":
            rows, node = self.world.locations_of(self.role), self._location
        else:
            return
        for row in rows:
            projected = graphql.project(prepared, node(row, unbounded=True), selection, node_type)
            lines: list[bytes] = []
            _flatten_node(projected, None, lines)
            yield from lines


def _flatten_node(node: dict, parent_id: str | None, lines: list[bytes]) -> None:
    """One node's line (without its connections), then its connections' nodes."""
    line, connections = {}, []
    for key, value in node.items():  # projected values: plain dicts, lists and scalars
        if value.__class__ is dict and ("edges" in value or "nodes" in value):
            connections.append(value)
        else:
            line[key] = value
    if parent_id is not None:
        line["__parentId"] = parent_id
    lines.append(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
    for value in connections:
        children = value.get("nodes") or [e["node"] for e in value.get("edges") or []]
        for child in children:
            _flatten_node(child, node.get("id"), lines)


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


# -- the usual bulk query, without the generic projection ------------------------------
# A full read's file is 500,000 lines; projecting each node through the GraphQL executor
# costs five times what building its line directly does. Selections of only the plain
# fields below (no aliases, fragments, directives or filters) are built here, field by
# field in the order asked, exactly as the projection would; anything else goes the
# generic way. tests/test_simulator.py compares the two.

_QUANTITY = {  # name → its number from a count (on_hand, available, committed, incoming, _)
    "available": lambda c: c[1] or 0, "on_hand": lambda c: c[0] or 0,
    "committed": lambda c: c[2] or 0, "incoming": lambda c: c[3] or 0,
    "reserved": lambda c: max(0, (c[0] or 0) - (c[1] or 0) - (c[2] or 0))}


def _plain_fields(selection_set) -> list[FieldNode] | None:
    fields = list(selection_set.selections)
    if all(isinstance(f, FieldNode) and f.alias is None and not f.directives
           for f in fields):
        return fields
    return None


def _plain_items(sim, prepared: graphql.Request, selection
                 ) -> Callable[[object], list[bytes]] | None:
    """A function from an item to its lines, or None if the selection is not plain."""
    fields = _plain_fields(selection)
    if fields is None:
        return None
    item_fields: list[tuple[str, Callable]] = []
    level_fields: list[tuple[str, Callable]] | None = None
    for f in fields:
        name, inner = f.name.value, f.selection_set
        if f.arguments and name != "inventoryLevels":
            return None
        if name == "id" and inner is None:
            item_fields.append((name, lambda it: f"gid://shopify/InventoryItem/"
                                                 f"{item_number(it)}"))
        elif name == "sku" and inner is None:
            item_fields.append((name, lambda it: it.sku))
        elif name == "variant" and [g.name.value for g in _plain_fields(inner) or ()] == [
                "displayName"] and not inner.selections[0].arguments:
            item_fields.append((name, lambda it: {
                "displayName": f"{it.name or it.sku} - Default Title"}))
        elif name == "inventoryLevels" and level_fields is None and all(
                a.name.value in ("first", "after") for a in f.arguments or ()):
            level_fields = _plain_levels(prepared, inner)
            if level_fields is None:
                return None
        else:
            return None
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    levels_of = sim._levels_of_item

    def lines_of(item) -> list[bytes]:
        line = {key: value(item) for key, value in item_fields}
        lines = [dumps(line, option=newline)]
        if level_fields is not None:
            parent = line.get("id")
            for level in levels_of(item, None):
                child = {key: value(level) for key, value in level_fields}
                if parent is not None:
                    child["__parentId"] = parent
                lines.append(dumps(child, option=newline))
        return lines

    return lines_of


def _plain_levels(prepared: graphql.Request, connection) -> list[tuple[str, Callable]] | None:
    """The level fields under `edges { node { ... } }` or `nodes { ... }`."""
    outer = _plain_fields(connection)
    if outer is None or len(outer) != 1 or outer[0].arguments:
        return None
    node = outer[0]
    if node.name.value == "edges":
        inner = _plain_fields(node.selection_set)
        if inner is None or len(inner) != 1 or inner[0].name.value != "node":
            return None
        node = inner[0]
    elif node.name.value != "nodes":
        return None
    fields = _plain_fields(node.selection_set)
    if fields is None:
        return None
    level_type = SCHEMA.schema.get_type("InventoryLevel")
    plan: list[tuple[str, Callable]] = []
    for f in fields:
        name, inner = f.name.value, f.selection_set
        if name == "quantities":
            names = get_argument_values(level_type.fields[name], f,
                                        prepared.variables)["names"]
            wanted = [g.name.value for g in _plain_fields(inner) or ()]
            if any(n not in QUANTITY_NAMES for n in names) or not wanted or any(
                    w not in ("name", "quantity") for w in wanted):
                return None
            plan.append((name, _quantities(names, wanted)))
            continue
        if f.arguments:
            return None
        if name == "id" and inner is None:
            plan.append((name, _level_id))
        elif name == "updatedAt" and inner is None:
            plan.append((name, lambda level: shopify_time(level.count[4])))
        elif name == "location" and [g.name.value for g in _plain_fields(inner) or ()] == [
                "id"] and not inner.selections[0].arguments:
            plan.append((name, lambda level: {"id": location_gid(level.location)}))
        else:
            return None
    return plan


def _level_id(level) -> str:
    item_no = item_number(level.item)
    return (f"gid://shopify/InventoryLevel/{(level.location.index + 1) * 100_000_000 + item_no}"
            f"?inventory_item_id={item_no}")


def _quantities(names: list[str], wanted: list[str]) -> Callable:
    numbers = [(name, _QUANTITY.get(name, lambda c: 0)) for name in names]
    if wanted == ["name", "quantity"]:
        return lambda level: [{"name": name, "quantity": number(level.count)}
                              for name, number in numbers]
    return lambda level: [{w: name if w == "name" else number(level.count) for w in wanted}
                          for name, number in numbers]
