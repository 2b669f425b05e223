"""Health figures on a fixed scenario written straight into a fresh cache (every number
below is worked out by hand from the rows), and `seamdesk health` on the demo."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import insert

from app.cache.engine import make_engine
from app.cache.models import (
    CountCurrent,
    CountHistory,
    InventoryEvent,
    MiddlewareError,
    QueueItem,
    SyncRun,
)
from app.health.figures import compute
from app.health.ownership import OwnershipSettings
from app.health.report import as_json, markdown, plain, spark
from app.health.window import DAY, Window
from app.queue.lifecycle import act
from app.queue.query import remembered
from tests.conftest import BACKENDS

NOW = 1_796_050_800  # 2026-11-30T15:00Z
TODAY = NOW // DAY * DAY
H = 3600


def exception(ident, code, handoff, opened, status="open", closed=None, recurrences=0,
              key=None):
    return dict(id=ident, key=key or f"{code}|SKU{ident}|DAL1", code=code, sku=f"SKU{ident}",
                location="DAL1", handoff=handoff, owner="integration", status=status,
                summary="s", evidence="{}", first_seen_at=opened, opened_at=opened,
                seen_at=opened, closed_at=closed, recurrences=recurrences)


@pytest.fixture(params=BACKENDS)
def cache(tmp_path, request):
    engine = make_engine(f"sqlite:///{tmp_path / 'health.db'}" if request.param == "sqlite"
                         else request.getfixturevalue("pg_url"))
    rows = [
        # wms->erp: open since 3 days ago 10:00, one opened today, one resolved yesterday
        exception(1, "upstream-drift", "wms->erp", TODAY - 3 * DAY + 10 * H),
        exception(2, "duplicate-posting", "wms->erp", TODAY + 9 * H),
        exception(3, "upstream-drift", "wms->erp", TODAY - DAY + 8 * H, "resolved",
                  TODAY - DAY + 12 * H, recurrences=2),
        # erp->storefront: one opened 40 days ago, cleared 2 days ago (ages into the window)
        exception(4, "downstream-drift", "erp->storefront", TODAY - 40 * DAY, "cleared",
                  TODAY - 2 * DAY + H),
        # closed before the window: not counted at all
        exception(5, "phantom-stock", "erp->storefront", TODAY - 50 * DAY, "resolved",
                  TODAY - 45 * DAY),
        # a system finding, and a recurring one about upstream drift
        exception(6, "stale-source", "erp", TODAY + 13 * H, "acknowledged"),
        exception(7, "recurring", "wms->erp", TODAY + 14 * H,
                  key="recurring|upstream-drift|SKU3|DAL1"),
    ]
    with engine.begin() as conn:
        conn.execute(insert(QueueItem), rows)
        conn.execute(insert(MiddlewareError), [
            dict(system="middleware", error_id=f"E{i}", flow="WMS to ERP inventory",
                 flow_id="f", step="s", handoff="wms->erp", occurred_at=at, message="m",
                 resolved=resolved, read_at=at, first_read_at=at, run_id=1)
            for i, (at, resolved) in enumerate([(TODAY + H, False), (TODAY + 2 * H, True),
                                                (TODAY - DAY, False)])])
        conn.execute(insert(SyncRun), [
            dict(system="erp", mode="full", started_at=TODAY + h * H, status=status)
            for h, status in ((1, "complete"), (2, "failed"), (3, "partial"), (4, "complete"))])
        conn.execute(insert(InventoryEvent), [
            dict(system=s, source_id=f"{s}{i}", event_id=eid, kind="adjustment", sku="A",
                 location="DAL1", delta=-1, at=at, run_id=1)
            for i, (s, eid, at) in enumerate([("wms", "ADJ1", TODAY + H),
                                              ("erp", "ADJ1", TODAY + H + 600),
                                              ("wms", "ADJ2", TODAY + 2 * H),
                                              ("erp", "ADJ2", TODAY + 2 * H + 1200),
                                              ("wms", "ADJ3", TODAY + 3 * H)])])
        common = dict(sku="A", location="DAL1", on_hand=5, read_at=NOW)
        conn.execute(insert(CountCurrent), [
            dict(common, system="erp", available=5, updated_at=TODAY + 5 * H, run_id=2),
            dict(common, system="storefront", available=5, updated_at=TODAY + 5 * H + 900,
                 run_id=2)])
        conn.execute(insert(CountHistory), [
            dict(common, system="erp", available=7, updated_at=TODAY + 2 * H, run_id=1),
            dict(common, system="storefront", available=7, updated_at=TODAY + 2 * H + 300,
                 run_id=1)])
    # a person resolves #2 as corrected by hand an hour later
    act(engine, "correct", [2], "dana", TODAY + 10 * H, note="re-keyed")
    return engine


def figures(engine, days=7, now=NOW):
    return compute(engine, Window(days, now), {"wms": NOW - 60, "erp": NOW - 2 * H}, 3600)


def test_exception_figures_per_handoff_and_day(cache):
    f = figures(cache)
    up, down = f.lanes["wms->erp"], f.lanes["erp->storefront"]
    assert up.opened == [0, 0, 0, 1, 0, 1, 2]  # #1 3 days ago, #3 yesterday, #2 and #7 today
    assert up.resolved == [0, 0, 0, 0, 0, 1, 1]  # #3 yesterday; #2 (corrected) today
    assert up.resolve_seconds[-2:] == [4 * H, H]
    assert up.corrections == [0] * 6 + [1] and up.duplicates == [0] * 6 + [1]
    assert up.open_now == 2 and up.oldest_open_at == TODAY - 3 * DAY + 10 * H
    # oldest unresolved at each day's end: none until #1 opened, then #1 ages
    assert up.oldest_age[:3] == [None] * 3
    assert up.oldest_age[3] == 14 * H and up.oldest_age[-1] == NOW - up.oldest_open_at
    # #4 was open (opened 40 days back) until cleared 2 days ago: aged in the window
    assert down.oldest_age[0] == 40 * DAY - 6 * DAY + DAY  # at the end of the first day
    assert down.oldest_age[4:] == [None] * 3 and down.open_now == 0
    assert f.open_by_code == {"upstream-drift": 1, "stale-source": 1, "recurring": 1}
    assert f.open_by_handoff == {"wms->erp": 2, "erp": 1}
    assert f.recurring_by_cause == {"upstream-drift": 1}
    assert f.reopened_by_code == {"upstream-drift": 2}
    assert f.total.open_now == 3 and sum(f.total.opened) == 5


def test_messages_runs_and_propagation_delay(cache):
    f = figures(cache)
    up, erp = f.lanes["wms->erp"], f.lanes["erp"]
    assert up.failed_messages == [0] * 5 + [1, 2] and up.open_messages == 2
    assert erp.runs[-1] == 4 and erp.failed_runs[-1] == 2
    assert erp.failed_run_rate()[-1] == 0.5 and erp.failed_run_rate()[0] is None
    assert up.delay[-1] == 900  # (600 + 1200) / 2; ADJ3 has no ERP posting yet
    assert f.lanes["erp->storefront"].delay[-1] == 600  # (300 + 900) / 2
    assert not f.lanes["wms"].stale and f.lanes["erp"].stale


def test_worst_handoff_this_week_and_since_when(cache):
    f = figures(cache)
    worst = f.worst()
    assert worst.name == "wms->erp"  # 4 opened + 3 failed messages this week
    assert f.since(worst) == TODAY - 3 * DAY + 10 * H
    assert "Worst this week: wms->erp" in plain(f)


def test_figures_are_remembered_until_the_cache_changes(cache):
    # PostgreSQL has no data_version to tell a change by: nothing is remembered there.
    kept = cache.dialect.name == "sqlite"
    calls = []
    remembered(cache, "probe", lambda: calls.append(1))
    remembered(cache, "probe", lambda: calls.append(1))
    assert len(calls) == (1 if kept else 2)
    first = figures(cache).lanes["wms->erp"].open_now
    act(cache, "resolve", [1], "dana", NOW, note="fixed the mapping")
    assert figures(cache).lanes["wms->erp"].open_now == first - 1  # not the remembered one
    remembered(cache, "probe", lambda: calls.append(1))
    assert len(calls) == (2 if kept else 3)


def test_json_and_markdown_shapes(cache):
    f = figures(cache)
    matrix = OwnershipSettings(available=["erp", "wms"]).matrix()
    data = json.loads(json.dumps(as_json(f, matrix)))
    assert data["days"] == 7 and len(data["day_starts"]) == 7
    assert data["worst_handoff"]["handoff"] == "wms->erp"
    assert data["handoffs"]["wms->erp"]["daily"]["manual_corrections"][-1] == 1
    assert data["systems"]["erp"]["stale"] is True
    assert data["ownership"]["available"] == ["erp", "wms"]
    text = markdown(f, matrix)
    assert text.startswith("# seamdesk health, 2026-11-30")
    assert "| wms->erp | 2 |" in text and "Available to sell (shared)" in text
    assert spark([0, None, 4, 8]) == "▁ ▄█"


def test_an_empty_cache_reads_quiet(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    f = figures(engine, days=30)
    assert f.worst() is None and f.total.open_now == 0
    assert "No exceptions" in plain(f)
