"""The per-organization review cost ceiling: the API to set it, and a webhook job above it failing
for good before any model request (issue 11, item 6)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers, bearer
from webkit import create_org, page_csrf, sign_in

from hunkwise.errors import ConfigurationError
from hunkwise.platforms.github_webhooks import sign
from platform_fakes import FakeGitHub, ServedFake
from simkeys import DEV_KEY

SECRET = "webhook-secret-for-tests"
PAYLOAD = Path(__file__).parents[1] / "data" / "github-webhooks" / "pull_request.opened.payload.json"
ORG = "codertocat"  # the owner of the fixture's repository


def _org(client: TestClient, slug: str) -> str:
    resp = client.post("/api/orgs", json={"slug": slug}, headers=admin_headers())
    assert resp.status_code == 201, resp.text
    assert resp.json()["cost_ceiling"] == {"usd": 2.0, "source": "server default"}
    return str(resp.json()["token"])


def test_set_show_and_reset_the_ceiling(client: TestClient) -> None:
    token = _org(client, "acme")
    url = "/api/orgs/acme"
    got = client.patch(url, json={"max_cost": 5}, headers=bearer(token))  # BYOK: its own key pays
    assert got.status_code == 200, got.text
    assert got.json()["max_cost"] == 5.0
    assert got.json()["cost_ceiling"] == {"usd": 5.0, "source": "organization setting"}
    assert client.get(url, headers=bearer(token)).json()["max_cost"] == 5.0  # stored
    off = client.patch(url, json={"max_cost": "OFF"}, headers=bearer(token)).json()
    assert off["max_cost"] == "off" and off["cost_ceiling"] == {"usd": None, "source": "organization setting"}
    back = client.patch(url, json={"max_cost": None}, headers=admin_headers()).json()
    assert back["max_cost"] is None and back["cost_ceiling"] == {"usd": 2.0, "source": "server default"}
    assert client.patch(url, json={}, headers=bearer(token)).json()["max_cost"] is None  # nothing sent


@pytest.mark.parametrize(
    ("value", "words"),
    [(0, 'write "off"'), (-3, "would stop every review"), ("lots", "an amount in USD"), (True, "USD")],
)
def test_bad_ceilings_are_422_naming_the_field(client: TestClient, value: object, words: str) -> None:
    token = _org(client, "acme")
    resp = client.patch("/api/orgs/acme", json={"max_cost": value}, headers=bearer(token))
    assert resp.status_code == 422
    [err] = resp.json()["detail"]
    assert err["loc"] == ["body", "max_cost"] and words in err["msg"]
    unknown = client.patch("/api/orgs/acme", json={"max_costs": 5}, headers=bearer(token))
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "max_costs"]
    assert client.get("/api/orgs/acme", headers=bearer(token)).json()["max_cost"] is None  # unchanged


def test_other_orgs_cannot_change_it(client: TestClient) -> None:
    _org(client, "acme")
    globex = _org(client, "globex")
    assert client.patch("/api/orgs/acme", json={"max_cost": 50}, headers=bearer(globex)).status_code == 403


def test_server_default_from_the_environment(make_client: Callable[..., TestClient]) -> None:
    client = make_client(HUNKWISE_MAX_COST="0.75")
    _org_resp = client.post("/api/orgs", json={"slug": "acme"}, headers=admin_headers()).json()
    assert _org_resp["cost_ceiling"] == {"usd": 0.75, "source": "server default"}
    with pytest.raises(ConfigurationError, match="HUNKWISE_MAX_COST = 'cheap' is not valid"):
        make_client(HUNKWISE_MAX_COST="cheap")  # the server refuses to start


def test_fixed_mode_only_the_admin_sets_it(make_client: Callable[..., TestClient], sim) -> None:
    client = make_client(HUNKWISE_MODEL="glm-5.1", ZAI_API_KEY=DEV_KEY, ZAI_BASE_URL=sim.base_url)
    token = _org(client, "acme")
    refused = client.patch("/api/orgs/acme", json={"max_cost": 100}, headers=bearer(token))
    assert refused.status_code == 409 and "only the administrator" in refused.json()["detail"]
    assert client.patch("/api/orgs/acme", json={"max_cost": 100}, headers=admin_headers()).status_code == 200


# --- a webhook job above the ceiling ----------------------------------------------------------
@pytest.fixture
def github() -> Iterator[ServedFake]:
    served = ServedFake(FakeGitHub())
    yield served
    served.close()


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


def wait_review(client: TestClient, job_id: int, deadline_s: float = 60) -> dict:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        got = client.get(f"/api/reviews/{job_id}", headers=admin_headers()).json()
        if got["status"] in ("done", "failed"):
            return got
        time.sleep(0.05)
    raise AssertionError(f"review {job_id} did not finish")


def test_a_job_above_the_org_ceiling_fails_for_good_before_any_request(
    make_client: Callable[..., TestClient], sim, github: ServedFake
) -> None:
    client = make_client(
        HUNKWISE_GITHUB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
        GITHUB_API_URL=github.url,
        HUNKWISE_GITHUB_TOKEN="ghp_webhook_test_token",
    )
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    assert client.put(f"/api/orgs/{ORG}/byok", json=byok, headers=admin_headers()).status_code == 200
    assert (
        client.patch(f"/api/orgs/{ORG}", json={"max_cost": 0.001}, headers=admin_headers()).status_code == 200
    )
    body = PAYLOAD.read_bytes().replace(b"https://api.github.com", github.url.encode())
    job_id = deliver(client, body, "d-1")
    review = wait_review(client, job_id)
    assert review["status"] == "failed" and review["attempts"] == 1  # permanent: not retried
    error = review["error"]
    assert "review not started: estimated cost $0.0" in error
    assert "is above this organization's ceiling of $0.0010 (organization setting); nothing was sent" in error
    assert f'PATCH /api/orgs/{ORG} {{"max_cost": 0.02}}' in error and "HUNKWISE_MAX_COST" in error
    assert sum(k["requests"] for k in sim.stats()["keys"].values()) == 0  # no model request at all
    assert review["reason"] == "review_ceiling"
    fake: FakeGitHub = github.fake  # type: ignore[assignment]
    [notice] = fake.posts  # one notice saying why; no clean-looking review on the pull request
    assert "review not run" in notice["body"] and "<!-- hunkwise:review:" not in notice["body"]
    dead = client.get("/api/jobs/dead", headers=admin_headers()).json()
    assert [d["id"] for d in dead] == [job_id] and dead[0]["reason"] == error
    assert dead[0]["reason_code"] == "review_ceiling"

    # Raised as the message says, the same job runs when retried.
    assert client.patch(f"/api/orgs/{ORG}", json={"max_cost": 1}, headers=admin_headers()).status_code == 200
    assert client.post(f"/api/jobs/{job_id}/retry", headers=admin_headers()).status_code == 200
    done = wait_review(client, job_id)
    assert done["status"] == "done", done["error"]
    assert len(fake.posts) == 2 and sim.key_stats(DEV_KEY)["ok"] == 1
    assert "<!-- hunkwise:review:" in fake.posts[1]["body"]


# --- the console field ---------------------------------------------------------------------------
def test_console_sets_the_ceiling_through_the_api_rules(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    token = create_org(client)
    sign_in(client, token)
    html = client.get("/console/models").text
    assert "Cost ceiling" in html and "$2.00 (server default)" in html
    csrf = page_csrf(client)
    assert client.post("/console/cost-ceiling", data={"max_cost": "7.5"}).status_code == 403  # no CSRF
    saved = client.post(
        "/console/cost-ceiling", data={"max_cost": "7.5", "csrf": csrf}, follow_redirects=False
    )
    assert saved.status_code == 303
    assert client.get("/api/orgs/acme", headers=bearer(token)).json()["max_cost"] == 7.5
    assert "$7.50 (organization setting)" in client.get("/console/models").text
    bad = client.post("/console/cost-ceiling", data={"max_cost": "0", "csrf": csrf})
    assert bad.status_code == 422 and "write &#34;off&#34; to disable the ceiling" in bad.text
    assert client.get("/api/orgs/acme", headers=bearer(token)).json()["max_cost"] == 7.5  # unchanged
    client.post("/console/cost-ceiling", data={"max_cost": "", "csrf": csrf})  # empty: the server default
    assert client.get("/api/orgs/acme", headers=bearer(token)).json()["max_cost"] is None
