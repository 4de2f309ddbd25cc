"""One error vocabulary (hunkwise/errors.py): every error of every layer in one tree, one meaning
for an HTTP status or a transport failure whoever made the call, one retry decision, one backoff.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import socket
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest

import hunkwise
from hunkwise.catalog.loader import load_catalog
from hunkwise.cli.app import exit_code
from hunkwise.errors import (
    Backoff,
    ConfigurationError,
    HttpFailure,
    HunkwiseError,
    PermanentError,
    TransientError,
    classify_status,
    classify_transport,
)
from hunkwise.gateway import AllSlotsFailed, ChatRequest, ClientPool, ErrorKind, ProviderError, RetryPolicy
from hunkwise.gateway.adapters import adapter_for
from hunkwise.gateway.errors import LimitsUnavailable
from hunkwise.gateway.thinking import profile_for
from hunkwise.gateway.types import Secret, Slot
from hunkwise.jobs.retry import JOB_BACKOFF, ModelsFailed, retry_delay
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.gitlab import GitLabClient
from hunkwise.platforms.review_post import PlatformError, PlatformRateLimited, PlatformUnavailable

SRC = Path(hunkwise.__file__).parent
REPO = "octo/hello"

# Exceptions that are not errors: control flow a caller always catches, or a bug's assertion.
NOT_ERRORS = {
    "hunkwise.cli.review_remote.NothingToDo",  # "already reviewed": exit 0
    "hunkwise.server.web.auth.NeedsSignIn",  # a redirect to the sign-in page
    "hunkwise.server.error_handlers._TooLarge",  # FastAPI's HTTPException, answered 413 as it is
    "hunkwise.review.packing.CoverageError",  # an AssertionError: the packer lost a line (a bug)
}


def _family(exc: BaseException) -> str:
    if isinstance(exc, ConfigurationError):
        return "configuration"
    return "transient" if isinstance(exc, TransientError) else "permanent"


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(hunkwise.__path__, "hunkwise."):
        if (
            ".migrations" in info.name
            or info.name.startswith("hunkwise.sim")
            or info.name.endswith("__main__")
        ):
            continue  # Alembic scripts; the simulator stands apart (its errors are HTTP answers)
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == info.name:
                found.append(value)
    return found


def test_every_error_hunkwise_raises_is_in_the_tree() -> None:
    classes = _exception_classes()
    outside = [
        f"{c.__module__}.{c.__qualname__}"
        for c in classes
        if not issubclass(c, HunkwiseError) and f"{c.__module__}.{c.__qualname__}" not in NOT_ERRORS
    ]
    assert not outside, f"errors outside hunkwise.errors' tree: {outside}"
    # No class is in two families, except the one documented (Redis down: act, and it passes).
    both = {
        c.__name__
        for c in classes
        if sum(issubclass(c, f) for f in (ConfigurationError, TransientError, PermanentError)) > 1
    }
    assert both == {"LimitsUnavailable"}


def test_the_configuration_error_is_imported_from_hunkwise_errors() -> None:
    """``gateway/errors.ConfigurationError`` is no longer the project's "bad setting" error."""
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module != "hunkwise.errors"
                and any(alias.name == "ConfigurationError" for alias in node.names)
            ):
                wrong.append(f"{path.relative_to(SRC)}: from {node.module}")
    assert not wrong, wrong


def test_value_dependent_errors_are_in_their_family() -> None:
    rate = ProviderError(ErrorKind.RATE, "slow down", status=429)
    auth = ProviderError(ErrorKind.AUTH, "bad key", status=401)
    overflow = ProviderError(ErrorKind.CONTEXT_OVERFLOW, "too long", status=400)
    assert (_family(rate), _family(auth), _family(overflow)) == ("transient", "configuration", "permanent")
    assert type(rate).__name__ == "ProviderError" and isinstance(rate, ProviderError)
    assert str(rate) == "rate (429): slow down"
    assert _family(AllSlotsFailed([auth], [])) == "configuration"
    assert _family(AllSlotsFailed([auth, rate], [])) == "transient"
    assert _family(AllSlotsFailed([], [])) == "transient"  # nothing was available: later may be
    assert _family(ModelsFailed("x", frozenset({"auth", "model_not_found"}))) == "configuration"
    assert _family(ModelsFailed("x", frozenset({"auth", "unreadable_answer"}))) == "transient"
    limits = LimitsUnavailable("redis://127.0.0.1:1/0", "acquire", "refused")
    assert isinstance(limits, ConfigurationError) and isinstance(limits, TransientError)


