"""The monthly budget through the server: set over the API and the console, a webhook review at
the cap refused before any model request with one notice on the pull request (not one per push)
and ``budget_exhausted`` on the job, the burn in the API and the console (issue 14, item 5)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from srvkit import ADMIN, admin_headers, bearer
from webkit import create_org, page_csrf, sign_in

from hunkwise.errors import ConfigurationError
from hunkwise.platforms.github_webhooks import sign
from platform_fakes import FakeGitHub, ServedFake
from simkeys import DEV_KEY

SECRET = "webhook-secret-for-tests"
WEBHOOKS = Path(__file__).parents[1] / "data" / "github-webhooks"
ORG = "codertocat"  # the owner of the fixtures' repository


@pytest.fixture
def github() -> Iterator[ServedFake]:
    served = ServedFake(FakeGitHub())
    yield served
    served.close()


def event(name: str, github_url: str, head: str | None = None) -> bytes:
    data: dict[str, Any] = json.loads((WEBHOOKS / f"{name}.payload.json").read_text())
    if head is not None:
        data["pull_request"]["head"]["sha"] = head
    return json.dumps(data).replace("https://api.github.com", github_url).encode()


def deliver(client: TestClient, body: bytes, delivery: str) -> int:
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(SECRET, body),
        "Content-Type": "application/json",
    }
    resp = client.post("/webhooks/github", content=body, headers=headers)
    assert resp.status_code == 202, resp.text
    return int(resp.json()["job_id"])


def wait_review(client: TestClient, job_id: int, deadline_s: float = 60) -> dict[str, Any]:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        got: dict[str, Any] = client.get(f"/api/reviews/{job_id}", headers=admin_headers()).json()
        if got["status"] in ("done", "failed"):
            return got
        time.sleep(0.05)
    raise AssertionError(f"review {job_id} did not finish")


def model_requests(sim: Any) -> int:
    return sum(int(k["requests"]) for k in sim.stats()["keys"].values())


def test_at_the_cap_no_model_call_one_comment_and_the_reason(
    make_client: Callable[..., TestClient], sim: Any, github: ServedFake
) -> None:
    client = make_client(
        HUNKWISE_GITHUB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
        GITHUB_API_URL=github.url,
        HUNKWISE_GITHUB_TOKEN="ghp_webhook_test_token",
    )
    made = client.post("/api/orgs", json={"slug": ORG}, headers=admin_headers())
    assert made.status_code == 201 and made.json()["budget"]["budget_usd"] is None  # none by default
    token = made.json()["token"]
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    assert client.put(f"/api/orgs/{ORG}/byok", json=byok, headers=bearer(token)).status_code == 200
    # BYOK: the organization's own key pays, so its own token sets its budget.
    patched = client.patch(f"/api/orgs/{ORG}", json={"monthly_budget": "$5"}, headers=bearer(token))
    assert patched.status_code == 200, patched.text
    assert (
        patched.json()["monthly_budget"] == 5.0
        and patched.json()["budget"]["source"] == "organization setting"
    )
    fake: FakeGitHub = github.fake  # type: ignore[assignment]

    first = wait_review(client, deliver(client, event("pull_request.opened", github.url), "d-1"))
    assert first["status"] == "done" and first["reason"] is None, first["error"]
    month = client.get(f"/api/orgs/{ORG}/budget", headers=bearer(token)).json()
    assert month["spent_usd"] == pytest.approx(first["cost_usd"]) and month["spent_usd"] > 0
    assert month["reserved_usd"] == 0 and month["reservations"] == 0 and month["warning"] is False

    # The team lowers the budget below what is spent: the month is used up.
    lowered = {"monthly_budget": month["spent_usd"] / 2}
    assert client.patch(f"/api/orgs/{ORG}", json=lowered, headers=bearer(token)).status_code == 200
    calls, posts = model_requests(sim), len(fake.posts)
    second = wait_review(
        client, deliver(client, event("pull_request.synchronize", github.url, "d" * 40), "d-2")
    )
    assert second["status"] == "failed" and second["attempts"] == 1  # permanent: not retried
    assert second["reason"] == "budget_exhausted"
    assert "monthly budget of organization 'codertocat' is reached" in second["error"]
    assert f'PATCH /api/orgs/{ORG} {{"monthly_budget": <USD>}}' in second["error"]
    assert model_requests(sim) == calls  # no model call
    [notice] = fake.posts[posts:]
    assert notice["commit_id"] == "d" * 40 and notice["comments"] == []
    body = notice["body"]
    assert (
        "monthly review budget of this organization is reached" in body and "HUNKWISE_MONTHLY_BUDGET" in body
    )
    assert "| Spent in " in body and "| This review's estimate |" in body and "`budget_exhausted`" in body
    assert "<!-- hunkwise:notice:" in body and "the budget must be at least $" in body

    # Another push in the same month: refused the same way, no second comment.
    third = wait_review(
        client, deliver(client, event("pull_request.synchronize", github.url, "e" * 40), "d-3")
    )
    assert third["status"] == "failed" and third["reason"] == "budget_exhausted"
    assert len(fake.posts) == posts + 1 and model_requests(sim) == calls
    dead = client.get("/api/jobs/dead", headers=bearer(token)).json()
    assert {d["reason_code"] for d in dead} == {"budget_exhausted"}

    # The burn, in the API and on the console, with the warning.
    month = client.get(f"/api/orgs/{ORG}/budget", headers=bearer(token)).json()
    assert month["exhausted"] is True and month["warning"] is True and month["percent_used"] >= 100
    sign_in(client, token, "/console/usage")
    usage = client.get("/console/usage").text
    assert 'id="burn-alert"' in usage and "monthly budget is reached" in usage
    assert client.get("/console/reviews").text.count("budget reached</span>") == 2

    # Raised as the message says, the refused job runs when retried.
    assert (
        client.patch(f"/api/orgs/{ORG}", json={"monthly_budget": "off"}, headers=bearer(token)).status_code
        == 200
    )
    assert client.post(f"/api/jobs/{second['id']}/retry", headers=bearer(token)).status_code == 200
    done = wait_review(client, second["id"])
    assert done["status"] == "done" and done["reason"] is None, done["error"]
    assert model_requests(sim) > calls
    # Reviewed: the pull request's one summary now describes the refused head (edited in place);
    # the notice stays a comment of its own.
    assert f"<!-- hunkwise:head:{'d' * 40} -->" in fake.reviews[0]["body"]
    assert sum("<!-- hunkwise:notice:" in r["body"] for r in fake.reviews) == 1


def test_the_admins_organizations_page_lists_each_months_burn(client: TestClient) -> None:
    create_org(client, "acme")
    create_org(client, "globex")
    assert (
        client.patch("/api/orgs/globex", json={"monthly_budget": 20}, headers=admin_headers()).status_code
        == 200
    )
    sign_in(client, ADMIN, "/console/orgs")
    html = client.get("/console/orgs").text
    assert 'id="burns"' in html
    assert '<td>acme</td><td class="num">$0</td>' in html and "$20.00" in html


def test_fixed_mode_budget_from_the_environment_and_only_the_admin_changes_it(
    make_client: Callable[..., TestClient], sim: Any
) -> None:
    client = make_client(
        HUNKWISE_MODEL="glm-5.1", ZAI_API_KEY=DEV_KEY, ZAI_BASE_URL=sim.base_url, HUNKWISE_MONTHLY_BUDGET="25"
    )
    token = client.post("/api/orgs", json={"slug": "acme"}, headers=admin_headers()).json()["token"]
    shown = client.get("/api/orgs/acme/budget", headers=bearer(token)).json()
    assert shown["budget_usd"] == 25.0 and shown["source"] == "server default (HUNKWISE_MONTHLY_BUDGET)"
    refused = client.patch("/api/orgs/acme", json={"monthly_budget": 100}, headers=bearer(token))
    assert refused.status_code == 409 and "only the administrator" in refused.json()["detail"]
    assert (
        client.patch("/api/orgs/acme", json={"monthly_budget": 100}, headers=admin_headers()).status_code
        == 200
    )
    assert client.get("/api/orgs/acme/budget", headers=bearer(token)).json()["budget_usd"] == 100.0
    with pytest.raises(ConfigurationError, match="HUNKWISE_MONTHLY_BUDGET = 'lots' is not valid"):
        make_client(HUNKWISE_MONTHLY_BUDGET="lots")


def test_server_config_file_sets_the_default_budget_and_ceiling(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    config = tmp_path / "server.toml"
    config.write_text("[review]\nmonthly_budget = 40\nmax_cost = 3\n")
    client = make_client(HUNKWISE_CONFIG=str(config))
    made = client.post("/api/orgs", json={"slug": "acme"}, headers=admin_headers()).json()
    token = made["token"]
    assert made["cost_ceiling"] == {"usd": 3.0, "source": "server default"}  # both spend settings, one file
    shown = client.get("/api/orgs/acme/budget", headers=bearer(token)).json()
    assert (
        shown["budget_usd"] == 40.0
        and shown["source"] == f"server default (monthly_budget in [review] of {config})"
    )


@pytest.mark.parametrize(
    ("value", "words"), [(0, "disable the budget"), ("lots", "per calendar month (UTC)")]
)
def test_bad_budgets_are_422_naming_the_field(client: TestClient, value: object, words: str) -> None:
    token = create_org(client)
    resp = client.patch("/api/orgs/acme", json={"monthly_budget": value}, headers=bearer(token))
    assert resp.status_code == 422
    [err] = resp.json()["detail"]
    assert err["loc"] == ["body", "monthly_budget"] and words in err["msg"]


def test_console_form_sets_the_budget_and_shows_the_burn(client: TestClient) -> None:
    token = create_org(client)
    sign_in(client, token)
    html = client.get("/console/models").text
    assert "Monthly budget" in html and 'id="burn-budget">none<' in html
    csrf = page_csrf(client)
    assert client.post("/console/monthly-budget", data={"monthly_budget": "12"}).status_code == 403  # no CSRF
    saved = client.post(
        "/console/monthly-budget", data={"monthly_budget": "12", "csrf": csrf}, follow_redirects=False
    )
    assert saved.status_code == 303
    assert client.get("/api/orgs/acme", headers=bearer(token)).json()["monthly_budget"] == 12.0
    assert 'id="burn-budget">$12.00<' in client.get("/console/models").text
    bad = client.post("/console/monthly-budget", data={"monthly_budget": "0", "csrf": csrf})
    assert bad.status_code == 422 and "disable the budget" in bad.text
    client.post("/console/monthly-budget", data={"monthly_budget": "", "csrf": csrf})  # the server's default
    assert client.get("/api/orgs/acme", headers=bearer(token)).json()["monthly_budget"] is None
