"""The supplier portal (supplier role): OAuth client credentials, offset pages, 429 and
error envelopes, against wire fixtures written from the research's portal proposal
(respx), then against the simulated portal."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest
import respx

from app.simulator.scenario import Faults
from app.sources.base import Window
from app.sources.errors import AuthError, PayloadError
from app.sources.supplier_portal import SupplierPortalConnector
from tests.conftest import TOKEN, nosleep
from tests.test_orders import HTTP, Recorder, _asgi, _sim, _world, orders_of

PORTAL = "https://portal.example.com"
SECRET = "portal-SECRET-311"



def confirmation(ident, po, version, status, lines, updated="2026-11-30T10:20:00Z"):
    return {"id": ident, "po_number": po, "version": version, "status": status,
            "type": "accept", "notice_date": updated, "updated_at": updated,
            "lines": [{"line_num": n, "sku": sku, "ordered_quantity": f"{asked:.6f}",
                       "status": "accepted", "schedule": schedule}
                      for n, sku, asked, schedule in lines]}


def accept(quantity, kind="accept"):
    return {"type": kind, "quantity": f"{quantity:.6f}", "ship_date": None,
            "delivery_date": None}


def portal(calls: list[str], tokens: list[str], first_list: httpx.Response | None = None):
    pending = [first_list] if first_list is not None else []
    throttle = [httpx.Response(429, headers={"Retry-After": "3"}, json={"errors": [
        {"code": "rate_limited", "message": "Too many requests. Retry after 3 seconds."}]})]

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        if request.url.path == "/oauth2/token":
            form = parse_qs(request.content.decode())
            assert form == {"grant_type": ["client_credentials"], "client_id": ["seamdesk"],
                            "client_secret": [SECRET], "scope": ["confirmations.read"]}
            assert "Authorization" not in request.headers
            tokens.append(f"AT{len(tokens) + 1}")
            return httpx.Response(200, json={"access_token": tokens[-1],
                                             "token_type": "bearer", "expires_in": 3600})
        assert request.headers["Authorization"] == f"Bearer {tokens[-1]}"
        if pending:
            return pending.pop()
        offset = int(request.url.params["offset"])
        if offset == 0:
            return httpx.Response(200, json={"data": [
                confirmation("OC-2", "PO-1042", 2, "confirmed",
                             [(1, "TEE-BLK-M", 60, [accept(60)])]),
                confirmation("OC-1", "PO-1042", 1, "superseded",
                             [(1, "TEE-BLK-M", 40, [accept(40)])])],
                "limit": 2, "offset": 0, "next_offset": 2})
        if throttle:
            return throttle.pop()
        return httpx.Response(200, json={"data": [
            confirmation("OC-3", "PO-2", 1, "confirmed",
                         [(1, "A", 10, [accept(8), accept(2, "reject")]),
                          (2, "B", 6, [accept(4), accept(2, "backordered")])])],
            "limit": 2, "offset": 2, "next_offset": None})

    return answer


def supplier(sleep=nosleep, page_size=2) -> SupplierPortalConnector:
    return SupplierPortalConnector("supplier", PORTAL, "seamdesk", SECRET, HTTP,
                                   page_size=page_size, sleep=sleep)


@respx.mock
async def test_the_portal_signs_in_pages_by_offset_and_waits_out_a_429():
    calls, tokens = [], []
    respx.route(host="portal.example.com").mock(side_effect=portal(calls, tokens))
    sleep = Recorder()
    conn = supplier(sleep)
    rows = await orders_of(conn, Window(orders_since=1795996800))
    assert tokens == ["AT1"] and sleep.waits == [3.0] and conn.stats.throttled == 1
    listing = [c for c in calls if "order_confirmations" in c]
    assert "updated_at%5Bgt_or_eq%5D=2026-11-30T00%3A00%3A00Z" in listing[0]
    assert "limit=2" in listing[0] and "offset=2" in listing[-1]
    by_key = {(r.number, r.line): r for r in rows}
    newest = by_key[("PO-1042", "1")]  # v1 is superseded: v2 stands
    assert (newest.version, newest.quantity, newest.confirmed, newest.confirmed_at) == \
        (2, 60, 60, 1796034000)
    assert by_key[("PO-2", "1")].confirmed == 8  # the rejected 2 are not confirmed
    assert by_key[("PO-2", "2")].confirmed == 6  # backordered still counts


@respx.mock
async def test_a_revoked_access_token_is_fetched_again_once():
    calls, tokens = [], []
    revoked = httpx.Response(401, json={"errors": [
        {"code": "unauthorized", "message": "Invalid or expired token"}]})
    respx.route(host="portal.example.com").mock(side_effect=portal(calls, tokens, revoked))
    rows = await orders_of(supplier())
    assert tokens == ["AT1", "AT2"] and len(rows) == 3


@respx.mock
async def test_bad_client_credentials_are_an_auth_error_without_the_secret():
    respx.post(f"{PORTAL}/oauth2/token").mock(return_value=httpx.Response(401, json={
        "error": "invalid_client", "error_description": f"bad secret {SECRET}"}))
    with pytest.raises(AuthError) as caught:
        await orders_of(supplier())
    assert "invalid_client" in str(caught.value) and SECRET not in str(caught.value)


@respx.mock
async def test_a_next_offset_that_does_not_move_is_a_payload_error():
    calls, tokens = [], []
    stuck = httpx.Response(200, json={"data": [], "limit": 2, "offset": 0, "next_offset": 0})
    respx.route(host="portal.example.com").mock(side_effect=portal(calls, tokens, stuck))
    with pytest.raises(PayloadError, match="next_offset should move past 0"):
        await orders_of(supplier())


async def test_the_simulated_portal_checks_credentials_limits_and_tokens():
    sim = _sim(_world([{"number": "PO-1", "sku": "A", "location": "DAL1", "erp_qty": 5,
                        "supplier_qty": 5}]))
    async with httpx.AsyncClient(transport=_asgi(sim), base_url="http://sim/supplier") as c:
        wrong = await c.post("/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": "seamdesk",
            "client_secret": "nope"})
        grant = await c.post("/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": "seamdesk",
            "client_secret": TOKEN})
        bearer = {"Authorization": f"Bearer {grant.json()['access_token']}"}
        too_many = await c.get("/api/v1/order_confirmations", params={"limit": 51},
                               headers=bearer)
        no_token = await c.get("/api/v1/order_confirmations",
                               headers={"Authorization": "Bearer forged"})
        listing = await c.get("/api/v1/order_confirmations", headers=bearer)
        missing = await c.get("/api/v1/order_confirmations/OC-0", headers=bearer)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert grant.json()["token_type"] == "bearer" and grant.json()["expires_in"] == 3600
    assert too_many.status_code == 400 and \
        too_many.json()["errors"][0]["code"] == "invalid_parameter"
    assert no_token.status_code == 401 and no_token.json() == {"errors": [
        {"code": "unauthorized", "message": "Invalid or expired token"}]}
    assert [r["po_number"] for r in listing.json()["data"]] == ["PO-1"]
    assert listing.json()["next_offset"] is None and missing.status_code == 404


async def test_many_confirmations_arrive_in_pages_through_throttling():
    world = _world([{"number": f"PO-{i}", "sku": "ABC"[i % 3], "location": "DAL1",
                     "erp_qty": 10 + i, "erp_version": 2, "wms_qty": 5,
                     "amended_at": "2026-11-30T10:05:00Z", "supplier_qty": 10 + i,
                     "supplier_version": 1 + i % 2, "confirmed_at": "2026-11-30T10:20:00Z"}
                    for i in range(9)])
    sim = _sim(world)
    sim.set_faults("supplier", Faults(throttle_every=4))
    conn = SupplierPortalConnector("supplier", "http://sim/supplier", "seamdesk", TOKEN, HTTP,
                                   page_size=2, transport=_asgi(sim), sleep=nosleep)
    rows = await orders_of(conn)
    assert conn.stats.throttled > 0 and conn.stats.requests > 8
    assert sorted(r.number for r in rows) == sorted(f"PO-{i}" for i in range(9))
    assert {r.number: r.version for r in rows}["PO-1"] == 2
    # PO-0's newest confirmation is of version 1, which asked for the original 5; the
    # supplier confirmed the scenario's 10 (the ERP's v2 is not confirmed)
    assert {r.number: (r.version, r.quantity, r.confirmed) for r in rows}["PO-0"] == \
        (1, 5, 10)
