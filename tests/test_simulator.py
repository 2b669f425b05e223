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
    ({"count": [{"system": "erp", "sku": "A", "location": "DAL1", "on_hand": -10**20}]},
     "count.0: on_hand: -100000000000000000000 is out of range"),
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


def test_graphql_projection_follows_the_selection():
    from app.simulator import graphql

    schema = graphql.Schema("""
      type Query { things(first: Int): [Thing] one: Thing }
      interface Named { name: String }
      type Thing implements Named { name: String size(unit: String): Int parts: [Part] }
      type Part { label: String }
    """)
    request = schema.prepare("""query($unit: String) {
      big: things(first: 2) { __typename name size(unit: $unit) ...Bits
        ... on Thing { again: name } }
      one { name parts { label } }
    }
    fragment Bits on Thing { parts { label __typename } }""", {"unit": "cm"})
    asked = []

    class Lazy:  # a node read through `get`, as the vendor simulators' big listings are
        def get(self, name, default=None):
            return {"name": "lazy", "parts": None}.get(name, default)

    def size(args):
        asked.append(args)
        return 3

    root = {"things": lambda args: [{"name": "a", "size": size, "parts": [{"label": "x"}],
                                     "hidden": 1}, Lazy()][:args["first"]],
            "one": None}
    data, errors = graphql.execute(request, root)
    assert errors == []
    assert data == {"big": [
        {"__typename": "Thing", "name": "a", "size": 3,
         "parts": [{"label": "x", "__typename": "Part"}], "again": "a"},
        {"__typename": "Thing", "name": "lazy", "size": None, "parts": None,
         "again": "lazy"}], "one": None}
    assert asked == [{"unit": "cm"}]


async def test_netsuite_counts_total_results_past_the_query_cap(sim, monkeypatch):
    from app.simulator import suiteql

    monkeypatch.setattr(suiteql, "QUERY_CAP", 5)
    headers = {"Authorization": f"Bearer {TOKEN}", "Prefer": "transient"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app),
                                 base_url="http://sim/netsuite") as client:
        async def page(query, offset):
            answer = await client.post("/services/rest/query/v1/suiteql", headers=headers,
                                       params={"limit": 2, "offset": offset}, json={"q": query})
            return answer.json()

        everything = (await page("SELECT id FROM item ORDER BY id", 0))["totalResults"]
        first = await page("SELECT id, itemid FROM item ORDER BY itemid DESC, id", 0)
        last = await page("SELECT id, itemid FROM item ORDER BY itemid DESC, id", 3)
        limited = await page("SELECT id FROM item ORDER BY id FETCH FIRST 3 ROWS ONLY", 2)
    assert everything > 5 and first["totalResults"] == last["totalResults"] == everything
    assert first["hasMore"] is True and last["hasMore"] is False  # nothing past the cap
    assert last["count"] == 2
    assert limited["totalResults"] == 3 and limited["hasMore"] is False


def test_netsuite_counting_drops_only_a_final_order_by():
    from app.simulator.suiteql import unordered as _unordered

    assert _unordered("SELECT a FROM t WHERE b > 1 ORDER BY a, b") == \
        "SELECT a FROM t WHERE b > 1"
    for kept in ("SELECT a FROM t ORDER BY a LIMIT 5", "SELECT a FROM t ORDER BY ABS(a)",
                 "SELECT a FROM (SELECT a FROM t ORDER BY a)", "SELECT a FROM t"):
        assert _unordered(kept) == kept


def test_changed_since_reads_the_index_by_time_and_follows_mutations():
    world = generate_world(300, 3, seed=2)

    def scan(system, since):
        return {key for key, count in world.view(system).items()
                if count[4] is not None and count[4] >= since}

    since = world.base_now - 5 * 86400
    assert set(world.updated_since("wms", since)) == scan("wms", since)
    world.mutate(0.05, seed=1)  # rows changed now: the index learns them without a re-sort
    for system in ("wms", "storefront"):
        for at in (since, world.now() - 1, world.now() + 1):
            found = world.updated_since(system, at)
            assert len(found) == len(set(found)) and set(found) == scan(system, at)


@pytest.mark.parametrize("query", [
    None,  # the connector's own bulk query
    "{ inventoryItems { edges { node { sku id inventoryLevels { nodes { updatedAt"
    " quantities(names: [\"on_hand\", \"reserved\"]) { quantity name } location { id }"
    " id } } } } } }",
    "{ inventoryItems { nodes { id variant { displayName } } } }",
    "{ inventoryItems { edges { node { id tracked } } } }",  # not plain: generic only
])
@pytest.mark.parametrize("group", [True, False])
def test_the_bulk_file_built_directly_is_the_generic_projection(world, monkeypatch, query,
                                                                group):
    from app.simulator import shopify_bulk
    from app.simulator.shopify import ShopifySim
    from app.simulator.shopify_format import SCHEMA
    from app.sources.shopify import BULK_QUERY

    shop = ShopifySim(world, TOKEN)
    prepared = SCHEMA.prepare(query or BULK_QUERY, {})
    direct = list(shop._jsonl(prepared, group))
    monkeypatch.setattr(shopify_bulk, "_plain_items", lambda *a: None)
    assert direct == list(shop._jsonl(prepared, group))
    assert len(direct) >= len(world.items)  # every item (and its levels, if asked)


