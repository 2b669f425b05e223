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
from urllib.parse import quote

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


def make_engine(url: str, *, create: bool = True, read_only: bool = False) -> Engine:
    """An engine with the cache's pragmas; creates the schema when asked. A URL or file
    that cannot be used is one ConfigError line naming [cache] url.

    `read_only` (a read-only session): a SQLite cache this user may read but not write
    is opened read-only (`is_read_only` says so) instead of being refused."""
    try:
        return _make_engine(url, create, read_only)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ConfigError(f"[cache] url {redacted(url)}: cannot open the cache: "
                          f"{reason}") from None


def is_read_only(engine: Engine) -> bool:
    """Whether the engine reads a cache file this user cannot write (nothing may be saved)."""
    return engine.get_execution_options().get("seamdesk_read_only", False)


def _make_engine(url: str, create: bool, read_only: bool) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        if _create_private_file(path, read_only):
            return _read_only_engine(path)
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


def _create_private_file(path: Path, read_only: bool = False) -> bool:
    """Create the cache file if it is missing; True when it exists and this user may only
    read it, for a read-only session (any other session is refused)."""
    # Never open an existing cache: close() drops every POSIX lock this process holds on
    # the file, SQLite's included, so another process closing its last connection would
    # checkpoint and delete the WAL under this process's open connections, whose shared
    # WAL index then reads "database disk image is malformed" (sqlite.org/howtocorrupt).
    try:
        if path.exists():
            if os.access(path, os.R_OK | os.W_OK):
                return False
            if read_only and os.access(path, os.R_OK):
                return True
            raise CacheError(f"{path}: the cache file is not writable by this user "
                             "(a --read-only session can read it if the file and its "
                             "-wal and -shm beside it are readable)")
        if read_only and not os.access(path.parent, os.W_OK) and path.parent.is_dir():
            raise CacheError(f"{path}: no cache here yet, and a read-only session "
                             "cannot create one")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    except FileExistsError:  # created by another process just now: none of our locks
        return False
    except OSError as exc:
        raise CacheError(f"{path}: cannot create the cache file: {exc.strerror}") from None
    os.close(fd)
    return False


def _read_only_engine(path: Path) -> Engine:
    """The cache opened read-only (SQLite's mode=ro). Reading a WAL cache this way needs
    its -shm index to exist, i.e. a seamdesk that can write it has it open (the floor
    terminal, a scheduled refresh): without one, this user cannot create the index."""
    url = f"sqlite:///file:{quote(str(path.resolve()))}?mode=ro&uri=true"
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000,
                                              "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_connect_read_only)
    event.listen(engine, "begin", _sqlite_begin)
    engine = engine.execution_options(seamdesk_read_only=True)
    try:
        complete = _schema_complete(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        if "readonly" not in reason and "unable to open" not in reason:
            raise
        raise CacheError(f"{path}: cannot read it read-only ({reason}): no seamdesk that "
                         f"can write it has it open, and this user cannot create its index "
                         f"{path.name}-shm in {path.parent}") from None
    if not complete:
        raise CacheError(f"{path}: made by an older seamdesk; open it once where it can be "
                         "written (a refresh) to bring it up to date")
    return engine


def _sqlite_connect_read_only(dbapi_connection, _record) -> None:
    """The pragmas that write nothing (all a read-only cache takes)."""
    # Take transaction control away from pysqlite so BEGIN is ours (SQLAlchemy's recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    cursor.close()


def _sqlite_connect(dbapi_connection, record) -> None:
    _sqlite_connect_read_only(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe in WAL
    cursor.execute("PRAGMA temp_store = FILE")
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
