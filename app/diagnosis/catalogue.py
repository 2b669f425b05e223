"""The findings catalogue (FINDINGS.md): one entry per code, shared by the engine, the
screens' finding cards, help and packets, so the wording lives in one place."""

from __future__ import annotations

from dataclasses import dataclass

OWNER_ROLES = ("integration", "integration_lead", "erp_owner", "master_data", "procurement",
               "warehouse_lead")
"""The keys of config.toml `[owners]`; each maps a role to a person or team."""


@dataclass(frozen=True, slots=True)
class Kind:
    code: str
    title: str  # a few words for a card heading
    handoff: str  # the default handoff; some findings name the pair that differs instead
    cause: str  # the likely cause, in the operator's words
    first_action: str
    owner: str  # one of OWNER_ROLES
    also: tuple[str, ...] = ()  # further owner roles the finding is routed to


_KINDS = (
    Kind("upstream-drift", "WMS and ERP disagree", "wms->erp",
         "sync lag, failed or queued WMS→ERP messages, or an ERP-side filter or manual "
         "override",
         "Compare the last-update times; check the WMS→ERP queue for failed or throttled "
         "messages.", "integration"),
    Kind("downstream-drift", "ERP and storefront disagree", "erp->storefront",
         "a stale push, a middleware filter excluding the SKU or location, or a channel "
         "allocation rule",
         "Force a re-read of the SKU; check the middleware filter and allocation rules.",
         "integration"),
    Kind("both-handoffs", "All three systems disagree", "both",
         "failures at both integration points",
         "Work upstream first (WMS→ERP), then downstream (ERP→storefront).", "integration"),
    Kind("phantom-stock", "Storefront sells stock the building lacks", "erp->storefront",
         "the storefront's stock cache is stale; inventory webhooks are not arriving",
         "Force a sync of the SKU from the WMS; check the payload logs.", "integration"),
    Kind("hidden-stock", "Stock in the building, none online", "erp->storefront",
         "a filter rule or allocation excludes the stock from the channel",
         "Check the channel filter and allocation rules.", "integration"),
    Kind("pool-boundary", "Storefront splits one ERP pool", "erp->storefront",
         "the storefront resolves availability per location with rules the ERP does not know",
         "Align the location-level allocation rules.", "erp_owner"),
    Kind("pool-definition", "Systems define 'available' differently", "erp->storefront",
         "one system counts in-transit (incoming) stock as available, the other does not",
         "Document each system's pool definition; fix the mapping.", "erp_owner"),
    Kind("ghost-reservation", "Reservations subtracted twice", "both",
         "double allocation: storefront, ERP and WMS reservations read as additive",
         "Audit the allocation/status mapping (WMS 'Allocated' ↔ ERP 'Committed').",
         "integration"),
    Kind("uom-mismatch", "Units of measure differ", "wms->erp",
         "a unit-of-measure conversion mismatch (eaches vs cases)",
         "Audit the item master's unit of measure on both sides.", "master_data"),
    Kind("stranded-adjustment", "WMS adjustment never reached the ERP", "wms->erp",
         "one-way sync: adjustment events are not subscribed",
         "Check the outbound error table for queued adjustments.", "integration"),
    Kind("duplicate-posting", "ERP posted a WMS event twice", "wms->erp",
         "retries after timeouts created duplicates",
         "Find and reverse the duplicate; fix idempotency.", "integration"),
    Kind("unposted-receipt", "WMS receipt missing in the ERP", "wms->erp",
         "the receipt confirmation is stuck or was rejected",
         "Check failed receipt messages.", "integration"),
    Kind("unconfirmed-shipment", "Shipped, ERP still pending fulfillment", "wms->erp",
         "the ship-confirm payload was blocked or rejected by ERP validation",
         "Search the middleware errors for the shipment.", "integration"),
    Kind("stale-source", "A system has not been read lately", "system",
         "the API is down, credentials are failing, or it is throttled",
         "Check the system's sync runs and credentials.", "integration"),
    Kind("throttled-sync", "Rate limits slow the sync", "system",
         "API rate limits are queuing updates",
         "Widen the refresh window or raise the plan's rate limit.", "integration"),
    Kind("failed-messages", "Middleware holds failed messages", "wms->erp",
         "rejected payloads (validation, mapping, credentials)",
         "Retry or fix the payload; see the error detail.", "integration"),
    Kind("unmapped-location", "Location missing from the mapping", "system",
         "a new location or channel was added without updating the sync rules",
         "Add the mapping to [locations]; review the allocation rules.", "erp_owner"),
    Kind("recurring", "The same finding keeps coming back", "system",
         "a reconciliation treadmill: the number was fixed, the handoff was not",
         "Escalate the handoff; stop re-keying counts.", "integration_lead"),
    Kind("amendment-after-release", "PO amended after the pick was released", "erp->wms",
         "amendment events are not mapped to pick re-evaluation after release, or they "
         "propagate in batches",
         "Hold or re-release the pick, or ship short knowingly; decide before ship and "
         "bill.", "procurement", also=("warehouse_lead",)),
    Kind("supplier-unconfirmed", "Supplier has not confirmed the change", "erp->supplier",
         "the portal or EDI sync does not carry the change",
         "Chase the confirmation; check the 855/865.", "procurement"),
    Kind("short-pick-risk", "Picked less than ordered or billed", "erp->wms",
         "the amendment gap reached the customer",
         "Correct the invoice or ship the balance.", "warehouse_lead"),
)

SEVERITY = {  # for sorting the queue: what hurts a customer or the books first
    "amendment-after-release": 4, "short-pick-risk": 4, "phantom-stock": 4,
    "both-handoffs": 3, "hidden-stock": 3, "stale-source": 3, "failed-messages": 3,
    "recurring": 3, "supplier-unconfirmed": 3, "duplicate-posting": 3,
    "pool-definition": 1, "uom-mismatch": 1, "throttled-sync": 1, "unmapped-location": 1,
}
"""Codes not listed are 2."""

CATALOGUE: dict[str, Kind] = {kind.code: kind for kind in _KINDS}
# Columns of codes and owner roles as wide as the longest: what people filter by is never
# cut or pushes the next column out of line.
CODE_WIDTH = max(map(len, CATALOGUE))
OWNER_WIDTH = max(map(len, OWNER_ROLES))

SYSTEM_WIDE = frozenset({"stale-source", "throttled-sync"})
"""Findings about a whole system rather than this SKU here (shown apart, in warning colour)."""

ORDER_CODES = ("amendment-after-release", "supplier-unconfirmed", "short-pick-risk")
COUNT_CODES = tuple(code for code in CATALOGUE
                    if code not in ("failed-messages", "recurring", *ORDER_CODES))
"""The count findings (the lookup adds failed messages; the queue, orders and recurrences)."""


def routed_to(code: str, owners: dict[str, str]) -> str:
    """Everyone a finding routes to, by name where [owners] gives one: 'Procurement +
    Warehouse lead on shift' for an amendment after release."""
    kind = CATALOGUE[code]
    return " + ".join(owners.get(role) or role.replace("_", " ")
                      for role in (kind.owner, *kind.also))
