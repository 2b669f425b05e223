"""The health figures' raw material: a handful of GROUP BY queries over the cache, each
one pass, grouped by day bucket (see Window) so what comes back is a few thousand rows
at most however many exceptions the cache holds.

What it returns depends only on the window's start, not on the time now, so it is
remembered per cache version (app.queue.query.remembered) and the ages are worked out
afterwards.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import Engine, text

from app.queue.lifecycle import CORRECTED
from app.queue.query import remembered
from app.threads import helpers

_DAY = "CASE WHEN {col} < :since THEN -1 ELSE ({col} - :since) / 86400 END"

# Where SQLite and PostgreSQL spell a query differently, the queries below name the
# difference ({name}) and each dialect fills it in once (see `_query`):
_DIALECT = {
    "sqlite": {
        "cross_join": "CROSS JOIN",  # SQLite's "join in this order" (audit rows first)
        "no_index": "+",  # unary plus: "do not look for an index on this column"
        # the code between `recurring|` and the next `|`
        "root_code": "substr(key, 11, instr(substr(key, 11), '|') - 1)",
        "least": "min",  # two-argument min() is SQLite's scalar minimum
    },
    "postgresql": {"cross_join": "JOIN", "no_index": "", "root_code": "split_part(key, '|', 2)",
                   "least": "least"},
}

# Exceptions still active, and those closed since the window began, grouped in the order
# of ix_exception_health (whose first and third columns are these very expressions, so
# SQLite walks the index and never sorts). Days are epoch days here.
_ACTIVE = """
SELECT handoff, code, 'active', opened_at / 86400, NULL, count(*), min(opened_at), NULL,
       sum(recurrences)
FROM exception WHERE closed_at / 86400 IS NULL
GROUP BY handoff, opened_at / 86400, code"""
_CLOSED = """
SELECT handoff, code, status, opened_at / 86400, closed_at / 86400, count(*),
       min(opened_at), sum(closed_at - opened_at), sum(recurrences)
FROM exception WHERE closed_at / 86400 >= :since / 86400
GROUP BY closed_at / 86400, handoff, opened_at / 86400, code, status"""
# Resolved in the window by a person who corrected the number by hand: the audit rows
# from their partial index (ix_exception_audit_corrected, whose WHERE this repeats
# literally so SQLite may use it), each joined to its exception for the handoff.
_CORRECTIONS = f"""
SELECT e.handoff, {_DAY.format(col='a.at')}, count(*)
FROM exception_audit a {{cross_join}} exception e ON e.id = a.exception_id
WHERE a.action = '{CORRECTED}' AND a.at >= :since AND e.closed_at >= :since
  AND {{no_index}}e.status = 'resolved' GROUP BY 1, 2"""
# `recurring|<code>|...`: the root cause is the finding that keeps coming back.
_RECURRING = """
SELECT {root_code}, handoff, count(*)
FROM exception WHERE code = 'recurring' AND (closed_at IS NULL OR closed_at >= :since)
GROUP BY 1, 2"""
_MESSAGES = f"""
SELECT coalesce(handoff, '?'), {_DAY.format(col='occurred_at')}, count(*),
       sum(CASE WHEN resolved THEN 0 ELSE 1 END)
FROM middleware_error WHERE occurred_at >= :since OR NOT resolved GROUP BY 1, 2"""
_RUNS = f"""
SELECT system, {_DAY.format(col='started_at')}, count(*),
       sum(CASE WHEN status IN ('failed', 'partial') THEN 1 ELSE 0 END), sum(throttled),
       sum(requests)
FROM sync_run WHERE started_at >= :since AND mode != 'sku' GROUP BY 1, 2"""
# A WMS event to the ERP's posting of the same document (the first one, if it posted
# twice); an ERP counterpart under an id of its own is not counted.
_UPSTREAM = f"""
SELECT {_DAY.format(col='w.at')}, avg(p.at - w.at), count(*)
FROM inventory_event w JOIN (
    SELECT event_id, min(at) AS at FROM inventory_event WHERE system = 'erp'
    GROUP BY event_id) p ON p.event_id = w.event_id
