"""Headless refresh output: a live progress display on a terminal, one summary line per
system otherwise (cron, CI, pipes)."""

from __future__ import annotations

import asyncio
import sys

from app.refresh import SystemResult
from app.service import Desk


def run_refresh(desk: Desk, systems: list[str] | None, full: bool) -> list[SystemResult]:
    if sys.stdout.isatty():
        results = _with_progress(desk, systems, full)
    else:
        results = asyncio.run(desk.refresh(systems, full))
    for result in results:
        print(result.summary(), flush=True)
    if desk.queue_outcome is not None:
        outcome = desk.queue_outcome
        print(f"queue: {outcome.summary()} ({outcome.seconds:.1f} s)", flush=True)
    if desk.alert_outcome is not None and (desk.alert_outcome.sent or
                                           desk.alert_outcome.failed or desk.alert_outcome.held):
        print(f"alerts: {desk.alert_outcome.summary()}", flush=True)
    return results


def _with_progress(desk: Desk, systems: list[str] | None, full: bool) -> list[SystemResult]:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    names = systems or list(desk.config.systems)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                  TextColumn("{task.fields[rows]:>10,} rows  {task.fields[pages]:>6,} pages"),
                  TimeElapsedColumn(), transient=True) as progress:
        tasks = {name: progress.add_task(name, total=None, rows=0, pages=0) for name in names}

        def update(system: str, pages: int, rows: int) -> None:
            progress.update(tasks[system], rows=rows, pages=pages)

        return asyncio.run(desk.refresh(systems, full, progress=update))
