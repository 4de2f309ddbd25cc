"""Journey: an operator connects Bitbucket Cloud to ``hunkwise serve`` as docs/bitbucket.md says.

A real ``hunkwise serve`` process with the Bitbucket webhook secret, an access token, the token's
account uuid and the API root (the project's fake Bitbucket, served over loopback HTTP); the
workspace's organization brings its own key (the simulator, through the normal provider path).
A signed ``pullrequest:created`` delivery is reviewed: inline comments, one summary and the
``hunkwise`` build status appear on the fake; an unsigned one is refused and leaves nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from journeykit import DEV_KEY, Server, Simulator, server_env

from bitbucket_fake import HEAD, TOKEN, TOKEN_USER, FakeBitbucket
from hunkwise.platforms.bitbucket_webhooks import sign
from platform_fakes import ServedFake

pytestmark = pytest.mark.journey

SECRET = "journey-bitbucket-webhook-secret"
DATA = Path(__file__).parents[1] / "data" / "bitbucket"


@pytest.fixture(scope="module")
def bitbucket() -> Iterator[ServedFake]:
    served = ServedFake(FakeBitbucket())  # type: ignore[arg-type]
    yield served
    served.close()


@pytest.fixture(scope="module")
def server(journey_dir: Path, bitbucket: ServedFake) -> Iterator[Server]:
    env = server_env(
        journey_dir / "server-home",
        extra={
            "HUNKWISE_BITBUCKET_WEBHOOK_SECRET": SECRET,
            "HUNKWISE_BITBUCKET_TOKEN": TOKEN,
            "HUNKWISE_BITBUCKET_BOT_UUID": TOKEN_USER["uuid"],
            "HUNKWISE_BITBUCKET_API_URL": f"{bitbucket.url}/2.0",
        },
    )
    srv = Server(env, journey_dir)
    yield srv
    srv.stop()


def post(server: Server, body: bytes, signature: str | None) -> httpx.Response:
    headers = {
        "X-Event-Key": "pullrequest:created",
        "X-Request-UUID": "7d3c0a52-1f6e-4d43-9a0b-5c2e8f1a6b90",
        "Content-Type": "application/json",
    }
    if signature is not None:
        headers["X-Hub-Signature"] = signature
    return httpx.post(f"{server.url}/webhooks/bitbucket", content=body, headers=headers, timeout=30)


def test_signed_pull_request_is_reviewed_on_bitbucket(
    server: Server, simulator: Simulator, bitbucket: ServedFake
) -> None:
    fake: FakeBitbucket = bitbucket.fake  # type: ignore[assignment]
    text = (DATA / "pullrequest_created.json").read_text()
    body = text.replace("https://api.bitbucket.org", bitbucket.url).replace(
        "https://bitbucket.org", bitbucket.url
    )
    raw = body.encode()
    with server.client() as admin:
        byok = {"main": {"card": "glm-5.1", "base_url": simulator.developer_url, "api_key": DEV_KEY}}
        assert admin.put("/api/orgs/acme/byok", json=byok).status_code == 200

        refused = post(server, raw, None)
        assert refused.status_code == 401 and fake.requests == []
        assert admin.get("/api/reviews").json() == []

        resp = post(server, raw, sign(SECRET, raw))
        assert resp.status_code == 202 and resp.json()["status"] == "queued", resp.text
        job = server.wait_job(admin, int(resp.json()["job_id"]))
        assert job["status"] == "done", job
        assert job["platform"] == "bitbucket" and job["repository"] == "acme/api" and job["number"] == 7

    diff_paths = {line[6:] for line in fake.diff.splitlines() if line.startswith("+++ b/")}
    inline = fake.inline_comments()
    assert inline and {c["inline"]["path"] for c in inline} <= diff_paths
    assert len(inline) == len(job["findings"])
    [summary] = fake.top_comments()
    assert "### Coverage" in summary["content"]["raw"] and "glm-5.1" in summary["content"]["raw"]
    assert json.loads(fake.comment_posts()[-1].content)["content"]["raw"] == summary["content"]["raw"]
    states = [s for s, _ in fake.status_history()]
    assert states[0] == "INPROGRESS" and states[-1] == "SUCCESSFUL"
    assert list(fake.statuses) == [(HEAD, "hunkwise")]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    assert simulator.key_requests(DEV_KEY) >= 1
    assert TOKEN not in server.logs() and SECRET not in server.logs()
