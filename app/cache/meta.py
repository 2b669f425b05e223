"""The cache's own small facts (`meta`: a key and a text value): marks the refresh, the
detectors and the alerts keep between runs, read and written in the caller's transaction."""

from __future__ import annotations

from sqlalchemy import Connection, select

from app.cache.models import Meta
from app.cache.upsert import bulk_insert


def read(conn: Connection, *keys: str) -> dict[str, str]:
    """The values stored under `keys` (a key never written is missing)."""
    return dict(conn.execute(select(Meta.key, Meta.value).where(Meta.key.in_(keys))).all())


def value(conn: Connection, key: str) -> str | None:
    return conn.scalar(select(Meta.value).where(Meta.key == key))


def write(conn: Connection, values: dict[str, str]) -> None:
    """Store each value under its key (replacing what was there)."""
    bulk_insert(conn, Meta.__table__, ("key", "value"), list(values.items()), key=("key",))
