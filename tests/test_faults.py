"""Faults (issue: bad input and faults): each system misbehaves in turn while the others
work. The faulted run is marked partial or failed with the reason, the others complete,
the faulted system keeps its previous data, and a clean retry restores the truth."""

from __future__ import annotations

import pytest

from app.cache import queries
from app.simulator.scenario import Faults
from tests.conftest import TOKEN, refresh, truth

SYSTEMS = ("wms", "erp", "storefront")
# The first request that carries stock rows, per system (after the location list, and
# for Shopify after starting and polling the bulk operation).
FIRST_DATA_REQUEST = {"wms": 2, "erp": 2, "storefront": 5}
# The token is revoked after these many requests: after a first stock page for ShipHero
# and NetSuite, while polling the bulk operation for Shopify.
REVOKED_AFTER = {"wms": 2, "erp": 2, "storefront": 3}

FAULTS = {
    "not-json": (lambda s: Faults(malformed_at=FIRST_DATA_REQUEST[s], malformed="not-json"),
                 "not JSON"),
    "truncated": (lambda s: Faults(malformed_at=FIRST_DATA_REQUEST[s], malformed="truncated"),
                  ""),
    "missing-field": (lambda s: Faults(malformed_at=FIRST_DATA_REQUEST[s],
                                       malformed="missing-field"), "sku"),
    "wrong-type": (lambda s: Faults(malformed_at=FIRST_DATA_REQUEST[s],
                                    malformed="wrong-type"), "'lots'"),
    "401-halfway": (lambda s: Faults(unauthorized_after=REVOKED_AFTER[s]), "HTTP 401"),
    "down": (lambda s: Faults(down=True), "HTTP 503"),
}


@pytest.fixture
def quiet(sim):
    """No faults anywhere (the demo throttles Shopify) until a test sets them."""
    for system in SYSTEMS:
        sim.set_faults(system, None)
    return sim


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("system", SYSTEMS)
async def test_a_fault_keeps_good_data_and_a_retry_restores_the_truth(
        system, fault, quiet, world, config, engine):
    sim = quiet
    await refresh(config, sim, engine)
    before = {s: queries.current_counts(engine, s) for s in SYSTEMS}
    world.mutate(0.5, seed=3)  # new numbers everywhere: a partial write would show
    make, reason = FAULTS[fault]
    sim.set_faults(system, make(system))

    results = await refresh(config, sim, engine, full=True)

    faulted = results[system]
    assert faulted.status in ("partial", "failed"), faulted.summary()
    assert faulted.error and reason in faulted.error
    assert TOKEN not in faulted.error
    assert queries.current_counts(engine, system) == before[system]
    for other in set(SYSTEMS) - {system}:
        assert results[other].status == "complete", results[other].summary()
        assert queries.current_counts(engine, other) == truth(world, other, config)
    run = queries.last_run(engine, system)
    assert run.status == faulted.status and run.error == faulted.error

    sim.set_faults(system, None)
    results = await refresh(config, sim, engine, full=True)
    assert results[system].status == "complete"
    for each in SYSTEMS:
        assert queries.current_counts(engine, each) == truth(world, each, config)


@pytest.mark.parametrize("system", SYSTEMS)
async def test_throttling_on_every_other_call_slows_but_completes(system, quiet, world,
                                                                  config, engine):
    quiet.set_faults(system, Faults(throttle_every=2))
    results = await refresh(config, quiet, engine)
    assert results[system].status == "complete", results[system].summary()
    assert results[system].throttled > 0 and results[system].retries > 0
    assert queries.current_counts(engine, system) == truth(world, system, config)
    assert queries.last_run(engine, system).throttled == results[system].throttled


@pytest.mark.parametrize("system", SYSTEMS)
async def test_server_errors_are_retried(system, quiet, world, config, engine):
    quiet.set_faults(system, Faults(error_rate=0.3))
    results = await refresh(config, quiet, engine)
    assert results[system].status == "complete", results[system].summary()
    assert queries.current_counts(engine, system) == truth(world, system, config)


async def test_a_wrong_token_fails_with_the_vendors_message(quiet, config, engine,
                                                            monkeypatch):
    monkeypatch.setattr(quiet.vendors["erp"], "token", "rotated")
    results = await refresh(config, quiet, engine)
    assert results["erp"].status == "failed"
    assert "INVALID_LOGIN" in results["erp"].error
    assert results["wms"].status == results["storefront"].status == "complete"


async def test_the_bulk_download_never_carries_the_token(quiet, config, engine):
    await refresh(config, quiet, engine, ["storefront"], full=True)
    assert quiet.vendors["storefront"].storage_token_leaks == 0


async def test_a_read_failing_while_its_first_page_is_written_is_partial(quiet, config, engine,
                                                                         monkeypatch):
    """The pages fetched before a failed request are staged before the run is judged:
    a slow write of the first page must not make the read look as if it found nothing."""
    import time

    from app.cache.writer import CacheWriter

    write = CacheWriter.write_page

    def slow(self, run_id, system, page, *args):
        if page.counts:
            time.sleep(0.3)  # the writer thread, still busy when the next answer fails
        return write(self, run_id, system, page, *args)

    monkeypatch.setattr(CacheWriter, "write_page", slow)
    quiet.set_faults("wms", Faults(malformed_at=FIRST_DATA_REQUEST["wms"] + 1,
                                   malformed="truncated"))
    results = await refresh(config, quiet, engine, ["wms"], full=True)
    assert results["wms"].status == "partial", results["wms"].summary()
    assert results["wms"].rows > 0 and "not JSON" in results["wms"].error
    assert queries.last_run(engine, "wms").status == "partial"
