"""Journey: an operator runs ``hunkwise serve``; a team brings its own key and gets PR reviews.

The server is a real ``hunkwise serve`` process configured as docs/server.md and docs/webhooks.md
say (admin token, SQLite in its home, the GitHub webhook secret, token and API URL, the
simulator's loopback host allowed by name). The organization's key is a simulator Coding Plan
key behind the simulator's base URL; GitHub is the project's fake, served over loopback HTTP.
Besides the happy path, the refusals a tenant must be able to trust: a key that cannot be sent
(non-ASCII), a delivery naming another tenant's repository, an endpoint that does not resolve.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from journeykit import CODING_KEY, DEV_KEY, Server, Simulator, deliver, github_event, server_env

pytestmark = pytest.mark.journey

REPO = "Codertocat/Hello-World"


@pytest.fixture(scope="module")
def server(journey_dir: Path, fake_github: Any) -> Iterator[Server]:
    srv = Server(server_env(journey_dir / "server-home", fake_github.url), journey_dir)
    yield srv
    srv.stop()


@pytest.fixture
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def new_org(admin: httpx.Client, slug: str | None = None) -> tuple[str, str]:
    """Create an organization with the admin token; returns (slug, its token)."""
    slug = slug or f"team-{uuid.uuid4().hex[:8]}"
    resp = admin.post("/api/orgs", json={"slug": slug, "name": slug.title()})
    assert resp.status_code == 201, resp.text
    token = resp.json()["token"]
    assert token.startswith("hw_org_")
    return slug, token


def coding_byok(sim: Simulator) -> dict[str, Any]:
    return {
        "main": {
            "card": "glm-5.1",
            "plan": "coding",
            "tier": "lite",
            "base_url": sim.coding_url,
            "api_key": CODING_KEY,
        }
    }


def repo_path(path: str) -> str:
    """A request path as GitHub's front end resolves it (dot segments removed)."""
    return posixpath.normpath(path)


def test_byok_put_get_test_then_webhook_review_posted_once(
    server: Server, admin: httpx.Client, simulator: Simulator, fake_github: Any
) -> None:
    # The repository's owner, Codertocat, is the organization (the recorded delivery's owner).
    admin.delete("/api/orgs/codertocat")  # a clean slate whatever ran before in this module
    slug, token = new_org(admin, "codertocat")
    with server.client(token) as org:
        # PUT: the organization's own Coding Plan key, behind the simulator's base URL.
        put = org.put(f"/api/orgs/{slug}/byok", json=coding_byok(simulator))
        assert put.status_code == 200, put.text
        assert CODING_KEY not in put.text
        assert put.json()["main"]["api_key"] == "••••" + CODING_KEY[-4:]

        # GET: masked, never the key; the endpoint and plan resolved.
        got = org.get(f"/api/orgs/{slug}/byok")
        assert got.status_code == 200, got.text
        assert CODING_KEY not in got.text
        main = got.json()["main"]
        assert main["api_key"] == "••••" + CODING_KEY[-4:]
        assert (main["plan"], main["tier"], main["max_concurrent"]) == ("coding", "lite", 1)
        assert main["base_url"] == simulator.coding_url

        # Test: one tiny request through the simulator, diagnosed OK.
        probes = simulator.key_requests(CODING_KEY)
        tested = org.post(f"/api/orgs/{slug}/byok/test")
        assert tested.status_code == 200, tested.text
        assert tested.json()["ok"] is True, tested.json()
        assert [d["ok"] for d in tested.json()["diagnoses"]] == [True]
        assert simulator.key_requests(CODING_KEY) == probes + 1
        assert CODING_KEY not in tested.text

        # A signed pull_request delivery: queued, reviewed, posted once.
        seen = len(fake_github.fake.requests)
        event = github_event("pull_request.opened", fake_github.url)
        head = event["pull_request"]["head"]["sha"]
        number = event["number"]
        resp = deliver(server, event, delivery="journey-opened")
        assert resp.status_code == 202, resp.text
        assert resp.json()["status"] == "queued" and resp.json()["duplicate"] is False, resp.json()
        job_id = int(resp.json()["job_id"])
        job = server.wait_job(org, job_id)
        assert job["status"] == "done", job

        posts = [
            r
            for r in fake_github.fake.requests[seen:]
            if r.method == "POST" and r.url.path == f"/repos/{REPO}/pulls/{number}/reviews"
        ]
        assert len(posts) == 1, [f"{r.method} {r.url.path}" for r in fake_github.fake.requests[seen:]]
        posted = json.loads(posts[0].content)
        assert posted["commit_id"] == head
        assert posted["event"] == "COMMENT"
        assert "hunkwise:review:" in posted["body"]  # the summary, with its fingerprint
        assert "glm-5.1" in posted["body"]
        comments = posted["comments"]
        assert comments, posted
        diff_paths = {line[6:] for line in fake_github.fake.diff.splitlines() if line.startswith("+++ b/")}
        assert {c["path"] for c in comments} <= diff_paths
        assert all(c["side"] == "RIGHT" and c["line"] >= 1 for c in comments)
        # The model that reviewed was the organization's key on the simulator.
        assert simulator.key_requests(CODING_KEY) >= probes + 2
        assert CODING_KEY not in server.logs()

        # The same delivery again (GitHub's "Redeliver"): a duplicate, nothing posted twice.
        again = deliver(server, event, delivery="journey-opened-redelivered")
        assert again.status_code == 202 and again.json()["duplicate"] is True, again.text
        reposted = [
            r
            for r in fake_github.fake.requests[seen:]
            if r.method == "POST" and r.url.path.endswith("/reviews")
        ]
        assert len(reposted) == 1

        # The reviews API lists it for the organization, with its findings.
        listed = org.get("/api/reviews")
        assert listed.status_code == 200, listed.text
        mine = [item for item in listed.json() if item["id"] == job_id]
        assert mine and mine[0]["status"] == "done", listed.json()
        detail = org.get(f"/api/reviews/{job_id}").json()
        assert detail["repository"] == REPO and detail["number"] == number
        assert len(detail["findings"]) == len(comments)

        # The organization's Coding Plan window after the review: the simulator's quota monitor
        # (through the server's SSRF guard) says how much is left; the ledger saw the review.
        windows = org.get(f"/api/orgs/{slug}/usage/windows")
        assert windows.status_code == 200, windows.text
        assert CODING_KEY not in windows.text
        (w,) = windows.json()["windows"]
        assert w["monitor"]["status"] == "ok", w["monitor"]
        assert w["five_hour"]["used"] >= 1 and w["multiplier"] in (2, 3) and w["model"] == "glm-5.1"
        five = w["five_hour"]["capacity"]
        assert five["source"] == "monitor" and five["limit"] == 120
        percentage = w["monitor"]["reading"]["windows"]["5h"]["percentage"]
        assert five["remaining"] == int(120 * (1 - percentage / 100) + 1e-9) < 120
        assert five["forecast"]["prompts_last_hour"] == w["five_hour"]["used"]


