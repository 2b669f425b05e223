"""What every simulated vendor endpoint shares: the token check, fault injection and
JSON answers. Each vendor subclass renders its own error shapes."""

from __future__ import annotations

import time
import zlib
from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from app.simulator.faults import Gate, mangle
from app.simulator.world import World


class Bucket:
    """A leaky-bucket rate limit as Shopify (points) and ShipHero (credits) run them."""

    def __init__(self, size: float, restore_rate: float) -> None:
        self.size, self.restore_rate = size, restore_rate
        self._level, self._refilled = size, time.monotonic()

    @property
    def available(self) -> float:
        now = time.monotonic()
        self._level = min(self.size, self._level + (now - self._refilled) * self.restore_rate)
        self._refilled = now
        return self._level

    def take(self, cost: float) -> bool:
        """Spend `cost` if the bucket holds it; False (nothing spent) if it does not."""
        if cost > self.available:
            return False
        self._level -= cost
        return True


_CLOCK_TIMES = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60)
                for s in range(60)]
_DATES: dict[int, str] = {}


def utc_text(epoch: int, sep: str = "T") -> str:
    """'YYYY-MM-DDTHH:MM:SS' (or with another separator) in UTC for an epoch second.
    Vendors stamp every row, so the date is worked out once per day and the time of day
    looked up."""
    day, second = divmod(int(epoch), 86400)
    date = _DATES.get(day)
    if date is None:
        date = _DATES[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
    return date + sep + _CLOCK_TIMES[second]


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers,
                    media_type="application/json")


class VendorSim:
    role = ""  # wms | erp | storefront

    def __init__(self, world: World, token: str, bucket: tuple[float, float] | None = None
                 ) -> None:
        self.world = world
        self.token = token
        self.gate = Gate(seed=zlib.crc32(self.role.encode()))  # stable across processes
        self.storage_token_leaks = 0  # requests to storage URLs that carried our token
        limits = world.limits.get(self.role)
        size, rate = (limits.bucket, limits.restore_rate) if limits else (bucket or (1e12, 1e12))
        self.bucket = Bucket(size, rate)
        self._memos: dict = {}
        self._memo_version = -1

    def memo(self, key: tuple, compute):
        """A listing computed once per state of the world (pages of one read reuse it)."""
        if self._memo_version != self.world.version:
            self._memos, self._memo_version = {}, self.world.version
        if key not in self._memos:
            self._memos[key] = compute()
        return self._memos[key]

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
        number = self.gate.requests + 1  # admit counts this request first thing
        action = await self.gate.admit(faults, self.world.now())
        if action is not None:
            return getattr(self, action)()
        response = await handler()
        how = self.gate.malformed_now(faults, number)
        if how is not None and hasattr(response, "body"):
            body, media = mangle(bytes(response.body), how)
            return Response(body, status_code=response.status_code, media_type=media)
        return response
