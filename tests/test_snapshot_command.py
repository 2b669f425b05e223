"""`seamdesk snapshot` as scripts and ticket bots run it: a real process, no TTY (stdin
/dev/null, output captured), exit codes 0, 1 (stale or empty cache: packet written all
the same) and 2 (bad input, one line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app import config as config_module
from tests.conftest import TOKEN
from tests.test_lookup import seed

pytestmark = pytest.mark.slow
SEAMDESK = [sys.executable, "-m", "app.cli"]


def snapshot(config_path, *argv, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
    env["SEAMDESK_SIM_TOKEN"] = TOKEN
    return subprocess.run([*SEAMDESK, "--config", str(config_path), "snapshot", *argv],
                          capture_output=True, text=True, env=env, cwd=cwd,
                          stdin=subprocess.DEVNULL, timeout=120)


async def test_snapshot_without_a_tty_writes_the_packet_and_exits_by_freshness(
        config, sim, world, engine, tmp_path):
    await seed(config, sim, world, engine)  # read at the scenario's time: stale by now
    out = tmp_path / "ticket-1"
    stale = snapshot(config.path, "TEE-BLK-M", "--location", "dal1", "--out", str(out),
                     "--symptom", "7", cwd=tmp_path)
    assert stale.returncode == 1, stale.stderr
    assert stale.stdout.splitlines() == [str(out / name) for name in
                                         ("packet.md", "packet.json", "lookup.txt",
                                          "lookup.svg")]
    assert stale.stderr.startswith("seamdesk: packet written, but stale cache: WMS was last")
    assert stale.stderr.count("\n") == 1
    packet = json.loads((out / "packet.json").read_text())
    assert packet["location"] == "DAL1" and packet["handoff"]["finding"] == \
        "amendment-after-release"
    assert packet["warnings"] and "stale beyond" in packet["warnings"][0]
    assert "TEE-BLK-M" in (out / "lookup.svg").read_text()
    assert TOKEN not in "".join(p.read_text() for p in out.iterdir())

    config.path.write_text(config.path.read_text().replace(
        "[refresh]", "[refresh]\nstale_after_seconds = 315360000", 1)
        if "[refresh]" in config.path.read_text()
        else config.path.read_text() + "\n[refresh]\nstale_after_seconds = 315360000\n")
    config_module.load(config.path)  # still a valid config
    fresh = snapshot(config.path, "TEE-BLK-M", "--location", "DAL1", "--out",
                     str(tmp_path / "ticket-2"), cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stderr == "" and len(fresh.stdout.splitlines()) == 4
    assert json.loads((tmp_path / "ticket-2" / "packet.json").read_text())["symptom"][
        "number"] == 10


@pytest.mark.parametrize(("argv", "expected"), [
    (["TEE-BLK-M", "--location", "DAL1", "--out", "x", "--symptom", "11"],
     "--symptom: 11 is not a symptom"),
    (["TEE-BLK-M", "--location", "NOPE", "--out", "x"], "no such location 'NOPE'"),
    (["NO-SUCH-SKU", "--location", "DAL1", "--out", "x"], "no such SKU 'NO-SUCH-SKU'"),
    (["TEE-BLK-M", "--out", "x"], "the following arguments are required: --location"),
])
async def test_bad_input_is_one_line_and_exit_2(argv, expected, config, sim, world, engine,
                                                tmp_path):
    await seed(config, sim, world, engine)
    result = snapshot(config.path, *argv, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and not (tmp_path / "x").exists()


def test_an_empty_cache_still_writes_a_packet_that_says_so(config, tmp_path):
    result = snapshot(config.path, "TEE-BLK-M", "--location", "DAL1", "--out",
                      str(tmp_path / "t"), cwd=tmp_path)
    assert result.returncode == 1
    assert "the cache is empty" in result.stderr
    packet = json.loads((tmp_path / "t" / "packet.json").read_text())
    assert packet["warnings"][0].startswith("the cache is empty")


async def test_a_session_setting_the_app_refuses_is_the_config_error_not_a_crash(
        config, sim, world, engine, tmp_path):
    await seed(config, sim, world, engine)
    with config.path.open("a") as file:
        file.write('\n[session]\ntheme = "no-such-theme"\n')
    result = snapshot(config.path, "TEE-BLK-M", "--location", "DAL1", "--out", "x",
                      cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "session.theme: unknown theme 'no-such-theme'" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "x").exists()
