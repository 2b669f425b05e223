"""A PostgreSQL server for the shared-cache tests, and a fresh database per test on it.

The server is the one named by $SEAMDESK_TEST_PG_URL (an admin URL: a role that may
create databases, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres; `.ci/run`
starts one and sets it). Without it, the tests start a throwaway server of their own from
the PostgreSQL binaries (initdb in a temp dir, loopback only, a free port), and skip only
when there are none: no variable and no server binaries means PostgreSQL is absent.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

# Read at import: the tests' clean environment drops every SEAMDESK_ variable.
ADMIN_URL = os.environ.get("SEAMDESK_TEST_PG_URL", "").strip()
# Run every test that uses the `config` fixture against PostgreSQL (a developer's check).
DEFAULT_BACKEND = os.environ.get("SEAMDESK_TEST_BACKEND", "sqlite").strip() or "sqlite"

ABSENT = ("PostgreSQL is absent: set SEAMDESK_TEST_PG_URL to an admin URL of a server "
          "(postgresql+psycopg://postgres@127.0.0.1:PORT/postgres) or install the server "
          "binaries (Debian: apt-get install postgresql) to run the shared-cache tests")


def server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, if PostgreSQL's server is installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parent.parent.name) if Path(
                          p).parent.parent.name.isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """A throwaway cluster in a temp dir: trust auth on 127.0.0.1 only, no fsync. initdb
    refuses root, so as root it runs as the `postgres` user."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="seamdesk-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            import pwd
            self.user = pwd.getpwnam("postgres")
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)

    def _run(self, *args: str) -> None:
        def demote():
            if self.user is not None:
                os.setgid(self.user.pw_gid)
                os.setuid(self.user.pw_uid)
        subprocess.run(args, check=True, capture_output=True, preexec_fn=demote,
                       cwd=self.dir)

    def start(self) -> str:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--locale=C")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir}"
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.dir / "log"), "-o", options, "-w", "start")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def _admin(url: str):
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                           user=parsed.username, password=parsed.password,
                           dbname=parsed.database or "postgres", autocommit=True)


def create_database(admin_url: str) -> str:
    """A fresh, empty database (C collation: SKU order as in SQLite); its URL."""
    from sqlalchemy.engine import make_url

    name = f"seamdesk_test_{uuid.uuid4().hex[:12]}"
    with _admin(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\''
                     " LC_COLLATE 'C' LC_CTYPE 'C'")
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    with _admin(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_admin_url():
    """The admin URL of a PostgreSQL server for this test session (skip: none at all)."""
    if ADMIN_URL:
        yield ADMIN_URL
        return
    binaries = server_binaries()
    if binaries is None:
        pytest.skip(ABSENT)
    server = LocalServer(binaries)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_admin_url):
    """A fresh database for one test; dropped afterwards (its connections with it)."""
    url = create_database(pg_admin_url)
    yield url
    drop_database(pg_admin_url, url)
