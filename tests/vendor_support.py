"""What the connector tests of the vendor mixes share: a simulator of a shipped mix
scenario at its own now, quick HTTP settings, and a read to the end that always closes
the connector (which logs a session out)."""

from __future__ import annotations

from app.records import Page
from app.simulator.scenario import load_scenario
from app.simulator.server import Simulator
from app.simulator.world import from_scenario
from app.sources.base import Window
from app.sources.http import HttpSettings
from tests.conftest import ROOT, TOKEN

HTTP = HttpSettings(timeout=5, retries=3, backoff=0, max_concurrency=2)


def mix_simulator(scenario: str) -> Simulator:
    world = from_scenario(load_scenario(ROOT / "scenarios" / f"{scenario}.toml"))
    world.set_clock(world.base_now)
    return Simulator(world, token=TOKEN)


async def read_pages(conn, window: Window | None = None) -> list[Page]:
    pages = []
    try:
        async for page in conn.read(window or Window()):
            pages.append(page)
    finally:
        await conn.aclose()
    return pages


def counts_of(pages: list[Page]) -> list:
    return sorted(row for page in pages for row in page.counts)


async def read_counts(conn, window: Window | None = None) -> list:
    return counts_of(await read_pages(conn, window))
