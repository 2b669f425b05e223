"""Acumatica contract-based REST API (ERP role), from Acumatica's "Integration
Development Guide" (contract-based REST: the Default endpoint).

Session: POST {base_url}/entity/auth/login with {"name", "password", "company"} (the
password from `token_env`); the answer (204) sets the .ASPXAUTH and ASP.NET_SessionId
cookies, sent with every request; a 401 mid-read (session timed out) logs in again once;
POST /entity/auth/logout at the end (API logins count against the licence's limit).
Reads: /entity/Default/{api_version}/Warehouse for the locations, then StockItem with
`$expand=WarehouseDetails`: every field is wrapped ({"InventoryID": {"value": "..."}});
each warehouse detail gives WarehouseID, QtyOnHand (on hand) and QtyAvailable
(available); committed = on hand - available (no separate field is read), no in-transit
figure (None). The item's LastModified (ISO 8601 with offset) is each row's update time;
incremental reads filter `LastModified gt datetimeoffset'...'`. Pages: $top/$skip until a
page comes back short (the answer is a bare JSON array, no next link). Throttling: the
licence's request rate answers 429 (Retry-After when present, else back off). Errors:
{"message", "exceptionMessage"?}. Events and orders: not in scope here; none are read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx

from app.records import CountRow, LocationRow, Page
from app.sources.base import Fields, Window, iso_epoch
from app.sources.errors import PayloadError
from app.sources.http import HttpSettings, short
from app.sources.odata import literal, skip_pages
from app.sources.session import SessionClient

DEFAULT_VERSION = "23.200.001"
ITEM_FIELDS = ("InventoryID,Description,LastModified,WarehouseDetails/WarehouseID,"
               "WarehouseDetails/QtyOnHand,WarehouseDetails/QtyAvailable")


class AcumaticaClient(SessionClient):
    login_path, logout_path = "/entity/auth/login", "/entity/auth/logout"

    def __init__(self, system: str, base_url: str, credentials: dict,
                 settings: HttpSettings, **kwargs) -> None:
        super().__init__(system, base_url, {"Accept": "application/json"}, settings,
                         secrets=[credentials["password"]], **kwargs)
        self._credentials = credentials

    def login_body(self) -> dict:
        return dict(self._credentials)

    def error_text(self, response: httpx.Response) -> str:
        try:
            body = response.json()
            return short(body.get("exceptionMessage") or body.get("message") or response.text)
        except (ValueError, AttributeError):
            return short(response.text)


def _value(record: Fields, key: str) -> Fields:
    """An Acumatica field: {"value": ...} (an empty field may be {} or missing)."""
    wrapped = record.record.get(key)
    return Fields(record.system, f"{record.what}.{key}", wrapped if wrapped is not None else {})


class AcumaticaConnector:
    kind = "acumatica"

    def __init__(self, system: str, base_url: str, password: str, settings: HttpSettings, *,
                 company: str, username: str, api_version: str | None = None,
                 page_size: int | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep=asyncio.sleep) -> None:
        self.system = system
        self.endpoint = f"/entity/Default/{api_version or DEFAULT_VERSION}"
        self.top = page_size or 500
        self.client = AcumaticaClient(
            system, base_url, {"name": username, "password": password, "company": company},
            settings, transport=transport, sleep=sleep)
        self.stats = self.client.stats

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _list(self, entity: str, params: dict) -> AsyncIterator[list]:
        async def fetch(skip: int, top: int) -> list:
            body = await self.client.get_json(f"{self.endpoint}/{entity}",
                                              params={**params, "$top": top, "$skip": skip})
            if not isinstance(body, list):
                raise PayloadError(f"{self.system}: {entity}: the answer should be a list of "
                                   f"records, got {short(repr(body), 60)}")
            return body

        async for page in skip_pages(fetch, self.top):
            yield page

    async def _warehouses(self) -> list[LocationRow]:
        rows = []
        async for page in self._list("Warehouse", {"$select": "WarehouseID,Description"}):
            for raw in page:
                warehouse = Fields(self.system, "Warehouse", raw)
                rows.append(LocationRow(_value(warehouse, "WarehouseID").text("value"),
                                        _value(warehouse, "Description").text(
                                            "value", optional=True)))
        return rows

    def _counts(self, items: list) -> list[CountRow]:
        rows = []
        for raw in items:
            item = Fields(self.system, "StockItem", raw)
            sku = _value(item, "InventoryID").text("value")
            name = _value(item, "Description").text("value", optional=True)
            updated = _value(item, "LastModified").time("value", iso_epoch)
            # Expanded, the collection is there; an item with no warehouse may send null.
            details = [] if raw.get("WarehouseDetails") is None else \
                item.list("WarehouseDetails")
            for i, detail_raw in enumerate(details):
                detail = Fields(self.system, f"StockItem {sku} WarehouseDetails[{i}]",
                                detail_raw)
                on_hand = _value(detail, "QtyOnHand").quantity("value")
                available = _value(detail, "QtyAvailable").quantity("value")
                rows.append(CountRow(sku, _value(detail, "WarehouseID").text("value"), on_hand,
                                     available, on_hand - available, None, updated, name))
        return rows

    async def read(self, window: Window) -> AsyncIterator[Page]:
        yield Page(locations=await self._warehouses())
        params = {"$expand": "WarehouseDetails", "$select": ITEM_FIELDS}
        if window.counts_since is not None:
            since = datetime.fromtimestamp(window.counts_since, UTC).isoformat()
            params["$filter"] = f"LastModified gt datetimeoffset'{since}'"
        async for items in self._list("StockItem", params):
            yield Page(counts=self._counts(items))

    async def read_sku(self, sku: str) -> AsyncIterator[Page]:
        params = {"$expand": "WarehouseDetails", "$select": ITEM_FIELDS,
                  "$filter": f"InventoryID eq {literal(sku)}"}
        async for items in self._list("StockItem", params):
            yield Page(counts=self._counts(items))
