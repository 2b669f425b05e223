"""The diagnosis engine (app/diagnosis) against FINDINGS.md: for every count finding a
positive case, a near miss, the tolerance boundary, a missing system and zero stock; plus
owners, summaries, handoffs and last known good. Pure data: no database, network or clock."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from app.diagnosis import diagnose
from app.diagnosis.catalogue import COUNT_CODES
from app.diagnosis.compare import Agreement, last_known_good
from app.diagnosis.evidence import Event, Evidence, SystemState, Thresholds
from app.records import Observation, RunSummary

SKU = "TEE-BLK-M"
NOW = 1_796_050_800  # 2026-11-30 15:00 UTC
READ = NOW - 300  # when the counts were read (and, by default, last updated)
TH = Thresholds()  # sync tolerance 900 s, stale after 3600 s, counts must match exactly
HANDOFFS = {"wms->erp", "erp->storefront", "both", "wms", "erp",  # CONTRACTS.md's list
            "storefront"}
KINDS = {"wms": "shiphero", "erp": "netsuite", "storefront": "shopify"}


def obs(system, on_hand, available=None, allocated=0, in_transit=0, updated_at=READ,
        read_at=READ, location="DAL1"):
    """One system's count; available defaults to on hand (nothing reserved)."""
    return Observation(system, location, SKU, on_hand,
                       on_hand if available is None else available, allocated, in_transit,
                       updated_at, read_at)


def q(on_hand, available=None, **kw):
    return {"on_hand": on_hand, "available": available, **kw}


def ev(wms=None, erp=None, shop=None, **extra) -> Evidence:
    """Evidence for SKU at DAL1. Each system is an int (on hand = available), a q(...)
    dict, or None: no row in that system."""
    counts = {}
    for system, value in (("wms", wms), ("erp", erp), ("storefront", shop)):
        if value is not None:
            counts[system] = obs(system, **(q(value) if isinstance(value, int) else value))
    return Evidence(SKU, extra.pop("location", "DAL1"), NOW, counts, **extra)


def event(system, event_id, kind, delta, ago, reason=None):
    return Event(system, event_id, kind, delta, NOW - ago, reason)


def run(system, throttled=0, requests=100, status="complete", error=None):
    return RunSummary(1, system, "delta", status, NOW - 400, NOW - 300, 1, 10, requests,
                      throttled, 0, error)


def state(name, read_ago=60, *runs):
    return SystemState(name, KINDS[name], None if read_ago is None else NOW - read_ago, runs)


def fresh():
    """All three configured, read a minute ago, the last run clean."""
    return {name: state(name, 60, run(name)) for name in KINDS}


def codes(e, th=TH):
    return [f.code for f in diagnose(e, th)]


# --- the evidence behind each finding (reused by the positive, missing and zero tests) ---
OLD = NOW - 3600  # an hour ago: well past the 900 s sync tolerance
GHOST = {"wms": q(60, 52, allocated=8), "erp": q(60, 52, allocated=8)}  # 8 committed
ADJ = event("wms", "ADJ-1", "adjustment", -4, 3600, "damaged")
RCV = event("wms", "RCV-1", "receipt", 24, 3600)
SHP = event("wms", "SHP-1", "shipment", -3, 3600)
DUP = event("wms", "ADJ-2231", "adjustment", -5, 3600)

