"""The lookup data path and `seamdesk lookup`: every planted finding of the demo scenario
comes out of a real refresh (history replayed first), in the CONTRACTS.md JSON shape."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.clock import iso, to_epoch
from app.errors import UsageError
from app.lookup import lookup
from tests.conftest import AFTER, BACKENDS, refresh

HISTORY_AT = to_epoch("2026-11-30T08:00:00Z")

# (sku, location) → the findings the demo plants there (throttled-sync is everywhere:
# the storefront throttles every 4th request).
PLANTED = {
    ("TEE-BLK-M", "DAL1"): {"downstream-drift", "amendment-after-release",  # and PO-1042
                            "short-pick-risk"},
    ("HOOD-GRY-L", "DAL1"): {"upstream-drift"},
    ("SOCK-WHT-3P", "ATL1"): {"upstream-drift"},
    ("CAP-NVY", "RNO1"): {"both-handoffs"},
    ("MUG-WHT-12", "DAL1"): {"phantom-stock", "downstream-drift"},
    ("BTL-STL-750", "ATL1"): {"hidden-stock", "downstream-drift"},
    ("JKT-RAIN-M", "DAL1"): {"pool-boundary", "downstream-drift"},
    ("PAN-CST-10", "RNO1"): {"pool-definition"},
    ("TOWEL-BTH-GRY", "DAL1"): {"ghost-reservation", "downstream-drift"},
    ("CANDLE-SOY", "ATL1"): {"uom-mismatch", "upstream-drift"},
    ("LAMP-DSK-BLK", "RNO1"): {"stranded-adjustment", "failed-messages", "upstream-drift"},
    ("BAG-TOTE-NAT", "DAL1"): {"duplicate-posting", "upstream-drift"},
    ("SHOE-RUN-42", "ATL1"): {"unposted-receipt", "upstream-drift"},
    ("BELT-LTH-M", "RNO1"): {"unconfirmed-shipment", "upstream-drift"},
    ("HOOD-GRY-L", "ATL1"): set(),
}


async def seed(config, sim, world, engine):
    """The demo's history replay: a refresh at 08:00 (the scenario's [[history]]), then one
    just after the scenario's now."""
    from tests.conftest import refresher

    world.set_clock(HISTORY_AT)
    rf = refresher(config, sim, engine)
    rf.clock = lambda: HISTORY_AT
    await rf.run(full=True)
    world.set_clock(world.base_now)
    await refresh(config, sim, engine, full=True)


@pytest.fixture
async def seeded(config, sim, world, engine):
    await seed(config, sim, world, engine)
    return engine


@pytest.mark.parametrize(("sku", "location"), list(PLANTED))
async def test_every_planted_finding_is_found(seeded, config, sku, location):
    result = lookup(seeded, config, sku, AFTER + 60, location)
    codes = {f.code for f in result.locations[0].findings} - {"throttled-sync"}
    assert codes == PLANTED[(sku, location)]


async def test_the_pop_up_store_is_an_unmapped_location(seeded, config):
    result = lookup(seeded, config, "MUG-WHT-12", AFTER + 60)
    unmapped = [loc for loc in result.locations if not loc.mapped]
    assert [loc.location_name for loc in unmapped] == ["Austin holiday pop-up"]
    assert next(f.code for f in unmapped[0].findings) == "unmapped-location"
    assert "3 of MUG-WHT-12" in unmapped[0].findings[0].summary


async def test_last_known_good_comes_from_the_replayed_history(seeded, config):
    loc = lookup(seeded, config, "TEE-BLK-M", AFTER + 60, "DAL1").locations[0]
    # read agreeing at 08:00 and disagreeing at 15:00; the storefront's 12 dates from 09:40
    assert loc.last_agreed_at == HISTORY_AT and loc.diverged_at == AFTER - 5 * 3600 - 20 * 60 - 5
    assert "last agreed 08:00 UTC (7 h ago); disagreeing since 09:40 UTC" in loc.agreement()
    agreeing = lookup(seeded, config, "TEE-BLK-M", AFTER + 60, "ATL1").locations[0]
    assert agreeing.diverged_at is None and agreeing.last_agreed_at == AFTER


async def test_a_stale_system_is_named(seeded, config):
    later = AFTER + 2 * 3600  # no refresh for two hours: every system is stale
    loc = lookup(seeded, config, "TEE-BLK-M", later, "DAL1").locations[0]
    stale = [f for f in loc.findings if f.code == "stale-source"]
    assert {f.handoff for f in stale} == {"wms", "erp", "storefront"}
    assert all(loc.stale.values())


