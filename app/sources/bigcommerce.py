"""BigCommerce REST v3 (storefront role), from BigCommerce's developer docs (Catalog
API: products and variants; Inventory API: locations and items per location).

Auth: the store's API account token in `X-Auth-Token`; base_url is
https://api.bigcommerce.com/stores/{store_hash}. Reads: the inventory locations
(`/v3/inventory/locations`), the catalog products with their variants
(`/v3/catalog/products?include=variants`: variant SKU and id, the product's name and
`date_modified`), then each location's items (`/v3/inventory/locations/{id}/items`:
`identity.sku`, `total_inventory_onhand` as on hand, `available_to_sell` as available).
BigCommerce keeps no per-location update time: the product's date_modified stands for
it, and no committed or in-transit figure per location (None). Every read is whole: the
Inventory API has no changed-since filter. Pages: `limit` + the `meta.pagination`
of each answer (its `links.next`, page- or cursor-style, else current_page <
total_pages). Rate limits: every answer says X-Rate-Limit-Requests-Left and
X-Rate-Limit-Time-Reset-Ms; at zero left the next request waits for the window's
reset, and a 429 waits X-Rate-Limit-Time-Reset-Ms. Errors: {"status", "title", "type",
"errors"?}. Events and orders: not in scope for a storefront here; none are read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import httpx

from app.records import CountRow, LocationRow, Page
from app.sources.base import Fields, Window, iso_epoch
from app.sources.errors import PayloadError
from app.sources.http import HttpSettings, VendorClient, short

MAX_LIMIT = 250  # catalog and inventory pages hold at most 250 rows


class BigCommerceClient(VendorClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.left: int | None = None  # requests left in the current window
        self.reset_ms = 0.0

    def check(self, response: httpx.Response) -> None:
        self._note_limits(response)

    def throttle_wait(self, response: httpx.Response) -> float | None:
        self._note_limits(response)
        self.left = None  # the wait below covers it
        return self.reset_ms / 1000 if self.reset_ms else None

    def _note_limits(self, response: httpx.Response) -> None:
        try:
            self.left = int(response.headers["X-Rate-Limit-Requests-Left"])
            self.reset_ms = float(response.headers.get("X-Rate-Limit-Time-Reset-Ms", 0))
        except (KeyError, ValueError):
            pass

    async def pace(self, cost: float) -> None:
        if self.left is not None and self.left <= 0 and self.reset_ms > 0:
            # The window is spent: wait for its reset rather than earn a 429.
            self.stats.throttled += 1
            wait, self.left = self.reset_ms / 1000, None
            await self._sleep(wait)

    def error_text(self, response: httpx.Response) -> str:
        try:
            body = response.json()
            errors = body.get("errors")
            detail = "; ".join(f"{k}: {v}" for k, v in errors.items()) \
                if isinstance(errors, dict) else ""
            return short(f"{body.get('title', '')}{' (' + detail + ')' if detail else ''}")
        except (ValueError, AttributeError):
            return short(response.text)


class BigCommerceConnector:
    kind = "bigcommerce"

    def __init__(self, system: str, base_url: str, token: str, settings: HttpSettings,
                 page_size: int | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep=asyncio.sleep) -> None:
        self.system = system
        self.limit = min(page_size or MAX_LIMIT, MAX_LIMIT)
        self.client = BigCommerceClient(
            system, base_url, {"X-Auth-Token": token, "Accept": "application/json"},
            settings, secrets=[token], transport=transport, sleep=sleep)
        self.stats = self.client.stats

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _pages(self, path: str, params: dict) -> AsyncIterator[list]:
        query = {**params, "limit": self.limit}
        while True:
            body = self.client.json(await self.client.request("GET", path, params=query))
            answer = Fields(self.system, path, body)
            yield answer.list("data")
            following = self._next(answer, query)
            if following is None:
                return
            query = following

    def _next(self, answer: Fields, query: dict) -> dict | None:
        meta = answer.record.get("meta")
        pagination = meta.get("pagination") if isinstance(meta, dict) else None
        if not isinstance(pagination, dict):
            raise PayloadError(f"{self.system}: {answer.what}.meta.pagination is missing")
        links = pagination.get("links") if isinstance(pagination.get("links"), dict) else {}
        link = links.get("next")
        if isinstance(link, str) and link:
            # "?page=2&limit=50" or "?after=…": what it says, over what we asked
            return {**query, **dict(parse_qsl(urlsplit(link).query))}
        current, total = pagination.get("current_page"), pagination.get("total_pages")
        if type(current) is int and type(total) is int and current < total:
            return {**query, "page": current + 1}
        return None

    async def _locations(self) -> list[LocationRow]:
        rows = []
        async for data in self._pages("/v3/inventory/locations", {}):
            for raw in data:
                location = Fields(self.system, "location", raw)
                rows.append(LocationRow(str(location.int("id")),
                                        location.text("label", optional=True)))
        return rows

    async def _variants(self, params: dict) -> dict[int, tuple[str, str | None, int | None]]:
        """variant id → (SKU, product name, product date_modified)."""
        found = {}
        params = {"include": "variants", "include_fields": "name,date_modified", **params}
        async for data in self._pages("/v3/catalog/products", params):
            for raw in data:
                product = Fields(self.system, "product", raw)
                name = product.text("name", optional=True)
                modified = product.time("date_modified", iso_epoch)
                for i, variant_raw in enumerate(product.list("variants")):
                    variant = Fields(self.system, f"product {product.int('id')} variants[{i}]",
                                     variant_raw)
                    sku = variant.text("sku", optional=True)
                    if sku:  # a variant without a SKU cannot be compared with anything
                        found[variant.int("id")] = (sku, name, modified)
        return found

    def _counts(self, data: list, location: str, variants: dict) -> list[CountRow]:
        rows = []
        for raw in data:
            item = Fields(self.system, f"location {location} item", raw)
            identity = item.obj("identity")
            sku = identity.text("sku")
            _, name, modified = variants.get(identity.int("variant_id", optional=True),
                                             (sku, None, None))
            rows.append(CountRow(sku, location, item.int("total_inventory_onhand"),
                                 item.int("available_to_sell"), None, None, modified, name))
        return rows

    async def read(self, window: Window) -> AsyncIterator[Page]:
        locations = await self._locations()
        yield Page(locations=locations)
        variants = await self._variants({})
        for location in locations:
            path = f"/v3/inventory/locations/{location.location_id}/items"
            async for data in self._pages(path, {}):
                yield Page(counts=self._counts(data, location.location_id, variants))

    async def read_sku(self, sku: str) -> AsyncIterator[Page]:
        locations = await self._locations()
        products = set()
        async for data in self._pages("/v3/catalog/variants", {"sku": sku}):
            for raw in data:
                products.add(Fields(self.system, "variant", raw).int("product_id"))
        if not products:
            return
        ids = ",".join(str(p) for p in sorted(products))
        variants = {v: found for v, found in (await self._variants({"id:in": ids})).items()
                    if found[0] == sku}
        if not variants:
            return
        rows = []
        params = {"variant_id:in": ",".join(str(v) for v in variants)}
        for location in locations:
            path = f"/v3/inventory/locations/{location.location_id}/items"
            async for data in self._pages(path, params):
                rows += [r for r in self._counts(data, location.location_id, variants)
                         if r.sku == sku]
        yield Page(counts=rows)