def test_one_retry_decision_and_one_backoff() -> None:
    assert [JOB_BACKOFF.delay(n) for n in range(4)] == [10.0, 30.0, 90.0, 270.0]
    assert JOB_BACKOFF.delay(9) == 900.0
    limited = PlatformRateLimited("rate limited", status=429, retry_after_s=120.0)
    assert retry_delay(limited, 1, 5, JOB_BACKOFF) == 120.0  # the platform's hint wins when longer
    assert retry_delay(PlatformUnavailable("502"), 2, 5, JOB_BACKOFF) == 30.0
    assert retry_delay(LimitsUnavailable("redis://h:1/0", "acquire", "refused"), 1, 5, JOB_BACKOFF) == 10.0
    assert retry_delay(ModelsFailed("x", frozenset({"overloaded"})), 1, 5, JOB_BACKOFF) == 10.0
    assert retry_delay(ModelsFailed("x", frozenset({"auth"})), 1, 5, JOB_BACKOFF) is None
    assert retry_delay(ConfigurationError("no"), 1, 5, JOB_BACKOFF) is None
    assert retry_delay(ValueError("a bug"), 1, 5, JOB_BACKOFF) is None
    assert retry_delay(TransientError("later"), 5, 5, JOB_BACKOFF) is None  # out of attempts
    # The router's retries on a slot: the same formula with other numbers (and jitter).
    slot_backoff = RetryPolicy().backoff
    assert isinstance(slot_backoff, Backoff) and slot_backoff.jitter == 0.5
    assert all(0.25 <= slot_backoff.delay(0) <= 0.75 for _ in range(50))
    assert all(4.0 <= slot_backoff.delay(6) <= 12.0 for _ in range(50))  # capped at 8 s, +-50 %


def test_exit_codes_follow_the_family() -> None:
    assert exit_code(ConfigurationError("bad")) == 2
    assert exit_code(PermanentError("same again")) == 2
    assert exit_code(PlatformUnavailable("GitHub answered 502")) == 3
    assert exit_code(LimitsUnavailable("redis://h:1/0", "acquire", "refused")) == 2  # act first


def _zai_slot(base_url: str) -> Slot:
    card = load_catalog().card("glm-5.1")
    assert card is not None
    return Slot(
        name="main",
        provider="zai",
        base_url=base_url,
        model="glm-5.1",
        api_key=Secret("sk-test"),
        context_window=card.context_window,
        timeout_s=5.0,
    )


async def _provider_error(base_url: str, answer: httpx2.AsyncBaseTransport | None = None) -> ProviderError:
    """What the gateway makes of a failed call (through the real SDK and adapter), the provider's
    side answered by ``answer`` when given."""
    pool = ClientPool(transport_factory=(lambda slot: answer) if answer is not None else None)
    slot = _zai_slot(base_url)
    profile = profile_for(slot)
    try:
        with pytest.raises(ProviderError) as info:
            await adapter_for(profile.wire, pool).chat(slot, ChatRequest.of("hi"), profile)
    finally:
        await pool.aclose()
    return info.value


async def _platform_error(status: int) -> PlatformError:
    answer = httpx.MockTransport(lambda request: httpx.Response(status, json={"message": "nope"}))
    async with GitHubClient(Secret("ghp_test"), "https://api.github.test", transport=answer) as gh:
        with pytest.raises(PlatformError) as info:
            await gh.pull_diff(REPO, 7)
    return info.value


