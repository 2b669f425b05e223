"""Celigo integrator.io (middleware role): the failed messages of every flow step.

The wire, from Celigo's "Errors API endpoints" article, developer.celigo.com (pagination,
rate limits, the flows reference) and celigo/integrator-api-docs:
- `Authorization: Bearer <api token>`; base_url https://api.integrator.io (EU accounts:
  https://api.eu.integrator.io; a token only works in its own region).
- `GET /v1/flows`: a JSON array, paged with an RFC 5988 `Link` header whose rel="next"
  is followed verbatim until it is absent (only on the configured host: the token must
  not travel anywhere else).
- Each flow's steps: `pageGenerators[]._exportId`, `pageProcessors[]` (`_exportId` for a
  lookup, `_importId` for an import), the same inside `routers[].branches[]`, and the
  top-level `_exportId` / `_importId` of legacy flows.
- `GET /v1/flows/{id}/errors`: `{"flowErrors": [{"_expOrImpId", "numError"}]}`, a cheap
  triage: only steps with `numError > 0` are asked for their open errors.
- `GET /v1/flows/{id}/{stepId}/errors` and `.../resolved`: `{"errors": [...],
  "nextPageURL": ...}`; the next page's URL is relative to the API root (or absolute) and
  absent on the last page. `occurredAt_gte` (UTC ISO) bounds an incremental read of the
  resolved ones. `resolvedAt` is not documented; it is read when present.
- `204` with no body is an empty list. 429 comes with `Retry-After` (seconds), which the
  shared client honours; 401/403 bodies are `{"message"}`, other errors
  `{"errors": [{"code", "message"}]}`.

Mapping to seamdesk:
- `traceKey` is the source record's id, rendered by the export's `traceKeyTemplate`.
  seamdesk expects the inventory flows' template to emit the SKU (e.g. `{{record.sku}}`),
  so `sku = traceKey`. Celigo's error names no location: location stays None, and the
  error counts for the SKU at each of its locations.
- The handoff comes from the flow's name: "WMS to ERP inventory" → wms->erp, "ERP to
  Shopify inventory" (or storefront) → erp->storefront; `flows = {"<flow name>" =
  "<handoff>"}` in `[systems.middleware]` overrides it; otherwise None.
- Every read lists the open errors in full (each step the summary counts), so a
  complete read is the whole open set: the cache treats an open error it no longer
  lists as no longer open. Resolved errors: a full read asks for all Celigo still holds
  (about 30 days); an incremental one for those that occurred since the window.
- `message` may hold customer data: it is stored verbatim and never logged.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from app.records import HANDOFFS, MessageRow, Page
from app.sources.base import Fields, Window, iso_epoch, merge
from app.sources.errors import PayloadError
from app.sources.http import HttpSettings, VendorClient, code_and_message, error_body, short

FLOWS = "/v1/flows"
MAX_PAGES = 1000  # per listing: far past any real account; a loop shows up as an error
ROLE_WORDS = {"wms": "wms", "shiphero": "wms", "warehouse": "wms", "erp": "erp",
              "netsuite": "erp", "storefront": "storefront", "shopify": "storefront",
              "store": "storefront", "supplier": "supplier"}


def flow_handoff(name: str) -> str | None:
    """The handoff a flow's name describes: "WMS to ERP inventory" → "wms->erp"."""
    sides = re.split(r"\s+to\s+", name.lower(), maxsplit=1)
    if len(sides) != 2:
        return None
    source, target = (re.findall(r"[a-z]+", side) for side in sides)
    if not source or not target:
        return None
    handoff = f"{ROLE_WORDS.get(source[-1])}->{ROLE_WORDS.get(target[0])}"
    return handoff if handoff in HANDOFFS else None


