"""Scenario files (CONTRACTS.md): the simulated systems' data, as TOML.

Extensions beyond the contract (all optional, so every contract file stays valid):
- `[[location]] systems = ["wms", ...]` limits which systems know a location, and
  `mapped = false` leaves it out of the config `--write-config` writes (an unmapped
  location, as after someone adds a store without updating the sync rules).
- `[faults.X]` also takes `down`, `unauthorized_after`, `malformed_at` + `malformed`.
- `[limits.X]` sets a vendor's throttle bucket (`bucket`, `restore_rate`); X may also be
  supplier or middleware.
- `[[order]]` rows sharing a `number` are the lines of one document; how each system's
  view of them unfolds over time is in app.simulator.orders.
- `[[error]]` also takes `code`, `source`, `classification` and `resolved_at`.
- `[vendors]` picks the vendor format of each compared role: `wms` = shiphero |
  csv-export, `erp` = netsuite | sap-b1 | acumatica | csv-export, `storefront` = shopify |
  bigcommerce | csv-export (defaults: shiphero, netsuite, shopify). A csv-export role is
  a spreadsheet export file the simulator writes beside the config it writes.
- `[faults.X] session_expires_after = N`: a login session times out after N requests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from app.errors import ScenarioError, read_toml
from app.records import INT64

SYSTEMS = ("wms", "erp", "storefront")

# Quoted ISO strings (as in CONTRACTS.md) or TOML datetimes; no offset means UTC.
Time = Annotated[datetime, AfterValidator(lambda t: t if t.tzinfo else t.replace(tzinfo=UTC))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _fits_a_database(self):
        """Every whole number fits a signed 64-bit column (what SQLite and the vendors'
        JSON carry): a bigger one is a mistake in the file, named here, not a crash."""
        for name, value in self:
            if type(value) is int and value not in INT64:
                raise ValueError(f"{name}: {value} is out of range (at most 19 digits)")
        return self


class ScenarioLocation(_Strict):
    code: str = Field(min_length=1)
    name: str | None = None
    systems: list[Literal["wms", "erp", "storefront"]] = list(SYSTEMS)
    mapped: bool = True


class ScenarioItem(_Strict):
    sku: str = Field(min_length=1)
    name: str | None = None
    pack: int | None = Field(None, ge=1)


class ScenarioCount(_Strict):
    system: Literal["wms", "erp", "storefront"]
    sku: str
    location: str
    on_hand: int | None = None
    available: int | None = None
    allocated: int | None = None
    in_transit: int | None = None
    updated_at: Time | None = None


class ScenarioHistory(ScenarioCount):
    at: Time


class ScenarioEvent(_Strict):
    system: Literal["wms", "erp"]
    id: str
    kind: Literal["adjustment", "receipt", "shipment", "transfer", "cycle_count"]
    sku: str
    location: str
    delta: int
    at: Time
    reason: str | None = None


class ScenarioOrder(_Strict):
    number: str
    sku: str
    location: str
    erp_qty: int | None = None
    erp_version: int | None = None
    amended_at: Time | None = None
    wms_qty: int | None = None
    wms_version: int | None = None
    pick_released_at: Time | None = None
    wms_status: Literal["released", "picking", "picked", "shipped"] | None = None
    supplier_qty: int | None = None
    supplier_version: int | None = None
    confirmed_at: Time | None = None


class ScenarioError_(_Strict):  # the [[error]] table: middleware failed messages
    id: str
    flow: str | None = None
    handoff: str | None = None
    sku: str | None = None
    location: str | None = None
    occurred_at: Time
    retries: int = 0
    message: str = ""
    # Extensions (optional): the vendor's error code, where in the step it failed, its
    # classification, and when someone resolved it (until then it is open).
    code: str | None = None
    source: str | None = None
    classification: str | None = None
    resolved_at: Time | None = None


class Faults(_Strict):
    throttle_every: int = Field(0, ge=0)
    error_rate: float = Field(0.0, ge=0, le=1)
    latency_ms: int = Field(0, ge=0)
    down: bool = False
    down_from: Time | None = None  # down once the simulator's clock reaches this time
    unauthorized_after: int = Field(0, ge=0)  # requests after this many answer 401
    malformed_at: int = Field(0, ge=0)  # the Nth request gets a broken answer
    malformed: Literal["not-json", "truncated", "missing-field", "wrong-type"] = "truncated"
    session_expires_after: int = Field(0, ge=0)  # a login session's requests before it
    # times out (vendors with sessions answer 401 then; a new login works)


class Limits(_Strict):
    bucket: float = Field(gt=0)
    restore_rate: float = Field(gt=0)


class Vendors(_Strict):
    """Which vendor's format plays each compared role (`[vendors]`)."""

    wms: Literal["shiphero", "csv-export"] = "shiphero"
    erp: Literal["netsuite", "sap-b1", "acumatica", "csv-export"] = "netsuite"
    storefront: Literal["shopify", "bigcommerce", "csv-export"] = "shopify"


class Scenario(_Strict):
    name: str = "unnamed scenario"
    now: Time | None = None
    location: list[ScenarioLocation]
    item: list[ScenarioItem]
    count: list[ScenarioCount]
    history: list[ScenarioHistory] = []
    event: list[ScenarioEvent] = []
    order: list[ScenarioOrder] = []
    error: list[ScenarioError_] = []
    faults: dict[Literal["wms", "erp", "storefront", "supplier", "middleware"], Faults] = {}
    limits: dict[Literal["wms", "erp", "storefront", "supplier", "middleware"], Limits] = {}
    vendors: Vendors = Vendors()

    def check_references(self) -> None:
        codes = {loc.code for loc in self.location}
        skus = {item.sku for item in self.item}
        tables = (("count", self.count), ("history", self.history), ("event", self.event),
                  ("order", self.order))
        for table, rows in tables:
            for index, row in enumerate(rows):
                if row.location not in codes:
                    raise ValueError(f"{table}[{index}].location: unknown location "
                                     f"{row.location!r}")
                if row.sku not in skus:
                    raise ValueError(f"{table}[{index}].sku: unknown SKU {row.sku!r}")


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; problems become one ScenarioError line."""
    return parse_scenario(read_toml(path, ScenarioError, "scenario"), str(path))


def parse_scenario(raw: dict, origin: str = "scenario") -> Scenario:
    try:
        scenario = Scenario.model_validate(raw)
        scenario.check_references()
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        key = ".".join(str(p) for p in error["loc"])
        message = {"extra_forbidden": "unknown key", "missing": "missing (required)"}.get(
            error["type"], error["msg"].removeprefix("Value error, "))
        raise ScenarioError(f"{origin}: {key}: {message}") from None
    except ValueError as exc:
        raise ScenarioError(f"{origin}: {exc}") from None
    return scenario
