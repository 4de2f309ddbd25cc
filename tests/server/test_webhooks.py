"""The webhook routes through the real app (embedded workers on), the simulator as the BYOK
model over loopback HTTP, and a fake GitHub/GitLab served over loopback HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers

from hunkwise.platforms.github_webhooks import sign
from platform_fakes import FakeGitHub, FakeGitLab, ServedFake
from simkeys import DEV_KEY

SECRET = "webhook-secret-for-tests"
DATA = Path(__file__).parents[1] / "data" / "github-webhooks"


def load(name: str, api_url: str | None = None) -> bytes:
    """A fixture payload; ``api_url``: retarget its API urls (the fake's), as a GitHub Enterprise
    at that root would send them: the server refuses a delivery from another API host."""
    body = (DATA / name).read_bytes()
    return body.replace(b"https://api.github.com", api_url.encode()) if api_url else body


def deliver(
    client: TestClient, body: bytes, event: str = "pull_request", delivery: str = "d-1", secret: str = SECRET
) -> object:
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(secret, body),
        "Content-Type": "application/json",
    }
    return client.post("/webhooks/github", content=body, headers=headers)


@pytest.fixture
def github() -> Iterator[ServedFake]:
    served = ServedFake(FakeGitHub())
    yield served
    served.close()


@pytest.fixture
def server(make_client: Callable[..., TestClient], sim, github: ServedFake) -> TestClient:
    client = make_client(
        HUNKWISE_GITHUB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_GITLAB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
        GITHUB_API_URL=github.url,
        HUNKWISE_GITHUB_TOKEN="ghp_webhook_test_token",
    )
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    assert client.put("/api/orgs/codertocat/byok", json=byok, headers=admin_headers()).status_code == 200
    return client


def wait_review(client: TestClient, job_id: int, deadline_s: float = 60) -> dict:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        got = client.get(f"/api/reviews/{job_id}", headers=admin_headers()).json()
        if got["status"] in ("done", "failed"):
            return got
        time.sleep(0.05)
    raise AssertionError(f"review {job_id} did not finish")


def jobs(client: TestClient) -> list[dict]:
    return client.get("/api/reviews", headers=admin_headers()).json()


def test_signed_opened_event_is_reviewed_and_posted_once(server: TestClient, github: ServedFake) -> None:
    body = load("pull_request.opened.payload.json", github.url)
    resp = deliver(server, body)
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["job_id"]
    review = wait_review(server, job_id)
    assert review["status"] == "done", review["error"]
    assert review["repository"] == "Codertocat/Hello-World" and review["number"] == 2
    assert len(review["findings"]) == 4 and review["by_severity"]["critical"] == 1
    assert review["usage"]["calls"] >= 1 and review["attempts"] == 1 and review["failovers"] == 0
    assert review["posted"]["posted"] is True
    fake: FakeGitHub = github.fake  # type: ignore[assignment]
    assert len(fake.posts) == 1
    assert fake.posts[0]["commit_id"] == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert fake.requests[0].headers["authorization"] == "Bearer ghp_webhook_test_token"
    # the same delivery again, and a re-delivery under a new id: no new job, no new review
    again = deliver(server, body)
    other = deliver(server, body, delivery="d-2")
    assert again.status_code == other.status_code == 202
    assert again.json() == {"status": "queued", "job_id": job_id, "duplicate": True, "requeued": False}
    assert other.json()["job_id"] == job_id
    assert len(jobs(server)) == 1 and len(fake.posts) == 1


def test_foreign_api_host_400_or_owner_422_stores_nothing(server: TestClient, github: ServedFake) -> None:
    """A signed delivery cannot send the server's token elsewhere nor bill another org's BYOK."""
    # as signed by anyone holding the shared secret: pull_request.url on the attacker's host
    body = load("pull_request.opened.payload.json")  # api.github.com, not the configured fake
    resp = deliver(server, body)
    assert resp.status_code == 400 and "configured GitHub API host" in resp.json()["detail"]
    evil = json.loads(load("pull_request.opened.payload.json", github.url))
    evil["pull_request"]["url"] = "https://evil.example/repos/Codertocat/Hello-World/pulls/2"
    resp = deliver(server, json.dumps(evil).encode(), delivery="d-2")
    assert resp.status_code == 400 and "evil.example" in resp.json()["detail"]
    # repository in a tenant without BYOK, owner.login naming the org that has one (codertocat)
    victim = json.loads(load("pull_request.opened.payload.json", github.url))
    victim["repository"]["full_name"] = "attacker/Hello-World"
    resp = deliver(server, json.dumps(victim).encode(), delivery="d-3")
    assert resp.status_code == 422, resp.text
    [error] = resp.json()["detail"]
    assert error["loc"] == ["body", "repository", "full_name"] and "owner.login" in error["msg"]
    assert jobs(server) == []
    fake: FakeGitHub = github.fake  # type: ignore[assignment]
    assert fake.requests == [] and fake.posts == []


def test_bad_signature_is_401_and_stores_nothing(server: TestClient) -> None:
    body = load("pull_request.opened.payload.json")
    assert deliver(server, body, secret="wrong").status_code == 401
    resp = server.post("/webhooks/github", content=body, headers={"X-GitHub-Event": "pull_request"})
    assert resp.status_code == 401 and "X-Hub-Signature-256" in resp.json()["detail"]
    assert jobs(server) == []


def test_unconfigured_secret_refuses_everything(make_client: Callable[..., TestClient]) -> None:
    client = make_client(HUNKWISE_JOB_WORKERS="0")
    body = load("ping.payload.json")
    assert deliver(client, body, event="ping", secret="").status_code == 401


def test_ping_draft_ignored_events_and_unknown_org(server: TestClient, github: ServedFake) -> None:
    ping = deliver(server, load("ping.payload.json"), event="ping")
    assert ping.status_code == 200 and ping.json()["status"] == "pong"
    draft = json.loads(load("pull_request.opened.payload.json", github.url))
    draft["pull_request"]["draft"] = True
    resp = deliver(server, json.dumps(draft).encode())
    assert resp.status_code == 202 and "draft" in resp.json()["reason"]
    assert deliver(server, load("pull_request.closed.payload.json")).json()["status"] == "ignored"
    assert deliver(server, b"{}", event="push").status_code == 202
    stranger = json.loads(load("pull_request.opened.payload.json", github.url))
    stranger["repository"]["owner"]["login"] = "SomeoneElse"
    stranger["repository"]["full_name"] = "SomeoneElse/Hello-World"
    resp = deliver(server, json.dumps(stranger).encode())
    assert resp.status_code == 202 and "no model configuration" in resp.json()["reason"]
    assert jobs(server) == []


def test_bad_bodies(make_client: Callable[..., TestClient]) -> None:
    client = make_client(HUNKWISE_GITHUB_WEBHOOK_SECRET=SECRET, HUNKWISE_JOB_WORKERS="0")
    bad = deliver(client, b"{not json")
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["detail"]
    missing = json.loads(load("pull_request.opened.payload.json"))
    del missing["pull_request"]["head"]
    resp = deliver(client, json.dumps(missing).encode())
    assert resp.status_code == 400 and "pull_request.head" in resp.json()["detail"]
    assert jobs(client) == []
    small = make_client(
        HUNKWISE_GITHUB_WEBHOOK_SECRET=SECRET, HUNKWISE_MAX_BODY_BYTES="2048", HUNKWISE_JOB_WORKERS="0"
    )
    big = deliver(small, load("pull_request.opened.payload.json"))  # ~20 KB
    assert big.status_code == 413
    assert jobs(small) == []


def test_reviews_api_tenancy_and_filters(make_client: Callable[..., TestClient]) -> None:
    client = make_client(
        HUNKWISE_GITHUB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_JOB_WORKERS="0",
        HUNKWISE_MODEL="glm-5.1",
        ZAI_API_KEY=DEV_KEY,
    )
    tokens = {}
    for slug in ("codertocat", "octocoders"):
        tokens[slug] = client.post("/api/orgs", json={"slug": slug}, headers=admin_headers()).json()["token"]
    first = deliver(client, load("pull_request.opened.payload.json")).json()["job_id"]
    other = json.loads(load("pull_request.opened.payload.json"))
    other["repository"]["owner"]["login"] = "Octocoders"
    other["repository"]["full_name"] = "Octocoders/Hello-World"
    second = deliver(client, json.dumps(other).encode(), delivery="d-9").json()["job_id"]
    assert [j["id"] for j in jobs(client)] == [second, first], "newest first"
    mine = client.get("/api/reviews", headers={"Authorization": f"Bearer {tokens['codertocat']}"}).json()
    assert [j["id"] for j in mine] == [first] and mine[0]["status"] == "queued"
    assert (
        client.get(
            f"/api/reviews/{second}", headers={"Authorization": f"Bearer {tokens['codertocat']}"}
        ).status_code
        == 404
    )
    assert (
        client.get(
            "/api/reviews?org=octocoders", headers={"Authorization": f"Bearer {tokens['codertocat']}"}
        ).status_code
        == 403
    )
    assert client.get("/api/reviews?status=done", headers=admin_headers()).json() == []
    assert client.get("/api/reviews?status=bogus", headers=admin_headers()).status_code == 422
    assert client.get("/api/reviews/99999", headers=admin_headers()).status_code == 404
    assert client.get("/api/reviews").status_code == 401


@pytest.fixture
def gitlab() -> Iterator[ServedFake]:
    served = ServedFake(FakeGitLab())
    yield served
    served.close()


def test_gitlab_webhook(make_client: Callable[..., TestClient], gitlab: ServedFake) -> None:
    client = make_client(
        HUNKWISE_GITLAB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_GITLAB_API_URL=f"{gitlab.url}/api/v4",
        HUNKWISE_GITLAB_TOKEN="glpat_webhook_test_token",
        HUNKWISE_JOB_WORKERS="0",
        HUNKWISE_MODEL="glm-5.1",
        ZAI_API_KEY=DEV_KEY,
    )
    event = {
        "object_kind": "merge_request",
        "project": {
            "id": 42,
            "path_with_namespace": "acme/api",
            "web_url": f"{gitlab.url}/acme/api",
        },
        "object_attributes": {"iid": 3, "action": "open", "last_commit": {"id": "f" * 40}, "draft": False},
    }
    body = json.dumps(event).encode()
    headers = {"X-Gitlab-Event": "Merge Request Hook", "Content-Type": "application/json"}
    assert client.post("/webhooks/gitlab", content=body, headers=headers).status_code == 401
    assert (
        client.post(
            "/webhooks/gitlab", content=body, headers=headers | {"X-Gitlab-Token": "nope"}
        ).status_code
        == 401
    )
    ok = client.post("/webhooks/gitlab", content=body, headers=headers | {"X-Gitlab-Token": SECRET})
    assert ok.status_code == 202 and ok.json()["duplicate"] is False
    got = client.get(f"/api/reviews/{ok.json()['job_id']}", headers=admin_headers()).json()
    assert got["platform"] == "gitlab" and got["repository"] == "acme/api" and got["number"] == 3
    update = json.loads(body) | {"object_attributes": event["object_attributes"] | {"action": "update"}}
    resp = client.post(
        "/webhooks/gitlab", content=json.dumps(update).encode(), headers=headers | {"X-Gitlab-Token": SECRET}
    )
    assert resp.json()["status"] == "ignored" and "without new commits" in resp.json()["reason"]
    # a signed delivery naming another GitLab host is refused: the token goes to the configured one
    foreign = json.loads(body)
    foreign["project"]["web_url"] = "https://evil.example/acme/api"
    foreign["object_attributes"]["last_commit"] = {"id": "e" * 40}
    resp = client.post(
        "/webhooks/gitlab", content=json.dumps(foreign).encode(), headers=headers | {"X-Gitlab-Token": SECRET}
    )
    assert resp.status_code == 400 and "configured GitLab host" in resp.json()["detail"]
    assert len(jobs(client)) == 1
