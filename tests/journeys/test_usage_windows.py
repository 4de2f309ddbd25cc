"""Journey: a Coding Plan user reviews a change, then asks how much of their windows is left.

The key and base URL come from the environment, pointing at a ``hunkwise sim`` process (a
Coding Plan Lite key, the normal provider path, not ``--offline``). ``hunkwise usage --windows``
then asks the simulator's quota monitor, merges it with the ledger, and reports what is left,
the peak-hour multiplier in force and the forecast, in JSON and as a table; with the monitor
turned off it falls back to the ledger and says why.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from journeykit import CODING_KEY, Simulator, clean_env, explain, run_cli

from hunkwise.catalog.loader import load_catalog

pytestmark = pytest.mark.journey

SAMPLE_DIFF = Path(__file__).resolve().parents[2] / "examples" / "sample.diff"


def test_review_then_usage_windows(simulator: Simulator, journey_dir: Path) -> None:
    env = clean_env(
        journey_dir / "windows-home",
        {
            "HUNKWISE_PLAN": "coding",
            "HUNKWISE_TIER": "lite",
            "ZAI_API_KEY": CODING_KEY,
            "ZAI_BASE_URL": simulator.base_url,  # the plan sets the path
        },
    )
    review = run_cli(["review", "--diff", str(SAMPLE_DIFF)], env, cwd=journey_dir)
    assert review.returncode in (0, 1), explain(review)  # 1: findings at or above fail_on
    before = datetime.now(UTC)
    usage = run_cli(["usage", "--windows", "--json"], env, cwd=journey_dir)
    after = datetime.now(UTC)
    assert usage.returncode == 0, explain(usage)
    assert CODING_KEY not in usage.stdout + usage.stderr

    (w,) = json.loads(usage.stdout)["windows"]
    assert w["credential"] == hashlib.sha256(CODING_KEY.encode()).hexdigest()[:16]
    assert w["base_url"] == simulator.coding_url and w["tier"] == "lite" and w["model"] == "glm-5.1"
    sent = w["five_hour"]["used"]  # the review's calls, from the ledger
    assert sent >= 1

    # The multiplier in force: the catalog's peak-hour rule for GLM-5.1 at this moment.
    rule = load_catalog().peak_hours
    assert w["multiplier"] in {rule.multiplier("glm-5.1", before), rule.multiplier("glm-5.1", after)}
    assert w["peak_hours"] == "14:00-18:00 UTC+8"

    # Remaining from the monitor: the simulator's percentage of Lite's 120, scaled back to prompts.
    assert w["monitor"]["status"] == "ok" and w["monitor"]["diagnosis"] is None
    counted = simulator.stats()["keys"][CODING_KEY]["window_5h_prompts"]
    percentage = w["monitor"]["reading"]["windows"]["5h"]["percentage"]
    assert percentage == round(100 * counted / 120)
    five = w["five_hour"]["capacity"]
    assert five["source"] == "monitor" and five["limit"] == 120
    assert five["remaining"] == int(120 * (1 - percentage / 100) + 1e-9) == w["remaining_prompts"]
    assert w["week"]["capacity"]["source"] == "monitor"

    # The forecast: the last hour's prompts times the multiplier; a few prompts an hour do not
    # empty 100+ before the window rolls, and the forecast says so instead of inventing a time.
    forecast = five["forecast"]
    assert forecast["prompts_last_hour"] == sent
    assert forecast["multiplier"] == w["multiplier"]
    assert forecast["rate_per_hour"] == sent * w["multiplier"]
    assert forecast["lasts_until_reset"] is True and forecast["runs_out_at"] is None
    assert forecast["message"].startswith(
        f"at the last hour's rate ({sent}/h x{w['multiplier']}) this window lasts"
    )

    table = run_cli(["usage", "--windows"], env, cwd=journey_dir)
    assert table.returncode == 0, explain(table)
    assert "Coding Plan windows" in table.stdout and "(monitor)" in table.stdout
    assert f"x{w['multiplier']}" in table.stdout and "forecast: 5-hour window" in table.stdout
    assert CODING_KEY not in table.stdout + table.stderr

    off = run_cli(["usage", "--windows", "--json"], {**env, "HUNKWISE_QUOTA_MONITOR": "off"}, cwd=journey_dir)
    assert off.returncode == 0, explain(off)
    (w_off,) = json.loads(off.stdout)["windows"]
    assert w_off["monitor"]["status"] == "unavailable"
    assert "HUNKWISE_QUOTA_MONITOR=off" in w_off["monitor"]["diagnosis"]
    ledger = w_off["five_hour"]["capacity"]
    assert ledger["source"] == "ledger"
    # The ledger's figure: Lite's 120 minus what hunkwise sent, each prompt weighted by the rule.
    assert ledger["remaining"] == 120 - ledger["ledger_weighted"]
    assert sent <= ledger["ledger_weighted"] <= 3 * sent
