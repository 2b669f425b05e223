"""Engine set-up: one place decides how seamdesk talks to its database.

SQLite runs in WAL mode (readers never block the writer) with a busy timeout, and
writers take the write lock up front with BEGIN IMMEDIATE, so two writers queue instead
of failing half-way with "database is locked". The file is created 0600: it holds
business data. On PostgreSQL (the shared cache) writers queue on an advisory lock taken
at BEGIN instead, and readers read their snapshot without waiting.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

from app.cache import models, trigram  # models registers the tables
from app.errors import CacheError, ConfigError

BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 16_000  # SQLite's page cache per connection


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine with the cache's pragmas; creates the schema when asked. A URL or file
    that cannot be used is one ConfigError line naming [cache] url."""
    try:
        return _make_engine(url, create)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ConfigError(f"[cache] url {redacted(url)}: cannot open the cache: "
                          f"{reason}") from None


def _make_engine(url: str, create: bool) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        _create_private_file(path)
        engine = create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True)
        if engine.dialect.name == "postgresql":
            models.postgresql_options()
            event.listen(engine, "begin", _postgresql_begin)
    if create and not _schema_complete(engine):
        SQLModel.metadata.create_all(engine)
        _add_missing_indexes(engine)
        trigram.ensure_indexes(engine)
    return engine


def _schema_complete(engine: Engine) -> bool:
    """Whether a SQLite cache already has every table and index: one read of
    sqlite_master instead of create_all's query per table (most opens find it complete)."""
    if engine.dialect.name != "sqlite":
        return False
    wanted = set(trigram.INDEXES)
    for table in SQLModel.metadata.sorted_tables:
        wanted |= {table.name} | {index.name for index in table.indexes}
    with engine.connect() as conn:
        known = set(conn.exec_driver_sql("SELECT name FROM sqlite_master").scalars())
    return wanted <= known


def _add_missing_indexes(engine: Engine) -> None:
    """create_all makes missing tables, not the indexes a newer seamdesk added to a table
    an older one made: those are made here, so an old cache file stays fast."""
    with engine.begin() as conn:
        known = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
                    .scalars()) if engine.dialect.name == "sqlite" else None
        for table in SQLModel.metadata.sorted_tables:
            for index in table.indexes:
                if known is None:
                    index.create(conn, checkfirst=True)
                elif index.name not in known:
                    index.create(conn)


def redacted(url: str) -> str:
    """The URL without its password (a PostgreSQL URL may carry one)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: nothing to hide but the text itself
        return repr(url)


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take the write lock at BEGIN."""
    return engine.execution_options(seamdesk_writer=True)


def _create_private_file(path: Path) -> None:
    # Never open an existing cache: close() drops every POSIX lock this process holds on
    # the file, SQLite's included, so another process closing its last connection would
    # checkpoint and delete the WAL under this process's open connections, whose shared
    # WAL index then reads "database disk image is malformed" (sqlite.org/howtocorrupt).
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            if not os.access(path, os.R_OK | os.W_OK):
                # Reading needs writing too: SQLite's WAL keeps its index in a file beside.
                raise CacheError(f"{path}: the cache file is not writable by this user "
                                 "(reading it needs that too: SQLite keeps its WAL files "
                                 "beside it)")
            return
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    except FileExistsError:  # created by another process just now: none of our locks
        return
    except OSError as exc:
        raise CacheError(f"{path}: cannot create the cache file: {exc.strerror}") from None
    os.close(fd)


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Take transaction control away from pysqlite so BEGIN is ours (SQLAlchemy's recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe in WAL
    cursor.execute("PRAGMA temp_store = FILE")
    cursor.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    cursor.execute("PRAGMA wal_autocheckpoint = 10000")  # fewer, larger checkpoints
    cursor.close()


# Writers queue on one transaction-level advisory lock, PostgreSQL's BEGIN IMMEDIATE: a
# queue action on one terminal and the refresher's detectors never interleave their
# read-then-write steps on an exception, just as on SQLite. (Readers take no lock.)
WRITER_LOCK = 0x5EA3DE5C00000002


def _postgresql_begin(connection) -> None:
    if connection.get_execution_options().get("seamdesk_writer", False):
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")


def _sqlite_begin(connection) -> None:
    writer_tx = connection.get_execution_options().get("seamdesk_writer", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writer_tx else "BEGIN")


@contextlib.contextmanager
def lean_cache(conn: Connection, kib: int = 2_000) -> Iterator[None]:
    """A small page cache on a SQLite connection for a while: one that writes beside a
    busy reader (the detectors' writes) would otherwise hold a second full cache."""
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql(f"PRAGMA cache_size = -{kib}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = -{CACHE_KIB}")
