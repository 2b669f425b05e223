"""Hostile data from the systems: Rich markup and ANSI escape sequences in item names,
location names, flow names and error messages; a 3,000-character name; odd Unicode in
SKUs; negative and huge quantities. Everything refreshes, and renders literally in the
text output, the screens (their exported SVG) and packets: markup as its characters,
escape sequences as visible `\\x1b`, never acting on a terminal."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from app import config as config_module
from app.cache.engine import make_engine
from app.checklist.escalate import write_packet
from app.checklist.state import Checklist
from app.cli import main
from app.clock import frozen
from app.refresh import Refresher
from app.service import Desk
from app.simulator.scenario import load_scenario
from app.simulator.server import Simulator, write_config
from app.simulator.world import from_scenario
from app.tui import make_app
from tests.conftest import AFTER, TOKEN, nosleep
from tests.test_lookup_screen import settle

SKU = "ŠKU-ÄÖ-ß"
NAME = "[bold red]Boom[/] \\u001b[31mred\\u001b[0m 🙂 " + "x" * 3000
MESSAGE = "bad \\u001b[2J\\u001b[H [link=http://x]click[/link]"
SCENARIO = f'''
name = "hostile"
now = "2026-11-30T15:00:00Z"
[[location]]
code = "DAL1"
name = "Dallas [bold]DC[/]"
[[item]]
sku = "{SKU}"
name = "{NAME}"
''' + "".join(f'''
[[count]]
system = "{system}"
sku = "{SKU}"
location = "DAL1"
on_hand = {on_hand}
available = {available}
allocated = 0
updated_at = "2026-11-30T14:55:00Z"
''' for system, on_hand, available in (("wms", 2_000_000_000, -7), ("erp", 2_000_000_000, 5),
                                       ("storefront", 1, 1))) + f'''
[[error]]
id = "E-1"
flow = "WMS to ERP [red]inventory[/]"
handoff = "wms->erp"
sku = "{SKU}"
location = "DAL1"
occurred_at = "2026-11-30T09:13:00Z"
retries = 3
message = "{MESSAGE}"
'''


@pytest.fixture
def hostile(tmp_path):
    (tmp_path / "hostile.toml").write_text(SCENARIO)
    world = from_scenario(load_scenario(tmp_path / "hostile.toml"))
    world.set_clock(world.base_now)
    sim = Simulator(world, token=TOKEN)
    write_config(sim, "http://sim", tmp_path / "config.toml")
    config = config_module.load(tmp_path / "config.toml")
    engine = make_engine(config.cache_url)
    results = asyncio.run(Refresher(config, engine, clock=frozen(AFTER), sleep=nosleep,
                                    transport=httpx.ASGITransport(app=sim.app)).run(None, True))
    assert {r.system: r.status for r in results}["wms"] == "complete"
    return config, engine, sim


def test_text_output_shows_markup_and_escapes_literally(hostile, capsys):
    config, _, _ = hostile
    for command in (["lookup", SKU], ["queue"]):
        assert main(["--config", str(config.path), *command]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\\x1b[" in out, command
    assert main(["--config", str(config.path), "lookup", SKU]) == 0
    out = capsys.readouterr().out
    assert "[bold red]Boom[/]" in out and "2000000000" in out and "-7" in out
    assert "Dallas [bold]DC[/]" in out and "\\x1b[2J" in out
    assert main(["--config", str(config.path), "lookup", SKU, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload[0]["systems"]["wms"]["available"] == -7


async def test_screens_render_hostile_text_as_text(hostile):
    config, _, sim = hostile
    desk = Desk(config, clock=frozen(AFTER + 60), operator="ana",
                transport=httpx.ASGITransport(app=sim.app), sleep=nosleep)
    app = make_app(desk, SKU, "DAL1")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        lookup_svg = app.export_screenshot()
        await pilot.press("escape", "e")
        await settle(pilot)
        queue_svg = app.export_screenshot()
    for svg in (lookup_svg, queue_svg):
        assert "\x1b" not in svg
    assert "[bold&#160;red]Boom[/]" in lookup_svg or "[bold red]Boom[/]" in lookup_svg


def test_packets_show_hostile_text_literally(hostile, tmp_path):
    config, engine, _ = hostile
    checklist = Checklist(SKU, "DAL1", 10, "ana", AFTER)
    write_packet(engine, config, checklist, AFTER + 60, lambda s, loc: "<svg/>",
                 tmp_path / "p")
    for path in (tmp_path / "p").iterdir():
        assert "\x1b" not in path.read_text(), path.name
    text = (tmp_path / "p" / "packet.md").read_text()
    assert r"\[bold red\]Boom\[/\]" in text
