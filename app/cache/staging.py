"""A page's counts as rows of `count_staging`, written in the caller's transaction (the
cache writer's page): the usual page bound as the connector yielded it, any other rebuilt
row by row (text made printable, locations mapped or kept apart under "system:id")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from operator import itemgetter

from app.cache.models import CountStaging
from app.cache.upsert import in_statements, placeholders
from app.plain import printable
from app.records import CountRow

QUANTITIES = ("on_hand", "available", "allocated", "in_transit", "updated_at")
# Staged tuples follow the table's own column order, so bulk_insert passes them through
# without reordering each row; staging_rows builds them in exactly this order.
STAGING = tuple(column.name for column in CountStaging.__table__.c)
assert (*QUANTITIES, "read_at", "name", "run_id", "system", "sku", "location") == STAGING


def staging_rows(rows: Sequence[CountRow], run_id: int, system: str, read_at: int,
                 codes: Mapping[str, str]) -> tuple[list[tuple], dict[str, int]]:
    """A page's counts as staged tuples, row by row: text made printable, locations mapped
    (an unmapped one kept under "system:id" and tallied)."""
    counts, unmapped = [], {}
    add, code_of = counts.append, codes.get
    for sku, location, on_hand, available, allocated, in_transit, updated_at, name \
            in rows:  # unpacked: attribute access per field costs more
        if not (sku.isprintable() and location.isprintable()
                and (name is None or name.isprintable())):
            sku, location, name = (printable(v) for v in (sku, location, name))
        code = code_of(location)
        if code is None:  # kept under "system:id": shown, tallied, compared with nothing
            unmapped[location] = unmapped.get(location, 0) + 1
            code = f"{system}:{location}"
        add((on_hand, available, allocated, in_transit, updated_at, read_at, name, run_id,
             system, sku, code))
    return counts, unmapped


_SKU, _LOCATION, _NAME = itemgetter(0), itemgetter(1), itemgetter(7)
MAPPED_IN_SQL = 100  # locations: 203 values bound with each statement, under any SQLite's cap


def as_they_come(rows: Sequence[CountRow], codes: Mapping[str, str]) -> bool:
    """Whether a page's counts can be staged as the connector yielded them: every text
    printable, every location mapped (the usual page), and a mapping small enough to bind
    with every statement. Checked a column at a time in C: the text of a column joined is
    printable exactly when each value is."""
    return bool(rows) and len(codes) <= MAPPED_IN_SQL and \
        codes.keys() >= set(map(_LOCATION, rows)) and \
        "".join(map(_SKU, rows)).isprintable() and \
        "".join(map(_LOCATION, rows)).isprintable() and \
        "".join(filter(None, map(_NAME, rows))).isprintable()


def stage_as_they_come(conn, rows: Sequence[CountRow], run_id: int, system: str,
                       read_at: int, codes: Mapping[str, str]) -> None:
    """Stage CountRows without rebuilding each one: the rows are bound as they are, the
    run, system and read time once per statement, and SQLite maps each location id to its
    code. That per-row reshaping was about a quarter of the writer thread's time holding
    the GIL in a big read (py-spy), the GIL the event loop parsing the next page needs."""
    mapping = tuple(sorted(codes.items()))
    head = (read_at, run_id, system, *(v for pair in mapping for v in pair))
    in_statements(conn, len(CountRow._fields), rows,
                  lambda size: _staging_from_rows(len(mapping), size), head=head)


@lru_cache(maxsize=64)
def _staging_from_rows(mapped: int, size: int) -> str:
    """INSERT ... SELECT of `size` CountRows (SQLite names VALUES' columns column1, ...,
    in CountRow's order), after read_at, run_id, system and `mapped` (id, code) pairs."""
    code = "CASE column2" + " WHEN ? THEN ?" * mapped + " END"
    updated = ", ".join(f"{c} = excluded.{c}" for c in (*QUANTITIES, "read_at", "name"))
    # "WHERE true": SQLite's parser needs it before ON CONFLICT in INSERT ... SELECT.
    return (f"INSERT INTO count_staging ({', '.join(STAGING)}) "
            f"SELECT column3, column4, column5, column6, column7, ?, column8, ?, ?, column1, "
            f"{code} FROM (VALUES {placeholders(len(CountRow._fields), size)}) WHERE true "
            f"ON CONFLICT (run_id, system, sku, location) DO UPDATE SET {updated}")
