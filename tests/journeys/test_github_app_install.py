"""Journey: an operator runs ``hunkwise serve`` as a GitHub App; an account installs it and its
pull request is reviewed with the installation's token.

Set up as docs/github.md says: the App ID and the path of its private key file (generated in
the test, mode 0600, never committed), the webhook secret, the API root (the project's fake
GitHub, which checks the App's JWT with the App's public key and accepts only the installation
tokens it issued). A personal token is set too, to show App mode never sends it. Steps: a bad
key is refused at start-up naming the variable; ``config show`` masks the key; the
``installation`` delivery records the account; the ``pull_request`` delivery is reviewed by the
simulator behind the normal provider path; the review and the commit status reach the fake with
the installation token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from journeykit import (
    DEV_KEY,
    GITHUB_TOKEN,
    Server,
    Simulator,
    deliver,
    explain,
    github_event,
    run_cli,
    server_env,
)

pytestmark = pytest.mark.journey

APP_ID = 271828
INSTALLATION = 957387  # the octokit example's installation on Codertocat
REPO = "Codertocat/Hello-World"


@pytest.fixture(scope="module")
def app_keys() -> tuple[str, str]:
    from platform_fakes import rsa_key_pair

    return rsa_key_pair()


@pytest.fixture(scope="module")
def app_github(app_keys: tuple[str, str]) -> Iterator[Any]:
    from platform_fakes import FakeGitHub, FakeGitHubApp, ServedFake

    fake = FakeGitHub(user=None)  # an installation token: GET /user answers 403
    fake.app = FakeGitHubApp(APP_ID, app_keys[1], installations={INSTALLATION: "Codertocat"})
    served = ServedFake(fake)
    yield served
    served.close()


@pytest.fixture(scope="module")
def env(journey_dir: Path, app_github: Any, app_keys: tuple[str, str]) -> dict[str, str]:
    key_file = journey_dir / "hunkwise-app.private-key.pem"
    key_file.write_text(app_keys[0])
    key_file.chmod(0o600)
    extra = {"HUNKWISE_GITHUB_APP_ID": str(APP_ID), "HUNKWISE_GITHUB_APP_PRIVATE_KEY": str(key_file)}
    return server_env(journey_dir / "app-server-home", app_github.url, extra)


@pytest.fixture(scope="module")
def server(journey_dir: Path, env: dict[str, str]) -> Iterator[Server]:
    srv = Server(env, journey_dir)
    yield srv
    srv.stop()


def test_a_bad_key_is_refused_by_name_and_the_key_is_masked(
    env: dict[str, str], journey_dir: Path, app_keys: tuple[str, str]
) -> None:
    missing = run_cli(
        ["config", "show"], env | {"HUNKWISE_GITHUB_APP_PRIVATE_KEY": str(journey_dir / "none.pem")}
    )
    assert missing.returncode != 0, explain(missing)
    said = missing.stdout + missing.stderr
    assert "HUNKWISE_GITHUB_APP_PRIVATE_KEY" in said and "cannot read" in said and "Traceback" not in said
    shown = run_cli(["config", "show", "--json"], env)
    assert shown.returncode == 0, explain(shown)
    rows = {r["setting"]: r["value"] for r in json.loads(shown.stdout)["settings"]}
    assert rows["HUNKWISE_GITHUB_APP_ID"] == APP_ID
    assert rows["HUNKWISE_GITHUB_APP_PRIVATE_KEY"].startswith("••••")
    assert app_keys[0].splitlines()[1] not in shown.stdout


def test_installation_then_pull_request_reviewed_with_the_installation_token(
    server: Server, simulator: Simulator, app_github: Any
) -> None:
    fake = app_github.fake
    with server.client() as admin:
        created = admin.post("/api/orgs", json={"slug": "codertocat", "name": "Codertocat"})
        assert created.status_code == 201, created.text
        byok = {"main": {"card": "glm-5.1", "base_url": simulator.developer_url, "api_key": DEV_KEY}}
        assert admin.put("/api/orgs/codertocat/byok", json=byok).status_code == 200

        # GitHub tells the server the App was installed on Codertocat
        installed = github_event("installation.created", app_github.url)
        installed["installation"]["id"] = INSTALLATION
        resp = deliver(server, installed, kind="installation", delivery="journey-install")
        assert resp.status_code == 202 and resp.json()["status"] == "recorded", resp.text
        [inst] = admin.get("/api/orgs/codertocat/github/installations").json()
        assert inst["id"] == INSTALLATION and inst["suspended"] is False
        assert inst["repositories"] == [{"full_name": REPO.lower(), "enabled": True}]

        # a pull request of that installation: reviewed and posted with its token
        event = github_event("pull_request.opened", app_github.url)
        event["installation"] = {"id": INSTALLATION}
        resp = deliver(server, event, delivery="journey-app-opened")
        assert resp.status_code == 202 and resp.json()["status"] == "queued", resp.text
        job = server.wait_job(admin, int(resp.json()["job_id"]))
        assert job["status"] == "done", job

    reviews = [
        r
        for r in fake.requests
        if r.method == "POST" and r.url.path == f"/repos/{REPO}/pulls/{event['number']}/reviews"
    ]
    assert len(reviews) == 1
    assert json.loads(reviews[0].content)["commit_id"] == event["pull_request"]["head"]["sha"]
    issued = set(fake.app.issued)
    assert issued and all(t.startswith("ghs_") for t in issued)
    auth = {r.headers.get("authorization") for r in fake.requests if not r.url.path.startswith("/app/")}
    assert auth == {f"Bearer {t}" for t in issued}  # every API call: an installation token
    assert not any(GITHUB_TOKEN in (r.headers.get("authorization") or "") for r in fake.requests)
    assert fake.app.refused == []  # the JWT passed the public-key check the first time
    states = [state for state, _ in fake.status_history()]
    assert states and states[0] == "pending" and states[-1] != "pending"  # the commit status is set
    assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
