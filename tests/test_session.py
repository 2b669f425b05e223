"""Operating it at a shared terminal: who is at it (switch, idle sign-out), read-only from
the config, theme and key overrides, the header's states, help, and `serve`'s guard."""

from __future__ import annotations

import asyncio
import re

import pytest

from app import config as config_module
from app.cli import main
from app.queue import query
from app.queue.query import QueueFilter
from app.serve import command_for, is_loopback
from app.tui import make_app
from screens.lookup import LookupScreen
from screens.operator import OperatorScreen
from screens.queue import QueueScreen
from tests.conftest import AFTER
from tests.test_lookup import seed
from tests.test_lookup_screen import make_desk, settle
from widgets.status_header import StatusHeader, age_short


def with_session(config, text: str):
    config.path.write_text(config.path.read_text() + "\n[session]\n" + text)
    return config_module.load(config.path)


def header(app) -> str:
    return str(app.screen.query_one(StatusHeader).render())


def recorder(app) -> list[str]:
    texts, notify = [], app.notify

    def recording(message, **kwargs):
        texts.append(str(message))
        return notify(message, **kwargs)

    app.notify = recording
    return texts


def test_ages_in_the_header_are_short():
    assert [age_short(s) for s in (None, 5, 240, 7200, 200000)] == \
        ["never", "now", "4m", "2h", "2d"]


async def test_switching_operator_is_shown_and_recorded_on_actions(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "test-operator" in header(app)
        await pilot.press("escape", "ctrl+o")
        assert isinstance(app.screen, OperatorScreen)
        await pilot.press(*"   ", "enter")  # blank: refused, the prompt stays
        assert isinstance(app.screen, OperatorScreen)
        await pilot.press(*"Maria Lopez", "enter")
        await settle(pilot)
        assert app.operator == "Maria Lopez" and "Maria Lopez" in header(app)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        item = app.screen.current
        await pilot.press("k")  # acknowledge, with a note
        await settle(pilot)
        await pilot.press(*"on it", "enter")
        await settle(pilot)
    last = query.detail(engine, item.id).audit[-1]
    assert (last.actor, last.action) == ("Maria Lopez", "acknowledged")


async def test_idle_timeout_signs_out_and_returns_to_the_lookup(config, sim, world, engine):
    await seed(config, sim, world, engine)
    cfg = with_session(config, "idle_timeout_seconds = 1\nauto_refresh = false\n")
    app = make_app(make_desk(cfg, sim))
    texts = recorder(app)
    now = [1000.0]
    app.idle_clock = lambda: now[0]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "e")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        await asyncio.sleep(1.5)  # the check runs every second: still someone there
        assert isinstance(app.screen, QueueScreen) and app.operator == "test-operator"
        now[0] += 2  # nobody touches the keyboard for two seconds
        await asyncio.sleep(1.5)
        await pilot.pause()
        assert isinstance(app.screen, LookupScreen) and app.operator == ""
        assert "no operator (ctrl+o)" in header(app)
        await pilot.press("e")
        await settle(pilot)
        item = app.screen.current
        await pilot.press("k")
        await settle(pilot)
        await pilot.press(*"on it", "enter")
        await settle(pilot)
    assert any("nobody is signed in" in t for t in texts)
    assert query.detail(engine, item.id).row.status == "open"  # refused, not recorded


