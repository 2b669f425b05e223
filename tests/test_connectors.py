"""Each connector against the simulator: paging to the end, vendor limits, single SKUs."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from app.simulator.generate import generate_world
from app.simulator.server import Simulator
from app.sources import netsuite
from app.sources.base import Window
from app.sources.errors import PayloadError
from app.sources.http import HttpSettings
from app.sources.netsuite import NetSuiteConnector
from app.sources.shiphero import ShipHeroConnector, _credit_wait, _kind
from app.sources.shopify import ShopifyConnector
from tests.conftest import TOKEN, nosleep

HTTP = HttpSettings(timeout=5, retries=4, backoff=0, max_concurrency=2)


def connector(kind, sim, **kwargs):
    transport = httpx.ASGITransport(app=sim.app)
    cls, prefix = {"shopify": (ShopifyConnector, "/shopify"),
                   "netsuite": (NetSuiteConnector, "/netsuite"),
                   "shiphero": (ShipHeroConnector, "/shiphero")}[kind]
    return cls(kind, f"http://sim{prefix}", TOKEN, HTTP, transport=transport, sleep=nosleep,
               **kwargs)


async def rows(conn, window=None):
    counts, events = [], []
    try:
        async for page in conn.read(window or Window()):
            counts += page.counts
            events += page.events
    finally:
        await conn.aclose()
    return counts, events


@pytest.mark.parametrize("kind,page", [("shiphero", 2), ("netsuite", 3), ("shopify", 2)])
async def test_small_pages_still_read_everything(kind, page, sim):
    sim.set_faults("storefront", None)
    everything, _ = await rows(connector(kind, sim))
    paged, _ = await rows(connector(kind, sim, page_size=page))
    assert sorted(everything) == sorted(paged)
    assert len(paged) > 3 * page


async def test_shopify_incremental_pages_grow_and_reach_the_end(sim, world):
    sim.set_faults("storefront", None)
    since = world.base_now - 10 * 86400
    counts, _ = await rows(connector("shopify", sim, page_size=4), Window(since, None))
    everything, _ = await rows(connector("shopify", sim))
    assert sorted(counts) == sorted(row._replace(name=None) for row in everything)


@pytest.mark.parametrize("version", ["2025-04", "2026-01"])
async def test_shopify_bulk_files_in_any_order_are_read_whole(version, sim):
    sim.set_faults("storefront", None)
    grouped, _ = await rows(connector("shopify", sim))
    ungrouped, _ = await rows(connector("shopify", sim, api_version=version))
    assert sorted(grouped) == sorted(ungrouped)


async def test_netsuite_partitions_past_the_100k_result_cap():
    world = generate_world(26_000, 4, seed=5)  # 104,000 ERP rows: more than one query holds
    sim = Simulator(world, token=TOKEN)
    conn = connector("netsuite", sim)
    keys = set()
    count = 0
    async for page in conn.read(Window(None, world.now())):
        for row in page.counts:
            keys.add((row.location_id, row.sku))
            count += 1
    await conn.aclose()
    assert count == len(keys) == 104_000


async def test_netsuite_limit_and_offset_follow_the_documented_bounds(sim):
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app),
                               base_url="http://sim/netsuite")
    headers = {"Authorization": f"Bearer {TOKEN}", "Prefer": "transient"}
    body = {"q": "SELECT id FROM item ORDER BY id"}
    too_big = await client.post(netsuite.ENDPOINT, params={"limit": 1001}, json=body,
                                headers=headers)
    past_cap = await client.post(netsuite.ENDPOINT, params={"limit": 1000, "offset": 99_500},
                                 json=body, headers=headers)
    bad_sql = await client.post(netsuite.ENDPOINT, json={"q": "SELECT nope FROM item"},
                                headers=headers)
    page = await client.post(netsuite.ENDPOINT, params={"limit": 2}, json=body, headers=headers)
    await client.aclose()
    assert too_big.status_code == past_cap.status_code == bad_sql.status_code == 400
    assert bad_sql.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"
    answer = page.json()
    assert list(answer) == ["links", "count", "hasMore", "items", "offset", "totalResults"]
    assert answer["hasMore"] is True and answer["items"][0] == {"links": [], "id": "1000"}


@pytest.mark.parametrize("kind", ["shiphero", "netsuite", "shopify"])
async def test_one_sku_is_read_at_every_location(kind, sim):
    sim.set_faults("storefront", None)
    conn = connector(kind, sim)
    found = []
    async for page in conn.read_sku("TEE-BLK-M"):
        found += page.counts
    await conn.aclose()
    assert {r.sku for r in found} == {"TEE-BLK-M"}
    assert len(found) >= 3


async def test_shopify_refuses_a_query_over_the_cost_limit(sim):
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app),
                               base_url="http://sim/shopify")
    query = ("{ inventoryItems(first: 250) { nodes {"
             " inventoryLevels(first: 250) { nodes { id } } } } }")
    answer = (await client.post("/admin/api/2025-10/graphql.json", json={"query": query},
                                headers={"X-Shopify-Access-Token": TOKEN})).json()
    unknown = (await client.post("/admin/api/2025-10/graphql.json",
                                 json={"query": "{ inventoryItems(first: 1) { nodes { foo } } }"},
                                 headers={"X-Shopify-Access-Token": TOKEN})).json()
    await client.aclose()
    assert answer["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert "foo" in unknown["errors"][0]["message"]


def test_shiphero_credit_waits_come_from_time_remaining_or_the_deficit():
    assert _credit_wait({"time_remaining": "10 seconds"}) == 10
    assert _credit_wait({"time_remaining": "2 minutes"}) == 120
    assert _credit_wait({"required_credits": 1006, "remaining_credits": 412}) == 10
    assert _credit_wait({}) == 5


@pytest.mark.parametrize("reason,cycle,kind", [
    ("Received on purchase order PO-1", False, "receipt"),
    ("Shipped order SO-2", False, "shipment"),
    ("Cycle count aisle 4", True, "cycle_count"),
    ("Transfer to RNO1", False, "transfer"),
    ("damaged", False, "adjustment"),
    (None, False, "adjustment"),
])
def test_shiphero_reasons_classify_events(reason, cycle, kind):
    assert _kind(reason, cycle) == kind


# -- whole pages are parsed the quick way; one odd record sends the page the careful way --
def _mocked(kind, handler, http=HTTP, **kwargs):
    cls = {"netsuite": NetSuiteConnector, "shiphero": ShipHeroConnector,
           "shopify": ShopifyConnector}[kind]
    return cls(kind, "http://vendor", TOKEN, http, transport=httpx.MockTransport(handler),
               sleep=nosleep, **kwargs)


def _suiteql(stock: list[dict]):
    def answer(request: httpx.Request) -> httpx.Response:
        sql = request.read().decode()
        items = [{"id": "1", "name": "DC01"}] if "FROM location" in sql else \
            stock if "aggregateItemLocation" in sql else []
        return httpx.Response(200, json={"links": [], "count": len(items), "items": items,
                                         "hasMore": False, "offset": 0,
                                         "totalResults": len(items)})
    return answer


STOCK_ROW = {"links": [], "item_id": "1000", "sku": "A-1", "display_name": "A one",
             "location_id": "1", "on_hand": "5", "available": "4", "committed": "1",
             "in_transit": "0", "changed_at": "2026-11-30 12:00:00"}


async def test_netsuite_reads_a_page_with_an_odd_row_carefully():
    # A NULL quantity is left out of the answer (0 in aggregateItemLocation): the quick
    # way trips over it, the careful way reads it; the rest of the page is unchanged.
    odd = {k: v for k, v in STOCK_ROW.items() if k != "on_hand"} | {"sku": "B-2"}
    counts, _ = await rows(_mocked("netsuite", _suiteql([STOCK_ROW, odd])))
    assert [(r.sku, r.on_hand, r.available) for r in counts] == [("A-1", 5, 4), ("B-2", 0, 4)]
    assert counts[0].updated_at == 1796040000


async def test_netsuite_names_the_field_of_a_bad_row():
    bad = {**STOCK_ROW, "sku": "B-2", "available": "lots"}
    with pytest.raises(PayloadError, match=r"item\.available should be a whole number"):
        await rows(_mocked("netsuite", _suiteql([STOCK_ROW, bad])))


def _shiphero(edges: list):
    def answer(request: httpx.Request) -> httpx.Response:
        query = json.loads(request.read())["query"]
        if "account" in query:
            data = {"account": {"request_id": "r", "complexity": 1, "data": {"warehouses": [
                {"id": "V2FyZWhvdXNlOjEwMDE=", "legacy_id": 1001, "identifier": "DC01"}]}}}
        else:
            field = "warehouse_products" if "warehouse_products" in query else \
                "inventory_changes" if "inventory_changes" in query else "orders"
            items = edges if field == "warehouse_products" else []
            data = {field: {"request_id": "r", "complexity": 1, "data": {
                "pageInfo": {"hasNextPage": False, "endCursor": None}, "edges": items}}}
        return httpx.Response(200, json={"data": data})
    return answer


PRODUCT = {"sku": "A-1", "on_hand": 5, "allocated": 1, "available": 4, "backorder": 0,
           "updated_at": "2026-11-30T12:00:00", "product": {"name": "A one"}}


async def test_shiphero_reads_a_page_with_an_odd_node_carefully():
    odd = {**PRODUCT, "sku": "B-2", "on_hand": "7", "product": None}  # a number as text
    counts, _ = await rows(_mocked("shiphero", _shiphero([{"node": PRODUCT},
                                                          {"node": odd}])))
    assert [(r.sku, r.location_id, r.on_hand, r.name) for r in counts] == [
        ("A-1", "1001", 5, "A one"), ("B-2", "1001", 7, None)]
    assert counts[0].updated_at == 1796040000


@pytest.mark.parametrize("edge,problem", [
    ({"cursor": "x"}, "edge without a node"),
    ({"node": {**PRODUCT, "allocated": "some"}}, r"warehouse_product\.allocated should be"),
])
async def test_shiphero_names_what_is_wrong_with_a_node(edge, problem):
    with pytest.raises(PayloadError, match=problem):
        await rows(_mocked("shiphero", _shiphero([{"node": PRODUCT}, edge])))


ITEM = (b'{"id":"gid://shopify/InventoryItem/1","sku":"A-1",'
        b'"variant":{"displayName":"A one - Default Title"}}')


def _level(quantity) -> bytes:
    return json.dumps({
        "id": "gid://shopify/InventoryLevel/9", "updatedAt": "2026-11-30T12:00:00Z",
        "location": {"id": "gid://shopify/Location/1"},
        "quantities": [{"name": "available", "quantity": quantity},
                       {"name": "on_hand", "quantity": 5}],
        "__parentId": "gid://shopify/InventoryItem/1"}).encode()


async def _bulk_rows(body: bytes, chunk: int):
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Chunks(body, chunk))
    conn = _mocked("shopify", answer)
    found = []
    try:
        async for page in conn._read_jsonl("http://storage/bulk.jsonl"):
            found += page.counts
    finally:
        await conn.aclose()
    return found


class _Chunks(httpx.AsyncByteStream):
    """A download arriving in pieces that cut lines (and JSON) anywhere."""

    def __init__(self, body: bytes, size: int) -> None:
        self.body, self.size = body, size

    async def __aiter__(self):
        for at in range(0, len(self.body), self.size):
            yield self.body[at:at + self.size]


@pytest.mark.parametrize("chunk", [1, 7, 64, 10_000])
async def test_shopify_bulk_lines_split_anywhere_blank_ones_and_no_final_newline(chunk):
    # The second level's quantity is text: the careful way reads it.
    body = ITEM + b"\n\n" + _level(4) + b"\r\n   \n" + _level("3")
    found = await _bulk_rows(body, chunk)
    assert [(r.sku, r.available, r.on_hand, r.name) for r in found] == [
        ("A-1", 4, 5, "A one"), ("A-1", 3, 5, "A one")]


async def test_shopify_bulk_names_the_line_that_is_not_json():
    body = ITEM + b"\n" + _level(4) + b"\n" + _level(4)[:40] + b"\n"
    with pytest.raises(PayloadError, match="bulk file line 3 is not JSON"):
        await _bulk_rows(body, 50)


def _paged_stock(stock: list[dict], seen: dict, fail_at: int | None = None):
    async def answer(request: httpx.Request) -> httpx.Response:
        sql = request.read().decode()
        if "aggregateItemLocation" not in sql:
            return _suiteql([])(request)
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        seen["offsets"].append(offset)
        if seen.get("storing"):  # asked for while the reader was busy with a page
            seen["ahead"].append(offset)
        await asyncio.sleep(0)
        if offset == fail_at:
            return httpx.Response(400, json={"o:errorDetails": [
                {"o:errorCode": "INVALID_PARAMETER", "detail": "no such page"}]})
        items = stock[offset:offset + limit]
        return httpx.Response(200, json={
            "links": [], "count": len(items), "items": items, "offset": offset,
            "hasMore": offset + limit < len(stock), "totalResults": len(stock)})
    return answer


def _stock(n: int) -> list[dict]:
    return [{**STOCK_ROW, "item_id": str(1000 + i), "sku": f"S-{i:03d}"} for i in range(n)]


@pytest.mark.parametrize("budget", [2, 4])  # one page ahead, or two (the most)
async def test_netsuite_asks_for_the_next_page_while_one_is_stored(budget):
    seen = {"offsets": [], "ahead": []}
    http = HttpSettings(timeout=5, retries=4, backoff=0, max_concurrency=budget)
    conn = _mocked("netsuite", _paged_stock(_stock(10), seen), http=http, page_size=3)
    skus = []
    async for page in conn.read(Window()):
        skus += [row.sku for row in page.counts]
        seen["storing"] = True  # the cache writes the page meanwhile
        for _ in range(5):
            await asyncio.sleep(0)
        seen["storing"] = False
    await conn.aclose()
    assert skus == [f"S-{i:03d}" for i in range(10)]
    assert sorted(seen["offsets"]) == [0, 3, 6, 9]  # none asked for past the last page
    assert seen["ahead"] == [3, 6, 9]


async def test_netsuite_asks_for_nothing_ahead_on_a_budget_of_one():
    seen = {"offsets": [], "ahead": []}
    http = HttpSettings(timeout=5, retries=4, backoff=0, max_concurrency=1)
    conn = _mocked("netsuite", _paged_stock(_stock(10), seen), http=http, page_size=3)
    async for _ in conn.read(Window()):
        seen["storing"] = True
        await asyncio.sleep(0)
        seen["storing"] = False
    await conn.aclose()
    assert seen["offsets"] == [0, 3, 6, 9] and seen["ahead"] == []


async def test_netsuite_a_failed_page_asked_for_ahead_fails_the_read():
    seen = {"offsets": [], "ahead": []}
    conn = _mocked("netsuite", _paged_stock(_stock(10), seen, fail_at=6), page_size=3)
    with pytest.raises(PayloadError, match="no such page"):
        await rows(conn)


async def test_netsuite_a_read_stopped_early_drops_the_page_asked_for_ahead():
    seen = {"offsets": [], "ahead": []}
    conn = _mocked("netsuite", _paged_stock(_stock(10), seen), page_size=3)
    pages = conn.read(Window())
    async for page in pages:
        if page.counts:
            break
    await pages.aclose()
    await conn.aclose()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert sorted(seen["offsets"]) in ([0], [0, 3])


@pytest.mark.parametrize(("method", "value"), [
    ("int", "99999999999999999999"), ("int", -2**63 - 1), ("quantity", 1e20),
    ("quantity", "inf"),
])
def test_a_number_beyond_64_bits_is_a_payload_error_naming_the_field(method, value):
    """(The cache's columns are 64-bit: such a number must not reach the writer.)"""
    from app.sources.base import Fields

    with pytest.raises(PayloadError, match=r"erp: item\.on_hand .*(out of )?range"):
        getattr(Fields("erp", "item", {"on_hand": value}), method)("on_hand")
    assert getattr(Fields("erp", "item", {"on_hand": 2**63 - 1}), method)("on_hand") \
        == 2**63 - 1