CASES = {
    "upstream-timing": ev(q(16, updated_at=OLD), 20, 20),
    "upstream-rules": ev(16, 20, 20),
    "downstream-drift": ev(20, 20, 14),
    "both-handoffs": ev(16, 20, 14),
    "phantom-stock": ev(0, 0, 5),
    "hidden-stock": ev(30, 30, 0),
    "pool-boundary": ev(30, 30, 0, siblings={"ATL1": {"storefront": obs("storefront", 9)}}),
    "pool-def-down": ev(50, q(50, in_transit=12), 62),
    "pool-def-up": ev(50, q(50, 62, in_transit=12), 62),
    "ghost-k2": ev(**GHOST, shop=q(60, 44, allocated=8)),  # 60 − 2 × 8
    "ghost-k3": ev(**GHOST, shop=q(60, 36, allocated=8)),  # 60 − 3 × 8
    # available fell by the 8 reserved, with on hand and allocations unchanged
    "ghost-drop": ev(**GHOST, shop=q(60, 47, allocated=8), history=(
        obs("storefront", 60, 47, allocated=8), obs("storefront", 60, 55, allocated=8,
                                                    read_at=READ - 900))),
    "uom-mismatch": ev(72, 12, 12),
    "stranded-adjustment": ev(16, 20, 20, events=(ADJ,)),
    "stranded-cycle-count": ev(16, 20, 20, events=(replace(ADJ, kind="cycle_count"),)),
    "unposted-receipt": ev(48, 24, 24, events=(RCV,)),
    "unconfirmed-shipment": ev(7, q(10, 7, allocated=3), 7, events=(SHP,)),
    "duplicate-twice": ev(45, 40, 40, events=(DUP, replace(DUP, system="erp", at=NOW - 3500),
                                              replace(DUP, system="erp", at=NOW - 3400))),
    "duplicate-no-wms": ev(45, 40, 40, events=(replace(DUP, system="erp"),
                                               replace(DUP, system="erp", at=NOW - 3400))),
    "duplicate-doubled": ev(45, 40, 40, events=(DUP, replace(DUP, system="erp", delta=-10))),
    # the ERP's row was last read with its last refresh (a re-read would make it fresh)
    "stale-source": ev(20, q(20, read_at=NOW - 4000), 20,
                       systems={**fresh(), "erp": state("erp", 4000)}),
    "throttled-sync": ev(20, 20, 20, systems={
        **fresh(), "storefront": state("storefront", 60, run("storefront", 12))}),
    "unmapped-location": ev(shop=q(7, location="storefront:gid-77"),
                            location="storefront:gid-77", location_name="Pop-up Austin",
                            mapped=False),
}

# id → (the codes raised, most specific first; the first one's handoff; its cause;
#       numbers its summary must quote)
POSITIVE = {
    "upstream-timing": (["upstream-drift"], "wms->erp", "timing", ["WMS 16", "ERP 20"]),
    "upstream-rules": (["upstream-drift"], "wms->erp", "rules", ["WMS 16", "ERP 20"]),
    "downstream-drift": (["downstream-drift"], "erp->storefront", "rules",
                         ["ERP 20", "storefront 14"]),
    "both-handoffs": (["both-handoffs"], "both", "rules",
                      ["WMS 16 vs ERP 20", "ERP 20 vs storefront 14"]),
    "phantom-stock": (["phantom-stock", "downstream-drift"], "erp->storefront", None,
                      ["offers 5", "WMS has 0"]),
    "hidden-stock": (["hidden-stock", "downstream-drift"], "erp->storefront", None,
                     ["0 of", "WMS has 30"]),
    "pool-boundary": (["pool-boundary", "downstream-drift"], "erp->storefront", None,
                      ["ATL1 (9)", "holds 30"]),
    "pool-def-down": (["pool-definition"], "erp->storefront", None,
                      ["(50)", "(62)", "ERP's 12 in transit"]),
    "pool-def-up": (["pool-definition"], "wms->erp", None, ["(50)", "(62)", "12 in transit"]),
    "ghost-k2": (["ghost-reservation", "downstream-drift"], "both", None,
                 ["shows 44", "60 − 2 × the 8"]),
    "ghost-k3": (["ghost-reservation", "downstream-drift"], "both", None, ["60 − 3 × the 8"]),
    "ghost-drop": (["ghost-reservation", "downstream-drift"], "both", None,
                   ["from 55 to 47", "(60)", "(8)"]),
    "uom-mismatch": (["uom-mismatch", "upstream-drift"], "wms->erp", None,
                     ["72", "12", "6×"]),
    "stranded-adjustment": (["stranded-adjustment", "upstream-drift"], "wms->erp", None,
                            ["ADJ-1 (-4, damaged)", "WMS 16 vs ERP 20", "1 h later"]),
    "stranded-cycle-count": (["stranded-adjustment", "upstream-drift"], "wms->erp", None,
                             ["cycle count ADJ-1 (-4"]),
    "unposted-receipt": (["unposted-receipt", "upstream-drift"], "wms->erp", None,
                         ["RCV-1 (+24)", "WMS 48 vs ERP 24"]),
    "unconfirmed-shipment": (["unconfirmed-shipment", "upstream-drift"], "wms->erp", None,
                             ["SHP-1 (3 units", "10 on hand with 3 committed"]),
    "duplicate-twice": (["duplicate-posting", "upstream-drift"], "wms->erp", None,
                        ["ADJ-2231 (-5", "twice", "-10 in total", "-5 once"]),
    "duplicate-no-wms": (["duplicate-posting", "upstream-drift"], "wms->erp", None,
                         ["twice", "-10 in total", "the WMS has no such event"]),
    "duplicate-doubled": (["duplicate-posting", "upstream-drift"], "wms->erp", None,
                          ["once with double the quantity", "-10 in total", "-5 once"]),
    "stale-source": (["stale-source"], "erp", None, ["netsuite", "1 h 6 min ago"]),
    "throttled-sync": (["throttled-sync"], "storefront", None, ["12 of 100", "12%"]),
    "unmapped-location": (["unmapped-location"], "storefront", None,
                          ["gid-77 (Pop-up Austin)", "offers 7"]),
}


