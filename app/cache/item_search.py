"""Search as you type over SKUs and item names, in SQL, never the catalogue in memory.

A SKU prefix is an index range on item's key. "Contains" (a word from the name, the
middle of a SKU) uses an FTS5 trigram index kept in step with `item` by triggers, so it
costs milliseconds on 200k items instead of a full scan; where SQLite lacks FTS5 trigram
(before 3.34) or on PostgreSQL, a LIKE scan stands in.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from app.cache.trigram import available, match_words

_FTS = "item_search"


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
    if available(engine, _FTS):
        match = match_words(" ".join(w for w in query.split() if len(w) >= 3))
        if match is None:
            return []  # only short words: the prefix search above has answered
        return conn.execute(_TRIGRAM, {"match": match, "limit": limit}).all()
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return conn.execute(_SCAN, {"pattern": f"%{escaped}%", "limit": limit}).all()
