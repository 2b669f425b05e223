"""The queue screen: Pilot tests for filtering, bulk resolve with its audit trail, and
read-only refusal; snapshots of the queue at 80x24 and 160x48."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Input

from app.queue import query
from app.queue.query import QueueFilter
from app.tui import make_app
from screens.queue import QueueScreen
from tests.test_lookup import seed
from tests.test_lookup_screen import SIZES, make_desk, settle


async def open_queue(pilot) -> None:
    await settle(pilot)
    await pilot.press("escape", "e")
    await settle(pilot)


async def test_filter_then_bulk_resolve_records_who_did_it(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("slash")
        await pilot.press(*"code:upstream-drift", "enter")
        await settle(pilot)
        assert app.screen.query_one("#rows").total == 7
        await pilot.press("X")
        await settle(pilot)
        dialog_text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "Resolve all 7 exceptions" in dialog_text
        await pilot.press(*"re-keyed in NetSuite", "enter")
        await settle(pilot)
        assert app.screen.query_one("#rows").total == 0
        assert app.queue_filter == "code:upstream-drift"  # kept for the next visit
    resolved = query.page(engine, QueueFilter(status=("resolved",)))
    assert len(resolved) == 7
    last = query.detail(engine, resolved[0].id).audit[-1]
    assert (last.actor, last.action, last.note) == ("test-operator", "resolved",
                                                     "re-keyed in NetSuite")


async def test_a_row_acknowledged_and_looked_up(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("slash")
        await pilot.press(*"code:phantom-stock", "enter")
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        await pilot.press(*"on it", "enter")
        await settle(pilot)
        assert query.count(engine, QueueFilter(status=("acknowledged",))) == 1
        await pilot.press("l")
        await settle(pilot)
        assert app.screen.result.sku == "MUG-WHT-12"


async def test_read_only_refuses_queue_actions(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim, read_only=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert any("Read-only session: resolve" in str(n.message) for n in app._notifications)
        assert not isinstance(app.screen.focused, Input)
    assert query.count(engine, QueueFilter(status=("resolved",))) == 0


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_of_the_queue(size, snap_compare, config, sim, world, engine):
    asyncio.run(seed(config, sim, world, engine))
    app = make_app(make_desk(config, sim))

    async def by_severity(pilot):
        await open_queue(pilot)
        await pilot.press("t")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=by_severity)