@pytest.mark.parametrize("case", POSITIVE)
def test_positive(case):
    expected, handoff, cause, numbers = POSITIVE[case]
    found = diagnose(CASES[case], TH)
    assert [f.code for f in found] == expected
    first = found[0]
    assert (first.handoff, first.cause) == (handoff, cause)
    for text in numbers:
        assert text in first.summary, (text, first.summary)


def test_every_count_code_has_a_positive_case():
    # A new rule in the catalogue without a case here is a gap in these tests.
    raised = {code for expected, *_ in POSITIVE.values() for code in expected}
    assert raised == set(COUNT_CODES)


def test_handoffs_are_from_the_known_set():
    for case in CASES.values():
        for finding in diagnose(case, TH):
            assert finding.handoff in HANDOFFS, finding


def test_owner_names_come_from_the_mapping():
    owners = {"integration": "Dana (integration)", "erp_owner": "Priya"}
    found = diagnose(CASES["pool-boundary"], TH, owners)
    assert [(f.owner, f.owner_name) for f in found] == [
        ("erp_owner", "Priya"), ("integration", "Dana (integration)")]
    uom = diagnose(CASES["uom-mismatch"], TH, owners)[0]
    assert (uom.owner, uom.owner_name) == ("master_data", None)  # no one mapped to it
    assert all(f.owner_name is None for f in diagnose(CASES["pool-boundary"], TH))


