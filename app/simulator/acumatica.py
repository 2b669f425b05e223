"""Simulated Acumatica contract-based REST API (ERP), written from Acumatica's
Integration Development Guide, independently of the connector.

- `POST /entity/auth/login` {"name", "password", "company", "branch"?}: the password
  is the simulator's token, the company `Company`; 204 with the .ASPXAUTH,
  ASP.NET_SessionId and UserBranch cookies, or 401 {"message": ...}. `POST
  /entity/auth/logout` ends the session (204).
- Without a live session cookie (or after `[faults.erp] session_expires_after`
  requests in one session): 401 {"message": "You are not logged in."}.
- `GET /entity/Default/{version}/Warehouse` and `StockItem` (`$expand=WarehouseDetails`,
  `$select`, `$filter` on InventoryID / LastModified (`datetimeoffset'...'`), `$top`,
  `$skip`): a bare JSON array of records whose fields are wrapped as {"value": ...},
  each with "id", "rowNumber", "note", "custom" and "_links"; WarehouseDetails rows
  carry WarehouseID, QtyOnHand, QtyAvailable.
- Throttling: 429 {"message": "API request limit exceeded"} (no Retry-After); errors
  500 {"message": "An error has occurred.", "exceptionMessage", "exceptionType"}.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.simulator.odata_query import Condition, QueryError, parse_filter, select, window
from app.simulator.vendor import VendorSim, json_response, utc_text
from app.simulator.world import SimLocation, World

COMPANY = "Company"
FILTERABLE = {"StockItem": {"InventoryID", "LastModified"}, "Warehouse": {"WarehouseID"}}


def warehouse_id(loc: SimLocation) -> str:
    return loc.code.upper()


def _wrap(value) -> dict:
    return {} if value is None else {"value": value}


class AcumaticaSim(VendorSim):
    role = "erp"

    def __init__(self, world: World, token: str) -> None:
        super().__init__(world, token)
        self.sessions: dict[str, int] = {}

    def routes(self) -> list[Route]:
        return [Route("/entity/auth/login", self.login, methods=["POST"]),
                Route("/entity/auth/logout", self.logout, methods=["POST"]),
                Route("/entity/Default/{version}/{entity}", self.collection, methods=["GET"])]

    def authorized(self, request: Request) -> bool:
        if request.url.path.endswith("/entity/auth/login"):
            return True
        session = request.cookies.get(".ASPXAUTH")
        if session not in self.sessions:
            return False
        self.sessions[session] += 1
        faults = self.world.faults.get(self.role)
        if faults and faults.session_expires_after and \
                self.sessions[session] > faults.session_expires_after:
            del self.sessions[session]
            return False
        return True

    def unauthorized(self) -> Response:
        return json_response({"message": "You are not logged in."}, 401)

    def throttle(self) -> Response:
        return json_response({"message": "API request limit exceeded"}, 429)

    def error(self) -> Response:
        return json_response({"message": "An error has occurred.",
                              "exceptionMessage": "Operation timed out",
                              "exceptionType": "System.TimeoutException"}, 500)

    async def login(self, request: Request) -> Response:
        async def answer() -> Response:
            try:
                body = orjson.loads(await request.body())
                name, password, company = body["name"], body["password"], body.get("company")
            except (ValueError, KeyError, TypeError):
                return json_response({"message": "The request is invalid."}, 400)
            if password != self.token or company != COMPANY or not name:
                return json_response({"message": "Invalid credentials. Please try again."}, 401)
            session = secrets.token_hex(24)
            self.sessions[session] = 0
            response = Response(status_code=204)
            root = request.scope.get("root_path", "") or "/"
            response.set_cookie(".ASPXAUTH", session, path=root, httponly=True)
            response.set_cookie("ASP.NET_SessionId", secrets.token_hex(12), path=root)
            response.set_cookie("UserBranch", "16", path=root)
            return response

        return await self.guarded(request, answer)

    async def logout(self, request: Request) -> Response:
        self.sessions.pop(request.cookies.get(".ASPXAUTH", ""), None)
        return Response(status_code=204)

    async def collection(self, request: Request) -> Response:
        entity = request.path_params["entity"]

        async def answer() -> Response:
            if entity not in FILTERABLE:
                return json_response({"message": f"No entity satisfies the condition: "
                                      f"{entity}"}, 404)
            params = request.query_params
            try:
                skip, top = window(params, default=0)
                conditions = [Condition(c.field, c.op, parse_offset(c.value))
                              if c.field == "LastModified" else c
                              for c in parse_filter(params.get("$filter"), FILTERABLE[entity])]
            except (QueryError, ValueError, TypeError) as exc:
                return json_response({"message": "The request is invalid.",
                                      "exceptionMessage": str(exc)}, 400)
            expand = "WarehouseDetails" in params.get("$expand", "")
            rows = self.memo((entity,), lambda: self._records(entity))
            rows = [r for r in rows if all(c.holds(_plain(r, c.field)) for c in conditions)]
            chunk = rows[skip:] if top is None else rows[skip:skip + top]
            fields = params.get("$select")
            out = []
            for number, record in enumerate(chunk, start=skip + 1):
                shown = {k: v for k, v in record.items() if k != "WarehouseDetails" or expand}
                shown = select(shown, fields + ",WarehouseDetails" if fields and expand
                               else fields)
                out.append({"id": record["id"], "rowNumber": number, "note": {"value": ""},
                            **shown, "custom": {}})
            return json_response(out)

        return await self.guarded(request, answer)

    def _records(self, entity: str) -> list[dict]:
        world = self.world
        if entity == "Warehouse":
            return [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, loc.code)),
                     "WarehouseID": _wrap(warehouse_id(loc)), "Description": _wrap(loc.name),
                     "Active": _wrap(True)} for loc in world.locations_of(self.role)]
        per_item: dict[str, list] = {}
        for (location, sku), count in world.view(self.role).items():
            loc = world.location_index[location]
            if self.role in loc.systems:
                per_item.setdefault(sku, []).append((loc, count))
        records = []
        for item in world.items:
            rows = sorted(per_item.get(item.sku, []), key=lambda pair: pair[0].index)
            stamps = [c[4] for _, c in rows if c[4] is not None]
            modified = max(stamps) if stamps else world.base_now - 90 * 86400
            details = [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{item.sku}@{loc.code}")),
                        "rowNumber": n, "note": None, "WarehouseID": _wrap(warehouse_id(loc)),
                        "QtyOnHand": _wrap(float(on_hand or 0)),
                        "QtyAvailable": _wrap(float(available if available is not None
                                                    else (on_hand or 0) - (allocated or 0))),
                        "custom": {}}
                       for n, (loc, (on_hand, available, allocated, _, _)) in
                       enumerate(rows, start=1)]
            records.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, item.sku)),
                            "InventoryID": _wrap(item.sku), "Description": _wrap(item.name),
                            "ItemStatus": _wrap("Active"),
                            "LastModified": _wrap(utc_text(modified) + ".000+00:00"),
                            "WarehouseDetails": details})
        return records


def _plain(record: dict, field: str):
    value = (record.get(field) or {}).get("value")
    if field == "LastModified" and isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(UTC)
    return value


def parse_offset(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
