"""The simulator's HTTP server: every vendor under its own path, plus /_sim controls.

  /shopify/admin/api/{version}/graphql.json   Shopify (storefront)
  /netsuite/services/rest/query/v1/suiteql    NetSuite (ERP)
  /shiphero/graphql                           ShipHero (WMS)
  /sap-b1/b1s/{v1|v2}/Login, Items, ...       SAP Business One Service Layer (ERP)
  /acumatica/entity/auth/login, /entity/Default/{version}/StockItem
                                              Acumatica contract-based REST (ERP)
  /bigcommerce/stores/simstore/v3/...         BigCommerce catalog + inventory (storefront)
  /celigo/v1/flows...                         Celigo integrator.io (middleware)
  /supplier/oauth2/token, /supplier/api/v1/...  the supplier portal (supplier)
  /_sim/...                                   simulator controls (not a vendor API)

The scenario's `[vendors]` picks which of them plays each compared role (only that one
is mounted); a `csv-export` role is a spreadsheet file written beside the config.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from app.simulator.acumatica import COMPANY as ACUMATICA_COMPANY
from app.simulator.acumatica import AcumaticaSim, warehouse_id
from app.simulator.bigcommerce import STORE_HASH, BigCommerceSim, location_id
from app.simulator.celigo import CeligoSim
from app.simulator.csv_files import COLUMNS, write_export
from app.simulator.netsuite import NetSuiteSim, location_internal_id
from app.simulator.sap_b1 import COMPANY, SapB1Sim, warehouse_code
from app.simulator.scenario import Faults
from app.simulator.shiphero import ShipHeroSim, warehouse_legacy_id
from app.simulator.shopify import ShopifySim
from app.simulator.shopify_format import location_gid
from app.simulator.supplier import CLIENT_ID, SupplierPortalSim, confirmations_of
from app.simulator.vendor import json_response
from app.simulator.world import World
from app.simulator.x12_files import write_confirmations
from app.threads import bulk_work

TOKEN_ENV = "SEAMDESK_SIM_TOKEN"
VENDORS = {"wms": ("shiphero", "/shiphero"), "erp": ("netsuite", "/netsuite"),
           "storefront": ("shopify", "/shopify"), "middleware": ("celigo", "/celigo"),
           "supplier": ("supplier-portal", "/supplier")}
"""The default vendor (connector kind) of each role and where it is mounted."""
FORMATS = {  # vendor → (simulator, mount, path under it the connector's base_url adds)
    "shiphero": (ShipHeroSim, "/shiphero", ""), "netsuite": (NetSuiteSim, "/netsuite", ""),
    "shopify": (ShopifySim, "/shopify", ""), "sap-b1": (SapB1Sim, "/sap-b1", ""),
    "acumatica": (AcumaticaSim, "/acumatica", ""),
    "bigcommerce": (BigCommerceSim, "/bigcommerce", f"/stores/{STORE_HASH}"),
    "celigo": (CeligoSim, "/celigo", ""), "supplier-portal": (SupplierPortalSim, "/supplier", "")}
LOCATION_IDS = {  # vendor → its own id of a location
    "shiphero": lambda loc: str(warehouse_legacy_id(loc)),
    "netsuite": lambda loc: str(location_internal_id(loc)), "shopify": location_gid,
    "sap-b1": warehouse_code, "acumatica": warehouse_id,
    "bigcommerce": lambda loc: str(location_id(loc)), "csv-export": lambda loc: loc.code}
EXTRA_KEYS = {  # vendor → config lines besides kind, base_url and token_env
    "sap-b1": [f'company = "{COMPANY}"', 'username = "manager"', 'number_prefix = "PO-"'],
    "acumatica": [f'company = "{ACUMATICA_COMPANY}"', 'username = "admin"'],
    "supplier-portal": [f'client_id = "{CLIENT_ID}"']}


def sim_token() -> str:
    return os.environ.get(TOKEN_ENV) or "sim"


class Simulator:
    """The simulated systems behind one ASGI app (usable in-process or over a socket)."""

    def __init__(self, world: World, token: str | None = None) -> None:
        self.world = world
        token = token or sim_token()
        self.formats = {role: world.vendors.get(role) or kind
                        for role, (kind, _) in VENDORS.items()}
        self.vendors = {role: FORMATS[vendor][0](world, token)
                        for role, vendor in self.formats.items() if vendor in FORMATS}
        routes = [Mount(FORMATS[self.formats[role]][1], routes=sim.routes())
                  for role, sim in self.vendors.items()]
        self.exports: dict[str, Path] = {}  # csv-export role → the file it writes
        routes.append(Mount("/_sim", routes=[
            Route("/state", self._state, methods=["GET"]),
            Route("/faults", self._faults, methods=["POST"]),
            Route("/mutate", self._mutate, methods=["POST"]),
            Route("/clock", self._clock, methods=["POST"]),
        ]))
        self.app = Starlette(routes=routes)

    def location_ids(self) -> dict[str, dict[str, str]]:
        """Canonical code → each system's own id for it, as the vendors number them."""
        ids: dict[str, dict[str, str]] = {}
        for loc in self.world.locations:
            per_system = ids.setdefault(loc.code, {})
            for role in ("wms", "erp", "storefront"):
                if role in loc.systems:
                    per_system[role] = LOCATION_IDS[self.formats[role]](loc)
        return ids

    def write_exports(self) -> None:
        """Each csv-export role's file, as of the simulator's clock (the demo writes them
        again at each moment of history it replays)."""
        for role, path in self.exports.items():
            write_export(self.world, role, path)

    def set_faults(self, role: str, faults: Faults | None) -> None:
        if faults is None:
            self.world.faults.pop(role, None)
        else:
            self.world.faults[role] = faults
        if role in self.vendors:
            self.vendors[role].gate.requests = 0

    async def _state(self, request: Request) -> Response:
        return json_response({
            "name": self.world.name, "now": self.world.now(), "version": self.world.version,
            "requests": {role: sim.gate.requests for role, sim in self.vendors.items()},
            "storage_token_leaks": sum(sim.storage_token_leaks
                                       for sim in self.vendors.values())})

    async def _faults(self, request: Request) -> Response:
        body = await request.json()
        for role, faults in body.items():
            self.set_faults(role, Faults.model_validate(faults) if faults else None)
        return json_response({"ok": True})

    async def _mutate(self, request: Request) -> Response:
        body = await request.json()
        changed = self.world.mutate(float(body.get("fraction", 0.01)), int(body.get("seed", 0)),
                                    everywhere=bool(body.get("everywhere", False)))
        return json_response({"changed": changed})

    async def _clock(self, request: Request) -> Response:
        body = await request.json()
        self.world.set_clock(body.get("at"))
        return json_response({"now": self.world.now()})


