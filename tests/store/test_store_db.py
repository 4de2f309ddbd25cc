"""Opening the store: URL rules, SQLite settings, migrations (fresh, idempotent, concurrent)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from hunkwise.config.settings import Settings
from hunkwise.errors import ConfigurationError
from hunkwise.store.db import (
    current_revision,
    database_url,
    head_revision,
    make_engine,
    open_store,
    sqlite_file_missing,
    upgrade,
)

LEDGER_TABLES = {"review_runs", "model_calls", "token_calibration", "alembic_version"}


def configured_url() -> str:
    """What a command opens: the settings read from this process's environment."""
    return database_url(Settings.from_env())


def test_default_url_is_sqlite_file_under_hunkwise_home(_isolated_home: Path) -> None:
    assert configured_url() == f"sqlite:///{_isolated_home / 'hunkwise.db'}"
    assert sqlite_file_missing(configured_url())
    engine = open_store(configured_url())
    engine.dispose()
    assert (_isolated_home / "hunkwise.db").is_file()
    assert not sqlite_file_missing(configured_url())


def test_database_url_env_overrides_and_postgres_scheme_gets_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNKWISE_DATABASE_URL", "postgres://u:pw@db.example:5432/pw")
    assert configured_url() == "postgresql+psycopg://u:pw@db.example:5432/pw"
    assert not sqlite_file_missing(configured_url())


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("not a url", "not valid"),
        ("mysql://u@h/db", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u@h/db", "pip install 'hunkwise\\[postgres\\]'"),
    ],
)
def test_bad_database_url_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, url: str, needle: str
) -> None:
    with pytest.raises(ConfigurationError, match=needle) as info:
        make_engine(url)
    assert info.value.setting == "HUNKWISE_DATABASE_URL"


def test_unwritable_sqlite_directory_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigurationError, match="cannot create the database directory"):
        make_engine(f"sqlite:///{blocker / 'sub' / 'hunkwise.db'}")


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    engine.dispose()


def test_migrates_from_empty_to_head_and_reruns_as_noop(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) >= LEDGER_TABLES
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO token_calibration (model, chars_per_token, samples, updated_at) "
                    "VALUES ('m', 3.5, 1, CURRENT_TIMESTAMP)"
                )
            )
        upgrade(engine)  # idempotent: data survives, revision unchanged
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM token_calibration")).scalar() == 1
    finally:
        engine.dispose()


def test_upgrade_accepts_a_url(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_downgrade_to_base_and_back(empty_db_url: str) -> None:
    from alembic import command

    from hunkwise.store.db import _alembic_config

    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "base")
        assert not ({"review_runs", "model_calls"} & set(inspect(engine).get_table_names()))
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_concurrent_upgrades_do_not_collide(empty_db_url: str) -> None:
    """Several processes starting at once: each migrates or waits; none fails."""
    engines: list[Engine] = [make_engine(empty_db_url) for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def run(e: Engine) -> None:
        try:
            barrier.wait()
            upgrade(e)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert current_revision(engines[0]) == head_revision()
    finally:
        for e in engines:
            e.dispose()


def test_unreachable_database_is_one_clear_error_without_password(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    monkeypatch.setenv("HUNKWISE_DATABASE_URL", "postgresql://pw:hunter2-secret@127.0.0.1:1/nope")
    with pytest.raises(ConfigurationError, match="cannot open the database") as info:
        open_store(configured_url())
    assert "hunter2-secret" not in str(info.value)
    assert info.value.setting == "HUNKWISE_DATABASE_URL"
