"""Job fixtures: a migrated store on SQLite (temp file) and on the real PostgreSQL server (a
database created for this test session, dropped at the end; jobs emptied between tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from hunkwise.store.db import make_engine, upgrade


@pytest.fixture(scope="session")
def jobs_pg_url(postgres_url: str) -> Iterator[str]:
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"hunkwise_jobs_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
        upgrade(eng)
    else:
        eng = make_engine(request.getfixturevalue("jobs_pg_url"))
        with eng.begin() as conn:
            conn.execute(text("TRUNCATE review_jobs, model_calls, review_runs RESTART IDENTITY CASCADE"))
    yield eng
    eng.dispose()
