"""Each connector against the simulator: paging to the end, vendor limits, single SKUs."""

from __future__ import annotations

import httpx
import pytest

from app.simulator.generate import generate_world
from app.simulator.server import Simulator
from app.sources import netsuite
from app.sources.base import Window
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