def test_byok_put_with_a_non_ascii_key_is_a_422_naming_the_field(
    server: Server, admin: httpx.Client, simulator: Simulator
) -> None:
    """Item 3: a key that cannot go into an HTTP header is refused when saved, by field name,
    and what was saved before stays."""
    slug, token = new_org(admin)
    with server.client(token) as org:
        assert org.put(f"/api/orgs/{slug}/byok", json=coding_byok(simulator)).status_code == 200
        bad = coding_byok(simulator)
        bad["main"]["api_key"] = "sk-clé-ключ-0001"
        resp = org.put(f"/api/orgs/{slug}/byok", json=bad)
        assert resp.status_code == 422, f"{resp.status_code} {resp.text}"
        locs = [tuple(d["loc"]) for d in resp.json()["detail"]]
        assert any(loc[-2:] == ("main", "api_key") for loc in locs), resp.json()
        assert "ключ" not in resp.text  # validation errors do not echo their input
        kept = org.get(f"/api/orgs/{slug}/byok").json()["main"]
        assert kept["api_key"] == "••••" + CODING_KEY[-4:], kept


def test_webhook_naming_another_tenants_repository_is_refused(
    server: Server, admin: httpx.Client, simulator: Simulator, fake_github: Any
) -> None:
    """Item 1: a tenant holds the shared webhook secret; a delivery whose repository path climbs
    out of its own organization must not make the server read or write another repository."""
    if admin.get("/api/orgs/codertocat/byok").status_code == 404:
        new_org(admin, "codertocat")
    assert admin.put("/api/orgs/codertocat/byok", json=coding_byok(simulator)).status_code == 200
    seen = len(fake_github.fake.requests)
    event = github_event("pull_request.opened", fake_github.url)
    event["repository"]["full_name"] = "Codertocat/../../repos/beta/secret-repo"
    event["pull_request"]["head"]["sha"] = "d" * 40  # not a head reviewed before
    resp = deliver(server, event, delivery="journey-traversal")
    if resp.status_code == 202 and "job_id" in resp.json():
        server.wait_job(admin, int(resp.json()["job_id"]))  # let whatever was queued run

    outside = [
        f"{r.method} {r.url.path}"
        for r in fake_github.fake.requests[seen:]
        if r.url.path != "/user" and not repo_path(r.url.path).lower().startswith("/repos/codertocat/")
    ]
    assert outside == [], f"the server called the fake GitHub outside codertocat's repositories: {outside}"
    assert resp.status_code == 422, f"{resp.status_code} {resp.text}"  # docs/webhooks.md, Identities
    assert resp.json()["detail"][0]["loc"] == ["body", "repository", "full_name"], resp.text
    jobs = admin.get("/api/reviews", params={"org": "codertocat"}).json()
    assert not [j for j in jobs if ".." in str(j["repository"])], jobs


def test_byok_test_against_an_unresolvable_host_is_a_dns_diagnosis(
    server: Server, admin: httpx.Client
) -> None:
    """Item 3: a base URL whose host does not resolve is saved with a warning, and Test answers
    with a network diagnosis naming the DNS failure, not a 500."""
    slug, token = new_org(admin)
    byok = {
        "main": {
            "provider": "openai_compatible",
            "base_url": "https://llm.journey.invalid/v1",
            "model": "glm-5.1",
            "api_key": DEV_KEY,
        }
    }
    with server.client(token) as org:
        saved = org.put(f"/api/orgs/{slug}/byok", json=byok)
        assert saved.status_code == 200, saved.text
        assert any("llm.journey.invalid" in w for w in saved.json()["warnings"]), saved.json()
        for label, body in (("stored", None), ("unsaved", byok)):
            resp = org.post(f"/api/orgs/{slug}/byok/test", json=body)
            assert resp.status_code == 200, f"{label}: {resp.status_code} {resp.text}"
            result = resp.json()
            assert result["ok"] is False
            (diagnosis,) = result["diagnoses"]
            assert diagnosis["kind"] == "network", f"{label}: {diagnosis}"
            text = (diagnosis["summary"] + " " + diagnosis["provider_message"]).lower()
            assert "llm.journey.invalid" in text and ("dns" in text or "resolve" in text), diagnosis