WHERE w.system = 'wms' AND w.at >= :since AND p.at >= w.at GROUP BY 1"""
# An ERP version of a count to the storefront's first version with the same available
# quantity at or after it (current and superseded observations alike).
_DOWNSTREAM = f"""
WITH erp AS (
    SELECT sku, location, available, updated_at FROM count_current
    WHERE system = 'erp' AND updated_at >= :since AND available IS NOT NULL
    UNION ALL
    SELECT sku, location, available, updated_at FROM count_history
    WHERE system = 'erp' AND updated_at >= :since AND available IS NOT NULL),
seen AS (
    SELECT erp.updated_at AS at, {{least}}(coalesce(
        (SELECT min(s.updated_at) FROM count_current s WHERE s.system = 'storefront'
         AND s.sku = erp.sku AND s.location = erp.location AND s.available = erp.available
         AND s.updated_at >= erp.updated_at), 1e18),
        coalesce((SELECT min(h.updated_at) FROM count_history h
         WHERE h.system = 'storefront' AND h.sku = erp.sku AND h.location = erp.location
         AND h.available = erp.available AND h.updated_at >= erp.updated_at), 1e18))
        AS shown  -- (SQLite's min() of a NULL is NULL: none found is 1e18)
    FROM erp)
SELECT {_DAY.format(col='at')}, avg(shown - at), count(*) FROM seen
WHERE shown < 1e18 GROUP BY 1"""


@functools.cache
def _query(dialect: str, sql: str):
    return text(sql.format(**_DIALECT[dialect]) if "{" in sql else sql)


@dataclass(frozen=True, slots=True)
class Raw:
    # (handoff, code, status, od, cd, n, oldest, resolve_s, re); status "active" for all
    # the active ones (cd None), else resolved or cleared
    exceptions: tuple[tuple, ...]
    corrections: tuple[tuple, ...]  # (handoff, day, n)
    recurring: tuple[tuple, ...]  # (root code, handoff, n)
    messages: tuple[tuple, ...]  # (handoff, day, n, still open)
    runs: tuple[tuple, ...]  # (system, day, runs, failed, throttled, requests)
    upstream: tuple[tuple, ...]  # (day, average seconds, n)
    downstream: tuple[tuple, ...]  # (day, average seconds, n)


def read(engine: Engine, since: int) -> Raw:
    """The window's raw material, remembered until the cache changes."""
    return remembered(engine, ("health", since), lambda: _read(engine, since))


MMAP = 1 << 30  # bytes of the cache file read through a memory map, not read() calls


def _rows(engine: Engine, query, since: int) -> tuple[tuple, ...]:
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # a walk of a million index entries: ~20% faster mapped
            conn.exec_driver_sql(f"PRAGMA mmap_size = {MMAP}")
        try:
            return tuple(tuple(r) for r in conn.execute(_query(engine.dialect.name, query),
                                                        {"since": since}))
        finally:
            if sqlite:  # the pooled connection goes back as it came
                conn.exec_driver_sql("PRAGMA mmap_size = 0")


def _read(engine: Engine, since: int) -> Raw:
    # The active exceptions are most of the work: read them on a second connection
    # meanwhile (SQLite runs without the GIL), everything else on this one.
    active = helpers("health").submit(_rows, engine, _ACTIVE, since)
    closed = _rows(engine, _CLOSED, since)
    rest = [_rows(engine, query, since) for query in (
        _CORRECTIONS, _RECURRING, _MESSAGES, _RUNS)]
    # Averages: PostgreSQL's avg() of integers is a Decimal; the figures work in floats.
    rest += [tuple((day, None if mean is None else float(mean), n)
                   for day, mean, n in _rows(engine, query, since))
             for query in (_UPSTREAM, _DOWNSTREAM)]
    day = since // 86400
    exceptions = tuple(
        (handoff, code, status, max(-1, od - day), None if cd is None else cd - day, *more)
        for handoff, code, status, od, cd, *more in (*active.result(), *closed))
    return Raw(exceptions, *rest)


