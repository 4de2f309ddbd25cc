"""Journey: one global model for every organization (fixed mode).

The operator sets the fixed-mode variables of docs/configuration.md ("Fixed mode": a Coding Plan
key as Main, a Developer API key as Fallback) with ``ZAI_BASE_URL`` pointing both at the
simulator (the documented way to put a proxy in front of Z.AI), and runs ``hunkwise serve``
with them. BYOK is then read-only (409 on writes), Test probes the global slots, a webhook review
is served by the fixed model, and ``hunkwise test`` with the same environment agrees.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from journeykit import (
    CODING_KEY,
    DEV_KEY,
    Server,
    Simulator,
    clean_env,
    deliver,
    explain,
    github_event,
    run_cli,
    server_env,
)

from platform_fakes import is_status

pytestmark = pytest.mark.journey


def fixed_env(sim: Simulator) -> dict[str, str]:
    return {
        "HUNKWISE_MODEL": "glm-5.1",
        "HUNKWISE_PLAN": "coding",
        "HUNKWISE_TIER": "lite",
        "HUNKWISE_API_KEY": CODING_KEY,
        "HUNKWISE_FALLBACK_PROVIDER": "zai",
        "HUNKWISE_FALLBACK_PLAN": "developer",
        "HUNKWISE_FALLBACK_API_KEY": DEV_KEY,
        "ZAI_BASE_URL": sim.base_url,
    }


@pytest.fixture(scope="module")
def server(journey_dir: Path, fake_github: Any, simulator: Simulator) -> Iterator[Server]:
    env = server_env(journey_dir / "server-home", fake_github.url, fixed_env(simulator))
    srv = Server(env, journey_dir)
    yield srv
    srv.stop()


@pytest.fixture
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def test_fixed_mode_byok_is_read_only_and_reviews_use_the_fixed_model(
    server: Server, admin: httpx.Client, simulator: Simulator, fake_github: Any
) -> None:
    assert httpx.get(f"{server.url}/readyz", timeout=10).json()["mode"] == "fixed"
    if admin.get("/api/orgs/codertocat/byok").status_code != 404:
        admin.delete("/api/orgs/codertocat")
    created = admin.post("/api/orgs", json={"slug": "codertocat"})
    assert created.status_code == 201, created.text
    with server.client(created.json()["token"]) as org:
        # GET shows the global configuration, masked and read-only.
        got = org.get("/api/orgs/codertocat/byok")
        assert got.status_code == 200, got.text
        assert CODING_KEY not in got.text and DEV_KEY not in got.text
        shown = got.json()
        assert (shown["mode"], shown["read_only"]) == ("fixed", True)
        assert shown["main"]["model"] == "glm-5.1" and shown["main"]["plan"] == "coding"
        assert shown["main"]["base_url"] == simulator.coding_url
        assert shown["main"]["api_key"].endswith(CODING_KEY[-4:]) and shown["main"]["api_key"].startswith(
            "••••"
        )
        assert shown["fallback"]["plan"] == "developer"
        assert shown["fallback"]["base_url"] == simulator.developer_url

        # Writes are refused with 409, saying why; nothing changes.
        byok = {"main": {"card": "glm-5.1", "base_url": simulator.developer_url, "api_key": DEV_KEY}}
        put = org.put("/api/orgs/codertocat/byok", json=byok)
        assert put.status_code == 409, put.text
        assert "HUNKWISE_MODEL" in put.text
        assert org.delete("/api/orgs/codertocat/byok").status_code == 409
        assert org.get("/api/orgs/codertocat/byok").json() == shown

        # Test probes the global slots through the simulator.
        tested = org.post("/api/orgs/codertocat/byok/test")
        assert tested.status_code == 200, tested.text
        assert tested.json()["mode"] == "fixed" and tested.json()["ok"] is True, tested.json()
        assert len(tested.json()["diagnoses"]) == 2

        # A webhook review is served by the fixed Main (the Coding Plan key).
        coding_before = simulator.key_requests(CODING_KEY)
        dev_before = simulator.key_requests(DEV_KEY)
        seen = len(fake_github.fake.requests)
        event = github_event("pull_request.opened", fake_github.url)
        resp = deliver(server, event, delivery="journey-fixed")
        assert resp.status_code == 202 and resp.json()["status"] == "queued", resp.text
        job = server.wait_job(org, int(resp.json()["job_id"]))
        assert job["status"] == "done", job
        posts = [r for r in fake_github.fake.requests[seen:] if r.method == "POST" and not is_status(r)]
        assert [r.url.path for r in posts] == [
            f"/repos/Codertocat/Hello-World/pulls/{event['number']}/reviews"
        ]
        posted = json.loads(posts[0].content)
        assert "glm-5.1" in posted["body"] and posted["comments"], posted
        assert simulator.key_requests(CODING_KEY) > coding_before
        assert simulator.key_requests(DEV_KEY) == dev_before, "the fallback served although Main was fine"
        detail = org.get(f"/api/reviews/{job['id']}").json()
        assert set(detail["usage"]["models"]) == {"glm-5.1"} and detail["usage"]["failovers"] == 0


def test_hunkwise_test_with_the_same_environment_passes(journey_dir: Path, simulator: Simulator) -> None:
    env = clean_env(journey_dir / "cli-home", fixed_env(simulator))
    result = run_cli(["test", "--json"], env, cwd=journey_dir)
    assert result.returncode == 0, explain(result)
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert [(s["name"], s["ok"]) for s in report["slots"]] == [("main", True), ("fallback", True)], report
    assert [s["config"]["base_url"] for s in report["slots"]] == [
        simulator.coding_url,
        simulator.developer_url,
    ]
    assert CODING_KEY not in result.stdout and DEV_KEY not in result.stdout
