"""Large deterministic data sets (`simulate --generate SKUS,LOCATIONS,SEED`).

Every SKU is stocked at every location in all three systems; a planted share of rows
carries each kind of discrepancy FINDINGS.md describes, and a few events (some never
posted to the ERP, some posted twice). The same arguments always give the same data.
Throttle buckets are left wide open: benchmarks measure seamdesk, not a vendor's plan.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from app.simulator.scenario import Limits
from app.simulator.world import SimEvent, SimItem, SimLocation, World

NOW = int(datetime(2026, 11, 30, 15, 0, tzinfo=UTC).timestamp())
CITIES = ("Dallas", "Atlanta", "Reno", "Columbus", "Ontario", "Allentown", "Memphis",
          "Indianapolis", "Phoenix", "Jacksonville")
# Cumulative shares of planted discrepancies (the rest agree everywhere).
PLANTS = (("upstream", 0.020), ("downstream", 0.040), ("both", 0.050), ("phantom", 0.055),
          ("hidden", 0.060), ("uom", 0.065), ("pool", 0.070), ("ghost", 0.075))
WIDE_OPEN = Limits(bucket=1e12, restore_rate=1e12)


def generate_world(skus: int, locations: int, seed: int) -> World:
    rng = random.Random(seed)
    locs = [SimLocation(i, f"DC{i + 1:02d}", f"{CITIES[i % len(CITIES)]} DC {i + 1}",
                        frozenset(("wms", "erp", "storefront"))) for i in range(locations)]
    locs.append(SimLocation(locations, "POPUP", "Holiday pop-up store",
                            frozenset(("storefront",)), mapped=False))
    items = [SimItem(i, f"SKU-{i:07d}", f"Generated item {i}", 12 if i % 10 == 0 else None)
             for i in range(skus)]
    wms: dict = {}
    erp: dict = {}
    store: dict = {}
    events: list[SimEvent] = []
    for item in items:
        for loc in locs[:locations]:
            key = (loc.code, item.sku)
            on_hand = rng.randint(0, 400)
            allocated = rng.randint(0, on_hand // 5)
            available = on_hand - allocated
            # At least 3 h old: a planted WMS drift (+2 h) stays in the world's past. A row
            # stamped ahead of the vendor's clock is every later read's high-water mark.
            updated = NOW - rng.randint(3 * 3600, 30 * 86400)
            w = [on_hand, available, allocated, None, updated]
            e = [on_hand, available, allocated, 0, updated + rng.randint(0, 600)]
            s = [on_hand, available, allocated, 0, updated + rng.randint(0, 1200)]
            _plant(rng.random(), rng, item, w, e, s)
            wms[key], erp[key], store[key] = tuple(w), tuple(e), tuple(s)
            if rng.random() < 0.01:
                _events(rng, len(events), item, loc, events)
    events.sort(key=lambda event: event.at)
    return World(f"generated {skus}x{locations} seed {seed}", NOW, locs, items,
                 {"wms": wms, "erp": erp, "storefront": store}, events=events,
                 limits={"wms": WIDE_OPEN, "storefront": WIDE_OPEN})


def _plant(draw: float, rng: random.Random, item: SimItem, w: list, e: list, s: list) -> None:
    kind = next((name for name, share in PLANTS if draw < share), None)
    step = rng.randint(1, 9)
    if kind == "upstream":  # WMS moved, ERP (and so the storefront) did not
        w[0] += step
        w[1] += step
        w[4] += rng.choice((60, 7200))  # within or beyond the sync tolerance
    elif kind == "downstream":
        s[1] = max(0, s[1] - step)
    elif kind == "both":
        e[1] += step
        s[1] = max(0, s[1] - step)
    elif kind == "phantom":
        w[0] = w[1] = e[0] = e[1] = 0
        w[2] = e[2] = s[2] = 0
        s[0], s[1] = step, step
    elif kind == "hidden":
        s[1] = 0
        w[1] = e[1] = max(w[1], step)
    elif kind == "uom" and item.pack:
        e[0], e[1] = w[0] * item.pack, w[1] * item.pack
    elif kind == "pool":
        e[3] = step
        s[1] = e[1] + step
    elif kind == "ghost" and w[2]:
        s[1] = max(0, w[0] - 2 * w[2])


def _events(rng: random.Random, seq: int, item: SimItem, loc: SimLocation,
            events: list[SimEvent]) -> None:
    at = NOW - rng.randint(3600, 5 * 86400)
    delta = -rng.randint(1, 5)
    event_id = f"ADJ-{seq + 1:07d}"
    events.append(SimEvent(len(events), "wms", event_id, "adjustment", item.sku, loc.code,
                           delta, at, "damaged"))
    outcome = rng.random()
    if outcome < 0.8:  # posted once, as it should be
        events.append(SimEvent(len(events), "erp", event_id, "adjustment", item.sku,
                               loc.code, delta, at + 120, "damaged"))
    elif outcome < 0.9:  # posted twice after a timeout
        for lag in (120, 900):
            events.append(SimEvent(len(events), "erp", event_id, "adjustment", item.sku,
                                   loc.code, delta, at + lag, "damaged"))
    # else: never reached the ERP (a stranded adjustment)
