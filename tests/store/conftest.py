"""Store fixtures: every test runs on SQLite (a temp file) and on the real PostgreSQL server.

PostgreSQL tests use a database created for this test session (unique name, dropped at the end),
so they never touch anyone else's data; tables are emptied between tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from hunkwise.store.db import make_engine, upgrade

_TABLES = ("model_calls", "review_runs", "token_calibration")


class PgDatabases:
    """Creates uniquely named databases on the test server and drops them all at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self) -> str:
        name = f"hunkwise_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_databases(postgres_url: str) -> Iterator[PgDatabases]:
    dbs = PgDatabases(postgres_url)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def pg_store_url(pg_databases: PgDatabases) -> str:
    url = pg_databases.create()
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a database with no tables at all."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("pg_databases").create()


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated store on ``backend``, empty at the start of the test."""
    if backend == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        upgrade(eng)
    else:
        eng = make_engine(request.getfixturevalue("pg_store_url"))
        with eng.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE"))
    yield eng
    eng.dispose()


@pytest.fixture
def engine_factory(engine: Engine) -> Iterator[Callable[[], Engine]]:
    """More engines on the same database (what a second process would open)."""
    made: list[Engine] = []

    def factory() -> Engine:
        made.append(make_engine(engine.url))
        return made[-1]

    yield factory
    for e in made:
        e.dispose()