# --- near misses: one fact just outside the rule ---
NEAR_MISS = {
    # upstream needs ERP = storefront; one unit off there makes it both handoffs
    "upstream: storefront off ERP": (ev(16, 20, 19), ["both-handoffs"]),
    "downstream: WMS off ERP": (ev(19, 20, 14), ["both-handoffs"]),
    "both: WMS back in line": (ev(20, 20, 14), ["downstream-drift"]),
    "phantom: WMS has 1": (ev(1, 1, 5), ["downstream-drift"]),
    "hidden: storefront shows 1": (ev(30, 30, 1), ["downstream-drift"]),
    "pool-boundary: sibling out of stock online": (
        ev(30, 30, 0, siblings={"ATL1": {"storefront": obs("storefront", 0)}}),
        ["hidden-stock", "downstream-drift"]),
    "pool-boundary: ERP pool empty": (
        ev(30, q(30, 0), 0, siblings={"ATL1": {"storefront": obs("storefront", 9)}}),
        ["hidden-stock", "upstream-drift"]),
    "pool-definition: one past in transit": (ev(50, q(50, in_transit=12), 63),
                                             ["downstream-drift"]),
    "pool-definition: one short of in transit": (ev(50, q(50, in_transit=12), 61),
                                                 ["downstream-drift"]),
    "ghost: one off 60 − 2 × 8": (ev(**GHOST, shop=q(60, 45, allocated=8)),
                                  ["downstream-drift"]),
    # 60 − 1 × 8: one subtraction of the 8 committed is how available is meant to work
    "ghost: k = 1 is normal": (ev(q(60, 52, allocated=8), q(60, 50, allocated=8), q(None, 52)),
                               ["both-handoffs"]),
    # the same 8-unit drop, but 8 more were allocated: a new order, not a ghost
    "ghost-drop: a new order explains it": (
        ev(**GHOST, shop=q(60, 47, allocated=8), history=(
            obs("storefront", 60, 47, allocated=8),
            obs("storefront", 60, 55, allocated=0, read_at=READ - 900))),
        ["downstream-drift"]),
    "uom: one unit off 6×": (ev(73, 12, 12), ["upstream-drift"]),
    "stranded: ERP has the same change": (
        ev(16, 20, 20, events=(ADJ, event("erp", "IA-9", "adjustment", -4, 3000))),
        ["upstream-drift"]),
    "unposted: ERP has the receipt": (
        ev(48, 24, 24, events=(RCV, replace(RCV, system="erp", at=NOW - 3000))),
        ["upstream-drift"]),
    "unconfirmed: ERP confirmed it": (
        ev(7, q(10, 7, allocated=3), 7, events=(SHP, replace(SHP, system="erp"))),
        ["upstream-drift"]),
    "stranded: a transfer is not watched": (
        ev(16, 20, 20, events=(replace(ADJ, kind="transfer"),)), ["upstream-drift"]),
    "duplicate: posted once": (ev(45, 40, 40, events=(DUP, replace(DUP, system="erp"))),
                               ["upstream-drift"]),
    "duplicate: not quite double": (
        ev(45, 40, 40, events=(DUP, replace(DUP, system="erp", delta=-9))), ["upstream-drift"]),
    "stale: not configured": (ev(20, 20, 20, systems={"wms": state("wms")}), []),
    "throttled: 9 of 100": (ev(20, 20, 20, systems={
        "storefront": state("storefront", 60, run("storefront", 9))}), []),
    "throttled: the running run is not judged": (ev(20, 20, 20, systems={
        "storefront": state("storefront", 60, run("storefront", 50, status="running"),
                            run("storefront", 1))}), []),
    "unmapped: mapped": (ev(shop=7), []),
}


@pytest.mark.parametrize("case", NEAR_MISS)
def test_near_miss(case):
    evidence, expected = NEAR_MISS[case]
    assert codes(evidence) == expected


def test_throttling_in_a_failed_run_counts_below_the_share():
    # A run that failed and was rate limited at all is reported, whatever the share.
    states = {"erp": state("erp", 60, run("erp", 1, status="failed", error="HTTP 429"))}
    assert codes(ev(20, 20, 20, systems=states)) == ["throttled-sync"]


