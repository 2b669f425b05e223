"""Acumatica against the simulator: cookie login, $top/$skip pages, expiry, throttling."""

from __future__ import annotations

import httpx
import pytest

from app.simulator.scenario import Faults
from app.sources.acumatica import AcumaticaConnector
from app.sources.base import Window
from app.sources.errors import AuthError, PayloadError
from tests.conftest import TOKEN, nosleep
from tests.vendor_support import HTTP, mix_simulator, read_counts


@pytest.fixture
def acu():
    return mix_simulator("acumatica-csv")


def connector(sim, password=TOKEN, transport=None, **kwargs):
    return AcumaticaConnector("erp", "http://sim/acumatica", password, HTTP, company="Company",
                              username="admin",
                              transport=transport or httpx.ASGITransport(app=sim.app),
                              sleep=nosleep, **kwargs)



async def test_pages_by_top_and_skip_to_the_end_and_logs_out(acu):
    whole = await read_counts(connector(acu))
    small = connector(acu, page_size=2)
    paged = await read_counts(small)
    assert whole == paged and len(paged) == 5
    tee = next(r for r in whole if r.sku == "TEE-BLK-M")
    assert (tee.location_id, tee.on_hand, tee.available, tee.allocated, tee.in_transit) == \
        ("DAL1", 40, 34, 6, None)
    assert tee.updated_at == acu.world.counts["erp"][("DAL1", "TEE-BLK-M")][4]
    assert acu.vendors["erp"].sessions == {}


async def test_an_expired_session_logs_in_again(acu):
    acu.set_faults("erp", Faults(session_expires_after=1))
    conn = connector(acu, page_size=2)
    assert len(await read_counts(conn)) == 5
    assert conn.client.logins > 2


async def test_a_wrong_password_is_refused_without_showing_it(acu):
    with pytest.raises(AuthError) as caught:
        await read_counts(connector(acu, password="bad-secret-555"))
    assert "Invalid credentials" in caught.value.message
    assert "bad-secret-555" not in caught.value.message


async def test_429_is_retried_and_counted(acu):
    acu.set_faults("erp", Faults(throttle_every=2))
    conn = connector(acu, page_size=2)
    assert len(await read_counts(conn)) == 5
    assert conn.stats.throttled > 0


async def test_an_incremental_read_asks_for_items_changed_since(acu):
    since = 1796050800 - 3 * 3600  # 12:00 on the day
    rows = await read_counts(connector(acu), Window(counts_since=since))
    assert {r.sku for r in rows} == {"TEE-BLK-M", "MUG-WHT-12", "BTL-STL-750"}  # ERP times


async def test_one_sku(acu):
    conn = connector(acu)
    rows = [r async for page in conn.read_sku("CAP-NVY") for r in page.counts]
    await conn.aclose()
    assert [(r.sku, r.location_id, r.available) for r in rows] == [("CAP-NVY", "ATL1", 18)]


def _mocked(body):
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/login"):
            return httpx.Response(204, headers=[("Set-Cookie", ".ASPXAUTH=x; path=/")])
        if request.url.path.endswith("/logout"):
            return httpx.Response(204)
        if request.url.path.endswith("/Warehouse"):
            return httpx.Response(200, json=[])
        return httpx.Response(200, json=body)

    return httpx.MockTransport(answer)


@pytest.mark.parametrize("body,problem", [
    ({"value": []}, "StockItem: the answer should be a list of records"),
    ([{"InventoryID": {"value": "A"}, "LastModified": {"value": "2026-11-30T10:00:00+00:00"},
       "WarehouseDetails": [{"WarehouseID": {"value": "W"}, "QtyOnHand": {"value": "x"},
                             "QtyAvailable": {"value": 1}}]}],
     "StockItem A WarehouseDetails[0].QtyOnHand.value should be a number"),
    ([{"InventoryID": {}, "WarehouseDetails": []}], "StockItem.InventoryID.value should be text"),
])
async def test_a_bad_record_names_the_field(body, problem):
    with pytest.raises(PayloadError) as caught:
        await read_counts(connector(None, transport=_mocked(body)))
    assert problem in caught.value.message
