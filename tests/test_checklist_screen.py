"""The checklist screens: Pilot walks of whole checklists for symptoms 1, 4 and 7 of the
demo (ending in a packet, checked file by file), resuming an unfinished one, and
snapshots of the symptom picker and of each step at 80x24 and 160x48."""

from __future__ import annotations

import asyncio
import json

import pytest
from textual.widgets import Input

from app import config as config_module
from app.tui import make_app
from screens.checklist import ChecklistScreen
from screens.lookup import LookupScreen
from screens.symptoms import SymptomScreen
from tests.test_lookup import seed
from tests.test_lookup_screen import SIZES, make_desk, settle


def with_packets(config):
    config.path.write_text(config.path.read_text() + '\n[handoff]\npackets_dir = "packets"\n')
    return config_module.load(config.path)


def the_packet(config) -> tuple[dict, str]:
    (folder,) = list(config.packets_dir().iterdir())
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["lookup.svg", "lookup.txt", "packet.json", "packet.md"]
    packet = json.loads((folder / "packet.json").read_text())
    svg = (folder / "lookup.svg").read_text()
    assert svg.startswith("<svg") and packet["sku"] in svg  # the real lookup screen
    return packet, (folder / "packet.md").read_text()


async def start(pilot, symptom: int) -> None:
    """c on the lookup screen, then the symptom by arrow keys and enter."""
    await pilot.press("c")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SymptomScreen)
    await pilot.press("home", *["down"] * (symptom - 1), "enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChecklistScreen)


async def confirm_steps(pilot, count: int) -> None:
    for _ in range(count):
        await pilot.press("enter")
    await settle(pilot)


async def test_symptom_7_ends_in_a_packet_naming_handoff_owner_and_evidence(config, sim, world,
                                                                           engine):
    await seed(config, sim, world, engine)
    cfg = with_packets(config)
    app = make_app(make_desk(cfg, sim), "TEE-BLK-M", "DAL1")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await start(pilot, 7)
        await confirm_steps(pilot, 5)
        screen = app.screen
        assert [screen.checklist.status(s) for s in screen.steps] == ["done"] * 5 + ["to do"]
        await pilot.press("w")
        await settle(pilot)
        assert screen.checklist.status(screen.steps[5]) == "done"
    packet, markdown = the_packet(cfg)
    assert packet["operator"] == "test-operator" and packet["symptom"]["number"] == 7
    assert packet["handoff"]["finding"] == "amendment-after-release"
    assert packet["handoff"]["handoff"] == "erp->wms"
    owners = cfg.settings.owners
    assert packet["handoff"]["owner"] == f"{owners['procurement']} + {owners['warehouse_lead']}"
    assert [s["status"] for s in packet["steps"]] == ["done"] * 6
    assert {"amendment-after-release", "short-pick-risk"} <= {f["code"] for f in
                                                              packet["findings"]}
    assert packet["orders"][0]["supplier"]["confirmed"] == 60
    assert "**Handoff:** ERP and WMS disagree on PO-1042 for TEE-BLK-M at DAL1" in markdown


async def test_a_digit_goes_to_that_symptom_in_the_list(config, sim, world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim), "TEE-BLK-M", "DAL1")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        symptoms = app.screen.query_one("#symptoms")
        for key, number in (("7", 7), ("0", 10), ("2", 2)):
            await pilot.press(key)
            assert symptoms.highlighted == number - 1
        await pilot.press("shift+tab", "3")  # typed into a box, not a jump
        assert symptoms.highlighted == 1


async def test_symptom_1_keeps_the_owner_the_operator_typed(config, sim, world, engine):
    await seed(config, sim, world, engine)
    cfg = with_packets(config)
    app = make_app(make_desk(cfg, sim), "MUG-WHT-12", "DAL1")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await start(pilot, 1)
        await confirm_steps(pilot, 4)
        for _ in range(6):  # the keyboard reaches the owner field
            if app.focused is not None and app.focused.id == "owner":
                break
            await pilot.press("tab")
        assert app.focused.id == "owner"
        app.focused.value = ""
        await pilot.press(*"Dallas inventory desk", "enter")
        await pilot.press("enter", "w")
        await settle(pilot)
    packet, markdown = the_packet(cfg)
    assert packet["handoff"]["finding"] == "phantom-stock"
    assert packet["handoff"]["owner"] == "Dallas inventory desk"
    assert packet["handoff"]["suggested_owner"] == cfg.settings.owners["integration"]
    assert packet["handoff"]["sentence"].startswith("WMS and storefront disagree on DAL1")
    assert "**Owner:** Dallas inventory desk" in markdown