# --- tolerance boundaries: exactly at the tolerance agrees, one past does not ---
UNITS2, PCT10 = Thresholds(tolerance_units=2), Thresholds(tolerance_percent=10)
SIB = {"ATL1": {"storefront": obs("storefront", 9)}}  # in stock online at another location
BOUNDARY = {
    # id: (thresholds, evidence at the tolerance, one past it, codes one past)
    "upstream units": (UNITS2, ev(18, 20, 20), ev(17, 20, 20), ["upstream-drift"]),
    "upstream percent": (PCT10, ev(18, 20, 20), ev(17, 20, 20), ["upstream-drift"]),
    "downstream units": (UNITS2, ev(20, 20, 18), ev(20, 20, 17), ["downstream-drift"]),
    "downstream percent": (PCT10, ev(20, 20, 18), ev(20, 20, 17), ["downstream-drift"]),
    "both units": (UNITS2, ev(18, 20, 22), ev(17, 20, 23), ["both-handoffs"]),
    "phantom units": (UNITS2, ev(0, 0, 2), ev(0, 0, 3), ["phantom-stock", "downstream-drift"]),
    "hidden units": (UNITS2, ev(2, 2, 0), ev(3, 3, 0), ["hidden-stock", "downstream-drift"]),
    "pool-boundary units": (UNITS2, ev(2, 2, 0, siblings=SIB), ev(3, 3, 0, siblings=SIB),
                            ["pool-boundary", "downstream-drift"]),
    # a gap within the tolerance is no gap, so there is no pool definition to explain
    "pool-definition units": (Thresholds(tolerance_units=12), ev(50, q(50, in_transit=12), 62),
                              ev(50, q(50, in_transit=13), 63), ["pool-definition"]),
    # the event-trail rules only look when WMS and ERP disagree beyond the tolerance
    "stranded gate units": (Thresholds(tolerance_units=4), ev(16, 20, 20, events=(ADJ,)),
                            ev(15, 20, 20, events=(ADJ,)),
                            ["stranded-adjustment", "upstream-drift"]),
    "unposted gate percent": (Thresholds(tolerance_percent=50), ev(48, 24, 24, events=(RCV,)),
                              ev(49, 24, 24, events=(RCV,)),
                              ["unposted-receipt", "upstream-drift"]),
    "unconfirmed gate units": (Thresholds(tolerance_units=3),
                               ev(7, q(10, 7, allocated=3), 7, events=(SHP,)),
                               ev(6, q(10, 6, allocated=3), 6, events=(SHP,)),
                               ["unconfirmed-shipment", "upstream-drift"]),
    "uom units": (Thresholds(tolerance_units=5), ev(6, 1, 1), ev(12, 2, 2),
                  ["uom-mismatch", "upstream-drift"]),
}


@pytest.mark.parametrize(("th", "at", "past", "expected"), [
    pytest.param(*value, id=name, marks=[])
    for name, value in BOUNDARY.items()])
def test_count_tolerance_boundary(th, at, past, expected):
    assert codes(at, th) == []
    assert codes(past, th) == expected


@pytest.mark.parametrize(("th", "on_hand", "committed", "at", "past"), [
    (Thresholds(tolerance_units=1), 60, 8, 45, 46),  # 60 − 2 × 8 = 44
    (Thresholds(tolerance_percent=10), 100, 30, 36, 35),  # 100 − 2 × 30 = 40; 10 % is 4
])
def test_ghost_tolerance_boundary(th, on_hand, committed, at, past):
    # Here agreeing with the formula is the finding: at the tolerance it is raised.
    wms_erp = q(on_hand, on_hand - committed, allocated=committed)

    def shop(available):
        return ev(wms_erp, wms_erp, q(on_hand, available, allocated=committed))

    assert codes(shop(at), th) == ["ghost-reservation", "downstream-drift"]
    assert codes(shop(past), th) == ["downstream-drift"]


@pytest.mark.parametrize(("spread", "cause"), [(900, "rules"), (901, "timing"), (None, None)])
def test_drift_cause_timing_vs_rules_at_the_sync_tolerance(spread, cause):
    # Last-update times exactly one sync tolerance apart count as "the same time".
    wms = q(16, updated_at=None if spread is None else READ - spread)
    found = diagnose(ev(wms, 20, 20), TH)
    assert (found[0].code, found[0].cause) == ("upstream-drift", cause)
    if cause is None:
        assert "not known" in found[0].summary


@pytest.mark.parametrize(("kind", "delta", "code"), [
    ("adjustment", -4, "stranded-adjustment"), ("cycle_count", -4, "stranded-adjustment"),
    ("receipt", 4, "unposted-receipt"), ("shipment", -4, "unconfirmed-shipment")])
