"""Helpers for the console tests: sign in through the real form, read the CSRF token."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from srvkit import admin_headers

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def create_org(client: TestClient, slug: str = "acme") -> str:
    resp = client.post("/api/orgs", json={"slug": slug}, headers=admin_headers())
    assert resp.status_code == 201, resp.text
    return str(resp.json()["token"])


def sign_in(client: TestClient, token: str, next_url: str = "/console/models") -> None:
    form = client.get("/login")
    csrf = CSRF_FIELD.search(form.text)
    assert csrf, form.text
    resp = client.post(
        "/login", data={"token": token, "csrf": csrf.group(1), "next": next_url}, follow_redirects=False
    )
    assert resp.status_code == 303, resp.text


def page_csrf(client: TestClient, path: str = "/console/models") -> str:
    found = CSRF_META.search(client.get(path).text) or CSRF_FIELD.search(client.get(path).text)
    assert found
    return found.group(1)
