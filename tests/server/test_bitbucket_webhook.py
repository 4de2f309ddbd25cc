"""``POST /webhooks/bitbucket`` through the real app (embedded workers on), the simulator as the
BYOK model over loopback HTTP, and the fake Bitbucket Cloud served over loopback HTTP: signed
deliveries become one review job per head, posted as inline comments, one summary edited in
place, and the ``hunkwise`` build status."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers

from bitbucket_fake import HEAD, TOKEN, TOKEN_USER, FakeBitbucket
from hunkwise.platforms.bitbucket_webhooks import sign
from platform_fakes import ServedFake
from simkeys import DEV_KEY

SECRET = "bitbucket-webhook-secret-for-tests"
DATA = Path(__file__).parents[1] / "data" / "bitbucket"
NEXT_HEAD = "d00d1e" + "3" * 34


def load(name: str, url: str) -> bytes:
    """A documented-shape payload whose links are on the served fake (the configured host)."""
    text = (DATA / name).read_text()
    return text.replace("https://api.bitbucket.org", url).replace("https://bitbucket.org", url).encode()


def deliver(
    client: TestClient,
    body: bytes,
    event: str = "pullrequest:created",
    delivery: str = "4a1b8c2e-0000-4000-8000-000000000001",
    signature: str | None = None,
) -> object:
    headers = {
        "X-Event-Key": event,
        "X-Request-UUID": delivery,
        "X-Hook-UUID": "{0f0e0d0c-0b0a-4909-8807-060504030201}",
        "X-Attempt-Number": "1",
        "Content-Type": "application/json",
    }
    if signature != "":
        headers["X-Hub-Signature"] = signature or sign(SECRET, body)
    return client.post("/webhooks/bitbucket", content=body, headers=headers)


@pytest.fixture
def bitbucket() -> Iterator[ServedFake]:
    served = ServedFake(FakeBitbucket())  # type: ignore[arg-type]
    yield served
    served.close()


@pytest.fixture
def server(make_client: Callable[..., TestClient], sim, bitbucket: ServedFake) -> TestClient:
    client = make_client(
        HUNKWISE_BITBUCKET_WEBHOOK_SECRET=SECRET,
        HUNKWISE_BITBUCKET_API_URL=f"{bitbucket.url}/2.0",
        HUNKWISE_BITBUCKET_TOKEN=TOKEN,
        HUNKWISE_BITBUCKET_BOT_UUID=TOKEN_USER["uuid"],
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
    )
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    assert client.put("/api/orgs/acme/byok", json=byok, headers=admin_headers()).status_code == 200
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


def test_signed_delivery_is_reviewed_posted_once_and_a_push_edits_the_summary(
    server: TestClient, bitbucket: ServedFake
) -> None:
    fake: FakeBitbucket = bitbucket.fake  # type: ignore[assignment]
    body = load("pullrequest_created.json", bitbucket.url)
    resp = deliver(server, body)
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["job_id"]
    review = wait_review(server, job_id)
    assert review["status"] == "done", review["error"]
    assert review["platform"] == "bitbucket" and review["repository"] == "acme/api" and review["number"] == 7
    assert len(review["findings"]) == 4
    # inline comments on the new-file lines, then one summary with the coverage
    placed = {(c["inline"]["path"], c["inline"]["to"]) for c in fake.inline_comments()}
    assert placed == {
        ("src/inventory/config.py", 10),
        ("src/inventory/pricing.py", 12),
        ("src/inventory/pricing.py", 13),
        ("src/inventory/pricing.py", 19),
    }
    assert all(c["user"]["uuid"] == TOKEN_USER["uuid"] for c in fake.comments)
    [summary] = fake.top_comments()
    raw = summary["content"]["raw"]
    assert "### Coverage" in raw and "**Reviewed:**" in raw and "<!-- hunkwise:review:" in raw
    assert json.loads(fake.comment_posts()[-1].content) == {"content": {"raw": raw}}, "the summary is last"
    # the build status: in progress, then the review's verdict, on the full head commit
    assert next(s for s, _ in fake.status_history()) == "INPROGRESS"
    assert fake.status_history()[-1][0] == "SUCCESSFUL" and "1 critical" in fake.status_history()[-1][1]
    assert list(fake.statuses) == [(HEAD, "hunkwise")]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    # the same delivery again, and a re-delivery of the same head: the same job, nothing posted
    posts = len(fake.comment_posts())
    again = deliver(server, body)
    other = deliver(server, body, delivery="4a1b8c2e-0000-4000-8000-000000000002")
    assert again.json() == {"status": "queued", "job_id": job_id, "duplicate": True, "requeued": False}
    assert other.json()["job_id"] == job_id and len(jobs(server)) == 1
    assert len(fake.comment_posts()) == posts
    # a push: a new head, a new job; nothing is posted twice and the one summary is edited in place
    fake.commits = [NEXT_HEAD, HEAD]
    pushed = deliver(server, load("pullrequest_updated.json", bitbucket.url), "pullrequest:updated")
    assert pushed.status_code == 202 and pushed.json()["job_id"] != job_id
    second = wait_review(server, pushed.json()["job_id"])
    assert second["status"] == "done", second["error"]
    assert len(fake.top_comments()) == 1 and len(fake.inline_comments()) == 4
    assert [e["id"] for e in fake.edits] == [summary["id"]]
    assert (NEXT_HEAD, "hunkwise") in fake.statuses and fake.statuses[(NEXT_HEAD, "hunkwise")][
        "state"
    ] == "SUCCESSFUL"


def test_unsigned_or_badly_signed_deliveries_are_401_and_store_nothing(
    server: TestClient, bitbucket: ServedFake
) -> None:
    body = load("pullrequest_created.json", bitbucket.url)
    for signature in ("", "sha256=" + "0" * 64, sign("another-secret", body), "sha1=abc"):
        resp = deliver(server, body, signature=signature)
        assert resp.status_code == 401 and "X-Hub-Signature" in resp.json()["detail"]
    tampered = deliver(server, body + b" ", signature=sign(SECRET, body))
    assert tampered.status_code == 401
    assert jobs(server) == [] and bitbucket.fake.requests == []  # type: ignore[attr-defined]


def test_an_unconfigured_secret_refuses_everything(make_client: Callable[..., TestClient]) -> None:
    client = make_client(HUNKWISE_BITBUCKET_TOKEN=TOKEN)
    body = b'{"pullrequest": {}}'
    assert deliver(client, body, signature=sign("", body)).status_code == 401
    assert jobs(client) == []


def test_identities_hosts_and_other_events(server: TestClient, bitbucket: ServedFake) -> None:
    data = json.loads(load("pullrequest_created.json", bitbucket.url))
    bad = json.loads(json.dumps(data))
    bad["repository"]["full_name"] = "acme/../../beta/secret"
    resp = deliver(server, json.dumps(bad).encode())
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "repository", "full_name"]
    bad = json.loads(json.dumps(data))
    bad["pullrequest"]["source"]["commit"]["hash"] = "zz"
    resp = deliver(server, json.dumps(bad).encode())
    assert resp.status_code == 422 and "commit" in resp.json()["detail"][0]["msg"]
    foreign = json.loads(json.dumps(data))
    foreign["repository"]["links"]["html"]["href"] = "https://evil.example/acme/api"
    resp = deliver(server, json.dumps(foreign).encode())
    assert resp.status_code == 400 and "configured Bitbucket host" in resp.json()["detail"]
    merged = deliver(server, load("pullrequest_fulfilled.json", bitbucket.url), "pullrequest:fulfilled")
    assert merged.status_code == 202 and merged.json()["status"] == "ignored"
    assert "pullrequest:fulfilled" in merged.json()["reason"]
    unknown = json.loads(json.dumps(data))
    unknown["repository"]["full_name"] = "beta/api"
    unknown["repository"]["workspace"]["slug"] = "beta"
    resp = deliver(server, json.dumps(unknown).encode())
    assert resp.status_code == 202 and "no model configuration" in resp.json()["reason"]
    not_json = deliver(server, b"not json")
    assert not_json.status_code == 400
    assert jobs(server) == [] and bitbucket.fake.requests == []  # type: ignore[attr-defined]


def test_a_server_without_a_bitbucket_token_fails_the_job_saying_what_to_set(
    make_client: Callable[..., TestClient], sim, bitbucket: ServedFake
) -> None:
    client = make_client(
        HUNKWISE_BITBUCKET_WEBHOOK_SECRET=SECRET,
        HUNKWISE_BITBUCKET_API_URL=f"{bitbucket.url}/2.0",
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
    )
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    assert client.put("/api/orgs/acme/byok", json=byok, headers=admin_headers()).status_code == 200
    resp = deliver(client, load("pullrequest_created.json", bitbucket.url))
    review = wait_review(client, resp.json()["job_id"])
    assert review["status"] == "failed" and "HUNKWISE_BITBUCKET_TOKEN" in review["error"]
    assert bitbucket.fake.requests == []  # type: ignore[attr-defined]