@pytest.mark.parametrize(("waited", "raised"), [(900, False), (901, True)])
def test_unmatched_event_waits_one_sync_tolerance(kind, delta, code, waited, raised):
    # "after the tolerance": an event exactly one sync tolerance old may still be in flight
    e = ev(16, 20, 20, events=(event("wms", "E-1", kind, delta, waited),))
    assert codes(e) == ([code, "upstream-drift"] if raised else ["upstream-drift"])


def test_counterpart_older_than_the_tolerance_does_not_match():
    # An ERP change of the same size long before the WMS event is a different change.
    e = ev(16, 20, 20, events=(event("erp", "IA-1", "adjustment", -4, 9000), ADJ))
    assert codes(e)[0] == "stranded-adjustment"


def test_only_the_newest_three_per_code():
    events = tuple(event("wms", f"ADJ-{i}", "adjustment", -1, 1000 * i) for i in range(1, 6))
    found = diagnose(ev(15, 20, 20, events=events), TH)
    stranded = [f.summary for f in found if f.code == "stranded-adjustment"]
    assert [s.split()[2] for s in stranded] == ["ADJ-1", "ADJ-2", "ADJ-3"]


def test_one_erp_posting_matches_one_wms_event():
    e = ev(12, 16, 16, events=(event("wms", "ADJ-1", "adjustment", -4, 3000),
                               event("erp", "ADJ-1", "adjustment", -4, 2940),
                               event("wms", "ADJ-2", "adjustment", -4, 2880)))
    assert "stranded-adjustment" in codes(e)


@pytest.mark.parametrize(("ago", "stale"), [(3600, False), (3601, True), (None, True)])
def test_stale_at_the_limit(ago, stale):
    read = NOW - (ago or 7200)  # the WMS row is as old as the system's last good read
    failed = run("wms", status="failed", error="401 Unauthorized")
    e = ev(q(20, read_at=read), 20, 20, systems={"wms": state("wms", ago, failed)})
    found = diagnose(e, TH)
    assert [f.code for f in found] == (["stale-source"] if stale else [])
    if ago is None:
        assert "never completed a read; the last run failed: 401" in found[0].summary


@pytest.mark.parametrize(("throttled", "raised"), [(10, True), (9, False)])
def test_throttled_share_boundary(throttled, raised):
    # The default share is 0.1: 10 of 100 counts, 9 does not.
    e = ev(20, 20, 20, systems={"erp": state("erp", 60, run("erp", throttled))})
    assert codes(e) == (["throttled-sync"] if raised else [])


# --- a missing system: no crash, and the finding that still makes sense ---
MISSING = {
    "upstream without storefront": (ev(16, 20), ["upstream-drift"]),
    "downstream without WMS": (ev(None, 20, 14), ["downstream-drift"]),
    # no ERP row: neither handoff can be judged (FINDINGS has no code for it)
    "both without ERP": (ev(16, None, 14), []),
    "phantom without WMS": (ev(None, 0, 5), ["downstream-drift"]),
    "hidden without storefront": (ev(30, 30), []),
    "pool-boundary without ERP is hidden stock": (
        ev(30, None, 0, siblings={"ATL1": {"storefront": obs("storefront", 9)}}),
        ["hidden-stock"]),
    "pool-definition without storefront": (ev(50, q(50, in_transit=12)), []),
    "ghost without WMS": (ev(None, GHOST["erp"], q(60, 44, allocated=8)),
                          ["downstream-drift"]),
    "ghost from ERP commitments without storefront": (ev(**GHOST), []),
    "uom without ERP: WMS vs storefront": (ev(72, None, 12), ["uom-mismatch"]),
    "stranded without ERP": (ev(16, None, 20, events=(ADJ,)), []),
    "unposted without ERP": (ev(48, None, 24, events=(RCV,)), []),
    "unconfirmed without ERP": (ev(7, None, 7, events=(SHP,)), []),
    "duplicate with no counts at all": (ev(events=CASES["duplicate-twice"].events),
                                        ["duplicate-posting"]),
    "stale without its count": (ev(20, None, 20, systems={"erp": state("erp", 4000)}),
                                ["stale-source"]),
    "unmapped without its count": (ev(location="erp:LOC-9", mapped=False),
                                   ["unmapped-location"]),
    "nothing at all": (ev(), []),
}


