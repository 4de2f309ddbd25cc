"""Who may do what: admin vs organization tokens, and one organization never sees another's data."""

from __future__ import annotations

from fastapi.testclient import TestClient
from srvkit import admin_headers, bearer

CARD = {"card": "glm-5.1", "plan": "coding", "tier": "lite", "api_key": "zai-key-0000-wxyz"}


def _org(client: TestClient, slug: str) -> str:
    resp = client.post("/api/orgs", json={"slug": slug, "name": slug.title()}, headers=admin_headers())
    assert resp.status_code == 201, resp.text
    token = resp.json()["token"]
    assert token.startswith("hw_org_")
    return str(token)


def test_auth_required_and_bad_tokens_rejected(client: TestClient) -> None:
    assert client.get("/api/orgs/acme/byok").status_code == 401
    resp = client.get("/api/orgs/acme/byok", headers=bearer("hw_org_not-a-real-token"))
    assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
    assert (
        client.get("/api/orgs", headers=bearer("admin-token-for-tests-0123456789abcdeX")).status_code == 401
    )


def test_org_token_reaches_only_its_own_org(client: TestClient) -> None:
    acme, globex = _org(client, "acme"), _org(client, "globex")
    assert client.put("/api/orgs/acme/byok", json={"main": CARD}, headers=bearer(acme)).status_code == 200
    assert client.get("/api/orgs/acme/byok", headers=bearer(acme)).json()["main"]["api_key"] == "••••wxyz"
    assert client.get("/api/orgs/ACME", headers=bearer(acme)).json()["slug"] == "acme"
    for method, path in [
        ("GET", "/api/orgs/acme/byok"),
        ("PUT", "/api/orgs/acme/byok"),
        ("DELETE", "/api/orgs/acme/byok"),
        ("POST", "/api/orgs/acme/byok/test"),
        ("GET", "/api/orgs/acme"),
        ("GET", "/api/orgs/nonexistent/byok"),  # same answer whether or not it exists
    ]:
        resp = client.request(
            method, path, headers=bearer(globex), json={"main": CARD} if method == "PUT" else None
        )
        assert resp.status_code == 403, (method, path, resp.text)
    # Globex's failed PUT changed nothing of Acme's.
    assert client.get("/api/orgs/acme/byok", headers=bearer(acme)).json()["main"]["config"]["tier"] == "lite"


def test_admin_only_operations(client: TestClient) -> None:
    acme = _org(client, "acme")
    assert client.post("/api/orgs", json={"slug": "evil"}, headers=bearer(acme)).status_code == 403
    assert client.get("/api/orgs", headers=bearer(acme)).status_code == 403
    assert client.delete("/api/orgs/acme", headers=bearer(acme)).status_code == 403
    # An organization's token manages that organization's tokens (docs/server.md), no other's.
    _org(client, "globex")
    for method, path in [
        ("GET", "/api/orgs/globex/tokens"),
        ("POST", "/api/orgs/globex/tokens"),
        ("DELETE", "/api/orgs/globex/tokens/2"),
    ]:
        assert client.request(method, path, headers=bearer(acme)).status_code == 403, (method, path)
    assert client.post("/api/orgs", json={"slug": "acme"}, headers=admin_headers()).status_code == 409
    second = client.post("/api/orgs/acme/tokens", headers=admin_headers()).json()["token"]
    assert client.get("/api/orgs/acme/byok", headers=bearer(second)).status_code == 200
    assert [o["slug"] for o in client.get("/api/orgs", headers=admin_headers()).json()] == ["acme", "globex"]
    assert client.delete("/api/orgs/acme", headers=admin_headers()).status_code == 204
    assert client.get("/api/orgs/acme/byok", headers=bearer(acme)).status_code == 401  # token gone too


def test_invalid_org_names(client: TestClient) -> None:
    resp = client.post("/api/orgs", json={"slug": "../etc"}, headers=admin_headers())
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "slug"]
    assert client.get("/api/orgs/-bad-/byok", headers=admin_headers()).status_code == 404
