"""Reading while a refresh writes (issue 7, item 3): `seamdesk refresh` writes the cache
in another process while the desk's reads (lookup, queue, health) loop in a thread and
the TUI re-loads a SKU. No read fails ("database is locked" or any other error), no
error toast shows, and the desk's own refresh is refused while the other one holds the
lock (one lock, not two writers). The CLI's refusal of a second refresh is tested in
tests/test_crash.py."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import httpx
import pytest

from app import config as config_module
from app.cache import queries
from app.queue.query import QueueFilter
from app.refresh import RefreshBusy
from app.service import Desk
from app.tui import make_app
from screens.lookup import LookupScreen
from tests.test_crash import (
    SEAMDESK,
    _env,
    _seamdesk,
    _sim_faults,
    running_simulator,
    sim_base,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def simulator(tmp_path):
    with running_simulator(tmp_path) as config:
        yield config


def _reads(desk: Desk, sku: str, stop: threading.Event, seen: dict) -> None:
    """The desk's reads, as fast as they go, until stopped; what they saw is tallied."""
    try:
        while not stop.is_set():
            found = desk.lookup(sku)
            assert found.locations and found.locations[0].counts
            desk.queue_page(QueueFilter(), limit=50)
            desk.queue_count(QueueFilter())
            desk.freshness()
            statuses = {h.last_run.status for h in desk.health() if h.last_run}
            seen["reads"] += 1
            seen["during"] += "running" in statuses  # read while a run was writing
    except BaseException as exc:  # handed to the test's thread
        seen["error"] = exc


async def test_reads_and_the_tui_never_see_a_lock_while_a_refresh_writes(simulator):
    config = simulator
    first = _seamdesk(config, "refresh", "--full")
    assert first.returncode == 0, first.stderr
    loaded = config_module.load(config)
    desk = Desk(loaded, operator="test-operator")
    with desk.engine.connect() as conn:
        sku = conn.exec_driver_sql("SELECT min(sku) FROM count_current").scalar()
    # New numbers everywhere: the next refresh promotes, re-detects and writes a lot.
    httpx.post(f"{sim_base(config)}/_sim/mutate", json={"fraction": 0.3, "seed": 5},
               timeout=10).raise_for_status()

    seen = {"reads": 0, "during": 0, "error": None}
    stop = threading.Event()
    reader = threading.Thread(target=_reads, args=(desk, sku, stop, seen), daemon=True)
    app = make_app(Desk(loaded, operator="test-operator"), sku)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LookupScreen) and screen.result.sku == sku
        reader.start()
        # The WMS answers slowly until the desk's refresh has been refused: on a busy
        # machine the whole refresh could otherwise finish between two looks.
        _sim_faults(config, {"wms": {"latency_ms": 500}})
        writer = await asyncio.create_subprocess_exec(
            *SEAMDESK, "--config", str(config), "refresh", "--full", env=_env(),
            cwd=config.parent, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        loads, refused = 0, None
        while writer.returncode is None:
            screen.load(sku)  # the lookup screen's own worker, as on DataRefreshed
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            loads += 1
            if refused is None and queries.last_run(desk.engine, "wms") is not None \
                    and queries.last_run(desk.engine, "wms").status == "running":
                try:  # the TUI's refresh (its timer, or a key) while the CLI's runs
                    await desk.refresh()
                except RefreshBusy as exc:
                    refused = exc.message
                else:
                    refused = "ran a second refresh alongside the first"
                _sim_faults(config, {"wms": None})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(writer.wait(), 0.05)
        stderr = (await writer.stderr.read()).decode()
        stop.set()
        reader.join(timeout=60)
        errors = [str(n.message) for n in app._notifications  # no public list in Textual
                  if n.severity == "error"]
    assert writer.returncode == 0, stderr
    assert seen["error"] is None, repr(seen["error"])
    assert errors == []
    assert screen.result.sku == sku and loads > 0
    # The reads really overlapped the writes: some of them saw the run under way.
    assert seen["reads"] > 0 and seen["during"] > 0, seen
    assert refused is not None and refused.startswith("another refresh of"), refused
