"""``hunkwise models``: the catalog after config-file overrides, as a table and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hunkwise.cli.app import app


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def run(*args: str):
    return CliRunner().invoke(app, ["models", *args])


def test_table_shows_cards_plans_endpoints_prices_and_tiers() -> None:
    result = run()
    assert result.exit_code == 0, result.output
    out = result.stdout
    lines = [line for line in out.splitlines() if "glm-" in line or "gpt-" in line or "claude-" in line]
    assert "glm-5.1" in lines[0] and "recommended" in lines[0]  # GLM 5.1 first, marked
    assert "200,000" in lines[0] and "$1.40" in lines[0] and "$4.40" in lines[0]
    assert "https://api.z.ai/api/paas/v4/" in out and "https://api.z.ai/api/coding/paas/v4" in out
    assert "no cap" in out and "1 (tier lite)" in out
    assert "read 2026-11-27" in out  # price source and date
    tier_max = next(line for line in out.splitlines() if line.strip("│ ").startswith("Max (max)"))
    assert "$80.00" in tier_max and " 30 " in tier_max and "2,400" in tier_max


def test_json_is_complete_and_ordered() -> None:
    result = run("--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    first = data["cards"][0]
    assert (first["id"], first["recommended"], first["context_window"]) == ("glm-5.1", True, 200000)
    assert {"price_source", "price_date", "input_price", "output_price"} <= set(first)
    plans = {p["id"]: p for p in data["plans"]}
    assert plans["coding"]["base_url"] == "https://api.z.ai/api/coding/paas/v4"
    assert (
        plans["coding"]["default_max_concurrent"] == 1
        and plans["developer"]["default_max_concurrent"] is None
    )
    assert {t["id"]: t["max_concurrent"] for t in data["tiers"]} == {"lite": 1, "pro": 1, "max": 30}


def test_user_config_overrides_prices_and_tier_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        '[models."glm-5.1"]\ninput_price = 1.2\n[tiers.lite]\nprompts_5h = 100\n'
    )
    monkeypatch.setenv("HUNKWISE_HOME", str(home))
    data = json.loads(run("--json").stdout)
    assert data["cards"][0]["input_price"] == 1.2
    assert next(t for t in data["tiers"] if t["id"] == "lite")["prompts_5h"] == 100


def test_bad_override_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".hunkwise.toml").write_text('[models."glm-9"]\ninput_price = 1\n')
    result = run()
    assert result.exit_code == 2
    assert "unknown model id `glm-9` in [models] of " in result.stderr and "did you mean" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