@pytest.mark.parametrize("case", MISSING)
def test_missing_system(case):
    evidence, expected = MISSING[case]
    found = diagnose(evidence, TH)
    assert [f.code for f in found] == expected
    if case == "uom without ERP: WMS vs storefront":
        assert found[0].handoff == "both"
    if case.startswith("upstream"):
        assert "no storefront number" in found[0].summary
    if case.startswith("unmapped"):
        assert "offers" not in found[0].summary


def test_unknown_quantities_compare_nothing():
    # A system that does not report a number (None) is neither 0 nor a disagreement.
    blank = q(None, None, allocated=None, in_transit=None)
    assert codes(ev(blank, 20, q(None, 20))) == []
    assert codes(ev(20, blank, blank)) == []


# --- zero stock everywhere: the count rules have nothing to say ---
def zeroed(e: Evidence) -> Evidence:
    def zero(o):
        return replace(o, on_hand=0, available=0, allocated=0, in_transit=0)
    return replace(e, counts={s: zero(o) for s, o in e.counts.items()},
                   history=tuple(zero(o) for o in e.history),
                   siblings={loc: {s: zero(o) for s, o in rows.items()}
                             for loc, rows in e.siblings.items()})


# The event, sync and topology findings do not depend on the stock, so they stay.
NOT_FROM_COUNTS = {"duplicate-twice": ["duplicate-posting"],
                   "duplicate-doubled": ["duplicate-posting"],
                   "duplicate-no-wms": ["duplicate-posting"],
                   "stale-source": ["stale-source"], "throttled-sync": ["throttled-sync"],
                   "unmapped-location": ["unmapped-location"]}


@pytest.mark.parametrize("case", CASES)
def test_zero_stock(case):
    assert codes(zeroed(CASES[case])) == NOT_FROM_COUNTS.get(case, [])


def test_all_zero_fresh_and_healthy_raises_nothing():
    e = ev(0, 0, 0, systems=fresh(), history=(obs("storefront", 0, read_at=READ - 900),))
    assert diagnose(e, TH) == []


# --- summaries ---
def test_both_handoffs_summary_shows_the_upstream_numbers():
    found = diagnose(ev(q(10, 5), q(12, 5), q(5, 3)), TH)
    assert found[0].code == "both-handoffs"
    assert "10" in found[0].summary and "12" in found[0].summary


def test_ghost_drop_survives_a_reconfirming_run():
    shop = q(60, 47, allocated=8, read_at=NOW - 60)  # confirmed again by the latest run
    e = ev(**GHOST, shop=shop, history=(
        obs("storefront", 60, 47, allocated=8, read_at=NOW - 600),  # the current version
        obs("storefront", 60, 55, allocated=8, read_at=NOW - 1200)))  # before the drop
    assert codes(e)[0] == "ghost-reservation"


# --- Thresholds.agree ---
@pytest.mark.parametrize(("units", "percent", "a", "b", "agree"), [
    (0, 0, 5, 5, True),
    (0, 0, 5, 6, False),
    (0, 0, 0, 0, True),
    (2, 0, 10, 12, True),
    (2, 0, 13, 10, False),
    (0, 10, 90, 100, True),  # 10 % of the larger one
    (0, 10, 100, 89, False),
    (0, 10, 5, 6, False),  # 10 % of 6 rounds down to 0
    (5, 10, 100, 90, True),  # the wider of the two tolerances wins
    (5, 10, 6, 1, True),
    (5, 10, 100, 89, False),
    (0, 0, None, 5, None),
    (3, 0, 5, None, None),
    (0, 29, 71, 100, True),  # floor(29 / 100 * 100) is 28 in floating point
])
def test_agree(units, percent, a, b, agree):
    assert Thresholds(tolerance_units=units, tolerance_percent=percent).agree(a, b) is agree


