"""Order/PO lines from the ERP (NetSuite SuiteQL + systemnote) and the WMS (ShipHero
orders): each connector against wire fixtures written from the vendor's documentation
(respx), then against the simulated systems. The supplier: tests/test_supplier_portal.py
and, for the X12 drop folder, tests/test_order_queue.py."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from app.simulator.scenario import parse_scenario
from app.simulator.server import Simulator
from app.simulator.world import from_scenario
from app.sources.base import Window
from app.sources.errors import PayloadError, UnavailableError
from app.sources.http import HttpSettings
from app.sources.netsuite import NetSuiteConnector
from app.sources.shiphero import ShipHeroConnector
from tests.conftest import SIM_NOW, TOKEN, nosleep

HTTP = HttpSettings(timeout=5, retries=2, backoff=0, max_concurrency=1)
NS = "https://1234567.suitetalk.api.netsuite.com"
SH = "https://public-api.shiphero.com"


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def orders_of(connector, window: Window | None = None) -> list:
    rows = []
    try:
        async for page in connector.read(window or Window()):
            rows += page.orders
    finally:
        await connector.aclose()
    return rows


def _world(orders: list[dict], locations=("DAL1",)):
    return from_scenario(parse_scenario({
        "now": SIM_NOW, "location": [{"code": code} for code in locations],
        "item": [{"sku": sku} for sku in ("A", "B", "C", "TEE-BLK-M")],
        "count": [{"system": "wms", "sku": "A", "location": locations[0], "on_hand": 1}],
        "order": orders}))


def _sim(world) -> Simulator:
    sim = Simulator(world, token=TOKEN)
    world.set_clock(world.base_now)
    return sim


def _asgi(sim):
    return httpx.ASGITransport(app=sim.app)


# -- NetSuite: lines from SuiteQL, versions from systemnote --------------------------------

LINES = [  # as SuiteQL answers: strings, NULL columns left out, ABS already applied
    {"links": [], "txn_id": "607632", "tranid": "PO1042", "type": "PurchOrd", "status": "D",
     "modified_at": "2026-11-30 12:30:00", "line_id": "1", "line_seq": "1",
     "sku": "SKU-RED-M", "location_id": "3", "quantity": "100", "done": "40",
     "isclosed": "F"},
    {"links": [], "txn_id": "607632", "tranid": "PO1042", "type": "PurchOrd", "status": "D",
     "modified_at": "2026-11-30 12:30:00", "line_id": "2", "line_seq": "2",
     "sku": "SKU-RED-L", "location_id": "3", "quantity": "60.0", "isclosed": "T"},
    {"links": [], "txn_id": "986406", "tranid": "SO865732", "type": "SalesOrd", "status": "B",
     "modified_at": "2026-11-30 14:56:01", "line_id": "4", "line_seq": "1",
     "sku": "SKU-RED-M", "location_id": "3", "quantity": "4", "done": "0", "isclosed": "F"},
]
NOTES = [  # type 4 TRANLINE rows; the first two are one save (the same second)
    {"links": [], "id": "881", "recordid": "607632", "type": "4", "field": "TRANLINE.RQTY",
     "changed_at": "2026-11-30 10:05:00"},
    {"links": [], "id": "882", "recordid": "607632", "type": "4", "field": "TRANLINE.RQTY",
     "changed_at": "2026-11-30 10:05:00"},
    {"links": [], "id": "883", "recordid": "607632", "type": "4",
     "field": "TRANLINE.RUNITPRICE", "changed_at": "2026-11-30 11:00:00"},
    {"links": [], "id": "884", "recordid": "607632", "type": "4", "field": "TRANLINE.RQTY",
     "changed_at": "2026-11-30 12:30:00"},
]


def suiteql(queries: list[str], notes=NOTES, fail_notes: int = 0):
    state = {"fails": fail_notes}

    def answer(request: httpx.Request) -> httpx.Response:
        sql = json.loads(request.content)["q"]
        queries.append(sql)
        limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
        if "FROM systemnote" in sql:
            if state["fails"]:
                state["fails"] -= 1
                return httpx.Response(500, json={"o:errorDetails": [{
                    "o:errorCode": "UNEXPECTED_ERROR", "detail": "An unexpected error"}]})
            rows = [n for n in notes if f"{n['recordid']}" in sql.split("IN (")[1]]
        elif "'PurchOrd', 'SalesOrd'" in sql:
            rows = LINES
        else:
            rows = []
        page = rows[offset:offset + limit]
        return httpx.Response(200, json={"links": [], "count": len(page), "items": page,
                                         "hasMore": offset + limit < len(rows),
                                         "offset": offset, "totalResults": len(rows)})

    return answer


def netsuite(**kwargs) -> NetSuiteConnector:
    return NetSuiteConnector("erp", NS, "ns-token", HTTP, sleep=nosleep, **kwargs)


@respx.mock
async def test_netsuite_pages_order_lines_and_counts_amendments_per_save():
    queries: list[str] = []
    respx.post(f"{NS}/services/rest/query/v1/suiteql").mock(side_effect=suiteql(queries))
    rows = await orders_of(netsuite(page_size=2))
    by_key = {(r.number, r.line): r for r in rows}
    assert sorted(by_key) == [("PO1042", "1"), ("PO1042", "2"), ("SO865732", "1")]
    po = by_key[("PO1042", "1")]
    # two saves changed a quantity (10:05, both lines at once; 12:30); a price change is no
    # new version
    assert (po.version, po.amended_at) == (3, 1796041800)
    assert (po.kind, po.quantity, po.shipped, po.status, po.location_id) == \
        ("purchase", 100, 40, "Partially Received", "3")
    assert by_key[("PO1042", "2")].status == "Closed" and by_key[("PO1042", "2")].quantity == 60
    so = by_key[("SO865732", "1")]
    assert (so.kind, so.quantity, so.version, so.amended_at, so.status) == \
        ("sales", 4, 1, None, "Pending Fulfillment")
    lines_sql = next(q for q in queries if "'PurchOrd', 'SalesOrd'" in q)
    for part in ("ABS(tl.quantity)", "tl.mainline = 'F'", "tl.taxline = 'F'",
                 "tl.item IS NOT NULL"):
        assert part in lines_sql
    notes_sql = list(dict.fromkeys(q for q in queries if "FROM systemnote" in q))
    assert len(notes_sql) == 2  # one per page of lines: the page's documents only ...
    assert sum("FROM systemnote" in q for q in queries) == 3  # ... paged like any query
    assert "sn.recordtypeid = -30 AND sn.recordid IN (607632)" in notes_sql[0]
    assert "sn.type = 4" in notes_sql[0] and "sn.field LIKE 'TRANLINE.%'" in notes_sql[0]
    assert "JOIN" not in notes_sql[0]


@respx.mock
async def test_netsuite_reads_only_documents_changed_since_the_window():
    queries: list[str] = []
    respx.post(f"{NS}/services/rest/query/v1/suiteql").mock(side_effect=suiteql(queries))
    await orders_of(netsuite(), Window(orders_since=1796031000))
    lines_sql = next(q for q in queries if "'PurchOrd', 'SalesOrd'" in q)
    assert "t.lastmodifieddate > TO_TIMESTAMP('2026-11-30 09:30:00'" in lines_sql


@respx.mock
async def test_netsuite_systemnote_errors_are_retried_then_fail_the_read():
    respx.post(f"{NS}/services/rest/query/v1/suiteql").mock(
        side_effect=suiteql([], fail_notes=1))
    assert len(await orders_of(netsuite())) == 3  # one 500, then the retry answers
    respx.post(f"{NS}/services/rest/query/v1/suiteql").mock(
        side_effect=suiteql([], fail_notes=9))
    with pytest.raises(UnavailableError, match="UNEXPECTED_ERROR"):
        await orders_of(netsuite())


@respx.mock
async def test_a_malformed_order_line_is_a_payload_error_naming_the_field():
    bad = [{**LINES[0], "quantity": "lots"}]

    def answer(request):
        sql = json.loads(request.content)["q"]
        items = bad if "'PurchOrd'" in sql and "systemnote" not in sql else []
        return httpx.Response(200, json={"links": [], "count": len(items), "items": items,
                                         "hasMore": False, "offset": 0, "totalResults": 1})

    respx.post(f"{NS}/services/rest/query/v1/suiteql").mock(side_effect=answer)
    with pytest.raises(PayloadError, match=r"order line\.quantity should be a number"):
        await orders_of(netsuite())


async def test_the_simulated_netsuite_serves_versions_through_systemnote():
    world = _world([
        {"number": "PO-7", "sku": "A", "location": "DAL1", "erp_qty": 70, "erp_version": 3,
         "amended_at": "2026-11-30T10:05:00Z", "wms_qty": 40},
        {"number": "PO-7", "sku": "B", "location": "DAL1", "erp_qty": 5},
        {"number": "SO-9", "sku": "C", "location": "DAL1", "erp_qty": 4}])
    sim = _sim(world)
    rows = await orders_of(NetSuiteConnector("erp", "http://sim/netsuite", TOKEN, HTTP,
                                             transport=_asgi(sim), sleep=nosleep))
    by_key = {(r.number, r.sku): r for r in rows}
    assert sorted(by_key) == [("PO-7", "A"), ("PO-7", "B"), ("SO-9", "C")]  # no tax line
    a = by_key[("PO-7", "A")]
    assert (a.version, a.amended_at, a.quantity, a.line, a.location_id) == \
        (3, 1796033100, 70, "1", "1")
    assert by_key[("PO-7", "B")].version == 3  # the document's version
    so = by_key[("SO-9", "C")]
    assert (so.kind, so.quantity, so.version) == ("sales", 4, 1)  # stored as -4
    world.set_clock(world.base_now - 6 * 3600)  # 09:00: before both amendments
    rows = await orders_of(NetSuiteConnector("erp", "http://sim/netsuite", TOKEN, HTTP,
                                             transport=_asgi(sim), sleep=nosleep))
    a = next(r for r in rows if r.sku == "A")
    assert (a.version, a.quantity, a.amended_at) == (1, 40, None)


@pytest.mark.parametrize("sql,status", [
    ("SELECT sn.id FROM systemnote sn WHERE sn.recordtypeid = -30 AND sn.recordid IN (60000)",
     200),
    ("SELECT sn.id FROM systemnote sn WHERE sn.recordid = 60000", 500),  # times out for real
    ("SELECT COUNT(*) AS n FROM systemnote sn WHERE sn.recordtypeid = -30", 500),
])
async def test_the_simulated_netsuite_refuses_what_systemnote_refuses(sql, status):
    sim = _sim(_world([{"number": "PO-7", "sku": "A", "location": "DAL1", "erp_qty": 7}]))
    async with httpx.AsyncClient(transport=_asgi(sim), base_url="http://sim/netsuite") as c:
        answer = await c.post("/services/rest/query/v1/suiteql", json={"q": sql},
                              headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == status
    if status == 500:
        assert answer.json()["o:errorDetails"][0]["o:errorCode"] == "UNEXPECTED_ERROR"


# -- ShipHero: orders, allocations, line items, tote picks --------------------------------

WAREHOUSE = "V2FyZWhvdXNlOjc2NzMz"


def _line(line_id, sku, quantity, picked=0, shipped=0, status="pending", allocated=True):
    picks = [{"tote_id": "VG90ZTox", "picked_quantity": picked, "quantity": quantity,
              "created_at": "2026-11-30T09:40:00"}] if picked else []
    return {"node": {"id": line_id, "sku": sku, "quantity": quantity,
                     "quantity_allocated": quantity if allocated else 0,
                     "quantity_shipped": shipped,
                     "fulfillment_status": status, "updated_at": "2026-11-30T09:40:00",
                     "tote_picks": picks}}


def _order(order_id, number, status, lines, more_lines=False, allocated=True):
    allocations = [{"warehouse_id": WAREHOUSE, "allocated_at": "2026-11-30T09:30:00",
                    "line_items": [{"line_item_id": e["node"]["id"], "sku": e["node"]["sku"],
                                    "quantity_allocated": e["node"]["quantity"]}
                                   for e in lines]}] if allocated else []
    return {"node": {"id": order_id, "order_number": number, "fulfillment_status": status,
                     "updated_at": "2026-11-30T09:40:00", "allocations": allocations,
                     "line_items": {"pageInfo": {"hasNextPage": more_lines,
                                                 "endCursor": "bGluZXM6MA==" if more_lines
                                                 else None}, "edges": lines}}}


def shiphero_account(requests: list[dict]):
    throttled = [True]

    def wrap(field, data):
        return httpx.Response(200, json={"data": {field: {
            "request_id": "r", "complexity": 1, "data": data}}})

    def empty():
        return {"pageInfo": {"hasNextPage": False, "endCursor": None}, "edges": []}

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        query, variables = body["query"], body.get("variables") or {}
        requests.append(body)
        if "account" in query:
            return wrap("account", {"warehouses": [
                {"id": WAREHOUSE, "legacy_id": 76733, "identifier": "Dallas"}]})
        if "orders(" in query:
            if throttled.pop() if throttled else False:
                return httpx.Response(200, json={"errors": [{
                    "code": 30, "message": "There are not enough credits",
                    "required_credits": 526, "remaining_credits": 10,
                    "time_remaining": "3 seconds"}], "data": {"orders": None}})
            if variables.get("after") is None:
                return wrap("orders", {"pageInfo": {"hasNextPage": True, "endCursor": "p1"},
                                       "edges": [_order("O1", "PO-1042", "pending", [
                                           _line("L1", "TEE-BLK-M", 40, picked=40)],
                                           more_lines=True)]})
            return wrap("orders", {"pageInfo": {"hasNextPage": False, "endCursor": "p2"},
                                   "edges": [
                _order("O2", "#1043", "fulfilled", [_line("L3", "A", 3, 3, 3, "fulfilled")]),
                _order("O3", "#1044", "Canceled", [_line("L4", "B", 1)]),
                _order("O4", "#1045", "pending", [_line("L5", "C", 2, allocated=False)],
                       allocated=False)]})
        if "order(id" in query:
            assert variables["id"] == "O1" and variables["after"] == "bGluZXM6MA=="
            return wrap("order", {"id": "O1", "line_items": {
                "pageInfo": {"hasNextPage": False, "endCursor": None},
                "edges": [_line("L2", "HOOD-GRY-L", 5, picked=2)]}})
        field = "warehouse_products" if "warehouse_products" in query else "inventory_changes"
        return wrap(field, empty())

    return answer


@respx.mock
async def test_shiphero_orders_page_with_their_line_items_and_derive_the_pick_state():
    requests: list[dict] = []
    respx.post(f"{SH}/graphql").mock(side_effect=shiphero_account(requests))
    sleep = Recorder()
    conn = ShipHeroConnector("wms", SH, "sh-token", HTTP, sleep=sleep)
    rows = await orders_of(conn, Window(orders_since=1795996800))
    by_line = {r.line: r for r in rows}
    assert sorted(by_line) == ["L1", "L2", "L3", "L4", "L5"]
    assert sleep.waits == [3.0] and conn.stats.throttled == 1  # code 30: time_remaining
    l1 = by_line["L1"]
    assert (l1.number, l1.sku, l1.quantity, l1.picked, l1.status, l1.location_id) == \
        ("PO-1042", "TEE-BLK-M", 40, 40, "picked", "76733")
    assert l1.released_at == 1796031000 and l1.version is None and l1.kind is None
    assert (by_line["L2"].status, by_line["L2"].picked) == ("picking", 2)  # via order(id:)
    assert (by_line["L3"].status, by_line["L3"].shipped) == ("shipped", 3)
    assert by_line["L4"].status == "cancelled"
    assert (by_line["L5"].status, by_line["L5"].released_at) == ("pending", None)
    orders = [r["variables"] for r in requests if "orders(" in r["query"]]
    assert orders[0]["since"] == "2026-11-30T00:00:00" and orders[-1]["after"] == "p1"
    assert all(v["first"] * (1 + v["lines"]) + 1 <= 4004 for v in orders)


async def test_the_simulated_shiphero_validates_and_prices_the_orders_query():
    from app.sources.shiphero import ORDERS

    world = _world([
        {"number": f"SO-{i}", "sku": "ABC"[i % 3], "location": "DAL1", "erp_qty": 4,
         "wms_qty": 4, "pick_released_at": "2026-11-30T09:30:00Z",
         "wms_status": ("released", "picking", "picked", "shipped")[i % 4]}
        for i in range(30)])
    sim = _sim(world)
    async with httpx.AsyncClient(transport=_asgi(sim), base_url="http://sim") as client:
        answer = await client.post("/shiphero/graphql", headers={
            "Authorization": f"Bearer {TOKEN}"}, json={"query": ORDERS, "variables": {
                "first": 25, "lines": 20}})
        bad = await client.post("/shiphero/graphql", headers={
            "Authorization": f"Bearer {TOKEN}"}, json={"query": ORDERS.replace(
                "tote_picks", "tote_pickz")})
    assert answer.json()["data"]["orders"]["complexity"] == 1 + 25 * (1 + 20)
    assert bad.status_code == 400 and "tote_pickz" in bad.text
    rows = await orders_of(ShipHeroConnector("wms", "http://sim/shiphero", TOKEN, HTTP,
                                             transport=_asgi(sim), sleep=nosleep))
    states = {r.number: (r.status, r.picked, r.shipped) for r in rows}
    assert len(states) == 30
    assert states["SO-0"] == ("released", 0, 0) and states["SO-1"] == ("picking", 2, 0)
    assert states["SO-2"] == ("picked", 4, 0) and states["SO-3"] == ("shipped", 4, 4)


@respx.mock
async def test_a_shiphero_order_without_its_number_is_a_payload_error():
    def answer(request: httpx.Request) -> httpx.Response:
        query = json.loads(request.content)["query"]
        if "account" in query:
            data = {"warehouses": [{"id": WAREHOUSE, "legacy_id": 76733}]}
        elif "orders(" in query:
            node = _order("O1", "PO-1", "pending", [_line("L1", "A", 1)])
            del node["node"]["order_number"]
            data = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "edges": [node]}
        else:
            data = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "edges": []}
        field = next(f for f in ("account", "warehouse_products", "inventory_changes",
                                 "orders") if f + ("(" if f == "orders" else "") in query)
        return httpx.Response(200, json={"data": {field: {"request_id": "r", "complexity": 1,
                                                          "data": data}}})

    respx.post(f"{SH}/graphql").mock(side_effect=answer)
    with pytest.raises(PayloadError, match=r"order\.order_number should be text"):
        await orders_of(ShipHeroConnector("wms", SH, "sh-token", HTTP, sleep=nosleep))


async def test_one_failing_stream_stops_the_others_even_when_the_queue_is_full():
    """The orders stream made a latent deadlock likely: a stream blocked on the full queue
    when another failed waited for ever to say it was done."""
    import asyncio

    from app.records import Page
    from app.sources.base import merge

    async def steady():
        for _ in range(50):
            yield Page()

    async def failing():
        yield Page()
        raise PayloadError("broken page")

    async def consume():
        async for _ in merge([steady(), steady(), failing()], 3):
            await asyncio.sleep(0.001)  # a slow writer: the queue fills up

    with pytest.raises(PayloadError, match="broken page"):
        await asyncio.wait_for(consume(), timeout=10)
