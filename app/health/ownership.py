"""Which system owns each data element (config.toml `[ownership]`, with defaults): the
system whose number wins when two disagree, or for a shared field the order in which
they win. The health screen, help and finding texts read it from here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from app.records import ROLES

ELEMENTS = {  # element → (label, what it covers)
    "on_hand": ("Physical on-hand", "what is on the shelf: counts, adjustments, receipts"),
    "allocation": ("Allocation", "committed / reserved quantities"),
    "purchasing": ("Purchasing", "POs, their versions and amendments"),
    "item_master": ("Item master", "SKUs, names, units of measure, pack factors"),
    "channel_availability": ("Channel availability", "what each sales channel may sell"),
    "available": ("Available to sell", "shared: on-hand less allocation"),
    "in_transit": ("In transit", "shared: incoming stock"),
    "order_quantity": ("Order quantity", "shared: what the customer or supplier gets"),
}
DEFAULTS: dict[str, tuple[str, ...]] = {
    "on_hand": ("wms",), "allocation": ("erp",), "purchasing": ("erp",),
    "item_master": ("erp",), "channel_availability": ("storefront",),
    "available": ("erp", "wms", "storefront"), "in_transit": ("erp", "wms"),
    "order_quantity": ("erp", "supplier", "wms"),
}
CODE_ELEMENT = {  # the element a finding's numbers are about
    "upstream-drift": "on_hand", "stranded-adjustment": "on_hand",
    "unposted-receipt": "on_hand", "unconfirmed-shipment": "on_hand",
    "duplicate-posting": "on_hand", "both-handoffs": "on_hand",
    "downstream-drift": "channel_availability", "phantom-stock": "channel_availability",
    "hidden-stock": "channel_availability", "pool-boundary": "channel_availability",
    "pool-definition": "available", "ghost-reservation": "allocation",
    "uom-mismatch": "item_master", "amendment-after-release": "purchasing",
    "supplier-unconfirmed": "purchasing", "short-pick-risk": "order_quantity",
}
NAMES = {"wms": "WMS", "erp": "ERP", "storefront": "storefront", "supplier": "supplier",
         "middleware": "middleware"}


class OwnershipSettings(BaseModel):
    """`[ownership]`: element = "system", or a list in order of precedence."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    on_hand: str | list[str] | None = None
    allocation: str | list[str] | None = None
    purchasing: str | list[str] | None = None
    item_master: str | list[str] | None = None
    channel_availability: str | list[str] | None = None
    available: str | list[str] | None = None
    in_transit: str | list[str] | None = None
    order_quantity: str | list[str] | None = None

    @field_validator("*")
    @classmethod
    def _systems(cls, value: str | list[str] | None) -> str | list[str] | None:
        systems = [value] if isinstance(value, str) else value or []
        if value is not None and not systems:
            raise ValueError("name at least one system")
        for system in systems:
            if system not in ROLES:
                raise ValueError(f"unknown system {system!r} (systems: {', '.join(ROLES)})")
        if len(set(systems)) != len(systems):
            raise ValueError("a system is named twice")
        return value

    def matrix(self) -> dict[str, tuple[str, ...]]:
        """Every element with its owners in order of precedence (defaults filled in)."""
        found = {}
        for element, default in DEFAULTS.items():
            value = getattr(self, element)
            found[element] = default if value is None else (
                (value,) if isinstance(value, str) else tuple(value))
        return found


def owner_sentence(element: str, matrix: dict[str, tuple[str, ...]]) -> str:
    """'Physical on-hand: the WMS owns it' or, shared, '... the ERP, then the WMS'."""
    owners = [NAMES.get(s, s) for s in matrix[element]]
    label = ELEMENTS[element][0]
    if len(owners) == 1:
        return f"{label}: the {owners[0]} owns it; the others follow it."
    return f"{label} (shared): the {owners[0]} wins, then " + \
        ", then ".join(f"the {o}" for o in owners[1:]) + "."


def finding_authority(code: str, matrix: dict[str, tuple[str, ...]]) -> str | None:
    """The ownership line a finding's text carries (None: the finding is about no one
    data element, e.g. a stale system)."""
    element = CODE_ELEMENT.get(code)
    return owner_sentence(element, matrix) if element else None
