"""``hunkwise plan advise`` through Typer's runner, against a real SQLite ledger in HUNKWISE_HOME."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from call_records import call_record
from hunkwise.catalog.loader import load_catalog
from hunkwise.cli.app import app
from hunkwise.config.settings import Settings
from hunkwise.store import RunRecord, database_url, open_store, record_run


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["plan", "advise", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def _record(*calls: object) -> None:
    engine = open_store(database_url(Settings.from_env()))
    try:
        record_run(engine, RunRecord(source="local"), list(calls))  # type: ignore[arg-type]
    finally:
        engine.dispose()


def _glm(ago: timedelta, **kw: object) -> object:
    card = load_catalog().card("glm-5.1")
    assert card is not None
    return call_record(
        model="glm-5.1",
        input_tokens=20_000,
        output_tokens=2_000,
        cost_usd=card.cost_usd(20_000, 2_000),
        created_at=datetime.now(UTC) - ago,
        plan="developer",
        **kw,
    )


def test_no_database_yet_is_an_empty_advice_not_an_error() -> None:
    code, out, _ = _invoke("--json")
    assert code == 0
    data = json.loads(out)
    assert data["calls"]["real"] == 0 and data["recommendation"]["option"] is None
    assert not (Path(Settings.from_env().home) / "hunkwise.db").exists()  # never created just to say so


def test_json_prices_every_option_and_recommends() -> None:
    _record(*[_glm(timedelta(hours=h)) for h in range(1, 6)], _glm(timedelta(days=40)))
    code, out, err = _invoke("--since", "7d", "--json")
    assert code == 0, err
    data = json.loads(out)
    card = load_catalog().card("glm-5.1")
    assert card is not None
    assert data["calls"]["real"] == 5  # the 40-day-old call is outside the period
    assert abs(data["period"]["days"] - 7) < 0.01
    assert data["developer_api"]["cost_usd"] == round(5 * card.cost_usd(20_000, 2_000), 6)
    assert [t["tier"] for t in data["tiers"]] == ["lite", "pro", "max"]
    assert data["recommendation"]["option"] == "developer"
    assert data["sources"] and data["assumptions"]


def test_text_output_leads_with_the_recommendation_and_lists_sources() -> None:
    _record(_glm(timedelta(hours=1)), call_record(model="mystery-model", created_at=datetime.now(UTC)))
    code, out, _ = _invoke("--fallback", "gpt-5-mini")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Plan advice for ") and "(30.0 days)" in lines[0]
    assert "Stay on the Developer API" in out
    assert "Coding Plan Lite" in out and "Coding Plan Max" in out
    assert "Not priced (unknown to the catalog, left out of every figure): mystery-model (1 call(s))" in out
    assert "gpt-5-mini (the Fallback)" in out
    assert "Sources:" in out and "2026-11-27" in out


def test_bad_input_is_one_line_and_exit_2() -> None:
    code, _, err = _invoke("--since", "soon")
    assert code == 2 and err.strip().startswith("error: --since expects a duration")
    assert "Traceback" not in err
    code, _, err = _invoke("--fallback", "gpt-9")
    assert code == 2 and "unknown Fallback model 'gpt-9'" in err


def test_config_overrides_set_the_ceilings_and_the_multiplier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # Two GLM-5.1 prompts a minute apart, off-peak (2x each): Lite with a 3-unit window spills one...
    now = datetime.now(UTC)
    off_peak = now.replace(hour=13, minute=0, second=0, microsecond=0)  # 21:00 in UTC+8
    if off_peak > now:
        off_peak -= timedelta(days=1)
    _record(_glm(now - off_peak), _glm(now - off_peak - timedelta(minutes=1)))
    (tmp_path / ".hunkwise.toml").write_text("[tiers.lite]\nprompts_5h = 3\n")
    lite = next(t for t in json.loads(_invoke("--json")[1])["tiers"] if t["tier"] == "lite")
    assert (lite["prompts_5h"], lite["spilled_calls"]) == (3, 1)
    # ...and during a 1x promotion both fit.
    (tmp_path / ".hunkwise.toml").write_text(
        "[tiers.lite]\nprompts_5h = 3\n\n[peak_hours]\noff_peak_multiplier = 1\n"
    )
    data = json.loads(_invoke("--json")[1])
    lite = next(t for t in data["tiers"] if t["tier"] == "lite")
    assert (lite["spilled_calls"], lite["peak_5h_used"]) == (0, 2.0)
    assert any("3x / 1x" in s["what"] for s in data["sources"])
    (tmp_path / ".hunkwise.toml").write_text("[peak_hours]\noffpeak = 1\n")
    code, _, err = _invoke("--json")
    assert (
        code == 2
        and "unknown key `offpeak` in [peak_hours]" in err
        and "off_peak_multiplier" in err  # the keys allowed there are listed
    )
