"""The posting order every comment-by-comment platform shares
(:func:`hunkwise.platforms.pull_request.post_with_markers`): no identity, no posting."""

from __future__ import annotations

import asyncio

import pytest

from hunkwise.gateway.types import Secret
from hunkwise.platforms.gitlab import GitLabClient
from hunkwise.platforms.pull_request import MarkerPosting, post_with_markers
from hunkwise.platforms.review_post import InlineComment, PlatformError, ReviewPost, marker
from platform_fakes import FakeGitLab


def _post() -> ReviewPost:
    summary = f"summary\n\n{marker('review', 'k1')}\n{marker('summary', 'pr')}"
    comment = InlineComment("src/app.py", 3, 3, f"finding\n{marker('fp', 'fp-1')}", "fp-1")
    return ReviewPost(key="k1", head_sha="a" * 40, summary=summary, comments=[comment])


def test_without_an_identity_nothing_is_read_or_written() -> None:
    # Every platform must know who it is before posting: without it no marker on the pull
    # request counts as its own and every retry would post again. Each client used to check
    # (or not) on its own; the shared order now asks first.
    calls: list[str] = []

    async def nobody() -> None:
        calls.append("identity")

    async def record(*args: object) -> None:
        calls.append("write")

    async def no_markers() -> set[tuple[str, str]]:
        calls.append("markers")
        return set()

    writes = MarkerPosting(no_markers, record, record, record, record, identity=nobody)  # type: ignore[arg-type]
    with pytest.raises(PlatformError, match="cannot tell its own comments"):
        asyncio.run(post_with_markers(_post(), writes))
    assert calls == ["identity"]


def test_gitlab_without_its_users_id_posts_nothing() -> None:
    # GET /user answering without an id made every note look foreign: a retry posted every
    # discussion and a second summary.
    fake = FakeGitLab()
    fake.user = {"username": "project_42_bot"}

    async def go() -> None:
        async with GitLabClient(Secret("t"), transport=fake.transport()) as gl:
            await gl.post_review(
                42, 7, _post(), {"base_sha": "b" * 40, "head_sha": "a" * 40, "start_sha": "b" * 40}
            )

    with pytest.raises(PlatformError, match="cannot tell its own comments"):
        asyncio.run(go())
    assert [r for r in fake.requests if r.method != "GET"] == []
