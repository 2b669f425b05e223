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


async def test_a_lookup_from_the_queue_replaces_the_sku_shown_before(config, sim, world,
                                                                    engine):
    """The lookup showed another SKU when the queue opened: `l` shows the exception's SKU
    at the exception's location (the lookup's resume used to load the old one over it)."""
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim), "TEE-BLK-M")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("slash", *"code:phantom-stock", "enter")
        await settle(pilot)
        row = app.screen.current
        await pilot.press("l")
        await settle(pilot)
        await settle(pilot)
        assert (app.screen.result.sku, app.screen.location) == (row.sku, row.location)
        assert row.sku != "TEE-BLK-M"


async def test_the_queue_keeps_its_own_look_after_the_systems_screen(config, sim, world,
                                                                    engine):
    """Both screens have a #detail: the systems screen's rounded box must not reach the
    queue's detail pane (three rows fewer at 80x24) once its CSS is loaded."""
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "s")
        await settle(pilot)
        await pilot.press("escape")
        await open_queue(pilot)
        detail = app.screen.query_one("#detail").styles
        assert detail.border_top[0] == "solid" and detail.border_left[0] in ("", "none")
        assert detail.margin.top == 0


async def test_the_detail_scrolls_by_keyboard_at_80x24(config, sim, world, engine):
    """The amendment's owner and audit trail lie below the pane at 80x24: tab to it, end."""
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("slash", *"code:amendment-after-release", "enter")
        await settle(pilot)
        detail = app.screen.query_one("#detail")
        assert detail.max_scroll_y > 0  # more than the pane shows
        await pilot.press("tab", "end")
        await settle(pilot)
        assert detail.has_focus and detail.scroll_y == detail.max_scroll_y
        await pilot.press("escape")  # back to the rows, not off the screen
        assert app.screen.query_one("#rows").has_focus


async def test_a_dialog_missing_what_it_needs_stays_open_and_says_so(config, sim, world,
                                                                   engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        for key, typed, said in (("g", "", "Say to whom"), ("x", "", "A note is required"),
                                 ("z", "two", "A number of hours")):
            await pilot.press(key)
            await settle(pilot)
            dialog = app.screen
            if key == "z":
                await pilot.press(*["backspace"] * 2)  # the suggested 24
            await pilot.press(*typed, "enter")
            await settle(pilot)
            assert app.screen is dialog  # still open, with the reason
            assert said in str(dialog.query_one("#problem").render())
            if key == "g":
                assert "roles: " in " ".join(str(s.render()) for s in dialog.query("Static"))
            await pilot.press("escape")
            await settle(pilot)
        assert isinstance(app.screen, QueueScreen)


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


async def test_the_footer_follows_focus_and_comes_back_after_a_filter(config, sim, world,
                                                                     engine):
    """Two footers swap as the focus moves (QuietFooter) and show what Textual's would:
    the table's keys, none of the letters while typing in the filter box."""
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        assert "Resolve" in app.export_screenshot()
        await pilot.press("slash")
        await settle(pilot)
        assert "Resolve" not in app.export_screenshot()  # x types an x here
        await pilot.press(*"code:phantom-stock", "enter")
        await settle(pilot)
        assert app.screen.query_one("#rows").total == 1
        assert "Resolve" in app.export_screenshot()


async def test_the_next_page_is_read_before_the_cursor_gets_there():
    """Paging down never waits on SQL: the page below the screen is asked for (by keyset,
    after the last row loaded) while the cursor is still half a page away."""
    from textual.app import App

    from widgets.virtual_table import PAGE, Column, VirtualTable

    total, asked = 1000, []

    def loader(offset: int, after: tuple | None, limit: int) -> list[int]:
        asked.append((offset, after))
        start = after[0] + 1 if after else offset
        return list(range(start, min(start + limit, total)))

    class Table(App):
        def compose(self):
            yield VirtualTable([Column("N", 0, str)], lambda n: (n,))

        def on_mount(self) -> None:
            self.query_one(VirtualTable).reset(loader, total)

    app = Table()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(VirtualTable)
        await app.workers.wait_for_complete()
        assert asked == [(0, None)]
        for _ in range(3):  # row 60: the screen ends some 40 rows above the next page
            await pilot.press("pagedown")
            await app.workers.wait_for_complete()
        assert asked == [(0, None), (0, (PAGE - 1,))]
        await pilot.press("pagedown", "pagedown")  # into the next page: already there
        assert table.cursor == PAGE and table.row(PAGE) == PAGE
        await pilot.press("pagedown", "pagedown", "pagedown")
        await app.workers.wait_for_complete()
        assert asked[2:] == [(0, (2 * PAGE - 1,))]  # and the one after it, ahead again
