"""The status screen: Pilot tests for behaviour, snapshots at 80x24 and 160x48."""

from __future__ import annotations

import httpx
import pytest
from textual.widgets import DataTable, Static

from app.cache.writer import CacheWriter
from app.clock import frozen
from app.records import RunStats
from app.service import Desk
from app.tui import make_app
from screens.status import StatusScreen
from tests.conftest import AFTER, nosleep, refresh

SIZES = [(80, 24), (160, 48)]


def make_desk(config, sim, read_only=False) -> Desk:
    return Desk(config, clock=frozen(AFTER + 600), operator="test-operator",
                read_only=read_only, transport=httpx.ASGITransport(app=sim.app), sleep=nosleep)


async def settle(pilot) -> None:
    """Open the systems screen (s) from the lookup screen and let its workers finish."""
    if not isinstance(pilot.app.screen, StatusScreen):
        await pilot.app.workers.wait_for_complete()
        await pilot.press("escape", "s")  # leave the search box first
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def test_every_configured_system_is_listed_with_its_last_run(config, sim, engine):
    await refresh(config, sim, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == \
            ["wms", "erp", "storefront", "middleware", "supplier"]
        assert "10 min ago" in str(table.get_row_at(0)[3])
        await pilot.press("down", "down")
        detail = str(app.screen.query_one("#detail", Static).render())
        assert "storefront (shopify)" in detail and "Austin holiday pop-up" in detail


async def test_r_refreshes_from_the_systems_and_reports(config, sim):
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "never" in str(app.screen.query_one(DataTable).get_row_at(0)[2])
        await pilot.press("r")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert all(str(table.get_row_at(i)[5]) == "complete" for i in range(3))
        messages = [n.message for n in app._notifications]  # Textual has no public list
        assert any("Refresh complete" in str(m) for m in messages)


async def test_read_only_refuses_refresh_and_says_why(config, sim):
    app = make_app(make_desk(config, sim, read_only=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        messages = [str(n.message) for n in app._notifications]
        assert any("Read-only session" in m for m in messages)
        assert sim.vendors["wms"].gate.requests == 0


def _failed_run_with_markup(engine) -> None:
    cache = CacheWriter(engine)
    cache.register({"erp": ("netsuite", "http://sim/netsuite")}, {})
    run_id = cache.start_run("erp", "incremental", AFTER + 300, None)
    cache.finish_run(run_id, "erp", status="failed", finished_at=AFTER + 301, stats=RunStats(),
                     full=False, started_at=AFTER + 300,
                     error="erp: HTTP 500: [bold red]Internal[/] error at [link=x]y[/link]")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_after_a_refresh(size, snap_compare, config, sim, engine):
    import asyncio

    asyncio.run(refresh(config, sim, engine))
    _failed_run_with_markup(engine)
    app = make_app(make_desk(config, sim))
    assert snap_compare(app, terminal_size=size, press=["down"], run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_before_any_refresh(size, snap_compare, config, sim):
    app = make_app(make_desk(config, sim, read_only=True))
    assert snap_compare(app, terminal_size=size, run_before=settle)
