"""The lookup screen as SVG without a terminal, and `seamdesk snapshot`: the checklist's
escalation packet written headless, for scripts and ticket bots (no TTY needed).

The SVG is the real lookup screen: the app from the one factory (`make_app`), run
headless at a fixed size until its workers settle, then exported.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.service import Desk

SIZE = (100, 32)  # wide enough for the three columns and a finding card; readable in tickets


async def capture_lookup(desk: Desk, sku: str, location: str,
                         size: tuple[int, int] = SIZE) -> str:
    from textual.worker import WorkerCancelled, WorkerFailed

    from app.tui import make_app

    app = make_app(desk, sku, location)
    shots: list[str] = []

    async def capture(pilot) -> None:
        for _ in range(3):  # the lookup, then the detail tabs mounted after the first paint
            # A failed lookup (an unknown SKU in an empty cache) shows why: keep that.
            # (Cancelled: the app is already exiting, e.g. over a config error.)
            with suppress(WorkerFailed, WorkerCancelled):
                await app.workers.wait_for_complete()
            await pilot.pause()
        shots.append(app.export_screenshot(title=f"seamdesk lookup {sku} at {location}"))
        app.exit()

    await app.run_async(headless=True, size=size, auto_pilot=capture)
    if app.failure is not None:  # e.g. an unknown [session] theme: the config's own error
        raise app.failure
    return shots[0] if shots else ""


def lookup_svg(desk: Desk, sku: str, location: str) -> str:
    """For a thread without a running event loop: the CLI, or a TUI thread worker."""
    return asyncio.run(capture_lookup(desk, sku, location))


def run_snapshot(desk: Desk, sku: str, location: str, out: Path, symptom: int,
                 post: bool = False) -> int:
    """Write the packet into `out`; print the files. Exit code 0, or 1 when the cache is
    empty or stale beyond the limit, or the post failed (the packet is written all the
    same, and stderr says why)."""
    from app.checklist.state import Checklist
    from app.errors import UsageError

    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} exists and is not a folder")
    from app.checklist.escalate import EMPTY, cache_warnings

    _, problem = cache_warnings(desk.engine, desk.config, desk.now())
    if problem and problem.startswith(EMPTY):
        checklist = Checklist(sku, location, symptom, desk.operator or "unknown", desk.now())
    else:
        checklist = desk.start_checklist(sku, location, symptom)
    outcome = desk.write_packet(checklist, lambda s, loc: lookup_svg(desk, s, loc), out)
    for path in outcome.written.files:
        print(path)
    code = 0
    if outcome.problem:
        print(f"seamdesk: packet written, but {outcome.problem}", file=sys.stderr)
        code = 1
    if post:
        sent = desk.send_packet(outcome.packet)
        print(f"seamdesk: {sent.text}", file=sys.stderr if not sent.ok else sys.stdout)
        code = code if sent.ok else 1
    return code
