"""The cache: SQLite settings, the upsert helper, promotion rules, retention, indexes."""

from __future__ import annotations

import sqlite3
import stat
from dataclasses import replace

import pytest
from sqlalchemy import func, select, text

from app.cache import queries
from app.cache.engine import make_engine, writer
from app.cache.models import CountHistory, Item, Meta
from app.cache.sku import sku_facts
from app.cache.staging import MAPPED_IN_SQL, as_they_come
from app.cache.upsert import bulk_insert, bulk_update
from app.cache.writer import CacheWriter
from app.records import CountRow, Page, RunStats

CODES = {"W1": "DAL1"}


@pytest.fixture
def engine(tmp_path):
    return make_engine(f"sqlite:///{tmp_path / 'cache.db'}")


def row(sku="A", on_hand=10, available=8, updated=100, location="W1"):
    return CountRow(sku, location, on_hand, available, 2, 0, updated)


def run(cache: CacheWriter, pages, *, status="complete", full=True, at=1000):
    cache.register({"wms": ("shiphero", "https://wms.example")}, {"DAL1": "Dallas"})
    run_id = cache.start_run("wms", "full" if full else "incremental", at, None)
    for page in pages:
        cache.write_page(run_id, "wms", Page(counts=page), at, CODES, RunStats())
    cache.finish_run(run_id, "wms", status=status, finished_at=at + 1, stats=RunStats(),
                     full=full, started_at=at)
    return run_id


def test_the_file_is_private_and_in_wal_mode(tmp_path, engine):
    mode = stat.S_IMODE((tmp_path / "cache.db").stat().st_mode)
    assert mode == 0o600
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_writers_take_the_lock_at_begin(tmp_path, engine):
    other = sqlite3.connect(tmp_path / "cache.db", timeout=0)
    with writer(engine).begin(), pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # free again once the writer committed
    other.rollback()


def test_bulk_insert_upserts_and_can_keep_existing_values(engine):
    table = Item.__table__
    with engine.begin() as conn:
        bulk_insert(conn, table, ("sku", "name"), [("A", "Apple"), ("B", None)])
        bulk_insert(conn, table, ("sku", "name"), [("A", None), ("B", "Banana")],
                    key=("sku",), keep_existing=("name",))
        bulk_insert(conn, Meta.__table__, ("key", "value"), [("k", "1")], key=("key",))
        bulk_insert(conn, Meta.__table__, ("key", "value"), [("k", "2")], key=("key",),
                    update=())
    with engine.connect() as conn:
        assert dict(conn.execute(select(Item.sku, Item.name)).all()) == \
            {"A": "Apple", "B": "Banana"}
        assert conn.scalar(select(Meta.value)) == "1"



def test_many_rows_go_in_few_statements_in_order(engine):
    """1,234 rows: statements of 1,000, 128 ... (SQLite's multi-row VALUES); a key given
    twice ends with its last row, as executemany would leave it."""
    table = Item.__table__
    rows = [(f"S{i:04d}", f"first {i}") for i in range(1234)] + [("S0007", "last")]
    with engine.begin() as conn:
        bulk_insert(conn, table, ("sku", "name"), rows, key=("sku",))
    with engine.connect() as conn:
        names = dict(conn.execute(select(Item.sku, Item.name)).all())
    assert len(names) == 1234 and names["S0007"] == "last" and names["S1233"] == "first 1233"


@pytest.mark.parametrize("backend", ["sqlite", "sqlite-before-3.33", "postgresql"])
def test_bulk_update_sets_each_row_and_changed_only_skips_equal_ones(engine, backend,
                                                                     monkeypatch, request):
    if backend == "postgresql":
        engine = make_engine(request.getfixturevalue("pg_url"))
    elif backend == "sqlite-before-3.33":  # no UPDATE ... FROM: one statement per row
        monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 32, 0))
    table = Item.__table__
    with engine.begin() as conn:
        bulk_insert(conn, table, ("sku", "name", "pack"),
                    [(f"S{i:04d}", f"n{i}", None) for i in range(1500)])
        assert bulk_update(conn, table, "sku", ("name", "pack"), [
            (f"S{i:04d}", f"m{i}", i) for i in range(0, 1500, 2)] + [("GONE", "x", 1)]) == 750
        # changed_only: a row already so is not written (its update triggers do not fire:
        # here the trigram index would index it again)
        assert bulk_update(conn, table, "sku", ("name",), [("S0000", "m0"), ("S0001", None)],
                           changed_only=True) == 1
        assert bulk_update(conn, table, "sku", ("name",), []) == 0
    with engine.connect() as conn:
        rows = dict(conn.execute(select(Item.sku, Item.name)).all())
        packs = dict(conn.execute(select(Item.sku, Item.pack)).all())
    assert len(rows) == 1500 and "GONE" not in rows
    assert rows["S0000"] == "m0" and rows["S0001"] is None and rows["S1498"] == "m1498"
    assert rows["S1499"] == "n1499" and packs["S1498"] == 1498 and packs["S1499"] is None


