"""SAP Business One Service Layer against the simulator: sessions, OData paging, orders."""

from __future__ import annotations

import httpx
import pytest

from app.simulator.scenario import Faults
from app.sources.base import Window
from app.sources.errors import AuthError, PayloadError
from app.sources.sap_b1 import SapB1Connector
from tests.conftest import TOKEN, nosleep
from tests.vendor_support import HTTP, counts_of, mix_simulator, read_pages


@pytest.fixture
def b1():
    return mix_simulator("sap-bigcommerce")


def connector(sim, password=TOKEN, transport=None, **kwargs):
    return SapB1Connector("erp", "http://sim/sap-b1", password, HTTP, company="SBODEMOUS",
                          username="manager", number_prefix="PO-",
                          transport=transport or httpx.ASGITransport(app=sim.app),
                          sleep=nosleep, **kwargs)



async def test_reads_every_warehouse_row_page_by_page_and_logs_out(b1):
    whole = await read_pages(connector(b1))
    paged_conn = connector(b1, page_size=1)
    paged = await read_pages(paged_conn)
    assert counts_of(whole) == counts_of(paged) and len(counts_of(paged)) == 5
    assert paged_conn.stats.requests > 8  # one item per page: it followed every next link
    tee = next(r for r in counts_of(whole) if r.sku == "TEE-BLK-M")
    # InStock 40, Committed 6: available is what is left; B1 has no in-transit figure
    assert (tee.location_id, tee.on_hand, tee.available, tee.allocated, tee.in_transit) == \
        ("01", 40, 34, 6, None)
    assert tee.name == "Classic tee, black, M"
    assert tee.updated_at == b1.world.counts["erp"][("DAL1", "TEE-BLK-M")][4]
    assert [loc.location_id for loc in whole[0].locations] == ["01", "02"]
    assert b1.vendors["erp"].sessions == {}  # logged out at the end


async def test_the_v2_service_root_reads_the_same(b1):
    v1 = await read_pages(connector(b1))
    v2 = await read_pages(connector(b1, api_version="v2"))
    assert counts_of(v1) == counts_of(v2)


async def test_purchase_order_lines_carry_the_amendment_time(b1):
    orders = [row for page in await read_pages(connector(b1)) for row in page.orders]
    assert len(orders) == 1
    line = orders[0]
    assert (line.number, line.sku, line.location_id, line.quantity, line.kind) == \
        ("PO-1042", "TEE-BLK-M", "01", 60, "purchase")
    assert line.amended_at == 1796032800 + 300  # 2026-11-30T10:05:00Z, the newest update
    assert line.version is None and line.status == "Open" and line.shipped == 0


async def test_an_expired_session_logs_in_again_and_reads_on(b1):
    b1.set_faults("erp", Faults(session_expires_after=2))
    conn = connector(b1, page_size=1)
    pages = await read_pages(conn)
    assert len(counts_of(pages)) == 5
    assert conn.client.logins > 2


async def test_a_wrong_password_is_refused_without_showing_it(b1):
    with pytest.raises(AuthError) as caught:
        await read_pages(connector(b1, password="not-the-password-123"))
    assert "Login failed" in caught.value.message
    assert "not-the-password-123" not in caught.value.message


async def test_a_revoked_user_fails_after_one_new_login(b1):
    b1.set_faults("erp", Faults(unauthorized_after=2))
    conn = connector(b1)
    with pytest.raises(AuthError) as caught:
        await read_pages(conn)
    assert "Invalid session" in caught.value.message or "Login" in caught.value.message
    assert conn.client.logins <= 2


async def test_an_incremental_read_asks_only_for_items_updated_that_day(b1):
    since = 1796032800 + 4 * 3600  # 14:00 on the day: every row of that day comes back
    pages = await read_pages(connector(b1), Window(counts_since=since, orders_since=since + 86400))
    assert {r.sku for r in counts_of(pages)} == {"TEE-BLK-M", "HOOD-GRY-L", "MUG-WHT-12",
                                              "BTL-STL-750", "CAP-NVY"}
    assert not [row for page in pages for row in page.orders]  # no PO updated the next day


async def test_one_sku_at_every_warehouse(b1):
    conn = connector(b1)
    rows = [r async for page in conn.read_sku("TEE-BLK-M") for r in page.counts]
    await conn.aclose()
    assert [(r.sku, r.location_id) for r in rows] == [("TEE-BLK-M", "01")]


async def test_a_truncated_answer_is_a_payload_error_naming_the_system(b1):
    b1.set_faults("erp", Faults(malformed_at=3, malformed="truncated"))
    with pytest.raises(PayloadError) as caught:
        await read_pages(connector(b1))
    assert caught.value.message.startswith("erp: GET /sap-b1/b1s/v1/Items: answer is not JSON")


def _mocked(items: list, next_link: str | None = None):
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Login"):
            return httpx.Response(200, json={"SessionId": "s"},
                                  headers=[("Set-Cookie", "B1SESSION=abc; HttpOnly"),
                                           ("Set-Cookie", "ROUTEID=.node1")])
        if request.url.path.endswith("/Logout"):
            return httpx.Response(204)
        if request.url.path.endswith("/Warehouses"):
            return httpx.Response(200, json={"value": []})
        body = {"value": items}
        if next_link:
            body["odata.nextLink"] = next_link
        assert request.headers["Cookie"] == "B1SESSION=abc; ROUTEID=.node1"
        return httpx.Response(200, json=body)

    return httpx.MockTransport(answer)


@pytest.mark.parametrize("item,problem", [
    ({"ItemCode": "A", "ItemWarehouseInfoCollection": [
        {"WarehouseCode": "01", "InStock": "lots", "Committed": 0}]},
     "Items(A).ItemWarehouseInfoCollection[0].InStock should be a number"),
    ({"ItemCode": "A", "ItemWarehouseInfoCollection": None},
     "Items.ItemWarehouseInfoCollection should be a list"),
    ({"ItemWarehouseInfoCollection": []}, "Items.ItemCode should be text"),
    ({"ItemCode": "A", "UpdateDate": "yesterday", "ItemWarehouseInfoCollection": []},
     "UpdateDate/UpdateTime is not a time"),
])
async def test_a_bad_item_names_the_field(item, problem):
    with pytest.raises(PayloadError) as caught:
        await read_pages(connector(None, transport=_mocked([item])))
    assert problem in caught.value.message and caught.value.message.startswith("erp: ")


async def test_a_next_link_off_the_server_is_not_followed():
    item = {"ItemCode": "A", "ItemWarehouseInfoCollection": []}
    transport = _mocked([item], next_link="https://elsewhere.example/b1s/v1/Items?$skip=1")
    with pytest.raises(PayloadError, match="points off the server"):
        await read_pages(connector(None, transport=transport))