async def test_symptom_4_left_halfway_resumes_with_what_was_entered(config, sim, world, engine):
    await seed(config, sim, world, engine)
    cfg = with_packets(config)
    app = make_app(make_desk(cfg, sim), "TOWEL-BTH-GRY", "DAL1")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await start(pilot, 4)
        await confirm_steps(pilot, 2)
        await pilot.press("n", *"WMS allocation checked", "enter")
        await pilot.press("escape")  # leave: saved, resumable
        await settle(pilot)
        await pilot.press("escape")
        assert isinstance(app.screen, LookupScreen)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("u")  # the unfinished checklists
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChecklistScreen) and screen.index == 2  # the first to do
        assert screen.query_one("#note", Input).value == "WMS allocation checked"
        await confirm_steps(pilot, 3)
        await pilot.press("w")
        await settle(pilot)
    packet, _ = the_packet(cfg)
    assert [s["status"] for s in packet["steps"]] == ["done"] * 6
    assert packet["steps"][2]["note"] == "WMS allocation checked"
    assert packet["handoff"]["finding"] == "ghost-reservation"


async def test_read_only_writes_packets_but_refuses_to_send_them(config, sim, world, engine):
    await seed(config, sim, world, engine)
    cfg = with_packets(config)
    app = make_app(make_desk(cfg, sim, read_only=True), "TEE-BLK-M", "DAL1")
    texts, notify = [], app.notify

    def recording(message, **kwargs):
        texts.append(message)
        return notify(message, **kwargs)

    app.notify = recording
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await start(pilot, 7)
        hints = [str(app.screen.query_one("#hint").content)]  # no re-read, no sending
        await pilot.press("right", "right", "right", "right", "right", "w")
        await settle(pilot)
        hints.append(str(app.screen.query_one("#hint").content))
        await pilot.press("p")
        await settle(pilot)
    assert any("sending packets is not allowed" in t for t in texts)
    assert hints[0].startswith("Space confirms the counts as the cache holds them")
    assert "p sends" not in hints[1] and hints[1].startswith("w writes the packet")
    packet, _ = the_packet(cfg)
    assert [s["status"] for s in packet["steps"]] == ["to do"] * 5 + ["done"]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_snapshot_of_the_symptom_picker(size, snap_compare, config, sim, world, engine):
    asyncio.run(seed(config, sim, world, engine))
    app = make_app(make_desk(config, sim), "TEE-BLK-M", "DAL1")

    async def picker(pilot):
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=picker)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("step", range(1, 7))
def test_snapshot_of_each_step(step, size, snap_compare, config, sim, world, engine):
    asyncio.run(seed(config, sim, world, engine))
    app = make_app(make_desk(config, sim), "TEE-BLK-M", "DAL1")

    async def at_step(pilot):
        await settle(pilot)
        await start(pilot, 7)
        await pilot.press(*["right"] * (step - 1))
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=at_step)


async def test_c_on_a_queue_row_starts_its_checklist_with_the_matching_symptom(config, sim,
                                                                             world, engine):
    await seed(config, sim, world, engine)
    app = make_app(make_desk(config, sim))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "e")
        await settle(pilot)
        await pilot.press("slash", *"code:short-pick-risk", "enter")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SymptomScreen)
        assert screen.query_one("#sku", Input).value == "TEE-BLK-M"
        assert screen.query_one("#location", Input).value == "DAL1"
        await pilot.press("enter")  # the suggested symptom: 7, the short pick
        await settle(pilot)
        assert isinstance(app.screen, ChecklistScreen) and app.screen.checklist.symptom == 7
