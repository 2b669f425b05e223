"""The command line: exit codes and one-line errors, in-process and as a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli import main
from tests.conftest import DEMO, TOKEN

SEAMDESK = [sys.executable, "-m", "app.cli"]


@pytest.mark.parametrize("argv,expected", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["refresh", "--ful"], "unrecognized arguments: --ful"),
    (["simulate"], "give --scenario FILE or --generate"),
    (["simulate", "--generate", "10,x,1"], "--generate: expected SKUS,LOCATIONS,SEED"),
    (["simulate", "--generate", "0,1,1"], "SKUS must be"),
    (["simulate", "--scenario", "/nope.toml"], "/nope.toml: no such scenario file"),
    (["--config", "/nope/config.toml", "refresh"], "/nope/config.toml: no such config file"),
    (["refresh", "--read-only"], "not allowed with --read-only"),
    (["simulate", "--scenario", str(DEMO), "--port", "70000"], "not a port number"),
])
def test_bad_input_is_one_line_and_exit_2(argv, expected, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_global_options_work_after_the_command(capsys, tmp_path):
    assert main(["refresh", "--config", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: no such config file" in capsys.readouterr().err


def _start_simulator(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, Path]:
    config = tmp_path / "config.toml"
    env = {**os.environ, "SEAMDESK_SIM_TOKEN": TOKEN}
    process = subprocess.Popen(
        [*SEAMDESK, "simulate", "--port", "0", "--write-config", str(config), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    line = process.stdout.readline()  # "config written ..." once the socket listens
    assert "config written" in line, process.stderr.read()
    assert "listening on http://127.0.0.1:" in process.stdout.readline()
    return process, config


def _seamdesk(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEAMDESK_SIM_TOKEN": TOKEN}
    return subprocess.run([*SEAMDESK, *argv], capture_output=True, text=True, env=env,
                          cwd=cwd, stdin=subprocess.DEVNULL, timeout=120)


@pytest.mark.slow
def test_simulate_then_refresh_over_a_real_socket(tmp_path):
    simulator, config = _start_simulator(tmp_path, "--scenario", str(DEMO))
    try:
        first = _seamdesk("--config", str(config), "refresh", cwd=tmp_path)
        second = _seamdesk("--config", str(config), "refresh", "--system", "erp", cwd=tmp_path)
    finally:
        simulator.send_signal(signal.SIGINT)
        simulator.wait(timeout=10)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["wms", "erp", "storefront", "middleware",
                                                      "supplier", "queue"]
    assert all(": complete (full)" in line for line in lines[:5])
    assert lines[5].startswith("queue: ") and " opened" in lines[5]
    assert second.returncode == 0 and second.stdout.startswith("erp: complete (incremental)")
    with sqlite3.connect(tmp_path / "seamdesk.db") as db:
        assert db.execute("SELECT count(*) FROM count_current").fetchone()[0] == 62  # 2 unmapped
    assert TOKEN not in (tmp_path / "seamdesk.db").read_bytes().decode("latin-1")


@pytest.mark.slow
def test_a_system_that_is_down_fails_the_refresh_with_exit_1(tmp_path):
    simulator, config = _start_simulator(tmp_path, "--generate", "50,2,1")
    simulator.send_signal(signal.SIGINT)
    simulator.wait(timeout=10)
    text = config.read_text().replace("[refresh]", "")
    config.write_text(text + "\n[refresh]\nretries = 1\nbackoff_seconds = 0\n")
    started = time.monotonic()
    result = _seamdesk("--config", str(config), "refresh", cwd=tmp_path)
    assert result.returncode == 1
    assert "refresh did not complete for wms, erp, storefront, middleware, supplier" in \
        result.stderr
    assert "connection failed" in result.stdout
    assert time.monotonic() - started < 60


def test_a_reader_that_leaves_early_ends_the_command_quietly(config, monkeypatch, capfd):
    """`seamdesk queue --json | head -c 1`: the pipe is gone before the output is written
    (here before a byte); no traceback, and the shell's code for SIGPIPE."""
    read, write = os.pipe()
    os.close(read)
    pipe = open(write, "w")  # noqa: SIM115 (main points its descriptor at /dev/null)
    monkeypatch.setattr(sys, "stdout", pipe)
    try:
        assert main(["--config", str(config.path), "queue", "--json"]) == 141
        print("gone where the pipe was", file=pipe, flush=True)  # no second failure at exit
    finally:
        pipe.close()
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("target,expected", [
    ("/", "--write-config: / is a folder, not a file"),
    ("/nonexistent/folder/config.toml", "/nonexistent/folder is not an existing folder"),
])
def test_a_config_the_simulator_cannot_write_is_named_before_it_listens(target, expected,
                                                                       capsys):
    assert main(["simulate", "--scenario", str(DEMO), "--write-config", target]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1
    assert not Path("/nonexistent").exists()


async def test_a_cache_damaged_after_it_opens_is_one_line_and_exit_2(config, sim, world,
                                                                     engine, capsys):
    from tests.test_lookup import seed

    await seed(config, sim, world, engine)
    engine.dispose()
    path = Path(config.cache_url.removeprefix("sqlite:///"))
    with path.open("r+b") as cache:  # the schema's first pages intact, data pages not
        cache.seek(12288)
        cache.write(b"\xff" * 4096)
    assert main(["--config", str(config.path), "lookup", "TEE-BLK-M"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seamdesk: the cache cannot be read: database disk image is "
                          "malformed") and err.count("\n") == 1


def test_a_cache_this_user_cannot_write_is_named_as_such(config, monkeypatch, capsys):
    """(As root every file is writable: os.access stands in for a read-only support login.)"""
    from app.cache import engine as engine_module

    engine_module.make_engine(config.cache_url)  # the file exists
    monkeypatch.setattr(engine_module.os, "access", lambda path, mode: False)
    assert main(["--config", str(config.path), "lookup", "TEE-BLK-M"]) == 2
    err = capsys.readouterr().err
    assert "the cache file is not writable by this user" in err and err.count("\n") == 1


def test_a_read_only_session_reads_a_cache_it_cannot_write(config, sim, world, engine,
                                                           monkeypatch, capsys, tmp_path):
    """Support staff over SSH: the floor terminal's cache is readable to them, not
    writable. A --read-only session opens it read-only (the floor's seamdesk keeps its WAL
    index beside it), looks things up, runs the checklist without saving it, and writes
    its packet to a folder of its own."""
    import sqlite3

    from sqlalchemy import func, select

    from app.cache import engine as engine_module
    from app.cache.models import ChecklistRecord
    from tests.conftest import sqlite_only
    from tests.test_lookup import seed

    sqlite_only(engine, "file permissions and SQLite's read-only mode")
    asyncio.run(seed(config, sim, world, engine))
    with engine.connect():  # the floor terminal, holding the cache open
        real = engine_module.os.access
        monkeypatch.setattr(engine_module.os, "access",
                            lambda path, mode: not mode & engine_module.os.W_OK and
                            real(path, mode))
        assert main(["--config", str(config.path), "queue"]) == 2
        assert "a --read-only session can read it" in capsys.readouterr().err
        assert main(["--config", str(config.path), "--read-only", "lookup", "TEE-BLK-M",
                     "--location", "DAL1"]) == 0
        assert "ERP and storefront disagree" in capsys.readouterr().out
        out = tmp_path / "packet"
        assert main(["--config", str(config.path), "--read-only", "snapshot", "TEE-BLK-M",
                     "--location", "DAL1", "--out", str(out)]) in (0, 1)  # 1: stale
        assert (out / "packet.json").is_file()

        from app.service import Desk

        desk = Desk(config, operator="sam", read_only=True)
        assert desk.cache_read_only and desk.start_checklist("TEE-BLK-M", "DAL1", 10).id is None
        with desk.engine.connect() as conn, pytest.raises(Exception, match="readonly"):
            conn.exec_driver_sql("DELETE FROM exception")  # SQLite's mode=ro, not a promise
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ChecklistRecord)) == 0
    assert sqlite3.sqlite_version_info >= (3, 22)  # reading WAL read-only needs 3.22


