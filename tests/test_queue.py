"""The exception queue's core: detectors over a real refresh of the demo, auto-clear,
recurrence, the lifecycle with its audit trail, keyset pages and `seamdesk queue`."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.diagnosis.catalogue import ORDER_CODES
from app.errors import UsageError
from app.queue import query
from app.queue.lifecycle import act
from app.queue.query import QueueFilter
from tests.conftest import AFTER, BACKENDS, refresher, sqlite_only
from tests.test_lookup import HISTORY_AT, PLANTED, seed


async def refresh_at(config, sim, world, engine, at: int):
    """An incremental refresh `at` seconds after the scenario's now, both clocks moved."""
    world.set_clock(world.base_now + at)
    rf = refresher(config, sim, engine)
    rf.clock = lambda: AFTER + at
    await rf.run()
    return rf.queue


def keys(engine, status="active") -> set[str]:
    rows = []
    after = None
    while page := query.page(engine, QueueFilter(status=(status,)), after=after, limit=7):
        rows += page
        after = page[-1].cursor("age")
    from sqlalchemy import select

    from app.cache.models import QueueItem
    with engine.connect() as conn:
        return set(conn.scalars(select(QueueItem.key).where(
            QueueItem.id.in_([r.id for r in rows]))))


@pytest.mark.parametrize("cache_backend", BACKENDS)
async def test_every_planted_finding_opens_one_exception(config, sim, world, engine):
    await seed(config, sim, world, engine)
    found = keys(engine)
    for (sku, location), codes in PLANTED.items():
        # failed messages are keyed by SKU and handoff; order findings by document and SKU
        for code in codes - {"failed-messages", *ORDER_CODES}:
            assert f"{code}|{sku}|{location}" in found
    assert "failed-messages|LAMP-DSK-BLK|wms->erp" in found
    assert {"amendment-after-release|PO-1042|TEE-BLK-M",
            "short-pick-risk|PO-1042|TEE-BLK-M"} <= found
    assert "throttled-sync|storefront" in found
    assert any(k.startswith("unmapped-location|storefront:") for k in found)
    again = await refresh_at(config, sim, world, engine, 600)
    assert again.cleared == 0  # seen again, not duplicated; and one has come due:
    # the WMS cycle count CC-1190 at 14:50 is now past the 15 min sync tolerance
    assert keys(engine) - found == {"stranded-adjustment|HOOD-GRY-L|DAL1"}


async def test_an_exception_ages_from_when_its_systems_began_to_differ(config, sim, world,
                                                                      engine):
    """The first refresh finds gaps that are hours old; their age is the gap's, and the
    detail says when a refresh found it."""
    from widgets.queue_detail import detail_text

    await seed(config, sim, world, engine)  # the first refresh, at 15:00
    drift = _detail(engine, "downstream-drift|TEE-BLK-M|DAL1")
    # the ERP last changed at 09:31, the storefront (12 against 34) at 09:40
    assert drift.row.opened_at == world.base_now - 5 * 3600 - 20 * 60
    assert drift.first_seen_at == AFTER
    text = detail_text(drift, AFTER, config.settings.owners).plain
    assert "Since 09:40 UTC (5 h ago), found 15:00 UTC · last seen by a refresh 15:00 UTC" \
        in text
    message = _detail(engine, "failed-messages|LAMP-DSK-BLK|wms->erp")
    assert message.row.opened_at == world.base_now - 4 * 3600 - 54 * 60  # failed at 10:06
    throttled = _detail(engine, "throttled-sync|storefront")  # found by the 08:00 refresh
    assert "Opened 08:00 UTC (7 h ago) · last seen" in \
        detail_text(throttled, AFTER, config.settings.owners).plain


