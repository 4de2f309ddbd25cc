"""Webhook identities are untrusted input (issue 11, item 1): signed deliveries whose repository,
commit or GitLab project point outside the sender's own repository are refused with 422 naming the
field, store nothing, and send no request anywhere. Through the real app with embedded workers,
the simulator as the BYOK model, fake GitHub/GitLab APIs over loopback HTTP."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers

from hunkwise.platforms.github_webhooks import sign
from platform_fakes import FakeGitHub, FakeGitLab, ServedFake
from simkeys import DEV_KEY

SECRET = "webhook-secret-for-identity-tests"
OPENED = Path(__file__).parents[1] / "data" / "github-webhooks" / "pull_request.opened.payload.json"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # the fixture's pull_request.head.sha


@pytest.fixture
def github() -> Iterator[ServedFake]:
    served = ServedFake(FakeGitHub())
    yield served
    served.close()


@pytest.fixture
def gitlab() -> Iterator[ServedFake]:
    # 42 is codertocat's own project; 999 is another tenant's, which the server's token can see
    served = ServedFake(FakeGitLab(projects={42: "codertocat/api", 999: "beta/secret-repo"}))
    yield served
    served.close()


@pytest.fixture
def server(make_client: Callable[..., TestClient], sim, github: ServedFake, gitlab: ServedFake) -> TestClient:
    client = make_client(
        HUNKWISE_GITHUB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_GITLAB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
        GITHUB_API_URL=github.url,
        HUNKWISE_GITHUB_TOKEN="ghp_identity_test_token",
        HUNKWISE_GITLAB_API_URL=f"{gitlab.url}/api/v4",
        HUNKWISE_GITLAB_TOKEN="glpat_identity_test_token",
    )
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    assert client.put("/api/orgs/codertocat/byok", json=byok, headers=admin_headers()).status_code == 200
    return client


def opened(github: ServedFake) -> dict[str, Any]:
    return json.loads(OPENED.read_bytes().replace(b"https://api.github.com", github.url.encode()))


def deliver_github(client: TestClient, payload: dict[str, Any], delivery: str = "d-1") -> Any:
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(SECRET, body),
        "Content-Type": "application/json",
    }
    return client.post("/webhooks/github", content=body, headers=headers)


def mr_event(gitlab: ServedFake, project_id: int, path: str, head: str = "f" * 40) -> dict[str, Any]:
    return {
        "object_kind": "merge_request",
        "project": {"id": project_id, "path_with_namespace": path, "web_url": f"{gitlab.url}/{path}"},
        "object_attributes": {"iid": 3, "action": "open", "last_commit": {"id": head}, "draft": False},
    }


def deliver_gitlab(client: TestClient, payload: dict[str, Any]) -> Any:
    headers = {"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": SECRET}
    return client.post("/webhooks/gitlab", content=json.dumps(payload).encode(), headers=headers)


def refused(resp: Any, *loc: str) -> str:
    """The 422's message, after checking it names exactly the field ``loc``."""
    assert resp.status_code == 422, resp.text
    [error] = resp.json()["detail"]
    assert error["loc"] == ["body", *loc], error
    return str(error["msg"])


def jobs(client: TestClient) -> list[dict[str, Any]]:
    return client.get("/api/reviews", headers=admin_headers()).json()


def wait_review(client: TestClient, job_id: int, deadline_s: float = 60) -> dict[str, Any]:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        got = client.get(f"/api/reviews/{job_id}", headers=admin_headers()).json()
        if got["status"] in ("done", "failed"):
            return got
        time.sleep(0.05)
    raise AssertionError(f"review {job_id} did not finish")