_PRODUCT_PAGES = [  # (query, variables of each page asked in turn)
    (None, [{"first": 3}, {"first": 5, "after": "YXJyYXljb25uZWN0aW9uOjI="},
            {"first": 1000, "after": "YXJyYXljb25uZWN0aW9uOjc="},
            {"first": 2, "after": "not a cursor"}, {"first": 4, "since": "2020-01-01"},
            {"first": 4, "since": "yesterday"}, {"first": 9, "sku": "*"}]),
    ("query($after: String) { warehouse_products { complexity data(first: 4, after: $after)"
     " { edges { cursor node { product { barcode sku name id legacy_id } created_at id"
     " legacy_id account_id warehouse_id warehouse_identifier reserve_inventory"
     " non_sellable_quantity inventory_bin active } } pageInfo { endCursor startCursor"
     " hasPreviousPage } } request_id } }", [{}, {"after": "YXJyYXljb25uZWN0aW9uOjM="}]),
    ("{ warehouse_products(updated_to: \"2999-01-01\") { data { edges { node { sku } } } } }",
     [{}]),
    ("{ warehouse_products { data(first: 2) { edges { n: node { sku } } } } }", [{}]),
    ("{ warehouse_products { data(first: 2) { edges { node { ... on WarehouseProduct { sku }"
     " } } } } }", [{}]),
    ("{ warehouse_products { request_id } }", [{}]),
    ("{ account { data { id } } warehouse_products { request_id } }", [{}]),
]


@pytest.mark.parametrize("query,pages", _PRODUCT_PAGES)
@pytest.mark.parametrize("generated", [False, True])
def test_the_product_page_built_directly_is_the_generic_projection(world, monkeypatch, query,
                                                                   pages, generated):
    """Every answer (pages, errors, request ids) is byte for byte the generic one."""
    from app.simulator import shiphero
    from app.simulator.vendor import Bucket
    from app.sources.shiphero import PRODUCTS

    if generated:
        world = generate_world(60, 3, 1)
    sku = world.items[7].sku

    def answers() -> list[bytes]:
        sim = shiphero.ShipHeroSim(world, TOKEN)
        sim.bucket = Bucket(1e12, 1e12)  # every page answered, none throttled
        warehouse = sim._warehouse(world.locations_of("wms")[1])["id"]
        bodies = []
        for variables in pages:
            variables = {"warehouse": warehouse, "after": None, "since": None, "sku": None,
                         **variables}
            variables["sku"] = sku if variables["sku"] == "*" else variables["sku"]
            prepared = shiphero.SCHEMA.prepare(query or PRODUCTS, variables)
            assert not isinstance(prepared, list), prepared
            bodies.append(sim._run(prepared).body)
        return bodies

    built = []
    direct_data = shiphero.products_data
    monkeypatch.setattr(shiphero, "products_data", lambda *a: built.append(
        direct_data(*a)) or built[-1])
    direct = answers()
    monkeypatch.setattr(shiphero, "products_data", lambda *a: None)
    assert direct == answers()
    plain = query is None or "node { product" in query or "updated_to" in query
    assert any(data is not None for data in built) == plain  # the direct way was taken
    assert any(b'"sku"' in body for body in direct) or "request_id }" in (query or "")


async def test_netsuite_items_are_strings_without_nulls_and_dates_as_netsuite_writes_them(sim):
    """SuiteQL's REST rows: every value a string, NULL columns left out, keys in lower
    case, a raw date in the user's format (M/D/YYYY), TO_CHAR's in its mask."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Prefer": "transient"}
    query = ("SELECT id AS ID, itemid, NULL AS blank, 2.5 AS half, -7 AS minus,"
             " lastmodifieddate AS raw, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS')"
             " AS stamp, TO_CHAR(lastmodifieddate, 'DD.MM.YYYY') AS other,"
             " TO_CHAR(id, 'YYYY-MM-DD HH24:MI:SS') AS number, 'x' AS \"it's\""
             " FROM item ORDER BY id DESC")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app),
                                 base_url="http://sim/netsuite") as client:
        answer = await client.post("/services/rest/query/v1/suiteql", headers=headers,
                                   params={"limit": 2, "offset": 1}, json={"q": query})
    body = answer.json()
    assert answer.status_code == 200, body["o:errorDetails"][0]["detail"]
    assert list(body) == ["links", "count", "hasMore", "items", "offset", "totalResults"]
    first = body["items"][0]
    assert list(first) == ["links", "id", "itemid", "half", "minus", "raw", "stamp", "other",
                           "number", "it's"]
    assert all(type(value) is str for key, value in first.items() if key != "links")
    assert first["half"] == "2.5" and first["minus"] == "-7" and first["links"] == []
    day = first["stamp"][:10]
    year, month, date = (int(part) for part in day.split("-"))
    assert first["raw"] == f"{month}/{date}/{year}"
    assert first["other"] == f"{date:02d}.{month:02d}.{year}"
    assert first["number"] == first["id"]
    assert len(first["stamp"]) == 19 and first["stamp"][10] == " "
    assert body["count"] == 2 and body["offset"] == 1
    assert int(body["items"][0]["id"]) > int(body["items"][1]["id"])
