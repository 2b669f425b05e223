"""The lookup screen: Pilot tests for search, selection, re-read and keys; snapshots of
every finding kind the demo plants, at 80x24 and 160x48."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text
from textual.widgets import DataTable, Input, OptionList, TabbedContent

from app.clock import frozen
from app.service import Desk
from app.tui import make_app
from screens.lookup import LookupScreen
from tests.conftest import AFTER, nosleep
from tests.test_lookup import seed

SIZES = [(80, 24), (160, 48)]
SHOWN = [  # one location per finding kind the demo plants
    ("TEE-BLK-M", "DAL1"),  # downstream-drift (rules), last known good from history
    ("HOOD-GRY-L", "DAL1"),  # upstream-drift (timing)
    ("CAP-NVY", "RNO1"),  # both-handoffs
    ("MUG-WHT-12", "DAL1"),  # phantom-stock
    ("BTL-STL-750", "ATL1"),  # hidden-stock
    ("JKT-RAIN-M", "DAL1"),  # pool-boundary
    ("PAN-CST-10", "RNO1"),  # pool-definition
    ("TOWEL-BTH-GRY", "DAL1"),  # ghost-reservation
    ("CANDLE-SOY", "ATL1"),  # uom-mismatch
    ("LAMP-DSK-BLK", "RNO1"),  # stranded-adjustment
    ("BAG-TOTE-NAT", "DAL1"),  # duplicate-posting
    ("SHOE-RUN-42", "ATL1"),  # unposted-receipt
    ("BELT-LTH-M", "RNO1"),  # unconfirmed-shipment
]


def make_desk(config, sim, at=AFTER + 600, read_only=False) -> Desk:
    return Desk(config, clock=frozen(at), operator="test-operator", read_only=read_only,
                transport=httpx.ASGITransport(app=sim.app), sleep=nosleep)


async def settle(pilot) -> None:
    """Workers done and their results drawn; a focused input's cursor steady (its blink
    timer would otherwise decide what a snapshot on a busy machine shows)."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def test_typing_searches_and_enter_opens_the_sku(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"towel")  # a name fragment, lower case
        await settle(pilot)
        hits = app.screen.query_one("#hits", OptionList)
        assert hits.display and [o.id for o in hits.options] == ["TOWEL-BTH-GRY"]
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LookupScreen) and screen.result.sku == "TOWEL-BTH-GRY"
        assert screen.location == "DAL1" and not hits.display
        assert "ghost-reservation" in {f.code for f in screen.current.findings}


async def test_down_arrow_picks_from_the_hits(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"TEE")
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.screen.result.sku == "TEE-BLK-M"


async def test_keys_switch_locations_and_tabs(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim), "JKT-RAIN-M")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.location == "DAL1"  # the location with something wrong comes first
        await pilot.press("n")
        assert screen.location != "DAL1"
        await pilot.press("a")
        assert screen.query_one(TabbedContent).active == "locations"
        grid = screen.query_one("#grid", DataTable)
        assert grid.has_focus and grid.row_count == 2
        await pilot.press("up", "enter")
        assert screen.location == "ATL1" and screen.query_one(TabbedContent).active == "findings"
        await pilot.press("h")
        assert screen.query_one(TabbedContent).active == "history"
        await pilot.press("slash")
        assert screen.query_one("#search", Input).has_focus


async def test_unknown_sku_says_so_and_names_the_closest(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"TEE-BLK-Q", "enter")
        await settle(pilot)
        messages = [str(n.message) for n in app._notifications]  # no public list in Textual
        assert any("no such SKU 'TEE-BLK-Q'" in m and "TEE-BLK-M" in m for m in messages)


async def test_r_rereads_the_sku_from_the_simulator(config, sim, world, engine):
    await seed(config, sim, world, engine)
    world.counts["storefront"][("DAL1", "TEE-BLK-M")] = (40, 30, 6, 0, world.base_now)
    world.set_clock(world.base_now)  # drops the simulator's memoized views
    app = make_app(make_desk(config, sim), "TEE-BLK-M", "DAL1")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.current.counts["storefront"].available == 12
        before = sim.vendors["storefront"].gate.requests
        await pilot.press("r")
        await settle(pilot)
        loc = app.screen.current
        assert loc.counts["storefront"].available == 30
        assert loc.counts["storefront"].read_at == AFTER + 600
        assert sim.vendors["storefront"].gate.requests > before