async def test_read_only_from_the_config_is_shown_and_refuses_with_reasons(
        config, sim, world, engine, capsys):
    await seed(config, sim, world, engine)
    cfg = with_session(config, "read_only = true\n")
    desk = make_desk(cfg, sim, read_only=cfg.read_only)
    app = make_app(desk, "TEE-BLK-M", "DAL1")
    texts = recorder(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "READ-ONLY" in header(app)
        await pilot.press("r")
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
    assert any("Read-only session: re-reading" in t for t in texts)
    assert any("Read-only session: acknowledge" in t for t in texts)
    assert query.count(engine, QueueFilter(status=("acknowledged",))) == 0
    assert main(["--config", str(cfg.path), "refresh"]) == 2
    assert "sets [session] read_only" in capsys.readouterr().err


async def checklist_header(desk) -> str:
    """The header over TEE-BLK-M's checklist (symptom list) at 80 columns."""
    app = make_app(desk, "TEE-BLK-M", "DAL1")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        return header(app)


async def test_read_only_is_never_cut_from_a_narrow_header(config, sim, world, engine):
    """A long operator name and the checklist's title at 80 columns: the name gives way."""
    await seed(config, sim, world, engine)
    desk = make_desk(config, sim, read_only=True)
    desk.operator = "support-anastasia-on-the-night-shift"
    shown = await checklist_header(desk)
    assert " READ-ONLY " in shown and "…" in shown and len(shown) <= 80


async def test_a_narrow_header_drops_the_screens_name_before_the_operators(config, sim,
                                                                          world, engine):
    """Five systems read 11 minutes ago fill 80 columns: 'Checklist' goes, 'sup' stays."""
    await seed(config, sim, world, engine)
    desk = make_desk(config, sim, at=AFTER + 11 * 60, read_only=True)
    desk.operator = "sup"
    shown = await checklist_header(desk)
    assert shown.startswith(" seamdesk  sup  READ-ONLY ") and "SUP 11m" in shown
    assert "Checklist" not in shown and len(shown) <= 80


async def test_theme_and_key_overrides_come_from_the_config(config, sim, world, engine):
    await seed(config, sim, world, engine)
    cfg = with_session(config, 'theme = "ansi-dark"\nkeys = { queue = "w" }\n')
    app = make_app(make_desk(cfg, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "ansi-dark"
        await pilot.press("escape", "w")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("question_mark")  # help shows the key as rebound
        await pilot.pause()
        keys = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert re.search(r"\bw\s+Queue\b", keys) and not re.search(r"\be\s+Queue\b", keys)


@pytest.mark.parametrize(("text", "expected"), [
    ('theme = "neon"\n', "session.theme: unknown theme 'neon'"),
    ('keys = { frobnicate = "x" }\n', "session.keys.frobnicate: no such action"),
])
async def test_an_unknown_theme_or_action_ends_the_app_with_exit_2(config, sim, text,
                                                                   expected):
    cfg = with_session(config, text)
    app = make_app(make_desk(cfg, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.return_code == 2 and expected in app.failure.message


def test_serve_stays_on_loopback_unless_public(config, sim, capsys):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")
    assert main(["--config", str(config.path), "serve", "--host", "0.0.0.0"]) == 2
    assert "add --public" in capsys.readouterr().err
    command = command_for(make_desk(config, sim, read_only=True))
    assert "--config" in command and command.endswith("--operator test-operator --read-only")


# -- snapshots of the header's states and of help, at 80x24 --------------------------------

@pytest.mark.parametrize("state", ["fresh", "read-only-and-stale", "signed-out"])
def test_snapshot_of_the_header_states(state, snap_compare, config, sim, world, engine):
    asyncio.run(seed(config, sim, world, engine))
    read_only = state == "read-only-and-stale"
    at = AFTER + (3 * 3600 if read_only else 600)
    app = make_app(make_desk(config, sim, at=at, read_only=read_only), "TEE-BLK-M", "DAL1")

    async def prepare(pilot):
        await settle(pilot)
        if state == "signed-out":
            app.set_operator("")
            await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=prepare)


def test_help_keeps_a_findings_indent_when_its_lines_wrap():
    import io

    from rich.console import Console

    from screens.help import findings_text

    console = Console(file=io.StringIO(), width=50, color_system=None)
    console.print(findings_text())
    lines = console.file.getvalue().splitlines()
    cause = next(i for i, line in enumerate(lines) if "Likely cause: sync lag" in line)
    assert lines[cause].startswith("    Likely cause") and lines[cause + 1].startswith("    ")
    assert lines[cause + 1].strip() and not lines[cause + 1].startswith("    First")


def test_snapshot_of_help_at_80x24(snap_compare, config, sim, world, engine):
    asyncio.run(seed(config, sim, world, engine))
    app = make_app(make_desk(config, sim), "TEE-BLK-M", "DAL1")

    async def open_help(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_help)

