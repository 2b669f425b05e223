"""How the scenario's [[order]] rows unfold over time, for the simulated ERP, WMS and
supplier (each renders them in its own vendor's format; nothing here is a wire format).

A row is one document line as each system holds it at the scenario's now. What came
before is filled in the plainest way consistent with it:
- the document was created a day before anything the rows of its number mention;
- ERP: version 1 ordered `wms_qty` when `erp_version` > 1 (the scenario does not say
  what the original quantity was; the WMS still holding the released quantity is the
  best witness), and each later version stepped toward `erp_qty`, the last at
  `amended_at`, earlier ones an hour apart before it;
- WMS: the pick was released at `pick_released_at` and has been in `wms_status` since
  (picks 10 minutes after the release, the shipment 20 minutes after the picks);
- supplier: versions 1 to `supplier_version` were confirmed, each 15 minutes after the
  ERP's version (never after the next one), the last at `confirmed_at` with
  `supplier_qty`; earlier ones confirmed what they were asked.
Rows sharing a number are the lines of one document, numbered in scenario order.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.simulator.scenario import ScenarioOrder

DAY = 86400
PICK_DELAY, SHIP_DELAY = 600, 1200
CONFIRM_DELAY = 900


@dataclass(frozen=True, slots=True)
class Step:
    version: int
    quantity: int
    at: int


@dataclass(frozen=True, slots=True)
class Confirmation:
    version: int
    asked: int  # what the ERP's version ordered
    confirmed: int
    at: int


@dataclass(frozen=True, slots=True)
class SimOrderLine:
    index: int  # the row's place among the scenario's [[order]] rows
    number: str
    line: int  # 1-based within its document
    sku: str
    location: str
    created: int
    erp: tuple[Step, ...]  # empty: the ERP does not hold the line
    wms_qty: int | None  # None: the WMS does not hold it
    released_at: int | None
    wms_status: str | None
    confirmations: tuple[Confirmation, ...]  # empty: the supplier confirmed nothing

    def erp_as_of(self, now: int) -> Step | None:
        steps = [s for s in self.erp if s.at <= now]
        return steps[-1] if steps else None

    def confirmations_as_of(self, now: int) -> list[Confirmation]:
        return [c for c in self.confirmations if c.at <= now]

    @property
    def picked_at(self) -> int | None:
        return None if self.released_at is None else self.released_at + PICK_DELAY

    @property
    def shipped_at(self) -> int | None:
        return None if self.released_at is None else self.released_at + PICK_DELAY + SHIP_DELAY

    @property
    def wms_updated_at(self) -> int:
        status = self.wms_status or "released"
        if status == "shipped" and self.shipped_at is not None:
            return self.shipped_at
        if status in ("picking", "picked") and self.picked_at is not None:
            return self.picked_at
        return self.released_at if self.released_at is not None else self.created


def _epoch(value) -> int | None:
    return None if value is None else int(value.timestamp())


def order_lines(orders: list[ScenarioOrder], base_now: int) -> dict[str, list[SimOrderLine]]:
    """Document number → its lines, in scenario order."""
    rows: dict[str, list[tuple[int, ScenarioOrder]]] = {}
    for index, row in enumerate(orders):
        rows.setdefault(row.number, []).append((index, row))
    documents: dict[str, list[SimOrderLine]] = {}
    for number, members in rows.items():
        times = [t for _, row in members for t in (
            _epoch(row.amended_at), _epoch(row.pick_released_at), _epoch(row.confirmed_at))
            if t is not None]
        created = min([*times, base_now]) - DAY
        documents[number] = [_line(index, position, row, created)
                             for position, (index, row) in enumerate(members, 1)]
    return documents


def _line(index: int, position: int, row: ScenarioOrder, created: int) -> SimOrderLine:
    erp: list[Step] = []
    if row.erp_qty is not None:
        versions = max(1, row.erp_version or 1)
        final = row.erp_qty
        original = row.wms_qty if versions > 1 and row.wms_qty is not None else final
        amended = _epoch(row.amended_at) or created + 3600 * versions
        erp.append(Step(1, original, created))
        for version in range(2, versions + 1):
            at = max(amended - (versions - version) * 3600, created + version)
            quantity = original + round((final - original) * (version - 1) / (versions - 1))
            erp.append(Step(version, quantity, at))
    wms_qty = row.wms_qty
    if wms_qty is None and (row.wms_status or row.pick_released_at):
        wms_qty = row.erp_qty  # the WMS holds the line; the scenario names no quantity
    confirmations = []
    if row.supplier_qty is not None or row.supplier_version is not None:
        versions = max(1, row.supplier_version or 1)
        last_at = _epoch(row.confirmed_at) or (erp[-1].at if erp else created) + CONFIRM_DELAY
        for version in range(1, versions + 1):
            asked = _asked(erp, version, row.supplier_qty)
            at = last_at if version == versions else min(
                _step_at(erp, version, created) + CONFIRM_DELAY, last_at - (versions - version))
            confirmed = row.supplier_qty if version == versions and \
                row.supplier_qty is not None else asked
            confirmations.append(Confirmation(version, asked, confirmed, at))
    return SimOrderLine(index, row.number, position, row.sku, row.location, created,
                        tuple(erp), wms_qty, _epoch(row.pick_released_at), row.wms_status,
                        tuple(confirmations))


def _asked(erp: list[Step], version: int, fallback: int | None) -> int:
    for step in erp:
        if step.version == version:
            return step.quantity
    return erp[-1].quantity if erp else (fallback or 0)


def _step_at(erp: list[Step], version: int, created: int) -> int:
    for step in erp:
        if step.version == version:
            return step.at
    return created
