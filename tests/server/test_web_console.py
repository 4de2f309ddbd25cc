"""The web console without a browser: sign-in, cookie flags, CSRF refusals, pages, key hygiene,
and the Models page's calls (save, preview, test before save against the simulator)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from srvkit import ADMIN, admin_headers
from webkit import CSRF_FIELD, create_org, page_csrf, sign_in

from call_records import call_record
from simkeys import CODING_LITE_KEY, DEV_KEY

SECRET_KEY = "sk-console-secret-key-9f3a"


@pytest.fixture
def console(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1")


def test_pages_redirect_to_sign_in_without_a_session(console: TestClient) -> None:
    for path in ("/console/models", "/console/reviews", "/console/usage", "/console/orgs"):
        resp = console.get(path, follow_redirects=False)
        assert resp.status_code == 303
        assert resp.headers["location"].startswith("/login?next=")
    assert console.get("/", follow_redirects=False).headers["location"] == "/login"


def test_org_token_sign_in_sets_a_hardened_cookie_and_shows_the_models_page(console: TestClient) -> None:
    token = create_org(console)
    form = console.get("/login")
    csrf = CSRF_FIELD.search(form.text).group(1)  # type: ignore[union-attr]
    resp = console.post("/login", data={"token": token, "csrf": csrf}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/console/models"
    cookie = next(v for k, v in resp.headers.multi_items() if k == "set-cookie" and "hunkwise_session" in v)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert token not in cookie
    page = console.get("/console/models")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    html = page.text
    # GLM 5.1 is the first card and marked recommended; other cards show context and price.
    first = html.index('name="main-card" value="')
    assert html[first:].startswith('name="main-card" value="glm-5.1"')
    assert "Recommended" in html[first : first + 400]
    assert "200k context" in html and "per 1M tokens" in html
    assert "Configure manually" in html and "Advanced settings" in html


def test_secure_cookie_behind_an_https_proxy(console: TestClient) -> None:
    token = create_org(console)
    form = console.get("/login")
    csrf = CSRF_FIELD.search(form.text).group(1)  # type: ignore[union-attr]
    resp = console.post(
        "/login",
        data={"token": token, "csrf": csrf},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert "Secure" in resp.headers["set-cookie"]


def test_sign_in_refuses_wrong_tokens_and_forged_forms(console: TestClient) -> None:
    form = console.get("/login")
    csrf = CSRF_FIELD.search(form.text).group(1)  # type: ignore[union-attr]
    wrong = console.post("/login", data={"token": "hw_not-a-token", "csrf": csrf}, follow_redirects=False)
    assert (
        wrong.status_code == 401
        and "not valid" in wrong.text
        and "hunkwise_session" not in wrong.headers.get("set-cookie", "")
    )
    forged = console.post("/login", data={"token": ADMIN, "csrf": "guessed"}, follow_redirects=False)
    assert forged.status_code == 403 and "hunkwise_session" not in forged.headers.get("set-cookie", "")


def test_a_tampered_or_revoked_session_is_signed_out(console: TestClient) -> None:
    token = create_org(console)
    sign_in(console, token)
    value = console.cookies.get("hunkwise_session")
    assert value
    console.cookies.clear()
    console.cookies.set("hunkwise_session", value[:-1] + ("A" if value[-1] != "A" else "B"))
    assert console.get("/console/models", follow_redirects=False).status_code == 303
    console.cookies.clear()
    console.cookies.set("hunkwise_session", value)
    assert console.get("/console/models", follow_redirects=False).status_code == 200
    # Deleting the organization deletes its tokens: the session ends with them.
    assert console.delete("/api/orgs/acme", headers=admin_headers()).status_code == 204
    assert console.get("/console/models", follow_redirects=False).status_code == 303


def test_state_changing_calls_need_the_csrf_token(console: TestClient) -> None:
    sign_in(console, create_org(console))
    byok = {"main": {"card": "glm-5.1", "api_key": SECRET_KEY}}
    assert console.put("/console/api/byok", json=byok).status_code == 403
    assert console.put("/console/api/byok", json=byok, headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert console.post("/console/api/byok/test", json=byok).status_code == 403
    assert console.post("/logout", data={}, follow_redirects=False).status_code == 403
    csrf = page_csrf(console)
    assert console.put("/console/api/byok", json=byok, headers={"X-CSRF-Token": csrf}).status_code == 200
    out = console.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and 'hunkwise_session=""' in out.headers["set-cookie"]


def test_the_key_never_appears_in_any_page(console: TestClient) -> None:
    sign_in(console, create_org(console))
    csrf = page_csrf(console)
    byok = {"main": {"card": "glm-5.1", "plan": "coding", "tier": "max", "api_key": SECRET_KEY}}
    saved = console.put("/console/api/byok", json=byok, headers={"X-CSRF-Token": csrf})
    assert saved.status_code == 200, saved.text
    assert SECRET_KEY not in saved.text and saved.json()["main"]["api_key"] == "••••9f3a"
    for path in ("/console/models", "/console/reviews", "/console/usage"):
        html = console.get(path).text
        assert SECRET_KEY not in html and SECRET_KEY[:-4] not in html, path
    models = console.get("/console/models").text
    assert 'placeholder="••••9f3a"' in models
    assert "Coding Plan" in models and "/api/coding/paas/v4" in models


def test_save_errors_name_the_field(console: TestClient) -> None:
    sign_in(console, create_org(console))
    csrf = page_csrf(console)
    bad = {"main": {"card": "glm-5.1", "plan": "developer", "tier": "max", "api_key": "k-1234"}}
    resp = console.put("/console/api/byok", json=bad, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "main", "tier"]
    bad = {"main": {"card": "glm-5.1", "temperature": 7, "api_key": "k-1234"}}
    resp = console.put("/console/api/byok", json=bad, headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"][:3] == ["body", "main", "temperature"]


def test_preview_shows_the_wrapped_body_and_locates_json_errors(console: TestClient) -> None:
    sign_in(console, create_org(console))
    csrf = page_csrf(console)
    headers = {"X-CSRF-Token": csrf}
    custom = '{"thinking": {"type": "enabled", "budget_tokens": 4096}}'
    resp = console.post(
        "/console/api/byok/preview?role=main",
        json={"card": "glm-5.1", "plan": "coding", "thinking": custom},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert data["namespace"] == "openaiCompatible"
    assert data["body"]["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert data["body"]["model"] == "glm-5.1"
    broken = '{\n  "thinking": {"type": "enabled",}\n}'
    resp = console.post(
        "/console/api/byok/preview?role=main", json={"card": "glm-5.1", "thinking": broken}, headers=headers
    )
    assert resp.status_code == 422
    err = resp.json()["detail"][0]
    assert err["loc"] == ["body", "main", "thinking"]
    assert "line 2, column" in err["msg"]
    # The JSON API offers the same preview to Bearer callers.
    token_resp = console.post(
        "/api/orgs/acme/byok/preview",
        json={"card": "gpt-5-mini", "thinking": "high"},
        headers=admin_headers(),
    )
    assert token_resp.status_code == 200 and token_resp.json()["body"]["reasoning_effort"] == "high"


def test_test_before_save_diagnoses_a_developer_key_on_the_coding_plan(console: TestClient, sim) -> None:
    sign_in(console, create_org(console))
    headers = {"X-CSRF-Token": page_csrf(console)}
    unsaved = {
        "main": {"card": "glm-5.1", "plan": "coding", "base_url": sim.zai_coding_url, "api_key": DEV_KEY}
    }
    resp = console.post("/console/api/byok/test", json=unsaved, headers=headers)
    assert resp.status_code == 200, resp.text
    (diag,) = resp.json()["diagnoses"]
    assert not diag["ok"]
    assert "this is a Developer API key" in diag["summary"]
    # Nothing was saved by testing.
    assert console.get("/api/orgs/acme/byok", headers=admin_headers()).json()["main"] is None


def test_test_reuses_the_stored_key_only_for_the_same_host(console: TestClient, sim) -> None:
    sign_in(console, create_org(console))
    headers = {"X-CSRF-Token": page_csrf(console)}
    byok = {
        "main": {
            "card": "glm-5.1",
            "plan": "coding",
            "base_url": sim.zai_coding_url,
            "api_key": CODING_LITE_KEY,
        }
    }
    assert console.put("/console/api/byok", json=byok, headers=headers).status_code == 200
    keyless = {"main": {"card": "glm-5.1", "plan": "coding", "tier": "lite", "base_url": sim.zai_coding_url}}
    resp = console.post("/console/api/byok/test", json=keyless, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["ok"] is True, resp.json()
    elsewhere = {"main": {"card": "glm-5.1", "plan": "coding"}}  # api.z.ai: another host
    resp = console.post("/console/api/byok/test", json=elsewhere, headers=headers)
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "main", "api_key"]


def test_admin_picks_or_creates_an_organization(console: TestClient) -> None:
    sign_in(console, ADMIN)
    orgs = console.get("/console/orgs")
    assert "No organizations yet" in orgs.text
    csrf = CSRF_FIELD.search(orgs.text).group(1)  # type: ignore[union-attr]
    made = console.post("/console/orgs", data={"csrf": csrf, "action": "create", "slug": "Beta-Co"})
    assert made.status_code == 200 and "created" in made.text
    assert "hw_" in made.text or "token" in made.text
    assert console.get("/console/models").status_code == 200
    bad = console.post("/console/orgs", data={"csrf": csrf, "action": "select", "slug": "missing"})
    assert bad.status_code == 422 and "does not exist" in bad.text


def test_fixed_mode_models_page_is_read_only(make_client: Callable[..., TestClient]) -> None:
    client = make_client(HUNKWISE_MODEL="glm-5.1", ZAI_API_KEY=SECRET_KEY, HUNKWISE_PLAN="coding")
    sign_in(client, create_org(client))
    html = client.get("/console/models").text
    assert "Fixed mode: read-only" in html and "HUNKWISE_MODEL" in html
    assert 'id="byok-form"' not in html
    assert SECRET_KEY not in html and "••••9f3a" in html
    headers = {"X-CSRF-Token": page_csrf(client)}
    refused = client.put("/console/api/byok", json={"main": {"card": "glm-5.1"}}, headers=headers)
    assert refused.status_code == 409


def test_static_assets_are_served_from_the_package(console: TestClient) -> None:
    css = console.get("/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert console.get("/static/models.js").status_code == 200
    assert console.get("/static/..%2Fapp.py").status_code == 404
    assert console.get("/static/missing.js").status_code == 404


def test_reviews_and_usage_pages_show_recorded_jobs(console: TestClient) -> None:
    from hunkwise.store import jobs as repo
    from hunkwise.store.ledger import record_run
    from hunkwise.store.records import RunRecord

    engine = console.app.state.runtime.engine  # type: ignore[attr-defined]
    token = create_org(console)
    calls = [
        call_record(
            slot="main",
            provider="zai",
            model="glm-5.1",
            outcome="quota_window",
            status=429,
            code="1308",
            credential_id="zai|https://api.z.ai/api/coding/paas/v4|abcdef12",
            plan="coding",
            tier="lite",
        ),
        call_record(
            slot="fallback",
            provider="openai",
            model="gpt-5-mini",
            outcome="ok",
            input_tokens=1200,
            output_tokens=300,
            cost_usd=0.0009,
            failover=True,
        ),
        call_record(
            slot="main",
            provider="zai",
            model="glm-5.1",
            outcome="ok",
            input_tokens=800,
            output_tokens=200,
            cost_usd=0.002,
            credential_id="zai|https://api.z.ai/api/coding/paas/v4|abcdef12",
            plan="coding",
            tier="lite",
        ),
    ]
    run_id = record_run(engine, RunRecord(source="github", repository="acme/api"), calls)
    job, _ = repo.enqueue(
        engine,
        org="acme",
        kind="github",
        payload={"platform": "github", "repository": "acme/api", "number": 7, "head_sha": "abc123"},
        dedupe_key="k1",
    )
    claimed = repo.claim(engine, "w1", lease_s=30)
    assert claimed is not None
    report = {
        "findings": [
            {
                "path": "app.py",
                "start_line": 3,
                "end_line": 4,
                "severity": "high",
                "category": "bug",
                "title": "<script>alert(1)</script> unchecked None",
                "body": "x may be None",
                "suggestion": "if x is None:\n    return",
                "model": "glm-5.1",
            }
        ],
        "summary": {"findings": 1, "by_severity": {"high": 1}, "failed_chunks": []},
        "usage": {
            "input_tokens": 2000,
            "output_tokens": 500,
            "cost_usd": 0.0029,
            "failovers": 1,
            "models": {"glm-5.1": {}, "gpt-5-mini": {}},
        },
        "duration_s": 3.2,
    }
    # As a review job stores it: the report once, in the checkpoint; the result is the post's.
    assert repo.save_checkpoint(engine, job.id, "w1", {"report": report, "run_id": run_id, "post": {}})
    assert repo.complete(engine, job.id, "w1", {"posted": None})
    sign_in(console, token)
    listing = console.get("/console/reviews").text
    assert "acme/api" in listing and "#7" in listing and "1 high" in listing and "gpt-5-mini" in listing
    assert "No reviews with status failed" in console.get("/console/reviews?status=failed").text
    detail = console.get(f"/console/reviews/{job.id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail and "<script>alert" not in detail
    assert "app.py:3–4" in detail and "quota_window" in detail and "HTTP 429" in detail
    usage = console.get("/console/usage").text
    assert "<svg" in usage and "glm-5.1" in usage and "gpt-5-mini" in usage
    assert 'id="total-failovers">1<' in usage
    assert "Coding Plan quota windows" in usage and "1 of 120 prompts" in usage
    # Another organization sees neither the review nor the usage.
    other = create_org(console, "other")
    sign_in(console, other)
    assert console.get(f"/console/reviews/{job.id}").status_code == 404
    assert "acme/api" not in console.get("/console/reviews").text
    assert 'id="total-calls">0<' in console.get("/console/usage").text
    assert json.dumps(report)  # the report stayed JSON-safe


def test_reviews_are_paged_newest_first(console: TestClient) -> None:
    from hunkwise.store import jobs as repo

    engine = console.app.state.runtime.engine  # type: ignore[attr-defined]
    sign_in(console, create_org(console))
    for n in range(52):
        payload = {"platform": "github", "repository": "acme/api", "number": n}
        repo.enqueue(engine, org="acme", kind="github", payload=payload, dedupe_key=f"k{n}")
    first = console.get("/console/reviews").text
    assert first.count("<tr>") == 51  # header + 50
    assert "#51<" in first and "#1<" not in first and "Older →" in first and "← Newer" not in first
    second = console.get("/console/reviews?page=2").text
    assert second.count("<tr>") == 3 and "#1<" in second and "#0<" in second and "← Newer" in second
    queued = console.get("/console/reviews?status=queued&page=2").text
    assert 'href="/console/reviews?status=queued&amp;page=1"' in queued
