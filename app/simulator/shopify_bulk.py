"""Shopify bulk operations for the simulator: bulkOperationRunQuery, the operation polled
with node(id:) through CREATED, RUNNING and COMPLETED, and the JSONL file at a signed
storage URL, where every node of a nested connection is its own line with __parentId
(grouped after its parent, or, ungrouped, in no promised order)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app.simulator import graphql
from app.simulator.faults import mangle
from app.simulator.shopify_format import SCHEMA, shopify_time


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