def iso_ms(epoch: int) -> str:
    """Celigo's time form: 2026-11-30T10:06:00.000Z."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass(frozen=True, slots=True)
class Flow:
    id: str
    name: str
    handoff: str | None
    steps: tuple[str, ...]


class CeligoClient(VendorClient):
    def error_text(self, response: httpx.Response) -> str:
        found = error_body(response)
        if found is not None:
            body, first = found
            if first is not None:
                return code_and_message(first)
            if isinstance(body.get("message"), str):  # 401/403 answer this way
                return short(body["message"])
        return short(response.text)


class CeligoConnector:
    kind = "celigo"

    def __init__(self, system: str, base_url: str, token: str, settings: HttpSettings,
                 page_size: int | None = None, flows: Mapping[str, str] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, sleep=asyncio.sleep
                 ) -> None:
        self.system = system
        self.page_size = page_size
        self.overrides = dict(flows or {})
        self.concurrency = settings.max_concurrency
        self.origin = httpx.URL(base_url)
        self.client = CeligoClient(system, base_url, {"Authorization": f"Bearer {token}"},
                                   settings, secrets=[token], transport=transport, sleep=sleep)
        self.stats = self.client.stats

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- reading -------------------------------------------------------------------------
    async def read(self, window: Window) -> AsyncIterator[Page]:
        flows = await self._flows()
        streams = [self._flow_pages(flow, window.messages_since) for flow in flows]
        async for page in merge(streams, self.concurrency):
            yield page

    async def read_sku(self, sku: str) -> AsyncIterator[Page]:
        """Celigo lists errors per step, not per record: a SKU re-read reads nothing here."""
        for page in ():
            yield page

    async def _get(self, url: str, params: dict | None, empty):
        """One GET's JSON body; `empty` for a 204 (Celigo's answer for an empty list)."""
        response = await self.client.request("GET", url, params=params)
        if response.status_code == 204 or not response.content:
            return response, empty
        return response, self.client.json(response)

    def _next(self, url: str | None, seen: set[str], what: str) -> str | None:
        """The next page's URL, if any: on our own host, never one already read."""
        if url is None:
            return None
        if not isinstance(url, str) or not url:
            raise PayloadError(f"{self.system}: {what}: the next page's URL should be text, "
                               f"got {short(repr(url))}")
        target = httpx.URL(url)
        if target.is_absolute_url and (target.scheme, target.host, target.port) != (
                self.origin.scheme, self.origin.host, self.origin.port):
            raise PayloadError(f"{self.system}: {what}: refusing a next page on another host "
                               f"({target.host})")
        if url in seen or len(seen) >= MAX_PAGES:
            raise PayloadError(f"{self.system}: {what}: paging does not end "
                               f"({len(seen)} pages read)")
        seen.add(url)
        return url

    async def _flows(self) -> list[Flow]:
        flows: list[Flow] = []
        url: str | None = FLOWS
        params = {"limit": self.page_size} if self.page_size else None
        seen: set[str] = set()
        while url is not None:
            response, body = await self._get(url, params, [])
            if not isinstance(body, list):
                raise PayloadError(f"{self.system}: flows should be a list, got "
                                   f"{short(repr(body))}")
            flows += [self._flow(raw) for raw in body]
            params = None  # the Link URL carries the paging parameters
            url = self._next(response.links.get("next", {}).get("url"), seen, "flows")
        return flows

    def _flow(self, raw) -> Flow:
        flow = Fields(self.system, "flow", raw)
        flow_id = flow.text("_id")
        name = flow.text("name", optional=True) or flow_id
        steps: list[str] = [*self._ids(flow, "pageGenerators", "_exportId")]
        processors = list(self._objects(flow, "pageProcessors"))
        for router in self._objects(flow, "routers"):
            for branch in self._objects(router, "branches"):
                processors += self._objects(branch, "pageProcessors")
        for processor in processors:
            key = "_importId" if processor.record.get("type") == "import" else "_exportId"
            steps.append(processor.text(key))
        for legacy in ("_exportId", "_importId"):  # simple flows of the old kind
            if (step := flow.text(legacy, optional=True)) is not None:
                steps.append(step)
        handoff = self.overrides.get(name) or flow_handoff(name)
        return Flow(flow_id, name, handoff, tuple(dict.fromkeys(steps)))

    def _objects(self, parent: Fields, key: str) -> list[Fields]:
        value = parent.record.get(key)
        if value is None:
            return []
        return [Fields(self.system, f"{parent.what}.{key}[{i}]", item)
                for i, item in enumerate(parent.list(key))]

    def _ids(self, parent: Fields, key: str, id_key: str) -> list[str]:
        return [item.text(id_key) for item in self._objects(parent, key)]

    async def _flow_pages(self, flow: Flow, since: int | None) -> AsyncIterator[Page]:
        path = f"{FLOWS}/{quote(flow.id, safe='')}"
        _, body = await self._get(f"{path}/errors", None, {"flowErrors": []})
        summary = Fields(self.system, f"flow {flow.id} errors", body)
        counts: dict[str, int] = {}
        for i, raw in enumerate(summary.list("flowErrors")):
            entry = Fields(self.system, f"flow {flow.id} flowErrors[{i}]", raw)
            counts[entry.text("_expOrImpId")] = entry.int("numError", default=0)
        for step, open_errors in counts.items():
            if open_errors > 0:
                async for page in self._errors(flow, step, "errors", None):
                    yield page
        resolved = {"occurredAt_gte": iso_ms(since)} if since is not None else None
        for step in dict.fromkeys([*flow.steps, *counts]):
            async for page in self._errors(flow, step, "resolved", resolved):
                yield page

    async def _errors(self, flow: Flow, step: str, kind: str, params: dict | None
                      ) -> AsyncIterator[Page]:
        what = f"flow {flow.id} step {step} {kind}"
        url: str | None = f"{FLOWS}/{quote(flow.id, safe='')}/{quote(step, safe='')}/{kind}"
        seen: set[str] = set()
        while url is not None:
            _, body = await self._get(url, params, {"errors": []})
            envelope = Fields(self.system, what, body)
            rows = [self._message(raw, flow, step, kind == "resolved")
                    for raw in envelope.list("errors")]
            if rows:
                yield Page(messages=rows)
            params = None  # nextPageURL is followed verbatim: it carries the filters
            url = self._next(body.get("nextPageURL"), seen, what)

    def _message(self, raw, flow: Flow, step: str, resolved: bool) -> MessageRow:
        error = Fields(self.system, "error", raw)
        trace = raw.get("traceKey") if isinstance(raw, Mapping) else None
        if isinstance(trace, int) and not isinstance(trace, bool):
            trace = str(trace)  # an id template may render a number
        else:
            trace = error.text("traceKey", optional=True) or None
        return MessageRow(
            error_id=error.text("errorId"), flow=flow.name, flow_id=flow.id, step=step,
            occurred_at=error.time("occurredAt", iso_epoch, optional=False),
            source=error.text("source", optional=True), code=error.text("code", optional=True),
            message=error.text("message", optional=True) or "",
            classification=error.text("classification", optional=True),
            retry_key=error.text("retryDataKey", optional=True), trace_key=trace,
            handoff=flow.handoff, sku=trace, resolved=resolved,
            resolved_at=error.time("resolvedAt", iso_epoch) if resolved else None)