async def test_agreement_clears_and_a_relapse_reopens_then_recurs(config, sim, world,
                                                                  engine):
    config.settings.queue.__dict__["recurrence_count"] = 2  # frozen model: test only
    await seed(config, sim, world, engine)
    key = "downstream-drift|TEE-BLK-M|DAL1"
    tee = ("DAL1", "TEE-BLK-M")
    for step, available in enumerate((34, 12, 34, 12), 1):
        world.counts["storefront"][tee] = (40, available, 6, 0, world.base_now + step * 600)
        outcome = await refresh_at(config, sim, world, engine, step * 600 + 60)
        active = key in keys(engine)
        assert active == (available == 12), (step, outcome)
    detail = _detail(engine, key)
    assert detail.row.recurrences == 2
    assert [a.action for a in detail.audit] == ["opened", "cleared", "reopened", "cleared",
                                                "reopened"]
    assert detail.audit[1].note.startswith("cleared by refresh at 2026-11-30T15:")
    assert f"recurring|{key}" in keys(engine)


async def test_a_key_gone_from_every_system_clears_and_untouched_keys_stay(config, sim,
                                                                            world, engine):
    await seed(config, sim, world, engine)
    gone, kept = "upstream-drift|SOCK-WHT-3P|ATL1", "upstream-drift|HOOD-GRY-L|DAL1"
    for counts in world.counts.values():
        counts.pop(("ATL1", "SOCK-WHT-3P"), None)
    world.set_clock(world.base_now + 600)
    rf = refresher(config, sim, engine)
    rf.clock = lambda: AFTER + 600
    await rf.run(full=True)  # a full read: what no system lists any more is gone
    active = keys(engine)
    assert gone not in active and kept in active
    assert _detail(engine, gone).audit[-1].action == "cleared"


async def test_a_row_one_system_drops_is_a_change_the_queue_sees(config, sim, world,
                                                                   engine):
    await seed(config, sim, world, engine)
    key = "downstream-drift|TEE-BLK-M|DAL1"
    assert key in keys(engine)
    del world.counts["storefront"][("DAL1", "TEE-BLK-M")]  # the channel delisted it
    world.set_clock(world.base_now + 600)
    rf = refresher(config, sim, engine)
    rf.clock = lambda: AFTER + 600
    await rf.run(full=True)
    assert key not in keys(engine)  # no storefront number: nothing to drift from


async def test_unchanged_keys_keep_their_verdict_until_the_rules_change(config, sim, world,
                                                                        engine):
    await seed(config, sim, world, engine)
    key = "upstream-drift|SOCK-WHT-3P|ATL1"  # no events there: nothing comes due
    judged_at = _detail(engine, key).seen_at
    await refresh_at(config, sim, world, engine, 600)  # nothing changed there
    assert _detail(engine, key).seen_at == judged_at
    config.settings.diagnosis.__dict__["tolerance_units"] = 1  # frozen model: test only
    await refresh_at(config, sim, world, engine, 1200)  # new rules: every key judged again
    assert _detail(engine, key).seen_at == AFTER + 1200


async def test_a_middleware_nobody_could_read_for_too_long_is_an_exception(config, sim,
                                                                             world, engine):
    from app.simulator.scenario import Faults

    await seed(config, sim, world, engine)
    sim.set_faults("middleware", Faults(down=True))
    await refresh_at(config, sim, world, engine, 600)
    assert "stale-source|middleware" not in keys(engine)  # down, but not for long yet
    await refresh_at(config, sim, world, engine, 2 * 3600)
    assert "stale-source|middleware" in keys(engine)
    row = _detail(engine, "stale-source|middleware").row
    assert row.summary.startswith("The middleware (celigo) was last read successfully 2 h")
    assert row.opened_at == AFTER + 3600  # stale since the 1 h limit passed, not since found
    sim.set_faults("middleware", None)
    await refresh_at(config, sim, world, engine, 2 * 3600 + 600)
    assert "stale-source|middleware" not in keys(engine)


@pytest.mark.parametrize("cache_backend", BACKENDS)
async def test_bulk_resolve_a_filtered_set_with_the_operator_in_the_audit(config, sim, world,
                                                                          engine):
    await seed(config, sim, world, engine)
    upstream = QueueFilter(code=("upstream-drift",))
    assert query.count(engine, upstream) == 7
    with pytest.raises(UsageError, match="note is required"):
        act(engine, "resolve", upstream, "dana", AFTER + 60)
    assert act(engine, "resolve", upstream, "dana", AFTER + 60, note="re-keyed in NetSuite") == 7
    assert query.count(engine, upstream) == 0
    resolved = query.page(engine, QueueFilter(status=("resolved",)))
    assert len(resolved) == 7
    trail = query.detail(engine, resolved[0].id).audit
    assert (trail[-1].actor, trail[-1].action, trail[-1].note) == \
        ("dana", "resolved", "re-keyed in NetSuite")
    assert act(engine, "acknowledge", upstream, "dana", AFTER + 70) == 0  # nothing active


