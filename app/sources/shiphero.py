"""ShipHero public GraphQL API (WMS role).

POST {base_url}/graphql with a Bearer token. Warehouses come from `account`, stock from
`warehouse_products` per warehouse (cursor paging on its `data` connection, `updated_from`
for incremental reads), events from `inventory_changes`. ShipHero throttles by credits:
an HTTP 200 whose error has `code: 30` and a `time_remaining` such as "4 seconds".
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx

from app.records import CountRow, EventRow, LocationRow, Page
from app.sources.base import Fields, Window, iso_epoch, merge, quick_or_careful
from app.sources.errors import PayloadError
from app.sources.http import HttpSettings, Throttle, Transient, VendorClient, short

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


class ShipHeroClient(VendorClient):
    def check(self, response: httpx.Response) -> None:
        body = self.json(response)
        for error in (body.get("errors") or []) if isinstance(body, dict) else []:
            if isinstance(error, dict) and error.get("code") == NOT_ENOUGH_CREDITS:
                raise Throttle(_credit_wait(error), "not enough credits")
            if isinstance(error, dict) and "internal" in str(error.get("message", "")).lower():
                raise Transient(f"ShipHero error: {short(error.get('message', ''))}")

    def error_text(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return short(response.text)
        if isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                return short(str(errors[0].get("message", "")))
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
        # Big pages cost no more credits per row and save round trips; 500 rows stay far
        # below the 4,004-credit cap of one query.
        self.page_size = page_size or 500
        self.client = ShipHeroClient(
            system, base_url, {"Authorization": f"Bearer {token}"}, settings,
            secrets=[token], transport=transport, sleep=sleep)
        self.stats = self.client.stats
        self._warehouses: dict[str, tuple[str, str | None]] = {}  # id → (legacy id, name)
        self._product = quick_or_careful(_quick_product, self._careful_product)

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
        async for page in merge(streams, self.client.settings.max_concurrency):
            yield page

    async def _stock(self, warehouse: str, legacy: str, since: str | None):
        variables = {"warehouse": warehouse, "since": since, "sku": None}
        async for edges in self._pages(PRODUCTS, "warehouse_products", variables):
            yield Page(counts=[self._product(_node(e), legacy) for e in edges])

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
                rows += [self._product(_node(e), legacy) for e in edges]
        yield Page(counts=[r for r in rows if r.sku == sku])


def _quick_product(node: dict, legacy: str) -> CountRow:
    sku, on_hand, available, allocated = (node["sku"], node["on_hand"], node["available"],
                                          node["allocated"])
    if not (type(sku) is str and sku and type(on_hand) is type(available) is type(allocated)
            is int):
        raise TypeError
    updated, product = node["updated_at"], node.get("product")
    return CountRow(sku, legacy, on_hand, available, allocated, None,
                    None if updated is None else iso_epoch(updated),
                    product.get("name") if type(product) is dict else None)


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