# -- GitHub: the repository ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("login", "name", "full_name", "field"),
    [
        # the payload: accepted (202) on main, the server then read and posted on beta's repo
        ("Codertocat", "Hello-World", "Codertocat/../../repos/beta/secret-repo", ("repository", "full_name")),
        # full_name agreeing with its parts does not make a traversal acceptable
        (
            "Codertocat",
            "../../repos/beta/secret-repo",
            "Codertocat/../../repos/beta/secret-repo",
            ("repository", "name"),
        ),
        ("Codertocat", "%2e%2e", "Codertocat/%2e%2e", ("repository", "name")),
        ("Codertocat", "..", "Codertocat/..", ("repository", "name")),
        ("Codertocat", "Hello-World", "Codertocat/Hello-World/../../beta/x", ("repository", "full_name")),
        ("Codertocat%2F..", "Hello-World", "Codertocat%2F../Hello-World", ("repository", "owner", "login")),
        ("Codertocat", "Hello\\..\\World", "Codertocat/Hello\\..\\World", ("repository", "name")),
    ],
)
def test_github_repository_outside_the_owner_is_422_and_reaches_no_api(
    server: TestClient, github: ServedFake, login: str, name: str, full_name: str, field: tuple[str, ...]
) -> None:
    payload = opened(github)
    payload["repository"].update(name=name, full_name=full_name)
    payload["repository"]["owner"]["login"] = login
    message = refused(deliver_github(server, payload), *field)
    assert ".".join(field) in message
    assert jobs(server) == []
    fake: FakeGitHub = github.fake  # type: ignore[assignment]
    assert fake.requests == [], "nothing was read or posted anywhere, /repos/beta/... least of all"


# -- GitHub: the commits -------------------------------------------------------------------------
def test_github_head_sha_traversal_is_422_and_no_second_review(
    server: TestClient, github: ServedFake
) -> None:
    fake: FakeGitHub = github.fake  # type: ignore[assignment]
    first = deliver_github(server, opened(github))
    assert first.status_code == 202, first.text
    assert wait_review(server, first.json()["job_id"])["status"] == "done"
    assert len(fake.posts) == 1 and fake.posts[0]["commit_id"] == HEAD
    # the payload: a new dedupe key on main, so a second review was posted on it
    evil = opened(github)
    evil["pull_request"]["head"]["sha"] = "../../../etc/passwd"
    message = refused(deliver_github(server, evil, delivery="d-2"), "pull_request", "head", "sha")
    assert "'../../../etc/passwd'" in message and "hexadecimal" in message
    assert len(jobs(server)) == 1 and len(fake.posts) == 1


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("pull_request", "base", "sha"), "../../../etc/passwd"),
        (("pull_request", "head", "sha"), HEAD[:39] + "g"),
        (("pull_request", "head", "sha"), HEAD + "\n"),
        (("pull_request", "head", "sha"), HEAD[:20]),
        (("before",), "HEAD~1"),
        (("number",), -2),
        (("number",), True),
    ],
)
def test_github_commits_and_number_must_be_what_they_say(
    server: TestClient, github: ServedFake, where: tuple[str, ...], value: object
) -> None:
    payload = opened(github)
    target = payload
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    refused(deliver_github(server, payload), *where)
    assert jobs(server) == []
    assert github.fake.requests == []  # type: ignore[attr-defined]


def test_a_huge_refused_value_is_logged_once_and_cut_short(
    server: TestClient, github: ServedFake, caplog: pytest.LogCaptureFixture
) -> None:
    payload = opened(github)
    payload["repository"]["full_name"] = "Codertocat/" + "../" * 100_000
    with caplog.at_level(logging.INFO, logger="hunkwise.webhooks"):
        message = refused(deliver_github(server, payload), "repository", "full_name")
    records = [r for r in caplog.records if r.name == "hunkwise.webhooks"]
    assert len(records) == 1 and "refused" in records[0].getMessage()
    assert len(records[0].getMessage()) < 600 and len(message) < 400
    assert "300011 characters" in message


def test_unknown_org_with_valid_identity_is_still_202_ignored(server: TestClient, github: ServedFake) -> None:
    payload = opened(github)
    payload["repository"]["owner"]["login"] = "Stranger"
    payload["repository"]["full_name"] = "Stranger/Hello-World"
    resp = deliver_github(server, payload)
    assert resp.status_code == 202 and "no model configuration" in resp.json()["reason"]
    assert jobs(server) == [] and github.fake.requests == []  # type: ignore[attr-defined]


# -- GitLab: the project ---------------------------------------------------------------------------
def test_gitlab_project_id_of_another_tenant_is_422_and_no_mr_is_fetched(
    server: TestClient, gitlab: ServedFake
) -> None:
    fake: FakeGitLab = gitlab.fake  # type: ignore[assignment]
    # the issue's payload: on main project 999's merge request was fetched under org codertocat
    message = refused(deliver_gitlab(server, mr_event(gitlab, 999, "codertocat/anything")), "project", "id")
    assert "codertocat/anything" in message and "beta" not in message, "never says what 999 really is"
    unseen = refused(deliver_gitlab(server, mr_event(gitlab, 12345, "codertocat/anything")), "project", "id")
    assert "can see" in unseen
    assert jobs(server) == []
    assert fake.merge_request_reads(999) == [] and fake.merge_request_reads(12345) == []
    assert [r.url.path for r in fake.requests] == ["/api/v4/projects/999", "/api/v4/projects/12345"]
    assert all(r.headers["private-token"] == "glpat_identity_test_token" for r in fake.requests)


