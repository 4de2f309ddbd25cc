"""Journey: a team lead caps the month's spend and sees the cap hold (issue 14, item 5).

A real ``hunkwise serve`` (SQLite in its home, the GitHub fake over loopback HTTP); the
organization's key is a simulator Developer API key behind the simulator's base URL, so reviews
cost money at catalog prices. The lead sets a budget over the API, a first pull request is
reviewed, the budget is lowered below the month's spend, and the next pushes are refused: no model
request, one comment on the pull request saying why and how to raise it, ``budget_exhausted`` on
the job. ``hunkwise usage --org`` shows the same month as the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from journeykit import DEV_KEY, Server, Simulator, deliver, explain, github_event, run_cli, server_env

pytestmark = pytest.mark.journey

ORG = "codertocat"  # the owner of the recorded deliveries' repository
REPO = "Codertocat/Hello-World"


@pytest.fixture(scope="module")
def server(journey_dir: Path, fake_github: Any) -> Iterator[Server]:
    srv = Server(server_env(journey_dir / "server-home", fake_github.url), journey_dir)
    yield srv
    srv.stop()


def review_posts(fake_github: Any) -> list[dict[str, Any]]:
    return [
        json.loads(r.content)
        for r in fake_github.fake.requests
        if r.method == "POST" and r.url.path.endswith("/reviews")
    ]


def push(server: Server, fake_github: Any, head: str, delivery: str) -> int:
    event = github_event("pull_request.synchronize", fake_github.url)
    event["pull_request"]["head"]["sha"] = head
    resp = deliver(server, event, delivery=delivery)
    assert resp.status_code == 202, resp.text
    return int(resp.json()["job_id"])


def test_a_tiny_budget_refuses_the_next_review_with_one_comment(
    server: Server, simulator: Simulator, fake_github: Any, journey_dir: Path
) -> None:
    with server.client() as admin:
        made = admin.post("/api/orgs", json={"slug": ORG})
        assert made.status_code == 201, made.text
        token = made.json()["token"]
    with server.client(token) as org:
        byok = {"main": {"card": "glm-5.1", "base_url": simulator.developer_url, "api_key": DEV_KEY}}
        assert org.put(f"/api/orgs/{ORG}/byok", json=byok).status_code == 200
        set_budget = org.patch(f"/api/orgs/{ORG}", json={"monthly_budget": 1})
        assert set_budget.status_code == 200, set_budget.text
        assert set_budget.json()["budget"]["budget_usd"] == 1.0

        # A first pull request: reviewed and posted; the month now has spend.
        opened = deliver(server, github_event("pull_request.opened", fake_github.url), delivery="budget-1")
        first = server.wait_job(org, int(opened.json()["job_id"]))
        assert first["status"] == "done", first
        month = org.get(f"/api/orgs/{ORG}/budget").json()
        assert month["spent_usd"] > 0 and month["reserved_usd"] == 0, month
        assert len(review_posts(fake_github)) == 1

        # The lead sets a tiny budget: below what is already spent.
        tiny = org.patch(f"/api/orgs/{ORG}", json={"monthly_budget": month["spent_usd"] / 2})
        assert tiny.status_code == 200 and tiny.json()["budget"]["exhausted"] is True, tiny.text

        calls = simulator.key_requests(DEV_KEY)
        second = server.wait_job(org, push(server, fake_github, "1" * 40, "budget-2"))
        assert second["status"] == "failed" and second["reason"] == "budget_exhausted", second
        assert "monthly budget of organization 'codertocat' is reached" in second["error"]
        assert simulator.key_requests(DEV_KEY) == calls  # no model request
        posts = review_posts(fake_github)
        assert len(posts) == 2
        notice = posts[-1]
        assert notice["commit_id"] == "1" * 40 and notice["comments"] == []
        assert "hunkwise review not run" in notice["body"]
        assert "monthly review budget of this organization is reached" in notice["body"]
        assert "monthly_budget" in notice["body"] and "hunkwise:notice:" in notice["body"]

        # Another push the same month: refused, and no second comment.
        third = server.wait_job(org, push(server, fake_github, "2" * 40, "budget-3"))
        assert third["status"] == "failed" and third["reason"] == "budget_exhausted", third
        assert len(review_posts(fake_github)) == 2 and simulator.key_requests(DEV_KEY) == calls
        shown = org.get(f"/api/orgs/{ORG}/budget").json()
        assert shown["warning"] is True and shown["percent_used"] >= 100

    # The operator's CLI on the server's database says the same.
    env = server_env(journey_dir / "server-home", fake_github.url)
    result = run_cli(["usage", "--org", ORG, "--json"], env)
    assert result.returncode == 0, explain(result)
    budget = json.loads(result.stdout)["budget"]
    assert budget["spent_usd"] == pytest.approx(shown["spent_usd"]) and budget["exhausted"] is True
    text = run_cli(["usage", "--org", ORG], env)
    assert text.returncode == 0 and "monthly budget is reached" in text.stdout, explain(text)


def test_a_budget_that_is_not_an_amount_is_refused_in_one_line(server: Server) -> None:
    with server.client() as admin:
        assert admin.post("/api/orgs", json={"slug": "typo-team"}).status_code == 201
        resp = admin.patch("/api/orgs/typo-team", json={"monthly_budget": "a lot"})
        assert resp.status_code == 422
        [error] = resp.json()["detail"]
        assert error["loc"] == ["body", "monthly_budget"] and "per calendar month (UTC)" in error["msg"]
        assert admin.get("/api/orgs/typo-team/budget").json()["budget_usd"] is None  # unchanged: none
