"""The one way a test gets a store: a migrated, empty database on SQLite or PostgreSQL.

The fixtures are in tests/conftest.py (section "databases"); this module makes the databases.
Migrating is the slow part of making a store (alembic
loads every revision, and on PostgreSQL every DDL statement commits), so it runs once per backend
per session (per xdist worker): a SQLite test gets a copy of one migrated file, a PostgreSQL test
the session's migrated database emptied (a ``DELETE`` per table, sequences restarted: about 5 ms,
where ``TRUNCATE`` took 30 ms). Cloning a template database per test was measured too:
``CREATE DATABASE ... TEMPLATE`` plus its ``DROP`` cost 0.6 to 1.5 s on a busy server, so only the
tests that need a database of their own (an empty one, to migrate themselves) get a new one.

The fixtures:

- ``db_backend``: ``"sqlite"`` and ``"postgres"`` (marked ``postgres``); a test that uses any of
  the fixtures below without choosing runs on both.
- ``db_url``: the URL of a migrated, empty database on ``db_backend``.
- ``engine``: an engine on ``db_url`` (disposed afterwards); ``engine_factory()`` opens more on
  the same database, as a second process would.
- ``empty_db_url``: a database with no tables at all.
- ``pg_db_url``: a migrated, empty PostgreSQL database, for the tests that only run on PostgreSQL
  (the distributed engine refuses SQLite).

PostgreSQL databases are named ``hunkwise_test_<session>_*`` (``SESSION`` in tests/conftest.py), are made
with ``synchronous_commit = off`` (a test never survives a server crash, so waiting for the WAL
flush on every commit buys nothing), and are dropped when the session ends.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError


class Databases:
    """The session's databases: one migrated SQLite file to copy, one migrated PostgreSQL database
    to empty between tests, and the PostgreSQL databases made for single tests."""

    def __init__(self, workdir: Path, session: str) -> None:
        self.workdir = workdir
        self.session = session
        self._sqlite_template: Path | None = None
        self._server_url: str | None = None
        self._admin: Engine | None = None
        self._created: list[str] = []
        self._migrated_pg: str | None = None
        self._empty: list[str] = []

    # -- SQLite ------------------------------------------------------------------------------------
    def sqlite(self, path: Path, *, migrated: bool = True) -> str:
        """A SQLite database at ``path``: a copy of the session's migrated file, or no file yet."""
        if migrated:
            shutil.copyfile(self._sqlite_migrated(), path)
        return f"sqlite:///{path}"

    def _sqlite_migrated(self) -> Path:
        if self._sqlite_template is None:
            from hunkwise.store.db import make_engine, upgrade

            path = self.workdir / "migrated.db"
            engine = make_engine(f"sqlite:///{path}")
            upgrade(engine)
            engine.dispose()  # the last connection checkpoints the WAL into the file and removes it
            self._sqlite_template = path
        return self._sqlite_template

    # -- PostgreSQL --------------------------------------------------------------------------------
    def use_server(self, server_url: str) -> None:
        if self._admin is None:
            self._server_url = server_url
            self._admin = create_engine(server_url, isolation_level="AUTOCOMMIT")

    def postgres(self, *, migrated: bool = True) -> str:
        """The session's migrated database, emptied; or (``migrated=False``) a new empty one."""
        if not migrated:
            return self._create()
        if self._migrated_pg is None:
            from hunkwise.store.db import upgrade

            url = self._create()
            upgrade(url)
            self._empty = _emptying_statements(url)
            self._migrated_pg = url
            return url
        engine = create_engine(self._migrated_pg)
        with engine.begin() as conn:
            for statement in self._empty:
                conn.exec_driver_sql(statement)
        engine.dispose()
        return self._migrated_pg

    def _create(self) -> str:
        assert self._admin is not None and self._server_url is not None, "use_server first"
        name = f"hunkwise_test_{self.session}_{uuid.uuid4().hex[:8]}"
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        self._created.append(name)
        return make_url(self._server_url).set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        if self._admin is None:
            return
        with self._admin.connect() as conn:
            for name in self._created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin.dispose()


def _emptying_statements(url: str) -> list[str]:
    """What empties the migrated database: a ``DELETE`` per table, children first, and every
    sequence restarted (ids start at 1 again, as on a new database). On tables of a few rows this
    is several times faster than ``TRUNCATE``, which makes a new file for each table; and unlike
    skipping the foreign keys (``session_replication_role``) it needs no superuser."""
    from hunkwise.store.tables import Base

    engine = create_engine(url)
    with engine.connect() as conn:
        present = set(conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
        sequences = conn.scalars(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"))
        restarts = [f'ALTER SEQUENCE "{name}" RESTART' for name in sorted(sequences)]
    engine.dispose()
    ordered = [t.name for t in reversed(Base.metadata.sorted_tables)]
    missing = present - set(ordered) - {"alembic_version"}
    assert not missing, f"tables the migrations make but hunkwise.store.tables does not know: {missing}"
    return [f'DELETE FROM "{name}"' for name in ordered if name in present] + restarts


def ensure_database(url: str) -> None:
    """Create the database of ``url`` (only connected to, never written) when it is missing."""
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                with contextlib.suppress(ProgrammingError):  # another session created it just now
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
