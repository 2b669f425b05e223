"""Generic REST: paging styles, JSON paths, throttling and bad rows, from config alone."""

from __future__ import annotations

import httpx
import pytest

from app import config as config_module
from app.errors import ConfigError
from app.sources.base import Window
from app.sources.errors import PayloadError
from app.sources.generic_rest import GenericRestConnector
from app.sources.http import HttpSettings
from tests.conftest import nosleep

HTTP = HttpSettings(timeout=5, retries=3, backoff=0, max_concurrency=2)
BASE = "http://stock.internal"
TOKEN = "in-house-token-31"
COLUMNS = {"sku": "item.sku", "location": "site", "on_hand": "qty.0.on_hand",
           "available": "qty.0.free", "updated_at": "changed"}
STOCK = [{"item": {"sku": f"SKU-{n}"}, "site": 7, "qty": [{"on_hand": n, "free": n - 1}],
          "changed": "2026-11-30T14:00:00Z" if n % 2 else 1796050000} for n in range(1, 8)]


def served(paging: str, seen: list, throttle_first: bool = False):
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.headers["X-Api-Key"] == TOKEN
        if throttle_first and len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": "2"})
        params = request.url.params
        if paging == "offset":
            start, size = int(params["offset"]), int(params["limit"])
            return httpx.Response(200, json={"rows": STOCK[start:start + size]})
        if paging == "cursor":
            start, size = int(params.get("after", 0)), int(params["limit"])
            end = start + size
            return httpx.Response(200, json={"rows": STOCK[start:end], "paging": {
                "next": str(end) if end < len(STOCK) else None}})
        start = int(params.get("page", 0)) * 3
        headers = {"Link": f'<{BASE}/v2/stock?page={start // 3 + 1}>; rel="next"'} \
            if start + 3 < len(STOCK) else {}
        return httpx.Response(200, json={"rows": STOCK[start:start + 3]}, headers=headers)

    return httpx.MockTransport(answer)


def connector(transport, paging, **rest):
    settings = {"endpoint": "/v2/stock", "paging": paging, "items": "rows",
                "next": "paging.next", "cursor_param": "after", "auth_header": "X-Api-Key",
                "auth_scheme": "", **rest}
    return GenericRestConnector("wms", BASE, TOKEN, HTTP, rest=settings, columns=COLUMNS,
                                page_size=3, transport=transport, sleep=nosleep)


async def read(conn):
    try:
        return [row async for page in conn.read(Window()) for row in page.counts]
    finally:
        await conn.aclose()


@pytest.mark.parametrize("paging,requests", [("offset", 3), ("cursor", 3), ("link", 3)])
async def test_every_paging_style_reads_to_the_end(paging, requests):
    seen: list = []
    rows = await read(connector(served(paging, seen), paging))
    assert [r.sku for r in rows] == [f"SKU-{n}" for n in range(1, 8)]
    assert len(seen) == requests
    first = rows[0]
    assert (first.location_id, first.on_hand, first.available, first.allocated) == \
        ("7", 1, 0, None)
    assert rows[0].updated_at == 1796047200 and rows[1].updated_at == 1796050000


async def test_a_429_is_waited_out_and_counted():
    seen: list = []
    conn = connector(served("offset", seen, throttle_first=True), "offset")
    assert len(await read(conn)) == 7
    assert conn.stats.throttled == 1 and conn.stats.retries == 1


async def test_a_bad_row_names_its_path_and_never_the_token():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"rows": [{"item": {"sku": "A"}, "site": "X",
                                                   "qty": [{"on_hand": "many"}]}]})

    with pytest.raises(PayloadError) as caught:
        await read(connector(httpx.MockTransport(answer), "none"))
    assert caught.value.message == ("wms: row 1: qty.0.on_hand (on_hand) should be a number, "
                                    "got 'many'")


async def test_an_answer_without_the_list_is_named():
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"data": []}))
    with pytest.raises(PayloadError, match="no list at 'rows'"):
        await read(connector(transport, "none"))


async def test_a_link_off_the_server_is_not_followed():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"rows": []},
                              headers={"Link": '<https://evil.example/x>; rel="next"'})

    with pytest.raises(PayloadError, match="points off the server"):
        await read(connector(httpx.MockTransport(answer), "link"))


CONFIG = """
[systems.wms]
kind = "generic-rest"
base_url = "https://stock.internal"
token_env = "T_WMS"
columns = {{ sku = "sku", location = "site", on_hand = "qty" }}
{rest}
"""


@pytest.mark.parametrize("rest,expected", [
    ('rest = { paging = "pages" }', "rest: paging: 'pages' is not one of"),
    ('rest = { paging = "cursor" }', "rest: next: missing"),
    ('rest = { endpoint = "stock" }', "rest: endpoint: should start with /"),
    ('rest = { colour = "x" }', "rest: unknown key 'colour'"),
])
def test_rest_mistakes_are_one_line(rest, expected, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(rest=rest))
    with pytest.raises(ConfigError) as caught:
        config_module.load(path, require_tokens=False)
    assert expected in caught.value.message and "\n" not in caught.value.message


def test_a_described_api_loads(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(rest='rest = { endpoint = "/v2/stock", paging = "link" }'))
    config = config_module.load(path, require_tokens=False)
    assert config.systems["wms"].rest["paging"] == "link"
