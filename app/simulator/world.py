"""The simulated systems' state: what each of WMS, ERP and storefront believes.

Vendor modules read from here and render their own wire formats. The clock runs from the
scenario's `now` at real speed (so incremental reads see later changes as later), and
can be set back to replay the scenario's history ("time travel"): then every system
answers as it stood at that moment.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field

from app.simulator.orders import SimOrderLine, order_lines
from app.simulator.scenario import Faults, Limits, Scenario, ScenarioError_, ScenarioOrder

Key = tuple[str, str]  # (location code, sku)
Count = tuple  # (on_hand, available, allocated, in_transit, updated_at epoch | None)
SYSTEMS = ("wms", "erp", "storefront")


@dataclass(frozen=True, slots=True)
class SimLocation:
    index: int
    code: str
    name: str
    systems: frozenset[str]
    mapped: bool = True


@dataclass(frozen=True, slots=True)
class SimItem:
    index: int
    sku: str
    name: str | None
    pack: int | None


@dataclass(frozen=True, slots=True)
class SimEvent:
    seq: int
    system: str
    id: str
    kind: str
    sku: str
    location: str
    delta: int
    at: int
    reason: str | None


def _epoch(value) -> int | None:
    return None if value is None else int(value.timestamp())


@dataclass
class World:
    name: str
    base_now: int
    locations: list[SimLocation]
    items: list[SimItem]
    counts: dict[str, dict[Key, Count]]
    history: dict[str, dict[Key, list[tuple[int, Count]]]] = field(default_factory=dict)
    events: list[SimEvent] = field(default_factory=list)
    orders: list[ScenarioOrder] = field(default_factory=list)
    errors: list[ScenarioError_] = field(default_factory=list)
    faults: dict[str, Faults] = field(default_factory=dict)
    limits: dict[str, Limits] = field(default_factory=dict)
    vendors: dict[str, str] = field(default_factory=dict)  # role → vendor ([vendors])

    def __post_init__(self) -> None:
        self.version = 0
        self._started = time.monotonic()
        self._frozen: int | None = None
        self._views: dict[tuple, dict[Key, Count]] = {}
        # (system, past clock or None) → (update times, keys in that order, keys moved since)
        self._by_time: dict[tuple, tuple[list[int], list[Key], dict[Key, int]]] = {}
        self.listeners: list[Callable[[str, list[Key]], None]] = []
        self.item_index = {item.sku: item for item in self.items}
        self.location_index = {loc.code: loc for loc in self.locations}
        self._documents: dict[str, list[SimOrderLine]] | None = None

    # -- the clock ------------------------------------------------------------------------
    def now(self) -> int:
        if self._frozen is not None:
            return self._frozen
        return self.base_now + int(time.monotonic() - self._started)

    def set_clock(self, at: int | None) -> None:
        """Freeze the clock at `at` (None: run from the scenario's now again)."""
        self._frozen = at
        self._bump()

    def _bump(self, keep_time_index: bool = False) -> None:
        self.version += 1
        self._views.clear()
        if not keep_time_index:
            self._by_time.clear()

    # -- what each system says ------------------------------------------------------------
    def locations_of(self, system: str) -> list[SimLocation]:
        return [loc for loc in self.locations if system in loc.systems]

    def view(self, system: str) -> dict[Key, Count]:
        """The system's counts as of the clock (the current ones unless time-travelling)."""
        at = self.now()
        current = self.counts.get(system, {})
        if at >= self.base_now and not self.history.get(system):
            return current
        cache_key = (system, at if at < self.base_now else None)
        if cache_key not in self._views:
            self._views[cache_key] = self._as_of(system, at)
        return self._views[cache_key]

    def updated_since(self, system: str, since: int) -> list[Key]:
        """The keys of the system's counts updated at or after `since` (as of the clock),
        from an index by update time: a vendor's "changed since" query reads the few rows
        that changed instead of scanning every one. Rows changed by `mutate` are noted
        beside the index (sorting it again costs seconds on a big world)."""
        at = self.now()
        cache_key = (system, at if at < self.base_now else None)
        index = self._by_time.get(cache_key)
        if index is None or len(index[2]) > len(index[1]) // 4 + 100:
            view = self.view(system)
            keys = [key for key, count in view.items() if count[4] is not None]
            keys.sort(key=lambda key: view[key][4])
            index = self._by_time[cache_key] = ([view[key][4] for key in keys], keys, {})
        times, keys, moved = index
        found = keys[bisect_left(times, since):]
        if moved:
            found = [key for key in found if key not in moved]
            found += [key for key, at in moved.items() if at >= since]
        return found

    def _as_of(self, system: str, at: int) -> dict[Key, Count]:
        view: dict[Key, Count] = {}
        history = self.history.get(system, {})
        for key in set(self.counts.get(system, {})) | set(history):
            count = self.counts.get(system, {}).get(key)
            if count is not None and (count[4] is None or count[4] <= at):
                view[key] = count
                continue
            earlier = [c for t, c in history.get(key, []) if t <= at]
            if earlier:
                view[key] = earlier[-1]
        return view

    def set_orders(self, orders: list[ScenarioOrder]) -> None:
        """Replace the [[order]] rows (what a test or a replay changes in the systems)."""
        self.orders = list(orders)
        self._documents = None
        self._bump()

    def order_documents(self) -> dict[str, list[SimOrderLine]]:
        """The [[order]] rows as documents (number → lines), with their timelines."""
        if self._documents is None:
            self._documents = order_lines(self.orders, self.base_now)
        return self._documents

    def events_of(self, system: str) -> list[SimEvent]:
        at = self.now()
        return [e for e in self.events if e.system == system and e.at <= at]

    # -- changes (for incremental-refresh benchmarks and tests) ---------------------------
    def mutate(self, fraction: float, seed: int = 0, everywhere: bool = False) -> int:
        """Change `fraction` of every system's rows now; returns how many rows changed.

        Each system's rows are picked on their own: a new divergence at every changed key
        (the detectors' worst case). With `everywhere`, a change is made at the same keys
        in every system, as when sales and receipts reach all three."""
        rng = random.Random(seed)
        now = self.now()
        step_of: dict[Key, int] = {}
        if everywhere:
            keys = sorted(set().union(*(self.counts.get(system, {}) for system in SYSTEMS)))
            wanted = max(1, round(len(keys) * fraction)) if keys else 0
            step_of = {key: rng.randint(1, 5) for key in rng.sample(keys, wanted)}
        changed = 0
        for system in SYSTEMS:
            rows = self.counts.get(system, {})
            if everywhere:
                picked = [key for key in step_of if key in rows]
            else:
                keys = sorted(rows)
                picked = rng.sample(keys, max(1, int(len(keys) * fraction))) if keys else []
            for key in picked:
                on_hand, available, allocated, in_transit, _ = rows[key]
                step = step_of.get(key) or rng.randint(1, 5)
                rows[key] = ((on_hand or 0) + step, (available or 0) + step, allocated,
                             in_transit, now)
            changed += len(picked)
            index = self._by_time.get((system, None))
            if index is not None:  # the present's index learns the new update times
                index[2].update(dict.fromkeys(picked, now))
            for listener in self.listeners:
                listener(system, picked)
        self._by_time = {key: index for key, index in self._by_time.items() if key[1] is None}
        self._bump(keep_time_index=True)
        return changed


def from_scenario(scenario: Scenario) -> World:
    locations = [
        SimLocation(i, loc.code, loc.name or loc.code, frozenset(loc.systems), loc.mapped)
        for i, loc in enumerate(scenario.location)]
    items = [SimItem(i, it.sku, it.name, it.pack)
             for i, it in enumerate(sorted(scenario.item, key=lambda it: it.sku))]
    counts: dict[str, dict[Key, Count]] = {s: {} for s in SYSTEMS}
    for c in scenario.count:
        counts[c.system][(c.location, c.sku)] = (
            c.on_hand, c.available, c.allocated, c.in_transit, _epoch(c.updated_at))
    history: dict[str, dict[Key, list[tuple[int, Count]]]] = {}
    for h in sorted(scenario.history, key=lambda h: h.at):
        at = _epoch(h.at)
        history.setdefault(h.system, {}).setdefault((h.location, h.sku), []).append(
            (at, (h.on_hand, h.available, h.allocated, h.in_transit,
                  _epoch(h.updated_at) or at)))
    events = [SimEvent(seq, e.system, e.id, e.kind, e.sku, e.location, e.delta,
                       _epoch(e.at), e.reason)
              for seq, e in enumerate(sorted(scenario.event, key=lambda e: e.at))]
    now = _epoch(scenario.now) if scenario.now else int(time.time())
    return World(scenario.name, now, locations, items, counts, history, events,
                 list(scenario.order), list(scenario.error), dict(scenario.faults),
                 dict(scenario.limits), scenario.vendors.model_dump())
