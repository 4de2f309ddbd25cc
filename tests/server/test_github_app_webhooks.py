"""GitHub App mode through the real app: ``installation`` and ``installation_repositories``
deliveries keep the installations in the store, a pull request of an unknown or suspended
installation, of a disabled repository or of another account is acknowledged and not queued,
the organization's API and console turn repositories off and on, and a review runs with the
installation's token (the fake GitHub verifies the App's JWT with its public key and accepts
nothing but the tokens it issued). Payloads: octokit/webhooks examples (tests/data/github-webhooks)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers
from webkit import create_org, page_csrf, sign_in

from hunkwise.platforms.github_webhooks import sign
from platform_fakes import FakeGitHub, FakeGitHubApp, ServedFake, rsa_key_pair
from simkeys import DEV_KEY

SECRET = "webhook-secret-for-app-tests"
DATA = Path(__file__).parents[1] / "data" / "github-webhooks"
APP_ID = 31337
INSTALLATION = 957387  # the octokit examples' installation on Codertocat
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def payload(name: str, api_url: str | None = None, **installation: Any) -> dict[str, Any]:
    text = (DATA / name).read_text()
    if api_url:
        text = text.replace("https://api.github.com", api_url)
    data = json.loads(text)
    data.setdefault("installation", {}).update({"id": INSTALLATION, **installation})
    return data


def deliver(
    client: TestClient, data: dict[str, Any], event: str, delivery: str = "d-1", secret: str = SECRET
) -> Any:
    body = json.dumps(data).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(secret, body),
        "Content-Type": "application/json",
    }
    return client.post("/webhooks/github", content=body, headers=headers)


def installations(client: TestClient, org: str = "codertocat") -> list[dict[str, Any]]:
    resp = client.get(f"/api/orgs/{org}/github/installations", headers=admin_headers())
    assert resp.status_code == 200, resp.text
    return resp.json()


def jobs(client: TestClient) -> list[dict[str, Any]]:
    return client.get("/api/reviews", headers=admin_headers()).json()


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return rsa_key_pair()


@pytest.fixture
def github(keys: tuple[str, str]) -> Iterator[ServedFake]:
    fake = FakeGitHub(user=None, checks_allowed=True)
    fake.app = FakeGitHubApp(APP_ID, keys[1], installations={INSTALLATION: "Codertocat"})
    served = ServedFake(fake)
    yield served
    served.close()


@pytest.fixture
def server(
    make_client: Callable[..., TestClient], sim: Any, github: ServedFake, keys: tuple[str, str]
) -> TestClient:
    client = make_client(
        HUNKWISE_GITHUB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
        GITHUB_API_URL=github.url,
        HUNKWISE_GITHUB_TOKEN="ghp_personal_token_never_used_in_app_mode",
        HUNKWISE_GITHUB_APP_ID=str(APP_ID),
        HUNKWISE_GITHUB_APP_PRIVATE_KEY=keys[0],
    )
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    assert client.put("/api/orgs/codertocat/byok", json=byok, headers=admin_headers()).status_code == 200
    return client


def wait_review(client: TestClient, job_id: int, deadline_s: float = 60) -> dict[str, Any]:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        got = client.get(f"/api/reviews/{job_id}", headers=admin_headers()).json()
        if got["status"] in ("done", "failed"):
            return got
        time.sleep(0.05)
    raise AssertionError(f"review {job_id} did not finish")


def test_installation_lifecycle_gates_pull_requests(server: TestClient, github: ServedFake) -> None:
    fake: FakeGitHub = github.fake  # type: ignore[assignment]
    pr = payload("pull_request.opened.payload.json", github.url)

    # before any installation event: not known here, nothing queued
    unknown = deliver(server, pr, "pull_request", "d-0")
    assert unknown.status_code == 202 and "is not known here" in unknown.json()["reason"]

    created = deliver(server, payload("installation.created.payload.json"), "installation")
    assert created.status_code == 202 and created.json()["status"] == "recorded"
    [inst] = installations(server)
    assert inst["id"] == INSTALLATION and inst["account_login"] == "Codertocat" and inst["suspended"] is False
    assert inst["repositories"] == [{"full_name": "codertocat/hello-world", "enabled": True}]

    added = deliver(
        server, payload("installation_repositories.added.payload.json"), "installation_repositories"
    )
    assert added.status_code == 202
    names = [r["full_name"] for r in installations(server)[0]["repositories"]]
    assert names == ["codertocat/hello-world", "codertocat/space"]

    assert fake.app is not None
    fake.app.suspended.add(INSTALLATION)  # GitHub suspends it, then delivers "suspend"
    suspend = deliver(server, payload("installation.suspend.payload.json"), "installation", "d-2")
    assert suspend.status_code == 202 and installations(server)[0]["suspended"] is True
    refused = deliver(server, pr, "pull_request", "d-3")
    assert (
        refused.status_code == 202 and refused.json()["reason"] == f"installation {INSTALLATION} is suspended"
    )

    # a repository turned off by the organization
    fake.app.suspended.discard(INSTALLATION)
    deliver(server, payload("installation.unsuspend.payload.json"), "installation", "d-4")
    assert installations(server)[0]["suspended"] is False
    confirmations = [r for r in fake.requests if r.url.path == f"/app/installations/{INSTALLATION}"]
    assert len(confirmations) == 4 and len(fake.requests) == 4  # each delivery asked GitHub once
    fake.requests.clear()
    off = server.put(
        "/api/orgs/codertocat/github/repositories/Codertocat/Hello-World",
        json={"enabled": False},
        headers=admin_headers(),
    )
    assert off.status_code == 200 and off.json() == {"full_name": "codertocat/hello-world", "enabled": False}
    disabled = deliver(server, pr, "pull_request", "d-5")
    assert disabled.status_code == 202 and "turned off" in disabled.json()["reason"]

    # a repository of another account, delivered for this installation
    other = json.loads(json.dumps(pr).replace("Codertocat", "octocat"))
    other["installation"] = {"id": INSTALLATION}
    foreign = deliver(server, other, "pull_request", "d-6")
    assert foreign.status_code == 202 and "is not the installation's account" in foreign.json()["reason"]
    assert jobs(server) == [] and fake.posts == []
    assert fake.requests == []  # nothing was asked of GitHub for deliveries that were not acted on

    removed = payload("installation_repositories.removed.payload.json")
    removed = json.loads(json.dumps(removed).replace("octocat/Hello-World", "Codertocat/Space"))
    removed["installation"]["account"]["login"] = "Codertocat"
    deliver(server, removed, "installation_repositories", "d-7")
    assert [r["full_name"] for r in installations(server)[0]["repositories"]] == ["codertocat/hello-world"]

    deleted = json.loads(
        json.dumps(payload("installation.deleted.payload.json")).replace("octocat", "Codertocat")
    )
    del fake.app.installations[INSTALLATION]  # uninstalled: GitHub answers 404 for it now
    assert deliver(server, deleted, "installation", "d-8").status_code == 202
    assert installations(server) == []
    gone = deliver(server, pr, "pull_request", "d-9")
    assert "is not known here" in gone.json()["reason"] and jobs(server) == []


def test_review_runs_with_the_installation_token(server: TestClient, github: ServedFake) -> None:
    fake: FakeGitHub = github.fake  # type: ignore[assignment]
    deliver(server, payload("installation.created.payload.json"), "installation")
    resp = deliver(server, payload("pull_request.opened.payload.json", github.url), "pull_request", "d-2")
    assert resp.status_code == 202 and resp.json()["status"] == "queued", resp.text
    review = wait_review(server, resp.json()["job_id"])
    assert review["status"] == "done", review["error"]
    assert len(fake.posts) == 1 and fake.posts[0]["commit_id"] == HEAD
    app = fake.app
    assert app is not None and app.minted == 1 and app.refused == []
    used = set(app.tokens_used(fake.requests))
    assert used == {f"ghs_fake0001i{INSTALLATION}"}  # every request: the one installation token
    assert not any("ghp_personal" in (r.headers.get("authorization") or "") for r in fake.requests)
    states = [state for state, _ in fake.status_history()]
    assert states[0] == "pending" and states[-1] in ("failure", "success", "neutral")


def test_unsigned_or_invalid_installation_deliveries_store_nothing(server: TestClient) -> None:
    created = payload("installation.created.payload.json")
    assert deliver(server, created, "installation", secret="wrong").status_code == 401
    body = json.dumps(created).encode()
    assert (
        server.post("/webhooks/github", content=body, headers={"X-GitHub-Event": "installation"}).status_code
        == 401
    )
    assert installations(server) == []
    bad_id = payload("installation.created.payload.json", id="957387")
    refused = deliver(server, bad_id, "installation", "d-2")
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "installation", "id"]
    foreign = payload("installation.created.payload.json")
    foreign["repositories"][0]["full_name"] = "someone-else/Hello-World"
    refused = deliver(server, foreign, "installation", "d-3")
    assert refused.status_code == 422 and "installation's account" in refused.text
    assert installations(server) == []


def test_repository_api_checks_names_and_access(server: TestClient) -> None:
    deliver(server, payload("installation.created.payload.json"), "installation")
    token = create_org(server, "octo-other")
    other = {"Authorization": f"Bearer {token}"}
    # another organization's token may not see or change codertocat's installations
    assert server.get("/api/orgs/codertocat/github/installations", headers=other).status_code == 403
    url = "/api/orgs/codertocat/github/repositories/Codertocat/Hello-World"
    assert server.put(url, json={"enabled": False}, headers=other).status_code == 403
    assert server.get("/api/orgs/octo-other/github/installations", headers=other).json() == []
    missing = server.put(
        "/api/orgs/codertocat/github/repositories/Codertocat/Nope",
        json={"enabled": False},
        headers=admin_headers(),
    )
    assert missing.status_code == 404 and "Codertocat/Nope" in missing.json()["detail"]
    bad = server.put(url, json={"enabled": "maybe"}, headers=admin_headers())
    assert bad.status_code == 422
    assert installations(server)[0]["repositories"][0]["enabled"] is True


def test_console_lists_installations_and_turns_a_repository_off(server: TestClient) -> None:
    deliver(server, payload("installation.created.payload.json"), "installation")
    assert server.post("/api/orgs", json={"slug": "codertocat"}, headers=admin_headers()).status_code in (
        201,
        409,
    )
    token = server.post("/api/orgs/codertocat/tokens", json={"label": "console"}, headers=admin_headers())
    assert token.status_code == 201, token.text
    sign_in(server, token.json()["token"], "/console/github")
    shown = server.get("/console/github")
    assert shown.status_code == 200
    assert (
        f"Installation {INSTALLATION} on Codertocat" in shown.text and "codertocat/hello-world" in shown.text
    )
    assert "Turn off" in shown.text
    # without the form's CSRF token: refused, nothing changed
    stale = server.post("/console/github", data={"repository": "codertocat/hello-world", "enabled": "false"})
    assert stale.status_code == 403
    assert installations(server)[0]["repositories"][0]["enabled"] is True
    csrf = page_csrf(server, "/console/github")
    done = server.post(
        "/console/github",
        data={"csrf": csrf, "repository": "codertocat/hello-world", "enabled": "false"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert installations(server)[0]["repositories"][0]["enabled"] is False
    after = server.get("/console/github")
    assert "Turn on" in after.text and 'status-failed">off' in after.text


def test_commands_use_the_installation_and_respect_its_state(server: TestClient, github: ServedFake) -> None:
    """``@hunkwise`` in App mode: the permission check and the answer go out with the
    installation's token (the command job finds the installation from its organization), and a
    suspended installation's commands are acknowledged and not acted on."""
    fake: FakeGitHub = github.fake  # type: ignore[assignment]
    fake.permissions = {"Codertocat": "write"}
    deliver(server, payload("installation.created.payload.json"), "installation")
    question = payload("issue_comment.created.payload.json", github.url)
    question["issue"]["number"] = 2
    question["issue"]["pull_request"] = {"url": f"{github.url}/repos/Codertocat/Hello-World/pulls/2"}
    question["comment"]["body"] = "@hunkwise is this safe to merge?"
    resp = deliver(server, question, "issue_comment", "c-1")
    assert resp.json()["status"] == "queued", resp.text
    assert wait_review(server, resp.json()["job_id"])["status"] == "done"
    [answer] = fake.issue_comments
    assert "is this safe to merge?" in answer["body"]
    app = fake.app
    assert app is not None and app.refused == []
    assert set(app.tokens_used(fake.requests)) == set(app.issued)  # only installation tokens

    app.suspended.add(INSTALLATION)
    deliver(server, payload("installation.suspend.payload.json"), "installation", "c-2")
    question["comment"]["id"] += 1
    again = deliver(server, question, "issue_comment", "c-3")
    assert again.json() == {"status": "ignored", "reason": f"installation {INSTALLATION} is suspended"}
    assert len(fake.issue_comments) == 1


