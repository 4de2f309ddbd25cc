"""``hunkwise chat`` writes its calls to the usage ledger, so Coding Plan windows count them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import simkeys
from hunkwise.cli.app import app
from hunkwise.config.settings import Settings
from hunkwise.store import coding_plan_windows, database_url, open_store
from hunkwise.store.tables import ModelCall


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _ledger_rows() -> list[ModelCall]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    engine = open_store(database_url(Settings.from_env()))
    try:
        with Session(engine) as session:
            return list(session.scalars(select(ModelCall).order_by(ModelCall.id)))
    finally:
        engine.dispose()


def test_chat_calls_count_in_the_coding_plan_window(sim) -> None:
    env = {"ZAI_API_KEY": simkeys.CODING_PRO_KEY, "ZAI_BASE_URL": sim.base_url}
    for args in (["hi", "--json"], ["again", "--stream"]):
        result = CliRunner().invoke(app, ["chat", *args, "--plan", "coding", "--tier", "pro"], env=env)
        assert result.exit_code == 0, result.output
    rows = _ledger_rows()
    assert [(r.purpose, r.outcome, r.plan, r.tier) for r in rows] == [("chat", "ok", "coding", "pro")] * 2
    assert rows[0].input_tokens > 0 and rows[0].run_id is None
    engine = open_store(database_url(Settings.from_env()))
    try:
        windows = coding_plan_windows(engine)
    finally:
        engine.dispose()
    assert [(w.tier, w.five_hour.used, w.week.used) for w in windows] == [("pro", 2, 2)]
    usage = CliRunner().invoke(app, ["usage", "--json"], env={})
    assert usage.exit_code == 0, usage.output
    assert json.loads(usage.stdout)["total"]["input_tokens"] == sum(r.input_tokens for r in rows)


def test_failed_chat_is_recorded_too(sim) -> None:
    result = CliRunner().invoke(
        app, ["chat", "hi", "--json"], env={"ZAI_API_KEY": "not-a-known-key", "ZAI_BASE_URL": sim.base_url}
    )
    assert result.exit_code == 1
    assert [(r.purpose, r.outcome, r.input_tokens) for r in _ledger_rows()] == [("chat", "auth", 0)]


def test_a_broken_store_warns_once_and_the_chat_still_succeeds(sim, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    env = {
        "ZAI_API_KEY": simkeys.DEV_KEY,
        "ZAI_BASE_URL": sim.base_url,
        "HUNKWISE_DATABASE_URL": f"sqlite:///{blocker}/ledger.db",
    }
    result = CliRunner().invoke(app, ["chat", "hi"], env=env)
    assert result.exit_code == 0, result.output
    assert "[simulator]" in result.stdout
    assert result.stderr.count("usage not recorded") == 1
