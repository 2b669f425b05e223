"""Refresh end to end, in-process: real connectors, simulator in the vendors' formats."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from app.cache import queries
from app.cache.models import (
    CountHistory,
    InventoryEvent,
    Item,
    LocationRef,
    Meta,
    SyncRun,
)
from app.cache.sku import sku_facts
from app.cache.writer import high_water
from tests.conftest import AFTER, refresh, refresher, truth

SYSTEMS = ("wms", "erp", "storefront")


async def test_full_refresh_matches_the_scenario(config, sim, world, engine):
    results = await refresh(config, sim, engine)
    for system in SYSTEMS:
        assert results[system].status == "complete", results[system].summary()
        assert results[system].mode == "full"
        assert queries.current_counts(engine, system) == truth(world, system, config)


async def test_lookup_reads_each_systems_numbers_and_times(config, sim, engine):
    await refresh(config, sim, engine)
    facts = sku_facts(engine, "TEE-BLK-M")
    latest = {o.system: o for o in facts.current if o.location == "DAL1"}
    assert (latest["wms"].on_hand, latest["wms"].available, latest["wms"].in_transit) == \
        (40, 34, None)
    assert latest["erp"].available == 34
    assert latest["storefront"].available == 12
    assert latest["storefront"].updated_at == 1796031600  # 2026-11-30T09:40:00Z
    assert {o.read_at for o in latest.values()} == {AFTER}


async def test_item_names_are_kept_once_per_sku(config, sim, engine):
    await refresh(config, sim, engine)
    with engine.connect() as conn:
        names = dict(conn.execute(select(Item.sku, Item.name)).all())
    assert names["TEE-BLK-M"] == "Classic tee, black, M"
    assert len(names) == 14


async def test_events_arrive_from_wms_and_erp(config, sim, engine):
    await refresh(config, sim, engine)
    with engine.connect() as conn:
        rows = conn.execute(select(InventoryEvent.system, InventoryEvent.event_id,
                                   InventoryEvent.kind, InventoryEvent.delta,
                                   InventoryEvent.location)).all()
    events = {(r.system, r.event_id, r.kind, r.delta, r.location) for r in rows}
    assert ("wms", "RCV-5531", "receipt", 24, "ATL1") in events
    assert ("wms", "SHP-7710", "shipment", -3, "RNO1") in events
    assert ("wms", "CC-1190", "cycle_count", -4, "DAL1") in events
    duplicates = [r for r in rows if r.system == "erp" and r.event_id == "ADJ-2231"]
    assert len(duplicates) == 2  # the ERP posted it twice; both are kept


async def test_unmapped_locations_are_recorded_not_compared(config, sim, engine):
    results = await refresh(config, sim, engine)
    assert results["storefront"].unmapped == 2
    with engine.connect() as conn:
        ref = conn.execute(select(LocationRef).where(LocationRef.code.is_(None))).one()
    assert ref.name == "Austin holiday pop-up" and ref.rows == 2
    status = {s.name: s for s in queries.system_status(engine)}
    assert status["storefront"].unmapped_locations


async def test_incremental_refresh_reads_only_changes(config, sim, world, engine):
    await refresh(config, sim, engine)
    world.set_clock(world.base_now + 3600)
    changed = world.mutate(0.1, seed=7)
    results = await refresh(config, sim, engine)
    for system in SYSTEMS:
        result = results[system]
        assert result.mode == "incremental" and result.status == "complete"
        assert queries.current_counts(engine, system) == truth(world, system, config)
    read = sum(r.rows for r in results.values())
    assert changed <= read < 50  # the changes (plus the overlap window), not everything


async def test_a_row_stamped_in_the_future_does_not_hide_later_changes(config, sim, world,
                                                                        engine):
    erp, tee, cap = world.counts["erp"], ("DAL1", "TEE-BLK-M"), ("RNO1", "CAP-NVY")
    erp[tee] = (*erp[tee][:4], AFTER + 30 * 86400)  # read from a clock a month ahead
    await refresh(config, sim, engine)
    with engine.connect() as conn:
        assert high_water(conn, "erp", AFTER) < AFTER  # kept, without the month ahead
    world.set_clock(world.base_now + 3600)
    erp[cap] = (erp[cap][0] + 5, erp[cap][1] + 5, *erp[cap][2:4], world.base_now + 3600)
    results = await refresh(config, sim, engine)
    assert results["erp"].mode == "incremental"
    assert queries.current_counts(engine, "erp")[cap] == truth(world, "erp", config)[cap]


async def test_a_cache_without_the_kept_mark_finds_it_in_the_rows(config, sim, world,
                                                                  engine):
    await refresh(config, sim, engine)
    with engine.begin() as conn:  # as an older seamdesk left it
        kept = high_water(conn, "erp", AFTER)
        conn.execute(delete(Meta).where(Meta.key.like("counts.high_water.%")))
        assert high_water(conn, "erp", AFTER) == kept
    world.set_clock(world.base_now + 3600)
    changed = world.mutate(0.1, seed=7)
    results = await refresh(config, sim, engine)
    assert {r.mode for r in results.values() if r.system in SYSTEMS} == {"incremental"}
    assert changed <= sum(results[s].rows for s in SYSTEMS) < 50
    with engine.connect() as conn:  # kept again (the changes are in the refresh's future)
        assert conn.scalar(select(Meta.value).where(
            Meta.key == "counts.high_water.erp")) == str(kept)


async def test_unchanged_rows_add_no_history(config, sim, engine):
    await refresh(config, sim, engine)
    with engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(CountHistory))
    await refresh(config, sim, engine, full=True)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(CountHistory)) == before
        runs = conn.execute(select(SyncRun.mode, SyncRun.status)).all()
    assert runs.count(("full", "complete")) == 10  # five systems, twice


async def test_a_full_refresh_drops_rows_a_system_no_longer_reports(config, sim, world,
                                                                    engine):
    await refresh(config, sim, engine)
    del world.counts["erp"][("RNO1", "CAP-NVY")]
    world.set_clock(world.base_now)
    await refresh(config, sim, engine, ["erp"], full=True)
    assert ("RNO1", "CAP-NVY") not in queries.current_counts(engine, "erp")


@pytest.mark.parametrize("by", ["refresh", "reread"])
async def test_a_location_mapped_later_is_read_again_under_its_code(config, sim, world, engine,
                                                                    by):
    from app import config as config_module
    from app.simulator.server import Simulator
    from tests.conftest import refresher

    await refresh(config, sim, engine)
    external = Simulator(world).location_ids()["POP1"]["storefront"]
    skus = {sku for location, sku in world.counts["storefront"] if location == "POP1"}

    def at(location: str) -> set[str]:
        return {sku for loc, sku in queries.current_counts(engine, "storefront")
                if loc == location}

    assert at(f"storefront:{external}") == skus
    config.path.write_text(config.path.read_text().replace(
        "[locations]\n", f'[locations]\n"POP1" = {{ storefront = "{external}" }}\n'))
    mapped = config_module.load(config.path)
    if by == "reread":  # a SKU's re-read reads under the new mapping too
        await refresher(mapped, sim, engine).reread_sku(min(skus))
        assert at(f"storefront:{external}") == set() and at("POP1") == {min(skus)}
    results = await refresh(mapped, sim, engine)  # the storefront's rows, all read again
    assert results["storefront"].mode == "full" and results["erp"].mode == "incremental"
    assert at(f"storefront:{external}") == set() and at("POP1") == skus
    assert (await refresh(mapped, sim, engine))["storefront"].mode == "incremental"


async def test_only_named_systems_are_refreshed(config, sim, engine):
    results = await refresher(config, sim, engine).run(["erp", "erp"])  # named twice
    assert [r.system for r in results] == ["erp"]


async def test_an_unknown_system_name_is_refused(config, sim, engine):
    from app.errors import UsageError

    with pytest.raises(UsageError, match="no system 'pos'"):  # a bad argument: exit 2
        await refresh(config, sim, engine, ["pos"])
