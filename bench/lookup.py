"""Lookup benchmark (issue: the lookup screen), every figure beside a baseline measured in
the same run on the same machine:

  lookup      what `seamdesk lookup SKU --location CODE --json` computes (lookup(), then
              as_json()) for ~2,000 random SKU/location pairs on a fresh cache of SKUS x 4
              locations x 3 systems count rows, ~10% more in history, events and sync runs;
              baseline: raw sqlite3 point queries on count_current's key, one per system.
  search      search_items(engine, text, 50) at every keystroke of a few typed strings over
              2 x SKUS items; baseline: raw `SELECT sku FROM item WHERE sku >= ? LIMIT 50`.
  cold start  the installed `seamdesk` on a small cache in an 80x24 pseudo-terminal until its
              lookup screen is painted; baseline: a bare Textual App (Header, Footer) started
              the same way. Medians of interleaved runs.

Usage: python bench/lookup.py [--skus 100000] [--quick]
Targets: lookup p95 <= 2 ms; search <= 30 ms a keystroke (p95 and max); cold start <= 1.5x.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import random
import re
import select
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from itertools import product
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import config as config_module  # noqa: E402
from app.cache.engine import make_engine  # noqa: E402
from app.cache.item_search import search_items  # noqa: E402
from app.lookup import lookup  # noqa: E402
from bench.report import line  # noqa: E402

NOW = 1_796_050_800  # 2026-11-30T15:00Z, the simulator's clock
RUNS = 4  # sync runs per system, six hours apart; the newest ended just before NOW
TOKEN_ENV = "SEAMDESK_BENCH_TOKEN"
SYSTEMS = (("erp", "netsuite"), ("storefront", "shopify"), ("wms", "shiphero"))  # key order
GID = "gid://shopify/Location/6800000"
LOCATIONS = {  # code: name, then its id in each of SYSTEMS
    "ATL1": ("Atlanta DC", "2", GID + "2", "1002"), "CMH1": ("Columbus DC", "4", GID + "4", "1004"),
    "DAL1": ("Dallas DC", "1", GID + "1", "1001"), "RNO1": ("Reno DC", "3", GID + "3", "1003")}
FAMILIES = (("TEE", "T-shirt"), ("HOOD", "Hoodie"), ("CAP", "Cap"), ("SOCK", "Socks"), ("MUG",
            "Mug"), ("LAMP", "Desk lamp"), ("BOTL", "Water bottle"), ("TOTE", "Tote bag"),
            ("CHR", "Chair"), ("TBL", "Side table"))
COLOURS = (("BLK", "black"), ("WHT", "white"), ("NVY", "navy"), ("RED", "red"), ("GRN",
           "forest green"), ("OAK", "oak"), ("WAL", "walnut"), ("BRS", "brass"))
SIZES = ("S", "M", "L", "XL")
# What operators type: a whole SKU, a SKU in lower case (the upper-case retry), name words,
# and words in another order than the name's, which match nothing: the full-scan worst case.
TYPED = ("TEE-BLK-M-00042", "tee-blk", "lamp", "walnut", "brass lamp")
NEXT_50 = "SELECT sku FROM item WHERE sku >= ? LIMIT 50"  # the least a search can cost
POINT = "SELECT on_hand, available, allocated, in_transit, updated_at, read_at FROM " \
        "count_current WHERE system = ? AND sku = ? AND location = ?"
COUNTS = "system, sku, location, run_id, on_hand, available, allocated, in_transit, " \
         "updated_at, read_at"
BARE_APP = ("from textual.app import App\nfrom textual.widgets import Footer, Header\n\n\n"
            "class Bare(App):\n    TITLE = 'bare textual app'\n\n    def compose(self):\n"
            "        yield Header()\n        yield Footer()\n\n\nBare().run()\n")
# CSI, OSC and two-byte escapes: what is left of the stream is the painted text.
ANSI = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[^\[\]])")


def catalogue(count: int) -> list[tuple[str, str, int | None]]:
    """(sku, name, pack) in SKU order: family-colour-size-number codes, names in words."""
    combos, items = len(FAMILIES) * len(COLOURS) * len(SIZES), []
    for i in range(count):
        (family, noun), (code, colour) = FAMILIES[i % 10], COLOURS[i // 10 % 8]
        size = SIZES[i // 80 % 4]
        items.append((f"{family}-{code}-{size}-{i // combos:05d}", f"{noun}, {colour}, {size}",
                      12 if family == "MUG" else None))
    return sorted(items)


def build_cache(folder: Path, skus: int, seed: int = 1) -> tuple[Path, list[str], int, int]:
    """config.toml and a cache with the app's own schema, filled in key order by raw
    executemany (as fast as SQLite goes): (config, SKUs with counts, history rows, events)."""
    make_engine(f"sqlite:///{folder / 'seamdesk.db'}").dispose()
    rng = random.Random(seed)
    items = catalogue(2 * skus)  # half the catalogue is stocked; search sees all of it
    counted = [sku for sku, *_ in items[::2]]
    keys = list(product(counted, sorted(LOCATIONS)))
    on_hand = [rng.randint(0, 400) for _ in keys]  # one truth per key; systems drift from it
    started = {(system, r): NOW - 600 - (RUNS - 1 - r) * 6 * 3600 + j * 30
               for j, (system, _) in enumerate(SYSTEMS) for r in range(RUNS)}
    run_id = {key: n + 1 for n, key in enumerate(started)}
    history: list[tuple] = []

    def current(system: str):
        transit = None if system == "wms" else 0
        for k, (sku, code) in enumerate(keys):
            held = on_hand[k] // 10
            available = on_hand[k] - held - (rng.randint(1, 9) if rng.random() < 0.05 else 0)
            run = 0  # most rows are unchanged since the first full read
            if rng.random() < 0.1:  # changed later: the version it replaced is history
                run = rng.randint(1, RUNS - 1)
                old = (system, rng.randrange(run))
                history.append((system, sku, code, run_id[old], on_hand[k] + 3, available + 3,
                                held, transit, started[old] - 900, started[old]))
            read = started[system, run]
            yield (system, sku, code, run_id[system, run], on_hand[k], max(0, available), held,
                   transit, read - rng.randint(60, 86400), read)

    events = []
    for k in sorted(rng.sample(range(len(keys)), len(keys) // 100)):
        delta, at = rng.randint(-20, 20) or 1, NOW - rng.randint(3600, 5 * 86400)
        for system in ("erp", "wms") if rng.random() < 0.8 else ("wms",):  # some never post
            events.append((system, f"{system}-{k}", f"adj-{k}", "adjustment", *keys[k], delta,
                           at, "cycle count", run_id[system, RUNS - 1]))
    refs = [(system, ids[j], name, code, NOW, 0) for code, (name, *ids) in LOCATIONS.items()
            for j, (system, _) in enumerate(SYSTEMS)]
    refs.append(("storefront", GID + "99", "Holiday pop-up", None, NOW, 12))  # unmapped
    runs = [(run_id[key], key[0], "incremental" if key[1] else "full", at, at + 300, "complete",
             400, len(keys), 400, 0, 0, 0, 900) for key, at in started.items()]
    db = sqlite3.connect(folder / "seamdesk.db", isolation_level=None)
    db.executescript("PRAGMA synchronous = OFF; BEGIN")
    for table, columns, rows in (
            ("item", "sku, name, pack", items),
            ("system", "name, kind, base_url, last_good_read_at", [
                (s, kind, f"http://127.0.0.1:9/{s}", started[s, RUNS - 1]) for s, kind in SYSTEMS]),
            ("location", "code, name", [(code, loc[0]) for code, loc in LOCATIONS.items()]),
            ("location_ref", "system, external_id, name, code, seen_at, rows", refs),
            ("sync_run", "id, system, mode, started_at, finished_at, status, pages, rows, "
             "requests, throttled, retries, duplicates, write_ms", runs),
            *(("count_current", COUNTS, current(system)) for system, _ in SYSTEMS),
            ("count_history", COUNTS, history),  # after current: the generators fill it
            ("inventory_event", "system, source_id, event_id, kind, sku, location, delta, at, "
             "reason, run_id", events)):
        db.executemany(f"INSERT INTO {table} ({columns}) VALUES "
                       f"({', '.join('?' * (columns.count(',') + 1))})", rows)
    db.execute("COMMIT")
    db.close()
    (folder / "config.toml").write_text('[cache]\nurl = "sqlite:///seamdesk.db"\n' + "".join(
        f'[systems.{s}]\nkind = "{kind}"\nbase_url = "http://127.0.0.1:9/{s}"\n'
        f'token_env = "{TOKEN_ENV}"\n' for s, kind in SYSTEMS) + "[locations]\n" + "".join(
        f'"{code}" = {{ erp = "{e}", storefront = "{s}", wms = "{w}" }}\n'
        for code, (_, e, s, w) in LOCATIONS.items()))
    return folder / "config.toml", counted, len(history), len(events)


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def time_lookups(config, engine, raw, pairs: list[tuple[str, str]]) -> tuple[list, list]:
    """Milliseconds per pair: lookup + as_json, and the raw point queries, interleaved pair by
    pair so the machine's drift hits both alike."""
    ours, base = [], []
    for n, (sku, code) in enumerate(pairs):
        started = time.perf_counter()
        [loc.as_json() for loc in lookup(engine, config, sku, NOW, code).locations]
        middle = time.perf_counter()
        for system, _ in SYSTEMS:
            raw.execute(POINT, (system, sku, code)).fetchone()
        if n >= 50:  # the first ones compile statements and fill the page cache
            ours.append((middle - started) * 1000)
            base.append((time.perf_counter() - middle) * 1000)
    return ours, base


