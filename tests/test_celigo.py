"""Celigo integrator.io (middleware): the connector against wire fixtures written from
Celigo's documentation (respx), then end to end against the simulated Celigo: the demo's
E-77 reaches the cache, the lookup and the queue, and resolving it clears the exception."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from sqlalchemy import select

from app import config as config_module
from app.cache.engine import make_engine
from app.cache.models import MiddlewareError, QueueAudit, QueueItem
from app.cli import main
from app.diagnosis.evidence import Thresholds
from app.errors import ConfigError
from app.lookup import lookup
from app.simulator.scenario import Faults, parse_scenario
from app.simulator.server import Simulator, write_config
from app.simulator.world import from_scenario
from app.sources.base import Window
from app.sources.celigo import CeligoConnector, flow_handoff
from app.sources.errors import AuthError, PayloadError
from app.sources.http import HttpSettings
from tests.conftest import AFTER, SIM_NOW, TOKEN, nosleep, refresh, sqlite_only

API = "https://api.integrator.io"
SECRET = "celigo-SECRET-77"
HTTP = HttpSettings(timeout=5, retries=3, backoff=0, max_concurrency=1)
KEY = "failed-messages|LAMP-DSK-BLK|wms->erp"


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def celigo(sleep=nosleep, **kwargs) -> CeligoConnector:
    return CeligoConnector("middleware", API, SECRET, HTTP, sleep=sleep, **kwargs)


async def read_all(conn: CeligoConnector, window: Window | None = None) -> list:
    rows = []
    try:
        async for page in conn.read(window or Window()):
            rows += page.messages
    finally:
        await conn.aclose()
    return rows


def error(error_id: str, trace: str | None = "LAMP-DSK-BLK", at="2026-11-30T10:06:00.538Z",
          **extra) -> dict:
    """An error object as Celigo's Errors API article shows one."""
    body = {"occurredAt": at, "source": "application", "code": "response_failure",
            "message": f"failed {error_id}", "exportDataURI": trace, "oIndex": "1",
            "retryDataKey": f"retry-{error_id}", "errorId": error_id,
            "_flowJobId": "60c0000000000000000e77", "classification": "missing",
            "classifiedBy": "autopilot", **extra}
    if trace is not None:
        body["traceKey"] = trace
    return body


# An account of three flows: a flow with a lookup and an import, one with a router, and a
# legacy simple flow; listed two per page with a Link header.
FLOW_A = {"_id": "fa", "name": "WMS to ERP inventory",
          "pageGenerators": [{"_exportId": "xa"}],
          "pageProcessors": [{"type": "export", "_exportId": "la"},
                             {"type": "import", "_importId": "ia"}]}
FLOW_B = {"_id": "fb", "name": "ERP to Shopify inventory",
          "pageGenerators": [{"_exportId": "xb"}],
          "routers": [{"id": "r1", "routeRecordsTo": "first_matching_branch", "branches": [
              {"name": "in stock", "pageProcessors": [{"type": "import", "_importId": "ib1"}]},
              {"name": "sold out", "pageProcessors": [{"type": "import", "_importId": "ib2"}]},
          ]}]}
FLOW_C = {"_id": "fc", "name": "Nightly sync", "_exportId": "xc", "_importId": "ic"}


def account(requests: list[str], overrides: dict | None = None):
    """A respx side effect serving the account above; every URL asked for is recorded."""
    answers = {
        "/v1/flows": httpx.Response(200, json=[FLOW_A, FLOW_B], headers={
            "Link": f'<{API}/v1/flows?skip=2&limit=2>; rel="next", '
                    f'<{API}/v1/flows?skip=0&limit=2>; rel="prev"'}),
        "/v1/flows?skip=2&limit=2": httpx.Response(200, json=[FLOW_C]),
        "/v1/flows/fa/errors": httpx.Response(200, json={"flowErrors": [
            {"_expOrImpId": "xa", "numError": 0}, {"_expOrImpId": "ia", "numError": 3}]}),
        "/v1/flows/fb/errors": httpx.Response(204),
        "/v1/flows/fc/errors": httpx.Response(200, json={"flowErrors": []}),
        "/v1/flows/fa/ia/errors": httpx.Response(200, json={
            "errors": [error("e1"), error("e2")],
            "nextPageURL": "/v1/flows/fa/ia/errors?after=e2"}),
        "/v1/flows/fa/ia/errors?after=e2": httpx.Response(200, json={
            "errors": [error("e3", trace=None)]}),
        "/v1/flows/fa/ia/resolved": httpx.Response(200, json={"errors": [
            error("e0", resolvedAt="2026-11-30T11:00:00.000Z", resolvedBy="autopilot")]}),
        **(overrides or {}),
    }

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        requests.append(path)
        if path in answers:
            return answers[path]
        if path.split("?")[0].endswith("/resolved"):
            return httpx.Response(204)
        return httpx.Response(404, json={"errors": [{"code": "not_found", "message": path}]})

    return answer