async def test_reread_of_one_sku_updates_its_rows_and_read_times(seeded, config, sim, world):
    from tests.test_lookup_screen import make_desk

    key = ("DAL1", "TEE-BLK-M")
    on_hand, _available, allocated, in_transit, _ = world.counts["storefront"][key]
    world.counts["storefront"][key] = (on_hand, 34, allocated, in_transit, world.base_now)
    world.set_clock(world.base_now + 300)  # the vendors' clocks move on too
    desk = make_desk(config, sim, at=AFTER + 300)
    results = await desk.reread("TEE-BLK-M")
    assert [r.status for r in results] == ["complete"] * 3
    loc = desk.lookup("TEE-BLK-M", "DAL1").locations[0]
    assert loc.counts["storefront"].available == 34
    assert all(o.read_at == AFTER + 300 for o in loc.counts.values())
    assert "downstream-drift" not in {f.code for f in loc.findings}
    other = desk.lookup("MUG-WHT-12", "DAL1").locations[0]  # one SKU moved, not the system
    assert all(o.read_at == AFTER for o in other.counts.values())


async def test_unknown_sku_and_location_name_the_closest_match(seeded, config):
    with pytest.raises(UsageError, match=r"no such SKU 'TEE-BLK-X'.*closest: TEE-BLK-M"):
        lookup(seeded, config, "TEE-BLK-X", AFTER)
    with pytest.raises(UsageError, match=r"no such location 'DAL2'.*closest: DAL1"):
        lookup(seeded, config, "TEE-BLK-M", AFTER, "DAL2")
    assert lookup(seeded, config, "tee-blk-m", AFTER).sku == "TEE-BLK-M"  # any case


