"""Security headers on every kind of response, and API docs pages that load nothing from elsewhere."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from srvkit import admin_headers
from webkit import create_org, sign_in


def _responses(client: TestClient) -> dict[str, object]:
    token = create_org(client)
    sign_in(client, token)
    return {
        "health": client.get("/healthz"),
        "api 200": client.get("/api/orgs", headers=admin_headers()),
        "api 401": client.get("/api/orgs"),
        "api 422": client.post("/api/orgs", json={"slug": "../x"}, headers=admin_headers()),
        "404": client.get("/no/such/path"),
        "405": client.delete("/healthz"),
        "413": client.post("/api/orgs", content=b"x" * 2_000_000, headers=admin_headers()),
        "static": client.get("/static/console.css"),
        "static 404": client.get("/static/missing.js"),
        "console page": client.get("/console/models"),
        "login redirect": client.get("/", follow_redirects=False),
        "webhook 401": client.post("/webhooks/github", content=b"{}"),
        "metrics": client.get("/metrics"),
        "openapi": client.get("/openapi.json"),
        "docs": client.get("/docs"),
        "docs asset": client.get("/static/docs/swagger-ui.css"),
    }


def test_every_response_says_nosniff_and_cannot_be_framed(client: TestClient) -> None:
    for name, resp in _responses(client).items():
        headers = resp.headers  # type: ignore[attr-defined]
        assert headers.get("x-content-type-options") == "nosniff", name
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), name
        assert headers.get("referrer-policy") == "same-origin", name
        assert headers.get("x-frame-options") == "DENY", name
    # Console pages keep their own policy (their own scripts); the API's default runs nothing.
    api = client.get("/api/orgs", headers=admin_headers())
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
    page = client.get("/console/models")
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_an_unhandled_error_is_a_500_with_the_headers(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    app: FastAPI = client.app  # type: ignore[assignment]

    @app.get("/boom-for-test")
    async def boom() -> None:
        raise RuntimeError("a bug")

    quiet = TestClient(app, raise_server_exceptions=False)
    resp = quiet.get("/boom-for-test")
    assert resp.status_code == 500 and resp.headers["x-content-type-options"] == "nosniff"
    assert "a bug" not in resp.text


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_load_only_from_this_server(client: TestClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 200
    html = resp.text
    assert not re.search(r"\b(?:src|href)=[\"']?(?:https?:)?//", html), html  # no other host
    assert "cdn" not in html.lower() and "fonts.googleapis" not in html
    for url in re.findall(r"(?:src|href)=\"([^\"]+)\"", html):
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 1000, url
        assert asset.headers["x-content-type-options"] == "nosniff"
    csp = resp.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "unsafe-inline" not in script_src and "http" not in script_src
    for inline in re.findall(r"<script>(.*?)</script>", html, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src  # the page's own bootstrap, and nothing else


def test_docs_assets_are_a_fixed_list(client: TestClient) -> None:
    bundle = client.get("/static/docs/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    for bad in ("../core.py", "..%2Fcore.py", "core.py", "__init__.py"):
        assert client.get(f"/static/docs/{bad}").status_code == 404, bad
