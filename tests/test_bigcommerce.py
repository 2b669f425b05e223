"""BigCommerce against the simulator: meta.pagination, rate-limit headers and 429s."""

from __future__ import annotations

import httpx
import pytest

from app.simulator.scenario import Faults
from app.sources.bigcommerce import BigCommerceConnector
from app.sources.errors import AuthError, PayloadError
from tests.conftest import TOKEN, nosleep
from tests.vendor_support import HTTP, mix_simulator, read_counts

BASE = "http://sim/bigcommerce/stores/simstore"


@pytest.fixture
def bc():
    return mix_simulator("sap-bigcommerce")


def connector(sim, token=TOKEN, sleep=nosleep, **kwargs):
    return BigCommerceConnector("storefront", BASE, token, HTTP,
                                transport=httpx.ASGITransport(app=sim.app), sleep=sleep,
                                **kwargs)



async def test_reads_every_location_to_the_last_page(bc):
    whole = await read_counts(connector(bc))
    small = connector(bc, page_size=1)
    paged = await read_counts(small)
    assert whole == paged and len(paged) == 5
    assert small.stats.requests >= 1 + 5 + 5  # locations, 5 product pages, 5 item pages
    tee = next(r for r in whole if r.sku == "TEE-BLK-M")
    assert (tee.location_id, tee.on_hand, tee.available, tee.allocated, tee.in_transit) == \
        ("1", 46, 40, None, None)
    assert tee.updated_at == bc.world.counts["storefront"][("DAL1", "TEE-BLK-M")][4]
    assert tee.name == "Classic tee, black, M"


async def test_a_429_waits_for_the_window_reset_it_names(bc):
    bc.set_faults("storefront", Faults(throttle_every=3))
    waits = []

    async def sleep(seconds):
        waits.append(seconds)

    conn = connector(bc, sleep=sleep, page_size=1)
    rows = await read_counts(conn)
    assert len(rows) == 5
    assert conn.stats.throttled > 0 and conn.stats.retries > 0
    # X-Rate-Limit-Time-Reset-Ms, in seconds: at most the 30 s window, more than nothing
    assert waits and all(0 < w <= 30 for w in waits)


async def test_an_exhausted_window_is_waited_out_before_asking_again(bc):
    store = bc.vendors["storefront"]
    store.quota = 3
    waits = []

    async def sleep(seconds):
        waits.append(seconds)
        store._window_start -= 60  # the window passes while we wait

    conn = connector(bc, sleep=sleep)
    rows = await read_counts(conn)
    assert len(rows) == 5
    assert waits and conn.stats.retries == 0  # paced: no 429 was needed


async def test_a_wrong_token_is_refused_without_showing_it(bc):
    with pytest.raises(AuthError) as caught:
        await read_counts(connector(bc, token="wrong-token-987"))
    assert "not authorized" in caught.value.message
    assert "wrong-token-987" not in caught.value.message


async def test_an_item_without_its_sku_names_the_field(bc):
    bc.set_faults("storefront", Faults(malformed_at=3, malformed="missing-field"))
    with pytest.raises(PayloadError) as caught:
        await read_counts(connector(bc))
    assert "storefront: location 1 item.identity.sku should be text" in caught.value.message


async def test_an_answer_without_pagination_is_a_payload_error(bc):
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": []})

    conn = BigCommerceConnector("storefront", BASE, TOKEN, HTTP,
                                transport=httpx.MockTransport(answer), sleep=nosleep)
    with pytest.raises(PayloadError, match=r"meta\.pagination is missing"):
        await read_counts(conn)


async def test_one_sku_at_every_location(bc):
    conn = connector(bc)
    rows = [r async for page in conn.read_sku("MUG-WHT-12") for r in page.counts]
    await conn.aclose()
    assert [(r.location_id, r.available) for r in rows] == [("2", 5)]
    assert rows[0].updated_at is not None
