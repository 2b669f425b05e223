"""Simulated Celigo integrator.io (middleware), from Celigo's "Errors API endpoints"
article, the flows reference (celigo/integrator-api-docs flow.md) and developer.celigo.com's
pagination and rate-limit pages.

The scenario's [[error]] rows become flow-step errors. Each distinct `flow` name (or, for
a row without one, a name made from its handoff) is a flow with one export (its source)
and one import, where its errors sit. A few flows without errors stand beside them, as in
any account: one routes records through a router's branches, one is a legacy simple flow
with a top-level export and import. Flows are listed a couple at a time with a `Link`
header, errors a few at a time with `nextPageURL`, so a reader must page.

Errors are served as of the simulator's clock: one that has not occurred yet is absent,
one whose `resolved_at` has passed is under /resolved (with `resolvedAt` and `resolvedBy`,
which Celigo does not document), and `PUT .../resolved` resolves errors as the real API
does. Celigo's error object has no retry count, so the rows' `retries` is not served.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.simulator.vendor import VendorSim, json_response
from app.simulator.world import World

FLOW_PAGE = 2  # flows per page unless ?limit= says otherwise (Celigo's default is 100)
MAX_LIMIT = 1000
ERROR_PAGE = 3  # errors per page (Celigo's is undocumented)
RETRY_AFTER = 2  # seconds, as Celigo's rate-limit page shows
PURGE_DAYS = 30
USER_ID = "5e03061cda20740022300f09"  # who resolves errors (Celigo's tokenInfo example)
FLOW_NAMES = {"wms->erp": "WMS to ERP inventory", "erp->storefront": "ERP to Shopify inventory",
              "erp->wms": "ERP to WMS pick releases"}
QUIET_FLOWS = ("ERP to Shopify inventory", "Shopify orders to ERP", "ERP to WMS pick releases")


def _oid(*parts: str) -> str:
    """A stable 24-hex id, the shape of Celigo's (MongoDB) ids."""
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:24]


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _epoch(text: str) -> int:
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


