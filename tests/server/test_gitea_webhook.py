"""``POST /webhooks/gitea`` through the real app (embedded workers on), the simulator as the BYOK
model over loopback HTTP, and the fake Gitea served over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers
from test_webhooks import jobs, wait_review

from gitea_fake import HEAD, TOKEN, FakeGitea
from hunkwise.platforms.gitea_webhooks import sign
from platform_fakes import ServedFake
from simkeys import DEV_KEY

SECRET = "gitea-webhook-secret-for-tests"
DATA = Path(__file__).parents[1] / "data" / "gitea"


def load(name: str, url: str) -> dict[str, Any]:
    """A fixture delivery, its head the fake's and its URLs on the served fake (the configured instance)."""
    text = (DATA / f"pull_request.{name}.json").read_text().replace("https://gitea.example.com", url)
    data = json.loads(text)
    data["pull_request"]["head"]["sha"] = HEAD
    return data


def deliver(
    client: TestClient,
    payload: dict[str, Any] | bytes,
    *,
    delivery: str = "d-1",
    secret: str | None = SECRET,
    event: str = "pull_request",
    forgejo: bool = False,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    who = "Forgejo" if forgejo else "Gitea"
    headers = {f"X-{who}-Event": event, f"X-{who}-Delivery": delivery, "Content-Type": "application/json"}
    if secret is not None:
        headers[f"X-{who}-Signature"] = sign(secret, body)
    return client.post("/webhooks/gitea", content=body, headers=headers)


@pytest.fixture
def gitea() -> Iterator[ServedFake]:
    served = ServedFake(FakeGitea())  # type: ignore[arg-type]
    yield served
    served.close()


@pytest.fixture
def server(make_client: Callable[..., TestClient], sim, gitea: ServedFake) -> TestClient:
    client = make_client(
        HUNKWISE_GITEA_WEBHOOK_SECRET=SECRET,
        HUNKWISE_GITEA_URL=gitea.url,
        HUNKWISE_GITEA_TOKEN=TOKEN,
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
    )
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    assert client.put("/api/orgs/acme/byok", json=byok, headers=admin_headers()).status_code == 200
    return client


def test_unsigned_or_badly_signed_deliveries_are_401_and_store_nothing(
    server: TestClient, gitea: ServedFake
) -> None:
    opened = load("opened", gitea.url)
    for response in (
        deliver(server, opened, secret=None),
        deliver(server, opened, secret="wrong"),
        deliver(server, opened, secret="wrong", forgejo=True),
    ):
        assert response.status_code == 401 and "X-Gitea-Signature" in response.json()["detail"]
    assert jobs(server) == [] and gitea.fake.requests == []  # type: ignore[attr-defined]


def test_a_server_without_the_secret_refuses_every_delivery(make_client: Callable[..., TestClient]) -> None:
    client = make_client(HUNKWISE_GITEA_URL="https://gitea.example.com", HUNKWISE_JOB_WORKERS="0")
    body = (DATA / "pull_request.opened.json").read_bytes()
    assert deliver(client, body, secret="").status_code == 401
    assert jobs(client) == []


def test_bad_identities_422_foreign_hosts_400_and_ignored_deliveries_202(
    server: TestClient, gitea: ServedFake
) -> None:
    evil = load("opened", gitea.url)
    evil["repository"]["full_name"] = "acme/../../repos/beta/secret"
    resp = deliver(server, evil)
    assert resp.status_code == 422, resp.text
    [error] = resp.json()["detail"]
    assert error["loc"] == ["body", "repository", "full_name"] and "not a Gitea repository" in error["msg"]
    foreign = load("opened", "https://evil.example")
    resp = deliver(server, foreign, delivery="d-2")
    assert resp.status_code == 400 and "configured Gitea instance" in resp.json()["detail"]
    assert deliver(server, b"{nope", delivery="d-3").status_code == 400
    for name, reason in (("closed", "closed"), ("opened_wip", "draft")):
        resp = deliver(server, load(name, gitea.url), delivery=f"d-{name}")
        assert (
            resp.status_code == 202 and resp.json()["status"] == "ignored" and reason in resp.json()["reason"]
        )
    assert deliver(server, {"ref": "refs/heads/main"}, event="push").json()["status"] == "ignored"
    stranger = load("opened", gitea.url)
    stranger["repository"]["full_name"] = "someone/api"
    stranger["repository"]["owner"]["login"] = "someone"
    resp = deliver(server, stranger, delivery="d-4")
    assert resp.status_code == 202 and "no model configuration" in resp.json()["reason"]
    assert jobs(server) == [] and gitea.fake.requests == []  # type: ignore[attr-defined]


def test_a_signed_pull_request_is_reviewed_once_per_head(server: TestClient, gitea: ServedFake) -> None:
    opened = load("opened", gitea.url)
    resp = deliver(server, opened)
    assert resp.status_code == 202 and resp.json()["duplicate"] is False, resp.text
    job_id = resp.json()["job_id"]
    review = wait_review(server, job_id)
    assert review["status"] == "done", review["error"]
    assert review["platform"] == "gitea" and review["repository"] == "acme/api" and review["number"] == 7
    assert review["posted"]["posted"] is True and review["posted"]["inline"] == 4
    fake: FakeGitea = gitea.fake  # type: ignore[assignment]
    assert len(fake.submitted()) == 4 and len(fake.issue_comments) == 1
    states = [state for state, _ in fake.status_history()]
    assert states[0] == "pending" and states[-1] == "success"
    assert all(r.headers["authorization"] == f"token {TOKEN}" for r in fake.requests)
    # the same delivery again, a re-delivery under a new id, and Forgejo's headers: the same job
    for again in (deliver(server, opened), deliver(server, opened, delivery="d-2", forgejo=True)):
        assert (
            again.status_code == 202
            and again.json()["job_id"] == job_id
            and again.json()["duplicate"] is True
        )
    assert len(jobs(server)) == 1 and len(fake.submitted()) == 4


def test_a_signed_delivery_to_a_server_without_an_instance_says_what_to_set(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(HUNKWISE_GITEA_WEBHOOK_SECRET=SECRET, HUNKWISE_JOB_WORKERS="0")
    resp = deliver(client, (DATA / "pull_request.opened.json").read_bytes())
    assert resp.status_code == 400 and "HUNKWISE_GITEA_URL" in resp.json()["detail"]
    assert jobs(client) == []
