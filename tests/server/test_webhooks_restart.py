"""Stop the server mid-review, start it again: the job resumes and exactly one review is posted."""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi.testclient import TestClient
from srvkit import ADMIN, admin_headers

from hunkwise.platforms.github_webhooks import sign
from platform_fakes import FakeGitHub, ServedFake
from simkeys import DEV_KEY
from waiting import sim_in_flight, wait_until

SECRET = "webhook-secret-for-tests"
BODY = (
    Path(__file__).parents[1] / "data" / "github-webhooks" / "pull_request.opened.payload.json"
).read_bytes()


def _app(env: dict[str, str]) -> TestClient:
    from hunkwise.config.settings import Settings
    from hunkwise.server.app import create_app

    client = TestClient(create_app(Settings.from_env(env)))
    client.__enter__()
    return client


def _status(client: TestClient, job_id: int) -> dict:
    return client.get(f"/api/reviews/{job_id}", headers=admin_headers()).json()


def _until(client: TestClient, job_id: int, statuses: tuple[str, ...]) -> dict:
    end = time.monotonic() + 60
    while time.monotonic() < end:
        got = _status(client, job_id)
        if got["status"] in statuses:
            return got
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {statuses}")


def test_server_restart_mid_job(tmp_path: Path, sim_factory) -> None:
    slow = sim_factory(latency_ms=1500)
    github = ServedFake(FakeGitHub())
    env = {
        "HUNKWISE_HOME": os.environ["HUNKWISE_HOME"],
        "HUNKWISE_ADMIN_TOKEN": ADMIN,
        "HUNKWISE_DATABASE_URL": f"sqlite:///{tmp_path / 'server.db'}",
        "HUNKWISE_GITHUB_WEBHOOK_SECRET": SECRET,
        "HUNKWISE_ALLOW_PRIVATE_BASE_URLS": "127.0.0.1",
        "GITHUB_API_URL": github.url,
        "HUNKWISE_GITHUB_TOKEN": "ghp_restart_test",
    }
    try:
        first = _app(env)
        byok = {"main": {"card": "glm-5.1", "base_url": slow.zai_developer_url, "api_key": DEV_KEY}}
        assert first.put("/api/orgs/codertocat/byok", json=byok, headers=admin_headers()).status_code == 200
        body = BODY.replace(b"https://api.github.com", github.url.encode())  # the configured API host
        headers = {
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": "r-1",
            "X-Hub-Signature-256": sign(SECRET, body),
        }
        job_id = first.post("/webhooks/github", content=body, headers=headers).json()["job_id"]
        _until(first, job_id, ("running",))
        wait_until(sim_in_flight(slow, DEV_KEY), "the model request in flight")
        first.__exit__(None, None, None)  # the server stops: the job is handed back
        first.app.state.runtime.engine.dispose()  # type: ignore[attr-defined]

        second = _app(env)
        try:
            done = _until(second, job_id, ("done", "failed"))
        finally:
            second.__exit__(None, None, None)
            second.app.state.runtime.engine.dispose()  # type: ignore[attr-defined]
        assert done["status"] == "done", done["error"]
        assert done["attempts"] == 1, "a graceful stop refunds the interrupted attempt"
        fake: FakeGitHub = github.fake  # type: ignore[assignment]
        assert len(fake.posts) == 1 and len(fake.reviews) == 1
    finally:
        github.close()
