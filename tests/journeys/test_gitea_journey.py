"""Journey: an operator points ``hunkwise serve`` at a Gitea/Forgejo instance (docs/gitea.md) and a
team's pull request there gets reviewed.

The server is the installed ``hunkwise serve``, configured through its environment only
(``HUNKWISE_GITEA_URL``, ``HUNKWISE_GITEA_TOKEN``, ``HUNKWISE_GITEA_WEBHOOK_SECRET``); the
organization's key is a simulator key behind the normal provider path; the instance is the fake
Gitea served over loopback HTTP. The delivery is signed the way Forgejo signs it (Codeberg runs
Forgejo), so the Forgejo headers are what the server reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from journeykit import DEV_KEY, Server, Simulator, server_env

from gitea_fake import HEAD, TOKEN, FakeGitea
from hunkwise.platforms.gitea_webhooks import sign
from platform_fakes import ServedFake

pytestmark = pytest.mark.journey

SECRET = "journey-gitea-secret"
DATA = Path(__file__).parents[1] / "data" / "gitea"


@pytest.fixture(scope="module")
def fake_gitea() -> Iterator[ServedFake]:
    served = ServedFake(FakeGitea())  # type: ignore[arg-type]
    yield served
    served.close()


@pytest.fixture(scope="module")
def server(journey_dir: Path, fake_gitea: ServedFake) -> Iterator[Server]:
    extra = {
        "HUNKWISE_GITEA_URL": fake_gitea.url,
        "HUNKWISE_GITEA_TOKEN": TOKEN,
        "HUNKWISE_GITEA_WEBHOOK_SECRET": SECRET,
    }
    srv = Server(server_env(journey_dir / "server-home", extra=extra), journey_dir)
    yield srv
    srv.stop()


def forgejo_delivery(
    server: Server, event: dict[str, Any], delivery: str, secret: str = SECRET
) -> httpx.Response:
    body = json.dumps(event).encode()
    headers = {
        "X-Forgejo-Event": "pull_request",
        "X-Forgejo-Event-Type": "pull_request",
        "X-Forgejo-Delivery": delivery,
        "X-Forgejo-Signature": sign(secret, body),
        "Content-Type": "application/json",
    }
    return httpx.post(f"{server.url}/webhooks/gitea", content=body, headers=headers, timeout=30)


def test_a_signed_forgejo_delivery_is_reviewed_and_posted_with_its_status(
    server: Server, simulator: Simulator, fake_gitea: ServedFake
) -> None:
    fake: FakeGitea = fake_gitea.fake  # type: ignore[assignment]
    with server.client() as admin:
        created = admin.post("/api/orgs", json={"slug": "acme", "name": "ACME"})
        assert created.status_code == 201, created.text
        byok = {"main": {"card": "glm-5.1", "base_url": simulator.developer_url, "api_key": DEV_KEY}}
        assert admin.put("/api/orgs/acme/byok", json=byok).status_code == 200

        event = json.loads(
            (DATA / "pull_request.opened.json")
            .read_text()
            .replace("https://gitea.example.com", fake_gitea.url)
        )
        event["pull_request"]["head"]["sha"] = HEAD
        refused = forgejo_delivery(server, event, "journey-unsigned", secret="not-the-secret")
        assert refused.status_code == 401 and admin.get("/api/reviews").json() == []

        resp = forgejo_delivery(server, event, "journey-gitea-1")
        assert resp.status_code == 202 and resp.json()["status"] == "queued", resp.text
        job = server.wait_job(admin, int(resp.json()["job_id"]))
        assert job["status"] == "done", job
        assert job["platform"] == "gitea" and job["repository"] == "acme/api" and job["number"] == 7

        inline = fake.submitted()
        assert len(inline) == len(job["findings"]) >= 1
        assert all(c["diff_hunk"] and c["user"]["id"] == fake.user["id"] for c in inline)
        [summary] = fake.issue_comments
        assert "### Coverage" in summary["body"] and "glm-5.1" in summary["body"]
        states = [state for state, _ in fake.status_history()]
        assert states[0] == "pending" and states[-1] in ("success", "failure") and len(set(states)) == 2
        assert all(r.headers["authorization"] == f"token {TOKEN}" for r in fake.requests)
        assert simulator.key_requests(DEV_KEY) >= 1 and DEV_KEY not in server.logs()

        again = forgejo_delivery(server, event, "journey-gitea-redelivered")
        assert again.status_code == 202 and again.json()["duplicate"] is True
        assert len(fake.submitted()) == len(inline) and len(fake.issue_comments) == 1
