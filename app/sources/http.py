"""The HTTP layer every connector shares.

Timeouts; retries with exponential backoff and full jitter on timeouts, connection errors
and 5xx; Retry-After and each vendor's own throttle signal honoured; a per-system
concurrency budget; counters for the sync-run record. Error texts name the system, the
request and the vendor's message, and pass through `redact` so no secret can leak.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from app.records import RunStats
from app.sources.errors import AuthError, PayloadError, UnavailableError

Sleep = Callable[[float], Awaitable[None]]
MAX_WAIT_SECONDS = 120.0
_UNPARSED = object()


@dataclass(frozen=True, slots=True)
class HttpSettings:
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 0.5
    max_concurrency: int = 4


class Throttle(Exception):
    """Raised by a connector's `check` when the vendor asked us to slow down."""

    def __init__(self, wait: float, reason: str) -> None:
        super().__init__(reason)
        self.wait = wait


class Transient(Exception):
    """Raised by a connector's `check` for an answer worth retrying (a 5xx inside a 200)."""


class VendorClient:
    """One system's HTTP client. Subclasses add auth headers, `check` and `error_text`."""

    def __init__(
        self,
        system: str,
        base_url: str,
        headers: dict[str, str],
        settings: HttpSettings,
        *,
        secrets: Sequence[str] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.system = system
        self.settings = settings
        self.stats = RunStats()
        self._secrets = [s for s in secrets if s]
        self._sleep = sleep
        self._budget = asyncio.Semaphore(settings.max_concurrency)
        tls = _tls_context()
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=settings.timeout, transport=transport,
            follow_redirects=False, verify=tls,
        )
        # Downloads from signed storage URLs (Shopify bulk files) must not carry our token.
        self._anonymous = httpx.AsyncClient(timeout=settings.timeout, transport=transport,
                                            verify=tls)

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._anonymous.aclose()

    # -- vendor hooks -------------------------------------------------------------------
    def check(self, response: httpx.Response) -> None:
        """Raise Throttle or Transient for vendor signals hidden in an HTTP 200."""

    def error_text(self, response: httpx.Response) -> str:
        """The vendor's own error message from a non-2xx body, shortened."""
        return short(response.text)

    def retry_auth(self, response: httpx.Response, attempt: int) -> bool:
        """Whether a 401 is worth one more try (some vendors say 401 when busy)."""
        return False

    def throttle_wait(self, response: httpx.Response) -> float | None:
        """Seconds a 429 asks us to wait (None: back off): Retry-After, unless the vendor
        says it its own way."""
        return retry_after(response)

    async def pace(self, cost: float) -> None:
        """Wait, before every attempt, until the vendor's rate budget allows `cost`."""

    # -- requests -----------------------------------------------------------------------
    async def post_json(self, url: str, body: Any, params: dict | None = None,
                        cost: float = 1.0) -> Any:
        response = await self.request("POST", url, cost=cost, json=body, params=params)
        return self.json(response)

    def json(self, response: httpx.Response) -> Any:
        """The answer's JSON, parsed once (a vendor's `check` reads it before we do)."""
        body = getattr(response, "_seamdesk_json", _UNPARSED)
        if body is _UNPARSED:
            try:
                body = orjson.loads(response.content)
            except ValueError:
                raise PayloadError(self.redact(
                    f"{self.system}: {response.request.method} {response.request.url.path}: "
                    f"answer is not JSON: {short(response.text)!r}")) from None
            response._seamdesk_json = body  # type: ignore[attr-defined]
        return body

    async def request(self, method: str, url: str, cost: float = 1.0,
                      **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            await self.pace(cost)
            wait, problem = await self._attempt(method, url, attempt, kwargs)
            if wait is None:
                return problem  # type: ignore[return-value]  (the response)
            if attempt >= self.settings.retries:
                raise UnavailableError(self.redact(
                    f"{self.system}: {method} {_path(url)}: {problem} "
                    f"(gave up after {attempt + 1} attempts)"))
            attempt += 1
            self.stats.retries += 1
            await self._sleep(min(wait, MAX_WAIT_SECONDS))

    async def _attempt(self, method: str, url: str, attempt: int, kwargs: dict):
        """One try: (None, response) on success, else (seconds to wait, what went wrong)."""
        async with self._budget:
            try:
                response = await self._http.request(method, url, **kwargs)
            except httpx.TimeoutException:
                return self.backoff(attempt), f"timed out after {self.settings.timeout:g} s"
            except httpx.TransportError as exc:
                return self.backoff(attempt), f"connection failed ({type(exc).__name__})"
        # httpx leaves a response it has read and that response's stream pointing at each
        # other (the stream keeps the response to time it): a cycle that only the garbage
        # collector frees, with the body and the JSON parsed from it, so a big read's pages
        # pile up and each collection walks them. Pointed at its own content (as httpx does
        # with a request body it has read), the response goes as soon as we are done.
        if response.is_closed:
            response.stream = httpx.ByteStream(response.content)
        self.stats.requests += 1
        status = response.status_code
        if status == 429:
            self.stats.throttled += 1
            wait = self.throttle_wait(response)
            return (self.backoff(attempt) if wait is None else wait), "throttled (HTTP 429)"
        if status in (401, 403):
            if status == 401 and self.retry_auth(response, attempt):
                return self.backoff(attempt), f"HTTP 401: {self.error_text(response)}"
            raise AuthError(self.redact(
                f"{self.system}: HTTP {status} from {_path(url)}: {self.error_text(response)}"))
        if status >= 500:
            return self.backoff(attempt), f"HTTP {status}: {self.error_text(response)}"
        if status >= 400:
            raise PayloadError(self.redact(
                f"{self.system}: HTTP {status} from {_path(url)}: {self.error_text(response)}"))
        try:
            self.check(response)
        except Throttle as throttle:
            self.stats.throttled += 1
            return throttle.wait, f"throttled ({throttle})"
        except Transient as transient:
            return self.backoff(attempt), str(transient)
        return None, response

    def stream(self, url: str) -> Any:
        """GET a large file (no auth header), for line-by-line reading."""
        return self._anonymous.stream("GET", url)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: spreads retries of many clients apart."""
        return random.uniform(0, self.settings.backoff * (2**attempt))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One certificate-verifying TLS context for every client: loading the CA bundle
    takes ~50 ms, and each connector opens two clients."""
    return httpx.create_ssl_context()  # what each client would build: env CA paths honoured


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), None when absent or bad."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_body(response: httpx.Response) -> tuple[dict, dict | None] | None:
    """A JSON error answer as (its object, the first entry of its `errors` list, if any);
    None when the body is not a JSON object. Vendors word the rest their own way."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and \
        isinstance(errors[0], dict) else None
    return body, first


def code_and_message(entry: dict) -> str:
    """'code: message' from an `errors[]` entry, or whichever of the two it has."""
    code, message = entry.get("code") or "", entry.get("message") or ""
    return short(f"{code}: {message}" if code and message else code or message)


def short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _path(url: str) -> str:
    return httpx.URL(url).path or url