def test_a_packet_folder_that_cannot_be_made_is_one_line_and_exit_2(config, capsys, tmp_path):
    from app.cache import engine as engine_module

    engine_module.make_engine(config.cache_url)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["--config", str(config.path), "snapshot", "TEE-BLK-M", "--location", "DAL1",
                 "--out", str(blocker / "packet")]) == 2
    err = capsys.readouterr().err
    assert "cannot write the packet there" in err and err.count("\n") == 1


async def test_queue_locations_are_matched_in_any_case_and_unknown_ones_named(
        config, sim, world, engine, capsys):
    import json

    from tests.test_lookup import seed

    await seed(config, sim, world, engine)
    listed = {}
    for spelled in ("DAL1", "dal1"):
        assert main(["--config", str(config.path), "queue", "--location", spelled,
                     "--json"]) == 0
        # the two runs may straddle a second: ages are the wall clock's, not the filter's
        listed[spelled] = [{k: v for k, v in row.items() if k != "age_seconds"}
                           for row in json.loads(capsys.readouterr().out)]
    assert listed["dal1"] == listed["DAL1"] and listed["DAL1"]
    assert {row["location"] for row in listed["dal1"]} == {"DAL1"}
    assert main(["--config", str(config.path), "queue", "--location", "NOPE"]) == 2
    err = capsys.readouterr().err
    assert "--location: no such location 'NOPE' (locations: " in err and err.count("\n") == 1


def test_the_demo_keeps_its_packets_apart_from_real_escalations(sim, tmp_path, monkeypatch):
    """Packets made in the demo carry simulated numbers: they go to demo-packets/, which
    outlives the demo's throw-away folder, never to the packets/ real work uses."""
    from app.demo import demo_desk

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    desk = demo_desk(sim, "http://127.0.0.1:9", tmp_path / "demo", operator="ana",
                     read_only=False)
    folder = desk.config.packets_dir()
    assert folder.name == "demo-packets" and tmp_path / "data" in folder.parents
    assert desk.packets() == []
