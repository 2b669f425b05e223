"""Simulated BigCommerce REST v3 (storefront), written from BigCommerce's developer docs,
independently of the connector.

Under /stores/{store_hash}/v3 (store hash `simstore`), `X-Auth-Token` = the simulator's
token (else 401):
- `GET /catalog/products` (`include=variants`, `include_fields`, `id:in`,
  `date_modified:min`), `GET /catalog/variants` (`sku`), `GET /inventory/locations`,
  `GET /inventory/locations/{id}/items` (`variant_id:in`): {"data": [...], "meta":
  {"pagination": {"total", "count", "per_page", "current_page", "total_pages", "links":
  {"previous"?, "current", "next"?}}}}, `page` + `limit` (1..250, else 422).
- Each location item: {"identity": {"sku", "variant_id", "product_id", "sku_id"},
  "settings": {"safety_stock", "is_in_stock", "warning_level", "bin_picking_number"},
  "available_to_sell", "total_inventory_onhand"}; one variant per product here, the
  product's date_modified the newest update of its stock anywhere.
- Rate limits as BigCommerce runs them: a window of `[limits.storefront] bucket`
  requests (default 150) per 30 s; every answer carries X-Rate-Limit-Requests-Quota,
  -Requests-Left, -Time-Window-Ms and -Time-Reset-Ms; past the quota (or on a throttle
  fault) 429 with the same headers.
- Errors: {"status", "title", "type"} (and "errors" on a 422).
"""

from __future__ import annotations

import math
import time
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.simulator.vendor import VendorSim, json_response, utc_text
from app.simulator.world import SimLocation, World

STORE_HASH = "simstore"
WINDOW_MS = 30_000
DEFAULT_QUOTA = 150
MAX_LIMIT = 250
DEFAULT_LIMIT = 50
TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"


def location_id(loc: SimLocation) -> int:
    return loc.index + 1


