"""Refresh benchmark (issue: the data plane), every figure beside a baseline measured in
the same run on the same machine:

  full refresh   ~1.2M count rows (SKUS x LOCATIONS x 3 systems) from the simulator over
                 loopback HTTP into a fresh cache, as `seamdesk refresh --full` in its own
                 process; baseline: raw sqlite3.executemany of the same rows into a table
                 shaped like count_current (same columns, same key), one transaction, the
                 cache's own WAL settings.
  write stage    the time refresh spent writing to the cache (staging pages + promotion,
                 from sync_run.write_ms) against the same raw baseline.
  peak RSS       of that refresh process, and against a data set ten times smaller.
  incremental    1% of rows changed in the simulator, then `seamdesk refresh`: its time
                 against the full refresh's.

Usage: python bench/refresh.py [--skus 100000] [--locations 4]
Targets (issue 2): >= 40k rows/s end to end; write stage >= 1/3 of raw; peak RSS <= 300 MB
and <= 1.3x the small run's; incremental <= 10% of full.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.simulator.generate import generate_world  # noqa: E402

SEAMDESK = [sys.executable, "-m", "app.cli"]
TOKEN = "bench-token"


def start_simulator(folder: Path, skus: int, locations: int) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "SEAMDESK_SIM_TOKEN": TOKEN}
    process = subprocess.Popen(
        [*SEAMDESK, "simulate", "--generate", f"{skus},{locations},1", "--port", "0",
         "--write-config", str(folder / "config.toml")],
        stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    process.stdout.readline()
    url = process.stdout.readline().split(" listening on ")[1].split()[0]
    return process, url


def run_refresh(folder: Path, *extra: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one `seamdesk refresh` process."""
    env = {**os.environ, "SEAMDESK_SIM_TOKEN": TOKEN}
    started = time.perf_counter()
    process = subprocess.Popen([*SEAMDESK, "--config", str(folder / "config.toml"), "refresh",
                                *extra], env=env, cwd=folder, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    out = process.stdout.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"refresh failed:\n{out}\n{process.stderr.read()}")
    return seconds, usage.ru_maxrss


def cache_figures(folder: Path) -> tuple[int, float]:
    with sqlite3.connect(folder / "seamdesk.db") as db:
        rows = db.execute("SELECT count(*) FROM count_current").fetchone()[0]
        write_ms = db.execute("SELECT sum(write_ms) FROM sync_run WHERE mode = 'full'"
                              ).fetchone()[0]
    return rows, write_ms / 1000


def raw_baseline(skus: int, locations: int, folder: Path) -> float:
    """Rows per second for raw sqlite3.executemany of the same count rows."""
    world = generate_world(skus, locations, 1)
    rows = [(system, sku, location, *count[:4], count[4], 0, 1)
            for system, counts in world.counts.items()
            for (location, sku), count in counts.items()]
    del world
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE count_current (system TEXT, sku TEXT, location TEXT, on_hand INT,"
               " available INT, allocated INT, in_transit INT, updated_at INT, read_at INT,"
               " run_id INT, PRIMARY KEY (system, sku, location)) WITHOUT ROWID")
    started = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT INTO count_current VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    db.execute("COMMIT")
    seconds = time.perf_counter() - started
    db.close()
    return len(rows) / seconds


def mutate(url: str, fraction: float) -> int:
    request = urllib.request.Request(f"{url}/_sim/mutate", method="POST",
                                     data=json.dumps({"fraction": fraction}).encode())
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)["changed"]


def measure(skus: int, locations: int, incremental: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="seamdesk-bench-") as tmp:
        folder = Path(tmp)
        simulator, url = start_simulator(folder, skus, locations)
        try:
            full_s, full_rss = run_refresh(folder, "--full")
            rows, write_s = cache_figures(folder)
            result = {"rows": rows, "full_s": full_s, "rss_kib": full_rss, "write_s": write_s}
            if incremental:
                result["changed"] = mutate(url, 0.01)
                result["incremental_s"], _ = run_refresh(folder)
            result["raw_rows_per_s"] = raw_baseline(skus, locations, folder)
        finally:
            simulator.terminate()
            simulator.wait()
    return result


def line(name: str, value: str, baseline: str, ratio: float, target: str, ok: bool) -> str:
    return f"{name:<26} {value:>16}  baseline {baseline:>16}  ratio {ratio:6.2f}  " \
           f"target {target:<10} {'PASS' if ok else 'FAIL'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--locations", type=int, default=4)
    args = parser.parse_args()
    big = measure(args.skus, args.locations, incremental=True)
    small = measure(max(1, args.skus // 10), args.locations, incremental=False)
    rate = big["rows"] / big["full_s"]
    write_rate = big["rows"] / big["write_s"]
    raw = big["raw_rows_per_s"]
    results = [
        line("full refresh rows/s", f"{rate:,.0f}", f"{raw:,.0f} raw", rate / raw,
             ">= 40,000", rate >= 40_000),
        line("cache-write stage rows/s", f"{write_rate:,.0f}", f"{raw:,.0f} raw",
             write_rate / raw, ">= 0.33", write_rate / raw >= 1 / 3),
        line("peak RSS MB", f"{big['rss_kib'] / 1024:,.0f}",
             f"{small['rss_kib'] / 1024:,.0f} 1/10 set", big["rss_kib"] / small["rss_kib"],
             "<= 1.3", big["rss_kib"] <= 1.3 * small["rss_kib"] and big["rss_kib"] < 300 * 1024),
        line("incremental (1%) seconds", f"{big['incremental_s']:,.2f}",
             f"{big['full_s']:,.2f} full", big["incremental_s"] / big["full_s"], "<= 0.10",
             big["incremental_s"] <= 0.1 * big["full_s"]),
    ]
    print(f"refresh benchmark: {big['rows']:,} count rows ({args.skus:,} SKUs x "
          f"{args.locations} locations x 3 systems), {big['changed']:,} changed for the "
          f"incremental run; {os.cpu_count()} CPUs")
    print("\n".join(results))
    return 0 if all(r.endswith("PASS") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
