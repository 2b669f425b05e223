"""Findings from the numbers themselves: drift, phantom and hidden stock, pools,
reservations and units of measure."""

from __future__ import annotations

from app.clock import clock_text, span_text
from app.diagnosis.catalogue import CATALOGUE
from app.diagnosis.compare import DOWNSTREAM, UPSTREAM, drift_of, gaps_of
from app.diagnosis.evidence import LABELS, Evidence, Finding, Thresholds

TIMES = {2: "twice", 3: "three times"}
FIELD_TEXT = {"on_hand": "on hand", "available": "available", "allocated": "allocated",
              "in_transit": "in transit"}


def make(code: str, summary: str, *, handoff: str | None = None, cause: str | None = None,
         systems: tuple[str, ...] = ()) -> Finding:
    kind = CATALOGUE[code]
    return Finding(code, handoff or kind.handoff, cause, summary, kind.first_action,
                   kind.owner, None, systems)


def _timing(ev: Evidence, systems: tuple[str, ...], th: Thresholds) -> tuple[str | None, str]:
    """'timing' when the systems' own last-update times are further apart than the sync
    tolerance (not converged yet), 'rules' when they are close (same data, applied
    differently); with a clause that says so."""
    times = {s: ev.counts[s].updated_at for s in systems}
    known = {s: t for s, t in times.items() if t is not None}
    if len(known) < 2:
        return None, "their last-update times are not known"
    spread = max(known.values()) - min(known.values())
    if spread > th.sync_tolerance:
        return "timing", f"last updates {span_text(spread)} apart"
    return "rules", f"updated within {span_text(spread)} of each other"


def _since(ev: Evidence, systems: tuple[str, ...]) -> str:
    times = [t for s in systems if (t := ev.counts[s].updated_at) is not None]
    return f", since {clock_text(max(times), ev.now)}" if times else ""


def drift_findings(ev: Evidence, th: Thresholds) -> list[Finding]:
    upstream, downstream = drift_of(ev, th)
    if upstream and downstream:
        systems = ("wms", "erp", "storefront")
        cause, clause = _timing(ev, systems, th)
        up, down = upstream[0], downstream[0]
        text = (f"All three disagree at {ev.location} for {ev.sku}: WMS {up.a} vs ERP {up.b} "
                f"{FIELD_TEXT[up.field]}, ERP {down.a} vs storefront {down.b} "
                f"{FIELD_TEXT[down.field]} ({clause}).")
        return [make("both-handoffs", text, cause=cause, systems=systems)]
    if upstream:
        gap = upstream[0]
        other = ("storefront agrees with the ERP" if "storefront" in ev.counts
                 else "no storefront number")
        cause, clause = _timing(ev, UPSTREAM, th)
        text = (f"WMS and ERP disagree on {ev.location} {FIELD_TEXT[gap.field]} for {ev.sku} "
                f"(WMS {gap.a}, ERP {gap.b}{_since(ev, UPSTREAM)}); {clause}; {other}.")
        return [make("upstream-drift", text, cause=cause, systems=UPSTREAM)]
    if downstream:
        gap = downstream[0]
        other = "WMS agrees with the ERP" if "wms" in ev.counts else "no WMS number"
        cause, clause = _timing(ev, DOWNSTREAM, th)
        text = (f"ERP and storefront disagree on {ev.location} {FIELD_TEXT[gap.field]} for "
                f"{ev.sku} (ERP {gap.a}, storefront {gap.b}{_since(ev, DOWNSTREAM)}); "
                f"{clause}; {other}.")
        return [make("downstream-drift", text, cause=cause, systems=DOWNSTREAM)]
    return []


def looks_elsewhere(ev: Evidence) -> bool:
    """Whether `stock_findings` looks at the SKU's other locations (`ev.siblings`): the
    storefront shows none here while the WMS and the ERP pool hold some. The detectors
    read other locations only for such keys."""
    wms, erp, shop = (ev.counts.get(s) for s in ("wms", "erp", "storefront"))
    return wms is not None and erp is not None and shop is not None and \
        shop.available == 0 and (wms.available or 0) > 0 and (erp.available or 0) > 0


def stock_findings(ev: Evidence, th: Thresholds) -> list[Finding]:
    """Phantom stock, hidden stock, and the pool boundary that explains hidden stock when
    another location of the same ERP pool is in stock online."""
    wms, erp, shop = (ev.counts.get(s) for s in ("wms", "erp", "storefront"))
    if wms is None or shop is None or wms.available is None or shop.available is None:
        return []
    if shop.available > 0 and wms.available <= 0 and th.agree(shop.available, 0) is False:
        when = f" (storefront last updated {clock_text(shop.updated_at, ev.now)})" \
            if shop.updated_at else ""
        return [make("phantom-stock",
                     f"The storefront offers {shop.available} of {ev.sku} at {ev.location}, "
                     f"but the WMS has {wms.available} available{when}.",
                     systems=("wms", "storefront"))]
    if shop.available == 0 and wms.available > 0 and th.agree(wms.available, 0) is False:
        elsewhere = {code: sib["storefront"].available for code, sib in ev.siblings.items()
                     if ((sib.get("storefront") and sib["storefront"].available) or 0) > 0}
        if erp is not None and (erp.available or 0) > 0 and elsewhere:
            code, units = max(elsewhere.items(), key=lambda item: item[1])
            return [make("pool-boundary",
                         f"The storefront shows {ev.sku} out of stock at {ev.location} but in "
                         f"stock at {code} ({units}), while the ERP pool holds {erp.available} "
                         f"available at {ev.location} too.",
                         systems=("erp", "storefront"))]
        return [make("hidden-stock",
                     f"The storefront shows 0 of {ev.sku} available at {ev.location} while "
                     f"the WMS has {wms.available} available.", systems=("wms", "storefront"))]
    return []