def test_gitlab_own_project_is_verified_then_reviewed(server: TestClient, gitlab: ServedFake) -> None:
    fake: FakeGitLab = gitlab.fake  # type: ignore[assignment]
    resp = deliver_gitlab(server, mr_event(gitlab, 42, "codertocat/api"))
    assert resp.status_code == 202, resp.text
    review = wait_review(server, resp.json()["job_id"])
    assert review["status"] == "done", review["error"]
    assert review["posted"]["posted"] is True
    paths = [r.url.path for r in fake.requests]
    first_read = next(i for i, p in enumerate(paths) if "/merge_requests/" in p)
    # once at delivery, once more by the job before it reads anything
    assert paths[:first_read].count("/api/v4/projects/42") == 2
    assert all("/projects/42/" in p or p in ("/api/v4/projects/42", "/api/v4/user") for p in paths)


def test_gitlab_unverifiable_at_delivery_is_queued_and_the_job_refuses(
    server: TestClient, gitlab: ServedFake
) -> None:
    """GitLab down at delivery: the delivery is queued rather than lost, and the job asks again
    before it reads anything, so the mismatch is still caught."""
    fake: FakeGitLab = gitlab.fake  # type: ignore[assignment]
    fake.fail_projects = [503]
    resp = deliver_gitlab(server, mr_event(gitlab, 999, "codertocat/anything"))
    assert resp.status_code == 202 and resp.json()["status"] == "queued", resp.text
    review = wait_review(server, resp.json()["job_id"])
    assert review["status"] == "failed" and review["attempts"] == 1
    assert "project.id 999 is not project 'codertocat/anything'" in review["error"]
    assert "beta" not in review["error"]
    assert fake.merge_request_reads(999) == []
    assert [r.url.path for r in fake.requests] == ["/api/v4/projects/999"] * 2


@pytest.mark.parametrize(
    ("project", "field"),
    [
        (
            {"id": 42, "path_with_namespace": "codertocat/../beta/secret-repo"},
            ("project", "path_with_namespace"),
        ),
        ({"id": 42, "path_with_namespace": "codertocat%2F..%2Fbeta"}, ("project", "path_with_namespace")),
        ({"id": 42, "path_with_namespace": "codertocat/api.git"}, ("project", "path_with_namespace")),
        ({"id": "42/../999", "path_with_namespace": "codertocat/api"}, ("project", "id")),
        ({"id": 0, "path_with_namespace": "codertocat/api"}, ("project", "id")),
    ],
)
def test_gitlab_bad_project_fields_are_422_and_ask_gitlab_nothing(
    server: TestClient, gitlab: ServedFake, project: dict[str, Any], field: tuple[str, ...]
) -> None:
    payload = mr_event(gitlab, 42, "codertocat/api")
    payload["project"].update(project)
    refused(deliver_gitlab(server, payload), *field)
    assert jobs(server) == [] and gitlab.fake.requests == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("attrs", "field"),
    [
        ({"iid": "3/../../999"}, ("object_attributes", "iid")),
        ({"last_commit": {"id": "../../../etc/passwd"}}, ("object_attributes", "last_commit", "id")),
        ({"action": "update", "oldrev": "../x"}, ("object_attributes", "oldrev")),
    ],
)
def test_gitlab_iid_and_commits_are_validated(
    server: TestClient, gitlab: ServedFake, attrs: dict[str, Any], field: tuple[str, ...]
) -> None:
    payload = mr_event(gitlab, 42, "codertocat/api")
    payload["object_attributes"].update(attrs)
    refused(deliver_gitlab(server, payload), *field)
    assert jobs(server) == [] and gitlab.fake.requests == []  # type: ignore[attr-defined]


def test_gitlab_unknown_org_is_still_202_and_asks_gitlab_nothing(
    server: TestClient, gitlab: ServedFake
) -> None:
    resp = deliver_gitlab(server, mr_event(gitlab, 999, "beta/secret-repo"))
    assert resp.status_code == 202 and "no model configuration" in resp.json()["reason"]
    assert jobs(server) == [] and gitlab.fake.requests == []  # type: ignore[attr-defined]
