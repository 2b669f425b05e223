"""Queue benchmark (issue: the exception queue), in-process and headless under Pilot at
80x24 on a fresh cache of ~1M exceptions (one audit row each), every figure beside a
baseline measured in the same run on the same machine:

  first paint   pressing `e` on the lookup screen until the queue has drawn its first rows
                (no "…" left); baseline: a bare Textual App (Header, Footer) pushing a bare
                Screen (Header, Static, Footer) on a key. Medians of a few opens.
  filter        submitting a filter (`code:… owner:…`, free text) until its count and first
                rows are drawn, worst of a few; baseline: raw `SELECT count(*)`, same WHERE.
  paging        each of 50 pagedowns (20 rows; a page of 100 loads every fifth) until the
                cursor's rows are drawn; baseline: the raw keyset query for the same pages.
  peak RSS      of this process after all that; baseline: a bare Textual app process's.

Usage: python bench/queue.py [--exceptions 1000000] [--quick]
Targets: first paint <= 2x; filter <= 200 ms; paging p95 and max <= 50 ms; RSS <= 250 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import itertools
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import fields
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
# This file is named like the standard library's queue module, which asyncio's thread pool
# imports: its own folder must leave the path before anything does, the project root joins.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from app import config as config_module  # noqa: E402
from app.cache.engine import make_engine  # noqa: E402
from app.clock import frozen  # noqa: E402
from app.diagnosis.catalogue import CATALOGUE, ORDER_CODES, OWNER_ROLES, SEVERITY  # noqa: E402
from app.queue.query import QueueRow  # noqa: E402
from app.queue.store import ACTIVE  # noqa: E402
from app.service import Desk  # noqa: E402
from app.tui import make_app  # noqa: E402
from bench.report import line  # noqa: E402

NOW = 1_796_050_800  # 2026-11-30T15:00Z, the simulator's clock
TOKEN_ENV = "SEAMDESK_BENCH_TOKEN"
LOCATIONS = {"ATL1": "Atlanta DC", "CMH1": "Columbus DC", "DAL1": "Dallas DC", "RNO1": "Reno DC"}
FAMILIES = ("TEE", "HOOD", "CAP", "SOCK", "MUG", "LAMP", "BOTL", "TOTE", "CHR", "TBL")
COLOURS = ("BLK", "WHT", "NVY", "RED", "GRN", "OAK", "WAL", "BRS")
CODES = [code for code, kind in CATALOGUE.items()  # count findings: code|sku|location keys
         if kind.handoff != "system" and code not in ORDER_CODES]
WEIGHTS = {"upstream-drift": 30, "downstream-drift": 25, "stranded-adjustment": 6,
           "phantom-stock": 6, "hidden-stock": 6, "both-handoffs": 5}  # the rest: 2 each
STATUSES = (("open", "acknowledged", "assigned", "snoozed", "resolved", "cleared"),
            (50, 20, 15, 3, 7, 5))  # and their shares
PEOPLE = ("dana.k", "lee.m", "priya.s", *OWNER_ROLES)  # assignees: people or roles
READ = "2026-11-30T14:55:00Z"  # when the numbers in the evidence were read
SPAN = 30 * 86400  # opened over the last 30 days, in id order
COLUMNS = "id, key, code, sku, location, handoff, owner, assignee, severity, status, " \
          "summary, evidence, first_seen_at, opened_at, seen_at, closed_at, snoozed_until, " \
          "recurrences, note"
# What is typed, with the WHERE the raw baseline runs besides the status (LIKE ignores case).
FILTERS = {"code:phantom-stock owner:integration": (
               "code = ? AND (owner = ? OR assignee = ?)", ("phantom-stock", *["integration"] * 2)),
           "hood-nvy": (" OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in ("summary", "sku",
                                                                      "document")),
                        ("%hood-nvy%",) * 3)}
STATUS_IN = f"status IN ({', '.join('?' * len(ACTIVE))})"
KEYSET = f"SELECT {', '.join(f.name for f in fields(QueueRow))} FROM exception WHERE " \
         f"{STATUS_IN} AND (opened_at > ? OR (opened_at = ? AND id > ?)) ORDER BY opened_at, " \
         "id LIMIT 100"  # what the queue screen asks for, oldest first
BARE = ("import asyncio\nfrom textual.app import App\nfrom textual.screen import Screen\n"
        "from textual.widgets import Footer, Header, Static\n\n\nclass BareScreen(Screen):\n"
        "    BINDINGS = [('escape', 'app.pop_screen', 'Back')]\n\n    def compose(self):\n"
        "        yield Header()\n        yield Static('a bare screen')\n        yield Footer()"
        "\n\n\nclass Bare(App):\n    TITLE = 'bare textual app'\n    BINDINGS = [('e', 'open'"
        ", 'Open')]\n\n    def compose(self):\n        yield Header()\n        yield Footer()"
        "\n\n    def action_open(self):\n        self.push_screen(BareScreen())\n\n\n"
        "async def peak():  # its own high-water mark: ru_maxrss keeps the forking parent's\n"
        "    async with Bare().run_test(size=(80, 24)) as pilot:\n        await pilot.press('e')"
        "\n        await pilot.pause()\n    print(open('/proc/self/status').read()"
        ".split('VmHWM:')[1].split()[0])\n\n\nif __name__ == '__main__':\n"
        "    asyncio.run(peak())\n")


def keys(rng: random.Random):
    """(code, SKU, location), never twice: SKUs at some locations, one to three codes each."""
    weights = [WEIGHTS.get(code, 2) for code in CODES]
    for n in itertools.count():
        sku = f"{FAMILIES[n % 10]}-{COLOURS[n // 10 % 8]}-{'SMLX'[n // 80 % 4]}-{n // 320:05d}"
        for loc in [loc for loc in LOCATIONS if rng.random() < 0.5]:
            for code in dict.fromkeys(rng.choices(CODES, weights, k=rng.choice((1, 1, 2, 3)))):
                yield code, sku, loc


def exceptions(count: int, rng: random.Random):
    """Exception rows in id order (COLUMNS), opened over the last 30 days."""
    for ident, (code, sku, loc) in zip(range(1, count + 1), keys(rng), strict=False):
        kind, opened = CATALOGUE[code], NOW - SPAN + ident * SPAN // count
        status, recurrences = rng.choices(*STATUSES)[0], rng.choice((0,) * 18 + (1, 2))
        closed = opened + rng.randint(600, max(601, NOW - opened)) \
            if status in ("resolved", "cleared") else None
        units = {system: rng.randint(0, 400) for system in ("wms", "erp", "storefront")}
        evidence = {"finding": {"code": code, "handoff": kind.handoff, "owner": kind.owner},
                    "counts": {system: {"on_hand": n, "available": n, "allocated": 0,
                                        "in_transit": 0, "updated_at": READ, "read_at": READ}
                               for system, n in units.items()},
                    "location_name": LOCATIONS[loc], "also_owners": []}
        yield (ident, f"{code}|{sku}|{loc}", code, sku, loc, kind.handoff, kind.owner,
               rng.choice(PEOPLE) if status == "assigned" else None, SEVERITY.get(code, 2),
               status, f"{kind.title} at {loc} for {sku}: WMS {units['wms']}, ERP "
               f"{units['erp']}, storefront {units['storefront']}.", json.dumps(evidence),
               opened - recurrences * 3 * 86400, opened, closed or NOW - 300, closed,
               NOW + 86400 if status == "snoozed" else None, recurrences,
               "re-keyed in NetSuite" if status == "resolved" else None)


def build_cache(folder: Path, count: int) -> None:
    """config.toml and a cache with the app's own schema, filled by raw executemany (run in
    a child process: its page cache must not count in the peak RSS measured here)."""
    folder.mkdir()
    make_engine(f"sqlite:///{folder / 'seamdesk.db'}").dispose()
    db = sqlite3.connect(folder / "seamdesk.db", isolation_level=None)
    db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; "
                     "PRAGMA cache_size = -512000; BEGIN")  # the app's connections set WAL
    db.executemany(f"INSERT INTO exception ({COLUMNS}) VALUES ({', '.join('?' * 19)})",
                   exceptions(count, random.Random(1)))
    db.execute("INSERT INTO exception_audit (exception_id, at, actor, action) "
               "SELECT id, opened_at, 'refresh', 'opened' FROM exception")
    db.execute("COMMIT")
    db.close()
    (folder / "config.toml").write_text('[cache]\nurl = "sqlite:///seamdesk.db"\n' + "".join(
        f'[systems.{s}]\nkind = "{kind}"\nbase_url = "http://127.0.0.1:9/{s}"\n'
        f'token_env = "{TOKEN_ENV}"\n' for s, kind in (
            ("erp", "netsuite"), ("storefront", "shopify"), ("wms", "shiphero"))))


class Painted:
    """Times a key press until the frame that shows what `until` waits for: the app hands
    every frame to its driver through App._display (a no-op when headless)."""

    def __init__(self, app) -> None:
        self.until, self.at, self.done = None, 0.0, asyncio.Event()
        display = app._display

        def shown(screen, update) -> None:
            display(screen, update)
            if self.until is not None and update is not None and self.until():
                self.until, self.at = None, time.perf_counter()
                self.done.set()

        app._display = shown

    async def press(self, pilot, key: str, until) -> tuple[float, float, float]:
        """(milliseconds, start, end) from pressing `key` to the frame that paints it."""
        self.done.clear()
        self.until, started = until, time.perf_counter()
        await pilot.press(key)
        try:
            await asyncio.wait_for(self.done.wait(), 60)
        except TimeoutError:
            raise SystemExit(f"{key!r}: not painted in 60 s (is the app mid-edit?)") from None
        return (self.at - started) * 1000, started, self.at


def drawn(table) -> bool:
    """Rows on screen, all loaded (row() None is a "…" placeholder)."""
    top, height = table.scroll_offset.y, table.scrollable_content_region.height
    return table.total > 0 and height > 0 and all(
        table.row(i) is not None for i in range(top, min(table.total, top + height)))


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def opens(pilot, painted: Painted, runs: int, shown) -> list[tuple[float, float, float]]:
    """Press `e` `runs` times (escape in between) until shown(screen); the last stays open."""
    app, samples = pilot.app, []
    for run in range(runs):
        # Back from the last one; on the lookup screen, the search box lets go of keys.
        await pilot.press(*["escape"] * (2 if run else 1))
        await settle(pilot)
        before = app.screen
        samples.append(await painted.press(pilot, "e", lambda b=before: app.screen is not b
                                           and shown(app.screen)))
        await settle(pilot)
    return samples


def bare_app(folder: Path, runs: int) -> tuple[int, list[float]]:
    """A bare app's peak RSS (KiB, its own process) and its screen's opens (ms, here)."""
    (folder / "bare.py").write_text(BARE)
    child = subprocess.run([sys.executable, folder / "bare.py"], check=True,
                           capture_output=True, text=True)
    spec = importlib.util.spec_from_file_location("bare", folder / "bare.py")
    bare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bare)

    async def run() -> list:
        app = bare.Bare()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            return await opens(pilot, Painted(app), runs, lambda s: isinstance(s, bare.BareScreen))

    return int(child.stdout.split()[-1]), [ms for ms, *_ in asyncio.run(run())]


async def drive(desk: Desk, runs: int, repeat: int, expected: dict, presses: int) -> dict:
    """Open the queue `runs` times, filter, page down: every sample (ms, start, end)."""
    app = make_app(desk)
    painted, found = Painted(app), defaultdict(list)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        found["open"] = await opens(pilot, painted, runs, lambda screen: type(
            screen).__name__ == "QueueScreen" and drawn(screen.query_one("#rows")))
        table = app.screen.query_one("#rows")
        for text in [*FILTERS] * repeat + [""]:  # the last one back to every active exception
            await pilot.press("slash")
            app.screen.query_one("#filter").value = ""
            await pilot.press(*text)
            found[text].append(await painted.press(
                pilot, "enter", lambda t=text: table.total == expected[t] and drawn(table)))
            await settle(pilot)
        for press in range(1, presses + 1):
            target = min(table.total - 1, 20 * press)
            found["page"].append(await painted.press(
                pilot, "pagedown", lambda t=target: table.cursor == t and drawn(table)))
            await app.workers.wait_for_complete()
    return found


def timed(calls: list, name: str, method, *args, **kwargs):
    """Record (name, start, end) of a queue query the screen makes, from any thread."""
    started = time.perf_counter()
    try:
        return method(*args, **kwargs)
    finally:
        calls.append((name, started, time.perf_counter()))


def where_time_went(calls: list, sample: tuple[float, float, float]) -> str:
    """The queries (in worker threads, so they may overlap) within one timed sample."""
    ms, start, end = sample
    spent, covered, reach = defaultdict(float), 0.0, start
    for name, began, ended in sorted(calls, key=lambda call: call[1]):
        began, ended = max(began, start), min(ended, end)
        if began < ended:
            spent[name] += (ended - began) * 1000
            covered, reach = covered + max(0.0, ended - max(began, reach)), max(reach, ended)
    parts = ", ".join(f"{name} {t:.0f} ms" for name, t in sorted(spent.items(),
                                                                 key=lambda kv: -kv[1]))
    return f"    where the {ms:.0f} ms went: queries (threads, may overlap) {parts or 'none'}; " \
           f"{ms - covered * 1000:.0f} ms with none running (Textual, hand-offs, paint)"


def raw_count(db: sqlite3.Connection, text: str) -> tuple[int, float]:
    where, params = FILTERS.get(text, ("1", ()))
    started = time.perf_counter()
    found = db.execute(f"SELECT count(*) FROM exception WHERE {STATUS_IN} AND ({where})",
                       (*ACTIVE, *params)).fetchone()[0]
    return found, (time.perf_counter() - started) * 1000


def raw_keyset(db: sqlite3.Connection, pages: int, repeat: int) -> list[float]:
    """Milliseconds per raw keyset page, as the pages the queue screen loads."""
    times = []
    for _ in range(repeat):
        after = (0, 0)
        for _ in range(pages):
            started = time.perf_counter()
            rows = db.execute(KEYSET, (*ACTIVE, after[0], *after)).fetchall()
            times.append((time.perf_counter() - started) * 1000)
            after = (rows[-1][11], rows[-1][0])  # opened_at, id
    return sorted(times)



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exceptions", type=int, help="exceptions in the cache (default "
                        "1,000,000; 200,000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="less data and fewer samples")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)  # the child's work
    args = parser.parse_args()
    count = args.exceptions or (200_000 if args.quick else 1_000_000)
    if args.build:
        build_cache(args.build, count)
        return 0
    runs, repeat, presses = (3, 1, 50) if args.quick else (5, 3, 50)
    load = os.getloadavg()[0]  # other work on this machine shows in every figure
    with tempfile.TemporaryDirectory(prefix="seamdesk-bench-") as tmp:
        cache = Path(tmp) / "cache"
        bare_kib, bare = bare_app(Path(tmp), runs)  # first, while this process is small
        began = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--build", str(cache), "--exceptions",
                        str(count)], check=True)
        built, size_mb = time.perf_counter() - began, (cache / "seamdesk.db").stat().st_size >> 20
        with sqlite3.connect(cache / "seamdesk.db") as db:
            expected = {text: raw_count(db, text)[0] for text in [*FILTERS, ""]}
        os.environ[TOKEN_ENV] = "bench"
        desk = Desk(config_module.load(cache / "config.toml", require_tokens=False),
                    operator="bench", clock=frozen(NOW))
        calls: list = []
        for name in ("queue_count", "queue_overview", "queue_page", "queue_detail"):
            setattr(desk, name, functools.partial(timed, calls, name, getattr(desk, name)))
        found = asyncio.run(drive(desk, runs, repeat, expected, presses))
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with sqlite3.connect(cache / "seamdesk.db") as db:
            raw = {text: max(raw_count(db, text)[1] for _ in range(repeat)) for text in FILTERS}
            keyset = raw_keyset(db, presses * 20 // 100 + 1, 5)
    print(f"queue benchmark: {count:,} exceptions ({expected['']:,} active, {len(CODES)} codes"
          f", SKUs x 4 locations), one audit row each; cache {size_mb:,.0f} MB built in "
          f"{built:.1f} s; {os.cpu_count()} CPUs, load {load:.1f} at start")
    print(f"first paint, {runs} opens each: queue {', '.join(f'{s[0]:.0f}' for s in found['open'])}"
          f" ms, bare screen {', '.join(f'{ms:.0f}' for ms in bare)} ms; filters, worst of "
          f"{repeat}: " + ", ".join(f"{text!r} {expected[text]:,} matches" for text in FILTERS)
          + f"; paging: {presses} pagedowns from the top of the {expected['']:,} active")
    first, pages = sorted(found["open"])[runs // 2], sorted(found["page"])
    results = [(line("queue first paint ms", f"{first[0]:.0f}", f"{median(bare):.0f} bare",
                     first[0] / median(bare), "<= 2x", first[0] <= 2 * median(bare)), first)]
    for label, text in zip(("filter code+owner ms", "filter free text ms"), FILTERS, strict=True):
        worst = max(found[text])
        results.append((line(label, f"{worst[0]:.0f}", f"{raw[text]:.1f} raw count",
                             worst[0] / raw[text], "<= 200 ms", worst[0] <= 200), worst))
    for label, at in (("paging p95 ms/press", 0.95), ("paging max ms/press", 1.0)):
        ours, base = pages[round(at * (len(pages) - 1))], keyset[round(at * (len(keyset) - 1))]
        results.append((line(label, f"{ours[0]:.1f}", f"{base:.2f} raw page", ours[0] / base,
                             "<= 50 ms", ours[0] <= 50), ours))
    results.append((line("peak RSS MB", f"{peak_kib / 1024:,.0f}", f"{bare_kib / 1024:,.0f} bare",
                         peak_kib / bare_kib, "<= 250 MB", peak_kib <= 250 * 1024), None))
    for text, sample in results:
        print(text)
        if text.endswith("FAIL") and sample is not None:
            print(where_time_went(calls, sample))
    return 0 if all(text.endswith("PASS") for text, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
