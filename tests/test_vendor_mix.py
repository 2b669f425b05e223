"""Vendor mixes end to end: the scenario's [vendors] picks the formats, --write-config the
connector kinds; simulate → refresh → lookup --json reads the right numbers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app import config as config_module
from app.cli import main
from app.errors import ConfigError, ScenarioError
from app.simulator.scenario import load_scenario, parse_scenario
from app.simulator.server import Simulator, write_config
from app.simulator.world import from_scenario
from tests.conftest import ROOT, TOKEN, refresh

SAP_BC = ROOT / "scenarios" / "sap-bigcommerce.toml"
ACU_CSV = ROOT / "scenarios" / "acumatica-csv.toml"
SEAMDESK = [sys.executable, "-m", "app.cli"]
KINDS = {SAP_BC: {"wms": "shiphero", "erp": "sap-b1", "storefront": "bigcommerce"},
         ACU_CSV: {"wms": "csv-export", "erp": "acumatica", "storefront": "shopify"}}


def _sim(scenario: Path) -> Simulator:
    world = from_scenario(load_scenario(scenario))
    world.set_clock(world.base_now)
    return Simulator(world, token=TOKEN)


def _tee(out: str) -> dict:
    data = json.loads(out)
    assert data["sku"] == "TEE-BLK-M" and data["location"] == "DAL1"
    return data


@pytest.mark.parametrize("scenario", [SAP_BC, ACU_CSV])
async def test_a_mix_refreshes_and_looks_up(scenario, tmp_path, capsys):
    sim = _sim(scenario)
    path = tmp_path / "config.toml"
    write_config(sim, "http://sim", path)
    config = config_module.load(path)
    assert {role: config.systems[role].kind for role in KINDS[scenario]} == KINDS[scenario]
    results = await refresh(config, sim, full=True)
    assert all(r.status == "complete" and not r.error for r in results.values()), \
        [r.summary() for r in results.values()]
    assert main(["--config", str(path), "lookup", "TEE-BLK-M", "--location", "DAL1",
                 "--json"]) == 0
    data = _tee(capsys.readouterr().out)
    systems = data["systems"]
    assert (systems["wms"]["on_hand"], systems["erp"]["on_hand"],
            systems["storefront"]["on_hand"]) == (40, 40, 46)
    assert systems["erp"]["available"] == 34 and systems["erp"]["allocated"] == 6
    assert systems["erp"]["in_transit"] is None  # neither ERP reads an in-transit figure
    assert data["findings"][0]["code"] == "downstream-drift"
    codes = {f["code"] for f in data["findings"]}
    assert ("amendment-after-release" in codes) == (scenario == SAP_BC)  # from SAP's PO


async def test_a_csv_export_is_written_again_as_the_clock_moves(tmp_path):
    sim = _sim(ACU_CSV)
    write_config(sim, "http://sim", tmp_path / "config.toml")
    export = tmp_path / "wms-stock.csv"
    assert "TEE-BLK-M" in export.read_text()
    sim.world.set_clock(sim.world.base_now - 86400 * 2)  # before anything was counted
    sim.write_exports()
    assert export.read_text().count("\n") == 1  # the header only


def test_vendors_must_be_known_for_their_role():
    raw = {"location": [{"code": "A"}], "item": [{"sku": "S"}], "count": [],
           "vendors": {"erp": "bigcommerce"}}
    with pytest.raises(ScenarioError, match=r"vendors\.erp"):
        parse_scenario(raw)
    raw["vendors"] = {"storefront": "bigcommerce"}
    assert parse_scenario(raw).vendors.erp == "netsuite"  # the defaults stay


SESSION = """
[systems.erp]
kind = "{kind}"
base_url = "https://erp.example.com"
token_env = "T_ERP"
{extra}
"""


@pytest.mark.parametrize("kind,extra,expected", [
    ("sap-b1", 'username = "manager"', "systems.erp: company: missing"),
    ("acumatica", 'company = "Co"', "systems.erp: username: missing"),
    ("netsuite", 'company = "Co"', "company: only sap-b1, acumatica log in with it"),
    ("acumatica", 'company = "Co"\nusername = "u"\nnumber_prefix = "PO-"',
     "number_prefix: only a sap-b1 kind takes it"),
    ("bigcommerce", 'columns = { sku = "A" }', "columns: only csv-export and generic-rest"),
])
def test_vendor_key_mistakes_are_one_line(kind, extra, expected, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(SESSION.format(kind=kind, extra=extra))
    with pytest.raises(ConfigError) as caught:
        config_module.load(path, require_tokens=False)
    assert expected in caught.value.message and "\n" not in caught.value.message


def _run(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEAMDESK_SIM_TOKEN": TOKEN}
    return subprocess.run([*SEAMDESK, *argv], capture_output=True, text=True, env=env,
                          cwd=cwd, stdin=subprocess.DEVNULL, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", [SAP_BC, ACU_CSV])
def test_simulate_refresh_lookup_over_a_real_socket(scenario, tmp_path):
    config = tmp_path / "config.toml"
    env = {**os.environ, "SEAMDESK_SIM_TOKEN": TOKEN}
    server = subprocess.Popen(
        [*SEAMDESK, "simulate", "--scenario", str(scenario), "--port", "0",
         "--write-config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, cwd=tmp_path)
    try:
        assert "config written" in server.stdout.readline(), server.stderr.read()
        server.stdout.readline()
        refreshed = _run("--config", str(config), "refresh", cwd=tmp_path)
        looked = _run("--config", str(config), "lookup", "TEE-BLK-M", "--location", "DAL1",
                      "--json", cwd=tmp_path)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    assert all(": complete (full)" in line for line in refreshed.stdout.splitlines()[:5])
    assert looked.returncode == 0, looked.stderr
    assert _tee(looked.stdout)["systems"]["storefront"]["available"] == 40
    assert TOKEN not in (tmp_path / "seamdesk.db").read_bytes().decode("latin-1")