def pool_definition(ev: Evidence, th: Thresholds) -> list[Finding]:
    findings = []
    for pair, gaps in zip((UPSTREAM, DOWNSTREAM), gaps_of(ev, th), strict=True):
        for gap in gaps:
            if gap.in_transit_of is None:
                continue
            a, b = (LABELS[s] for s in pair)
            units = abs(gap.a - gap.b)
            findings.append(make(
                "pool-definition",
                f"{a} ({gap.a}) and {b} ({gap.b}) available for {ev.sku} at {ev.location} "
                f"differ by exactly the {LABELS[gap.in_transit_of]}'s {units} in transit: "
                "one counts incoming stock as available.",
                handoff="->".join(pair), systems=pair))
    return findings


def ghost_reservation(ev: Evidence, th: Thresholds) -> list[Finding]:
    """Storefront available = WMS on-hand − k × the committed quantity, k ≥ 2; or the
    storefront's available dropped at its last change by a multiple of the reservation,
    with on-hand and allocations as they were (no new orders)."""
    wms, shop = ev.counts.get("wms"), ev.counts.get("storefront")
    if wms is None or shop is None or shop.available is None or wms.on_hand is None:
        return []
    erp = ev.counts.get("erp")
    committed = wms.allocated or (erp.allocated if erp else None)
    # The storefront's own number, not one it copied from the ERP, and not explained by
    # one subtraction from its own on-hand.
    own = (erp is None or th.agree(shop.available, erp.available) is not True) and (
        shop.on_hand is None or th.agree(shop.available, shop.on_hand - (committed or 0))
        is not True)
    if committed and committed > 0 and own:
        for k in (2, 3, 4):
            if th.agree(shop.available, wms.on_hand - k * committed):
                return [make(
                    "ghost-reservation",
                    f"The storefront shows {shop.available} available for {ev.sku} at "
                    f"{ev.location} = WMS on hand {wms.on_hand} − {k} × the {committed} "
                    f"committed: the same reservation is subtracted "
                    f"{TIMES.get(k, f'{k} times')}.",
                    systems=("wms", "erp", "storefront"))]
    now_seen = (shop.on_hand, shop.available, shop.allocated, shop.in_transit, shop.updated_at)
    before = [o for o in ev.history if o.system == "storefront" and o.read_at < shop.read_at
              and (o.on_hand, o.available, o.allocated, o.in_transit, o.updated_at) != now_seen]
    if before:
        prior = before[0]  # history is newest first
        drop = (prior.available or 0) - (shop.available or 0)
        reserved = shop.allocated or committed or 0
        if drop > 0 and reserved > 0 and drop % reserved == 0 and \
                prior.on_hand == shop.on_hand and prior.allocated == shop.allocated:
            return [make(
                "ghost-reservation",
                f"The storefront's available for {ev.sku} at {ev.location} dropped from "
                f"{prior.available} to {shop.available} after a sync with on hand "
                f"({shop.on_hand}) and allocations ({shop.allocated}) unchanged.",
                systems=("storefront",))]
    return []


def uom_mismatch(ev: Evidence, th: Thresholds) -> list[Finding]:
    for pair in (UPSTREAM, DOWNSTREAM, ("wms", "storefront")):
        first, second = ev.counts.get(pair[0]), ev.counts.get(pair[1])
        if first is None or second is None:
            continue
        for name in ("on_hand", "available"):
            a, b = getattr(first, name), getattr(second, name)
            if not a or not b or a == b or th.agree(a, b):
                continue
            big, small = max(a, b), min(a, b)
            if small <= 0 or big % small:
                continue
            factor = big // small
            if factor > 1 and (factor == ev.pack or factor in th.pack_factors):
                more, fewer = (pair[0], pair[1]) if a > b else (pair[1], pair[0])
                pack = " (the item's case pack)" if factor == ev.pack else ""
                return [make(
                    "uom-mismatch",
                    f"{LABELS[more]} has {big} and {LABELS[fewer]} {small} {FIELD_TEXT[name]} "
                    f"of {ev.sku} at {ev.location}: exactly {factor}×{pack}, so one side "
                    "counts eaches and the other cases.",
                    handoff="->".join(pair) if pair != ("wms", "storefront") else "both",
                    systems=pair)]
    return []

