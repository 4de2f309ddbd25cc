"""``GET /api/plan/advice`` and the console's Plan page: authenticated like the rest of the API,
scoped to the caller's organization, its BYOK Fallback pricing the spill."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers, bearer
from webkit import create_org, sign_in

from call_records import call_record
from hunkwise.catalog.loader import load_catalog
from hunkwise.store import jobs as repo
from hunkwise.store.ledger import record_run
from hunkwise.store.records import RunRecord

GLM = load_catalog().card("glm-5.1")
assert GLM is not None


def _glm_call(tokens_in: int, hours_ago: float) -> object:
    assert GLM is not None
    return call_record(
        model="glm-5.1",
        input_tokens=tokens_in,
        output_tokens=1_000,
        cost_usd=GLM.cost_usd(tokens_in, 1_000),
        created_at=datetime.now(UTC) - timedelta(hours=hours_ago),
        plan="developer",
    )


def _org_review(client: TestClient, org: str, key: str, calls: list[object]) -> None:
    """A review job of ``org`` whose checkpoint names the ledger run, as the review job stores it."""
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    run_id = record_run(engine, RunRecord(source="github", idempotency_key=key), calls)  # type: ignore[arg-type]
    job, _ = repo.enqueue(engine, org=org, kind="github", payload={}, dedupe_key=key)
    assert repo.claim_by_id(engine, job.id, "w1", lease_s=30) is not None
    assert repo.save_checkpoint(engine, job.id, "w1", {"run_id": run_id})


@pytest.fixture
def server(make_client: Callable[..., TestClient]) -> tuple[TestClient, str, str]:
    client = make_client()
    acme, other = create_org(client, "acme"), create_org(client, "globex")
    _org_review(client, "acme", "a", [_glm_call(10_000, 2), _glm_call(10_000, 3)])
    _org_review(client, "globex", "g", [_glm_call(50_000, 1)])
    return client, acme, other


def test_an_org_token_sees_its_own_calls_and_the_admin_sees_all(server: tuple[TestClient, str, str]) -> None:
    assert GLM is not None
    client, acme, _ = server
    mine = client.get("/api/plan/advice", headers=bearer(acme))
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["org"] == "acme" and body["calls"]["real"] == 2
    assert body["developer_api"]["cost_usd"] == pytest.approx(2 * GLM.cost_usd(10_000, 1_000), abs=1e-6)
    assert body["recommendation"]["option"] == "developer"
    everything = client.get("/api/plan/advice", headers=admin_headers()).json()
    assert everything["org"] is None and everything["calls"]["real"] == 3
    one = client.get("/api/plan/advice", params={"org": "globex"}, headers=admin_headers()).json()
    assert one["calls"]["real"] == 1


def test_auth_and_bad_input(server: tuple[TestClient, str, str]) -> None:
    client, acme, _ = server
    assert client.get("/api/plan/advice").status_code == 401
    other = client.get("/api/plan/advice", params={"org": "globex"}, headers=bearer(acme))
    assert other.status_code == 403
    bad = client.get("/api/plan/advice", params={"since": "soon"}, headers=bearer(acme))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "since"]
    fb = client.get("/api/plan/advice", params={"fallback": "gpt-9"}, headers=bearer(acme))
    assert fb.status_code == 422 and "unknown Fallback model" in fb.json()["detail"][0]["msg"]


def test_the_org_byok_fallback_prices_the_spill(server: tuple[TestClient, str, str]) -> None:
    client, acme, _ = server
    fallback = {"provider": "openai", "model": "gpt-5-mini", "api_key": "sk-fallback-0000"}
    main = {"card": "glm-5.1", "plan": "coding", "tier": "lite", "api_key": "zai-key-0000-wxyz"}
    resp = client.put(
        "/api/orgs/acme/byok", json={"main": main, "fallback": fallback}, headers=admin_headers()
    )
    assert resp.status_code == 200, resp.text
    body = client.get("/api/plan/advice", headers=bearer(acme)).json()
    assert "gpt-5-mini (the Fallback)" in body["fallback"]
    assert "sk-fallback" not in str(body)  # never a key in an answer
    named = client.get(
        "/api/plan/advice", params={"fallback": "claude-haiku-4-5"}, headers=bearer(acme)
    ).json()
    assert "claude-haiku-4-5 (the Fallback)" in named["fallback"]


def test_the_console_plan_page_shows_the_same_figures(server: tuple[TestClient, str, str]) -> None:
    client, acme, _ = server
    api = client.get("/api/plan/advice", headers=bearer(acme)).json()
    sign_in(client, acme, next_url="/console/plan")
    html = client.get("/console/plan").text
    assert '<a href="/console/plan" aria-current="page">Plan</a>' in html
    assert 'id="recommended-option">developer<' in html
    assert api["recommendation"]["summary"] in html
    assert 'id="plan-calls">2<' in html
    assert 'id="tier-lite"' in html and 'id="tier-max"' in html
    assert "Prices and limits used, with their sources and dates" in html
    bad = client.get("/console/plan", params={"since": "soon"})
    assert bad.status_code == 400 and 'id="plan-error"' in bad.text and "--since expects" in bad.text


def test_the_console_plan_page_for_an_empty_period(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    token = create_org(client, "quiet")
    sign_in(client, token, next_url="/console/plan")
    html = client.get("/console/plan", params={"since": "7d"}).text
    assert "No real model calls in the period" in html
    assert 'id="plan-table"' not in html
