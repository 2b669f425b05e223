"""Search as you type over SKUs and item names, in SQL, never the catalogue in memory.

A SKU prefix is an index range on item's key. "Contains" (a word from the name, the
middle of a SKU) uses an FTS5 trigram index kept in step with `item` by triggers, so it
costs milliseconds on 200k items instead of a full scan; where SQLite lacks FTS5 trigram
(before 3.34) or on PostgreSQL, a LIKE scan stands in.
"""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

_FTS = "item_search"
_DDL = (
    f"CREATE VIRTUAL TABLE {_FTS} USING fts5(sku, name, content='item',"
    " content_rowid='rowid', tokenize='trigram')",
    f"CREATE TRIGGER IF NOT EXISTS {_FTS}_insert AFTER INSERT ON item BEGIN"
    f" INSERT INTO {_FTS}(rowid, sku, name) VALUES (new.rowid, new.sku, new.name); END",
    f"CREATE TRIGGER IF NOT EXISTS {_FTS}_delete AFTER DELETE ON item BEGIN"
    f" INSERT INTO {_FTS}({_FTS}, rowid, sku, name)"
    " VALUES ('delete', old.rowid, old.sku, old.name); END",
    f"CREATE TRIGGER IF NOT EXISTS {_FTS}_update AFTER UPDATE ON item BEGIN"
    f" INSERT INTO {_FTS}({_FTS}, rowid, sku, name)"
    " VALUES ('delete', old.rowid, old.sku, old.name);"
    f" INSERT INTO {_FTS}(rowid, sku, name) VALUES (new.rowid, new.sku, new.name); END",
)
MIN_TRIGRAM = 3  # the trigram index cannot answer for shorter words


def ensure_index(engine: Engine) -> None:
    """Create the trigram index (SQLite) if missing, filled from the items already there."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = ?",
                                (_FTS,)).first():
            return
        try:
            for statement in _DDL:
                conn.exec_driver_sql(statement)
        except OperationalError:  # no FTS5 or no trigram tokenizer in this SQLite
            conn.rollback()
            return
        conn.exec_driver_sql(f"INSERT INTO {_FTS}({_FTS}) VALUES ('rebuild')")


_PREFIX = text("SELECT sku, name FROM item WHERE sku >= :low AND sku < :high"
               " ORDER BY sku LIMIT :limit")
_TRIGRAM = text(f"SELECT i.sku, i.name FROM {_FTS} f JOIN item i ON i.rowid = f.rowid"
                f" WHERE {_FTS} MATCH :match LIMIT :limit")
_SCAN = text("SELECT sku, name FROM item WHERE lower(sku) LIKE :pattern ESCAPE '\\'"
             " OR lower(name) LIKE :pattern ESCAPE '\\' LIMIT :limit")


def search_items(engine: Engine, query: str, limit: int = 50) -> list[tuple[str, str | None]]:
    """SKUs starting with the query first (as typed, then upper case), then items whose SKU
    or name contains every word of it, up to `limit`."""
    query = " ".join(query.split())
    if not query:
        return []
    hits: dict[str, str | None] = {}
    with engine.connect() as conn:
        for prefix in dict.fromkeys((query, query.upper())):
            for sku, name in conn.execute(_PREFIX, {"low": prefix, "high": prefix + "\uffff",
                                                    "limit": limit - len(hits)}):
                hits.setdefault(sku, name)
        if len(hits) < limit:
            for sku, name in _contains(engine, conn, query, limit + len(hits)):
                hits.setdefault(sku, name)
                if len(hits) >= limit:
                    break
    return list(hits.items())[:limit]


def _contains(engine: Engine, conn, query: str, limit: int):
    words = [w for w in query.split() if len(w) >= MIN_TRIGRAM]
    if engine.dialect.name == "sqlite" and _has_index(conn):
        if not words:
            return []
        match = " ".join('"' + w.replace('"', '""') + '"' for w in words)  # every word
        return conn.execute(_TRIGRAM, {"match": match, "limit": limit}).all()
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return conn.execute(_SCAN, {"pattern": f"%{escaped}%", "limit": limit}).all()


def _has_index(conn) -> bool:
    return conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = ?",
                                (_FTS,)).first() is not None
