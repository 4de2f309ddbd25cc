"""The web console end to end in headless Chromium: the real app on uvicorn, the simulator as
every model endpoint, a fake GitHub over loopback HTTP for a real review job.

Screenshots of every page land in ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from livekit import LiveServer
from srvkit import ADMIN, admin_headers

import simkeys
from hunkwise.platforms.github_webhooks import sign
from platform_fakes import FakeGitHub, ServedFake
from simkeys import CODING_LITE_KEY, DEV_KEY, OPENAI_KEY

pytestmark = pytest.mark.browser
SECRET = "webhook-secret-for-browser-tests"
SPENT_KEY = "sim-coding-spent-0001"  # a Coding Plan key whose 5-hour window is used up
WEBHOOKS = Path(__file__).resolve().parents[1] / "data" / "github-webhooks"


@pytest.fixture(scope="module")
def github() -> Iterator[ServedFake]:
    served = ServedFake(FakeGitHub())
    yield served
    served.close()


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """The standard simulator keys plus a spent Coding Plan key (answers 1308: failover)."""
    from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer

    keys = [
        KeyConfig(key=simkeys.DEV_KEY, kind="developer"),
        KeyConfig(key=simkeys.CODING_LITE_KEY, kind="coding", tier="lite"),
        KeyConfig(key=simkeys.OPENAI_KEY, kind="openai"),
        KeyConfig(key=SPENT_KEY, kind="coding", tier="lite", quota_5h=0),
    ]
    with SimulatorServer(SimConfig(keys=keys)) as server:
        yield server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, github: ServedFake) -> Iterator[LiveServer]:
    from hunkwise.config.settings import Settings
    from hunkwise.server.app import create_app

    home = tmp_path_factory.mktemp("console-home")
    env = {
        "HUNKWISE_HOME": str(home),
        "HUNKWISE_ADMIN_TOKEN": ADMIN,
        "HUNKWISE_DATABASE_URL": f"sqlite:///{home / 'server.db'}",
        "HUNKWISE_ALLOW_PRIVATE_BASE_URLS": "127.0.0.1",
        "HUNKWISE_GITHUB_WEBHOOK_SECRET": SECRET,
        "GITHUB_API_URL": github.url,
        "HUNKWISE_GITHUB_TOKEN": "ghp_browser_test_token",
    }
    app = create_app(Settings.from_env(env))
    with LiveServer(app) as server:
        yield server
    app.state.runtime.engine.dispose()


@pytest.fixture(scope="module")
def api(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, headers=admin_headers(), timeout=30) as client:
        yield client


def new_org(api: httpx.Client, slug: str) -> str:
    resp = api.post("/api/orgs", json={"slug": slug})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["token"])


def sign_in(browser: Any, live: LiveServer, token: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live.url}/console/models")  # redirected to the sign-in form
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/models")
    return page


def test_models_page_plan_selector_test_save_and_custom_json(
    browser: Any, live: LiveServer, api: httpx.Client, sim: Any, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = sign_in(browser, live, new_org(api, "acme"))
    page.screenshot(path=str(artifacts / "console-models-empty.png"), full_page=True)
    # Every form control has a label (screen readers, click targets).
    unlabeled = page.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
        ".filter(e => !e.labels || e.labels.length === 0).map(e => e.id || e.name)"
    )
    assert unlabeled == []

    # GLM 5.1 -> Coding Plan: the coding endpoint, max concurrent 1; tier Max -> 30.
    page.click("#slot-main label.model-card:has(input[value='glm-5.1'])")
    expect(page.locator("#main-plan-box")).to_be_visible()
    page.check("#main-plan-coding")
    expect(page.locator("#main-base_url")).to_have_value("https://api.z.ai/api/coding/paas/v4")
    expect(page.locator("#main-max_concurrent_requests")).to_have_value("1")
    expect(page.locator("#main-tier")).to_be_visible()
    page.select_option("#main-tier", "max")
    expect(page.locator("#main-max_concurrent_requests")).to_have_value("30")
    page.screenshot(path=str(artifacts / "console-models-coding-plan.png"), full_page=True)

    # Through a proxy (the simulator), a Developer key on the Coding Plan: Test says so.
    page.fill("#main-base_url", sim.zai_coding_url)
    page.fill("#main-api_key", DEV_KEY)
    page.click("#test")
    diagnosis = page.locator("#test-results .diagnosis")
    expect(diagnosis).to_contain_text("this is a Developer API key")
    page.screenshot(path=str(artifacts / "console-models-test-diagnosis.png"), full_page=True)

    # The diagnosis offers the fix: switching the plan keeps the proxy host and swaps the
    # plan's path; Test now passes.
    page.click("#test-results button:has-text('Switch main to the Developer API')")
    expect(page.locator("#main-plan-developer")).to_be_checked()
    expect(page.locator("#main-base_url")).to_have_value(sim.zai_developer_url)
    expect(page.locator("#main-tier")).to_be_hidden()
    expect(page.locator("#main-max_concurrent_requests")).to_have_value("")
    page.click("#test")
    expect(page.locator("#test-results .diagnosis.ok")).to_have_count(1)

    page.click("#save")
    expect(page.locator("#save-status")).to_have_text("Saved.")
    expect(page.locator("#main-saved")).to_contain_text("key ••••0001")
    expect(page.locator("#main-api_key")).to_have_value("")
    page.reload()
    key = page.locator("#main-api_key")
    expect(key).to_have_value("")
    expect(key).to_have_attribute("placeholder", "••••0001")
    expect(page.locator("#slot-main input[value='glm-5.1']")).to_be_checked()
    expect(page.locator("#main-plan-developer")).to_be_checked()
    assert DEV_KEY not in page.content()
    page.screenshot(path=str(artifacts / "console-models-saved.png"), full_page=True)

    # Invalid custom JSON: an inline error with line and column, and Save is refused.
    page.click("#main-advanced summary")
    page.select_option("#main-thinking", "custom")
    page.fill("#main-custom", '{"thinking": {"type": "enabled",}}')
    error = page.locator("#main-thinking-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("line 1, column")
    expect(page.locator("#main-custom")).to_have_attribute("aria-invalid", "true")
    page.click("#save")
    expect(page.locator("#save-status")).to_contain_text("Not saved")
    stored = api.get("/api/orgs/acme/byok").json()["main"]["config"]
    assert "thinking" not in stored
    page.screenshot(path=str(artifacts / "console-models-json-error.png"), full_page=True)

    # Fixed, the preview shows the body as sent: the override merged for the provider.
    page.fill("#main-custom", '{"thinking": {"type": "enabled", "budget_tokens": 2048}}')
    expect(error).to_be_hidden()
    expect(page.locator("#main-preview")).to_contain_text('"budget_tokens": 2048')
    expect(page.locator("#main-preview")).to_contain_text('"model": "glm-5.1"')
    page.click("#save")
    expect(page.locator("#save-status")).to_have_text("Saved.")
    stored = api.get("/api/orgs/acme/byok").json()["main"]["config"]
    assert "budget_tokens" in str(stored["thinking"])
    page.screenshot(path=str(artifacts / "console-models-preview.png"), full_page=True)

    # A manual Fallback with a mistyped model: Test names the nearest ids; one click fixes it.
    page.click("#slot-fallback label.model-card:has(input[value='manual'])")
    page.select_option("#fallback-provider", "openai_compatible")
    page.fill("#fallback-base_url", sim.zai_developer_url)
    page.fill("#fallback-model", "glm-5.2")
    page.fill("#fallback-api_key", DEV_KEY)
    page.click("#test")
    results = page.locator("#test-results .diagnosis")
    expect(results).to_have_count(2)
    expect(results.nth(1)).to_contain_text("model 'glm-5.2' not found")
    page.screenshot(path=str(artifacts / "console-models-unknown-model.png"), full_page=True)
    page.click("#test-results button.chip:has-text('glm-5.1')")
    expect(page.locator("#fallback-model")).to_have_value("glm-5.1")
    page.click("#test")
    expect(page.locator("#test-results .diagnosis.ok")).to_have_count(2)
    page.click("#save")
    expect(page.locator("#save-status")).to_have_text("Saved.")
    fallback = api.get("/api/orgs/acme/byok").json()["fallback"]
    assert fallback["model"] == "glm-5.1" and fallback["api_key"] == "••••0001"

    # A field the server rejects is marked where it is.
    page.fill("#main-temperature", "5")
    page.click("#save")
    expect(page.locator("#main-temperature-error")).to_be_visible()
    expect(page.locator("#main-temperature")).to_be_focused()
    page.context.close()


def _run_review(api: httpx.Client, sim: Any, github_url: str, main_key: str, number: int, sha: str) -> int:
    """Configure codertocat's models, deliver a signed pull_request webhook, wait for the job."""
    byok = {
        "main": {
            "card": "glm-5.1",
            "plan": "coding",
            "tier": "lite",
            "base_url": sim.zai_coding_url,
            "api_key": main_key,
        },
        "fallback": {"card": "gpt-5-mini", "base_url": sim.openai_url, "api_key": OPENAI_KEY},
    }
    assert api.put("/api/orgs/codertocat/byok", json=byok).status_code == 200
    event = json.loads((WEBHOOKS / "pull_request.opened.payload.json").read_bytes())
    event["number"] = event["pull_request"]["number"] = number
    event["pull_request"]["head"]["sha"] = sha
    # The server only accepts deliveries for the GitHub API it is configured with (the fake).
    body = json.dumps(event).encode().replace(b"https://api.github.com", github_url.encode())
    resp = api.post(
        "/webhooks/github",
        content=body,
        headers={
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": f"browser-{number}",
            "X-Hub-Signature-256": sign(SECRET, body),
            "Content-Type": "application/json",
        },
    )
    assert resp.status_code == 202, resp.text
    job_id = int(resp.json()["job_id"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = api.get(f"/api/reviews/{job_id}").json()
        if got["status"] in ("done", "failed"):
            assert got["status"] == "done", got["error"]
            return job_id
        time.sleep(0.1)
    raise AssertionError("the review job did not finish")


def test_reviews_and_usage_pages_show_a_real_review(
    browser: Any, live: LiveServer, api: httpx.Client, sim: Any, artifacts: Path, github: ServedFake
) -> None:
    from playwright.sync_api import expect

    token = new_org(api, "codertocat")
    job_id = _run_review(api, sim, github.url, CODING_LITE_KEY, 2, "a" * 40)
    # A spent 5-hour window: the fallback serves.
    failover_id = _run_review(api, sim, github.url, SPENT_KEY, 3, "b" * 40)
    page = sign_in(browser, live, token)

    page.click("nav a:has-text('Reviews')")
    rows = page.locator("#reviews tbody tr")
    expect(rows).to_have_count(2)
    row = rows.filter(has_text="#2")
    expect(row).to_contain_text("Codertocat/Hello-World")
    expect(row).to_contain_text("done")
    expect(row).to_contain_text("glm-5.1")
    expect(row).to_contain_text("critical")
    failed_over = rows.filter(has_text="#3")
    expect(failed_over).to_contain_text("gpt-5-mini")
    assert int(failed_over.locator("td").nth(6).inner_text()) >= 1  # after Status and Priority, Models
    page.screenshot(path=str(artifacts / "console-reviews.png"), full_page=True)
    page.goto(f"{live.url}/console/reviews?status=failed")
    expect(page.locator("main")).to_contain_text("No reviews with status failed")

    page.goto(f"{live.url}/console/reviews")
    page.click(f"#reviews a[href='/console/reviews/{job_id}'] >> nth=0")
    expect(page.locator("h1")).to_contain_text("Codertocat/Hello-World #2")
    expect(page.locator(".finding")).to_have_count(4)
    expect(page.locator(".finding").first).to_contain_text("critical")
    expect(page.locator("#attempts tbody tr").first).to_contain_text("glm-5.1")
    page.screenshot(path=str(artifacts / "console-review-detail.png"), full_page=True)

    page.goto(f"{live.url}/console/reviews/{failover_id}")
    attempts = page.locator("#attempts tbody")
    expect(attempts).to_contain_text("quota_window")
    expect(attempts).to_contain_text("gpt-5-mini")
    page.screenshot(path=str(artifacts / "console-review-failover.png"), full_page=True)

    page.click("nav a:has-text('Usage')")
    expect(page.locator("svg.chart").first).to_be_visible()
    assert int(page.locator("#total-failovers").inner_text()) >= 1
    expect(page.locator("#windows")).to_contain_text("reported this window spent")
    assert page.locator("svg.chart rect").count() >= 2
    expect(page.locator("#windows")).to_contain_text("5-hour window")
    expect(page.locator("#windows")).to_contain_text("of 120 prompts")
    expect(page.locator("#usage-table tbody")).to_contain_text("glm-5.1")
    page.screenshot(path=str(artifacts / "console-usage.png"), full_page=True)

    # Signing out ends the session: the pages send you back to the sign-in form.
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/login")
    page.goto(f"{live.url}/console/usage")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.context.close()


def test_keyboard_only_and_a_phone_sized_screen(
    browser: Any, live: LiveServer, api: httpx.Client, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    token = new_org(api, "keyboard")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live.url}/login")
    expect(page.locator("#token")).to_be_focused()  # the token field has focus on arrival
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/models")
    # Nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # Tab to the first card, pick it with the keyboard, move through the cards with the arrows.
    page.focus("#slot-main input[value='glm-5.1']")
    page.keyboard.press("Space")
    expect(page.locator("#slot-main input[value='glm-5.1']")).to_be_checked()
    expect(page.locator("#main-plan-box")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#slot-main input[value='glm-5']")).to_be_checked()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#slot-main input[value='gpt-5']")).to_be_checked()
    expect(page.locator("#main-plan-box")).to_be_hidden()
    expect(page.locator("#main-base_url")).to_have_value("https://api.openai.com/v1")
    # The plan radios follow the cards in tab order, then the fields, in reading order.
    page.focus("#slot-main input[value='glm-5.1']")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.locator("#main-plan-developer")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#main-plan-coding")).to_be_checked()
    expect(page.locator("#main-max_concurrent_requests")).to_have_value("1")
    expect(page.locator("#main-base_url")).to_have_value("https://api.z.ai/api/coding/paas/v4")
    page.keyboard.press("Tab")
    expect(page.locator("#main-tier")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#main-base_url")).to_be_focused()
    page.screenshot(path=str(artifacts / "console-models-phone.png"), full_page=True)
    for path in ("/console/reviews", "/console/usage"):
        page.goto(f"{live.url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert overflow, f"{path} is wider than a phone screen"
    page.screenshot(path=str(artifacts / "console-usage-phone.png"), full_page=True)
    context.close()


def test_pasted_mistakes_are_marked_at_their_field_and_dns_is_diagnosed(
    browser: Any, live: LiveServer, api: httpx.Client, artifacts: Path
) -> None:
    """A key pasted from a word processor, an override that would replace the model, a host that
    does not resolve: each is said where it happened, and nothing is saved."""
    from playwright.sync_api import expect

    page = sign_in(browser, live, new_org(api, "pasted"))
    page.click("#slot-main label.model-card:has(input[value='manual'])")
    page.select_option("#main-provider", "openai_compatible")
    page.fill("#main-base_url", "https://llm.hunkwise-test.invalid/v1")
    page.fill("#main-model", "glm-5.1")
    page.fill("#main-api_key", "sk-pasted\u201dkey-0001")
    page.click("#save")
    error = page.locator("#main-api_key-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("U+201D RIGHT DOUBLE QUOTATION MARK")
    assert error.inner_text().startswith("the API key contains")  # no "Value error, " prefix
    expect(page.locator("#main-api_key")).to_be_focused()
    expect(page.locator("#save-status")).to_contain_text("Not saved")
    assert api.get("/api/orgs/pasted/byok").json()["main"] is None

    page.fill("#main-api_key", "sk-pasted-key-0001")
    page.click("#main-advanced summary")
    page.select_option("#main-thinking", "custom")
    page.fill("#main-custom", '{"model": "glm-4.5-air"}')
    thinking = page.locator("#main-thinking-error")
    expect(thinking).to_contain_text('may not set "model"')
    page.screenshot(path=str(artifacts / "console-models-pasted-mistakes.png"), full_page=True)

    page.select_option("#main-thinking", "")
    page.click("#test")
    diagnosis = page.locator("#test-results .diagnosis")
    expect(diagnosis).to_contain_text("DNS lookup failed for llm.hunkwise-test.invalid")
    page.context.close()
