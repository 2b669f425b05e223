"""Health benchmark (issue: sync health, daily checks and alerts): the health figures
over 30 days on a fresh cache of ~1M exceptions (bench/queue.py's data set: one audit row
each, opened over the last 30 days) plus a "corrected by hand" audit row for every other
resolved one, each figure beside a baseline measured in the same run:

  cold      Desk.health_figures(30) on a new cache version (every query runs); baseline:
            one raw `sqlite3` pass over the exception table (GROUP BY handoff).
  cached    the same call again, nothing committed meanwhile; baseline: the raw
            `PRAGMA data_version` the memo asks.

Usage: python bench/health.py [--exceptions 1000000] [--quick]
Targets: cold <= 1 s; cached <= 10 ms.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from app import config as config_module  # noqa: E402
from app.clock import frozen  # noqa: E402
from app.queue.lifecycle import CORRECTED  # noqa: E402
from app.service import Desk  # noqa: E402
from bench.queue import NOW, TOKEN_ENV, build_cache  # noqa: E402
from bench.report import line  # noqa: E402


def build(folder: Path, count: int) -> None:
    build_cache(folder, count)
    with sqlite3.connect(folder / "seamdesk.db") as db:
        db.execute("INSERT INTO exception_audit (exception_id, at, actor, action, note) "
                   "SELECT id, closed_at, 'dana.k', ?, note FROM exception "
                   "WHERE status = 'resolved' AND id % 2 = 0", (CORRECTED,))


def timed(call) -> float:
    began = time.perf_counter()
    call()
    return (time.perf_counter() - began) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exceptions", type=int, help="exceptions in the cache (default "
                        "1,000,000; 200,000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="less data and fewer samples")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)  # the child's work
    args = parser.parse_args()
    count = args.exceptions or (200_000 if args.quick else 1_000_000)
    if args.build:
        build(args.build, count)
        return 0
    runs = 3 if args.quick else 5
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="seamdesk-bench-") as tmp:
        cache = Path(tmp) / "cache"
        began = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--build", str(cache), "--exceptions",
                        str(count)], check=True)
        built = time.perf_counter() - began
        os.environ[TOKEN_ENV] = "bench"
        desk = Desk(config_module.load(cache / "config.toml", require_tokens=False),
                    operator="bench", clock=frozen(NOW))
        db = sqlite3.connect(cache / "seamdesk.db")
        cold, cached, raw, version = [], [], [], []
        for run in range(runs):
            # A commit (as a refresh or a queue action makes) starts a new cache version.
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('bench', ?)",
                       (str(run),))
            db.commit()
            cold.append(timed(lambda: desk.health_figures(30)))
            cached.append(min(timed(lambda: desk.health_figures(30)) for _ in range(5)))
            raw.append(timed(lambda: db.execute(
                "SELECT handoff, count(*) FROM exception GROUP BY handoff").fetchall()))
            version.append(min(timed(lambda: db.execute("PRAGMA data_version").fetchone())
                               for _ in range(5)))
        figures = desk.health_figures(30)
        db.close()
    print(f"health benchmark: {count:,} exceptions ({figures.total.open_now:,} open, "
          f"{sum(figures.total.corrections):,} corrected by hand in the window), built in "
          f"{built:.1f} s; {runs} runs; {os.cpu_count()} CPUs, load {load:.1f} at start")
    print(f"worst handoff this week: {figures.worst().name if figures.worst() else 'none'}")
    c, r = median(cold), median(raw)
    k, v = median(cached), median(version)
    results = [line("health cold ms", f"{c:.0f}", f"{r:.0f} raw pass", c / r, "<= 1000 ms",
                    max(cold) <= 1000),
               line("health cached ms", f"{k:.2f}", f"{v:.3f} version", k / v, "<= 10 ms",
                    max(cached) <= 10)]
    print("\n".join(results))
    return 0 if all(text.endswith("PASS") for text in results) else 1


if __name__ == "__main__":
    sys.exit(main())
