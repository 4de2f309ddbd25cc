"""Organization tokens: list, create (shown once), revoke, over the JSON API and the console page."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers, bearer
from webkit import CSRF_FIELD, create_org, page_csrf, sign_in

LISTED = {"id", "label", "prefix", "created_at", "last_used_at", "revoked_at"}


def test_list_create_revoke_over_the_api(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hunkwise.server")
    first = create_org(client)
    (only,) = client.get("/api/orgs/acme/tokens", headers=admin_headers()).json()
    assert set(only) == LISTED and only["prefix"] == first[:11] and only["revoked_at"] is None
    assert only["last_used_at"] is None  # the admin listed; the token itself was never presented

    made = client.post("/api/orgs/acme/tokens", json={"label": "CI"}, headers=bearer(first))
    assert made.status_code == 201, made.text
    second = made.json()["token"]
    assert second.startswith("hw_org_") and made.json()["label"] == "CI" and made.json()["org"] == "acme"
    assert client.get("/api/orgs/acme/byok", headers=bearer(second)).status_code == 200

    listed = client.get("/api/orgs/acme/tokens", headers=bearer(second)).json()
    assert [t["label"] for t in listed] == ["CI", "created with the organization"]
    for row in listed:
        assert set(row) == LISTED and datetime.fromisoformat(row["last_used_at"])  # both were used
    body = str(listed)
    for secret in (first, second, hashlib.sha256(first.encode()).hexdigest()):
        assert secret not in body

    first_id = listed[1]["id"]
    assert client.delete(f"/api/orgs/acme/tokens/{first_id}", headers=bearer(second)).status_code == 204
    gone = client.get("/api/orgs/acme/byok", headers=bearer(first))
    assert gone.status_code == 401 and "revoked" in gone.json()["detail"]
    after = client.get("/api/orgs/acme/tokens", headers=admin_headers()).json()
    assert after[1]["revoked_at"] is not None and after[0]["revoked_at"] is None
    assert client.delete(f"/api/orgs/acme/tokens/{first_id}", headers=admin_headers()).status_code == 204
    assert client.delete("/api/orgs/acme/tokens/999", headers=admin_headers()).status_code == 404
    assert client.get("/api/orgs/nobody/tokens", headers=admin_headers()).status_code == 404
    logged = [r.getMessage() for r in caplog.records if "organization acme: token" in r.getMessage()]
    assert logged == [
        f"organization acme: token {listed[0]['id']} created by token {first_id} of acme",
        f"organization acme: token {first_id} revoked by token {listed[0]['id']} of acme",
    ]  # the admin's second revocation changed nothing, so it is not logged
    assert first not in caplog.text and second not in caplog.text


def test_the_last_working_token_is_revoked_only_when_confirmed(client: TestClient) -> None:
    token = create_org(client)
    (only,) = client.get("/api/orgs/acme/tokens", headers=bearer(token)).json()
    refused = client.delete(f"/api/orgs/acme/tokens/{only['id']}", headers=bearer(token))
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "last working token" in detail and "confirm_last=true" in detail
    assert client.get("/api/orgs/acme/byok", headers=bearer(token)).status_code == 200
    done = client.delete(f"/api/orgs/acme/tokens/{only['id']}?confirm_last=true", headers=bearer(token))
    assert done.status_code == 204
    assert client.get("/api/orgs/acme/byok", headers=bearer(token)).status_code == 401
    # The admin can always issue a new one.
    fresh = client.post("/api/orgs/acme/tokens", headers=admin_headers()).json()["token"]
    assert client.get("/api/orgs/acme/byok", headers=bearer(fresh)).status_code == 200


def test_bad_token_requests_name_the_field(client: TestClient) -> None:
    create_org(client)
    long = client.post("/api/orgs/acme/tokens", json={"label": "x" * 201}, headers=admin_headers())
    assert long.status_code == 422 and long.json()["detail"][0]["loc"] == ["body", "label"]
    extra = client.post("/api/orgs/acme/tokens", json={"scope": "all"}, headers=admin_headers())
    assert extra.status_code == 422 and extra.json()["detail"][0]["loc"] == ["body", "scope"]
    bad_id = client.delete("/api/orgs/acme/tokens/abc", headers=admin_headers())
    assert bad_id.status_code == 422 and bad_id.json()["detail"][0]["loc"] == ["path", "token_id"]


def test_revoking_a_token_ends_the_console_sessions_opened_with_it(client: TestClient) -> None:
    token = create_org(client)
    spare = client.post("/api/orgs/acme/tokens", headers=admin_headers()).json()
    sign_in(client, token)
    assert client.get("/console/models", follow_redirects=False).status_code == 200
    listed = client.get("/api/orgs/acme/tokens", headers=bearer(spare["token"])).json()
    mine = next(t["id"] for t in listed if t["id"] != spare["id"])
    assert client.delete(f"/api/orgs/acme/tokens/{mine}", headers=bearer(spare["token"])).status_code == 204
    assert client.get("/console/models", follow_redirects=False).status_code == 303


def _tokens_form(client: TestClient) -> str:
    page = client.get("/console/tokens")
    assert page.status_code == 200, page.text
    return page.text


def test_console_tokens_page_creates_shows_once_and_revokes(client: TestClient) -> None:
    token = create_org(client)
    sign_in(client, token)
    html = _tokens_form(client)
    assert 'href="/console/tokens"' in html and "this session" in html and token[:11] in html
    assert token not in html
    csrf = CSRF_FIELD.search(html).group(1)  # type: ignore[union-attr]
    assert client.post("/console/tokens", data={"action": "create", "label": "CI"}).status_code == 403

    made = client.post("/console/tokens", data={"csrf": csrf, "action": "create", "label": "CI"})
    assert made.status_code == 200
    shown = re.search(r'id="new-token">(hw_org_[A-Za-z0-9_-]+)<', made.text)
    assert shown and "shown <strong>once</strong>" in made.text
    new_token = shown.group(1)
    assert client.get("/api/orgs/acme/byok", headers=bearer(new_token)).status_code == 200
    again = _tokens_form(client)
    assert new_token not in again and new_token[:11] in again  # never shown again

    new_id = re.search(r'id="token-(\d+)"', again).group(1)  # type: ignore[union-attr]
    revoked = client.post(
        "/console/tokens", data={"csrf": csrf, "action": "revoke", "token_id": new_id}, follow_redirects=False
    )
    assert revoked.status_code == 303 and revoked.headers["location"] == "/console/tokens"
    assert client.get("/api/orgs/acme/byok", headers=bearer(new_token)).status_code == 401
    assert "revoked" in _tokens_form(client)


def test_console_refuses_the_last_token_without_the_box_and_signs_out_with_it(client: TestClient) -> None:
    token = create_org(client)
    sign_in(client, token)
    csrf = page_csrf(client, "/console/tokens")
    (only,) = client.get("/api/orgs/acme/tokens", headers=bearer(token)).json()
    form = {"csrf": csrf, "action": "revoke", "token_id": str(only["id"])}
    html = _tokens_form(client)
    assert 'name="confirm_last"' in html and "Revoke and sign out" in html
    refused = client.post("/console/tokens", data=form)
    assert refused.status_code == 409 and "tick the box" in refused.text
    done = client.post("/console/tokens", data={**form, "confirm_last": "yes"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert client.get("/console/tokens", follow_redirects=False).status_code == 303
    assert client.get("/api/orgs/acme/byok", headers=bearer(token)).status_code == 401


def test_admin_manages_the_selected_organizations_tokens(client: TestClient) -> None:
    create_org(client, "acme")
    create_org(client, "globex")
    sign_in(client, admin_headers()["Authorization"].removeprefix("Bearer "))
    assert client.get("/console/tokens", follow_redirects=False).headers["location"] == "/console/orgs"
    csrf = page_csrf(client, "/console/orgs")
    client.post("/console/orgs", data={"csrf": csrf, "action": "select", "slug": "globex"})
    html = _tokens_form(client)
    assert "API tokens of globex" in html and "this session" not in html
    made = client.post("/console/tokens", data={"csrf": csrf, "action": "create", "label": "ops"})
    assert made.status_code == 200
    labels = [t["label"] for t in client.get("/api/orgs/globex/tokens", headers=admin_headers()).json()]
    assert labels == ["ops", "created with the organization"]
