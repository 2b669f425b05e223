"""The health figures: per handoff and per system, daily over the window, from the raw
aggregates of app.health.read (cached per cache version) and the time now.

A "lane" is a handoff (wms->erp, erp->storefront, both, erp->wms, erp->supplier) or a
system (findings about one whole system: stale, throttled, unmapped locations); "all"
sums every lane.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from app.health.read import Raw, read
from app.health.window import Window
from app.queue.query import remembered
from app.records import ROLES

WEEK = 7
DELAYED = {"wms->erp": "upstream", "erp->storefront": "downstream"}


@dataclass(slots=True)
class Lane:
    name: str
    days: int
    opened: list[int] = field(default_factory=list)  # exceptions opened per day
    resolved: list[int] = field(default_factory=list)  # resolved by a person per day
    resolve_seconds: list[float | None] = field(default_factory=list)  # average, per day
    corrections: list[int] = field(default_factory=list)  # resolved as corrected by hand
    duplicates: list[int] = field(default_factory=list)  # duplicate-posting opened per day
    oldest_age: list[int | None] = field(default_factory=list)  # at each day's end, seconds
    failed_messages: list[int] = field(default_factory=list)  # middleware errors per day
    delay: list[float | None] = field(default_factory=list)  # propagation, average seconds
    runs: list[int] = field(default_factory=list)  # sync runs per day (systems)
    failed_runs: list[int] = field(default_factory=list)  # failed or partial runs per day
    open_now: int = 0
    oldest_open_at: int | None = None
    open_messages: int = 0
    last_good_read_at: int | None = None
    stale: bool = False
    codes: dict[str, int] = field(default_factory=dict)  # open exceptions by finding code
    _resolve_sum: list[float] = field(default_factory=list)
    _oldest: dict[tuple[int, int | None], int] = field(default_factory=dict)  # (od, cd): min

    def __post_init__(self) -> None:
        for name in ("opened", "resolved", "corrections", "duplicates", "failed_messages",
                     "runs", "failed_runs", "_resolve_sum"):
            setattr(self, name, [0] * self.days)
        self.resolve_seconds = [None] * self.days
        self.delay = [None] * self.days
        self.oldest_age = [None] * self.days

    def failed_run_rate(self) -> list[float | None]:
        return [f / n if n else None for f, n in zip(self.failed_runs, self.runs, strict=True)]

    def week(self, series: str) -> int:
        return sum(getattr(self, series)[-WEEK:])

    @property
    def is_system(self) -> bool:
        return self.name in ROLES


@dataclass(slots=True)
class Figures:
    window: Window
    lanes: dict[str, Lane]  # handoffs first, then systems
    total: Lane
    open_by_code: dict[str, int]
    open_by_handoff: dict[str, int]
    recurring_by_cause: dict[str, int]  # `recurring` exceptions by the finding that recurs
    reopened_by_code: dict[str, int]  # reopenings of exceptions active in the window

    def handoffs(self) -> list[Lane]:
        return [lane for lane in self.lanes.values() if not lane.is_system]

    def systems(self) -> list[Lane]:
        return [lane for lane in self.lanes.values() if lane.is_system]

    def worst(self) -> Lane | None:
        """The handoff with the most trouble in the last seven days (exceptions opened
        plus failed messages), older unresolved trouble breaking ties; None if quiet."""
        scored = [(lane.week("opened") + lane.week("failed_messages"),
                   -(lane.oldest_open_at or self.window.now), lane)
                  for lane in self.handoffs()]
        scored = [s for s in scored if s[0] > 0]
        return max(scored, key=lambda s: s[:2])[2] if scored else None

    def since(self, lane: Lane) -> int | None:
        """Since when a lane has been in trouble: its oldest unresolved exception, else
        the first day this week that opened one."""
        if lane.oldest_open_at is not None:
            return lane.oldest_open_at
        for i in range(self.window.days - WEEK, self.window.days):
            if i >= 0 and (lane.opened[i] or lane.failed_messages[i]):
                return self.window.starts()[i]
        return None


def compute(engine: Engine, window: Window, systems: dict[str, int | None],
            stale_after: int) -> Figures:
    """`systems`: every configured system with its last good read (None: never). The
    figures are remembered until the cache changes, or the minute does (the ages move)."""
    key = ("health-figures", window.days, window.now // 60, tuple(systems.items()),
           stale_after)
    return remembered(engine, key, lambda: build(read(engine, window.since), window,
                                                 systems, stale_after))


def build(raw: Raw, window: Window, systems: dict[str, int | None],
          stale_after: int) -> Figures:
    days = window.days
    lanes: dict[str, Lane] = {}
    total = Lane("all", days)

    def lane(name: str) -> Lane:
        if name not in lanes:
            lanes[name] = Lane(name, days)
        return lanes[name]

    def day(index: int | None) -> int | None:
        return None if index is None or index < 0 else min(index, days - 1)

    open_by_code: dict[str, int] = {}
    open_by_handoff: dict[str, int] = {}
    reopened: dict[str, int] = {}
    last = days - 1
    for handoff, code, status, od, cd, n, oldest, resolve_s, reopenings in raw.exceptions:
        od = min(od, last)  # (opened in the future: today)
        for target in (lanes.get(handoff) or lane(handoff), total):
            if od >= 0:
                target.opened[od] += n
                if code == "duplicate-posting":
                    target.duplicates[od] += n
            if status == "resolved" and cd is not None and cd >= 0:
                target.resolved[min(cd, last)] += n
                target._resolve_sum[min(cd, last)] += resolve_s or 0
            span = (od, cd)  # only the oldest of each (opened, closed) day pair matters
            known = target._oldest.get(span)
            if known is None or oldest < known:
                target._oldest[span] = oldest
            if cd is None:  # (active exceptions come without a status: see read.py)
                target.open_now += n
                target.codes[code] = target.codes.get(code, 0) + n
                if target.oldest_open_at is None or oldest < target.oldest_open_at:
                    target.oldest_open_at = oldest
        if cd is None:
            open_by_code[code] = open_by_code.get(code, 0) + n
            open_by_handoff[handoff] = open_by_handoff.get(handoff, 0) + n
        if reopenings:
            reopened[code] = reopened.get(code, 0) + reopenings
    for handoff, d, n in raw.corrections:
        if (d := day(d)) is not None:
            lane(handoff).corrections[d] += n
            total.corrections[d] += n
    recurring: dict[str, int] = {}
    for cause, _handoff, n in raw.recurring:
        recurring[cause] = recurring.get(cause, 0) + n
    for handoff, d, n, still_open in raw.messages:
        for target in (lane(handoff), total):
            target.open_messages += still_open
            if (d := day(d)) is not None:
                target.failed_messages[d] += n
    for system, d, runs, failed, _throttled, _requests in raw.runs:
        if (d := day(d)) is not None:
            for target in (lane(system), total):
                target.runs[d] += runs
                target.failed_runs[d] += failed
    for name, rows in (("wms->erp", raw.upstream), ("erp->storefront", raw.downstream)):
        for d, average, _n in rows:
            if (d := day(d)) is not None:
                lane(name).delay[d] = float(average)
    for name, last_good in systems.items():
        target = lane(name)
        target.last_good_read_at = last_good
        target.stale = last_good is None or window.now - last_good > stale_after
    for target in (*lanes.values(), total):
        _finish(target, window)
    ordered = dict(sorted(lanes.items(), key=lambda kv: (kv[0] in ROLES, kv[0])))
    return Figures(window, ordered, total,
                   dict(sorted(open_by_code.items(), key=lambda kv: -kv[1])),
                   dict(sorted(open_by_handoff.items(), key=lambda kv: -kv[1])),
                   dict(sorted(recurring.items(), key=lambda kv: -kv[1])),
                   dict(sorted(reopened.items(), key=lambda kv: -kv[1])))


def _finish(lane: Lane, window: Window) -> None:
    """Averages, and the age of the oldest unresolved exception at each day's end: the
    oldest one opened by then and not closed by then (closed on day d: gone at d's end)."""
    for i, n in enumerate(lane.resolved):
        lane.resolve_seconds[i] = lane._resolve_sum[i] / n if n else None
    for i in range(window.days):
        end = window.end(i)
        ages = [end - oldest for (od, cd), oldest in lane._oldest.items()
                if od <= i and (cd is None or cd > i) and oldest <= end]
        lane.oldest_age[i] = max(ages) if ages else None
