"""``hunkwise usage`` through Typer's runner, against a real SQLite ledger in HUNKWISE_HOME."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from call_records import call_record
from hunkwise.cli import usage as usage_cli
from hunkwise.config.settings import Settings
from hunkwise.gateway.types import Attempt
from hunkwise.store import RunRecord, database_url, open_store, record_calls, record_run

CODING = "zai|https://api.z.ai/api/coding/paas/v4|0123456789abcdef"


@pytest.fixture
def cli() -> typer.Typer:
    """Only the usage command, so these tests do not depend on other commands being importable."""
    app = typer.Typer()
    usage_cli.register(app)

    @app.callback()
    def _root() -> None:  # keep "usage" a subcommand, as in the real app
        pass

    return app


def _invoke(cli: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["usage", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def _call(model: str, ago: timedelta, outcome: str = "ok", **kw: object) -> Attempt:
    fields: dict[str, object] = {
        "slot": "main",
        "provider": "zai",
        "model": model,
        "outcome": outcome,
        "input_tokens": 1000 if outcome == "ok" else 0,
        "output_tokens": 100 if outcome == "ok" else 0,
        "cost_usd": 0.5 if outcome == "ok" else 0.0,
        "latency_ms": 200.0,
        "created_at": datetime.now(UTC) - ago,
    }
    fields.update(kw)
    return call_record(**fields)  # type: ignore[arg-type]


@pytest.fixture
def ledger() -> None:
    engine = open_store(database_url(Settings.from_env()))
    record_run(
        engine,
        RunRecord(source="local", idempotency_key="old", created_at=datetime.now(UTC) - timedelta(days=10)),
        [_call("glm-5", timedelta(days=10))],
    )
    record_run(
        engine,
        RunRecord(source="local", idempotency_key="new", created_at=datetime.now(UTC) - timedelta(hours=2)),
        [
            _call("glm-5.1", timedelta(hours=2), "quota_window", code="1308"),
            _call("gpt-5", timedelta(hours=2), failover=True),
            _call("glm-5.1", timedelta(hours=1)),
        ],
    )
    engine.dispose()


def test_empty_ledger_is_friendly_and_creates_nothing(cli: typer.Typer, _isolated_home: Path) -> None:
    code, out, _ = _invoke(cli)
    assert code == 0
    assert "No usage recorded yet" in out
    assert not (_isolated_home / "hunkwise.db").exists()


def test_empty_ledger_json_has_the_stable_shape(cli: typer.Typer) -> None:
    code, out, _ = _invoke(cli, "--json", "--windows")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"since", "by", "runs", "rows", "total", "simulated", "windows"}
    assert data["rows"] == [] and data["windows"] == [] and data["total"]["calls"] == 0
    assert data["simulated"] == {"included": False, "runs": 0, "calls": 0, "total": None}


def test_table_by_model(cli: typer.Typer, ledger: None) -> None:
    code, out, _ = _invoke(cli)
    assert code == 0, out
    assert "all time" in out
    for text in ("glm-5", "glm-5.1", "gpt-5", "1 quota_window", "total"):
        assert text in out
    assert "2 review run(s), 4 call(s), $1.5000, 1 failover(s)" in out


def test_json_since_and_by_day(cli: typer.Typer, ledger: None) -> None:
    code, out, _ = _invoke(cli, "--since", "7d", "--by", "day", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["by"] == "day" and data["runs"] == 1 and data["windows"] is None
    assert data["total"]["calls"] == 3 and data["total"]["failovers"] == 1
    assert data["total"]["errors"] == {"quota_window": 1}
    assert data["total"]["cost_usd"] == 1.0
    assert all(len(r["key"]) == 10 for r in data["rows"])  # YYYY-MM-DD
    assert set(data["total"]) == {
        "key",
        "simulated",
        "calls",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "cached_tokens",
        "cost_usd",
        "failovers",
        "avg_latency_ms",
        "errors",
    }


def test_since_with_nothing_in_period(cli: typer.Typer, ledger: None) -> None:
    code, out, _ = _invoke(cli, "--since", "30m")
    assert code == 0
    assert "No usage recorded since" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--since", "last tuesday"], "--since expects a duration like 7d"),
        (["--by", "week"], "--by must be one of model, day, slot"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(cli: typer.Typer, args: list[str], needle: str) -> None:
    code, out, err = _invoke(cli, *args)
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in out + err


def test_bad_database_url_is_one_line_and_exit_2(cli: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNKWISE_DATABASE_URL", "mysql://u@h/db")
    code, _, err = _invoke(cli)
    assert code == 2
    assert "unsupported database 'mysql'" in err and "[HUNKWISE_DATABASE_URL]" in err


def test_windows_warn_near_the_ceiling(cli: typer.Typer) -> None:
    engine = open_store(database_url(Settings.from_env()))
    # Lite allows 120 prompts per 5 hours: 100 (83%) must warn; the week (960) must not.
    record_calls(
        engine,
        [
            _call("glm-5.1", timedelta(minutes=240 - i), credential_id=CODING, plan="coding", tier="lite")
            for i in range(100)
        ],
    )
    record_calls(engine, [_call("glm-5", timedelta(hours=1), credential_id="openai|https://x|ffff")])
    engine.dispose()

    code, out, _ = _invoke(cli, "--windows")
    assert code == 0, out
    assert "0123456789abcdef" in out and "api.z.ai" in out
    assert "100/120" in out and "83%" in out
    assert "warning: 5-hour window of 0123456789abcdef (lite) is at 83% (100/120)" in out
    assert "weekly window" not in out
    assert "ffff" not in out  # not a Coding Plan credential

    code, out, _ = _invoke(cli, "--windows", "--json")
    data = json.loads(out)
    (window,) = data["windows"]
    assert window["credential"] == "0123456789abcdef" and window["tier"] == "lite"
    assert window["five_hour"]["used"] == 100 and window["five_hour"]["warning"] is True
    assert window["week"]["warning"] is False and window["warning"] is True


def test_windows_without_coding_plan_calls(cli: typer.Typer, ledger: None) -> None:
    code, out, _ = _invoke(cli, "--windows")
    assert code == 0
    assert "No Coding Plan calls in the last 7 days" in out


def test_windows_use_the_users_tier_overrides(cli: typer.Typer, _isolated_home: Path) -> None:
    (_isolated_home / "config.toml").write_text("[tiers.lite]\nprompts_5h = 10\nprompts_week = 20\n")
    engine = open_store(database_url(Settings.from_env()))
    record_calls(
        engine,
        [
            _call("glm-5.1", timedelta(minutes=10 + i), credential_id=CODING, plan="coding", tier="lite")
            for i in range(10)
        ],
    )
    engine.dispose()
    code, out, _ = _invoke(cli, "--windows", "--json")
    assert code == 0, out
    (window,) = json.loads(out)["windows"]
    assert window["five_hour"]["limit"] == 10 and window["five_hour"]["percent"] == 100.0
    assert window["five_hour"]["available_at"] is not None
    code, out, _ = _invoke(cli, "--windows")
    assert "exhausted: 5-hour window of 0123456789abcdef (lite) is at 10/10" in out


def test_windows_survive_an_unreachable_quota_monitor(
    cli: typer.Typer, ledger: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    key = "usage-cli-coding-key-0001"
    monkeypatch.setenv("HUNKWISE_PLAN", "coding")
    monkeypatch.setenv("HUNKWISE_TIER", "lite")
    monkeypatch.setenv("ZAI_API_KEY", key)
    monkeypatch.setenv("ZAI_BASE_URL", f"http://127.0.0.1:{port}")
    code, out, err = _invoke(cli, "--windows")
    assert code == 0, out + err
    assert f"could not reach the quota monitor at 127.0.0.1:{port}" in out
    assert "(ledger)" in out and "Traceback" not in out + err and key not in out + err
    code, out, _ = _invoke(cli, "--windows", "--json")
    (w,) = json.loads(out)["windows"]  # the configured key, though the ledger never saw it
    assert w["monitor"]["status"] == "unavailable" and w["five_hour"]["capacity"]["remaining"] == 120


def test_a_bad_quota_monitor_setting_is_one_line(cli: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNKWISE_QUOTA_MONITOR", "sometimes")
    code, out, err = _invoke(cli, "--windows")
    assert code == 2
    assert "HUNKWISE_QUOTA_MONITOR must be on or off" in err and "Traceback" not in out + err
