"""The symptoms the checklist starts from (FINDINGS.md), in the operator's words, each
with the findings it checks."""

from __future__ import annotations

from dataclasses import dataclass

from app.diagnosis.catalogue import COUNT_CODES
from app.errors import UsageError


@dataclass(frozen=True, slots=True)
class Symptom:
    number: int
    words: str  # what the operator saw, as they would say it
    codes: tuple[str, ...]  # the findings that explain it


SYMPTOMS = (
    Symptom(1, "The storefront shows stock we don't have",
            ("phantom-stock", "downstream-drift")),
    Symptom(2, "The storefront says out of stock but the shelf is full",
            ("hidden-stock", "pool-boundary")),
    Symptom(3, "ERP and WMS show different on-hand",
            ("upstream-drift", "stranded-adjustment", "unposted-receipt", "uom-mismatch")),
    Symptom(4, "Available drops after every sync", ("ghost-reservation",)),
    Symptom(5, "We adjusted in the WMS and nothing else changed", ("stranded-adjustment",)),
    Symptom(6, "Shipped, but ERP still says pending fulfillment", ("unconfirmed-shipment",)),
    Symptom(7, "Customer got fewer units than charged (short pick)",
            ("amendment-after-release", "supplier-unconfirmed", "short-pick-risk")),
    Symptom(8, "Counts were fine for months and suddenly disagree",
            ("unmapped-location", "stale-source", "throttled-sync")),
    Symptom(9, "We reconciled it last week and it's back", ("recurring",)),
    Symptom(10, "I don't know - the numbers just don't match", COUNT_CODES),
)

UNSURE = SYMPTOMS[-1].number  # the default: check every count finding


def symptom(number: int) -> Symptom:
    """The symptom with this number (1-10); anything else is a usage error."""
    if not 1 <= number <= len(SYMPTOMS):
        raise UsageError(f"--symptom: {number} is not a symptom; choose 1 to {len(SYMPTOMS)} "
                         f"(10: the numbers just don't match)")
    return SYMPTOMS[number - 1]