# 402 is left out on purpose: to a model provider it is a spent balance (transient: it reopens
# when topped up), a meaning only billing APIs give it.
STATUSES = (400, 401, 403, 404, 405, 408, 409, 410, 413, 418, 422, 429, 500, 502, 503, 504, 529)


@pytest.mark.parametrize("status", STATUSES)
async def test_a_status_means_the_same_to_the_gateway_and_the_platform_clients(status: int) -> None:
    answer = httpx2.MockTransport(lambda request: httpx2.Response(status))  # an empty body
    provider = await _provider_error("https://llm.example.test/v1", answer)
    platform = await _platform_error(status)
    expected = classify_status(status).family.__name__.removesuffix("Error").lower()
    assert _family(provider) == expected, (status, provider.kind)
    assert _family(platform) == expected, (status, type(platform).__name__)
    assert "ghp_test" not in str(platform) and "sk-test" not in str(provider)


def test_transport_failures_are_classified_once() -> None:
    request = httpx.Request("GET", "https://h.example/x")
    cases: list[tuple[BaseException, HttpFailure | None]] = [
        (httpx.ConnectError("refused", request=request), HttpFailure.NETWORK),
        (httpx2.ConnectError("refused"), HttpFailure.NETWORK),
        (httpx.ReadTimeout("slow", request=request), HttpFailure.TIMEOUT),
        (httpx2.PoolTimeout("busy"), HttpFailure.TIMEOUT),
        (TimeoutError(), HttpFailure.TIMEOUT),
        (socket.gaierror(-2, "Name or service not known"), HttpFailure.NETWORK),
        (ConnectionRefusedError(111, "Connection refused"), HttpFailure.NETWORK),
        (
            httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
            HttpFailure.TRUNCATED,
        ),
        (ValueError("not the network's"), None),
        (KeyError("nor this"), None),
    ]
    for exc, expected in cases:
        assert classify_transport(exc) is expected, exc
    wrapped = RuntimeError("the SDK's wrapper")
    wrapped.__cause__ = httpx2.ReadTimeout("slow")
    assert classify_transport(wrapped) is HttpFailure.TIMEOUT


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_an_unreachable_platform_is_described_like_an_unreachable_provider() -> None:
    port = _closed_port()
    async with GitLabClient(Secret("glpat-test"), f"http://127.0.0.1:{port}/api/v4") as gl:
        with pytest.raises(PlatformUnavailable) as info:
            await gl.verify_project(42, "acme/api")
    assert isinstance(info.value, TransientError)
    assert f"connection refused by 127.0.0.1:{port}: nothing is listening there" in str(info.value)
    provider = await _provider_error(f"http://127.0.0.1:{port}/api/paas/v4")
    assert provider.kind is ErrorKind.NETWORK
    assert f"connection refused by 127.0.0.1:{port}: nothing is listening there" in provider.message


async def test_gitlab_pages_are_followed_by_the_shared_loop() -> None:
    seen: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, dict(request.url.params)
        if path.endswith("/user"):
            return httpx.Response(200, json={"id": 7})
        seen.append({"path": path.rsplit("/", 1)[-1], **params})
        if path.endswith("/notes") and params.get("page") != "2":
            note = {"author": {"id": 7}, "body": "<!-- hunkwise:finding:a1 -->"}
            return httpx.Response(200, json=[note], headers={"x-next-page": "2"})
        if path.endswith("/notes"):
            note = {"author": {"id": 7}, "body": "<!-- hunkwise:review:r1 -->"}
            return httpx.Response(200, json=[note], headers={"x-next-page": ""})
        return httpx.Response(200, json=[], headers={"x-next-page": ""})

    async with GitLabClient(Secret("glpat-test"), transport=httpx.MockTransport(answer)) as gl:
        markers = await gl.existing_markers(42, 3)
    assert markers == {("finding", "a1"), ("review", "r1")}
    assert seen == [
        {"path": "notes", "per_page": "100"},
        {"path": "notes", "per_page": "100", "page": "2"},
        {"path": "discussions", "per_page": "100"},
    ]
