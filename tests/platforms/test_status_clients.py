"""The merge status through the clients, against the fakes (platforms/status.py shapes): one
check run per head updated in place; a user token falls back to commit statuses once; a
refused token is an error; GitLab's "same state again" answer is not."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hunkwise.gateway import Secret
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.gitlab import GitLabClient
from hunkwise.platforms.review_post import PlatformAuthError
from hunkwise.platforms.status import CommitState
from platform_fakes import FakeGitHub, FakeGitLab

HEAD = "a" * 40
PENDING = CommitState("pending", "hunkwise: reviewing")
DONE = CommitState("failure", "incomplete (quota): spent")


def test_one_check_run_per_head_updated_in_place() -> None:
    fake = FakeGitHub()

    async def run() -> list[str]:
        async with GitHubClient(Secret("t"), "https://api.github.com", transport=fake.transport()) as gh:
            return [await gh.set_status("acme/api", HEAD, s) for s in (PENDING, DONE)]

    assert asyncio.run(run()) == ["check_run", "check_run"]
    [check] = fake.check_runs
    assert check["status"] == "completed" and check["conclusion"] == "failure"
    assert check["output"]["title"] == "incomplete (quota): spent"


def test_a_user_token_falls_back_to_commit_statuses_once() -> None:
    fake = FakeGitHub(checks_allowed=False)

    async def run() -> list[str]:
        async with GitHubClient(Secret("t"), "https://api.github.com", transport=fake.transport()) as gh:
            return [await gh.set_status("acme/api", HEAD, s) for s in (PENDING, DONE)]

    assert asyncio.run(run()) == ["commit_status", "commit_status"]
    assert [(s["state"], s["context"]) for s in fake.statuses] == [
        ("pending", "hunkwise"),
        ("failure", "hunkwise"),
    ]
    posts = [r for r in fake.requests if r.method == "POST" and r.url.path.endswith("/check-runs")]
    assert len(posts) == 1  # refused once, not asked again


def test_a_refused_token_is_an_error_not_a_fallback() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(401, json={"message": "Bad credentials"}))

    async def run() -> None:
        async with GitHubClient(Secret("t"), "https://api.github.com", transport=transport) as gh:
            await gh.set_status("acme/api", HEAD, PENDING)

    with pytest.raises(PlatformAuthError, match="401"):
        asyncio.run(run())


def test_gitlab_same_state_again_is_fine() -> None:
    fake = FakeGitLab()

    async def run() -> None:
        async with GitLabClient(Secret("t"), "https://gitlab.com/api/v4", transport=fake.transport()) as gl:
            for state in (PENDING, PENDING, DONE):
                await gl.set_status(42, HEAD, state)

    asyncio.run(run())
    assert [s["state"] for s in fake.statuses] == ["running", "failed"]
    assert fake.statuses[-1]["name"] == "hunkwise" and fake.statuses[-1]["description"].startswith(
        "incomplete"
    )
