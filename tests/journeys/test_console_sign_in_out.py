"""Journey: a team lead signs in to the web console with the organization token and signs out.

Plain HTTP with a cookie jar, as a browser does it (the browser suite in tests/browser drives the
pages themselves): the sign-in form and its CSRF token, the token posted, the Models page, Sign
out, and then the cookie the browser had, replayed (copied from a shared machine, a proxy log):
sign-out must have ended that session on the server, not only in the browser that signed out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from journeykit import Server, server_env

pytestmark = pytest.mark.journey

SESSION_COOKIE = "hunkwise_session"  # docs/console.md: a signed, HttpOnly, SameSite=Lax cookie


@pytest.fixture(scope="module")
def server(journey_dir: Path) -> Iterator[Server]:
    srv = Server(server_env(journey_dir / "server-home"), journey_dir)
    yield srv
    srv.stop()


def hidden_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, f"no csrf field in the page:\n{html[:2000]}"
    return found.group(1)


def test_console_sign_in_then_out_ends_the_session(server: Server) -> None:
    with server.client() as admin:
        created = admin.post("/api/orgs", json={"slug": "acme", "name": "Acme Inc"})
        assert created.status_code == 201, created.text
        token = created.json()["token"]

    with httpx.Client(base_url=server.url, timeout=30) as browser:
        form = browser.get("/login")
        assert form.status_code == 200 and "Sign in" in form.text
        signed_in = browser.post(
            "/login", data={"token": token, "csrf": hidden_csrf(form.text), "next": "/console/models"}
        )
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/console/models"
        set_cookie = next(c for c in signed_in.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
        assert "httponly" in set_cookie.lower() and "samesite=lax" in set_cookie.lower(), set_cookie
        old_cookie = browser.cookies[SESSION_COOKIE]

        models = browser.get("/console/models")
        assert models.status_code == 200, models.text[:2000]
        assert "GLM 5.1" in models.text and "Recommended" in models.text
        assert "acme" in models.text
        assert token not in models.text

        signed_out = browser.post("/logout", data={"csrf": hidden_csrf(models.text)})
        assert signed_out.status_code == 303 and signed_out.headers["location"] == "/login"
        assert SESSION_COOKIE not in browser.cookies
        after = browser.get("/console/models")
        assert after.is_redirect and after.headers["location"].startswith("/login"), after.status_code

    # The cookie from before sign-out, replayed: the session must be over on the server too.
    with httpx.Client(base_url=server.url, cookies={SESSION_COOKIE: old_cookie}, timeout=30) as replay:
        page = replay.get("/console/models")
        assert page.is_redirect and page.headers["location"].startswith("/login"), (
            f"the session cookie still opens the console after sign-out: {page.status_code}"
        )
