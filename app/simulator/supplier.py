"""Simulated supplier portal (supplier role): PO confirmations over a JSON API.

Written from seamdesk's research proposal for a portal modelled on Coupa's Order
Confirmations API and cXML's ConfirmationRequest (no shared code with the connector):
- `POST /oauth2/token` takes a form: grant_type=client_credentials, client_id
  (`seamdesk`), client_secret (the simulator's token) and an optional scope
  (confirmations.read); it answers {"access_token", "token_type": "bearer",
  "expires_in": 3600, "scope"} or OAuth's {"error", "error_description"} (400/401).
- `GET /api/v1/order_confirmations` with `Authorization: Bearer <access token>`, filters
  `updated_at[gt_or_eq|gt|lt|lt_or_eq]`, `po_number`, `status`, `order_by`
  (updated_at|id|created_at), `dir` (asc|desc), `limit` (1..50, default 50) and `offset`;
  answers {"data", "limit", "offset", "next_offset"} (null on the last page).
  `GET /api/v1/order_confirmations/{id}` answers one, or 404.
- Errors: {"errors": [{"code", "message"}]}: 400 invalid_parameter, 401 unauthorized
  ("Invalid or expired token"), 404 not_found, 429 rate_limited with Retry-After, 500.

Each version the supplier confirmed of a PO (app.simulator.orders) is one confirmation,
as of the simulator's clock; an older version is "superseded" from the moment the next
one was confirmed (its updated_at moves then). A line confirming less than it was asked
schedules the rest as rejected; more than asked is a changed line.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.simulator.vendor import VendorSim, json_response
from app.simulator.world import World
from app.simulator.x12_files import SupplierConfirmation

CLIENT_ID = "seamdesk"
SCOPE = "confirmations.read"
TOKEN_LIFETIME = 3600
MAX_LIMIT = 50
RETRY_AFTER = 2
SUPPLIER = ("SUP-311", "Acme Textiles")
OPERATORS = {"gt_or_eq": lambda a, b: a >= b, "gt": lambda a, b: a > b,
             "lt": lambda a, b: a < b, "lt_or_eq": lambda a, b: a <= b}


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: str) -> int:
    parsed = datetime.fromisoformat(text)
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())


def confirmations_of(world: World) -> list[SupplierConfirmation]:
    """Every PO line version the supplier has confirmed by the simulator's clock (also what
    the simulated EDI drop folder holds, as 855/865 files)."""
    now, out = world.now(), []
    for number, lines in world.order_documents().items():
        for line in lines:
            for c in line.confirmations_as_of(now):
                out.append(SupplierConfirmation(
                    number, line.sku, line.line, c.confirmed, c.version, c.at,
                    "accepted" if c.confirmed == c.asked else "changed", c.asked,
                    line.created))
    return out


class SupplierPortalSim(VendorSim):
    role = "supplier"

    def __init__(self, world: World, token: str) -> None:
        super().__init__(world, token, bucket=(100, 10))  # requests; refilled per second
        self.tokens: dict[str, int] = {}  # access token → expiry (simulator clock)

    def routes(self) -> list[Route]:
        return [Route("/oauth2/token", self.token_endpoint, methods=["POST"]),
                Route("/api/v1/order_confirmations", self.list_, methods=["GET"]),
                Route("/api/v1/order_confirmations/{id}", self.one, methods=["GET"])]

    # -- vendor answers ------------------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        if request.url.path.endswith("/oauth2/token"):
            return True  # the client's credentials are checked by the endpoint itself
        header = request.headers.get("Authorization", "")
        token = header[7:] if header[:7].lower() == "bearer " else ""
        return self.tokens.get(token, -1) > self.world.now()

    @staticmethod
    def _problem(status: int, code: str, message: str, headers: dict | None = None
                 ) -> Response:
        return json_response({"errors": [{"code": code, "message": message}]}, status, headers)

    def unauthorized(self) -> Response:
        return self._problem(401, "unauthorized", "Invalid or expired token")

    def throttle(self) -> Response:
        return self._problem(429, "rate_limited",
                             f"Too many requests. Retry after {RETRY_AFTER} seconds.",
                             {"Retry-After": str(RETRY_AFTER)})

    def error(self) -> Response:
        return self._problem(500, "internal_error", "Something went wrong on our side.")

    async def _answer(self, request: Request, handler) -> Response:
        async def limited() -> Response:
            return await handler() if self.bucket.take(1) else self.throttle()

        return await self.guarded(request, limited)

    # -- OAuth 2.0 client credentials ------------------------------------------------------
    async def token_endpoint(self, request: Request) -> Response:
        async def answer() -> Response:
            if not request.headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"):
                return json_response({"error": "invalid_request", "error_description":
                                      "Send the grant as a form"}, 400)
            form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
            if form.get("grant_type") != "client_credentials":
                return json_response({"error": "unsupported_grant_type",
                                      "error_description": "Only client_credentials"}, 400)
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != self.token:
                return json_response({"error": "invalid_client",
                                      "error_description": "Client authentication failed"},
                                     401, {"WWW-Authenticate": 'Basic realm="portal"'})
            if form.get("scope") not in (None, "", SCOPE):
                return json_response({"error": "invalid_scope",
                                      "error_description": f"Unknown scope {form['scope']}"},
                                     400)
            access = "at-" + secrets.token_hex(16)
            self.tokens[access] = self.world.now() + TOKEN_LIFETIME
            return json_response({"access_token": access, "token_type": "bearer",
                                  "expires_in": TOKEN_LIFETIME, "scope": SCOPE},
                                 headers={"Cache-Control": "no-store"})

        return await self._answer(request, answer)

    # -- confirmations ---------------------------------------------------------------------
    def _records(self) -> list[dict]:
        return self.memo(("confirmations",), self._build)

    def _build(self) -> list[dict]:
        now, records = self.world.now(), []
        for number, lines in self.world.order_documents().items():
            versions = sorted({c.version for line in lines
                               for c in line.confirmations_as_of(now)})
            for version in versions:
                members = [(line, c) for line in lines for c in line.confirmations_as_of(now)
                           if c.version == version]
                later = [c.at for line in lines for c in line.confirmations_as_of(now)
                         if c.version > version]
                records.append(self._record(number, version, members, min(later, default=None),
                                            lines[0]))
        return records

    def _record(self, number: str, version: int, members: list, superseded_at: int | None,
                first) -> dict:
        confirmed_at = max(c.at for _, c in members)
        lines, changed = [], False
        for line, c in members:
            schedule = [{"type": "accept", "quantity": f"{c.confirmed:.6f}",
                         "ship_date": None, "delivery_date": None}]
            if c.confirmed < c.asked:
                schedule.append({"type": "reject", "quantity": f"{c.asked - c.confirmed:.6f}",
                                 "ship_date": None, "delivery_date": None})
            status = "accepted" if c.confirmed == c.asked else \
                "partial" if c.confirmed < c.asked else "changed"
            changed |= status != "accepted"
            lines.append({"line_num": line.line, "sku": line.sku,
                          "supplier_part_num": f"AC-{line.sku}",
                          "ordered_quantity": f"{c.asked:.6f}", "status": status,
                          "schedule": schedule, "price": "4.250000", "currency": "USD",
                          "uom": "EA", "reason": None if status == "accepted" else "stock"})
        rejected = all(c.confirmed == 0 for _, c in members)
        return {
            "id": f"OC-{700_000 + first.index * 100 + version}", "po_number": number,
            "supplier_id": SUPPLIER[0], "supplier_name": SUPPLIER[1],
            "confirmation_number": f"ACME-SO-{55_000 + first.index * 100 + version}",
            "type": "reject" if rejected else "except" if changed else "accept",
            "status": "superseded" if superseded_at is not None else
            "rejected" if rejected else "confirmed",
            "version": version, "confirmation_level": "line",
            "notice_date": _iso(confirmed_at), "created_at": _iso(confirmed_at),
            "updated_at": _iso(superseded_at if superseded_at is not None else confirmed_at),
            "lines": lines}

    async def list_(self, request: Request) -> Response:
        async def answer() -> Response:
            query = request.query_params
            try:
                limit = int(query.get("limit", MAX_LIMIT))
                offset = int(query.get("offset", 0))
            except ValueError:
                return self._problem(400, "invalid_parameter", "limit and offset must be "
                                     "whole numbers")
            if not 1 <= limit <= MAX_LIMIT or offset < 0:
                return self._problem(400, "invalid_parameter", f"limit must be between 1 and "
                                     f"{MAX_LIMIT}, offset 0 or more")
            order_by, direction = query.get("order_by", "id"), query.get("dir", "asc")
            if order_by not in ("id", "updated_at", "created_at") or \
                    direction not in ("asc", "desc"):
                return self._problem(400, "invalid_parameter", "order_by must be id, "
                                     "updated_at or created_at; dir asc or desc")
            picked = self._records()
            for key, value in query.multi_items():
                name, _, operator = key.partition("[")
                if name in ("updated_at", "created_at") and operator.rstrip("]") in OPERATORS:
                    try:
                        bound = _epoch(value)
                    except ValueError:
                        return self._problem(400, "invalid_parameter",
                                             f"{key}: {value!r} is not a date-time")
                    test = OPERATORS[operator.rstrip("]")]
                    picked = [r for r in picked if test(_epoch(r[name]), bound)]
                elif name in ("po_number", "status"):
                    picked = [r for r in picked if r[name] == value]
            picked = sorted(picked, key=lambda r: (r[order_by], r["id"]),
                            reverse=direction == "desc")
            page = picked[offset:offset + limit]
            following = offset + limit if offset + limit < len(picked) else None
            return json_response({"data": page, "limit": limit, "offset": offset,
                                  "next_offset": following})

        return await self._answer(request, answer)

    async def one(self, request: Request) -> Response:
        async def answer() -> Response:
            wanted = request.path_params["id"]
            for record in self._records():
                if record["id"] == wanted:
                    return json_response(record)
            return self._problem(404, "not_found", f"Order confirmation {wanted} not found")

        return await self._answer(request, answer)