@respx.mock
async def test_flows_follow_the_link_header_and_errors_follow_next_page_urls():
    requests: list[str] = []
    respx.route(host="api.integrator.io").mock(side_effect=account(requests))
    rows = await read_all(celigo())
    assert requests[:2] == ["/v1/flows", "/v1/flows?skip=2&limit=2"]  # the Link, verbatim
    assert "/v1/flows/fa/ia/errors?after=e2" in requests  # the nextPageURL, verbatim
    asked_open = {r for r in requests if r.endswith("/errors") and r.count("/") == 5}
    assert asked_open == {"/v1/flows/fa/ia/errors"}  # only where numError > 0
    resolved_steps = {r.split("/")[4] for r in requests if r.endswith("/resolved")}
    assert resolved_steps == {"xa", "la", "ia", "xb", "ib1", "ib2", "xc", "ic"}
    by_id = {row.error_id: row for row in rows}
    assert sorted(by_id) == ["e0", "e1", "e2", "e3"]
    e1 = by_id["e1"]
    assert (e1.flow, e1.flow_id, e1.step, e1.handoff, e1.sku, e1.trace_key) == \
        ("WMS to ERP inventory", "fa", "ia", "wms->erp", "LAMP-DSK-BLK", "LAMP-DSK-BLK")
    assert (e1.code, e1.source, e1.classification, e1.retry_key, e1.resolved) == \
        ("response_failure", "application", "missing", "retry-e1", False)
    assert e1.occurred_at == 1796033160  # 2026-11-30T10:06:00.538Z
    assert by_id["e3"].sku is None
    assert by_id["e0"].resolved and by_id["e0"].resolved_at == 1796036400


@respx.mock
async def test_an_incremental_read_asks_for_resolved_errors_since_the_window():
    requests: list[str] = []
    respx.route(host="api.integrator.io").mock(side_effect=account(requests))
    await read_all(celigo(), Window(messages_since=1796033160))
    resolved = [r for r in requests if "/resolved" in r]
    assert resolved and all(r.endswith("?occurredAt_gte=2026-11-30T10%3A06%3A00.000Z")
                            for r in resolved)
    assert not any("occurredAt" in r for r in requests if "/resolved" not in r)


@respx.mock
async def test_429_waits_as_long_as_retry_after_says():
    requests: list[str] = []
    serve = account(requests)
    throttled = httpx.Response(429, headers={"Retry-After": "2"}, json={"errors": [
        {"code": "rate_limited", "message": "Too many requests. Retry after 2 seconds."}]})
    first = [throttled]

    def answer(request: httpx.Request) -> httpx.Response:
        return first.pop() if first else serve(request)

    respx.route(host="api.integrator.io").mock(side_effect=answer)
    sleep = Recorder()
    conn = celigo(sleep)
    rows = await read_all(conn)
    assert sleep.waits == [2.0]
    assert (conn.stats.throttled, conn.stats.retries) == (1, 1)
    assert len(rows) == 4


@respx.mock
async def test_401_is_an_auth_failure_with_celigos_message_and_no_token():
    respx.get(f"{API}/v1/flows").mock(
        return_value=httpx.Response(401, json={"message": f"Unauthorized {SECRET}"}))
    with pytest.raises(AuthError) as caught:
        await read_all(celigo())
    assert "HTTP 401" in str(caught.value) and "Unauthorized" in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("overrides,reason", [
    ({"/v1/flows/fa/ia/errors": httpx.Response(200, json={"errors": [{"message": "x"}]})},
     "error.errorId should be text"),
    ({"/v1/flows/fa/ia/errors": httpx.Response(200, json={"errors": [error("e1", at="soon")]})},
     "error.occurredAt is not a time"),
    ({"/v1/flows/fa/errors": httpx.Response(200, json={"flowErrors": "many"})},
     "flowErrors should be a list"),
    ({"/v1/flows": httpx.Response(200, json={"flows": []})}, "flows should be a list"),
    ({"/v1/flows/fa/ia/errors": httpx.Response(200, text="<html>502</html>")}, "not JSON"),
    ({"/v1/flows": httpx.Response(200, json=[FLOW_A], headers={
        "Link": '<https://evil.example/v1/flows?skip=1>; rel="next"'})}, "another host"),
    ({"/v1/flows/fa/ia/errors?after=e2": httpx.Response(200, json={
        "errors": [], "nextPageURL": "/v1/flows/fa/ia/errors?after=e2"})}, "does not end"),
])
@respx.mock
async def test_a_malformed_answer_is_a_payload_error_naming_the_problem(overrides, reason):
    respx.route(host="api.integrator.io").mock(side_effect=account([], overrides))
    with pytest.raises(PayloadError, match=reason):
        await read_all(celigo())