def test_a_known_installation_never_moves_to_another_account(server: TestClient) -> None:
    """An installation is bound to one account on GitHub. A delivery naming a known installation
    with another account (forged by someone holding the webhook secret, e.g. a tenant that had
    it for a repository webhook before App mode) must not move it, its repositories or its state
    to that account: 422, and the installation stays where it was."""
    assert deliver(server, payload("installation.created.payload.json"), "installation").status_code == 202
    moved = json.loads(
        json.dumps(payload("installation.created.payload.json")).replace("Codertocat", "mallory")
    )
    suspend = json.loads(
        json.dumps(payload("installation.suspend.payload.json")).replace("Codertocat", "mallory")
    )
    added = json.loads(
        json.dumps(payload("installation_repositories.added.payload.json")).replace("Codertocat", "mallory")
    )
    for data, event in (
        (moved, "installation"),
        (suspend, "installation"),
        (added, "installation_repositories"),
    ):
        assert (
            data["installation"]["id"] == INSTALLATION
            and data["installation"]["account"]["login"] == "mallory"
        )
        refused = deliver(server, data, event, "d-forged")
        assert refused.status_code == 422, refused.text
        assert "installation.account.login" in refused.text
    deleted = json.loads(
        json.dumps(payload("installation.deleted.payload.json")).replace("octocat", "mallory")
    )
    assert deliver(server, deleted, "installation", "d-forged-delete").status_code == 422
    assert installations(server, "mallory") == []
    [inst] = installations(server)
    assert inst["account_login"] == "Codertocat" and inst["suspended"] is False
    assert inst["repositories"] == [{"full_name": "codertocat/hello-world", "enabled": True}]


