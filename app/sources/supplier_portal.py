"""Supplier portal (supplier role): PO confirmations over a JSON API.

No common JSON standard for supplier confirmations exists (the B2B ones are cXML
ConfirmationRequest and EDI 855). This speaks the portal API seamdesk's research
proposes, modelled on Coupa's Order Confirmations API (`order_header_confirmations`:
OAuth client credentials, limit ≤ 50 + offset paging, `updated_at[gt_or_eq]` filters) and
cXML's confirmation vocabulary:
- `POST {base_url}/oauth2/token`, a form with grant_type=client_credentials, client_id,
  client_secret (from `token_env`) and scope=confirmations.read, answers
  {"access_token", "token_type": "bearer", "expires_in"}; calls then send
  `Authorization: Bearer <token>`. A token that expires or is revoked mid-read (401) is
  fetched anew once; the token endpoint's own errors are OAuth's {"error",
  "error_description"}.
- `GET /api/v1/order_confirmations?updated_at[gt_or_eq]=...&limit=&offset=&order_by=
  updated_at&dir=asc` answers {"data": [...], "limit", "offset", "next_offset"}, the last
  page with next_offset null. Errors are {"errors": [{"code", "message"}]}; 429 comes
  with Retry-After (seconds), which the shared client honours.
- A confirmation: id, po_number, version (it grows with each change the supplier
  confirms), status pending|confirmed|rejected|superseded, notice_date, updated_at, and
  lines of {line_num, sku, ordered_quantity (a decimal string), status, schedule:
  [{type accept|reject|backordered|detail, quantity, ...}]}. The confirmed quantity is the
  schedule's, except the `reject` entries.

Mapping: every line of the newest version of each PO the read saw becomes an order line
(quantity = what the supplier was asked for, confirmed, version, confirmed_at =
notice_date, else updated_at). Superseded and still-pending confirmations confirm
nothing current and are skipped. The whole read is collected before it is yielded:
offset pages ordered by updated_at may bring an older version after a newer one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx

from app.records import OrderLineRow, Page
from app.sources.base import Fields, Window, iso_epoch
from app.sources.errors import PayloadError
from app.sources.http import HttpSettings, VendorClient, code_and_message, error_body, short

TOKEN = "/oauth2/token"
CONFIRMATIONS = "/api/v1/order_confirmations"
SCOPE = "confirmations.read"
MAX_LIMIT = 50  # the portal's (and Coupa's) largest page
MAX_PAGES = 100_000  # far past any real account; a loop shows up as an error
ROWS_PER_PAGE = 500  # order lines per cache page


class SupplierPortalClient(VendorClient):
    """The shared client plus the OAuth client-credentials dance before the first call."""

    def __init__(self, system: str, base_url: str, client_id: str, secret: str,
                 settings: HttpSettings, **kwargs) -> None:
        super().__init__(system, base_url, {}, settings, secrets=[secret], **kwargs)
        self.client_id, self._secret = client_id, secret
        self._token: str | None = None
        self._expires = 0.0
        self._fetching = False
        self._lock = asyncio.Lock()

    def error_text(self, response: httpx.Response) -> str:
        found = error_body(response)
        if found is not None:
            body, first = found
            if first is not None:
                return code_and_message(first)
            if isinstance(body.get("error"), str):  # the token endpoint (RFC 6749 5.2)
                detail = body.get("error_description")
                return short(f"{body['error']}: {detail}" if detail else body["error"])
        return short(response.text)

    def retry_auth(self, response: httpx.Response, attempt: int) -> bool:
        if self._fetching or attempt > 0:
            return False  # the credentials themselves, or a second 401 in a row
        self._token = None  # expired or revoked since we got it: ask for a new one
        return True

    async def pace(self, cost: float) -> None:
        if not self._fetching and (self._token is None or time.monotonic() >= self._expires):
            await self._authenticate()

    async def _authenticate(self) -> None:
        async with self._lock:
            if self._token is not None and time.monotonic() < self._expires:
                return
            self._fetching = True
            self._http.headers.pop("Authorization", None)
            try:
                response = await self.request("POST", TOKEN, data={
                    "grant_type": "client_credentials", "client_id": self.client_id,
                    "client_secret": self._secret, "scope": SCOPE})
            finally:
                self._fetching = False
            grant = Fields(self.system, "token", self.json(response))
            token = grant.text("access_token")
            if (grant.text("token_type", optional=True) or "bearer").lower() != "bearer":
                raise PayloadError(f"{self.system}: token.token_type should be bearer")
            lifetime = grant.int("expires_in", default=3600) or 0
            self._secrets.append(token)
            self._token = token
            self._expires = time.monotonic() + lifetime - min(60, lifetime / 10)
            self._http.headers["Authorization"] = f"Bearer {token}"


class SupplierPortalConnector:
    kind = "supplier-portal"

    def __init__(self, system: str, base_url: str, client_id: str, secret: str,
                 settings: HttpSettings, page_size: int | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, sleep=asyncio.sleep
                 ) -> None:
        self.system = system
        self.limit = min(page_size or MAX_LIMIT, MAX_LIMIT)
        self.client = SupplierPortalClient(system, base_url, client_id, secret, settings,
                                           transport=transport, sleep=sleep)
        self.stats = self.client.stats

    async def aclose(self) -> None:
        await self.client.aclose()

    async def read(self, window: Window) -> AsyncIterator[Page]:
        newest: dict[tuple[str, str], tuple[tuple[int, int], OrderLineRow]] = {}
        async for raw in self._confirmations(window.orders_since):
            for rank, row in self._lines(raw):
                key = (row.number, row.line)
                if key not in newest or rank > newest[key][0]:
                    newest[key] = (rank, row)
        rows = [row for _, row in newest.values()]
        for start in range(0, len(rows), ROWS_PER_PAGE):
            yield Page(orders=rows[start:start + ROWS_PER_PAGE])

    async def read_sku(self, sku: str) -> AsyncIterator[Page]:
        """Confirmations are per PO, not per item: a SKU re-read reads nothing here."""
        for page in ():
            yield page

    async def _confirmations(self, since: int | None) -> AsyncIterator[dict]:
        params: dict = {"limit": self.limit, "offset": 0, "order_by": "updated_at",
                        "dir": "asc"}
        if since is not None:
            params["updated_at[gt_or_eq]"] = datetime.fromtimestamp(since, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
        for _ in range(MAX_PAGES):
            response = await self.client.request("GET", CONFIRMATIONS, params=params)
            body = self.client.json(response)
            for raw in Fields(self.system, "order_confirmations", body).list("data"):
                yield raw
            following = body.get("next_offset")
            if following is None:
                return
            if isinstance(following, bool) or not isinstance(following, int) \
                    or following <= params["offset"]:
                raise PayloadError(f"{self.system}: order_confirmations.next_offset should "
                                   f"move past {params['offset']}, got {short(repr(following))}")
            params = {**params, "offset": following}
        raise PayloadError(f"{self.system}: order_confirmations: paging does not end "
                           f"({MAX_PAGES} pages read)")

    def _lines(self, raw) -> list[tuple[tuple[int, int], OrderLineRow]]:
        header = Fields(self.system, "order_confirmation", raw)
        status = (header.text("status", optional=True) or "").lower()
        if status in ("superseded", "pending"):
            return []  # replaced by a newer version, or not confirmed yet
        po = header.text("po_number")
        version = header.int("version", optional=True)
        updated = header.time("updated_at", iso_epoch, optional=False)
        noticed = header.time("notice_date", iso_epoch) or updated
        ident = raw.get("id")
        source = str(ident) if isinstance(ident, int | str) and ident != "" else None
        rows = []
        for i, line_raw in enumerate(header.list("lines")):
            line = Fields(self.system, f"order_confirmation {po} lines[{i}]", line_raw)
            schedule = line.list("schedule") if line_raw.get("schedule") is not None else []
            parts = [Fields(self.system, f"{line.what}.schedule[{j}]", entry)
                     for j, entry in enumerate(schedule)]
            if parts:
                confirmed: int | None = sum(
                    _decimal(part, "quantity") or 0 for part in parts
                    if (part.text("type", optional=True) or "").lower() != "reject")
            else:
                confirmed = 0 if status == "rejected" else None
            rows.append(((version or 0, updated), OrderLineRow(
                number=po, line=str(line.int("line_num")), sku=line.text("sku"),
                kind="purchase", quantity=_decimal(line, "ordered_quantity"),
                version=version, changed_at=updated,
                status=line.text("status", optional=True) or status or None,
                confirmed=confirmed, confirmed_at=noticed, source_id=source)))
        return rows


def _decimal(fields: Fields, key: str) -> int | None:
    """A decimal quantity ("60.000000", or a JSON number), rounded to whole units."""
    value = fields.record.get(key)
    if value is None:
        return None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return round(float(value))
        except (ValueError, OverflowError):
            pass
    raise PayloadError(f"{fields.system}: {fields.what}.{key} should be a decimal quantity, "
                       f"got {short(repr(value))}")