@pytest.mark.parametrize("name,handoff", [
    ("WMS to ERP inventory", "wms->erp"),
    ("ERP to Shopify inventory", "erp->storefront"),
    ("ERP to storefront stock levels", "erp->storefront"),
    ("ShipHero to NetSuite adjustments", "wms->erp"),
    ("Shopify orders to ERP", None),
    ("Nightly sync", None),
])
def test_the_handoff_comes_from_the_flow_name(name, handoff):
    assert flow_handoff(name) == handoff


@respx.mock
async def test_the_config_names_the_handoff_of_a_flow_its_name_does_not():
    respx.route(host="api.integrator.io").mock(side_effect=account([]))
    rows = await read_all(celigo(flows={"WMS to ERP inventory": "erp->wms"}))
    assert {row.handoff for row in rows} == {"erp->wms"}


@pytest.mark.parametrize("section,problem", [
    ('[systems.middleware]\nkind = "celigo"\nbase_url = "https://api.integrator.io"\n'
     'token_env = "T"\nflows = { "WMS to ERP" = "sideways" }\n',
     "systems.middleware.flows: flow 'WMS to ERP': unknown handoff 'sideways'"),
    ('[systems.erp]\nkind = "celigo"\nbase_url = "https://api.integrator.io"\n'
     'token_env = "T"\n', "configure it as [systems.middleware]"),
    ('[systems.middleware]\nkind = "netsuite"\nbase_url = "https://x.example"\n'
     'token_env = "T"\n', "reads no middleware errors"),
    ('[systems.wms]\nkind = "shiphero"\nbase_url = "https://x.example"\ntoken_env = "T"\n'
     'flows = { "A to B" = "wms->erp" }\n', "only a middleware kind"),
])
def test_config_mistakes_about_middleware_are_one_line(tmp_path, section, problem):
    path = tmp_path / "config.toml"
    path.write_text(section)
    with pytest.raises(ConfigError) as caught:
        config_module.load(path, require_tokens=False)
    assert problem in str(caught.value) and "\n" not in str(caught.value)


# -- end to end, against the simulated Celigo ----------------------------------------------