def test_a_personal_token_server_records_no_installation(make_client: Callable[..., TestClient]) -> None:
    """Without App credentials no GitHub App points its webhook here, and the webhook secret is the
    one every repository webhook is given: an installation delivery signed with it is not GitHub's
    word, so it is acknowledged and nothing is stored (else any holder of the secret could write
    installations, or take installation ids before the App goes live)."""
    client = make_client(HUNKWISE_GITHUB_WEBHOOK_SECRET=SECRET, HUNKWISE_GITHUB_TOKEN="ghp_personal")
    for name, event in (
        ("installation.created.payload.json", "installation"),
        ("installation_repositories.added.payload.json", "installation_repositories"),
    ):
        answer = deliver(client, payload(name), event)
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "ignored" and "HUNKWISE_GITHUB_APP_ID" in answer.json()["reason"]
    assert installations(client) == []


def _as(data: dict[str, Any], login: str) -> dict[str, Any]:
    """``data`` with its account (and its repositories' owner) renamed to ``login``."""
    out: dict[str, Any] = json.loads(re.sub(r"\b(Codertocat|octocat)\b", login, json.dumps(data)))
    return out


def test_a_delivery_whose_account_github_contradicts_is_refused(
    server: TestClient, github: ServedFake
) -> None:
    """Someone holding the webhook secret signs deliveries for an installation the store has not
    seen, naming their own account. GitHub (``GET /app/installations/{id}``, asked with the App's
    JWT) says the installation is on Codertocat: 422 naming the account, nothing stored."""
    fake: FakeGitHub = github.fake  # type: ignore[assignment]
    for name, event in (
        ("installation.created.payload.json", "installation"),
        ("installation.suspend.payload.json", "installation"),
        ("installation.unsuspend.payload.json", "installation"),
        ("installation_repositories.added.payload.json", "installation_repositories"),
    ):
        refused = deliver(server, _as(payload(name), "mallory"), event, "d-forged")
        assert refused.status_code == 422, refused.text
        [problem] = refused.json()["detail"]
        assert problem["loc"] == ["body", "installation", "account", "login"]
        assert "'Codertocat'" in problem["msg"] and "GitHub" in problem["msg"]
    assert installations(server, "mallory") == [] and installations(server) == []
    asked = [r for r in fake.requests if r.url.path == f"/app/installations/{INSTALLATION}"]
    assert len(asked) == 4 and all(r.method == "GET" for r in asked)
    assert fake.app is not None and fake.app.refused == []  # each JWT passed the public-key check