async def test_assign_snooze_and_reopen(config, sim, world, engine):
    await seed(config, sim, world, engine)
    item = query.page(engine, QueueFilter(code=("phantom-stock",)))[0]
    assert act(engine, "assign", [item.id], "dana", AFTER + 1, assignee="Sam (ERP)") == 1
    assert act(engine, "snooze", [item.id], "dana", AFTER + 2, until=AFTER + 900) == 1
    with pytest.raises(UsageError, match="future"):
        act(engine, "snooze", [item.id], "dana", AFTER + 3, until=AFTER)
    assert query.count(engine, QueueFilter(owner=("Sam (ERP)",))) == 1
    await refresh_at(config, sim, world, engine, 1200)  # the snooze has run out
    detail = query.detail(engine, item.id)
    assert detail.row.status == "assigned" and detail.audit[-1].action == "snooze ended"


async def test_read_only_desk_refuses_queue_actions(config, sim, world, engine):
    from tests.test_lookup_screen import make_desk

    await seed(config, sim, world, engine)
    desk = make_desk(config, sim, read_only=True)
    with pytest.raises(UsageError, match="read-only session: resolve"):
        desk.queue_act("resolve", QueueFilter(), note="x")


async def test_keyset_pages_by_severity_cover_everything_once(config, sim, world, engine):
    await seed(config, sim, world, engine)
    seen, after = [], None
    while page := query.page(engine, QueueFilter(), "severity", after, limit=5):
        seen += page
        after = page[-1].cursor("severity")
    assert len(seen) == len({r.id for r in seen}) == query.count(engine, QueueFilter())
    assert [r.severity for r in seen] == sorted((r.severity for r in seen), reverse=True)
    top = [r for r in seen if r.severity == seen[0].severity]  # oldest first within one
    assert [r.opened_at for r in top] == sorted(r.opened_at for r in top)
    assert "phantom-stock" in {r.code for r in top}
    overview = query.overview(engine)
    assert overview.by_status["open"] == len(seen) and overview.oldest_open_at == HISTORY_AT