def test_a_complete_run_is_promoted_and_a_partial_one_is_discarded(engine):
    cache = CacheWriter(engine)
    run(cache, [[row(on_hand=10)]])
    assert queries.current_counts(engine, "wms")[("DAL1", "A")][0] == 10
    run(cache, [[row(on_hand=99)]], status="partial", at=2000)
    assert queries.current_counts(engine, "wms")[("DAL1", "A")][0] == 10
    run(cache, [[row(on_hand=11)]], at=3000)  # a closed run's staged rows are ignored
    assert queries.current_counts(engine, "wms")[("DAL1", "A")][0] == 11
    cache.clear_staging()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM count_staging")).scalar() == 0


def test_duplicates_within_a_run_count_once_and_are_reported(engine):
    cache = CacheWriter(engine)
    run_id = run(cache, [[row(on_hand=1), row(on_hand=2)], [row(on_hand=3)]])
    assert queries.current_counts(engine, "wms")[("DAL1", "A")][0] == 3
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT duplicates FROM sync_run WHERE id={run_id}")
                            ).scalar() == 2


def versions(engine, sku: str, location: str) -> list:
    """Every version the cache holds for a key, newest first, each with its first read."""
    facts = sku_facts(engine, sku)
    current = [replace(o, read_at=facts.stored[(o.system, o.location)]) for o in facts.current]
    return sorted((o for o in [*current, *facts.history] if o.location == location),
                  key=lambda o: o.read_at, reverse=True)


def test_history_keeps_superseded_versions_and_read_time_follows_complete_runs(engine):
    cache = CacheWriter(engine)
    run(cache, [[row(on_hand=10, updated=100)]], at=1000)
    run(cache, [[row(on_hand=10, updated=100)]], at=2000)
    run(cache, [[row(on_hand=12, updated=150)]], at=3000)
    history = versions(engine, "A", "DAL1")
    assert [(h.on_hand, h.read_at) for h in history] == [(12, 3000), (10, 1000)]
    with engine.connect() as conn:  # the unchanged re-read at 2000 wrote nothing
        assert conn.scalar(select(func.count()).select_from(CountHistory)) == 1
    run(cache, [[row(on_hand=12, updated=150)]], at=4000)
    assert [o.read_at for o in sku_facts(engine, "A").current] == [4000]


def test_a_systems_first_read_is_promoted_whole_and_alone(engine):
    cache = CacheWriter(engine)
    cache.register({"erp": ("netsuite", "https://erp.example")}, {})
    erp = cache.start_run("erp", "full", 500, None)
    cache.write_page(erp, "erp", Page(counts=[row("A", on_hand=7)]), 500, CODES, RunStats())
    cache.finish_run(erp, "erp", status="complete", finished_at=501, stats=RunStats(),
                     full=True, started_at=500)
    first = run(cache, [[row("A"), row("B", on_hand=3)], [row("C", on_hand=0)]])
    assert queries.current_counts(engine, "wms") == {
        ("DAL1", "A"): (10, 8, 2, 0, 100), ("DAL1", "B"): (3, 8, 2, 0, 100),
        ("DAL1", "C"): (0, 8, 2, 0, 100)}
    assert queries.current_counts(engine, "erp")[("DAL1", "A")][0] == 7  # untouched
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(CountHistory)) == 0
        assert set(conn.execute(text("SELECT DISTINCT run_id FROM count_current"
                                     " WHERE system = 'wms'")).scalars()) == {first}
    run(cache, [[row("A", on_hand=9)]], at=2000)  # then the usual way: supersede and drop
    assert set(queries.current_counts(engine, "wms")) == {("DAL1", "A")}
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(CountHistory)) == 3


def test_incremental_runs_never_drop_rows_but_full_runs_do(engine):
    cache = CacheWriter(engine)
    run(cache, [[row("A"), row("B")]])
    run(cache, [[row("A", on_hand=5)]], full=False, at=2000)
    assert set(queries.current_counts(engine, "wms")) == {("DAL1", "A"), ("DAL1", "B")}
    run(cache, [[row("A", on_hand=5)]], full=True, at=3000)
    assert set(queries.current_counts(engine, "wms")) == {("DAL1", "A")}


def test_rows_at_unmapped_locations_are_counted_and_kept_apart(engine):
    cache = CacheWriter(engine)
    run_id = cache.start_run("wms", "full", 1000, None)
    unmapped = cache.write_page(run_id, "wms", Page(counts=[row(location="W9")]), 1000, CODES,
                                RunStats())
    assert unmapped == 1
    cache.finish_run(run_id, "wms", status="complete", finished_at=1001, stats=RunStats(),
                     full=True, started_at=1000)
    assert set(queries.current_counts(engine, "wms")) == {("wms:W9", "A")}