def test_an_installation_github_does_not_have_is_not_stored(server: TestClient, github: ServedFake) -> None:
    """A signed delivery naming an installation id GitHub answers 404 for is acknowledged (202,
    with the reason) and nothing is stored: it cannot take that id or that account."""
    for name, event in (
        ("installation.created.payload.json", "installation"),
        ("installation.new_permissions_accepted.payload.json", "installation"),
        ("installation_repositories.added.payload.json", "installation_repositories"),
    ):
        data = payload(name, id=4242)
        data["installation"]["account"]["login"] = "Codertocat"
        resp = deliver(server, data, event, "d-unknown")
        assert resp.status_code == 202, resp.text
        body = resp.json()
        assert body["status"] == "ignored" and "GitHub has no installation 4242" in body["reason"]
    assert installations(server) == []


def test_suspension_is_what_github_says(server: TestClient, github: ServedFake) -> None:
    """A suspend delivery suspends only when GitHub's answer has ``suspended_at``; an unsuspend
    delivery while GitHub still reports it suspended leaves it suspended."""
    app = github.fake.app  # type: ignore[attr-defined]
    assert deliver(server, payload("installation.created.payload.json"), "installation").status_code == 202
    early = deliver(server, payload("installation.suspend.payload.json"), "installation", "d-s0")
    assert early.status_code == 202 and "not suspended" in early.json()["reason"]
    assert installations(server)[0]["suspended"] is False

    app.suspended.add(INSTALLATION)
    confirmed = deliver(server, payload("installation.suspend.payload.json"), "installation", "d-s1")
    assert confirmed.status_code == 202 and confirmed.json()["status"] == "recorded"
    assert installations(server)[0]["suspended"] is True
    stale = deliver(server, payload("installation.unsuspend.payload.json"), "installation", "d-s2")
    assert stale.status_code == 202 and installations(server)[0]["suspended"] is True

    app.suspended.discard(INSTALLATION)
    deliver(server, payload("installation.unsuspend.payload.json"), "installation", "d-s3")
    assert installations(server)[0]["suspended"] is False


