"""The spill policy through the API and the console, a review's priority and deferral as the API
and the console show them, and ``POST /api/jobs/{id}/run-now`` (issue 14, item 3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers, bearer
from webkit import create_org, page_csrf, sign_in

from hunkwise.config.scheduling import PRIORITIES
from hunkwise.store import jobs as repo
from simkeys import DEV_KEY

RESET = datetime(2031, 1, 6, 9, 0, tzinfo=UTC)


def _org(client: TestClient, slug: str) -> str:
    resp = client.post("/api/orgs", json={"slug": slug}, headers=admin_headers())
    assert resp.status_code == 201, resp.text
    assert resp.json()["spill"] is None
    assert resp.json()["spill_policy"] == {"policy": "when-exhausted", "source": "server default"}
    return str(resp.json()["token"])


def _deferred_job(client: TestClient, org: str = "acme") -> int:
    """A review job of ``org`` that a worker deferred until :data:`RESET`."""
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    payload = {"platform": "github", "repository": f"{org}/api", "number": 7, "head_sha": "c" * 40}
    job, _ = repo.enqueue(
        engine, org=org, kind="github_review", payload=payload, dedupe_key=f"{org}-7",
        priority=PRIORITIES["synchronize"], now=datetime.now(UTC) - timedelta(days=1),
    )  # fmt: skip
    claimed = repo.claim_by_id(engine, job.id, "test-worker", lease_s=60)
    assert claimed.state == "claimed"
    assert repo.defer(engine, job.id, "test-worker", RESET, "6 prompt(s) needed, 1 of 120 left")
    return job.id


def test_set_show_and_reset_the_spill_policy(client: TestClient) -> None:
    token = _org(client, "acme")
    got = client.patch("/api/orgs/acme", json={"spill": "never"}, headers=bearer(token))
    assert got.status_code == 200, got.text
    assert got.json()["spill"] == "never"
    assert got.json()["spill_policy"] == {"policy": "never", "source": "organization setting"}
    assert client.get("/api/orgs/acme", headers=bearer(token)).json()["spill"] == "never"
    kept = client.patch("/api/orgs/acme", json={"max_cost": 3}, headers=bearer(token)).json()
    assert kept["spill"] == "never" and kept["max_cost"] == 3.0, "only the fields sent change"
    back = client.patch("/api/orgs/acme", json={"spill": None}, headers=bearer(token)).json()
    assert back["spill"] is None and back["spill_policy"]["source"] == "server default"


def test_a_bad_spill_policy_is_422_naming_the_field(client: TestClient) -> None:
    token = _org(client, "acme")
    resp = client.patch("/api/orgs/acme", json={"spill": "sometimes"}, headers=bearer(token))
    assert resp.status_code == 422
    [err] = resp.json()["detail"]
    assert err["loc"] == ["body", "spill"] and "is not a spill policy" in err["msg"]


def test_server_default_from_hunkwise_spill(make_client: Callable[..., TestClient]) -> None:
    client = make_client(HUNKWISE_SPILL="to-finish-faster")
    resp = client.post("/api/orgs", json={"slug": "acme"}, headers=admin_headers()).json()
    assert resp["spill_policy"] == {"policy": "to-finish-faster", "source": "server default"}
    with pytest.raises(Exception, match="HUNKWISE_SPILL"):
        make_client(HUNKWISE_SPILL="always")  # the server refuses to start


def test_fixed_mode_only_the_admin_sets_it(make_client: Callable[..., TestClient], sim) -> None:
    client = make_client(HUNKWISE_MODEL="glm-5.1", ZAI_API_KEY=DEV_KEY, ZAI_BASE_URL=sim.base_url)
    token = _org(client, "acme")
    refused = client.patch("/api/orgs/acme", json={"spill": "to-finish-faster"}, headers=bearer(token))
    assert refused.status_code == 409 and "only the administrator" in refused.json()["detail"]
    assert client.patch("/api/orgs/acme", json={"spill": "never"}, headers=admin_headers()).status_code == 200


def test_a_deferred_review_in_the_api_and_run_now(client: TestClient) -> None:
    token = _org(client, "acme")
    globex = _org(client, "globex")
    job_id = _deferred_job(client)
    review = client.get(f"/api/reviews/{job_id}", headers=bearer(token)).json()
    assert review["status"] == "queued" and review["priority"] == "synchronize"
    assert review["deferred"] is True and review["deferred_until"] == "2031-01-06T09:00:00+00:00"
    assert review["deferred_label"] == "deferred until 2031-01-06 09:00 UTC"
    assert review["defer_reason"] == "6 prompt(s) needed, 1 of 120 left"
    listed = client.get("/api/reviews", headers=bearer(token)).json()
    assert [r["deferred_label"] for r in listed if r["id"] == job_id] == [
        "deferred until 2031-01-06 09:00 UTC"
    ]

    assert client.post(f"/api/jobs/{job_id}/run-now", headers=bearer(globex)).status_code == 404
    asked = client.post(f"/api/jobs/{job_id}/run-now", headers=bearer(token))
    assert asked.status_code == 200, asked.text
    assert asked.json()["priority"] == "manual" and asked.json()["deferred"] is False
    after = client.get(f"/api/reviews/{job_id}", headers=bearer(token)).json()
    assert after["priority"] == "manual" and after["deferred_until"] is None


def test_run_now_refuses_a_finished_job(client: TestClient) -> None:
    token = _org(client, "acme")
    job_id = _deferred_job(client)
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    repo.run_now(engine, job_id, priority=PRIORITIES["manual"])
    job = repo.claim_by_id(engine, job_id, "w", lease_s=60)
    assert job.state == "claimed" and repo.complete(engine, job_id, "w", {})
    refused = client.post(f"/api/jobs/{job_id}/run-now", headers=bearer(token))
    assert refused.status_code == 409 and "only a queued job" in refused.json()["detail"]


def test_console_shows_priority_and_deferral_and_sets_the_policy(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    token = create_org(client)
    job_id = _deferred_job(client)
    sign_in(client, token)
    listing = client.get("/console/reviews").text
    assert "deferred until 2031-01-06 09:00 UTC" in listing and "synchronize" in listing
    page = client.get(f"/console/reviews/{job_id}").text
    assert 'id="deferred"' in page and "6 prompt(s) needed, 1 of 120 left" in page

    models = client.get("/console/models").text
    assert "When Main&#39;s window runs short" in models or "When Main's window runs short" in models
    assert 'id="spill-now">when-exhausted' in models
    csrf = page_csrf(client)
    assert client.post("/console/spill", data={"spill": "never"}).status_code == 403  # no CSRF
    saved = client.post("/console/spill", data={"spill": "never", "csrf": csrf}, follow_redirects=False)
    assert saved.status_code == 303
    assert client.get("/api/orgs/acme", headers=bearer(token)).json()["spill"] == "never"
    bad = client.post("/console/spill", data={"spill": "always", "csrf": csrf})
    assert bad.status_code == 422 and "is not a spill policy" in bad.text
    client.post("/console/spill", data={"spill": "", "csrf": csrf})  # empty: the server default
    assert client.get("/api/orgs/acme", headers=bearer(token)).json()["spill"] is None