def time_search(engine, raw, repeat: int) -> tuple[list, list]:
    """Milliseconds per keystroke, with what was typed: search_items, and the raw range."""
    ours, base = [], []
    for text in [typed[:end] for typed in TYPED for end in range(1, len(typed) + 1)] * repeat:
        started = time.perf_counter()
        search_items(engine, text, 50)
        middle = time.perf_counter()
        raw.execute(NEXT_50, (text,)).fetchall()
        ours.append(((middle - started) * 1000, text))
        base.append(((time.perf_counter() - middle) * 1000, text))
    return ours, base


def painted(argv: list[str], until: bytes, env: dict, linger: float = 0.0,
            timeout: float = 60.0) -> tuple[float, bytes]:
    """Seconds from spawn until `until` is painted on an 80x24 pseudo-terminal (in the text
    left on the alternate screen once escape sequences are gone), and that text `linger`
    seconds later. The child is then killed: its shutdown is not counted."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                             start_new_session=True)
    os.close(slave)
    stream, seen_at = b"", None
    try:
        while time.perf_counter() - started < (seen_at or timeout) + linger:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    stream += os.read(master, 1 << 16)
                except OSError:  # EIO: the child is gone
                    break
                screen = ANSI.sub(b"", stream.partition(b"\x1b[?1049h")[2])
                if seen_at is None and until in screen:
                    seen_at = time.perf_counter() - started
            elif child.poll() is not None:
                break
    finally:
        child.kill()
        child.wait()
        os.close(master)
    if seen_at is None:
        raise SystemExit(f"{argv[-1]}: {until.decode()!r} never painted; it wrote:\n"
                         f"{ANSI.sub(b'', stream).decode(errors='replace')[-1500:]}")
    return seen_at, ANSI.sub(b"", stream)


def cold_start(folder: Path, runs: int) -> tuple[float, float, str]:
    """Median seconds to a painted screen: (seamdesk, bare app, the marker seamdesk used)."""
    config_path = build_cache(folder, 1000)[0]
    (folder / "bare.py").write_text(BARE_APP)
    # A bytecode cache the children may write: with PYTHONDONTWRITEBYTECODE (set in some
    # containers) the app's own modules would be compiled at every start; installs never are.
    env = {name: value for name, value in os.environ.items() if not name.startswith(
        ("TEXTUAL", "SEAMDESK_")) and name not in ("COLUMNS", "LINES", "NO_COLOR",
                                                   "PYTHONDONTWRITEBYTECODE")}
    env.update(TERM="xterm-256color", SEAMDESK_OPERATOR="bench", **{TOKEN_ENV: "bench"},
               PYTHONPYCACHEPREFIX=str(folder / "pycache"))
    ours_argv = [str(Path(sys.executable).with_name("seamdesk")), "--config", str(config_path)]
    bare_argv = [sys.executable, str(folder / "bare.py")]
    # The warm-ups write the bytecode caches and fill the OS file cache. Until the lookup
    # screen paints its search placeholder, the first screen's title is timed instead.
    _, text = painted(ours_argv, b"seamdesk", env, linger=2.0)
    marker = b"Type a SKU" if b"Type a SKU" in text else b"seamdesk"
    painted(bare_argv, b"bare textual app", env)
    ours, bare = [], []
    for _ in range(runs):
        ours.append(painted(ours_argv, marker, env)[0])
        bare.append(painted(bare_argv, b"bare textual app", env)[0])
    return statistics.median(ours), statistics.median(bare), marker.decode()



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, help="SKUs with counts (default 100,000; 20,000 "
                        "with --quick); the catalogue searched holds twice as many")
    parser.add_argument("--quick", action="store_true", help="less data and fewer samples")
    args = parser.parse_args()
    skus = args.skus or (20_000 if args.quick else 100_000)
    lookups, repeat, runs = (500, 2, 3) if args.quick else (2000, 5, 5)
    load = os.getloadavg()[0]  # other work on this machine shows in every figure
    with tempfile.TemporaryDirectory(prefix="seamdesk-bench-") as tmp:
        began = time.perf_counter()  # make_engine creates the folders
        config_path, counted, history, events = build_cache(Path(tmp) / "big", skus)
        built = time.perf_counter() - began
        rng = random.Random(2)
        pairs = [(rng.choice(counted), rng.choice(list(LOCATIONS))) for _ in range(lookups)]
        config = config_module.load(config_path, require_tokens=False)
        engine = make_engine(config.cache_url, create=False)
        with sqlite3.connect(config.cache_url.removeprefix("sqlite:///")) as raw:
            ours, base = time_lookups(config, engine, raw, pairs)
            typed, ranged = time_search(engine, raw, repeat)
        engine.dispose()
        start_ours, start_bare, marker = cold_start(Path(tmp) / "small", runs)
    p50, p95, p99 = percentiles(ours)
    raw95 = percentiles(base)[1]
    s95, r95 = percentiles([ms for ms, _ in typed])[1], percentiles([ms for ms, _ in ranged])[1]
    slow = sorted({text: ms for ms, text in sorted(typed)}.items(), key=lambda kv: -kv[1])
    worst, raw_max = slow[0][1], max(ms for ms, _ in ranged)
    print(f"lookup benchmark: {len(counted) * len(LOCATIONS) * len(SYSTEMS):,} count rows "
          f"({skus:,} SKUs x {len(LOCATIONS)} locations x {len(SYSTEMS)} systems), {history:,} "
          f"in history, {events:,} events, {2 * skus:,} items; cache built in {built:.1f} s; "
          f"{os.cpu_count()} CPUs, load {load:.1f} at start")
    print(f"lookup + as_json, {len(ours):,} SKU/location pairs: p50 {p50:.2f} ms, p95 "
          f"{p95:.2f} ms, p99 {p99:.2f} ms")
    print(f"search, {len(typed):,} keystrokes typing {', '.join(map(repr, TYPED))}; slowest: "
          + ", ".join(f"{text!r} {ms:.0f} ms" for text, ms in slow[:4]))
    print(f"cold start, median of {runs} runs each: seamdesk timed to {marker!r} painted"
          + ("" if marker == "Type a SKU" else " (no lookup screen with 'Type a SKU' yet)"))
    results = [
        line("lookup p95 ms", f"{p95:.2f}", f"{raw95:.3f} raw", p95 / raw95, "<= 2 ms",
             p95 <= 2),
        line("search p95 ms/keystroke", f"{s95:.2f}", f"{r95:.3f} raw", s95 / r95, "<= 30 ms",
             s95 <= 30),
        line("search max ms/keystroke", f"{worst:.2f}", f"{raw_max:.3f} raw", worst / raw_max,
             "<= 30 ms", worst <= 30),
        line("cold start s", f"{start_ours:.2f}", f"{start_bare:.2f} bare",
             start_ours / start_bare, "<= 1.5", start_ours <= 1.5 * start_bare),
    ]
    print("\n".join(results))
    return 0 if all(r.endswith("PASS") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