def test_a_deletion_is_believed_once_github_answers_404(server: TestClient, github: ServedFake) -> None:
    app = github.fake.app  # type: ignore[attr-defined]
    deliver(server, payload("installation.created.payload.json"), "installation")
    deleted = _as(payload("installation.deleted.payload.json"), "Codertocat")
    kept = deliver(server, deleted, "installation", "d-del0")
    assert kept.status_code == 202 and kept.json()["status"] == "ignored"
    assert "GitHub still has installation" in kept.json()["reason"]
    assert [i["id"] for i in installations(server)] == [INSTALLATION]

    del app.installations[INSTALLATION]
    gone = deliver(server, deleted, "installation", "d-del1")
    assert gone.status_code == 202 and gone.json()["status"] == "recorded"
    assert installations(server) == []


def test_unreachable_github_stores_nothing_and_fails_the_delivery(
    server: TestClient, github: ServedFake
) -> None:
    """GitHub does not redeliver a failed delivery by itself: the answer is a 503 (so the delivery
    shows as failed in the App's "Recent Deliveries", where it can be redelivered), saying why
    and what to do, with no Retry-After (nobody would honour it); nothing is stored."""
    app = github.fake.app  # type: ignore[attr-defined]
    deliver(server, payload("installation.created.payload.json"), "installation")
    app.down = True
    app.suspended.add(INSTALLATION)
    resp = deliver(server, payload("installation.suspend.payload.json"), "installation", "d-down")
    assert resp.status_code == 503, resp.text
    assert "retry-after" not in resp.headers
    assert "Redeliver" in resp.json()["detail"] and "503" in resp.json()["detail"]
    assert installations(server)[0]["suspended"] is False
    created = payload("installation.created.payload.json", id=777)
    assert deliver(server, created, "installation", "d-down2").status_code == 503
    assert [i["id"] for i in installations(server)] == [INSTALLATION]