def write_config(simulator: Simulator, base_url: str, path: Path,
                 x12_folder: Path | None = None) -> None:
    """A ready config.toml pointing at this simulator, with its cache beside it. With
    `x12_folder`, the supplier is read from 855/865 files the simulated supplier writes
    there (its confirmations as of the simulator's clock) instead of from its portal."""
    lines = ["# Written by `seamdesk simulate`: points at the simulator it started.",
             "[cache]", 'url = "sqlite:///seamdesk.db"', ""]
    for role, kind in simulator.formats.items():
        if role == "supplier" and x12_folder is not None:
            write_confirmations(x12_folder, confirmations_of(simulator.world))
            lines += ["[systems.supplier]", 'kind = "x12-folder"',
                      f"path = {toml_text(str(x12_folder))}", ""]
            continue
        if kind == "csv-export":
            export = path.parent / f"{role}-stock.csv"
            simulator.exports[role] = export
            write_export(simulator.world, role, export)
            columns = ", ".join(f'{key} = "{column}"' for key, column in COLUMNS.items())
            lines += [f"[systems.{role}]", 'kind = "csv-export"',
                      f"path = {toml_text(export.name)}", f"columns = {{ {columns} }}", ""]
            continue
        _, mount, under = FORMATS[kind]
        lines += [f"[systems.{role}]", f'kind = "{kind}"',
                  f'base_url = "{base_url}{mount}{under}"', f'token_env = "{TOKEN_ENV}"',
                  *EXTRA_KEYS.get(kind, []), ""]
    lines.append("[locations]")
    mapped = {loc.code for loc in simulator.world.locations if loc.mapped}
    for code, ids in simulator.location_ids().items():
        if code in mapped:
            pairs = ", ".join(f'{system} = "{value}"' for system, value in ids.items())
            lines.append(f'"{code}" = {{ {pairs} }}')
    lines += ["", "[owners]  # owner role = the person or team findings route to",
              'integration = "Integration team (#int-oncall)"',
              'integration_lead = "Integration lead"', 'erp_owner = "ERP owner"',
              'master_data = "Master data team"', 'procurement = "Procurement"',
              'warehouse_lead = "Warehouse lead on shift"', ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def toml_text(text: str) -> str:
    """A TOML basic string (a folder path may hold quotes or backslashes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SimServer:
    """uvicorn serving a Simulator: in the foreground (`simulate`) or a thread (`demo`)."""

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(simulator.app, host=host, port=port, log_level="warning",
                                access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.host = host
        self.port: int | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def serve(self, on_ready: Callable[[int], None] | None = None) -> None:
        """Serve until stopped; `on_ready(port)` once the socket listens (port 0 → free)."""
        # Rendering pages makes millions of short-lived objects: bulk work's collector
        # threshold (every vendor answers on the event loop, so no thread waits for it).
        with bulk_work():
            task = asyncio.create_task(self.server.serve())
            while not self.server.started:
                if task.done():
                    await task
                    raise OSError(f"cannot listen on {self.host}")
                await asyncio.sleep(0.01)
            self.port = self.server.servers[0].sockets[0].getsockname()[1]
            self._ready.set()
            if on_ready:
                on_ready(self.port)
            await task

    def start_in_thread(self, timeout: float = 15.0) -> None:
        def run() -> None:
            try:
                asyncio.run(self.serve())
            except BaseException as exc:  # reported to the starting thread
                self._error = exc
                self._ready.set()

        self._thread = threading.Thread(target=run, name="simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None or self.port is None:
            raise OSError(f"the simulator did not start: {self._error or 'timed out'}")

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
