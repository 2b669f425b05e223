"""Crash safety and one writer: `seamdesk refresh` killed with SIGKILL at 20 random moments
leaves a cache that passes `PRAGMA integrity_check`, opens, and serves the last good data;
the next refresh completes. A second refresh while one runs is refused with one line."""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import config as config_module
from app.cache.engine import make_engine
from app.lookup import lookup
from tests.conftest import TOKEN

pytestmark = pytest.mark.slow
SEAMDESK = [sys.executable, "-m", "app.cli"]
KILLS = 20


def _env() -> dict[str, str]:
    return {**os.environ, "SEAMDESK_SIM_TOKEN": TOKEN}


def _seamdesk(config: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SEAMDESK, "--config", str(config), *argv], capture_output=True,
                          text=True, env=_env(), cwd=config.parent, stdin=subprocess.DEVNULL,
                          timeout=180)


FALSE_NULL = re.compile(r"NULL value in (\w+)\.(\w+)")


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """`PRAGMA integrity_check`'s findings. SQLite before 3.41 reports "NULL value in T.C"
    for a NOT NULL column declared before the primary key of a WITHOUT ROWID table even
    when no row holds a NULL (the cache's count, message and order staging tables are
    laid out so); such a line counts only if a NULL is really there."""
    problems = []
    for (line,) in conn.execute("PRAGMA integrity_check"):
        if line == "ok":
            continue
        null = FALSE_NULL.fullmatch(line)
        if null and sqlite3.sqlite_version_info < (3, 41) and not conn.execute(
                f"SELECT count(*) FROM {null[1]} WHERE {null[2]} IS NULL").fetchone()[0]:
            continue
        problems.append(line)
    return problems


# Another process's writes: enough rows that stale WAL frames would be read as pages.
WRITER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                 [(f"{sys.argv[2]}-{i}", "x" * 200) for i in range(3000)])
conn.execute("COMMIT")
conn.close()
"""


def test_opening_the_cache_again_keeps_the_locks_of_open_connections(tmp_path):
    """The cause of the flake this file's SIGKILL test had: make_engine opened and closed
    the cache file, and close() drops every POSIX lock the process holds on it, SQLite's
    included. A process that closed its last connection then believed it was the last
    one, checkpointed and deleted the WAL, and this process's connections, sharing a
    stale WAL index, read old data or "database disk image is malformed" (a fresh
    process: ok)."""
    url = f"sqlite:///{tmp_path / 'seamdesk.db'}"
    held = make_engine(url)
    with held.connect() as conn:  # stays open in the pool, as a TUI's or a test's would
        conn.exec_driver_sql("SELECT count(*) FROM meta").scalar()
    for round_ in range(3):
        make_engine(url).dispose()  # a second engine in the same process
        subprocess.run([sys.executable, "-c", WRITER, str(tmp_path / "seamdesk.db"),
                        str(round_)], check=True, timeout=60)
        with held.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            # Stale: the other process's rows missing (the old code read 3000 after two).
            assert conn.exec_driver_sql("SELECT count(*) FROM meta").scalar() == \
                3000 * (round_ + 1)
    held.dispose()


def _good_data(db: Path) -> dict[str, int]:
    """Rows per system in the cache's current counts, after an integrity check."""
    with sqlite3.connect(db) as conn:
        assert integrity_problems(conn) == []
        return dict(conn.execute("SELECT system, count(*) FROM count_current GROUP BY system"))


@contextlib.contextmanager
def running_simulator(folder: Path, generate: str = "1500,2,7") -> Iterator[Path]:
    """`seamdesk simulate` over a real socket with a generated world; yields the config
    it wrote (the cache goes beside it)."""
    config = folder / "config.toml"
    process = subprocess.Popen(
        [*SEAMDESK, "simulate", "--generate", generate, "--port", "0", "--write-config",
         str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        cwd=folder)
    try:
        assert "config written" in process.stdout.readline(), process.stderr.read()
        process.stdout.readline()
        yield config
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


@pytest.fixture
def simulator(tmp_path):
    with running_simulator(tmp_path) as config:
        yield config


def sim_base(config: Path) -> str:
    """The simulator's own address, from the config it wrote."""
    return re.search(r'base_url = "(http://[^/"]+)/', config.read_text())[1]


# A refresh forked from a process that has already imported seamdesk: a new interpreter
# per kill spends a second or two importing, during which a kill tests nothing. It holds
# no connection to the cache (forking one is unsafe); each child is the CLI's own main().
FORK_SERVER = """
import importlib, os, pkgutil, sys
import app
for module in pkgutil.walk_packages(app.__path__, "app."):
    importlib.import_module(module.name)
from app.cli import main
print("ready", flush=True)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        os._exit(main(line.split()))
    print(pid, flush=True)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""


class ForkServer:
    def __init__(self, config: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", FORK_SERVER], text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        env=_env(), cwd=config.parent)
        assert self.process.stdout.readline() == "ready\n"
        self.argv = f"--config {config} refresh --full\n"

    def start(self) -> int:
        self.process.stdin.write(self.argv)
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def exit_code(self) -> int:
        return int(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def test_sigkill_at_random_moments_never_loses_the_last_good_data(simulator):
    config = simulator
    db = config.parent / "seamdesk.db"
    first = _seamdesk(config, "refresh", "--full")
    assert first.returncode == 0, first.stderr
    good = _good_data(db)
    assert sum(good.values()) >= 1500 * 2 * 3 * 0.9
    with sqlite3.connect(db) as conn:
        sku = conn.execute("SELECT min(sku) FROM count_current").fetchone()[0]
    server = ForkServer(config)
    try:
        started = time.monotonic()
        server.start()
        assert server.exit_code() == 0
        span = time.monotonic() - started  # how long a full refresh takes here
        rng = random.Random(20261201)
        loaded = config_module.load(config, require_tokens=False)
        for _ in range(KILLS):
            pid = server.start()
            time.sleep(rng.uniform(0.0, span))
            with contextlib.suppress(ProcessLookupError):  # it finished first
                os.kill(pid, signal.SIGKILL)
            assert server.exit_code() in (-signal.SIGKILL, 0)
            assert _good_data(db) == good  # intact, and nothing partial was promoted
            # It opens, and serves the last good data (the lookup's own code, in-process;
            # an engine per round, left open, as a long-lived reader's would be).
            found = lookup(make_engine(f"sqlite:///{db}"), loaded, sku, int(time.time()))
            assert len(found.locations) >= 2 and found.locations[0].counts
    finally:
        server.close()
    last = _seamdesk(config, "refresh", "--full")
    assert last.returncode == 0, last.stderr
    assert _good_data(db) == good


def _sim_faults(config: Path, faults: dict) -> None:
    httpx.post(f"{sim_base(config)}/_sim/faults", json=faults, timeout=10).raise_for_status()


def test_a_second_refresh_while_one_runs_is_refused_in_one_line(simulator):
    config = simulator
    # The first refresh is held (a slow WMS) until the second has been refused: without
    # that, it could finish before the second one starts on a busy machine.
    _sim_faults(config, {"wms": {"latency_ms": 1000}})
    running = subprocess.Popen([*SEAMDESK, "--config", str(config), "refresh", "--full"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=_env(), cwd=config.parent)
    try:
        lock = config.parent / "seamdesk.db.refresh.lock"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
            time.sleep(0.05)
        second = _seamdesk(config, "refresh")
        assert second.returncode in (1, 2) and "another refresh of" in second.stderr
        assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
    finally:
        _sim_faults(config, {"wms": None})
        assert running.wait(timeout=120) == 0
