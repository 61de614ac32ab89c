"""A real PostgreSQL server for the store tests: Debian's ``initdb`` + ``pg_ctl`` in a temporary
folder, on a free local port, started once per test session and stopped at its end.

Other store test modules import ``pg_server``, ``pg_url`` and ``store_url`` from here. Where the
binaries are missing the PostgreSQL cases are skipped with the reason; with
``UNLEARN_REQUIRE_PG=1`` (set by ``.ci/run``) they fail instead, so CI never skips them.
``initdb`` and ``postgres`` refuse to run as root: as root the server runs as ``nobody``.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator, Optional

import pytest

_SERVER: Optional["PgServer"] = None
_FAILED: Optional[str] = None


def find_pg_bin() -> Optional[Path]:
    """The folder of ``initdb`` and ``pg_ctl``: ``$UNLEARN_PG_BIN``, the PATH, or the newest
    ``/usr/lib/postgresql/*/bin`` (Debian puts them there, off the PATH)."""
    candidates = []
    if os.environ.get("UNLEARN_PG_BIN"):
        candidates.append(Path(os.environ["UNLEARN_PG_BIN"]))
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).parent)

    def major(p: Path) -> int:
        m = re.match(r"\d+", p.parent.name)
        return int(m.group()) if m else 0

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=major, reverse=True)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """A throw-away PostgreSQL cluster (trust auth, fsync off, localhost only)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="unlearn-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self.as_user: Optional[str] = "nobody" if os.geteuid() == 0 else None

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", self.as_user, "--"] if self.as_user else []
        proc = subprocess.run([*prefix, *cmd], capture_output=True, text=True, cwd=self.root,
                              timeout=120)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{Path(cmd[0]).name} failed: {(proc.stderr or proc.stdout)[-800:]}")
        return proc

    def start(self) -> None:
        if self.as_user:
            pw = pwd.getpwnam(self.as_user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        for attempt in range(3):
            self.port = _free_port()
            with open(self.data / "postgresql.conf", "a") as fh:
                fh.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                         f"unix_socket_directories = '{self.data}'\nfsync = off\n"
                         "synchronous_commit = off\nfull_page_writes = off\n"
                         "max_connections = 60\n")
            proc = self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l",
                             str(self.data / "server.log"), "-w", "-t", "60", "start",
                             check=False)
            if proc.returncode == 0:
                return
        log = (self.data / "server.log").read_text()[-800:] if (self.data / "server.log"
                                                                 ).exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {proc.stderr[-400:]} {log}")

    def stop(self) -> None:
        if self.data.exists():
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _unavailable(reason: str) -> None:
    if os.environ.get("UNLEARN_REQUIRE_PG") == "1":
        pytest.fail(f"PostgreSQL tests required (UNLEARN_REQUIRE_PG=1) but {reason}")
    pytest.skip(reason)


def get_server() -> PgServer:
    """The session's server, started on first use (skips or fails when it cannot be)."""
    global _SERVER, _FAILED
    if _SERVER is None and _FAILED is None:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            _FAILED = "the psycopg driver is not installed (pip install -r requirements.txt)"
        bin_dir = find_pg_bin()
        if _FAILED is None and bin_dir is None:
            _FAILED = ("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install "
                       "postgresql, or set UNLEARN_PG_BIN")
        if _FAILED is None:
            server = PgServer(bin_dir)
            try:
                server.start()
            except Exception as err:
                server.stop()
                _FAILED = f"the PostgreSQL test server did not start: {err}"
            else:
                _SERVER = server
                atexit.register(server.stop)
    if _SERVER is None:
        _unavailable(_FAILED or "no PostgreSQL server")
    return _SERVER


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL server (stopped at the end of the session)."""
    server = get_server()
    yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> Iterator[str]:
    """A fresh database URL on each back-end: SQLite in a temporary folder, PostgreSQL on the
    session's server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'runs.sqlite'}"
        return
    server = get_server()
    url = server.create_database()
    yield url
    server.drop_database(url)


def test_server_runs_in_a_temporary_folder_on_a_free_port(pg_url):
    """The helper's own check: a live server, not the system's, in a temporary cluster."""
    from sqlalchemy import create_engine, text

    server = get_server()
    assert server.data.is_dir() and str(server.root).startswith(tempfile.gettempdir())
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW port")).scalar() == str(server.port)
        assert conn.execute(text("SHOW data_directory")).scalar() == str(server.data)
    engine.dispose()