@pytest.mark.parametrize("cache_backend", BACKENDS)
async def test_lookup_json_follows_the_contract(seeded, config, capsys):
    assert main(["--config", str(config.path), "lookup", "TEE-BLK-M", "--location", "DAL1",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sku"] == "TEE-BLK-M" and data["location"] == "DAL1"
    assert set(data["systems"]) == {"wms", "erp", "storefront"}
    keys = {"on_hand", "available", "allocated", "in_transit", "updated_at", "read_at", "stale"}
    assert all(keys <= set(entry) for entry in data["systems"].values())
    assert data["systems"]["wms"]["in_transit"] is None  # ShipHero has no such number
    assert data["systems"]["storefront"]["available"] == 12
    assert data["systems"]["erp"]["updated_at"] == "2026-11-30T09:31:00Z"
    first = data["findings"][0]
    assert first["code"] == "downstream-drift" and first["handoff"] == "erp->storefront"
    assert first["cause"] == "rules" and first["owner"] == "integration"
    assert first["owner_name"] == "Integration team (#int-oncall)"
    assert "ERP 34, storefront 12" in first["summary"]
    assert data["last_agreed_at"] == iso(HISTORY_AT)
    assert main(["--config", str(config.path), "lookup", "TEE-BLK-M", "--json"]) == 0
    every = json.loads(capsys.readouterr().out)
    assert isinstance(every, list) and {d["location"] for d in every} >= {"DAL1", "ATL1", "RNO1"}


async def test_lookup_text_reads_in_a_ticket(seeded, config, capsys):
    assert main(["--config", str(config.path), "lookup", "CANDLE-SOY"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("CANDLE-SOY  Soy candle, 8 oz\n")
    assert "uom-mismatch (wms->erp), owner: Master data team" in out
    assert "handoffs: WMS --BROKEN--> ERP --ok--> storefront" in out
    assert all(len(line) <= 100 for line in out.splitlines())


def test_lookup_errors_are_one_line_and_exit_2(config, capsys):
    assert main(["--config", str(config.path), "lookup", "NOPE"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("seamdesk: no such SKU 'NOPE'")



async def test_outage_scenario_keeps_the_last_good_erp_numbers_and_calls_them_stale(tmp_path):
    """scenarios/outage.toml through the demo's replay: NetSuite is down since 13:30."""
    import httpx

    from app import config as config_module
    from app.demo import history_moments, replay
    from app.service import Desk
    from app.simulator.scenario import load_scenario
    from app.simulator.server import Simulator, write_config
    from app.simulator.world import from_scenario
    from tests.conftest import ROOT, TOKEN, nosleep

    world = from_scenario(load_scenario(ROOT / "scenarios" / "outage.toml"))
    sim = Simulator(world, token=TOKEN)
    write_config(sim, "http://sim", tmp_path / "config.toml")
    desk = Desk(config_module.load(tmp_path / "config.toml"), clock=world.now,
                transport=httpx.ASGITransport(app=sim.app), sleep=nosleep)
    assert history_moments(sim) == [to_epoch("2026-11-30T13:29:00Z")]
    results = []

    async def full_refresh():
        results[:] = await desk.refresh(full=True)

    await replay(desk, sim, full_refresh)
    world.set_clock(world.base_now)  # read the result at the scenario's now
    assert {r.system: r.status for r in results}["erp"] == "failed"
    loc = desk.lookup("TEE-BLK-M", "DAL1").locations[0]
    assert loc.counts["erp"].on_hand == 40 and loc.stale["erp"] and not loc.stale["wms"]
    stale = [f for f in loc.findings if f.code == "stale-source"]
    assert [f.handoff for f in stale] == ["erp"] and "503" in stale[0].summary


async def test_a_sku_reread_does_not_move_the_incremental_watermark(config, sim, world,
                                                                    engine):
    """A re-read stores one SKU's newest rows; the next incremental refresh must still start
    from where the last refresh left off, or changes to other SKUs are skipped."""
    from tests.conftest import refresher
    from tests.test_lookup_screen import make_desk

    await seed(config, sim, world, engine)
    base = world.base_now
    mug, tee = ("DAL1", "MUG-WHT-12"), ("DAL1", "TEE-BLK-M")
    world.counts["storefront"][mug] = (7, 77, 0, 0, base + 100)
    world.counts["storefront"][tee] = (40, 34, 6, 0, base + 2000)
    world.set_clock(base + 2100)
    await make_desk(config, sim, at=AFTER + 2100).reread("TEE-BLK-M")
    later = refresher(config, sim, engine)
    later.clock = lambda: AFTER + 2400
    assert {r.mode for r in await later.run()} == {"incremental"}
    loc = lookup(engine, config, "MUG-WHT-12", AFTER + 2400, "DAL1").locations[0]
    assert loc.counts["storefront"].available == 77


async def test_a_reread_row_is_fresh_though_its_system_is_stale(seeded, config, sim, world):
    from tests.test_lookup_screen import make_desk

    later = AFTER + 3 * 3600
    world.set_clock(world.base_now + 3 * 3600)
    desk = make_desk(config, sim, at=later)
    await desk.reread("TEE-BLK-M")
    loc = desk.lookup("TEE-BLK-M", "DAL1").locations[0]
    assert not any(loc.stale.values())
    assert "stale-source" not in {f.code for f in loc.findings}
    assert "throttled-sync" in {f.code for f in loc.findings}  # from the last refresh
    other = desk.lookup("MUG-WHT-12", "DAL1").locations[0]
    assert all(other.stale.values())


async def test_a_location_with_only_history_does_not_crash(seeded, config, sim, world, engine):
    for system in ("wms", "erp", "storefront"):
        world.counts[system].pop(("RNO1", "CAP-NVY"))
    world.set_clock(world.base_now)
    await refresh(config, sim, engine, full=True)
    loc = lookup(engine, config, "CAP-NVY", AFTER + 60, "RNO1").locations[0]
    assert loc.counts == {} and loc.history


async def test_locations_match_in_any_case(seeded, config):
    assert lookup(seeded, config, "TEE-BLK-M", AFTER, "dal1").locations[0].location == "DAL1"


async def test_order_lines_at_the_location_come_with_their_context(seeded, config, capsys):
    loc = lookup(seeded, config, "TEE-BLK-M", AFTER + 60, "DAL1").locations[0]
    (order,) = loc.orders
    assert order.view.document == "PO-1042"
    assert [f.code for f in order.findings] == ["amendment-after-release", "short-pick-risk"]
    owners = config.settings.owners
    assert order.findings[0].owner_name == \
        f"{owners['procurement']} + {owners['warehouse_lead']}"  # both, by name
    elsewhere = lookup(seeded, config, "TEE-BLK-M", AFTER + 60, "ATL1").locations[0]
    assert elsewhere.orders == ()
    payload = loc.as_json()["orders"][0]
    assert (payload["erp"]["quantity"], payload["wms"]["quantity"]) == (60, 40)
    assert main(["--config", str(config.path), "lookup", "TEE-BLK-M", "--location", "DAL1"]) == 0
    out = capsys.readouterr().out
    assert "order PO-1042 (purchase line of TEE-BLK-M):" in out
    assert "WMS        pick 40 · picked 40" in out
