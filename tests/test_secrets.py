"""Secrets never leave the process: a distinctive token (and a ticket-webhook token) appear
in no cache file, packet, SVG or error message, even when a vendor echoes the token back;
the cache and packets are created 0600."""

from __future__ import annotations

import asyncio
import stat

import httpx

from app import config as config_module
from app.checklist.escalate import write_packet
from app.checklist.state import Checklist
from app.clock import frozen
from app.refresh import Refresher
from app.service import Desk
from app.snapshot import lookup_svg
from tests.conftest import AFTER, TOKEN, nosleep, sqlite_only
from tests.test_lookup import seed

WEBHOOK_TOKEN = "tkt-4242-webhook-do-not-leak"


def files_of(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_no_token_in_the_cache_the_packet_or_the_svg(config, sim, world, engine, tmp_path,
                                                     monkeypatch):
    sqlite_only(engine, "reads the cache file's bytes")
    monkeypatch.setenv("TICKET_TOKEN", WEBHOOK_TOKEN)
    config.path.write_text(config.path.read_text() + '\n[handoff]\nwebhook_url = '
                           '"https://t.example/h"\ntoken_env = "TICKET_TOKEN"\n')
    cfg = config_module.load(config.path)
    asyncio.run(seed(cfg, sim, world, engine))
    desk = Desk(cfg, clock=frozen(AFTER + 60), operator="ana")
    checklist = Checklist("TEE-BLK-M", "DAL1", 7, "ana", AFTER)
    out = tmp_path / "packet"
    write_packet(engine, cfg, checklist, AFTER + 60,
                 lambda sku, loc: lookup_svg(desk, sku, loc), out)
    cache = tmp_path / "seamdesk.db"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    everything = {**files_of(out), **{p.name: p.read_bytes()
                                      for p in tmp_path.glob("seamdesk.db*")}}
    assert "lookup.svg" in everything and "seamdesk.db" in everything
    for name, body in everything.items():
        for secret in (TOKEN, WEBHOOK_TOKEN):
            assert secret.encode() not in body, f"{secret} in {name}"
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_vendor_echoing_the_token_in_its_errors_does_not_leak_it(config, engine, tmp_path):
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text=f"internal error for {request.headers}: {TOKEN}")

    refresher = Refresher(config, engine, clock=frozen(AFTER),
                          transport=httpx.MockTransport(echo), sleep=nosleep)
    results = asyncio.run(refresher.run(None, True))
    assert {r.status for r in results} == {"failed"}
    for result in results:
        assert TOKEN not in result.summary(), result.summary()
    with engine.connect() as conn:
        errors = [row[0] or "" for row in conn.exec_driver_sql("SELECT error FROM sync_run")]
    assert errors and not any(TOKEN in e for e in errors)
    for path in tmp_path.glob("seamdesk.db*"):
        assert TOKEN.encode() not in path.read_bytes()


def test_a_rejected_token_is_not_quoted_back(config, sim, engine, monkeypatch):
    wrong = "wrong-token-777-do-not-leak"
    monkeypatch.setenv("SEAMDESK_SIM_TOKEN", wrong)
    cfg = config_module.load(config.path)
    refresher = Refresher(cfg, engine, clock=frozen(AFTER),
                          transport=httpx.ASGITransport(app=sim.app), sleep=nosleep)
    results = asyncio.run(refresher.run(None, True))
    assert {r.status for r in results} == {"failed"}
    assert not any(wrong in r.summary() for r in results)
