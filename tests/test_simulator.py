"""The simulator itself: scenario validation, vendor auth shapes, generated data sets."""

from __future__ import annotations

import httpx
import pytest

from app.errors import ScenarioError
from app.simulator.generate import generate_world
from app.simulator.scenario import parse_scenario
from app.simulator.server import Simulator
from tests.conftest import TOKEN

MINIMAL = {"location": [{"code": "DAL1"}], "item": [{"sku": "A"}],
           "count": [{"system": "wms", "sku": "A", "location": "DAL1", "on_hand": 1}]}


@pytest.mark.parametrize("change,expected", [
    ({"count": [{"system": "pos", "sku": "A", "location": "DAL1"}]}, "count.0.system"),
    ({"count": [{"system": "wms", "sku": "B", "location": "DAL1"}]}, "unknown SKU 'B'"),
    ({"count": [{"system": "wms", "sku": "A", "location": "X"}]}, "unknown location 'X'"),
    ({"colour": "red"}, "colour: unknown key"),
    ({"now": "yesterday"}, "now: Input should be a valid datetime"),
    ({"faults": {"wms": {"throttle_every": -1}}}, "faults.wms.throttle_every"),
])
def test_scenario_mistakes_are_one_line(change, expected):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({**MINIMAL, **change}, "s.toml")
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_contract_scenario_example_is_accepted():
    scenario = parse_scenario({
        **MINIMAL, "now": "2026-11-30T15:00:00Z",
        "history": [{"system": "erp", "sku": "A", "location": "DAL1", "on_hand": 40,
                     "available": 34, "at": "2026-11-29T22:10:00Z"}],
        "event": [{"system": "wms", "id": "ADJ-881", "kind": "adjustment", "sku": "A",
                   "location": "DAL1", "delta": -3, "at": "2026-11-30T09:12:00Z",
                   "reason": "damaged"}],
        "order": [{"number": "PO-1042", "sku": "A", "location": "DAL1", "erp_qty": 60,
                   "wms_status": "picked"}],
        "error": [{"id": "E-77", "occurred_at": "2026-11-30T09:13:00Z", "retries": 3,
                   "message": "period locked"}],
        "faults": {"storefront": {"throttle_every": 4, "error_rate": 0.05, "latency_ms": 0}},
    })
    assert scenario.history[0].at.tzinfo is not None


@pytest.mark.parametrize("path,headers,status,marker", [
    ("/shopify/admin/api/2025-10/graphql.json", {"X-Shopify-Access-Token": "nope"}, 401,
     "Invalid API key or access token"),
    ("/netsuite/services/rest/query/v1/suiteql", {"Authorization": "Bearer nope"}, 401,
     "INVALID_LOGIN"),
    ("/shiphero/graphql", {"Authorization": "Bearer nope"}, 401, "Unauthorized"),
])
async def test_wrong_tokens_are_rejected_as_each_vendor_does(sim, path, headers, status,
                                                             marker):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app),
                                 base_url="http://sim") as client:
        response = await client.post(path, json={"query": "{ x }", "q": "SELECT 1"},
                                     headers=headers)
    assert response.status_code == status and marker in response.text


def test_generated_worlds_are_deterministic_and_planted():
    one, two = generate_world(2000, 3, seed=9), generate_world(2000, 3, seed=9)
    assert one.counts == two.counts and one.events == two.events
    wms, store = one.counts["wms"], one.counts["storefront"]
    differ = sum(1 for key in wms if wms[key][1] != store[key][1])
    assert 0.03 < differ / len(wms) < 0.12
    assert any(not loc.mapped for loc in one.locations)
    assert generate_world(2000, 3, seed=10).counts != one.counts


async def test_time_travel_serves_history(sim, world):
    world.set_clock(world.base_now - 6 * 3600)  # 09:00, before TEE-BLK-M's storefront cut
    assert world.view("storefront")[("DAL1", "TEE-BLK-M")][1] == 34
    world.set_clock(world.base_now)
    assert world.view("storefront")[("DAL1", "TEE-BLK-M")][1] == 12


def test_location_ids_follow_each_vendors_numbering(sim):
    assert Simulator(sim.world, token=TOKEN).location_ids()["DAL1"] == {
        "wms": "1001", "erp": "1", "storefront": "gid://shopify/Location/68000001"}
