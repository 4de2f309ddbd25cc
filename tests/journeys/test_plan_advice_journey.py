"""Journey: a team lead asks whether the Coding Plan would be cheaper than pay-per-token.

A developer reviews a branch a few times with a Z.AI Developer API key (the simulator behind the
normal provider path: base URL + key), so the ledger prices every call. Then ``hunkwise plan
advise`` re-prices the same period on every option: its Developer API figure matches what
``hunkwise usage`` says was spent (within 1%, the issue's accuracy bar), each Coding Plan tier has
its prorated fee and window replay, and the advice names its assumptions and sources. Then the
same question on a server: an organization's PR review through a webhook, its advice from the API
and the console, scoped to its own calls, the spill priced at its BYOK Fallback.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from journeykit import (
    DEV_KEY,
    OPENAI_KEY,
    Server,
    Simulator,
    clean_env,
    deliver,
    explain,
    github_event,
    run_cli,
    server_env,
)

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


@pytest.fixture(scope="module")
def server(journey_dir: Path, fake_github: Any) -> Iterator[Server]:
    srv = Server(server_env(journey_dir / "server-home", fake_github.url), journey_dir)
    yield srv
    srv.stop()


def _console_sign_in(server: Server, token: str) -> httpx.Client:
    """Sign in through the console's real form (CSRF field included), as a browser does."""
    client = httpx.Client(base_url=server.url, timeout=60)
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, form.text
    done = client.post("/login", data={"token": token, "csrf": csrf.group(1), "next": "/console/plan"})
    assert done.status_code in (200, 303), done.text
    return client


def test_server_plan_advice_per_organization(server: Server, simulator: Simulator, fake_github: Any) -> None:
    """An organization on the Developer API with an OpenAI Fallback gets a PR reviewed through the
    server; its plan advice (API and console) prices exactly its own calls, spill at its Fallback."""
    with server.client() as admin:
        admin.delete("/api/orgs/codertocat")
        created = admin.post("/api/orgs", json={"slug": "codertocat"})
        assert created.status_code == 201, created.text
        token = created.json()["token"]
        other = admin.post("/api/orgs", json={"slug": "bystander"})
        assert other.status_code == 201, other.text
        other_token = other.json()["token"]
    byok = {
        "main": {
            "card": "glm-5.1",
            "plan": "developer",
            "base_url": simulator.developer_url,
            "api_key": DEV_KEY,
        },
        "fallback": {
            "provider": "openai",
            "model": "gpt-5-mini",
            "base_url": simulator.openai_url,
            "api_key": OPENAI_KEY,
        },
    }
    with server.client(token) as org:
        put = org.put("/api/orgs/codertocat/byok", json=byok)
        assert put.status_code == 200, put.text
        resp = deliver(server, github_event("pull_request.opened", fake_github.url), delivery="plan-advice-1")
        assert resp.status_code == 202, resp.text
        job = server.wait_job(org, int(resp.json()["job_id"]))
        assert job["status"] == "done", job

        got = org.get("/api/plan/advice", params={"since": "1d"})
        assert got.status_code == 200, got.text
        advice = got.json()
        assert advice["org"] == "codertocat"
        assert advice["calls"]["real"] >= 1 and advice["calls"]["unpriced"] == 0
        assert set(advice["served_by"]) == {"developer"}
        # The review's own cost (its report) is the ledger's price of these calls: within 1%.
        assert advice["developer_api"]["cost_usd"] == pytest.approx(job["cost_usd"], rel=0.01)
        assert "gpt-5-mini (the Fallback)" in advice["fallback"]  # the organization's BYOK Fallback
        assert DEV_KEY not in got.text and OPENAI_KEY not in got.text
        assert org.get("/api/plan/advice", params={"org": "bystander"}).status_code == 403

    with server.client(other_token) as bystander:
        assert bystander.get("/api/plan/advice").json()["calls"]["real"] == 0  # not the other tenant's calls

    console = _console_sign_in(server, token)
    try:
        page = console.get("/console/plan", params={"since": "1d"})
        assert page.status_code == 200, page.text
        assert f'id="plan-calls">{advice["calls"]["real"]}<' in page.text
        assert html.escape(advice["recommendation"]["summary"], quote=True) in page.text
    finally:
        console.close()
