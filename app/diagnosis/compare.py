"""Comparing like with like: which pair of systems disagrees on which number, and when the
three last agreed.

The WMS and the ERP are compared on on-hand and available (physical stock and what may be
sold); the ERP and the storefront on available, the number the channel sells from. A gap
on available that equals exactly one side's in-transit quantity is a difference of pool
definition (FINDINGS.md `pool-definition`), not drift: "agree" means equal after that
normalization.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.diagnosis.evidence import Evidence, Thresholds
from app.records import Observation

UPSTREAM = ("wms", "erp")
DOWNSTREAM = ("erp", "storefront")
PAIR_FIELDS = {UPSTREAM: ("on_hand", "available"), DOWNSTREAM: ("available",)}
QUANTITIES = ("on_hand", "available", "allocated", "in_transit")


@dataclass(frozen=True, slots=True)
class Gap:
    pair: tuple[str, str]
    field: str
    a: int
    b: int
    in_transit_of: str | None = None  # set when the gap is one side's in-transit quantity


def pair_gaps(counts: Mapping[str, Observation], pair: tuple[str, str],
              th: Thresholds) -> list[Gap]:
    """Every compared number on which the pair disagrees (definition gaps included)."""
    first, second = counts.get(pair[0]), counts.get(pair[1])
    if first is None or second is None:
        return []
    gaps = []
    for name in PAIR_FIELDS[pair]:
        a, b = getattr(first, name), getattr(second, name)
        if a == b or th.agree(a, b) is not False:  # (equal: the common case, made cheap)
            continue
        explained = None
        if name == "available":
            for system, obs in zip(pair, (first, second), strict=True):
                if obs.in_transit and abs(a - b) == abs(obs.in_transit):
                    explained = system
                    break
        gaps.append(Gap(pair, name, a, b, explained))
    return gaps


def drift(counts: Mapping[str, Observation], th: Thresholds) -> tuple[list[Gap], list[Gap]]:
    """The real gaps upstream and downstream (definition gaps left out)."""
    return _real(pair_gaps(counts, UPSTREAM, th)), _real(pair_gaps(counts, DOWNSTREAM, th))


def gaps_of(ev: Evidence, th: Thresholds) -> tuple[list[Gap], list[Gap]]:
    """Every gap upstream and downstream at the evidence's location, worked out once for
    the several rules that ask (the detectors judge thousands of keys a refresh)."""
    found = ev.memo.get(th)
    if found is None:
        found = ev.memo[th] = (pair_gaps(ev.counts, UPSTREAM, th),
                               pair_gaps(ev.counts, DOWNSTREAM, th))
    return found


def drift_of(ev: Evidence, th: Thresholds) -> tuple[list[Gap], list[Gap]]:
    """`drift` at the evidence's location."""
    upstream, downstream = gaps_of(ev, th)
    return _real(upstream), _real(downstream)


def _real(gaps: list[Gap]) -> list[Gap]:
    return [g for g in gaps if g.in_transit_of is None]


def agreeing(counts: Mapping[str, Observation], th: Thresholds) -> bool:
    upstream, downstream = drift(counts, th)
    if "erp" not in counts and "wms" in counts and "storefront" in counts:
        return th.agree(counts["wms"].available, counts["storefront"].available) is not False
    return not upstream and not downstream


def any_gap(ev: Evidence, th: Thresholds) -> bool:
    """Any compared number differs, before normalizing pool definitions (a cheap test
    that no count rule can fire when it is False)."""
    if any(gaps_of(ev, th)):
        return True
    wms, shop = ev.counts.get("wms"), ev.counts.get("storefront")
    return "erp" not in ev.counts and wms is not None and shop is not None and \
        th.agree(wms.available, shop.available) is False


def cell_conflicts(counts: Mapping[str, Observation],
                   th: Thresholds) -> dict[tuple[str, str], tuple[str, ...]]:
    """(system, quantity) → the systems it disagrees with, for highlighting a table."""
    conflicts: dict[tuple[str, str], list[str]] = {}
    systems = [s for s in ("wms", "erp", "storefront") if s in counts]
    for i, a in enumerate(systems):
        for b in systems[i + 1:]:
            for name in QUANTITIES:
                if th.agree(getattr(counts[a], name), getattr(counts[b], name)) is False:
                    conflicts.setdefault((a, name), []).append(b)
                    conflicts.setdefault((b, name), []).append(a)
    return {key: tuple(value) for key, value in conflicts.items()}


@dataclass(frozen=True, slots=True)
class Agreement:
    last_agreed_at: int | None  # the newest read at which all of them agreed
    diverged_at: int | None  # when they began to disagree (None: agree now); see below


def last_known_good(history: Iterable[Observation], th: Thresholds) -> Agreement:
    """When the systems last agreed, from every version seen (history and current; pass
    the current ones with their effective read time).

    Versions are stored once and re-confirmed by later runs without a new row, so this
    gives the read time of the newest agreeing state; the caller may move it forward to
    the last complete run that started before `diverged_at`.
    """
    versions: dict[str, list[Observation]] = {}
    for obs in sorted(history, key=lambda o: o.read_at):
        versions.setdefault(obs.system, []).append(obs)
    if len(versions) < 2:
        return Agreement(None, None)
    moments = sorted({obs.read_at for rows in versions.values() for obs in rows}, reverse=True)
    diverged = None
    for moment in moments:
        state = {system: latest for system, rows in versions.items()
                 if (latest := _as_of(rows, moment)) is not None}
        if len(state) < len(versions):
            break  # before every system was read: nothing to compare, nothing diverged
        if agreeing(state, th):
            if diverged is None:  # they agree now, as of the newest read
                return Agreement(max(o.read_at for o in state.values()), None)
            return Agreement(moment, _changed_at(versions, moment, diverged))
        diverged = moment
    # Never seen agreeing: as things stand, since the newest change before the first read.
    return Agreement(None, None if diverged is None else _changed_at(versions, None, diverged))


def _changed_at(versions: dict[str, list[Observation]], agreed: int | None, seen: int) -> int:
    """When the numbers first read at `seen` (the first read that disagreed) had all
    landed, by the systems' own update times: a refresh may come hours after the change,
    and the investigation window should end at the change, not at the read. A version
    with the same numbers as the one before (only its update time moved) changed nothing.
    The read time when no update time falls between the agreeing read and that one."""
    changed = []
    for rows in versions.values():  # oldest first
        for before, obs in zip([None, *rows[:-1]], rows, strict=True):
            if obs.read_at == seen and obs.updated_at is not None and (
                    before is None or _numbers(before) != _numbers(obs)):
                changed.append(obs.updated_at)
    newest = max(changed, default=None)
    if newest is None or newest > seen or (agreed is not None and newest <= agreed):
        return seen
    return newest


def _numbers(obs: Observation) -> tuple:
    return tuple(getattr(obs, q) for q in QUANTITIES)


def _as_of(rows: list[Observation], moment: int) -> Observation | None:
    found = None
    for obs in rows:  # oldest first, a handful of versions
        if obs.read_at > moment:
            break
        found = obs
    return found