class BigCommerceSim(VendorSim):
    role = "storefront"

    def __init__(self, world: World, token: str) -> None:
        super().__init__(world, token)
        limits = world.limits.get(self.role)
        self.quota = int(limits.bucket) if limits else DEFAULT_QUOTA
        self._window_start, self._used = time.monotonic(), 0

    def routes(self) -> list[Route]:
        root = f"/stores/{STORE_HASH}/v3"
        return [Route(f"{root}/catalog/products", self.products, methods=["GET"]),
                Route(f"{root}/catalog/variants", self.variants, methods=["GET"]),
                Route(f"{root}/inventory/locations", self.locations, methods=["GET"]),
                Route(f"{root}/inventory/locations/{{id:int}}/items", self.items,
                      methods=["GET"])]

    # -- vendor answers ------------------------------------------------------------------
    def _problem(self, status: int, title: str, **extra) -> Response:
        return json_response({"status": status, "title": title, "type": TYPE, **extra},
                             status, headers=self._limit_headers())

    def authorized(self, request: Request) -> bool:
        return request.headers.get("X-Auth-Token") == self.token

    def unauthorized(self) -> Response:
        return self._problem(401, "You are not authorized to access this resource.")

    def throttle(self) -> Response:
        headers = self._limit_headers()
        headers["X-Rate-Limit-Requests-Left"] = "0"
        return json_response({"status": 429, "title": "Too many requests", "type": TYPE},
                             429, headers=headers)

    def error(self) -> Response:
        return self._problem(500, "Internal Server Error")

    def _spend(self) -> bool:
        """One request from the window; False when the quota is spent."""
        now = time.monotonic()
        if (now - self._window_start) * 1000 >= WINDOW_MS:
            self._window_start, self._used = now, 0
        self._used += 1
        return self._used <= self.quota

    def _limit_headers(self) -> dict:
        elapsed = (time.monotonic() - self._window_start) * 1000
        return {"X-Rate-Limit-Requests-Quota": str(self.quota),
                "X-Rate-Limit-Requests-Left": str(max(0, self.quota - self._used)),
                "X-Rate-Limit-Time-Window-Ms": str(WINDOW_MS),
                "X-Rate-Limit-Time-Reset-Ms": str(max(1, math.ceil(WINDOW_MS - elapsed)))}

    async def _listing(self, request: Request, rows_of) -> Response:
        async def answer() -> Response:
            if not self._spend():
                return self.throttle()
            params = request.query_params
            try:
                limit = int(params.get("limit", DEFAULT_LIMIT))
                page = int(params.get("page", 1))
            except ValueError:
                limit, page = -1, -1
            if not 1 <= limit <= MAX_LIMIT or page < 1:
                return self._problem(422, "Input is invalid", errors={
                    "limit": f"must be between 1 and {MAX_LIMIT}", "page": "must be 1 or more"})
            rows = rows_of(params)
            pages = max(1, math.ceil(len(rows) / limit))
            data = rows[(page - 1) * limit:page * limit]

            def link(at: int) -> str:
                return "?" + urlencode({**params, "page": at, "limit": limit}, safe=":,")

            links = {"current": link(page)}
            if page > 1:
                links["previous"] = link(page - 1)
            if page < pages:
                links["next"] = link(page + 1)
            return json_response({"data": data, "meta": {"pagination": {
                "total": len(rows), "count": len(data), "per_page": limit,
                "current_page": page, "total_pages": pages, "links": links}}},
                headers=self._limit_headers())

        return await self.guarded(request, answer)

    # -- the store ---------------------------------------------------------------------------
    def _catalog(self) -> list[dict]:
        """One product per item, one variant each; date_modified = its newest stock change."""
        def build() -> list[dict]:
            newest: dict[str, int] = {}
            for (location, sku), count in self.world.view(self.role).items():
                if count[4] is not None and self.role in \
                        self.world.location_index[location].systems:
                    newest[sku] = max(newest.get(sku, 0), count[4])
            products = []
            for item in self.world.items:
                at = newest.get(item.sku, self.world.base_now - 90 * 86400)
                products.append({
                    "id": 100 + item.index, "name": item.name or item.sku, "sku": "",
                    "type": "physical", "inventory_tracking": "variant",
                    "date_modified": utc_text(at) + "+00:00",
                    "variants": [{"id": 500 + item.index, "product_id": 100 + item.index,
                                  "sku": item.sku, "sku_id": 900 + item.index,
                                  "inventory_level": self._total(item.sku)}]})
            return products

        return self.memo(("catalog",), build)

    def _total(self, sku: str) -> int:
        return sum(count[0] or 0 for (location, s), count in self.world.view(self.role).items()
                   if s == sku and self.role in self.world.location_index[location].systems)

    async def products(self, request: Request) -> Response:
        def rows(params) -> list[dict]:
            products = self._catalog()
            if "id:in" in params:
                wanted = {int(i) for i in params["id:in"].split(",") if i.strip().isdigit()}
                products = [p for p in products if p["id"] in wanted]
            if "date_modified:min" in params:
                products = [p for p in products
                            if p["date_modified"] >= params["date_modified:min"]]
            fields = params.get("include_fields")
            keep = {"id", *fields.split(",")} if fields else None
            include = "variants" in params.get("include", "").split(",")
            return [{k: v for k, v in p.items() if (keep is None or k in keep) and
                     (k != "variants" or include)} | ({"variants": p["variants"]}
                                                      if include else {})
                    for p in products]

        return await self._listing(request, rows)

    async def variants(self, request: Request) -> Response:
        def rows(params) -> list[dict]:
            found = [p["variants"][0] for p in self._catalog()]
            return [v for v in found if "sku" not in params or v["sku"] == params["sku"]]

        return await self._listing(request, rows)

    async def locations(self, request: Request) -> Response:
        def rows(params) -> list[dict]:
            return [{"id": location_id(loc), "code": f"BC-{loc.code}", "label": loc.name,
                     "description": "", "type_id": "PHYSICAL", "enabled": True,
                     "storefront_visibility": True, "managed_by_external_source": False}
                    for loc in self.world.locations_of(self.role)]

        return await self._listing(request, rows)

    async def items(self, request: Request) -> Response:
        wanted_id = request.path_params["id"]
        if not any(location_id(loc) == wanted_id for loc in self.world.locations_of(self.role)):
            async def missing() -> Response:
                return self._problem(404, "Location not found")

            return await self.guarded(request, missing)  # the token is checked first

        def rows(params) -> list[dict]:
            loc = next(loc for loc in self.world.locations_of(self.role)
                       if location_id(loc) == wanted_id)
            variants = None
            if "variant_id:in" in params:
                variants = {int(v) for v in params["variant_id:in"].split(",")
                            if v.strip().isdigit()}
            view, out = self.world.view(self.role), []
            for item in self.world.items:
                count = view.get((loc.code, item.sku))
                if count is None or (variants is not None and 500 + item.index not in variants):
                    continue
                on_hand, available = count[0] or 0, count[1] or 0
                out.append({"identity": {"sku": item.sku, "variant_id": 500 + item.index,
                                         "product_id": 100 + item.index,
                                         "sku_id": 900 + item.index},
                            "settings": {"safety_stock": 0, "is_in_stock": available > 0,
                                         "warning_level": 0, "bin_picking_number": ""},
                            "available_to_sell": available,
                            "total_inventory_onhand": on_hand})
            return out

        return await self._listing(request, rows)
