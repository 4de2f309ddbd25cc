"""Headless Chromium against the real server app on uvicorn (loopback HTTP), one browser per
test module (the console's tests live in one module). Skips when Chromium or Playwright is
missing on a developer machine; with ``CI=true`` that is a failure, because CI must run these
(``.ci/run`` installs Chromium).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("HUNKWISE_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))  # srvkit, webkit


def _require(condition: bool, message: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: browser tests must run; .ci/run installs chromium)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium per test module. Not per session: Playwright's sync API keeps an event loop
    running in the main thread while it is open, and every later test that calls
    ``asyncio.run`` (the CLI tests) would fail with "cannot be called from a running event loop"."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    _require(sync_playwright is not None, "playwright is not installed (pip install -e '.[dev]')")
    _require(Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing (apt-get install -y chromium)")
    assert sync_playwright is not None
    from playwright.sync_api import expect

    # Waits, not speed claims: a loaded CI machine may need more than Playwright's 5 s default.
    expect.set_options(timeout=20_000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
