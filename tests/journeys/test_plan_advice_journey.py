"""Journey: a team lead asks whether the Coding Plan would be cheaper than pay-per-token.

A developer reviews a branch a few times with a Z.AI Developer API key (the simulator behind the
normal provider path: base URL + key), so the ledger prices every call. Then ``hunkwise plan
advise`` re-prices the same period on every option: its Developer API figure matches what
``hunkwise usage`` says was spent (within 1%, the issue's accuracy bar), each Coding Plan tier has
its prorated fee and window replay, and the advice names its assumptions and sources.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from journeykit import DEV_KEY, Simulator, clean_env, explain, run_cli

pytestmark = pytest.mark.journey

CONFIG = """\
[main]
card = "glm-5.1"
plan = "developer"
api_key_env = "ZAI_API_KEY"

[tiers.lite]
prompts_5h = 100
"""

FEATURE = """\


def parse(text):
    try:
        return int(text)
    except:
        return 0


def load(path):
    handle = open(path)
    return handle.read()
"""


def git(repo: Path, *args: str, env: dict[str, str]) -> None:
    subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)


@pytest.fixture(scope="module")
def repo(journey_dir: Path) -> Path:
    root = journey_dir / "repo"
    root.mkdir()
    env = clean_env(journey_dir / "git-home")
    git(root, "init", "-q", "-b", "main", env=env)
    (root / ".hunkwise.toml").write_text(CONFIG)
    (root / "app.py").write_text("VERSION = 1\n")
    git(root, "add", ".", env=env)
    git(root, "commit", "-q", "-m", "initial", env=env)
    git(root, "checkout", "-q", "-b", "feature", env=env)
    with (root / "app.py").open("a") as fh:
        fh.write(FEATURE)
    git(root, "commit", "-q", "-am", "feature", env=env)
    return root


def test_plan_advice_matches_the_ledger(repo: Path, journey_dir: Path, simulator: Simulator) -> None:
    env = clean_env(
        journey_dir / "user-home", {"ZAI_API_KEY": DEV_KEY, "HUNKWISE_BASE_URL": simulator.developer_url}
    )
    # Before any review: an empty period, said plainly.
    empty = run_cli(["plan", "advise", "--json"], env, cwd=repo)
    assert empty.returncode == 0, explain(empty)
    assert json.loads(empty.stdout)["recommendation"]["option"] is None

    for _ in range(3):
        review = run_cli(["review"], env, cwd=repo)
        assert review.returncode == 0, explain(review)

    usage = run_cli(["usage", "--since", "30d", "--json"], env, cwd=repo)
    assert usage.returncode == 0, explain(usage)
    total = json.loads(usage.stdout)["total"]
    assert total["calls"] >= 3 and total["cost_usd"] > 0, total

    advice_run = run_cli(["plan", "advise", "--since", "30d", "--json"], env, cwd=repo)
    assert advice_run.returncode == 0, explain(advice_run)
    advice = json.loads(advice_run.stdout)
    assert advice["calls"]["real"] == total["calls"] and advice["calls"]["unpriced"] == 0
    assert advice["served_by"] == {"developer": total["calls"]}
    assert advice["ledger_cost_usd"] == pytest.approx(total["cost_usd"], abs=1e-6)
    # The accuracy bar: a Developer-API-only period re-priced within 1% of the ledger.
    assert advice["developer_api"]["cost_usd"] == pytest.approx(total["cost_usd"], rel=0.01)
    by_model = {m["model"]: m for m in advice["developer_api"]["by_model"]}
    assert by_model["glm-5.1"]["input_tokens"] == total["input_tokens"]
    assert by_model["glm-5.1"]["cached_tokens"] == total["cached_tokens"]
    # The reviews repeat their system prompt: the simulator reports cached tokens, and both the
    # ledger and the advisor bill them at the cached price (that is why they agree).
    assert total["cached_tokens"] > 0, total

    tiers = {t["tier"]: t for t in advice["tiers"]}
    assert set(tiers) == {"lite", "pro", "max"}
    assert tiers["lite"]["prompts_5h"] == 100  # the repository file's [tiers.lite] override
    for t in tiers.values():
        assert t["prompts"] == total["calls"] and t["holds"]
        assert t["fee_usd_period"] == pytest.approx(t["fee_usd_month"] * 30 / (365.25 / 12), abs=1e-4)
        # Every prompt weighs 2 or 3 (GLM-5.1), so the busiest window holds 2-3 units per call.
        assert 2 * total["calls"] <= t["peak_week_used"] <= 3 * total["calls"]
    # A few reviews cost cents: the fee of any tier is more than that.
    assert advice["recommendation"]["option"] == "developer"
    assert advice["recommendation"]["summary"].startswith("Stay on the Developer API")
    assert any("glm-5.1 prices" in s["what"] for s in advice["sources"])

    text = run_cli(["plan", "advise"], env, cwd=repo)
    assert text.returncode == 0, explain(text)
    assert "Stay on the Developer API" in text.stdout and "Coding Plan Pro" in text.stdout, explain(text)
