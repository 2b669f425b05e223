"""The detectors' fast path (triage in SQL, batched facts, changed keys only) must open
exactly the per-key exceptions the lookup's full path finds, key for key, on a generated
world with every planted discrepancy kind: after a first full refresh and after an
incremental one over a few changed rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.cache.models import QueueItem
from app.lookup import lookup
from app.queue.judge import PER_KEY
from app.queue.store import ACTIVE
from app.simulator.generate import generate_world
from tests.conftest import BACKENDS, refresher


@pytest.fixture
def world():  # replaces the demo world for this module's config, sim and engine
    return generate_world(400, 3, seed=11)


def by_lookup(engine, config, world, now: int) -> set[str]:
    found = set()
    for item in world.items:
        for at in lookup(engine, config, item.sku, now).locations:
            found |= {f"{f.code}|{item.sku}|{at.location}" for f in at.findings
                      if f.code in PER_KEY and at.mapped}
    return found


def by_detectors(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(QueueItem.key).where(
            QueueItem.code.in_(PER_KEY), QueueItem.status.in_(ACTIVE))))


async def refresh_at(config, sim, world, engine, now: int, full: bool) -> None:
    world.set_clock(now)
    rf = refresher(config, sim, engine)
    rf.clock = lambda: now
    await rf.run(full=full)


@pytest.mark.parametrize("cache_backend", BACKENDS)
async def test_the_detectors_find_what_the_lookup_finds(config, sim, world, engine):
    now = world.base_now + 5
    await refresh_at(config, sim, world, engine, now, full=True)
    first = by_detectors(engine)
    assert len(first) > 40  # every planted kind, at ~7% of the keys
    assert first == by_lookup(engine, config, world, now)

    world.set_clock(now + 600)
    assert world.mutate(0.05, seed=3) > 0
    await refresh_at(config, sim, world, engine, now + 605, full=False)
    second = by_detectors(engine)
    assert second != first  # the change opened and cleared some
    assert second == by_lookup(engine, config, world, now + 605)


async def test_a_change_made_in_every_system_leaves_agreeing_keys_agreeing(
        config, sim, world, engine):
    """The refresh bench's second 1% change: the same step at the same keys in every
    system (sales and receipts that reached all three), against the first's one system
    at a time, where each changed row is a new divergence."""
    before = {system: dict(rows) for system, rows in world.counts.items()}
    now = world.base_now + 5
    await refresh_at(config, sim, world, engine, now, full=True)
    first = by_detectors(engine)

    world.set_clock(now + 600)
    changed = world.mutate(0.05, seed=3, everywhere=True)
    rows = sum(len(before[system]) for system in ("wms", "erp", "storefront"))
    assert 0.03 * rows < changed < 0.07 * rows
    steps = {}
    for system in ("wms", "erp", "storefront"):
        for key, count in world.counts[system].items():
            if count != before[system][key]:
                steps.setdefault(key, set()).add(count[0] - (before[system][key][0] or 0))
    assert steps and all(len(step) == 1 for step in steps.values())  # one step everywhere
    await refresh_at(config, sim, world, engine, now + 605, full=False)
    second = by_detectors(engine)
    assert second == by_lookup(engine, config, world, now + 605)
    assert second <= first  # nothing new: the changed keys agree as they did