async def test_read_only_refuses_reread_and_says_why(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim, read_only=True), "TEE-BLK-M")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = sim.vendors["wms"].gate.requests
        await pilot.press("r")
        await settle(pilot)
        assert any("Read-only session" in str(n.message) for n in app._notifications)
        assert sim.vendors["wms"].gate.requests == before


async def test_the_command_palette_finds_skus(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"candle")
        await pilot.pause(0.5)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LookupScreen)
        assert app.screen.result.sku == "CANDLE-SOY"


async def test_hostile_names_render_as_text(config, sim, world, engine):
    await seed(config, sim, world, engine)
    with engine.begin() as conn:  # as a vendor might send it
        conn.execute(text("UPDATE item SET name = :name WHERE sku = 'CAP-NVY'"),
                     {"name": "[bold red]Boom[/] [link=x]y[/link]"})
    app = make_app(make_desk(config, sim), "CAP-NVY")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        title = str(app.screen.query_one("#title").render())
        assert "[bold red]Boom[/] [link=x]y[/link]" in title


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(("sku", "location"), SHOWN, ids=[s for s, _ in SHOWN])
def test_snapshot_of_each_finding(sku, location, size, snap_compare, config, sim, world,
                                  engine):
    asyncio.run(seed(config, sim, world, engine))
    app = make_app(make_desk(config, sim), sku, location)
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_stale_systems_and_the_unmapped_pop_up(size, snap_compare, config, sim,
                                                        world, engine):
    asyncio.run(seed(config, sim, world, engine))
    app = make_app(make_desk(config, sim, at=AFTER + 3 * 3600), "MUG-WHT-12")

    async def all_locations(pilot):
        await settle(pilot)
        await pilot.press("a")

    assert snap_compare(app, terminal_size=size, run_before=all_locations)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_before_choosing_a_sku(size, snap_compare, config, sim):
    app = make_app(make_desk(config, sim, read_only=True))
    assert snap_compare(app, terminal_size=size, run_before=settle)


async def test_a_config_error_ends_the_app_with_exit_code_2():
    from app.errors import ConfigError

    def broken():
        raise ConfigError("config.toml: cache.url: Input should be a valid string")

    app = make_app(broken, operator="test-operator", read_only=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
    assert app.return_code == 2 and "cache.url" in app.failure.message


async def test_another_sku_is_shown_from_the_top_of_its_findings(config, sim, world, engine):
    from tests.test_lookup import seed

    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim), "TEE-BLK-M", "DAL1")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        cards = app.screen.query_one("#cards")
        cards.scroll_end(animate=False)
        await settle(pilot)
        assert cards.scroll_y > 0  # (the findings are taller than the tab at 80x24)
        app.screen.reload()  # the same SKU again (a refresh landed): the place is kept
        await settle(pilot)
        assert cards.scroll_y > 0
        app.show_sku("HOOD-GRY-L")
        await settle(pilot)
        assert app.screen.result.sku == "HOOD-GRY-L" and cards.scroll_y == 0


async def test_update_times_of_another_day_fit_80_columns(config, sim, world, engine):
    """'Nov 30 11:00 · 2 d ago' is wider than a column at 80: the age drops its 'ago'
    rather than being cut."""
    import io

    from rich.console import Console

    from widgets.count_panel import CountPanel

    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim, at=AFTER + 2 * 86400), "CAP-NVY")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(CountPanel)
        console = Console(file=io.StringIO(), width=panel.content_region.width,
                          color_system=None)
        console.print(panel.content)
        updated = next(line for line in console.file.getvalue().splitlines()
                       if "Updated" in line)
        assert updated.split() == ["Updated", "Nov", "30", "11:00", "·", "2", "d", "Nov", "30",
                                   "11:04", "·", "2", "d", "Nov", "30", "11:06", "·", "2", "d"]
