"""Faults over real HTTP (issue 7, item 1): the simulator listens on a loopback socket,
the real connectors read it, and one system misbehaves (faults set through POST
/_sim/faults) while the others work. After a clean refresh the world changes and the
faulted refresh runs; then:

- each system's sync_run says complete, or partial/failed with the reason;
- completed systems hold the scenario's truth, read at the second refresh's time;
- the faulted one keeps its previous counts and its last good read time;
- the queue is what it would be had the faulted system not been read at all (an oracle:
  a copy of the cache taken before the faulted refresh, refreshed without that system),
  every exception keeps its id, and nothing was opened twice.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from app import config as config_module
from app.cache import queries
from app.cache.engine import make_engine
from app.clock import frozen
from app.diagnosis.catalogue import SYSTEM_WIDE
from app.refresh import Refresher
from app.simulator.server import SimServer, write_config
from tests.conftest import AFTER, TOKEN, nosleep, truth
from tests.test_faults import FIRST_DATA_REQUEST

pytestmark = pytest.mark.slow
SYSTEMS = ("wms", "erp", "storefront")
LATER = AFTER + 600  # the faulted refresh's clock: ages must be able to differ
TIMEOUT = 0.5
PAGED = ("wms", "erp")
SECOND_PAGE = {s: FIRST_DATA_REQUEST[s] + 1 for s in PAGED}
# Small but not tiny: a clean request on a loaded machine must not time out twice in a row.
REFRESH = f"""
[refresh]
timeout_seconds = {TIMEOUT}
retries = 2
backoff_seconds = 0
bulk_poll_seconds = 0.05
"""

# fault → (the system it hits, its faults, expected status, text in the reason). One
# system per fault keeps the file fast; tests/test_faults.py runs every system through
# the same faults in-process. Page faults strike a paged system's second data request (a
# page is already staged: partial) or Shopify's bulk file (nothing staged: failed).
FAULTS = {
    "throttle-every-3rd": ("storefront", {"throttle_every": 3}, "complete", None),
    "5pct-5xx": ("wms", {"error_rate": 0.05}, "complete", None),
    "latency-past-timeout": ("erp", {"latency_ms": int(TIMEOUT * 1000 * 3)}, "failed",
                             f"timed out after {TIMEOUT:g} s"),
    "truncated-page": ("wms", {"malformed_at": SECOND_PAGE["wms"], "malformed": "truncated"},
                       "partial", "not JSON"),
    "not-json-page": ("storefront", {"malformed_at": FIRST_DATA_REQUEST["storefront"],
                                     "malformed": "not-json"}, "failed", "not JSON"),
    "wrong-type-page": ("erp", {"malformed_at": SECOND_PAGE["erp"], "malformed": "wrong-type"},
                        "partial", "got 'lots'"),
    "401-mid-run": ("erp", {"unauthorized_after": SECOND_PAGE["erp"] - 1}, "partial",
                    "HTTP 401"),
    "down-whole-run": ("wms", {"down": True}, "failed", "HTTP 503"),
    "middleware-down": ("middleware", {"down": True}, "failed", "HTTP 503"),
}


@pytest.fixture
def served(sim, tmp_path):
    """The demo world over a real socket, quiet (the demo throttles Shopify), and a config
    with short timeouts pointing at it."""
    for system in SYSTEMS:
        sim.set_faults(system, None)
    server = SimServer(sim)
    server.start_in_thread()
    path = tmp_path / "config.toml"
    write_config(sim, server.url, path)
    text = path.read_text(encoding="utf-8")
    for system in PAGED:  # several pages each, so a fault can strike after a page is staged
        text = text.replace(f"[systems.{system}]\n", f"[systems.{system}]\npage_size = 8\n")
    path.write_text(text + REFRESH, encoding="utf-8")
    try:
        yield server, config_module.load(path)
    finally:
        server.stop()


async def _refresh(config, engine, at: int, systems=None) -> dict:
    refresher = Refresher(config, engine, clock=frozen(at), sleep=nosleep)
    return {r.system: r for r in await refresher.run(systems, full=True)}


def _queue(db: Path) -> dict[str, tuple[int, str]]:
    with sqlite3.connect(db) as conn:
        return {key: (id_, status) for id_, key, status in
                conn.execute("SELECT id, key, status FROM exception")}


def _opened_twice(db: Path) -> list:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT exception_id, count(*) FROM exception_audit WHERE action = 'opened'"
            " GROUP BY exception_id HAVING count(*) > 1").fetchall()


def _last_good(engine, system: str) -> int | None:
    return {s.name: s.last_good_read_at for s in queries.system_status(engine)}[system]


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_fault_over_http_keeps_what_it_cannot_replace(fault, served, world, tmp_path):
    server, config = served
    system, faults, expected, reason = FAULTS[fault]
    db = tmp_path / "seamdesk.db"
    engine = make_engine(f"sqlite:///{db}")
    first = await _refresh(config, engine, AFTER)
    assert all(r.status == "complete" for r in first.values()), \
        [r.summary() for r in first.values()]
    before = {s: queries.current_counts(engine, s) for s in SYSTEMS}
    queue_before = _queue(db)
    assert queue_before, "the demo opens exceptions: a queue check needs some"
    oracle_db = tmp_path / "oracle.db"
    with sqlite3.connect(db) as source, sqlite3.connect(oracle_db) as copy:
        source.backup(copy)

    world.mutate(0.5, seed=3)  # new numbers everywhere: a partial promotion would show
    async with httpx.AsyncClient(base_url=server.url) as client:
        answer = await client.post("/_sim/faults", json={system: faults})
    assert answer.status_code == 200
    results = await _refresh(config, engine, LATER)

    faulted = results[system]
    run = queries.last_run(engine, system)
    assert (run.status, run.error) == (faulted.status, faulted.error)
    assert faulted.status == expected, faulted.summary()
    completed = set(config.systems)
    if expected == "complete":
        if fault.startswith("throttle"):
            assert run.throttled > 0 and run.retries > 0
    else:
        assert faulted.error and reason in faulted.error, faulted.error
        assert TOKEN not in faulted.error
        completed.remove(system)
        # Its last good data stays, with its age; the world has moved on without it.
        assert _last_good(engine, system) == AFTER
        if system in SYSTEMS:
            assert queries.current_counts(engine, system) == before[system]
            assert before[system] != truth(world, system, config)
    for other in completed:
        assert results[other].status == "complete", results[other].summary()
        assert _last_good(engine, other) == LATER
        if other in SYSTEMS:
            assert queries.current_counts(engine, other) == truth(world, other, config)

    # The oracle: the same refresh, minus the systems that did not complete.
    oracle = make_engine(f"sqlite:///{oracle_db}")
    await _refresh(config, oracle, LATER, sorted(completed))
    queue_after, expected_queue = _queue(db), _queue(oracle_db)
    per_key = {k: v[1] for k, v in queue_after.items() if k.split("|")[0] not in SYSTEM_WIDE}
    assert per_key == {k: v[1] for k, v in expected_queue.items()
                       if k.split("|")[0] not in SYSTEM_WIDE}
    for key, (id_, _status) in queue_before.items():  # nothing lost, nothing renumbered
        assert queue_after[key][0] == id_
    assert _opened_twice(db) == []
    if system == "middleware":  # its failed messages stay open while it cannot be read
        held = [k for k, (_id, status) in queue_before.items()
                if k.startswith("failed-messages|") and status == "open"]
        assert held and all(queue_after[k][1] == "open" for k in held)