@pytest.mark.parametrize("rows,usual", [
    ([CountRow(f"S{n}", f"W{n % 3 + 1}", n, n - 1, None, 0, 100 + n,
               None if n % 2 else f"N{n}") for n in range(1, 1400)], True),  # the usual page
    ([CountRow("A", "W1", 1, 1, 0, 0, 100), CountRow("A", "W1", 2, 2, 0, 0, 101)], True),
    ([CountRow("A", "W1", 1, 1, 0, 0, 100, "Bad\x1b[2Jname"),
      CountRow("B", "W1", 3, 3, 0, 0, 9)], False),
    ([CountRow("A", "W1", 1, 1, 0, 0, 100), CountRow("B", "W7", 3, 3, 0, 0, 9)], False),
])
def test_a_page_is_staged_alike_whether_bound_as_it_came_or_row_by_row(tmp_path, rows,
                                                                       usual):
    """Pages SQLite can take as the connector yielded them (mapped, printable) skip the
    row-by-row reshaping; the staged rows must be the ones that reshaping makes."""
    codes = {"W1": "DAL1", "W2": "DAL2", "W3": "RNO1"}
    assert as_they_come(rows, codes) is usual
    staged = []
    for name, quick in (("quick", True), ("rows", False)):
        engine = make_engine(f"sqlite:///{tmp_path / f'{name}.db'}")
        cache = CacheWriter(engine)
        cache.register({"wms": ("shiphero", "https://wms.example")}, dict.fromkeys(codes.values()))
        run_id = cache.start_run("wms", "full", 1000, None)
        with pytest.MonkeyPatch.context() as patch:
            if not quick:
                patch.setattr("app.cache.writer.as_they_come", lambda rows, codes: False)
            unmapped = cache.write_page(run_id, "wms", Page(counts=rows), 1000, codes,
                                        RunStats())
        with engine.connect() as conn:
            staged.append((unmapped, conn.exec_driver_sql(
                "SELECT * FROM count_staging ORDER BY sku, location").all()))
    assert staged[0] == staged[1]
    assert len(staged[0][1]) == len({(r.sku, r.location_id) for r in rows})


def test_a_mapping_too_big_to_bind_with_every_statement_is_staged_row_by_row():
    rows = [CountRow("A", "W1", 1, 1, 0, 0, 100)]
    many = {f"W{n}": f"C{n}" for n in range(1, MAPPED_IN_SQL + 2)}
    assert as_they_come(rows, dict(list(many.items())[:MAPPED_IN_SQL]))
    assert not as_they_come(rows, many)


def test_prune_keeps_each_keys_state_as_of_the_cutoff(engine):
    cache = CacheWriter(engine)
    for at, on_hand in ((1000, 1), (2000, 2), (3000, 3), (9000, 9)):
        run(cache, [[row(on_hand=on_hand, updated=at)]], at=at)
    assert cache.prune(cutoff=5000) == 2
    assert [o.on_hand for o in versions(engine, "A", "DAL1")] == [9, 3]


def test_interrupted_runs_are_closed_and_their_staging_ignored(engine):
    cache = CacheWriter(engine)
    run_id = cache.start_run("wms", "full", 1000, None)
    cache.write_page(run_id, "wms", Page(counts=[row()]), 1000, CODES, RunStats())
    assert cache.abandon_interrupted(now=2000) == 1
    assert queries.last_run(engine, "wms").error.startswith("interrupted")
    assert queries.current_counts(engine, "wms") == {}


@pytest.mark.parametrize("sql,index", [
    ("SELECT * FROM count_current WHERE system IN ('wms', 'erp', 'storefront') AND sku='A'"
     " AND location='DAL1'", "PRIMARY KEY (system=? AND sku=? AND location=?)"),
    ("SELECT * FROM count_current WHERE system IN ('wms', 'erp') AND sku='A'",
     "PRIMARY KEY (system=? AND sku=?)"),
    ("SELECT * FROM count_history WHERE system IN ('wms', 'erp') AND sku='A'"
     " AND location='DAL1' ORDER BY read_at DESC", "PRIMARY KEY (system=? AND sku=? AND"),
    ("SELECT * FROM inventory_event WHERE sku='A' AND location='DAL1' AND at > 5",
     "ix_inventory_event_sku"),
])
def test_lookups_use_an_index(engine, sql, index):
    with engine.connect() as conn:
        plan = " ".join(r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "SCAN" not in plan.replace("SCAN CONSTANT", "") and index in plan


def test_an_older_cache_gets_the_indexes_a_newer_version_added(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    make_engine(url).dispose()
    with sqlite3.connect(tmp_path / "old.db") as conn:  # as a version before the index
        conn.execute("DROP INDEX ix_exception_health")
    make_engine(url).dispose()
    with sqlite3.connect(tmp_path / "old.db") as conn:
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'ix_exception_health'"
                            ).fetchone()
