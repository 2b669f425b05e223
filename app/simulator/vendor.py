"""What every simulated vendor endpoint shares: the token check, fault injection and
JSON answers. Each vendor subclass renders its own error shapes."""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from app.simulator.faults import Gate, mangle
from app.simulator.world import World


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers,
                    media_type="application/json")


class VendorSim:
    role = ""  # wms | erp | storefront

    def __init__(self, world: World, token: str) -> None:
        self.world = world
        self.token = token
        self.gate = Gate(seed=zlib.crc32(self.role.encode()))  # stable across processes
        self.storage_token_leaks = 0  # requests to storage URLs that carried our token

    # -- vendor-specific answers (subclasses) ---------------------------------------------
    def authorized(self, request: Request) -> bool:
        raise NotImplementedError

    def unauthorized(self) -> Response:
        raise NotImplementedError

    def throttle(self) -> Response:
        raise NotImplementedError

    def error(self) -> Response:
        raise NotImplementedError

    def down(self) -> Response:
        return Response("<html><body><h1>503 Service Unavailable</h1></body></html>",
                        status_code=503, media_type="text/html")

    # -- the guard around every endpoint ---------------------------------------------------
    async def guarded(self, request: Request,
                      handler: Callable[[], Awaitable[Response]]) -> Response:
        if not self.authorized(request):
            return self.unauthorized()
        faults = self.world.faults.get(self.role)
        action = await self.gate.admit(faults)
        if action is not None:
            return getattr(self, action)()
        response = await handler()
        how = self.gate.malformed_now(faults)
        if how is not None and hasattr(response, "body"):
            body, media = mangle(bytes(response.body), how)
            return Response(body, status_code=response.status_code, media_type=media)
        return response
