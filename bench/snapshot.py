"""Snapshot benchmark (issue: checklist and packets): one `seamdesk snapshot` packet end to
end, as a cron job runs it (its own process, no TTY), beside a baseline measured in the
same run on the same machine:

  snapshot   `seamdesk snapshot TEE-BLK-M --location DAL1 --out DIR --symptom 7` against a
             cache filled by a real refresh of the demo scenario: interpreter start,
             config, cache, the checklist case, packet.json/.md, lookup.txt and the
             lookup screen exported as SVG by a headless app.
  baseline   a bare Textual app (Header, Static, Footer) in its own process, run headless
             at the same size, exporting a screenshot the same way.

Each is the median of a few interleaved runs (this machine's speed drifts).
Usage: python bench/snapshot.py [--runs 5]
Target: snapshot <= 3x the baseline.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.report import line  # noqa: E402

SEAMDESK = [sys.executable, "-m", "app.cli"]
TOKEN = "bench-token"
TARGET = 3.0
BARE = """
import asyncio, sys
from textual.app import App
from textual.widgets import Footer, Header, Static

class Bare(App):
    def compose(self):
        yield Header()
        yield Static("TEE-BLK-M  Classic tee, black, M")
        yield Footer()

async def main():
    app = Bare()
    shots = []
    async def capture(pilot):
        await pilot.pause()
        shots.append(app.export_screenshot(title="bare"))
        app.exit()
    await app.run_async(headless=True, size=(100, 32), auto_pilot=capture)
    open(sys.argv[1], "w").write(shots[0])

asyncio.run(main())
"""


def timed(argv: list[str], cwd: Path, env: dict, ok=(0,)) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
    env["SEAMDESK_SIM_TOKEN"] = TOKEN
    with tempfile.TemporaryDirectory(prefix="seamdesk-bench-") as name:
        folder = Path(name)
        config = folder / "config.toml"
        simulator = subprocess.Popen(
            [*SEAMDESK, "simulate", "--scenario", str(ROOT / "scenarios" / "demo.toml"),
             "--port", "0", "--write-config", str(config)],
            stdout=subprocess.PIPE, text=True, env=env, cwd=folder)
        try:
            simulator.stdout.readline()
            simulator.stdout.readline()
            timed([*SEAMDESK, "--config", str(config), "refresh", "--full"], folder, env)
        finally:
            simulator.send_signal(signal.SIGINT)
            simulator.wait(timeout=10)
        (folder / "bare.py").write_text(BARE)
        snapshots, bares = [], []
        for run in range(args.runs):
            bares.append(timed([sys.executable, str(folder / "bare.py"),
                                str(folder / f"bare-{run}.svg")], folder, env))
            snapshots.append(timed(
                [*SEAMDESK, "--config", str(config), "snapshot", "TEE-BLK-M", "--location",
                 "DAL1", "--out", str(folder / f"packet-{run}"), "--symptom", "7"],
                folder, env, ok=(0, 1)))  # 1: stale (the refresh above is minutes old at most)
    value, base = median(snapshots), median(bares)
    ratio = value / base
    print(line("snapshot packet", f"{value * 1000:.0f} ms", f"{base * 1000:.0f} ms", ratio,
               f"<= {TARGET:.0f}x", ratio <= TARGET))


if __name__ == "__main__":
    main()
