"""Sessions, tokens and the API docs in headless Chromium against the real app on uvicorn:
sign in, create a token (shown once), revoke it, sign out (the old cookie is dead), and /docs and
/redoc render under their Content-Security-Policy without a request to any other host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from livekit import LiveServer
from srvkit import ADMIN, admin_headers

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from hunkwise.config.settings import Settings
    from hunkwise.server.app import create_app

    home = tmp_path_factory.mktemp("tokens-home")
    env = {
        "HUNKWISE_HOME": str(home),
        "HUNKWISE_ADMIN_TOKEN": ADMIN,
        "HUNKWISE_DATABASE_URL": f"sqlite:///{home / 'server.db'}",
    }
    app = create_app(Settings.from_env(env))
    with LiveServer(app) as server:
        yield server
    app.state.runtime.engine.dispose()


@pytest.fixture(scope="module")
def api(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, headers=admin_headers(), timeout=30) as client:
        yield client


def _watch(page: Any, live: LiveServer) -> tuple[list[str], list[str]]:
    """Responses from other hosts (none may arrive), and console messages about the
    Content-Security-Policy (what it blocked)."""
    foreign: list[str] = []
    csp: list[str] = []
    here = urlsplit(live.url).netloc
    page.on(
        "response",
        lambda r: (
            foreign.append(r.url)
            if urlsplit(r.url).scheme in ("http", "https") and urlsplit(r.url).netloc != here
            else None
        ),
    )
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    return foreign, csp


def test_sign_in_create_and_revoke_a_token_then_sign_out(
    browser: Any, live: LiveServer, api: httpx.Client, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    token = api.post("/api/orgs", json={"slug": "acme"}).json()["token"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    foreign, csp = _watch(page, live)
    page.goto(f"{live.url}/console/tokens")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/tokens")
    expect(page.get_by_role("link", name="Tokens")).to_have_attribute("aria-current", "page")
    expect(page.locator("#tokens tbody tr")).to_have_count(1)
    expect(page.locator("#tokens")).to_contain_text("this session")

    page.fill("#label", "CI pipeline")
    page.click("button:has-text('Create token')")
    shown = page.locator("#new-token")
    expect(shown).to_be_visible()
    new_token = shown.inner_text().strip()
    assert new_token.startswith("hw_org_") and new_token != token
    page.screenshot(path=str(artifacts / "console-tokens-created.png"), full_page=True)
    assert httpx.get(f"{live.url}/api/orgs/acme", headers={"Authorization": f"Bearer {new_token}"}).is_success

    row = page.locator("#tokens tbody tr", has_text="CI pipeline")
    row.get_by_role("button", name="Revoke token").click()
    page.wait_for_url("**/console/tokens")
    expect(page.locator("#new-token")).to_have_count(0)  # shown once, never again
    expect(page.locator("#tokens tbody tr", has_text="CI pipeline")).to_contain_text("revoked")
    refused = httpx.get(f"{live.url}/api/orgs/acme", headers={"Authorization": f"Bearer {new_token}"})
    assert refused.status_code == 401
    page.screenshot(path=str(artifacts / "console-tokens-revoked.png"), full_page=True)

    cookie = next(c for c in context.cookies() if c["name"] == "hunkwise_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/login")
    replayed = httpx.get(
        f"{live.url}/console/tokens", cookies={"hunkwise_session": cookie["value"]}, follow_redirects=False
    )
    assert replayed.status_code == 303 and replayed.headers["location"].startswith("/login")
    assert foreign == [] and csp == []
    context.close()


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"  # hard-coded in ReDoc's sidebar


@pytest.mark.parametrize(
    ("path", "ready", "blocked"),
    [("/docs", ".swagger-ui .info .title", []), ("/redoc", "h1", [REDOC_LOGO])],
)
def test_api_docs_render_offline_under_their_policy(
    browser: Any, live: LiveServer, artifacts: Path, path: str, ready: str, blocked: list[str]
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    foreign, csp = _watch(page, live)
    page.goto(f"{live.url}{path}")
    expect(page.locator(ready).first).to_contain_text("hunkwise")
    expect(page.get_by_text("/api/orgs/{org}/tokens").first).to_be_attached()
    page.screenshot(path=str(artifacts / f"api-docs{path.replace('/', '-')}.png"))
    assert foreign == [], foreign  # nothing arrived from another host
    # The policy blocked nothing the page needs: only ReDoc's logo, which it hides when it fails.
    assert sorted({url for message in csp for url in blocked if url in message}) == blocked, csp
    assert all(any(url in message for url in blocked) for message in csp), csp
    context.close()