class CeligoSim(VendorSim):
    role = "middleware"

    def __init__(self, world: World, token: str) -> None:
        super().__init__(world, token, bucket=(1000, 300))  # Celigo's leaky bucket
        # error id → (resolved at, by whom): the scenario's, then PUT .../resolved
        self.resolutions: dict[str, tuple[int, str]] = {
            row.id: (int(row.resolved_at.timestamp()), USER_ID)
            for row in world.errors if row.resolved_at is not None}

    def routes(self) -> list[Route]:
        return [
            Route("/v1/flows", self.flows, methods=["GET"]),
            Route("/v1/flows/{flow}", self.flow, methods=["GET"]),
            Route("/v1/flows/{flow}/errors", self.summary, methods=["GET"]),
            Route("/v1/flows/{flow}/{step}/errors", self.open_errors, methods=["GET"]),
            Route("/v1/flows/{flow}/{step}/resolved", self.resolved_errors, methods=["GET"]),
            Route("/v1/flows/{flow}/{step}/resolved", self.resolve, methods=["PUT"]),
        ]

    # -- vendor answers ------------------------------------------------------------------
    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def unauthorized(self) -> Response:
        return json_response({"message": "Unauthorized"}, 401)

    def throttle(self) -> Response:
        return json_response(
            {"errors": [{"code": "rate_limited",
                         "message": f"Too many requests. Retry after {RETRY_AFTER} seconds."}]},
            429, {"Retry-After": str(RETRY_AFTER)})

    def error(self) -> Response:
        return json_response({"errors": [{"code": "internal_error",
                                          "message": "Something went wrong."}]}, 500)

    @staticmethod
    def _problem(status: int, code: str, message: str) -> Response:
        return json_response({"errors": [{"code": code, "message": message}]}, status)

    async def _answer(self, request: Request, handler) -> Response:
        async def limited() -> Response:
            if not self.bucket.take(1):
                return self.throttle()
            return await handler()

        return await self.guarded(request, limited)

    # -- the account's flows ---------------------------------------------------------------
    def _flow_names(self) -> list[str]:
        names = [self._flow_of(row) for row in self.world.errors]
        return list(dict.fromkeys([*names, *QUIET_FLOWS]))

    def _error_flows(self) -> dict[str, list]:
        """flow name → its [[error]] rows that have occurred by the simulator's clock."""
        now = self.world.now()
        flows: dict[str, list] = {}
        for row in self.world.errors:
            if int(row.occurred_at.timestamp()) <= now:
                flows.setdefault(self._flow_of(row), []).append(row)
        return flows

    def _flow_of(self, row) -> str:
        return row.flow or FLOW_NAMES.get(row.handoff or "", "Unnamed flow")

    def _shape(self, name: str) -> str:
        """How a flow is laid out: 'simple' (one export, one import: where errors land),
        'router' (branches) or 'legacy' (top-level ids); quiet flows vary."""
        if any(self._flow_of(row) == name for row in self.world.errors):
            return "simple"
        return {"ERP to WMS pick releases": "legacy",
                "ERP to Shopify inventory": "router"}.get(name, "simple")

    def _steps(self, name: str) -> tuple[str, ...]:
        steps = (_oid("export", name), _oid("import", name))
        return (*steps, _oid("import2", name)) if self._shape(name) == "router" else steps

    def _definition(self, name: str) -> dict:
        created = self.world.base_now - 90 * 86400
        flow = {"_id": _oid("flow", name), "name": name, "disabled": False,
                "_integrationId": _oid("integration", "seamdesk"),
                "createdAt": _iso(created), "lastModified": _iso(created + 86400),
                "lastExecutedAt": _iso(self.world.base_now - 300)}
        shape, steps = self._shape(name), self._steps(name)
        if shape == "legacy":
            flow.update(_exportId=steps[0], _importId=steps[1])
            del flow["_integrationId"]  # a standalone flow, too
            return flow
        flow["pageGenerators"] = [{"_exportId": steps[0], "skipRetries": False}]
        if shape == "router":
            flow["routers"] = [{
                "id": _oid("router", name), "routeRecordsTo": "all_matching_branches",
                "branches": [
                    {"name": branch, "inputFilter": {"rules": []}, "nextRouterId": None,
                     "pageProcessors": [{"type": "import", "_importId": step}]}
                    for branch, step in (("In stock", steps[1]), ("Sold out", steps[2]))]}]
        else:
            flow["pageProcessors"] = [{"type": "import", "_importId": steps[1],
                                       "responseMapping": {"fields": [], "lists": []}}]
        return flow

    def _by_id(self) -> dict[str, str]:
        return {_oid("flow", name): name for name in self._flow_names()}

    async def flows(self, request: Request) -> Response:
        async def answer() -> Response:
            try:
                skip = int(request.query_params.get("skip", 0))
                limit = int(request.query_params.get("limit", FLOW_PAGE))
            except ValueError:
                return self._problem(400, "invalid_query_params",
                                     "skip and limit must be numbers")
            if skip < 0 or not 1 <= limit <= MAX_LIMIT:
                return self._problem(400, "invalid_query_params",
                                     f"limit must be between 1 and {MAX_LIMIT}")
            names = self._flow_names()
            if not names[skip:]:
                return Response(status_code=204)
            body = [self._definition(name) for name in names[skip:skip + limit]]
            links = []
            page = request.url.include_query_params
            if skip + limit < len(names):
                links.append(f'<{page(skip=skip + limit, limit=limit)}>; rel="next"')
            if skip > 0:
                links.append(f'<{page(skip=max(0, skip - limit), limit=limit)}>; rel="prev"')
            return json_response(body, headers={"Link": ", ".join(links)} if links else None)

        return await self._answer(request, answer)

    async def flow(self, request: Request) -> Response:
        async def answer() -> Response:
            name = self._by_id().get(request.path_params["flow"])
            if name is None:
                return self._problem(404, "not_found", "Flow not found.")
            return json_response(self._definition(name))

        return await self._answer(request, answer)

    # -- errors ------------------------------------------------------------------------------
    def _resolved(self, error_id: str) -> tuple[int, str] | None:
        found = self.resolutions.get(error_id)
        return found if found is not None and found[0] <= self.world.now() else None

    def _step_rows(self, flow: str, step: str) -> list | None:
        """The rows at one step of a flow; None when there is no such flow or step."""
        name = self._by_id().get(flow)
        if name is None or step not in self._steps(name):
            return None
        if step != _oid("import", name):
            return []  # errors sit at the import
        return self._error_flows().get(name, [])

    async def summary(self, request: Request) -> Response:
        async def answer() -> Response:
            name = self._by_id().get(request.path_params["flow"])
            if name is None:
                return self._problem(404, "not_found", "Flow not found.")
            rows = self._error_flows().get(name, [])
            open_count = sum(1 for row in rows if self._resolved(row.id) is None)
            target = _oid("import", name)
            return json_response({"flowErrors": [
                {"_expOrImpId": step, "numError": open_count if step == target else 0}
                for step in self._steps(name)]})

        return await self._answer(request, answer)

    async def open_errors(self, request: Request) -> Response:
        return await self._answer(request, lambda: self._errors(request, resolved=False))

    async def resolved_errors(self, request: Request) -> Response:
        return await self._answer(request, lambda: self._errors(request, resolved=True))

    async def _errors(self, request: Request, resolved: bool) -> Response:
        flow, step = request.path_params["flow"], request.path_params["step"]
        rows = self._step_rows(flow, step)
        if rows is None:
            return self._problem(404, "not_found", "Flow or step not found.")
        query = request.query_params
        try:
            low = _epoch(query["occurredAt_gte"]) if "occurredAt_gte" in query else None
            high = _epoch(query["occurredAt_lte"]) if "occurredAt_lte" in query else None
            after = tuple(query["after"].split("~", 1)) if "after" in query else None
        except ValueError:
            return self._problem(400, "invalid_query_params",
                                 "occurredAt_gte and occurredAt_lte must be ISO 8601 times")
        picked = []
        for row in rows:
            at = int(row.occurred_at.timestamp())
            if (self._resolved(row.id) is not None) != resolved:
                continue
            if (low is not None and at < low) or (high is not None and at > high):
                continue
            if "source" in query and (row.source or "application") != query["source"]:
                continue
            picked.append((f"{at:012d}", row.id, row))
        picked.sort(key=lambda item: item[:2])
        if after is not None:
            picked = [item for item in picked if item[:2] > after]
        if not picked:
            return Response(status_code=204)
        page = picked[:ERROR_PAGE]
        body: dict = {"errors": [self._error(row, flow) for _, _, row in page]}
        if len(picked) > ERROR_PAGE:
            params = {k: v for k, v in query.items() if k != "after"}
            params["after"] = "~".join(page[-1][:2])
            kind = "resolved" if resolved else "errors"
            body["nextPageURL"] = f"/v1/flows/{flow}/{step}/{kind}?{urlencode(params)}"
        return json_response(body)

    def _error(self, row, flow: str) -> dict:
        at = int(row.occurred_at.timestamp())
        job = _oid("job", flow, str(at // 3600))
        error = {"occurredAt": _iso(at), "source": row.source or "application",
                 "code": row.code or "FIELD_VALIDATION_ERROR", "message": row.message}
        if row.sku is not None:
            error["traceKey"] = row.sku
            error["exportDataURI"] = row.sku
        error.update({
            "oIndex": "0", "retryDataKey": hashlib.sha1(f"retry/{row.id}".encode()).hexdigest(),
            "errorId": row.id, "_flowJobId": job,
            "classification": row.classification or "value", "classifiedBy": "autopilot",
            "reqAndResKey": f"{at}{row.id.encode().hex()[:6]}-{job}-200-POST",
            "purgeAt": _iso((at // 86400 + PURGE_DAYS) * 86400), "retriable": True})
        resolution = self._resolved(row.id)
        if resolution is not None:
            error["resolvedAt"], error["resolvedBy"] = _iso(resolution[0]), resolution[1]
        return error

    async def resolve(self, request: Request) -> Response:
        """PUT .../resolved with {"errors": [errorId, ...]}: 204, as the real one answers."""
        async def answer() -> Response:
            rows = self._step_rows(request.path_params["flow"], request.path_params["step"])
            if rows is None:
                return self._problem(404, "not_found", "Flow or step not found.")
            try:
                ids = orjson.loads(await request.body())["errors"]
                assert isinstance(ids, list) and all(isinstance(i, str) for i in ids)
            except (ValueError, KeyError, TypeError, AssertionError):
                return self._problem(400, "invalid_body", 'the body must be {"errors": [ids]}')
            here = {row.id for row in rows}
            for error_id in ids:
                if error_id in here and self._resolved(error_id) is None:
                    self.resolve_now(error_id)
            return Response(status_code=204)

        return await self._answer(request, answer)

    def resolve_now(self, error_id: str, by: str = USER_ID) -> None:
        """Resolve one error at the simulator's clock (what a person does in Celigo's UI)."""
        self.resolutions[error_id] = (self.world.now(), by)