async def test_queue_command_json_and_errors(config, sim, world, engine, capsys):
    await seed(config, sim, world, engine)
    assert main(["--config", str(config.path), "queue", "--code", "pool-boundary",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(d["code"], d["sku"], d["location"], d["owner"], d["owner_name"]) for d in data] \
        == [("pool-boundary", "JKT-RAIN-M", "DAL1", "erp_owner", "ERP owner")]
    assert main(["--config", str(config.path), "queue", "--status", "resolved",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--config", str(config.path), "queue", "--status", "closed"]) == 2
    assert "unknown status 'closed'" in capsys.readouterr().err
    # For people: one line each, the summaries in one column whatever the code and owner
    # (amendment-after-release and warehouse_lead are the longest).
    assert main(["--config", str(config.path), "queue"]) == 0
    lines = capsys.readouterr().out.splitlines()
    starts = {line.index(word) for line in lines for word in ("PO-1042 TEE", "The WMS")
              if word in line}
    assert len(lines) > 20 and len(starts) == 1, starts


def _detail(engine, key: str):
    from sqlalchemy import select

    from app.cache.models import QueueItem
    with engine.connect() as conn:
        item_id = conn.scalar(select(QueueItem.id).where(QueueItem.key == key))
    return query.detail(engine, item_id)


async def test_free_text_filter_uses_the_trigram_index_and_short_words_scan(config, sim,
                                                                             world, engine):
    sqlite_only(engine, "the FTS5 trigram index")
    from app.cache.trigram import available

    await seed(config, sim, world, engine)
    assert available(engine, "exception_search")
    assert [r.sku for r in query.page(engine, QueueFilter(text="water damage"))] == \
        ["BAG-TOTE-NAT"]  # the duplicate posting's summary quotes the reason
    assert query.count(engine, QueueFilter(text="TOWEL")) == 2  # SKU, any case: towel
    assert query.count(engine, QueueFilter(text="zz")) == 0  # too short for trigrams: LIKE
    assert query.count(engine, QueueFilter(text="ATL1 hidden")) == 0  # words must all match
    assert query.count(engine, QueueFilter(text="shows 0 of BTL")) == 1


async def test_a_bulk_action_changes_exactly_what_the_filter_counted(config, sim, world,
                                                                     engine):
    await seed(config, sim, world, engine)
    words = QueueFilter(text="storefront DAL1")  # words in any order (the trigram index)
    counted = query.count(engine, words)
    assert counted > 1
    assert act(engine, "acknowledge", words, "dana", AFTER + 60) == counted


async def test_counts_are_remembered_until_the_cache_changes(config, sim, world, engine):
    """Counts and the overview cost a scan at a million exceptions: asked again, they (and
    first pages) come from memory until any connection commits (a refresh's re-sighting
    rewrites summaries without an audit row, so the free-text count must see it too)."""
    sqlite_only(engine, "remembered per PRAGMA data_version")
    import sqlite3

    from sqlalchemy import event

    from app.cache.engine import sqlite_path

    await seed(config, sim, world, engine)
    statements = []
    event.listen(engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    words = QueueFilter(text="storefront DAL1")
    counted, overview = query.count(engine, words), query.overview(engine)
    first = query.page(engine, words)
    asked = len(statements)
    assert query.count(engine, words) == counted and query.overview(engine) == overview
    assert query.count(engine, QueueFilter()) == overview.by_status["open"]
    assert query.page(engine, words) == first
    assert len(statements) == asked  # nothing read again
    with sqlite3.connect(sqlite_path(config.cache_url)) as other:  # another process, say
        other.execute("UPDATE exception SET summary = 'reworded' WHERE id = (SELECT rowid "
                      "FROM exception_search WHERE exception_search MATCH '\"DAL1\"' "
                      "ORDER BY rowid LIMIT 1) AND summary LIKE '%storefront%'")
    assert query.count(engine, words) == counted - 1
    assert len(query.page(engine, words)) == len(first) - 1
    item = query.page(engine, QueueFilter())[0]
    act(engine, "resolve", [item.id], "dana", AFTER + 60, note="fixed")
    assert query.overview(engine).by_status["resolved"] == overview.by_status["resolved"] + 1
    assert query.count(engine, QueueFilter()) == overview.by_status["open"] - 1


async def test_free_text_counts_match_the_pages_they_count(config, sim, world, engine):
    """The count of a free-text match drives from the trigram index (a planner hint), the
    pages from the status index: both must agree, with other filters or without."""
    await seed(config, sim, world, engine)
    for where in (QueueFilter(text="storefront"), QueueFilter(text="DAL1 storefront",
                                                               code=("phantom-stock",)),
                  QueueFilter(text="WMS", status=("active", "resolved")),
                  QueueFilter(text="ERP", owner=("erp_owner",))):
        rows, after = [], None
        while page := query.page(engine, where, after=after, limit=3):
            rows += page
            after = page[-1].cursor("age")
        assert rows and query.count(engine, where) == len(rows), where


@pytest.mark.parametrize(("line", "why"), [
    ("code:phantom", "no code 'phantom', try phantom-stock"),
    ("status:resolve", "no status 'resolve', try resolved"),
    ("loc:NOPE", "no location 'NOPE' in [locations]"),
    ("handoff:wms-erp", "no handoff 'wms-erp', try wms->erp"),
    ("owner:procurment", "no owner 'procurment', try procurement"),
    ("owner:Dana", None),  # a person's name: assignees are matched too
    ("code:phantom-stock status:resolved loc:dal1 loc:wms:7 handoff:both owner:erp_owner"
     " words", None),
])
def test_a_filter_value_nothing_can_have_is_named(line, why):
    from app.queue.query import parse_filter, unknown_values

    assert unknown_values(parse_filter(line), ["DAL1", "ATL1"]) == why
