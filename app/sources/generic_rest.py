"""Generic REST (any compared role): an in-house system's JSON API, described in config
instead of code.

`base_url` + `rest.endpoint` is the stock listing; the token from `token_env` goes in
`rest.auth_header` (default Authorization) after `rest.auth_scheme` (default Bearer;
"" sends the bare token). `rest.items` is the JSON path of the list of rows in an answer
("data", "result.rows"; "" when the answer is the list), and `columns` maps seamdesk's
fields to JSON paths inside a row (`sku`, `location` and one quantity required; dotted,
with list indices: "stock.0.qty"). Times are ISO 8601 (no offset: `timezone`) or epoch
seconds. Paging (`rest.paging`):
- `cursor`: the next cursor at `rest.next` in the answer, sent back as
  `rest.cursor_param`; the end is an empty or missing cursor;
- `offset`: `rest.limit_param` + `rest.offset_param`, until a page comes back short;
- `link`: the RFC 8288 `Link: <...>; rel="next"` header, on the same server only;
- `none`: one answer holds everything.
Throttling, retries and errors are the shared HTTP layer's (429 + Retry-After, 5xx). A
generic API has no single-item query: a SKU re-read reads the listing and keeps the SKU.
No events or orders.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from app.records import CountRow, Page
from app.sources.base import Window
from app.sources.csv_export import QUANTITIES
from app.sources.errors import PayloadError
from app.sources.http import HttpSettings, VendorClient, short
from app.sources.odata import skip_pages

PAGING = ("cursor", "offset", "link", "none")
DEFAULTS = {"endpoint": "/", "paging": "none", "items": "", "next": "",
            "cursor_param": "cursor", "limit_param": "limit", "offset_param": "offset",
            "auth_header": "Authorization", "auth_scheme": "Bearer"}
_MISSING = object()


def check_rest(rest: dict) -> None:
    """The `rest` table config.toml gives; ValueError names the key."""
    for key, value in rest.items():
        if key not in DEFAULTS:
            raise ValueError(f"unknown key {key!r} (keys: {', '.join(DEFAULTS)})")
        if not isinstance(value, str):
            raise ValueError(f"{key}: should be text")
    settings = {**DEFAULTS, **rest}
    if settings["paging"] not in PAGING:
        raise ValueError(f"paging: {settings['paging']!r} is not one of {', '.join(PAGING)}")
    if settings["paging"] == "cursor" and not settings["next"]:
        raise ValueError("next: missing (required: where the answer holds the next cursor)")
    if not settings["endpoint"].startswith("/"):
        raise ValueError("endpoint: should start with / (it is added to base_url)")


def pick(node: Any, path: str) -> Any:
    """The value at a dotted JSON path ("" is the node itself); _MISSING if absent."""
    for part in path.split(".") if path else ():
        if isinstance(node, dict):
            node = node.get(part, _MISSING)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


class GenericRestConnector:
    kind = "generic-rest"

    def __init__(self, system: str, base_url: str, token: str, settings: HttpSettings, *,
                 rest: dict, columns: dict[str, str], timezone: str = "UTC",
                 page_size: int | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep=asyncio.sleep) -> None:
        self.system = system
        self.rest = {**DEFAULTS, **rest}
        self.columns = columns
        self.zone = ZoneInfo(timezone)
        self.limit = page_size or 200
        self.base_url = base_url
        scheme = self.rest["auth_scheme"]
        headers = {self.rest["auth_header"]: f"{scheme} {token}" if scheme else token,
                   "Accept": "application/json"}
        self.client = VendorClient(system, base_url, headers, settings, secrets=[token],
                                   transport=transport, sleep=sleep)
        self.stats = self.client.stats

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _get(self, url: str, params: dict | None) -> tuple[list, Any, httpx.Response]:
        response = await self.client.request("GET", url, params=params)
        body = self.client.json(response)
        rows = pick(body, self.rest["items"])
        if not isinstance(rows, list):
            raise PayloadError(f"{self.system}: the answer has no list at "
                               f"{self.rest['items'] or 'its top'!r}")
        return rows, body, response

    async def _pages(self) -> AsyncIterator[list]:
        paging, endpoint = self.rest["paging"], self.rest["endpoint"]
        if paging == "offset":
            async def fetch(skip: int, top: int) -> list:
                params = {self.rest["limit_param"]: top, self.rest["offset_param"]: skip}
                return (await self._get(endpoint, params))[0]

            async for rows in skip_pages(fetch, self.limit):
                yield rows
            return
        url: str | None = endpoint
        params: dict | None = {self.rest["limit_param"]: self.limit} \
            if paging in ("cursor", "link") else None
        while url is not None:
            rows, body, response = await self._get(url, params)
            yield rows
            url = None
            if paging == "cursor":
                cursor = pick(body, self.rest["next"])
                if cursor not in (None, "", _MISSING):
                    url = endpoint
                    params = {**(params or {}), self.rest["cursor_param"]: str(cursor)}
            elif paging == "link" and (link := response.links.get("next", {}).get("url")):
                if not link.startswith(self.base_url + "/"):
                    raise PayloadError(f"{self.system}: the next page's Link points off the "
                                       f"server: {short(link, 80)!r}")
                url, params = link[len(self.base_url):], None

    def _row(self, raw: Any, n: int) -> CountRow:
        def value(key: str) -> Any:
            path = self.columns.get(key)
            return None if not path else pick(raw, path)

        def fail(key: str, problem: str) -> PayloadError:
            return PayloadError(f"{self.system}: row {n}: {self.columns[key]} ({key}) "
                                f"{problem}")

        texts = {}
        for key in ("sku", "location"):
            found = value(key)
            if isinstance(found, int) and not isinstance(found, bool):
                found = str(found)  # numeric location ids are ids all the same
            if not isinstance(found, str) or not found:
                raise fail(key, f"should be text, got {short(repr(found), 40)}")
            texts[key] = found
        numbers = {}
        for key in QUANTITIES:
            found = value(key)
            if found is None or found is _MISSING:
                numbers[key] = None
                continue
            try:
                numbers[key] = round(float(found))
                if isinstance(found, bool):
                    raise ValueError
            except (TypeError, ValueError, OverflowError):
                raise fail(key, f"should be a number, got {short(repr(found), 40)}") from None
        stamp = value("updated_at")
        updated = None if stamp in (None, "", _MISSING) else self._time(stamp, fail)
        name = value("name")
        return CountRow(texts["sku"], texts["location"], numbers["on_hand"],
                        numbers["available"], numbers["allocated"], numbers["in_transit"],
                        updated, name if isinstance(name, str) else None)

    def _time(self, stamp: Any, fail) -> int:
        if isinstance(stamp, int | float) and not isinstance(stamp, bool):
            return int(stamp)
        try:
            parsed = datetime.fromisoformat(str(stamp))
        except ValueError:
            raise fail("updated_at", f"is not a time: {short(repr(stamp), 40)}") from None
        return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=self.zone)).timestamp())

    async def read(self, window: Window) -> AsyncIterator[Page]:
        seen = 0
        async for rows in self._pages():
            yield Page(counts=[self._row(raw, seen + i) for i, raw in enumerate(rows, start=1)])
            seen += len(rows)

    async def read_sku(self, sku: str) -> AsyncIterator[Page]:
        found = []
        async for page in self.read(Window()):
            found += [row for row in page.counts if row.sku == sku]
        yield Page(counts=found)
