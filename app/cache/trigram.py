"""FTS5 trigram indexes kept in step with a table by triggers: "contains" searches over a
few text columns in milliseconds instead of a full scan (item search, the queue's free-text
filter). SQLite only; where FTS5 trigram is missing (before 3.34) or on PostgreSQL, callers
fall back to LIKE (`available` says which). On PostgreSQL, pg_trgm GIN indexes (when the
extension can be created) serve those very LIKE and ILIKE patterns, so no query differs.
"""

from __future__ import annotations

import weakref

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

MIN_TRIGRAM = 3  # the trigram index cannot answer for shorter words
AUTOMERGE = 16  # FTS5's default is 4
INDEXES = {"item_search": ("item", ("sku", "name")),
           "exception_search": ("exception", ("summary", "sku", "document"))}


def _ddl(fts: str, table: str, columns: tuple[str, ...]) -> list[str]:
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    remove = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.rowid, {old});"
    add = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.rowid, {new});"
    watched = ", ".join(columns)
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}',"
        " content_rowid='rowid', tokenize='trigram')",
        # Merge 16 segments at a time, not 4: half the writing of every row again as the
        # index grows (the detectors' thousands of new exceptions a refresh), for no
        # measurable cost to searches (a million rows: 71-197 ms either way).
        f"INSERT INTO {fts}({fts}, rank) VALUES ('automerge', {AUTOMERGE})",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        # only when a searched column changes: status updates must stay cheap
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {watched} ON {table}"
        f" BEGIN {remove} {add} END",
    ]


# The expressions the fallback's patterns are matched against (app.cache.item_search,
# app.queue.query), so PostgreSQL can answer them from the index.
PG_INDEXES = {"item_search": ("item", ("lower(sku)", "lower(name)")),
              "exception_search": ("exception", ("summary", "sku", "document"))}


def ensure_indexes(engine: Engine) -> None:
    """Create each trigram index that is missing, filled from the rows already there."""
    if engine.dialect.name == "postgresql":
        _ensure_pg_trgm(engine)
        return
    if engine.dialect.name != "sqlite":
        return
    for fts, (table, columns) in INDEXES.items():
        with engine.begin() as conn:
            if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = ?",
                                    (fts,)).first():
                continue
            try:
                for statement in _ddl(fts, table, columns):
                    conn.exec_driver_sql(statement)
            except OperationalError:  # no FTS5 or no trigram tokenizer in this SQLite
                conn.rollback()
                return
            conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _ensure_pg_trgm(engine: Engine) -> None:
    """pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.
    Without it (or the right), the LIKE scans stay scans: slower, never wrong."""
    from sqlalchemy.exc import DBAPIError

    with engine.begin() as conn:
        try:
            with conn.begin_nested():
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DBAPIError:
            return
        for name, (table, expressions) in PG_INDEXES.items():
            columns = ", ".join(f"({e}) gin_trgm_ops" for e in expressions)
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {name}_trgm ON {table} USING gin ({columns})")


# Per engine, not per id(engine): an id is reused once its engine is gone (tests make many).
_known: weakref.WeakKeyDictionary[Engine, dict[str, bool]] = weakref.WeakKeyDictionary()


def available(engine: Engine, fts: str) -> bool:
    """Whether this cache has the trigram index `fts` (asked once per engine)."""
    known = _known.setdefault(engine, {})
    if fts not in known:
        with engine.connect() as conn:
            known[fts] = engine.dialect.name == "sqlite" and conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = ?", (fts,)).first() is not None
    return known[fts]


def match_words(query: str) -> str | None:
    """An FTS5 query that every word must match, or None if a word is too short for it."""
    words = query.split()
    if not words or any(len(w) < MIN_TRIGRAM for w in words):
        return None
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)
