"""`seamdesk demo`: the simulator on a free loopback port, a config and cache of its own,
the scenario's history replayed into the cache, then a refresh at the scenario's now.

The desk's clock is the simulator's, so ages read as the scenario tells them ("12 min
ago") rather than as days since the scenario file was written.
"""

from __future__ import annotations

import os
from pathlib import Path

from app import config as config_module
from app.service import Desk
from app.simulator.server import TOKEN_ENV, Simulator, toml_text, write_config


def demo_desk(simulator: Simulator, url: str, folder: Path, *, operator: str,
              read_only: bool) -> Desk:
    os.environ.setdefault(TOKEN_ENV, "sim")
    path = folder / "config.toml"
    write_config(simulator, url, path)
    with path.open("a", encoding="utf-8") as config:
        config.write(f"\n[handoff]\npackets_dir = {toml_text(str(demo_packets()))}\n")
    world = simulator.world
    return Desk(config_module.load(path), clock=world.now, operator=operator,
                read_only=read_only)


def demo_packets() -> Path:
    """Where the demo's packets go: kept after it ends, but apart from real escalations
    (the user data dir's packets/), which simulated numbers must not be mistaken for."""
    from platformdirs import user_data_path

    return user_data_path("seamdesk") / "demo-packets"


def history_moments(simulator: Simulator) -> list[int]:
    """The distinct times of the scenario's [[history]] observations, and the last minute
    before each planned outage (`down_from`), oldest first."""
    world = simulator.world
    moments = {at for rows in world.history.values() for versions in rows.values()
               for at, _ in versions}
    moments |= {int(f.down_from.timestamp()) - 60 for f in world.faults.values()
                if f.down_from is not None}
    return sorted(m for m in moments if m < world.base_now)


async def replay(desk: Desk, simulator: Simulator, refresh) -> None:
    """Refresh once at each history moment (the simulator's clock set back to it), then
    at now, so the cache holds the history a long-running seamdesk would have seen."""
    world = simulator.world
    for moment in history_moments(simulator):
        world.set_clock(moment)
        simulator.write_exports()  # spreadsheet exports as they stood then
        await refresh()
    world.set_clock(None)
    simulator.write_exports()
    await refresh()  # a system that is down by now keeps what it said before
