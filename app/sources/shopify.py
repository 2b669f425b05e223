"""Shopify Admin GraphQL API (storefront role).

POST {base_url}/admin/api/{version}/graphql.json with X-Shopify-Access-Token. A full read
runs a bulk operation (bulkOperationRunQuery, poll with node(id:), stream the JSONL file,
where each inventory level is its own line with `__parentId`); incremental reads page
each location's inventoryLevels filtered by updated_at. Shopify throttles by query cost:
every answer carries extensions.cost.throttleStatus, and a throttled one is an HTTP 200
with errors[].extensions.code == "THROTTLED". We pace ourselves from the bucket so we
rarely hear it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import orjson

from app.records import CountRow, LocationRow, Page
from app.sources.base import Fields, Window, iso_epoch, merge, quick_or_careful
from app.sources.errors import PayloadError, SourceError, UnavailableError
from app.sources.http import HttpSettings, Throttle, Transient, VendorClient, short

API_VERSION = "2025-10"
NAMES = '["available", "on_hand", "committed", "incoming"]'
LEVEL = f"updatedAt location {{ id }} quantities(names: {NAMES}) {{ name quantity }}"
BULK_ROWS_PER_PAGE = 5000  # our own chunking of the file: fewer, larger write transactions
RECENT_ITEMS = 4096  # grouped files put levels right after their item
MAX_WAITING_LEVELS = 50_000

LOCATIONS = """query($after: String) { locations(first: 50, after: $after) {
  pageInfo { hasNextPage endCursor } nodes { id name } } }"""

# Shopify requires `id` only of a node whose connections are read (the item: its levels
# point back to it by __parentId); a level's own id would be a quarter of every line.
BULK_QUERY = f"""{{ inventoryItems {{ edges {{ node {{ id sku variant {{ displayName }}
  inventoryLevels {{ edges {{ node {{ {LEVEL} }} }} }} }} }} }} }}"""

RUN_BULK = """mutation($query: String!) { bulkOperationRunQuery(query: $query{group}) {
  bulkOperation { id status } userErrors { field message code } } }"""
GROUPING_SINCE = "2025-07"  # groupObjects exists from here; 2026-01 turned its default off

POLL_BULK = """query($id: ID!) { node(id: $id) { ... on BulkOperation {
  id status errorCode objectCount url partialDataUrl } } }"""

# Item names come with full reads; leaving them out here keeps each page cheap.
CHANGED_LEVELS = f"""query($location: ID!, $first: Int!, $after: String, $query: String) {{
  location(id: $location) {{ inventoryLevels(first: $first, after: $after, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ item {{ sku }} {LEVEL} }} }} }} }}"""

# SKUs are not unique in Shopify; three matches and 50 locations stay under 1000 points.
ONE_SKU = f"""query($query: String!) {{ inventoryItems(first: 3, query: $query) {{
  nodes {{ sku variant {{ displayName }}
    inventoryLevels(first: 50) {{ nodes {{ {LEVEL} }} }} }} }} }}"""


class ShopifyClient(VendorClient):
    """Adds Shopify's cost-based throttle: read the bucket, pace, honour THROTTLED."""

    bucket: tuple[float, float, float] | None = None  # available, restore/s, when seen
    maximum = 1000.0

    def check(self, response: httpx.Response) -> None:
        body = self.json(response)
        if not isinstance(body, dict):
            raise PayloadError(f"{self.system}: answer is not a GraphQL response")
        cost = (body.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        try:
            available = float(status["currentlyAvailable"])
            restore = float(status["restoreRate"]) or 1.0
            self.maximum = float(status.get("maximumAvailable") or self.maximum)
            self.bucket = (available, restore, time.monotonic())
        except (KeyError, TypeError, ValueError):
            available, restore = None, None
        errors = body.get("errors")
        for error in errors if isinstance(errors, list) else []:
            code = ((error if isinstance(error, dict) else {}).get("extensions") or {}).get("code")
            if code == "THROTTLED":  # wait until the bucket holds what this query costs
                requested = float(cost.get("requestedQueryCost") or 50)
                deficit = requested - (available if available is not None else 0)
                raise Throttle(max(0.5, deficit / (restore or 50)), "query cost")
            if code == "INTERNAL_SERVER_ERROR":
                raise Transient(f"Shopify internal error: {short(error.get('message', ''))}")

    def error_text(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:  # gateway errors arrive as HTML pages
            return f"non-JSON answer ({response.headers.get('content-type', 'no type')})"
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, str):
            return short(errors)
        if isinstance(errors, dict):
            return short("; ".join(f"{k}: {v}" for k, v in errors.items()))
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return short(str(errors[0].get("message")))
        return short(response.text)

    async def pace(self, cost: float) -> None:
        """Wait until a query of `cost` finds enough points in the bucket.

        The points are taken from our estimate at once, so concurrent requests queue
        behind each other instead of all spending the same points.
        """
        if self.bucket is None:
            return
        available, restore, seen = self.bucket
        now = time.monotonic()
        available = min(available + (now - seen) * restore, self.maximum)
        self.bucket = (available - cost, restore, now)
        if cost > available:
            await self._sleep((cost - available) / restore)


class ShopifyConnector:
    kind = "shopify"

    def __init__(self, system: str, base_url: str, token: str, settings: HttpSettings,
                 page_size: int | None = None, api_version: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, sleep=asyncio.sleep,
                 poll_seconds: float = 0.5) -> None:
        self.system = system
        self.page_size = min(page_size or 100, 250)
        version = api_version or API_VERSION
        self.endpoint = f"/admin/api/{version}/graphql.json"
        # Ask for children right after their parent, so the file streams in flat memory.
        grouping = ", groupObjects: true" if version >= GROUPING_SINCE else ""
        self._run_bulk = RUN_BULK.replace("{group}", grouping)
        self.client = ShopifyClient(
            system, base_url, {"X-Shopify-Access-Token": token}, settings, secrets=[token],
            transport=transport, sleep=sleep)
        self.stats = self.client.stats
        self._sleep = sleep
        self._poll = poll_seconds
        self._locations: list[LocationRow] = []
        self._costs: dict[str, float] = {}  # what Shopify charged for a query last time
        self._level = quick_or_careful(_quick_level, self._careful_level)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _query(self, query: str, variables: dict, cost: float = 10) -> Fields:
        key = f"{variables.get('first')}:{query}"
        body = await self.client.post_json(
            self.endpoint, {"query": query, "variables": variables},
            cost=self._costs.get(key, cost))
        charged = ((body.get("extensions") or {}).get("cost") or {}).get("requestedQueryCost")
        if isinstance(charged, int | float):
            self._costs[key] = float(charged)
        errors = body.get("errors")
        if errors:
            first = errors[0] if isinstance(errors, list) and errors else errors
            message = first.get("message") if isinstance(first, dict) else first
            raise PayloadError(self.client.redact(f"{self.system}: GraphQL: {short(message)}"))
        return Fields(self.system, "data", body.get("data"))

    async def _load_locations(self) -> list[LocationRow]:
        rows, after = [], None
        while True:
            data = (await self._query(LOCATIONS, {"after": after}, cost=52)).obj("locations")
            for raw in data.list("nodes"):
                loc = Fields(self.system, "location", raw)
                rows.append(LocationRow(loc.text("id"), loc.text("name", optional=True)))
            info = data.obj("pageInfo")
            if not info.record.get("hasNextPage"):
                break
            after = info.text("endCursor")
        self._locations = rows
        return rows

    def _careful_level(self, raw: dict, sku: str, name: str | None) -> CountRow:
        level = Fields(self.system, "inventoryLevel", raw)
        quantities = {}
        for q in level.list("quantities"):
            quantity = Fields(self.system, "quantities[]", q)
            quantities[quantity.text("name")] = quantity.int("quantity")
        return CountRow(
            sku=sku, location_id=level.obj("location").text("id"),
            on_hand=quantities.get("on_hand"), available=quantities.get("available"),
            allocated=quantities.get("committed"), in_transit=quantities.get("incoming"),
            updated_at=level.time("updatedAt", iso_epoch), name=name)

    async def read(self, window: Window) -> AsyncIterator[Page]:
        yield Page(locations=await self._load_locations())
        if window.counts_since is None:
            async for page in self._bulk():
                yield page
            return
        query = f"updated_at:>'{_shopify_time(window.counts_since)}'"
        streams = [self._changed(loc.location_id, query) for loc in self._locations]
        async for page in merge(streams, self.client.settings.max_concurrency):
            yield page

    async def _changed(self, location: str, query: str) -> AsyncIterator[Page]:
        # Shopify charges for the rows asked for, not the rows returned: start small
        # (usually little has changed) and grow while pages come back full.
        after, first = None, min(25, self.page_size)
        while True:
            variables = {"location": location, "first": first, "after": after, "query": query}
            data = await self._query(CHANGED_LEVELS, variables, cost=4 + 4 * first)
            levels = data.obj("location").obj("inventoryLevels")
            rows = []
            for raw in levels.list("nodes"):
                item = Fields(self.system, "inventoryLevel", raw).obj("item")
                sku = item.text("sku", optional=True)
                if sku:
                    rows.append(self._level(raw, sku, _variant_name(item.record)))
            yield Page(counts=rows)
            info = levels.obj("pageInfo")
            if not info.record.get("hasNextPage"):
                return
            after, first = info.text("endCursor"), min(first * 2, self.page_size)

    async def read_sku(self, sku: str) -> AsyncIterator[Page]:
        escaped = sku.replace("\\", "\\\\").replace("'", "\\'")
        data = await self._query(ONE_SKU, {"query": f"sku:'{escaped}'"}, cost=620)
        rows = []
        for raw in data.obj("inventoryItems").list("nodes"):
            item = Fields(self.system, "inventoryItem", raw)
            if item.text("sku", optional=True) != sku:  # the search is not an exact match
                continue
            for level in item.obj("inventoryLevels").list("nodes"):
                rows.append(self._level(level, sku, _variant_name(raw)))
        yield Page(counts=rows)

    # -- bulk operations ------------------------------------------------------------------
    async def _bulk(self) -> AsyncIterator[Page]:
        operation = await self._start_bulk()
        url = await self._wait_for(operation)
        if url is None:  # Shopify gives no file when the query matched nothing
            return
        # A broken download starts over: staging is keyed, so rows read twice count once.
        attempt = 0
        while True:
            try:
                async for page in self._read_jsonl(url):
                    yield page
                return
            except (httpx.TransportError, _DownloadFailed) as exc:
                if attempt >= self.client.settings.retries:
                    raise UnavailableError(
                        f"{self.system}: bulk file download failed: {exc} "
                        f"(gave up after {attempt + 1} attempts)") from None
                attempt += 1
                self.stats.retries += 1
                await self._sleep(self.client.backoff(attempt))

    async def _start_bulk(self) -> str:
        for _ in range(30):
            data = await self._query(self._run_bulk, {"query": BULK_QUERY})
            result = data.obj("bulkOperationRunQuery")
            errors = result.record.get("userErrors") or []
            if not errors:
                return result.obj("bulkOperation").text("id")
            codes = {e.get("code") for e in errors if isinstance(e, dict)}
            if "OPERATION_IN_PROGRESS" not in codes:
                raise SourceError(f"{self.system}: bulk query refused: "
                                  f"{short(errors[0].get('message', errors[0]))}")
            await self._sleep(max(self._poll, 1.0))  # one bulk query per shop at a time
        raise SourceError(f"{self.system}: another bulk operation kept running; try later")

    async def _wait_for(self, operation: str) -> str | None:
        delay = self._poll
        while True:
            node = (await self._query(POLL_BULK, {"id": operation})).obj("node")
            status = node.text("status")
            if status == "COMPLETED":
                return node.text("url", optional=True)
            if status not in ("CREATED", "RUNNING"):
                code = node.text("errorCode", optional=True) or "no error code"
                raise SourceError(f"{self.system}: bulk operation {status.lower()} ({code})")
            await self._sleep(delay)
            delay = min(delay * 1.5, 5.0)

    async def _read_jsonl(self, url: str) -> AsyncIterator[Page]:
        """Stream the bulk file: an item line, then (grouped) its inventory-level lines.

        Memory stays flat however large the catalogue: only the most recent items are
        remembered, and levels whose item has not appeared yet wait in a bounded buffer.
        """
        recent: OrderedDict[str, tuple[str | None, str | None]] = OrderedDict()
        orphans: dict[str, list[dict]] = {}
        waiting = 0
        rows: list[CountRow] = []
        async with self.client.stream(url) as response:
            self.stats.requests += 1
            if response.status_code >= 500:
                raise _DownloadFailed(f"HTTP {response.status_code}")
            if response.status_code != 200:
                raise SourceError(f"{self.system}: bulk file download: HTTP "
                                  f"{response.status_code}")
            number = 0
            async for lines in _lines(response):
                for line in lines:
                    number += 1
                    record = _json_line(self.system, line, number)
                    if record is None:  # a blank line
                        continue
                    parent = record.get("__parentId")
                    if parent is None:
                        if "sku" not in record:  # selected fields are always present
                            raise PayloadError(f"{self.system}: bulk file line {number}: "
                                               "inventory item without a sku field")
                        item_id = Fields(self.system, "inventoryItem", record).text("id")
                        sku, name = record["sku"] or None, _variant_name(record)  # null: skip
                        recent[item_id] = (sku, name)
                        if len(recent) > RECENT_ITEMS:
                            recent.popitem(last=False)
                        for level in orphans.pop(item_id, ()):
                            waiting -= 1
                            if sku:
                                rows.append(self._level(level, sku, name))
                    elif parent in recent:
                        sku, name = recent[parent]
                        if sku:
                            try:  # self._level, without its wrapper's call: the hot line
                                rows.append(_quick_level(record, sku, name))
                            except (KeyError, TypeError, ValueError, AttributeError):
                                rows.append(self._careful_level(record, sku, name))
                    else:
                        orphans.setdefault(parent, []).append(record)
                        waiting += 1
                        if waiting > MAX_WAITING_LEVELS:
                            raise PayloadError(f"{self.system}: bulk file is not grouped by "
                                               f"item ({waiting} levels wait for their item)")
                if len(rows) >= BULK_ROWS_PER_PAGE:
                    yield Page(counts=rows)
                    rows = []
        if orphans:
            raise PayloadError(f"{self.system}: bulk file has {waiting} inventory levels "
                               "whose item never appeared (truncated file?)")
        if rows:
            yield Page(counts=rows)


def _quick_level(raw: dict, sku: str, name: str | None) -> CountRow:
    quantities = {q["name"]: q["quantity"] for q in raw["quantities"]}
    location, updated = raw["location"]["id"], raw["updatedAt"]
    if type(location) is not str or any(type(v) is not int for v in quantities.values()):
        raise TypeError
    return CountRow(sku, location, quantities.get("on_hand"), quantities.get("available"),
                    quantities.get("committed"), quantities.get("incoming"),
                    None if updated is None else iso_epoch(updated), name)


class _DownloadFailed(Exception):
    """A retryable answer from the storage service (5xx)."""


async def _lines(response: httpx.Response) -> AsyncIterator[list[bytes]]:
    """The lines of a streamed file, a chunk's worth at a time, split as bytes (orjson
    reads bytes: no text decoding, no line-decoder pass over every character)."""
    rest = b""
    async for chunk in response.aiter_bytes():
        lines = (rest + chunk if rest else chunk).split(b"\n")
        rest = lines.pop()
        if lines:
            yield lines
    if rest:
        yield [rest]


def _json_line(system: str, line: bytes, number: int) -> dict | None:
    """One JSONL record; None for a blank line."""
    try:
        record = orjson.loads(line)
    except ValueError:
        if not line.strip():
            return None
        raise PayloadError(f"{system}: bulk file line {number} is not JSON "
                           f"(truncated download?)") from None
    if not isinstance(record, dict):
        raise PayloadError(f"{system}: bulk file line {number} is not an object")
    return record


def _variant_name(item: dict) -> str | None:
    variant = item.get("variant")
    name = variant.get("displayName") if isinstance(variant, dict) else None
    # Single-variant products are "<product> - Default Title"; the product is the name.
    return name.removesuffix(" - Default Title") if isinstance(name, str) else None


def _shopify_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
