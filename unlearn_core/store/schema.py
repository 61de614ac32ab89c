"""The run database's tables, its schema version and the migrations between versions.

Why a small versioned migration table rather than Alembic: the store has three tables, every
change so far is additive (a column, an index), and the migration must run safely when several
processes open a new or old database at the same moment, on SQLite and on PostgreSQL. That needs
a lock around "read the version, migrate, stamp" (``BEGIN IMMEDIATE`` on SQLite, a transaction
advisory lock on PostgreSQL), which is a few lines here and would be the same few lines around
Alembic. ``schema_version`` holds one row per applied version.

Versions:

1. the first release: ``runs``, ``metrics``, ``artifacts`` (no version table; artifact paths
   absolute).
2. ``runs.project`` (default ``'default'``, indexed), ``runs.record_format`` (1 for records
   written before, 2 after), ``runs.result_sha256``; ``artifacts.content`` (the file's bytes,
   so a shared database carries its artifacts) and ``artifacts.size``; artifact paths relative to
   the artifact folder.

A migration must only add: a database written by any earlier release keeps opening
(``tests/fixtures/store_v0`` is one written by version 1).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import (
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, make_url

from unlearn_core.errors import ConfigError

SCHEMA_VERSION = 2
RECORD_FORMAT = 2  # runs.record_format of records written by this code
DEFAULT_PROJECT = "default"
_PG_LOCK_KEY = 0x756E6C72  # "unlr": the advisory lock taken around schema changes

metadata = MetaData()
runs_table = Table(
    "runs", metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", String(32), nullable=False),
    Column("dataset", String(200), nullable=False),
    Column("model", String(50), nullable=False),
    Column("forget", String(200), nullable=False),
    Column("methods", String(500), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("n_forget", Integer, nullable=False),
    Column("dataset_fingerprint", String(64), nullable=False),
    Column("forget_fingerprint", String(64), nullable=False),
    Column("baseline_hash", String(64), nullable=False),
    Column("verdict", String(20)),
    Column("seconds", Float, nullable=False),
    Column("versions", Text, nullable=False),
    Column("result_json", Text, nullable=False),
    # version 2
    Column("project", String(100), nullable=False, server_default=DEFAULT_PROJECT),
    Column("record_format", Integer, nullable=False, server_default="1"),
    Column("result_sha256", String(64)),
)
PROJECT_INDEX = Index("ix_runs_project", runs_table.c.project)
metrics_table = Table(
    "metrics", metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("model", String(100), primary_key=True),
    Column("metric", String(100), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("value", Float),
)
artifacts_table = Table(
    "artifacts", metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    # version 2
    Column("content", LargeBinary),
    Column("size", Integer),
)
version_table = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", String(32), nullable=False),
    Column("note", String(200), nullable=False),
)


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def open_engine(url: str) -> Engine:
    """An engine for ``url``, or a ``ConfigError`` of one readable line: not a URL, a driver
    that is not installed, a server that cannot be reached. Nothing is written."""
    if url.startswith("postgres://"):  # the short form many hosting services hand out
        url = "postgresql://" + url[len("postgres://"):]
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(f"--db '{url}' is not a database URL: use e.g. "
                          "sqlite:////abs/path/runs.sqlite or postgresql://user@host:5432/dbname")
    backend = parsed.get_backend_name()
    connect_args: dict = {}
    if backend == "sqlite":
        connect_args = {"timeout": 60}  # wait for another process's write instead of failing
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise ConfigError(f"cannot create the folder of the run database '{folder}': "
                                  f"{err.strerror}")
    try:
        engine = create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
    except ImportError as err:
        hint = ("pip install 'psycopg[binary]' (pinned in requirements.txt)"
                if backend == "postgresql" else "install its Python driver")
        raise ConfigError(f"the database driver for '{display_url(url)}' is not installed "
                          f"({err.name or err}): {hint}")
    except Exception as err:
        raise ConfigError(f"cannot use the run database '{display_url(url)}': "
                          f"{str(err).splitlines()[0]}")
    try:
        with engine.connect():
            pass
    except Exception as err:
        engine.dispose()
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()
        raise ConfigError(f"cannot open the run database '{display_url(url)}': "
                          f"{reason[0] if reason else type(err).__name__}")
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the database's write lock from its first statement.

    SQLite: ``BEGIN IMMEDIATE`` (a deferred transaction that reads then writes can fail at once
    with "database is locked" when another process wrote meanwhile; an immediate one waits its
    turn). PostgreSQL and others: an ordinary transaction (row-level locking suffices)."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")


def _add_column(conn: Connection, table: str, column: Column) -> None:
    """``ALTER TABLE ... ADD COLUMN`` with the column's type and default for this dialect."""
    col_type = column.type.compile(dialect=conn.dialect)
    sql = f"ALTER TABLE {table} ADD COLUMN {column.name} {col_type}"
    if column.server_default is not None:
        default = column.server_default.arg
        default = default if isinstance(default, str) else str(default)
        sql += f" DEFAULT '{default}'" if not default.isdigit() else f" DEFAULT {default}"
    if not column.nullable:
        sql += " NOT NULL"
    conn.exec_driver_sql(sql)


def _migrate_to_2(conn: Connection) -> None:
    for name in ("project", "record_format", "result_sha256"):
        _add_column(conn, "runs", runs_table.c[name])
    for name in ("content", "size"):
        _add_column(conn, "artifacts", artifacts_table.c[name])
    PROJECT_INDEX.create(conn)  # the table's own index object: never a second one


# version -> (what it adds, how); applied in order from the database's version + 1
MIGRATIONS: dict[int, tuple[str, Callable[[Connection], None]]] = {
    2: ("projects, record formats, result hashes, artifact contents", _migrate_to_2),
}


def _current_version(conn: Connection) -> int:
    """0: empty database; 1: the first release (no version table); else the stamped version."""
    tables = set(inspect(conn).get_table_names())
    if "schema_version" in tables:
        return int(conn.execute(select(version_table.c.version)
                                .order_by(version_table.c.version.desc()).limit(1))
                   .scalar_one_or_none() or 0)
    return 1 if "runs" in tables else 0


def _stamp(conn: Connection, version: int, note: str) -> None:
    conn.execute(insert(version_table).values(
        version=version, applied_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        note=note[:200]))


def ensure_schema(engine: Engine) -> int:
    """Create the tables in an empty database or migrate an older one to ``SCHEMA_VERSION``;
    safe when several processes do it at once. Returns the version found before."""
    with engine.connect() as conn:  # the common case, without taking any lock
        found = _current_version(conn)
    if found == SCHEMA_VERSION:
        return found
    if found > SCHEMA_VERSION:
        raise ConfigError(f"the run database is at schema version {found}, newer than this "
                          f"code understands ({SCHEMA_VERSION}): upgrade unlearn_core")
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        found = _current_version(conn)  # again: another process may have done it meanwhile
        if found == 0:
            metadata.create_all(conn)
            _stamp(conn, SCHEMA_VERSION, "created")
        elif found < SCHEMA_VERSION:
            if found == 1:
                version_table.create(conn)
                _stamp(conn, 1, "first release (found without a version table)")
            for version in range(found + 1, SCHEMA_VERSION + 1):
                note, migrate = MIGRATIONS[version]
                migrate(conn)
                _stamp(conn, version, f"migrated: {note}")
    return found


def schema_history(engine: Engine) -> list[tuple[int, str, str]]:
    """(version, applied at, note) rows, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(version_table).order_by(version_table.c.version)).all()
    return [(r.version, r.applied_at, r.note) for r in rows]
