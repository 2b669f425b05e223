"""One dialect-neutral bulk upsert for SQLite and PostgreSQL.

The statement is built with SQLAlchemy's dialect insert constructs and compiled once per
table and dialect; rows go to the driver as tuples. Skipping SQLAlchemy's per-row
parameter processing is what keeps bulk writes near raw sqlite3 speed.

On SQLite, rows go as multi-row VALUES statements rather than through executemany:
pysqlite lets go of the GIL around every sqlite3_step, so executemany hands the GIL back
once per row, and a writer thread beside a busy event loop (the refresh) then waits for it
once per row (a switch interval each: the "convoy"). One statement of many rows binds them
all in C and steps once.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Sequence
from functools import lru_cache

from sqlalchemy import Connection, Table, and_, func, or_
from sqlalchemy.dialects import postgresql, sqlite


def bulk_insert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple],
    *,
    key: Sequence[str] = (),
    update: Sequence[str] | None = None,
    keep_existing: Sequence[str] = (),
    when: str = "always",
) -> None:
    """Insert `rows` (tuples in `columns` order).

    With `key`, a row whose key exists updates the `update` columns instead (default: every
    non-key column); columns in `keep_existing` keep their stored value when the new one is
    NULL. With `key` and `update=()`, existing rows are left alone. `when` limits updates
    to rows whose values differ ("changed") or whose update columns are NULL ("empty"):
    an unchanged row is then only read, never rewritten.
    """
    if not rows:
        return
    sql, order = _compiled(
        conn.dialect.name, table, tuple(columns), tuple(key),
        None if update is None else tuple(update), tuple(keep_existing), when,
    )
    rows = _with_defaults(table, columns, order, rows)
    if conn.dialect.name == "sqlite" and len(rows) > 1:
        _insert_values(conn, sql, len(order), rows)
    else:
        conn.exec_driver_sql(sql, rows)


def _with_defaults(table: Table, columns: Sequence[str], order: tuple[str, ...],
                   rows: Sequence[tuple]) -> Sequence[tuple]:
    """SQLAlchemy adds placeholders for columns with scalar defaults: rows get them."""
    if order == tuple(columns):
        return rows
    picks = [(columns.index(n), None) if n in columns else (None, _default(table, n))
             for n in order]
    return [tuple(row[i] if i is not None else d for i, d in picks) for row in rows]


# Rows per statement: a vendor page of 1,000 rows (or 5,000) in whole statements, any other
# count in a few, of a few distinct texts (each prepared once, kept in the driver's cache).
_LADDER = (1000, 500, 250, 125, 64, 32, 16, 8, 4, 2, 1)


def _insert_values(conn: Connection, sql: str, width: int, rows: Sequence[tuple]) -> None:
    """`rows` through `sql` (a one-row INSERT) as a few multi-row statements, in order (a
    key given twice in one statement is upserted twice, the last row winning, as with
    executemany)."""
    in_statements(conn, width, rows, lambda size: _multi_row(sql, width, size))


def in_statements(conn: Connection, width: int, rows: Sequence[tuple],
                  statement: Callable[[int], str], head: tuple = ()) -> int:
    """`rows` (of `width` values) in order through `statement(size)`, a statement binding
    `size` rows after the `head` values (bound first in each, once); how many rows the
    statements changed. SQLite's multi-row statements: see the module's docstring."""
    most, chain = _max_rows(conn, width, len(head)), itertools.chain.from_iterable
    at, left, changed = 0, len(rows), 0
    for size in _LADDER:
        if size > most:
            continue
        while left >= size:
            changed += conn.exec_driver_sql(statement(size),
                                            (*head, *chain(rows[at:at + size]))).rowcount
            at, left = at + size, left - size
    return changed


def bulk_update(conn: Connection, table: Table, key: str, columns: Sequence[str],
                rows: Sequence[tuple], *, changed_only: bool = False) -> int:
    """UPDATE each row of `table` whose `key` is a tuple's first value, setting `columns`
    to the rest; how many rows changed. With `changed_only`, a row whose values are
    already those is left alone (an update trigger on those columns then fires only where
    they changed).

    On SQLite, one statement per chunk joins the new values in (UPDATE ... FROM, 3.33+):
    an executemany steps once per row and, beside a busy thread, waits for the GIL each
    time (the convoy above)."""
    if not rows:
        return 0
    quote = conn.dialect.identifier_preparer.quote
    names, target = [quote(name) for name in (key, *columns)], quote(table.name)
    if conn.dialect.name != "sqlite" or sqlite3.sqlite_version_info < (3, 33):
        # PostgreSQL: psycopg pipelines an executemany (and a VALUES list of parameters
        # would need a cast for every column that is NULL throughout).
        unlike = " IS DISTINCT FROM " if conn.dialect.name == "postgresql" else " IS NOT "
        sets = ", ".join(f"{n} = ?" for n in names[1:])
        where = " AND (" + " OR ".join(f"{n}{unlike}?" for n in names[1:]) + ")" \
            if changed_only else ""
        sql = f"UPDATE {target} SET {sets} WHERE {names[0]} = ?{where}"
        return conn.exec_driver_sql(
            sql.replace("?", "%s") if conn.dialect.paramstyle != "qmark" else sql,
            [(*row[1:], row[0], *(row[1:] if changed_only else ())) for row in rows]).rowcount
    # The joined values' columns are SQLite's column1, column2, ... (the key first).
    new = [f"v.column{i}" for i in range(2, len(names) + 1)]
    sets = ", ".join(f"{n} = {v}" for n, v in zip(names[1:], new, strict=True))
    where = " AND (" + " OR ".join(f"t.{n} IS NOT {v}" for n, v in zip(
        names[1:], new, strict=True)) + ")" if changed_only else ""
    return in_statements(conn, len(names), rows, lambda size: (
        f"UPDATE {target} AS t SET {sets} FROM (VALUES {placeholders(len(names), size)}) AS v"
        f" WHERE t.{names[0]} = v.column1{where}"))


def _max_rows(conn: Connection, width: int, head: int = 0) -> int:
    """Rows one statement may carry beside `head` other values: SQLite caps the bound
    parameters (32,766 by default since 3.32, lower in older or custom builds)."""
    try:
        limit = conn.connection.driver_connection.getlimit(
            sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except (AttributeError, sqlite3.Error):  # a driver without getlimit: the old default
        limit = 999
    return max(1, (limit - head) // max(1, width))


@lru_cache(maxsize=256)
def _multi_row(sql: str, width: int, size: int) -> str:
    head, found, tail = sql.partition(" VALUES " + placeholders(width, 1))
    if not found:  # not the shape _compiled makes
        raise ValueError(f"cannot make a multi-row insert of {sql[:80]!r}")
    return head + " VALUES " + placeholders(width, size) + tail


@lru_cache(maxsize=256)
def placeholders(width: int, size: int) -> str:
    """`size` rows of `width` placeholders: "(?, ?), (?, ?)"."""
    return ", ".join(["(" + ", ".join(["?"] * width) + ")"] * size)


def _default(table: Table, name: str):
    default = table.c[name].default
    return None if default is None or callable(getattr(default, "arg", None)) else default.arg


@lru_cache(maxsize=64)
def _compiled(
    dialect_name: str,
    table: Table,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    update: tuple[str, ...] | None,
    keep_existing: tuple[str, ...],
    when: str,
) -> tuple[str, tuple[str, ...]]:
    module = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect_name)
    if module is None:
        raise NotImplementedError(f"bulk upsert is not written for {dialect_name}")
    stmt = module.insert(table)
    if key:
        names = [c for c in columns if c not in key] if update is None else list(update)
        if names:
            new = stmt.excluded
            values = {
                n: (func.coalesce(new[n], table.c[n]) if n in keep_existing else new[n])
                for n in names
            }
            stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=values,
                                              where=_condition(table, names, values, when))
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    # Positional paramstyle, so the driver gets plain tuples (qmark for SQLite, format for
    # psycopg); `positiontup` tells which column each placeholder stands for.
    dialect = module.dialect(paramstyle="qmark" if dialect_name == "sqlite" else "format")
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    order = tuple(compiled.positiontup or ())
    return str(compiled), order


def execute_prepared(conn: Connection, stmt, params: dict) -> None:
    """Run a Core statement whose values are all bind parameters, compiled once per
    dialect: a statement run for every page costs no SQL construction or cache-key
    work after the first time."""
    sql, order = _prepared(conn.dialect.name, stmt)
    conn.exec_driver_sql(sql, tuple(params[name] for name in order))


@lru_cache(maxsize=64)
def _prepared(dialect_name: str, stmt) -> tuple[str, tuple[str, ...]]:
    module = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect_name)
    if module is None:
        raise NotImplementedError(f"prepared statements are not written for {dialect_name}")
    dialect = module.dialect(paramstyle="qmark" if dialect_name == "sqlite" else "format")
    compiled = stmt.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())


def insert_new(conn: Connection, table: Table):
    """INSERT that skips rows whose unique key is already there (SQLite's INSERT OR
    IGNORE, but only for key conflicts, in the syntax both dialects share)."""
    return _dialect(conn).insert(table).on_conflict_do_nothing()


def _dialect(conn: Connection):
    return {"sqlite": sqlite, "postgresql": postgresql}[conn.dialect.name]


def upsert_from_select(
    conn: Connection, table: Table, columns: Sequence[str], query, *, key: Sequence[str],
    when: str = "always", keep: Sequence[str] = (), compare: Sequence[str] | None = None,
) -> None:
    """INSERT INTO table (columns) <query> ON CONFLICT (key) DO UPDATE the other columns
    (`when` as for bulk_insert), except those in `keep`, which keep their stored value;
    `compare` limits the columns `when` looks at (default: every updated one)."""
    stmt = _dialect(conn).insert(table).from_select(list(columns), query)
    names = [name for name in columns if name not in key and name not in keep]
    values = {name: stmt.excluded[name] for name in names}
    judged = names if compare is None else list(compare)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key), set_=values,
        where=_condition(table, judged, {n: stmt.excluded[n] for n in judged}, when))
    conn.execute(stmt)


def _condition(table: Table, names: Sequence[str], values: dict, when: str):
    if when == "changed":
        return or_(*(table.c[n].is_distinct_from(values[n]) for n in names))
    if when == "empty":
        return and_(*(table.c[n].is_(None) for n in names))
    return None
