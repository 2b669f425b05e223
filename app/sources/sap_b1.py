"""SAP Business One Service Layer (ERP role), from SAP's "Working with SAP Business One
Service Layer" manual (b1s/v1, OData v3-style JSON; b1s/v2, OData v4).

Session: POST {base_url}/b1s/{v1|v2}/Login with CompanyDB (`company`), UserName
(`username`) and Password (from `token_env`); the answer sets the B1SESSION and ROUTEID
cookies (ROUTEID pins the session to one node behind the load balancer), sent with every
request. A 401 mid-read ("Invalid session", after SessionTimeout idle minutes) logs in
again once; POST Logout at the end (sessions count against the licence).

Stock: Warehouses for the locations; Items with their ItemWarehouseInfoCollection, one
row per warehouse: InStock is on hand, Committed is allocated, available = InStock -
Committed (B1's own "available" adds Ordered, purchase quantity not yet received, which
no other system counts as stock); Ordered is not in transit, so in_transit is None. B1
stamps the item, not its warehouse rows: the item's UpdateDate + UpdateTime (server time,
`timezone`) is every row's update time. Incremental reads filter `UpdateDate ge` the day
(the filter has a day's precision). Pages: `Prefer: odata.maxpagesize=N` (the server's
default page is 20), then `odata.nextLink` (v1) / `@odata.nextLink` (v2), relative to the
service root, to the end. No rate-limit signal: overload shows as 5xx, retried.

Orders: PurchaseOrders with DocumentLines (LineNum, ItemCode, Quantity, WarehouseCode,
RemainingOpenQuantity, LineStatus). DocNum is a number; `number_prefix` is how the other
systems write it ("PO-" + 1042). B1 exposes no document version or change log here, so
version is None and the last update (UpdateDate + UpdateTime) stands for the newest
amendment. Events: B1 keeps stock postings in its journal, not in scope: none are read.

Errors: {"error": {"code": -304, "message": {"lang": "en-us", "value": "..."}}} (v1), the
message a plain string in v2.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from app.records import CountRow, LocationRow, OrderLineRow, Page
from app.sources.base import Fields, Window
from app.sources.errors import PayloadError
from app.sources.http import HttpSettings, short
from app.sources.odata import literal, next_link
from app.sources.session import SessionClient

MAX_PAGE = 500
ITEM_FIELDS = "ItemCode,ItemName,UpdateDate,UpdateTime,ItemWarehouseInfoCollection"
ORDER_FIELDS = ("DocEntry,DocNum,DocumentStatus,Cancelled,UpdateDate,UpdateTime,"
                "DocumentLines")
OPEN, CLOSED = "bost_Open", "bost_Close"


class SapB1Client(SessionClient):
    def __init__(self, system: str, base_url: str, root: str, credentials: dict,
                 settings: HttpSettings, **kwargs) -> None:
        super().__init__(system, base_url, {"Accept": "application/json"}, settings,
                         secrets=[credentials["Password"]], **kwargs)
        self.login_path, self.logout_path = f"{root}/Login", f"{root}/Logout"
        self._credentials = credentials

    def login_body(self) -> dict:
        return dict(self._credentials)

    def error_text(self, response: httpx.Response) -> str:
        try:
            error = response.json()["error"]
            message = error.get("message")
            if isinstance(message, dict):
                message = message.get("value")
            return short(f"{error.get('code')}: {message}")
        except (ValueError, KeyError, TypeError, AttributeError):
            return short(response.text)


class SapB1Connector:
    kind = "sap-b1"

    def __init__(self, system: str, base_url: str, password: str, settings: HttpSettings, *,
                 company: str, username: str, api_version: str | None = None,
                 timezone: str = "UTC", number_prefix: str = "", page_size: int | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep=asyncio.sleep) -> None:
        self.system = system
        self.root = f"/b1s/{api_version or 'v1'}"
        self.base_url = base_url
        self.page = min(page_size or 100, MAX_PAGE)
        self.zone = ZoneInfo(timezone)
        self.number_prefix = number_prefix
        self.client = SapB1Client(
            system, base_url, self.root,
            {"CompanyDB": company, "UserName": username, "Password": password}, settings,
            transport=transport, sleep=sleep)
        self.stats = self.client.stats

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _pages(self, entity: str, params: dict) -> AsyncIterator[list]:
        url: str | None = f"{self.root}/{entity}"
        query: dict | None = params
        prefer = {"Prefer": f"odata.maxpagesize={self.page}"}
        while url is not None:
            body = await self.client.get_json(url, params=query, headers=prefer)
            value = Fields(self.system, entity, body).list("value")
            yield value
            link = next_link(body)
            url, query = (self._follow(link), None) if link else (None, None)

    def _follow(self, link: str) -> str:
        """A next link, relative to the service root ("Items?$skip=20"), to the root
        ("/b1s/v1/Items?..."), or absolute on this server; never elsewhere (the session
        cookie goes with it)."""
        if link.startswith(("http://", "https://")):
            if not link.startswith(self.base_url + "/"):
                raise PayloadError(f"{self.system}: odata.nextLink points off the server: "
                                   f"{short(link, 80)!r}")
            return link[len(self.base_url):]
        return link if link.startswith("/") else f"{self.root}/{link}"

    def _stamp(self, record: Fields) -> int | None:
        """UpdateDate ("2026-11-30", v2 with "T00:00:00Z") + UpdateTime ("14:55:00") in
        the server's zone."""
        day = record.text("UpdateDate", optional=True)
        if day is None:
            return None
        clock = record.text("UpdateTime", optional=True) or "00:00:00"
        try:
            at = datetime.fromisoformat(f"{day[:10]}T{clock}")
        except ValueError:
            raise PayloadError(f"{self.system}: {record.what}.UpdateDate/UpdateTime is not a "
                               f"time: {short(day + ' ' + clock, 60)!r}") from None
        return int(at.replace(tzinfo=self.zone).timestamp())

    def _since(self, epoch: int | None) -> str | None:
        if epoch is None:
            return None
        day = datetime.fromtimestamp(epoch, self.zone).strftime("%Y-%m-%d")
        return f"UpdateDate ge {literal(day)}"

    def _counts(self, items: list) -> list[CountRow]:
        rows = []
        for raw in items:
            item = Fields(self.system, "Items", raw)
            sku = item.text("ItemCode")
            name, updated = item.text("ItemName", optional=True), self._stamp(item)
            for i, info in enumerate(item.list("ItemWarehouseInfoCollection")):
                where = Fields(self.system, f"Items({sku}).ItemWarehouseInfoCollection[{i}]",
                               info)
                on_hand, committed = where.quantity("InStock"), where.quantity("Committed")
                rows.append(CountRow(sku, where.text("WarehouseCode"), on_hand,
                                     on_hand - committed, committed, None, updated, name))
        return rows

    async def _warehouses(self) -> list[LocationRow]:
        rows = []
        params = {"$select": "WarehouseCode,WarehouseName"}
        async for page in self._pages("Warehouses", params):
            for raw in page:
                warehouse = Fields(self.system, "Warehouses", raw)
                rows.append(LocationRow(warehouse.text("WarehouseCode"),
                                        warehouse.text("WarehouseName", optional=True)))
        return rows

    async def read(self, window: Window) -> AsyncIterator[Page]:
        yield Page(locations=await self._warehouses())
        params = {"$select": ITEM_FIELDS, "$orderby": "ItemCode"}
        if (since := self._since(window.counts_since)) is not None:
            params["$filter"] = since
        async for items in self._pages("Items", params):
            yield Page(counts=self._counts(items))
        params = {"$select": ORDER_FIELDS, "$orderby": "DocEntry"}
        if (since := self._since(window.orders_since)) is not None:
            params["$filter"] = since
        async for documents in self._pages("PurchaseOrders", params):
            yield Page(orders=[row for raw in documents for row in self._order(raw)])

    async def read_sku(self, sku: str) -> AsyncIterator[Page]:
        params = {"$select": ITEM_FIELDS, "$filter": f"ItemCode eq {literal(sku)}"}
        async for items in self._pages("Items", params):
            yield Page(counts=self._counts(items))

    def _order(self, raw: dict) -> list[OrderLineRow]:
        document = Fields(self.system, "PurchaseOrders", raw)
        entry, number = document.int("DocEntry"), document.int("DocNum")
        updated = self._stamp(document)
        cancelled = raw.get("Cancelled") == "tYES"
        rows = []
        for i, line_raw in enumerate(document.list("DocumentLines")):
            line = Fields(self.system, f"PurchaseOrders({entry}).DocumentLines[{i}]", line_raw)
            quantity = line.quantity("Quantity")
            remaining = line.quantity("RemainingOpenQuantity", optional=True)
            closed = CLOSED in (line.text("LineStatus", optional=True),
                                document.text("DocumentStatus", optional=True))
            rows.append(OrderLineRow(
                number=f"{self.number_prefix}{number}", line=str(line.int("LineNum")),
                sku=line.text("ItemCode"), kind="purchase",
                location_id=line.text("WarehouseCode", optional=True), quantity=quantity,
                changed_at=updated, amended_at=updated,
                status="Cancelled" if cancelled else "Closed" if closed else "Open",
                shipped=None if remaining is None else quantity - remaining,
                source_id=f"{entry}:{line.int('LineNum')}"))
        return rows
