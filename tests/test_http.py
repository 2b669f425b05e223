"""The shared HTTP layer: retries, backoff, Retry-After, auth and redaction."""

from __future__ import annotations

import httpx
import pytest
import respx

from app.sources.errors import AuthError, PayloadError, UnavailableError
from app.sources.http import HttpSettings, VendorClient, retry_after

SECRET = "tok-SECRET-123"


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(sleep, retries=3):
    return VendorClient("erp", "https://erp.example", {"Authorization": f"Bearer {SECRET}"},
                        HttpSettings(timeout=1, retries=retries, backoff=0.01),
                        secrets=[SECRET], sleep=sleep)


@respx.mock
async def test_retry_after_is_honoured_on_429():
    route = respx.get("https://erp.example/x").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={})])
    sleep = Recorder()
    http = client(sleep)
    response = await http.request("GET", "/x")
    assert response.status_code == 200 and route.call_count == 2
    assert sleep.waits == [7.0]
    assert (http.stats.requests, http.stats.throttled, http.stats.retries) == (2, 1, 1)


@respx.mock
async def test_server_errors_back_off_then_give_up_with_the_reason():
    respx.get("https://erp.example/x").mock(return_value=httpx.Response(503, text="busy"))
    sleep = Recorder()
    with pytest.raises(UnavailableError, match=r"HTTP 503: busy \(gave up after 4 attempts\)"):
        await client(sleep).request("GET", "/x")
    assert len(sleep.waits) == 3 and all(0 <= w <= 0.08 for w in sleep.waits)


@respx.mock
async def test_timeouts_and_connection_failures_are_retried():
    respx.get("https://erp.example/x").mock(side_effect=[
        httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.Response(200)])
    assert (await client(Recorder()).request("GET", "/x")).status_code == 200


@respx.mock
async def test_auth_failures_are_not_retried_and_leak_no_secret():
    respx.get("https://erp.example/x").mock(
        return_value=httpx.Response(401, text=f"bad token {SECRET}"))
    sleep = Recorder()
    with pytest.raises(AuthError) as caught:
        await client(sleep).request("GET", "/x")
    assert SECRET not in str(caught.value) and "***" in str(caught.value)
    assert sleep.waits == []


@respx.mock
async def test_client_errors_are_payload_errors():
    respx.get("https://erp.example/x").mock(return_value=httpx.Response(400, text="no"))
    with pytest.raises(PayloadError, match="HTTP 400"):
        await client(Recorder()).request("GET", "/x")


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after(httpx.Response(429, headers={"Retry-After": "2.0"})) == 2.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after(httpx.Response(429)) is None
    past = retry_after(httpx.Response(429, headers={
        "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    assert past == 0.0


@respx.mock
async def test_a_vendor_check_and_the_caller_share_one_parse_of_the_answer(monkeypatch):
    import app.sources.http as http_module

    parses = []
    real = http_module.orjson.loads
    monkeypatch.setattr(http_module.orjson, "loads", lambda data: parses.append(1) or real(data))

    class Checking(VendorClient):
        def check(self, response):
            assert self.json(response) == {"data": 1}

    respx.post("https://erp.example/q").mock(return_value=httpx.Response(200, json={"data": 1}))
    http = Checking("erp", "https://erp.example", {}, HttpSettings(), sleep=Recorder())
    assert await http.post_json("/q", {}) == {"data": 1}
    assert len(parses) == 1


def test_every_client_shares_one_tls_context(monkeypatch):
    import ssl

    import app.sources.http as http_module

    made = []
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context",
                        lambda *args, **kwargs: made.append(1) or real(*args, **kwargs))
    http_module._tls_context.cache_clear()  # loading the CA bundle is what costs
    try:
        client(Recorder()), client(Recorder())  # two clients each
    finally:
        http_module._tls_context.cache_clear()
    assert len(made) == 1
