"""The shared cache on PostgreSQL: the demo refreshed into it reads the same as into
SQLite, one refresher at a time across engines (hosts), readers alongside a refresh.

Many core tests also run on both backends (`cache_backend` parametrized: lookup, queue,
checklist, health); this module covers what only a shared cache has. Every test gets a
fresh database on the server from $SEAMDESK_TEST_PG_URL (see tests/pg_support.py).
"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app import config as config_module
from app.cache.engine import make_engine
from app.cache.models import CountCurrent, QueueAudit, SyncRun
from app.cache.sku import sku_facts
from app.cli import main
from app.errors import ConfigError
from app.health.figures import compute
from app.health.window import Window
from app.lookup import lookup
from app.queue import query
from app.queue.lifecycle import act
from app.queue.query import QueueFilter
from app.refresh import RefreshBusy, refresh_lock
from app.service import Desk
from app.simulator.scenario import load_scenario
from app.simulator.server import Simulator, write_config
from app.simulator.world import from_scenario
from tests.conftest import AFTER, DEMO, TOKEN, refresh, use_cache_url
from tests.test_lookup import PLANTED, seed

pytestmark = pytest.mark.parametrize("cache_backend", ["postgresql"])

SKUS = ["TEE-BLK-M", "CAP-NVY", "LAMP-DSK-BLK", "BTL-STL-750", "PAN-CST-10", "NOPE-404"]


def _sqlite_twin(tmp_path):
    """The same demo served by a second simulator, its config on a SQLite cache."""
    world = from_scenario(load_scenario(DEMO))
    sim = Simulator(world, token=TOKEN)
    world.set_clock(world.base_now)
    folder = tmp_path / "sqlite"
    folder.mkdir()
    write_config(sim, "http://sim", folder / "config.toml")
    config = config_module.load(folder / "config.toml")
    return config, sim, world, make_engine(config.cache_url)


async def test_the_demo_reads_the_same_from_postgresql_as_from_sqlite(
        config, sim, world, engine, tmp_path):
    assert engine.dialect.name == "postgresql"
    await seed(config, sim, world, engine)
    twin, twin_sim, twin_world, twin_engine = _sqlite_twin(tmp_path)
    await seed(twin, twin_sim, twin_world, twin_engine)
    for sku in SKUS + sorted({sku for sku, _ in PLANTED}):
        here = [loc.as_json() for loc in lookup(engine, config, sku, AFTER).locations] \
            if sku != "NOPE-404" else sku_facts(engine, sku).known
        there = [loc.as_json() for loc in lookup(twin_engine, twin, sku, AFTER).locations] \
            if sku != "NOPE-404" else sku_facts(twin_engine, sku).known
        assert here == there, sku
    # The same rows, runs and exceptions on both sides.
    for table in (CountCurrent, SyncRun):
        with engine.connect() as a, twin_engine.connect() as b:
            assert a.scalar(select(func.count()).select_from(table)) == \
                b.scalar(select(func.count()).select_from(table)), table
    every = QueueFilter(status=("active", "resolved", "cleared"))
    assert query.count(engine, every) == query.count(twin_engine, every) > 10
    pg_rows = [(r.code, r.sku, r.location, r.status) for r in query.page(engine, every,
                                                                        limit=500)]
    sqlite_rows = [(r.code, r.sku, r.location, r.status)
                   for r in query.page(twin_engine, every, limit=500)]
    assert sorted(pg_rows, key=repr) == sorted(sqlite_rows, key=repr)
    # Free text without a trigram index: every word must match somewhere, as with one.
    for words in ("storefront", "DAL1 storefront", "TEE-BLK", "PO-1042"):
        where = QueueFilter(text=words, status=("active", "resolved"))
        assert query.count(engine, where) == query.count(twin_engine, where), words


async def test_queue_actions_write_the_audit_and_health_reads_it(config, sim, world, engine,
                                                                 capsys):
    await seed(config, sim, world, engine)
    upstream = QueueFilter(code=("upstream-drift",))
    assert query.count(engine, upstream) == 7
    assert act(engine, "resolve", upstream, "dana", AFTER + 60, note="re-keyed") == 7
    with engine.connect() as conn:
        actors = conn.scalars(select(QueueAudit.actor).where(QueueAudit.action == "resolved"))
        assert list(actors) == ["dana"] * 7
    figures = compute(engine, Window(30, AFTER + 120), {"wms": AFTER, "erp": AFTER}, 3600)
    assert figures is not None
    assert main(["--config", str(config.path), "health", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)


def _held(url: str):
    """A refresh lock held by an engine of its own (another terminal), until released."""
    release, held = threading.Event(), threading.Event()

    def hold():
        with refresh_lock(url, make_engine(url)):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert held.wait(30)
    return release, thread


async def test_a_second_refresher_anywhere_is_refused_in_one_line(config, sim, pg_url):
    # A password in the URL is never shown (trust auth on the test server ignores it).
    url = make_url(pg_url).set(password="s3cret-pw").render_as_string(hide_password=False)
    use_cache_url(config.path, url)
    config = config_module.load(config.path)
    release, thread = _held(url)
    try:
        desk = Desk(config, operator="dana")
        with pytest.raises(RefreshBusy) as refused:
            await desk.refresh()
        message = refused.value.message
        assert message.startswith("another refresh of postgresql+psycopg://")
        assert "s3cret-pw" not in message and "***" in message
        assert "pid " in message and message.endswith("try again when it finishes")
        assert "\n" not in message
    finally:
        release.set()
        thread.join(30)
    # Released: the next refresher gets the lock (and the same engine can take it again).
    results = await refresh(config, sim, make_engine(url), full=True)
    assert all(r.status == "complete" for r in results.values())
    for _ in range(2):
        with refresh_lock(url):
            pass


async def test_one_refresher_and_readers_on_other_engines(config, sim, world, engine):
    """A reader on an engine of its own (another terminal) looks up SKUs throughout a
    refresh: never an error, never half a run."""
    await seed(config, sim, world, engine)
    reader = make_engine(config.cache_url)
    stop, seen = threading.Event(), {"reads": 0, "error": None, "during": 0}

    def read():
        try:
            while not stop.is_set():
                result = lookup(reader, config, "TEE-BLK-M", AFTER)
                assert {loc.location for loc in result.locations} >= {"DAL1"}
                with reader.connect() as conn:
                    running = conn.scalar(select(func.count()).select_from(SyncRun)
                                          .where(SyncRun.status == "running"))
                seen["during"] += bool(running)
                seen["reads"] += 1
        except Exception as exc:  # reported below
            seen["error"] = exc

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        for i in range(3):
            world.set_clock(world.base_now + 600 * (i + 1))
            fresh = Simulator(world, token=TOKEN)  # a full bucket of WMS credits
            results = await refresh(config, fresh, make_engine(config.cache_url), full=True)
            summaries = [r.summary() for r in results.values()]
            assert all(r.status == "complete" for r in results.values()), summaries
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        thread.join(30)
    assert seen["error"] is None, repr(seen["error"])
    assert seen["reads"] > 0


def test_a_bad_postgresql_url_is_one_config_line_without_the_password(pg_url, cache_backend):
    url = make_url(pg_url).set(password="s3cret-pw", port=1).render_as_string(
        hide_password=False)
    with pytest.raises(ConfigError) as failed:
        make_engine(url)
    assert "s3cret-pw" not in str(failed.value) and "[cache] url" in str(failed.value)
    assert "\n" not in str(failed.value)
