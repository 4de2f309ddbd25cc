"""``POST /webhooks/azure-devops`` through the real app (embedded workers on), the simulator as the
organization's BYOK model, and the Azure DevOps fake served over loopback HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers
from test_webhooks import jobs, wait_review

from azure_devops_fake import HEAD_SHA, PAT, FakeAzureDevOps
from platform_fakes import SAMPLE, ServedFake
from simkeys import DEV_KEY

PASSWORD = "service-hook-password"
DATA = Path(__file__).parents[1] / "data" / "azure-devops"


def auth(password: str = PASSWORD, user: str = "azure") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def load(name: str, root: str) -> dict:
    """A documented delivery, retargeted at the served fake's organization root."""
    text = (DATA / name).read_text().replace("https://dev.azure.com/fabrikam", root)
    return json.loads(text)


@pytest.fixture
def azure() -> Iterator[ServedFake]:
    served = ServedFake(FakeAzureDevOps.with_diff(SAMPLE))  # type: ignore[arg-type]
    yield served
    served.close()


@pytest.fixture
def server(make_client: Callable[..., TestClient], sim, azure: ServedFake) -> TestClient:
    client = make_client(
        HUNKWISE_AZURE_DEVOPS_WEBHOOK_PASSWORD=PASSWORD,
        HUNKWISE_AZURE_DEVOPS_URL=f"{azure.url}/fabrikam",
        HUNKWISE_AZURE_DEVOPS_TOKEN=PAT,
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
    )
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    assert client.put("/api/orgs/fabrikam/byok", json=byok, headers=admin_headers()).status_code == 200
    return client


def post(client: TestClient, payload: dict, headers: dict[str, str] | None = None):
    return client.post(
        "/webhooks/azure-devops",
        content=json.dumps(payload).encode(),
        headers=auth() if headers is None else headers,
    )


def test_missing_or_wrong_credentials_are_401_and_store_nothing(
    server: TestClient, azure: ServedFake
) -> None:
    payload = load("git.pullrequest.created.json", f"{azure.url}/fabrikam")
    for headers in (
        {"Content-Type": "application/json"},
        auth("wrong"),
        {"Authorization": "Bearer " + PASSWORD},
    ):
        resp = post(server, payload, headers)
        assert resp.status_code == 401 and resp.headers["www-authenticate"].startswith("Basic")
    assert jobs(server) == [] and azure.fake.requests == []


def test_an_unconfigured_server_accepts_no_delivery(
    make_client: Callable[..., TestClient], azure: ServedFake
) -> None:
    client = make_client(HUNKWISE_AZURE_DEVOPS_URL=f"{azure.url}/fabrikam")  # no password
    resp = post(client, load("git.pullrequest.created.json", f"{azure.url}/fabrikam"), auth(""))
    assert resp.status_code == 401
    client = make_client(HUNKWISE_AZURE_DEVOPS_WEBHOOK_PASSWORD=PASSWORD)  # no organization root
    resp = post(client, load("git.pullrequest.created.json", f"{azure.url}/fabrikam"))
    assert resp.status_code == 400 and "HUNKWISE_AZURE_DEVOPS_URL" in resp.json()["detail"]
    assert jobs(client) == []


def test_bad_identities_422_foreign_hosts_400_other_events_202(server: TestClient, azure: ServedFake) -> None:
    root = f"{azure.url}/fabrikam"
    bad = load("git.pullrequest.created.json", root)
    bad["resource"]["repository"]["name"] = "api/../../other"
    resp = post(server, bad)
    assert resp.status_code == 422
    [error] = resp.json()["detail"]
    assert error["loc"] == ["body", "resource", "repository", "name"]
    foreign = load("git.pullrequest.created.json", "https://dev.azure.com/contoso")
    resp = post(server, foreign)
    assert resp.status_code == 400 and "configured Azure DevOps organization" in resp.json()["detail"]
    spaced = load("git.pullrequest.created.json", root)
    spaced["resource"]["repository"]["project"]["name"] = "Fabrikam Fiber"
    resp = post(server, spaced)
    assert resp.status_code == 202 and "cannot name a hunkwise organization" in resp.json()["reason"]
    push = {"eventType": "git.push", "resource": {}}
    resp = post(server, push)
    assert resp.status_code == 202 and resp.json() == {
        "status": "ignored",
        "reason": "event 'git.push' is not reviewed",
    }
    assert jobs(server) == [] and azure.fake.requests == []


def test_a_created_pull_request_is_reviewed_once_and_a_vote_update_is_ignored(
    server: TestClient, azure: ServedFake
) -> None:
    root = f"{azure.url}/fabrikam"
    created = load("git.pullrequest.created.json", root)
    resp = post(server, created)
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["job_id"]
    review = wait_review(server, job_id)
    assert review["status"] == "done", review["error"]
    assert review["platform"] == "azure_devops" and review["repository"] == "Fabrikam/api"
    assert review["number"] == 7 and review["head_sha"] == HEAD_SHA
    fake: FakeAzureDevOps = azure.fake  # type: ignore[assignment]
    assert len(fake.inline_threads()) == 4 and len(fake.summary_threads()) == 1
    assert "### Coverage" in fake.summary_threads()[0]["comments"][0]["content"]
    assert fake.status_history()[0] == "pending" and fake.status_history()[-1] == "succeeded"
    # the same delivery again: the same job
    again = post(server, created)
    assert again.json() == {"status": "queued", "job_id": job_id, "duplicate": True, "requeued": False}
    # an update with the same source commit (a vote): ignored, no job
    vote = load("git.pullrequest.updated.json", root)
    resp = post(server, vote)
    assert resp.status_code == 202 and resp.json()["status"] == "ignored"
    assert "already has review job" in resp.json()["reason"]
    assert len(jobs(server)) == 1 and len(fake.threads) == 5
    # a push: a new source commit is reviewed, the summary edited in place
    fake.push("e" * 40, dict(fake.commits[HEAD_SHA]))
    pushed = load("git.pullrequest.updated.json", root)
    pushed["resource"]["lastMergeSourceCommit"]["commitId"] = "e" * 40
    resp = post(server, pushed)
    assert resp.status_code == 202 and resp.json()["duplicate"] is False
    assert wait_review(server, resp.json()["job_id"])["status"] == "done"
    assert len(fake.summary_threads()) == 1 and len(fake.inline_threads()) == 4
    assert "eeeeeeeeeeee" in fake.summary_threads()[0]["comments"][0]["content"]
