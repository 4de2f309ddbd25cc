"""Where the store lives and how to open it: URL, engine, sessions, migrations.

``HUNKWISE_DATABASE_URL`` selects the database (SQLite or PostgreSQL); by default it is the SQLite
file ``HUNKWISE_HOME/hunkwise.db``. Migrations ship inside the package and run programmatically
(:func:`upgrade`), so an installed ``hunkwise`` needs no ``alembic.ini`` in the working directory.

SQLite is opened in WAL mode with a busy timeout and foreign keys on, and with the driver's own
transaction handling switched off so that SQLAlchemy emits ``BEGIN`` itself: that makes savepoints
work on Python 3.11 and lets writers ask for ``BEGIN IMMEDIATE`` (see :func:`write_session`), so two
CLI processes queue for the write lock instead of failing with "database is locked" half-way.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from hunkwise.errors import ConfigurationError

if TYPE_CHECKING:
    from hunkwise.config.settings import Settings

URL_ENV = "HUNKWISE_DATABASE_URL"
DB_FILENAME = "hunkwise.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# A constant key for pg_advisory_xact_lock: serializes concurrent migrations on one database.
_PG_MIGRATION_LOCK = 0x7061_7463_6877  # "patchw"

Db = Engine | Session
"""What repository functions accept: an engine (they open and commit their own session) or a
session (they work inside it and leave the commit to the caller)."""


def database_url(settings: Settings) -> str:
    """The configured database URL (``HUNKWISE_DATABASE_URL`` or ``HUNKWISE_HOME/hunkwise.db``)."""
    if not settings.database_url:
        return f"sqlite:///{settings.home / DB_FILENAME}"
    return str(_normalize(settings.database_url).render_as_string(hide_password=False))


def _normalize(raw: str | URL) -> URL:
    """Parse a URL and pick the driver we ship for PostgreSQL (psycopg 3, not psycopg2)."""
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ConfigurationError(
            "the database URL is not valid; use e.g. sqlite:////path/to/hunkwise.db or "
            "postgresql+psycopg://user:password@host:5432/dbname",
            setting=URL_ENV,
        ) from exc
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"unsupported database {backend!r}: hunkwise supports SQLite and PostgreSQL",
            setting=URL_ENV,
        )
    return url


def is_sqlite(db: Engine | Session) -> bool:
    """SQLite and PostgreSQL need different upsert dialects; callers ask this instead of comparing dialect
    names themselves.
    """
    bind = db.get_bind() if isinstance(db, Session) else db
    return bind.dialect.name == "sqlite"


def upsert_insert(db: Engine | Session) -> Callable[..., Any]:
    """The ``insert`` of ``db``'s dialect, the one with ``on_conflict_do_update``.

    Imported by name when asked: a SQLite store (every CLI review's ledger) then never imports
    SQLAlchemy's PostgreSQL dialect, ~20 ms of a ``review --offline`` (BENCHMARKS.md, "Start-up").
    """
    if is_sqlite(db):
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert

    return postgresql_insert


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window of length ``window`` that holds ``now``, windows aligned to
    the epoch (so every process agrees on them): the counters' row key."""
    size = window.total_seconds()
    return datetime.fromtimestamp(math.floor(now.timestamp() / size) * size, UTC)


def increment(session: Session, table: Any, keys: Mapping[str, Any], column: str) -> int:
    """Add one to ``column`` of the row of ``table`` at ``keys`` (created at 1), and return the new
    value: one atomic statement, so processes sharing the database each see their own count (the
    row stays locked to the end of the transaction on PostgreSQL; SQLite's write lock is taken
    by ``session_scope(write=True)``). The counters of sign-in throttling and of commands."""
    counter = table.c[column]
    stmt = upsert_insert(session)(table).values(**keys, **{column: 1})
    return int(
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c[name] for name in keys], set_={column: counter + 1}
            ).returning(counter)
        ).scalar_one()
    )


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (:func:`database_url`) with the SQLite settings above.

    Does not migrate; call :func:`open_store` for an engine that is ready to use.
    """
    parsed = _normalize(url)
    if parsed.get_backend_name() == "sqlite":
        _ensure_sqlite_dir(parsed)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    else:
        kwargs.setdefault("pool_pre_ping", True)
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        # ImportError, not only ModuleNotFoundError: psycopg installed without a usable libpq
        # ("no pq wrapper available") raises the plain one.
        raise ConfigurationError(_driver_missing(parsed, exc), setting=URL_ENV) from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _driver_missing(url: URL, exc: Exception) -> str:
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if url.drivername == "postgresql+psycopg":
        return (
            f"the PostgreSQL driver (psycopg) is not installed or cannot load ({reason}); "
            "install it with: pip install 'hunkwise[postgres]'"
        )
    return (
        f"the database driver for {url.drivername!r} is not installed ({reason}); hunkwise ships "
        "psycopg for PostgreSQL: use postgresql+psycopg://... and pip install 'hunkwise[postgres]'"
    )


def _ensure_sqlite_dir(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    parent = Path(database).expanduser().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create the database directory {parent} ({exc.strerror}); "
            "set HUNKWISE_HOME or HUNKWISE_DATABASE_URL to a writable location",
            setting=URL_ENV,
        ) from exc


def _enable_wal(cursor: Any) -> None:
    """Switch a database file to WAL once (the mode is stored in the file).

    Changing the journal mode needs an exclusive lock and SQLite does not wait for it through the
    busy handler, so processes opening a brand-new database at the same moment retry here
    instead of failing with "database is locked".
    """
    import sqlite3

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if engine.url.database not in (None, "", ":memory:"):
                _enable_wal(cursor)
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session committed on success and rolled back on error.

    ``write=True`` takes SQLite's write lock up front (``BEGIN IMMEDIATE``): a transaction that
    reads and then writes could otherwise fail at once with "database is locked" when another
    process committed in between, because SQLite cannot wait for a snapshot it has outgrown.
    """
    bind: Any = engine.execution_options(sqlite_begin="IMMEDIATE") if write else engine
    with Session(bind=bind, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def use_session(db: Db, *, write: bool = False) -> Iterator[Session]:
    """Repository helper: our own committed session for an engine, or the caller's session as is."""
    if isinstance(db, Session):
        yield db
        return
    with session_scope(db, write=write) as session:
        yield session


# -- migrations -----------------------------------------------------------------------------------
def _alembic_config(connection: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("hunkwise.store") / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The newest migration shipped with this version of hunkwise (read once per process: alembic
    compiles every revision file to find it, a few milliseconds each)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine_or_url: Engine | str | URL, revision: str = "head") -> None:
    """Run the packaged migrations up to ``revision``; a no-op when already there.

    Safe when several processes start at once: the whole upgrade runs in one transaction that
    first takes a lock (SQLite ``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), so the second
    process waits, then finds the schema current and does nothing.
    """
    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    try:
        # Every command and server start opens the store: when the schema is current, one read of
        # alembic_version answers (:func:`_at_head`), without importing Alembic or loading every
        # revision under the migration lock.
        if revision == "head" and _at_head(engine):
            return
        from alembic import command

        with (
            engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection,
            connection.begin(),
        ):
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            command.upgrade(_alembic_config(connection), revision)
    finally:
        if engine is not engine_or_url:
            engine.dispose()


_REVISION_LINE = re.compile(r'^(down_revision|revision)\s*:[^=]*=\s*"([^"]+)"', re.MULTILINE)


def shipped_head() -> str | None:
    """The head revision of the packaged migrations, read from their files without Alembic.

    Alembic's import costs about a tenth of a second, paid by every ``hunkwise review`` (the CLI
    records each run in the ledger) only to find that nothing needs migrating. Each migration
    file names its ``revision`` and ``down_revision``; the head is the one nobody revises. None
    when the files do not say it plainly (a branch, a merge), and then Alembic decides.
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (resources.files("hunkwise.store") / "migrations" / "versions").iterdir():
        if not path.name.endswith(".py"):
            continue
        found = dict((m.group(1), m.group(2)) for m in _REVISION_LINE.finditer(path.read_text()))
        if "revision" not in found:
            return None
        revisions.add(found["revision"])
        if "down_revision" in found:
            revised.add(found["down_revision"])
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _at_head(engine: Engine) -> bool:
    """True when the database already records the shipped head revision (no Alembic needed)."""
    head = shipped_head()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head
    except OperationalError:  # no alembic_version table yet (a new database): migrate
        return False
    except ProgrammingError:  # PostgreSQL's "relation does not exist"
        return False


def open_store(url: str | URL, *, migrate: bool = True) -> Engine:
    """An engine for the database at ``url`` (:func:`database_url`), migrated to head: what
    commands and the server use. A database already at the head is opened without Alembic
    (:func:`upgrade` checks :func:`shipped_head` first)."""
    engine = make_engine(url)
    if migrate:
        try:
            upgrade(engine)
        except OperationalError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            where = engine.url.render_as_string(hide_password=True)
            raise ConfigurationError(f"cannot open the database {where}: {reason}", setting=URL_ENV) from None
    return engine


def sqlite_file_missing(url: str | URL) -> bool:
    """True when the database is a SQLite file that does not exist yet (nothing recorded).

    Read-only commands check this so that asking "what did I use?" never creates a database.
    """
    parsed = _normalize(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return False
    return not Path(database).expanduser().exists()
