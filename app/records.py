"""Normalized records: what every connector yields and what the cache stores.

Times are UTC epoch seconds (see app.clock). Quantities are None where a system has no
such number (ShipHero has no in-transit figure, for example), never a made-up zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

EVENT_KINDS = ("adjustment", "receipt", "shipment", "transfer", "cycle_count")
ROLES = ("wms", "erp", "storefront", "supplier", "middleware")
"""The roles a configured system can play; the first three are compared side by side."""
COMPARED = ROLES[:3]
HANDOFFS = ("wms->erp", "erp->storefront", "erp->wms", "erp->supplier")
"""The handoffs between two systems a finding (or a middleware flow) can name."""
INT64 = range(-2**63, 2**63)  # the whole numbers the cache (and the vendors' JSON) hold
TITLES = {"wms": "WMS", "erp": "ERP", "storefront": "Storefront"}  # headings
SHORT = {"wms": "WMS", "erp": "ERP", "storefront": "SF"}  # where columns are narrow


class CountRow(NamedTuple):  # a tuple: cheap to build by the hundred thousand
    sku: str
    location_id: str  # the system's own location id; mapped to a canonical code on write
    on_hand: int | None
    available: int | None
    allocated: int | None
    in_transit: int | None
    updated_at: int | None  # the system's own last-update time
    name: str | None = None  # item name, when the system sends one alongside


class EventRow(NamedTuple):
    source_id: str  # unique within the system (the vendor's internal id)
    event_id: str  # the reference people and other systems use (WMS event id, document no.)
    kind: str  # one of EVENT_KINDS
    sku: str
    location_id: str
    delta: int
    at: int
    reason: str | None = None


class MessageRow(NamedTuple):
    """One failed message the integration middleware holds (open or resolved)."""

    error_id: str  # the vendor's identity for the error (unique within the system)
    flow: str  # the flow's name, as people know it
    flow_id: str  # the vendor's id of the flow (resolve and retry go by flow and step)
    step: str  # the export/import step that failed (the vendor's id)
    occurred_at: int
    source: str | None  # where in the step it failed: application, mapping, import, ...
    code: str | None
    message: str  # verbatim (may hold customer data: stored, never logged)
    classification: str | None
    retry_key: str | None  # what a retry of this error is keyed by
    trace_key: str | None  # the source record's id
    handoff: str | None  # wms->erp, erp->storefront, ... (None: the flow says nothing)
    sku: str | None
    resolved: bool = False
    resolved_at: int | None = None
    location_id: str | None = None  # the system's own location id, when it names one


class OrderLineRow(NamedTuple):
    """One order/PO line as one system holds it. Each system fills what it knows and
    leaves the rest None: the ERP the ordered quantity, its version and amendment time;
    the WMS the pick (released, picked, shipped); the supplier what it confirmed."""

    number: str  # the document number people use (PO-1042), as this system writes it
    line: str  # the line's key within the document, in this system's numbering
    sku: str
    kind: str | None = None  # "purchase" | "sales"; None: the system does not say
    location_id: str | None = None  # the system's own location id (None: names none)
    quantity: int | None = None  # ordered (ERP), to pick (WMS), asked for (supplier)
    version: int | None = None  # ERP: 1 + quantity amendments; supplier: version confirmed
    changed_at: int | None = None  # the document's last change in this system
    amended_at: int | None = None  # ERP: the newest quantity amendment
    status: str | None = None  # the system's own word (ERP label, WMS pick state, ACK)
    released_at: int | None = None  # WMS: when the pick was released (allocated)
    picked: int | None = None  # WMS: picked so far
    shipped: int | None = None  # WMS: shipped; ERP: fulfilled/received
    confirmed: int | None = None  # supplier: the quantity it commits to
    confirmed_at: int | None = None  # supplier: when it confirmed
    source_id: str | None = None  # the vendor's own id of the record (for support)


@dataclass(frozen=True, slots=True)
class OrderLine:
    """An order line as the cache holds it: one system's view, location mapped."""

    system: str
    number: str
    line: str
    sku: str
    kind: str | None
    location: str | None  # canonical code, "system:id" when unmapped, None: none named
    quantity: int | None
    version: int | None
    changed_at: int | None
    amended_at: int | None
    status: str | None
    released_at: int | None
    picked: int | None
    shipped: int | None
    confirmed: int | None
    confirmed_at: int | None


@dataclass(frozen=True, slots=True)
class OpenMessage:
    """An open middleware error as the cache holds it (the lookup's and the queue's view)."""

    system: str
    error_id: str
    flow: str
    handoff: str | None
    location: str | None  # canonical code; None: the error names no location
    occurred_at: int
    code: str | None
    message: str
    classification: str | None


@dataclass(slots=True, frozen=True)
class LocationRow:
    location_id: str
    name: str | None = None


@dataclass(slots=True)
class Page:
    """One vendor page (or bulk-file chunk), written to the cache in one transaction."""

    counts: list[CountRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    locations: list[LocationRow] = field(default_factory=list)
    messages: list[MessageRow] = field(default_factory=list)
    orders: list[OrderLineRow] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.counts) + len(self.events) + len(self.messages) + len(self.orders)


@dataclass(slots=True)
class RunStats:
    """Counters a connector's HTTP client keeps while a run is under way."""

    requests: int = 0
    throttled: int = 0
    retries: int = 0
    notes: list[str] = field(default_factory=list)  # rows a source skipped, and why


@dataclass(slots=True)  # not frozen: made ~10^5 times a refresh, 5x faster unfrozen
class Observation:
    """One system's numbers for a SKU at a location, as the cache holds them (never
    changed once made)."""

    system: str
    location: str
    sku: str
    on_hand: int | None
    available: int | None
    allocated: int | None
    in_transit: int | None
    updated_at: int | None
    read_at: int

    def read_first_at(self, read_at: int) -> Observation:
        """This version as it was first read (`replace` costs several times more, and the
        detectors ask for every key a refresh changed)."""
        return Observation(self.system, self.location, self.sku, self.on_hand,
                           self.available, self.allocated, self.in_transit, self.updated_at,
                           read_at)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A sync run as screens and the diagnosis engine see it."""

    id: int
    system: str
    mode: str
    status: str
    started_at: int
    finished_at: int | None
    pages: int
    rows: int
    requests: int
    throttled: int
    retries: int
    error: str | None