def _open_errors(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(select(MiddlewareError.error_id, MiddlewareError.resolved,
                                   MiddlewareError.resolved_at)).all()
    return {r.error_id: (r.resolved, r.resolved_at) for r in rows}


def _exception(engine, key: str):
    with engine.connect() as conn:
        return conn.execute(select(QueueItem).where(QueueItem.key == key)).first()


async def test_the_demo_refresh_brings_e77_to_the_lookup_and_the_queue(config, sim, engine,
                                                                       capsys):
    results = await refresh(config, sim, engine)
    assert results["middleware"].status == "complete", results["middleware"].summary()
    assert results["middleware"].rows == 1 and results["middleware"].mode == "full"
    assert _open_errors(engine) == {"E-77": (False, None)}

    assert main(["--config", str(config.path), "lookup", "LAMP-DSK-BLK", "--location",
                 "RNO1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    found = [f for f in data["findings"] if f["code"] == "failed-messages"]
    assert len(found) == 1 and found[0]["handoff"] == "wms->erp"
    assert found[0]["owner"] == "integration" and "E-77" in found[0]["summary"]
    assert "\"Item 'LAMP-DSK-BLK' location 3: period locked\"" in found[0]["summary"]
    assert [e["error_id"] for e in data["middleware_errors"]] == ["E-77"]
    assert data["middleware_errors"][0]["flow"] == "WMS to ERP inventory"

    item = _exception(engine, KEY)
    assert item is not None and item.status == "open" and item.sku == "LAMP-DSK-BLK"
    assert (item.handoff, item.owner, item.severity) == ("wms->erp", "integration", 3)
    evidence = json.loads(item.evidence)
    assert [(e["error_id"], e["age_seconds"], e["message"]) for e in evidence["errors"]] == \
        [("E-77", AFTER - 1796033160, "Item 'LAMP-DSK-BLK' location 3: period locked")]
    at_rno = lookup(engine, config, "LAMP-DSK-BLK", AFTER, "RNO1").locations[0]
    assert "4 h 54 min old" in next(f.summary for f in at_rno.findings
                                    if f.code == "failed-messages")  # 10:06 → 15:00:05
    other = lookup(engine, config, "TEE-BLK-M", AFTER, "DAL1").locations[0]
    assert "failed-messages" not in {f.code for f in other.findings}


async def test_resolving_e77_in_celigo_clears_the_exception(config, sim, world, engine):
    await refresh(config, sim, engine)
    item = _exception(engine, KEY)
    with engine.connect() as conn:
        flow_id, step = conn.execute(select(MiddlewareError.flow_id, MiddlewareError.step)
                                     .where(MiddlewareError.error_id == "E-77")).one()
    world.set_clock(world.base_now + 600)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app),
                                 base_url="http://sim/celigo") as client:
        answer = await client.put(f"/v1/flows/{flow_id}/{step}/resolved",
                                  json={"errors": ["E-77"]},
                                  headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 204

    results = await refresh(config, sim, engine, ["middleware"])
    assert results["middleware"].mode == "incremental"
    # The incremental read asks for errors resolved among those that occurred since the
    # last read; E-77 is older, so it is closed because the open list no longer has it,
    # as of the run's start ...
    assert _open_errors(engine) == {"E-77": (True, AFTER)}
    cleared = _exception(engine, KEY)
    assert cleared.id == item.id and cleared.status == "cleared"
    with engine.connect() as conn:
        note = conn.scalar(select(QueueAudit.note).where(QueueAudit.exception_id == item.id,
                                                         QueueAudit.action == "cleared"))
    assert "no longer lists these errors as open" in note
    after = lookup(engine, config, "LAMP-DSK-BLK", AFTER, "RNO1").locations[0]
    assert "failed-messages" not in {f.code for f in after.findings}
    await refresh(config, sim, engine, ["middleware"], full=True)  # ... until a full read
    assert _open_errors(engine) == {"E-77": (True, world.base_now + 600)}  # Celigo's time


@pytest.mark.parametrize("fault,reason", [
    (Faults(malformed_at=1, malformed="not-json"), "answer is not JSON"),
    (Faults(unauthorized_after=1), "HTTP 401"),
    (Faults(down=True), "HTTP 503"),
])
async def test_a_failed_middleware_read_changes_nothing(config, sim, world, engine, fault,
                                                        reason):
    await refresh(config, sim, engine)
    sim.vendors["middleware"].resolve_now("E-77")  # resolved, but the next read fails
    sim.set_faults("middleware", fault)
    results = await refresh(config, sim, engine, ["middleware"])
    failed = results["middleware"]
    assert failed.status == "failed" and reason in failed.error, failed.summary()
    assert TOKEN not in failed.error
    assert _open_errors(engine) == {"E-77": (False, None)}  # not closed by a failed read
    assert _exception(engine, KEY).status == "open"
    sim.set_faults("middleware", None)
    assert (await refresh(config, sim, engine, ["middleware"]))["middleware"].status == \
        "complete"
    assert _exception(engine, KEY).status == "cleared"


async def test_throttling_and_5xx_from_celigo_slow_the_read_but_it_completes(config, sim,
                                                                             engine):
    sim.set_faults("middleware", Faults(throttle_every=3))
    results = await refresh(config, sim, engine, ["middleware"])
    assert results["middleware"].status == "complete", results["middleware"].summary()
    assert results["middleware"].throttled > 0
    assert _open_errors(engine) == {"E-77": (False, None)}


def _world(errors: list[dict]):
    return from_scenario(parse_scenario({
        "now": SIM_NOW, "location": [{"code": "DAL1"}],
        "item": [{"sku": "A"}, {"sku": "B"}],
        "count": [{"system": "wms", "sku": "A", "location": "DAL1", "on_hand": 1}],
        "error": errors}))


async def test_many_errors_over_many_flows_arrive_in_pages(tmp_path):
    errors = [{"id": f"E-{i}", "flow": f"WMS to ERP inventory {i % 2}", "sku": "AB"[i % 2],
               "occurred_at": f"2026-11-30T1{i % 5}:00:00Z", "message": f"m{i}"}
              for i in range(11)]
    errors.append({"id": "E-old", "handoff": "erp->storefront", "sku": "A",
                   "occurred_at": "2026-11-29T10:00:00Z", "resolved_at": "2026-11-29T12:00:00Z"})
    errors.append({"id": "E-later", "flow": "WMS to ERP inventory 0", "sku": "A",
                   "occurred_at": "2026-11-30T16:00:00Z"})  # after the simulator's now
    world = _world(errors)
    sim = Simulator(world, token=TOKEN)
    world.set_clock(world.base_now)
    conn = CeligoConnector("middleware", "http://sim/celigo", TOKEN, HTTP,
                           transport=httpx.ASGITransport(app=sim.app), sleep=nosleep)
    rows = await read_all(conn)
    assert sorted(r.error_id for r in rows if not r.resolved) == sorted(
        f"E-{i}" for i in range(11))
    resolved = [r for r in rows if r.resolved]
    assert [(r.error_id, r.flow, r.handoff) for r in resolved] == \
        [("E-old", "ERP to Shopify inventory", "erp->storefront")]
    assert resolved[0].resolved_at == 1795953600  # 2026-11-29T12:00:00Z
    assert conn.stats.requests > 12  # several pages of flows and of each flow's errors

    path = tmp_path / "config.toml"
    write_config(sim, "http://sim", path)
    config = config_module.load(path)
    engine = make_engine(config.cache_url)
    await refresh(config, sim, engine)
    with engine.connect() as conn_:
        keys = set(conn_.scalars(select(QueueItem.key)))
    assert keys == {"failed-messages|A|wms->erp", "failed-messages|B|wms->erp"}
    a = lookup(engine, config, "A", AFTER, "DAL1").locations[0]
    found = [f for f in a.findings if f.code == "failed-messages"]
    assert len(found) == 1 and found[0].summary.startswith(
        "6 open middleware errors for A on WMS→ERP (flow WMS to ERP inventory 0), the "
        "oldest 5 h old;")
    assert found[0].summary.endswith("the newest, E-4 (FIELD_VALIDATION_ERROR), says \"m4\"")


async def test_the_simulated_celigo_rejects_a_wrong_token_as_celigo_does(sim):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app),
                                 base_url="http://sim/celigo") as client:
        answer = await client.get("/v1/flows", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401 and answer.json() == {"message": "Unauthorized"}


def test_the_lookup_reads_a_skus_open_errors_with_one_index_seek(config, engine):
    sqlite_only(engine, "EXPLAIN QUERY PLAN")
    from app.cache.sku import _MESSAGES

    with engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {_MESSAGES}",
                                    ("LAMP-DSK-BLK", False, 200)).all()
    assert len(plan) == 1 and "USING INDEX ix_middleware_error_sku" in plan[0][-1]


