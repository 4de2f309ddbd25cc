"""Journey: a team on a Coding Plan Lite key with ``spill = "never"``; a review the window cannot
cover waits for the reset instead of failing, and shows it.

A real ``hunkwise serve`` (its config file lowers Lite's 5-hour ceiling to 3 prompts, as a user
overrides a tier with ``[tiers.lite]``) and a real ``hunkwise sim`` metering the same ceiling with
the peak-hour multiplier, reached through the base URL and key. The first pull request's review
spends the window; new commits on it arrive: that review is deferred, and the API says until when
(UTC, with the date) and why. The provider's window then resets (the simulator's clock is
advanced five hours) and a person asks for the deferred review: it runs on Main and is posted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from journeykit import (
    CODING_KEY,
    JOB_TIMEOUT_S,
    Server,
    Simulator,
    clean_env,
    deliver,
    github_event,
    server_env,
)

pytestmark = pytest.mark.journey

QUOTA = "3"  # prompts per 5 hours: one GLM-5.1 request counts 2 (off-peak) or 3 (peak)


@pytest.fixture(scope="module")
def simulator(journey_dir: Path) -> Iterator[Simulator]:
    """This journey's own simulator: Lite's window as small as the server's config says, metered
    with the peak multiplier (what the server assumes unless its catalog's [peak_hours] says 1x)."""
    sim = Simulator(
        clean_env(journey_dir / "sim-home"), journey_dir, ["--quota-5h", QUOTA, "--peak-multiplier"]
    )
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def server(journey_dir: Path, fake_github: Any) -> Iterator[Server]:
    home = journey_dir / "server-home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "hunkwise.toml"
    config.write_text(f"[tiers.lite]\nprompts_5h = {QUOTA}\n")
    srv = Server(server_env(home, fake_github.url, {"HUNKWISE_CONFIG": str(config)}), journey_dir)
    yield srv
    srv.stop()


def wait_review(server: Server, api: httpx.Client, job_id: int, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        resp = api.get(f"/api/reviews/{job_id}")
        assert resp.status_code == 200, resp.text
        review = dict(resp.json())
        if done(review):
            return review
        time.sleep(0.1)
    raise server.failure(f"review {job_id} did not get there in {JOB_TIMEOUT_S:.0f} s: {review}")


def test_a_review_the_window_cannot_cover_is_deferred_then_runs_after_the_reset(
    server: Server, simulator: Simulator, fake_github: Any
) -> None:
    with server.client() as admin:
        admin.delete("/api/orgs/codertocat")
        created = admin.post("/api/orgs", json={"slug": "codertocat", "name": "Codertocat"})
        assert created.status_code == 201, created.text
        token = created.json()["token"]
    with server.client(token) as org:
        main = {"card": "glm-5.1", "plan": "coding", "tier": "lite", "api_key": CODING_KEY}
        byok = {"main": main | {"base_url": simulator.coding_url}}
        assert org.put("/api/orgs/codertocat/byok", json=byok).status_code == 200
        patched = org.patch("/api/orgs/codertocat", json={"spill": "never"})
        assert patched.status_code == 200, patched.text
        assert patched.json()["spill_policy"] == {"policy": "never", "source": "organization setting"}
        refused = org.patch("/api/orgs/codertocat", json={"spill": "sometimes"})
        assert refused.status_code == 422 and "is not a spill policy" in refused.text

        # A new pull request: the window covers it; its review spends the window.
        opened = deliver(
            server, github_event("pull_request.opened", fake_github.url), delivery=str(uuid.uuid4())
        )
        assert opened.status_code == 202, opened.text
        first = server.wait_job(org, opened.json()["job_id"])
        assert first["status"] == "done", first
        assert first["priority"] == "opened" and first["deferred"] is False

        # New commits on it: the window cannot cover this review, and the policy says wait.
        event = github_event("pull_request.synchronize", fake_github.url)
        event["pull_request"]["head"]["sha"] = "d" * 40  # a new head: a new review
        pushed = deliver(server, event, delivery=str(uuid.uuid4()))
        assert pushed.status_code == 202, pushed.text
        job_id = pushed.json()["job_id"]
        waiting = wait_review(server, org, job_id, lambda r: r["deferred"])
        assert waiting["status"] == "queued" and waiting["priority"] == "synchronize"
        assert waiting["deferred_label"].startswith("deferred until 20") and waiting[
            "deferred_label"
        ].endswith(" UTC")
        assert waiting["deferred_until"].endswith("+00:00")
        assert f"of {QUOTA} left in the 5-hour window" in waiting["defer_reason"]
        assert "spill = 'never'" in waiting["defer_reason"]
        listed = org.get("/api/reviews").json()
        assert any(r["id"] == job_id and r["deferred_label"] == waiting["deferred_label"] for r in listed)
        calls_before = simulator.key_requests(CODING_KEY)

        # The provider's window resets; a person asks for the review: it runs on Main now.
        httpx.post(f"{simulator.base_url}/_sim/advance", json={"seconds": 5 * 3600 + 60}, timeout=10)
        asked = org.post(f"/api/jobs/{job_id}/run-now")
        assert asked.status_code == 200, asked.text
        assert asked.json()["priority"] == "manual" and asked.json()["deferred"] is False
        done = server.wait_job(org, job_id)
    assert done["status"] == "done", done
    assert done["deferred"] is False and done["scheduled"]["action"] == "main"
    assert simulator.key_requests(CODING_KEY) > calls_before, "Main answered after the reset"
    assert "never deferred" in done["scheduled"]["reason"]
