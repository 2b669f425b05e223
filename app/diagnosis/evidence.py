"""What the engine reasons over (one SKU at one location) and what it concludes.

Everything here is plain data read from the cache; the rules are pure functions of it,
so each one is tested without a database, a network or a terminal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.records import TITLES, Observation, OpenMessage, RunSummary

LABELS = {**TITLES, "storefront": "storefront", "middleware": "middleware",
          "supplier": "supplier feed"}  # inside sentences


@dataclass(frozen=True, slots=True)
class Thresholds:
    """config.toml [diagnosis] plus the [refresh] times it depends on."""

    sync_tolerance: int = 900  # last-update times closer than this are "the same time"
    stale_after: int = 3600
    tolerance_units: int = 0  # counts this close agree ...
    tolerance_percent: float = 0.0  # ... or this close, relative to the larger one
    pack_factors: tuple[int, ...] = (6, 12, 24)
    throttled_share: float = 0.1  # throttled answers / requests in a run that count

    def agree(self, a: int | None, b: int | None) -> bool | None:
        """True or False, or None when either number is missing (nothing to compare)."""
        if a is None or b is None:
            return None
        if a == b:
            return True
        if not (self.tolerance_units or self.tolerance_percent):
            return False  # exact comparison (the default): no tolerance to work out
        allowed = max(self.tolerance_units,
                      math.floor(self.tolerance_percent * max(abs(a), abs(b)) / 100))
        return abs(a - b) <= allowed


@dataclass(frozen=True, slots=True)
class Event:
    system: str
    event_id: str
    kind: str
    delta: int
    at: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SystemState:
    """How fresh a system is and how its latest runs went."""

    name: str
    kind: str
    last_good_read_at: int | None
    runs: tuple[RunSummary, ...] = ()  # newest first


def is_stale(state: SystemState | None, obs: Observation | None, now: int,
             th: Thresholds) -> bool:
    """No good read of this system within the stale limit: neither a refresh of it nor a
    re-read of this SKU (obs.read_at is the newer of the two)."""
    if state is None:
        return True
    last = max(state.last_good_read_at or 0, obs.read_at if obs else 0)
    return not last or now - last > th.stale_after


@dataclass(frozen=True, slots=True)
class Evidence:
    sku: str
    location: str  # canonical code, or "system:id" for a location the mapping lacks
    now: int
    counts: dict[str, Observation]  # system → its last good observation here
    systems: dict[str, SystemState] = field(default_factory=dict)  # configured ones
    pack: int | None = None
    events: tuple[Event, ...] = ()  # this SKU at this location, oldest first
    history: tuple[Observation, ...] = ()  # every version here, newest first
    siblings: dict[str, dict[str, Observation]] = field(default_factory=dict)
    """The same SKU at the other mapped locations: location → system → observation."""
    location_name: str | None = None
    mapped: bool = True
    messages: tuple[OpenMessage, ...] = ()
    """Open middleware errors for this SKU here (or naming no location), newest first."""
    memo: dict = field(default_factory=dict, init=False, compare=False, repr=False)
    """What several rules work out alike, once (app.diagnosis.compare.gaps_of); new in
    every copy (`replace`)."""


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    handoff: str
    cause: str | None  # timing | rules for the drift findings
    summary: str
    first_action: str
    owner: str
    owner_name: str | None = None
    systems: tuple[str, ...] = ()  # the systems the evidence involves (for highlighting)

    def owned_by(self, name: str | None) -> Finding:
        """This finding with its owner's name (`replace` costs several times more, and the
        detectors name an owner for every finding of a refresh)."""
        return Finding(self.code, self.handoff, self.cause, self.summary, self.first_action,
                       self.owner, name, self.systems)

    def as_json(self) -> dict:
        return {"code": self.code, "handoff": self.handoff, "cause": self.cause,
                "summary": self.summary, "first_action": self.first_action,
                "owner": self.owner, "owner_name": self.owner_name,
                "systems": list(self.systems)}
