"""Simulated spend is not spend: an offline review's calls are recorded as simulated, ``hunkwise
usage`` leaves them out unless asked, and the review report labels its cost as simulated.

End to end through the real CLI: ``review --offline`` runs the built-in simulator in-process and
writes the ledger in the test's HUNKWISE_HOME; ``usage`` reads it back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import simkeys
from hunkwise.cli.app import app
from hunkwise.config.settings import Settings
from hunkwise.store import database_url, open_store, usage_summary

SAMPLE = Path(__file__).parents[2] / "examples" / "sample.diff"


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


def offline_review(*args: str) -> Any:
    result = run("review", "--offline", "--diff", str(SAMPLE), *args)
    assert result.exit_code == 0, result.output
    return result


def test_offline_review_leaves_usage_without_spend() -> None:
    offline_review("-q", "-f", "json")
    offline_review("-q", "-f", "json")

    result = run("usage")
    assert result.exit_code == 0, result.output
    assert "No real calls recorded; 2 simulated call(s) from 2 offline review run(s) hidden" in result.stdout
    assert "--include-simulated" in result.stdout
    assert "glm-5.1" not in result.stdout and "$" not in result.stdout

    data = json.loads(run("usage", "--json").stdout)
    assert data["runs"] == 0 and data["rows"] == []
    assert data["total"]["calls"] == 0 and data["total"]["cost_usd"] == 0
    assert data["simulated"] == {"included": False, "runs": 2, "calls": 2, "total": None}


def test_include_simulated_shows_the_calls_labelled_and_apart() -> None:
    doc = json.loads(offline_review("-q", "-f", "json").stdout)
    cost = doc["usage"]["cost_usd"]
    assert cost > 0  # catalog prices: what GLM-5.1 would have charged

    result = run("usage", "--include-simulated")
    assert result.exit_code == 0, result.output
    assert "glm-5.1 (simulated)" in result.stdout
    assert "0 review run(s), 0 call(s), $0.0000" in result.stdout  # real spend stays zero
    assert (
        f"simulated (no money spent, not in the totals above): 1 review run(s), 1 call(s), ${cost:.4f}"
        in (result.stdout)
    )

    data = json.loads(run("usage", "--json", "--include-simulated").stdout)
    (row,) = data["rows"]
    assert row["key"] == "glm-5.1" and row["simulated"] is True and row["cost_usd"] == pytest.approx(cost)
    assert data["total"]["cost_usd"] == 0 and data["total"]["calls"] == 0
    assert data["simulated"]["included"] is True and data["simulated"]["runs"] == 1
    assert data["simulated"]["total"]["cost_usd"] == pytest.approx(cost)


def test_real_calls_stay_visible_next_to_hidden_simulated_ones(sim: Any) -> None:
    """A simulator started apart (``hunkwise sim``) and configured as the provider is a server like
    any other: hunkwise cannot know it spends nothing, so those calls count as real."""
    offline_review("-q", "-f", "json")
    real = run(
        "review", "--diff", str(SAMPLE), "-q", "-f", "json",
        env={"ZAI_API_KEY": simkeys.DEV_KEY, "ZAI_BASE_URL": sim.base_url},
    )  # fmt: skip
    assert real.exit_code == 0, real.output
    real_cost = json.loads(real.stdout)["usage"]["cost_usd"]

    result = run("usage")
    assert result.exit_code == 0, result.output
    assert f"1 review run(s), 1 call(s), ${real_cost:.4f}" in result.stdout
    assert "(simulated)" not in result.stdout
    assert "1 simulated call(s) from 1 offline review run(s) hidden (--include-simulated to show them)" in (
        result.stdout
    )
    engine = open_store(database_url(Settings.from_env()))
    try:
        summary = usage_summary(engine)
    finally:
        engine.dispose()
    assert summary.total.cost_usd == pytest.approx(real_cost, abs=1e-6)  # the report rounds to 6 places


def test_offline_text_report_labels_its_cost_as_simulated() -> None:
    doc = json.loads(offline_review("-q", "-f", "json").stdout)
    text = " ".join(offline_review().stdout.split())  # the summary may wrap at the report's width
    assert f"${doc['usage']['cost_usd']:.4f} simulated (no money spent)" in text


def test_offline_json_report_says_simulated_next_to_the_cost(sim: Any) -> None:
    doc = json.loads(offline_review("-q", "-f", "json").stdout)
    assert doc["usage"]["simulated"] is True and doc["usage"]["cost_usd"] > 0
    real = run(
        "review", "--diff", str(SAMPLE), "-q", "-f", "json",
        env={"ZAI_API_KEY": simkeys.DEV_KEY, "ZAI_BASE_URL": sim.base_url},
    )  # fmt: skip
    assert json.loads(real.stdout)["usage"]["simulated"] is False


def test_offline_markdown_and_sarif_label_the_cost() -> None:
    md = offline_review("-q", "-f", "markdown").stdout
    footer = md.strip().splitlines()[-1]
    assert "simulated (no money spent)" in footer
    sarif = json.loads(offline_review("-q", "-f", "sarif").stdout)
    props = sarif["runs"][0]["properties"]
    assert props["costSimulated"] is True and props["costUsd"] > 0
