"""Shared fixtures: a clean environment, the demo world served in-process, a config
pointing at it, and a refresh helper that runs the real connectors over ASGI."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from app import config as config_module
from app.cache.engine import make_engine
from app.clock import frozen
from app.refresh import Refresher
from app.simulator.scenario import load_scenario
from app.simulator.server import Simulator, write_config
from app.simulator.world import from_scenario
from tests.pg_support import DEFAULT_BACKEND, pg_admin_url, pg_url  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "scenarios" / "demo.toml"
TOKEN = "sim-token-4242-do-not-leak"
SIM_NOW = "2026-11-30T15:00:00Z"
AFTER = 1796050800 + 5  # SIM_NOW + 5 s, for a frozen seamdesk clock


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """Developer settings must not leak into tests (colours, Textual, seamdesk), and no
    test may pick up ./config.toml from where pytest was started."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TEXTUAL_SNAPSHOT"):  # the snapshot plugin's own bookkeeping
            continue
        if name.startswith(("TEXTUAL", "SEAMDESK_")) or name in ("NO_COLOR", "FORCE_COLOR",
                                                                 "COLORTERM"):
            monkeypatch.delenv(name, raising=False)
    # Packets and anything else "under the user data dir" land in the test's folder.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("SEAMDESK_SIM_TOKEN", TOKEN)
    monkeypatch.setenv("SEAMDESK_OPERATOR", "test-operator")


async def nosleep(_seconds: float) -> None:
    return None


@pytest.fixture
def world():
    return from_scenario(load_scenario(DEMO))


@pytest.fixture
def sim(world):
    simulator = Simulator(world, token=TOKEN)
    world.set_clock(world.base_now)  # the simulator's clock stands still in tests
    return simulator


@pytest.fixture
def cache_backend():
    """Where the `config` fixture's cache lives: "sqlite" (a file beside the config) or
    "postgresql" (a fresh database); parametrize a test over both with
    `@pytest.mark.parametrize("cache_backend", BACKENDS)`."""
    return DEFAULT_BACKEND


BACKENDS = ["sqlite", "postgresql"]


def sqlite_only(engine, what: str) -> None:
    """For a test of SQLite's own machinery when SEAMDESK_TEST_BACKEND=postgresql."""
    if engine.dialect.name != "sqlite":
        pytest.skip(f"SQLite only: {what}")


def use_cache_url(path: Path, url: str) -> None:
    """Point a written config.toml at another cache."""
    text = path.read_text()
    start = text.index("[cache]\nurl = ") + len("[cache]\n")
    end = text.index("\n", start)
    path.write_text(f'{text[:start]}url = "{url}"{text[end:]}')


@pytest.fixture
def config(tmp_path, sim, cache_backend, request):
    path = tmp_path / "config.toml"
    write_config(sim, "http://sim", path)
    if cache_backend == "postgresql":
        use_cache_url(path, request.getfixturevalue("pg_url"))
    return config_module.load(path)


@pytest.fixture
def engine(config):
    return make_engine(config.cache_url)


def refresher(config, sim, engine=None, **kwargs) -> Refresher:
    return Refresher(config, engine or make_engine(config.cache_url), clock=frozen(AFTER),
                     transport=httpx.ASGITransport(app=sim.app), sleep=nosleep, **kwargs)


async def refresh(config, sim, engine=None, systems=None, full=False):
    results = await refresher(config, sim, engine).run(systems, full)
    return {r.system: r for r in results}


def truth(world, system: str, config) -> dict[tuple[str, str], tuple]:
    """What the cache must hold for a system after a clean refresh: counts at mapped
    locations under their code, at unmapped ones under "system:id"."""
    external = {code: system_ids.get(system) for code, system_ids in
                Simulator(world).location_ids().items()}
    mapped = set(config.settings.locations)
    rows = {}
    for (location, sku), count in world.view(system).items():
        if system not in world.location_index[location].systems:
            continue
        if location not in mapped:
            location = f"{system}:{external[location]}"
        on_hand, available, allocated, in_transit, updated = count
        if system == "wms":
            in_transit = None  # ShipHero has no in-transit figure
            on_hand, available, allocated = on_hand or 0, available or 0, allocated or 0
        else:
            on_hand, available = on_hand or 0, available or 0
            allocated, in_transit = allocated or 0, in_transit or 0
        rows[(location, sku)] = (on_hand, available, allocated, in_transit, updated)
    return rows