# --- last known good ---
def version(system, on_hand, at, **kw):
    return obs(system, on_hand, read_at=at, **kw)


def test_lkg_agree_now():
    history = [version(s, 20, at) for s, at in (("wms", 100), ("erp", 110), ("storefront", 120))]
    assert last_known_good(history, TH) == Agreement(120, None)


def test_lkg_agreed_then_diverged():
    history = [version("wms", 20, 100), version("erp", 20, 110), version("storefront", 20, 120),
               version("wms", 16, 200), version("erp", 16, 300)]
    # At 300 WMS and ERP agree again, but the storefront still says 20.
    assert last_known_good(history, TH) == Agreement(120, 200)


def test_lkg_divergence_dates_from_the_systems_update_times_between_the_reads():
    """Read at 120 agreeing, at 900 not: the WMS changed at 400 and the ERP followed at
    410, so they have disagreed since 410 at the latest, not since the read at 900."""
    agreed = [version(s, 20, 100 + i, updated_at=50) for i, s in
              enumerate(("wms", "erp", "storefront"))]
    changed = [version("wms", 16, 900, updated_at=400), version("erp", 16, 900, updated_at=410)]
    assert last_known_good(agreed + changed, TH) == Agreement(102, 410)
    # An update time at or before the agreeing read (a clock off, a late read) says
    # nothing about when: the read time stands; so does one after the read.
    for when in (90, 102, 950):
        late = [version("wms", 16, 900, updated_at=when)]
        assert last_known_good(agreed + late, TH) == Agreement(102, 900)
    # A version whose numbers did not change (its update time moved: a sync touching
    # the row) did not make the gap.
    touched = [*changed, version("storefront", 20, 900, updated_at=880)]
    assert last_known_good(agreed + touched, TH) == Agreement(102, 410)


def test_lkg_never_agreed():
    history = [version("wms", 16, 100), version("erp", 20, 100), version("storefront", 20, 100)]
    assert last_known_good(history, TH) == Agreement(None, 100)
    # Disagreeing at the first read: as things stand, since the newest change before it.
    dated = [version("wms", 16, 100, updated_at=40), version("erp", 20, 100, updated_at=60),
             version("storefront", 20, 100, updated_at=50)]
    assert last_known_good(dated, TH) == Agreement(None, 60)


@pytest.mark.parametrize("history", [[], [version("wms", 20, 100), version("wms", 16, 200)]])
def test_lkg_single_system_has_nothing_to_compare(history):
    assert last_known_good(history, TH) == Agreement(None, None)


def test_lkg_normalizes_pools_and_tolerance():
    # The storefront counts the ERP's 12 in transit; the WMS is within 2 units.
    history = [version("wms", 48, 100), version("erp", 50, 100, in_transit=12),
               version("storefront", 50, 100, available=62)]
    assert last_known_good(history, UNITS2) == Agreement(100, None)
    assert last_known_good(history, TH) == Agreement(None, 100)


def test_lkg_never_agreed_diverges_when_all_were_first_seen():
    history = [version("wms", 16, 100), version("erp", 20, 200)]
    assert last_known_good(history, TH) == Agreement(None, 200)


def test_lkg_without_erp_does_not_call_a_gap_agreement():
    history = [version("wms", 10, 100), version("storefront", 3, 100)]
    assert last_known_good(history, TH).diverged_at is not None


def test_iso_matches_strftime_across_hours_and_before_1970():
    from datetime import UTC, datetime

    from app.clock import iso

    draws = random.Random(3)
    for epoch in [0, -1, -3601, 1796050800, 1796050800.9, *(
            draws.randint(-10**9, 4 * 10**9) for _ in range(20_000))]:
        expected = datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert iso(epoch) == expected
    assert iso(None) is None