def test_the_rule_gives_one_finding_per_handoff_with_the_message_as_plain_text():
    from app.diagnosis import diagnose
    from app.diagnosis.evidence import Evidence
    from app.records import OpenMessage

    now = 1796050800

    def message(error_id, handoff, minutes_ago, text="rejected", flow="WMS to ERP inventory"):
        return OpenMessage("middleware", error_id, flow, handoff, None,
                           now - minutes_ago * 60, "DUP_RCRD", text, "duplicate")

    messages = (message("e3", None, 5, flow="Nightly sync"),
                message("e2", "erp->storefront", 30, "[red]bad[/red]\n  line " + "x" * 300,
                        flow="ERP to Shopify inventory"),
                message("e1", "wms->erp", 90), message("e0", "wms->erp", 200))
    ev = Evidence("TEE-BLK-M", "DAL1", now, {}, messages=messages)
    found = [f for f in diagnose(ev, Thresholds()) if f.code == "failed-messages"]
    assert [(f.handoff, f.systems) for f in found] == [
        ("wms->erp", ("wms", "erp")), ("erp->storefront", ("erp", "storefront")),
        ("middleware", ())]
    assert found[0].summary == (
        "2 open middleware errors for TEE-BLK-M on WMS→ERP (flow WMS to ERP inventory), the "
        "oldest 3 h 20 min old; the newest, e1 (DUP_RCRD), says \"rejected\"")
    quoted = found[1].summary.split(" says ")[1]
    assert quoted.startswith('"[red]bad[/red] line xxx') and quoted.endswith('…"')
    assert "\n" not in quoted and len(quoted) == 162
    assert "in a flow of no known handoff (flow Nightly sync)" in found[2].summary
    assert found[0].owner == "integration"
    unmapped = Evidence("TEE-BLK-M", "storefront:9", now, {}, mapped=False, messages=messages)
    assert not [f for f in diagnose(unmapped, Thresholds()) if f.code == "failed-messages"]
