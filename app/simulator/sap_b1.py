"""Simulated SAP Business One Service Layer (ERP), written from SAP's "Working with SAP
Business One Service Layer" manual, independently of the connector.

- `POST /b1s/v1/Login` (or v2) with {"CompanyDB", "UserName", "Password"}: the
  password is the simulator's token and the company `SBODEMOUS`; answers
  {"odata.metadata", "SessionId", "Version", "SessionTimeout": 30} and sets the
  B1SESSION and ROUTEID cookies. `POST Logout` ends the session (204).
- Every other request needs a live B1SESSION cookie, else 401 with code 301 "Invalid
  session." (also after `[faults.erp] session_expires_after` requests in one session).
- `GET Warehouses`, `Items` (with ItemWarehouseInfoCollection: InStock, Committed,
  Ordered per warehouse; UpdateDate + UpdateTime for the item as a whole),
  `PurchaseOrders` (DocumentLines), with $select, $filter (`X eq '..'`, `UpdateDate ge
  '2026-11-30'`), $orderby, $top, $skip. Pages hold 20 rows unless `Prefer:
  odata.maxpagesize=N` says otherwise (answered with Preference-Applied); more rows
  give `odata.nextLink` ("Items?...&$skip=20", relative to the service root). v2 writes
  "@odata.context" / "@odata.nextLink", dates with a time part and error messages as
  plain strings; v1 writes {"error": {"code", "message": {"lang", "value"}}}.
- No rate limit of its own: a throttle fault is the load balancer's 503.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.simulator.odata_query import QueryError, parse_filter, select, window
from app.simulator.vendor import VendorSim, json_response, utc_text
from app.simulator.world import SimLocation, World

COMPANY = "SBODEMOUS"
DEFAULT_PAGE = 20
SESSION_TIMEOUT = 30
FILTERABLE = {"Items": {"ItemCode", "UpdateDate"}, "Warehouses": {"WarehouseCode"},
              "PurchaseOrders": {"DocNum", "UpdateDate"}}


def warehouse_code(loc: SimLocation) -> str:
    return f"{loc.index + 1:02d}"


def _number(number: str, fallback: int) -> int:
    digits = re.sub(r"\D", "", number)
    return int(digits) if digits else fallback


class SapB1Sim(VendorSim):
    role = "erp"

    def __init__(self, world: World, token: str) -> None:
        super().__init__(world, token)
        self.sessions: dict[str, int] = {}  # B1SESSION → requests made in it

    def routes(self) -> list[Route]:
        routes = []
        for version in ("v1", "v2"):
            root = f"/b1s/{version}"
            routes += [Route(f"{root}/Login", self.login, methods=["POST"]),
                       Route(f"{root}/Logout", self.logout, methods=["POST"])]
            routes += [Route(f"{root}/{entity}", self.collection, methods=["GET"])
                       for entity in FILTERABLE]
        return routes

    # -- vendor answers ------------------------------------------------------------------
    def _error(self, request: Request | None, status: int, code: int, text: str) -> Response:
        v2 = request is not None and "/b1s/v2/" in request.url.path
        message = text if v2 else {"lang": "en-us", "value": text}
        return json_response({"error": {"code": code, "message": message}}, status)

    def authorized(self, request: Request) -> bool:
        if request.url.path.endswith("/Login"):
            return True  # the login checks its body itself
        session = request.cookies.get("B1SESSION")
        if session not in self.sessions:
            return False
        self.sessions[session] += 1
        faults = self.world.faults.get(self.role)
        limit = faults.session_expires_after if faults else 0
        if limit and self.sessions[session] > limit:
            del self.sessions[session]  # timed out: a new login is needed
            return False
        return True

    def unauthorized(self) -> Response:
        return self._error(None, 401, 301, "Invalid session.")

    def throttle(self) -> Response:
        return Response("<html><body><h1>503 Service Unavailable</h1>No server is available "
                        "to handle this request.</body></html>", status_code=503,
                        media_type="text/html")

    def error(self) -> Response:
        return self._error(None, 500, -1, "Internal error (-1) occurred")

    # -- session ---------------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        async def answer() -> Response:
            try:
                body = orjson.loads(await request.body())
                company, user, password = (body["CompanyDB"], body["UserName"],
                                           body["Password"])
            except (ValueError, KeyError, TypeError):
                return self._error(request, 400, -1000, "Invalid login request body")
            if password != self.token or company != COMPANY or not user:
                return self._error(request, 401, 100000027, "Login failed")
            session = secrets.token_hex(16)
            self.sessions[session] = 0
            v2 = "/b1s/v2/" in request.url.path
            root = request.scope.get("root_path", "") + "/b1s"
            context = "@odata.context" if v2 else "odata.metadata"
            response = json_response({context: f"{request.base_url}b1s/$metadata#B1Sessions"
                                      "/@Element", "SessionId": session,
                                      "Version": "1000190", "SessionTimeout": SESSION_TIMEOUT})
            response.set_cookie("B1SESSION", session, path=root, httponly=True)
            response.set_cookie("ROUTEID", ".node1", path=root)
            return response

        return await self.guarded(request, answer)

    async def logout(self, request: Request) -> Response:
        self.sessions.pop(request.cookies.get("B1SESSION", ""), None)
        return Response(status_code=204)

    # -- collections -------------------------------------------------------------------------
    async def collection(self, request: Request) -> Response:
        entity = request.url.path.rsplit("/", 1)[1]

        async def answer() -> Response:
            params = request.query_params
            try:
                skip, top = window(params, DEFAULT_PAGE)
                conditions = parse_filter(params.get("$filter"), FILTERABLE[entity])
            except QueryError as exc:
                return self._error(request, 400, -1000, str(exc))
            v2 = "/b1s/v2/" in request.url.path
            rows = self.memo((entity, v2), lambda: self._records(entity, v2))
            rows = [r for r in rows if all(c.holds(_filter_value(r, c.field))
                                           for c in conditions)]
            page = _page_size(request.headers.get("Prefer", ""))
            wanted = len(rows) - skip if top is None else min(top, len(rows) - skip)
            chunk = rows[skip:skip + max(0, min(page, wanted))]
            body: dict = {"@odata.context" if v2 else "odata.metadata":
                          f"{request.base_url}$metadata#{entity}",
                          "value": [select(r, params.get("$select")) for r in chunk]}
            if len(chunk) < wanted:
                rest = {k: v for k, v in params.items() if k not in ("$skip", "$top")}
                if top is not None:
                    rest["$top"] = str(top - len(chunk))
                rest["$skip"] = str(skip + len(chunk))
                body["@odata.nextLink" if v2 else "odata.nextLink"] = \
                    f"{entity}?{urlencode(rest, safe='$,')}"
            headers = {"Preference-Applied": f"odata.maxpagesize={page}"} \
                if "maxpagesize" in request.headers.get("Prefer", "") else None
            return json_response(body, headers=headers)

        return await self.guarded(request, answer)

    def _records(self, entity: str, v2: bool) -> list[dict]:
        if entity == "Warehouses":
            return [{"WarehouseCode": warehouse_code(loc), "WarehouseName": loc.name,
                     "Inactive": "tNO"} for loc in self.world.locations_of(self.role)]
        if entity == "Items":
            return self._items(v2)
        return self._purchase_orders(v2)

    def _stamp(self, epoch: int, v2: bool) -> dict:
        day, clock = utc_text(epoch).split("T")
        return {"UpdateDate": f"{day}T00:00:00Z" if v2 else day, "UpdateTime": clock}

    def _items(self, v2: bool) -> list[dict]:
        world = self.world
        per_item: dict[str, list] = {}
        for (location, sku), count in world.view(self.role).items():
            loc = world.location_index[location]
            if self.role in loc.systems:
                per_item.setdefault(sku, []).append((loc, count))
        items = []
        for item in world.items:
            rows = sorted(per_item.get(item.sku, []), key=lambda pair: pair[0].index)
            stamps = [c[4] for _, c in rows if c[4] is not None]
            updated = max(stamps) if stamps else world.base_now - 90 * 86400
            collection = []
            for loc, (on_hand, available, allocated, in_transit, _) in rows:
                committed = allocated if allocated is not None else \
                    (on_hand - available if on_hand is not None and available is not None
                     else 0)
                collection.append({"ItemCode": item.sku, "WarehouseCode": warehouse_code(loc),
                                   "InStock": float(on_hand or 0),
                                   "Committed": float(committed),
                                   "Ordered": float(in_transit or 0), "Locked": "tNO"})
            items.append({"ItemCode": item.sku, "ItemName": item.name, "InventoryItem": "tYES",
                          **self._stamp(updated, v2),
                          "ItemWarehouseInfoCollection": collection})
        return items

    def _purchase_orders(self, v2: bool) -> list[dict]:
        now, documents = self.world.now(), []
        for number, lines in self.world.order_documents().items():
            if not number.upper().startswith("PO"):
                continue  # sales orders live in `Orders`, not served here
            held = [(line, step) for line in lines if (step := line.erp_as_of(now))
                    and self.role in self.world.location_index[line.location].systems]
            if not held:
                continue
            entry = 100 + lines[0].index
            created = lines[0].created
            updated = max(created + 60, *(step.at for _, step in held))
            documents.append({
                "DocEntry": entry, "DocNum": _number(number, entry),
                "DocumentStatus": "bost_Open", "Cancelled": "tNO",
                "CreationDate": utc_text(created).split("T")[0], **self._stamp(updated, v2),
                "DocumentLines": [{
                    "LineNum": line.line - 1, "ItemCode": line.sku,
                    "Quantity": float(step.quantity), "RemainingOpenQuantity":
                    float(step.quantity), "LineStatus": "bost_Open",
                    "WarehouseCode": warehouse_code(self.world.location_index[line.location])}
                    for line, step in held]})
        return documents


def _filter_value(record: dict, field: str):
    value = record.get(field)
    return value[:10] if field == "UpdateDate" and isinstance(value, str) else value


def _page_size(prefer: str) -> int:
    match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", prefer)
    return max(1, int(match.group(1))) if match else DEFAULT_PAGE
