"""The health screen: reachable with `d` from every screen, the worst handoff named, a
row drilling into the queue filtered to what it counts, the ownership matrix; snapshots
at 80x24 and 160x48."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable, Input

from app.queue import query
from app.queue.query import QueueFilter
from app.tui import make_app
from screens.health import HealthScreen
from screens.queue import QueueScreen
from tests.test_lookup import seed
from tests.test_lookup_screen import SIZES, make_desk, settle


def shown(app, selector: str) -> str:
    """What the widget shows, as plain text on lines wide enough not to wrap."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(app.screen.query_one(selector).content)
    return console.file.getvalue()


async def test_d_opens_health_from_every_screen_and_toggles_back(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "d")
        await settle(pilot)
        assert isinstance(app.screen, HealthScreen)
        assert "Worst this week: wms->erp" in shown(app, "#headline")
        await pilot.press("d")
        await settle(pilot)
        assert not isinstance(app.screen, HealthScreen)
        for key in ("e", "s"):  # the queue and the systems screen reach it too
            await pilot.press(key)
            await settle(pilot)
            await pilot.press("d")
            await settle(pilot)
            assert isinstance(app.screen, HealthScreen)
            await pilot.press("escape", "escape")
            await settle(pilot)


async def test_a_lane_and_a_figure_drill_into_the_filtered_queue(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "d")
        await settle(pilot)
        lanes = app.screen.query_one("#lanes", DataTable)
        names = [str(lanes.get_row_at(i)[0]) for i in range(lanes.row_count)]
        lanes.move_cursor(row=names.index("wms->erp"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert app.queue_filter == "handoff:wms->erp status:active"
        assert app.screen.query_one("#filter", Input).value == app.queue_filter
        expected = query.count(engine, QueueFilter(handoff=("wms->erp",)))
        assert app.screen.query_one("#rows").total == expected > 0
        await pilot.press("escape")  # back to health: the figures of wms->erp
        await settle(pilot)
        await pilot.press("tab")
        figures = app.screen.query_one("#figures", DataTable)
        labels = [str(figures.get_row_at(i)[0]) for i in range(figures.row_count)]
        assert {"Opened per day", "Oldest unresolved", "Failed messages/day",
                "Propagation delay", "Corrected by hand", "open upstream-drift"} <= set(labels)
        figures.move_cursor(row=labels.index("Failed messages/day"))
        await pilot.press("enter")
        await settle(pilot)
        assert app.queue_filter == "code:failed-messages handoff:wms->erp status:active"
        assert app.screen.query_one("#rows").total == 1


async def test_corrected_by_hand_is_a_resolve_health_counts(config, sim, world, engine):
    await seed(config, sim, world, engine)
    desk = make_desk(config, sim)
    app = make_app(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "e")
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press(*"re-keyed 40 in NetSuite", "enter")
        await settle(pilot)
    resolved = query.page(engine, QueueFilter(status=("resolved",)))
    assert len(resolved) == 1
    audit = query.detail(engine, resolved[0].id).audit[-1]
    assert (audit.action, audit.note) == ("corrected by hand", "re-keyed 40 in NetSuite")
    assert desk.health_figures().total.corrections[-1] == 1


async def test_w_shows_who_owns_what(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "d")
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        text = shown(app, "#owners")
        assert "Physical on-hand: the WMS owns it" in text
        assert "Available to sell (shared): the ERP wins, then the WMS" in text


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_of_the_health_screen(size, snap_compare, config, sim, world, engine):
    asyncio.run(seed(config, sim, world, engine))
    app = make_app(make_desk(config, sim))

    async def open_health(pilot):
        await settle(pilot)
        await pilot.press("escape", "d")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_health)
