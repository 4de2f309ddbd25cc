"""The GitHub REST client against a faked GitHub (respx at the HTTP level): exact requests."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from hunkwise.errors import TransientError
from hunkwise.gateway.types import Secret
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.review_post import (
    InlineComment,
    PlatformAuthError,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformUnavailable,
    ReviewPost,
    marker,
    notice_key,
)

API = "https://api.github.com"
REPO = "acme/api"
HEAD = "b" * 40
TOKEN = "ghp_canary_TOKEN_7b1e"
ME = {"id": 1, "login": "hunkwise-reviewer", "type": "User"}  # GET /user: the token's user
AUTHOR = {"id": 2, "login": "pr-author", "type": "User"}


def _post() -> ReviewPost:
    return ReviewPost(
        key="k123@bbbbbbbbbbbb",
        head_sha=HEAD,
        summary="summary\n" + marker("review", "k123@bbbbbbbbbbbb"),
        comments=[
            InlineComment("src/a.py", 3, 3, "one line" + marker("finding", "f1"), "f1"),
            InlineComment("src/b.py", 10, 12, "range" + marker("finding", "f2"), "f2"),
        ],
    )


@respx.mock
async def test_a_notice_is_posted_once_and_never_taken_for_a_review_of_its_head() -> None:
    reviews: list[dict] = []

    def create(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        reviews.append({"id": 7, "body": body["body"], "commit_id": body["commit_id"], "user": ME})
        return httpx.Response(200, json={"id": 7})

    respx.get(f"{API}/user").mock(return_value=httpx.Response(200, json=ME))
    respx.get(f"{API}/repos/{REPO}/pulls/7/reviews").mock(
        side_effect=lambda r: httpx.Response(200, json=reviews)
    )
    post_route = respx.post(f"{API}/repos/{REPO}/pulls/7/reviews").mock(side_effect=create)
    key = notice_key("github", REPO, 7, "budget_exhausted", "2026-12")
    assert key != notice_key("github", REPO, 7, "budget_exhausted", "2027-01")  # said again next month
    notice = ReviewPost(key=key, head_sha=HEAD, summary="not run\n" + marker("notice", key), kind="notice")
    assert ReviewPost.from_dict(notice.as_dict()) == notice
    async with GitHubClient(Secret(TOKEN)) as gh:
        assert (await gh.post_review(REPO, 7, notice)).posted
        later = ReviewPost(key=key, head_sha="c" * 40, summary=notice.summary, kind="notice")  # next push
        assert not (await gh.post_review(REPO, 7, later)).posted
        assert await gh.last_reviewed_head(REPO, 7) is None  # nothing was reviewed
        # A review whose key equals the notice's is still posted: the kinds are apart.
        same_key = ReviewPost(key=key, head_sha=HEAD, summary="s\n" + marker("review", key))
        assert (await gh.post_review(REPO, 7, same_key)).posted
    assert post_route.call_count == 2


@respx.mock
async def test_pull_diff_sends_token_and_diff_accept() -> None:
    route = respx.get(f"{API}/repos/{REPO}/pulls/7").mock(return_value=httpx.Response(200, text="diff --git"))
    async with GitHubClient(Secret(TOKEN)) as gh:
        assert await gh.pull_diff(REPO, 7) == "diff --git"
    request = route.calls.last.request
    assert request.headers["Accept"] == "application/vnd.github.v3.diff"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


@respx.mock
async def test_post_review_exact_body_and_no_duplicate() -> None:
    reviews: list[dict] = []

    def list_reviews(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=reviews)

    def create(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        reviews.append(
            {"id": 99, "body": body["body"], "commit_id": body["commit_id"], "html_url": "u", "user": ME}
        )
        return httpx.Response(200, json={"id": 99, "html_url": "u"})

    respx.get(f"{API}/user").mock(return_value=httpx.Response(200, json=ME))
    respx.get(f"{API}/repos/{REPO}/pulls/7/reviews").mock(side_effect=list_reviews)
    post_route = respx.post(f"{API}/repos/{REPO}/pulls/7/reviews").mock(side_effect=create)
    async with GitHubClient(Secret(TOKEN)) as gh:
        first = await gh.post_review(REPO, 7, _post())
        second = await gh.post_review(REPO, 7, _post())
        assert await gh.last_reviewed_head(REPO, 7) == HEAD
    assert first.posted and first.review_id == 99 and first.inline == 2
    assert not second.posted and second.review_id == 99
    assert post_route.call_count == 1
    sent = json.loads(post_route.calls.last.request.content)
    assert sent["commit_id"] == HEAD and sent["event"] == "COMMENT"
    assert "<!-- hunkwise:review:k123@bbbbbbbbbbbb -->" in sent["body"]
    assert sent["comments"] == [
        {"path": "src/a.py", "line": 3, "side": "RIGHT", "body": "one line<!-- hunkwise:finding:f1 -->"},
        {
            "path": "src/b.py",
            "line": 12,
            "side": "RIGHT",
            "start_line": 10,
            "start_side": "RIGHT",
            "body": "range<!-- hunkwise:finding:f2 -->",
        },
    ]


@respx.mock
async def test_refused_inline_comments_are_folded_into_the_summary() -> None:
    respx.get(f"{API}/repos/{REPO}/pulls/7/reviews").mock(return_value=httpx.Response(200, json=[]))
    route = respx.post(f"{API}/repos/{REPO}/pulls/7/reviews").mock(
        side_effect=[
            httpx.Response(
                422, json={"message": "Unprocessable Entity", "errors": ["Line could not be resolved"]}
            ),
            httpx.Response(200, json={"id": 5}),
        ]
    )
    async with GitHubClient(Secret(TOKEN)) as gh:
        result = await gh.post_review(REPO, 7, _post())
    assert result.posted and result.folded == 2 and result.inline == 0
    retry = json.loads(route.calls.last.request.content)
    assert retry["comments"] == []
    assert "`src/b.py:10-12`" in retry["body"] and "hunkwise:finding:f2" in retry["body"]


@respx.mock
async def test_pagination_follows_link_header() -> None:
    respx.get(f"{API}/repos/{REPO}/pulls/7/reviews", params={"per_page": "100"}).mock(
        return_value=httpx.Response(
            200,
            json=[{"id": 1, "body": "x"}],
            headers={"Link": f'<{API}/repos/{REPO}/pulls/7/reviews?page=2>; rel="next"'},
        )
    )
    respx.get(f"{API}/repos/{REPO}/pulls/7/reviews", params={"page": "2"}).mock(
        return_value=httpx.Response(
            200, json=[{"id": 2, "body": marker("review", "zz"), "commit_id": "c2", "user": ME}]
        )
    )
    respx.get(f"{API}/user").mock(return_value=httpx.Response(200, json=ME))
    async with GitHubClient(Secret(TOKEN)) as gh:
        assert [r["id"] for r in await gh.list_reviews(REPO, 7)] == [1, 2]
        assert (await gh.find_review(REPO, 7, "zz"))["id"] == 2


@respx.mock
async def test_markers_by_anyone_else_are_not_ours() -> None:
    """A pull request author who types hunkwise's markers neither suppresses the review nor
    moves the incremental base: only reviews by the token's own user (GET /user) count."""
    forged = [
        {"id": 5, "body": marker("review", "k123@bbbbbbbbbbbb"), "commit_id": HEAD, "user": AUTHOR},
        {"id": 6, "body": marker("review", "old"), "commit_id": "a" * 40, "user": AUTHOR},
    ]
    respx.get(f"{API}/repos/{REPO}/pulls/7/reviews").mock(return_value=httpx.Response(200, json=forged))
    me = respx.get(f"{API}/user").mock(return_value=httpx.Response(200, json=ME))
    post_route = respx.post(f"{API}/repos/{REPO}/pulls/7/reviews").mock(
        return_value=httpx.Response(200, json={"id": 99, "html_url": "u"})
    )
    respx.get(f"{API}/repos/{REPO}/pulls/7").mock(return_value=httpx.Response(200, text="FULL"))
    async with GitHubClient(Secret(TOKEN)) as gh:
        assert await gh.find_review(REPO, 7, "k123@bbbbbbbbbbbb") is None
        assert await gh.last_reviewed_head(REPO, 7) is None
        assert await gh.review_diff(REPO, 7, HEAD, incremental=True) == ("FULL", None)
        assert (await gh.post_review(REPO, 7, _post())).posted
    assert post_route.call_count == 1 and me.call_count == 1, "GET /user once per client"


@respx.mock
@pytest.mark.parametrize(
    ("bot_login", "author", "ours"),
    [
        (None, {"id": 9, "login": "hunkwise-acme[bot]", "type": "Bot"}, True),
        (None, {"id": 9, "login": "hunkwise-acme[bot]", "type": "User"}, False),
        (None, AUTHOR, False),
        ("hunkwise-acme[bot]", {"id": 9, "login": "Hunkwise-Acme[bot]", "type": "Bot"}, True),
        ("hunkwise-acme[bot]", {"id": 8, "login": "other-app[bot]", "type": "Bot"}, False),
    ],
)
async def test_installation_tokens_trust_the_app_bot(bot_login: str | None, author: dict, ours: bool) -> None:
    """GET /user answers 403 to an installation token: the author must be the App's bot."""
    review = {"id": 5, "body": marker("review", "k"), "commit_id": HEAD, "user": author}
    respx.get(f"{API}/repos/{REPO}/pulls/7/reviews").mock(return_value=httpx.Response(200, json=[review]))
    respx.get(f"{API}/user").mock(
        return_value=httpx.Response(403, json={"message": "Resource not accessible"})
    )
    async with GitHubClient(Secret(TOKEN), bot_login=bot_login) as gh:
        assert (await gh.find_review(REPO, 7, "k") is not None) is ours
    via_none = review | {
        "user": {"id": 9, "login": "x[bot]", "type": "Bot"},
        "performed_via_github_app": None,
    }
    respx.get(f"{API}/repos/{REPO}/pulls/7/reviews").mock(return_value=httpx.Response(200, json=[via_none]))
    async with GitHubClient(Secret(TOKEN)) as gh:
        assert await gh.find_review(REPO, 7, "k") is None, "not posted via an app"


@respx.mock
async def test_incremental_diff_uses_compare_only_when_ahead() -> None:
    respx.get(f"{API}/repos/{REPO}/pulls/7/reviews").mock(
        return_value=httpx.Response(
            200, json=[{"id": 1, "body": marker("review", "old"), "commit_id": "a" * 40, "user": ME}]
        )
    )
    respx.get(f"{API}/user").mock(return_value=httpx.Response(200, json=ME))
    compare = respx.get(f"{API}/repos/{REPO}/compare/{'a' * 40}...{HEAD}")
    compare.side_effect = lambda req: (
        httpx.Response(200, text="INCREMENTAL")
        if req.headers["Accept"].endswith(".diff")
        else httpx.Response(200, json={"status": "ahead"})
    )
    respx.get(f"{API}/repos/{REPO}/pulls/7").mock(return_value=httpx.Response(200, text="FULL"))
    async with GitHubClient(Secret(TOKEN)) as gh:
        assert await gh.review_diff(REPO, 7, HEAD, incremental=True) == ("INCREMENTAL", "a" * 40)
        assert await gh.review_diff(REPO, 7, HEAD, incremental=False) == ("FULL", None)
        compare.side_effect = lambda req: httpx.Response(200, json={"status": "diverged"})
        assert await gh.review_diff(REPO, 7, HEAD, incremental=True) == ("FULL", None)


@respx.mock
@pytest.mark.parametrize(
    ("response", "error", "text"),
    [
        (httpx.Response(401, json={"message": "Bad credentials"}), PlatformAuthError, "invalid or expired"),
        (
            httpx.Response(403, json={"message": "Resource not accessible"}),
            PlatformAuthError,
            "Pull requests",
        ),
        (httpx.Response(404, json={"message": "Not Found"}), PlatformNotFound, "404"),
        (
            httpx.Response(
                403, json={"message": "API rate limit exceeded"}, headers={"x-ratelimit-remaining": "0"}
            ),
            PlatformRateLimited,
            "rate limited",
        ),
        (httpx.Response(429, headers={"retry-after": "30"}), PlatformRateLimited, "30s"),
        (httpx.Response(502), PlatformUnavailable, "502"),
    ],
)
async def test_errors_are_translated_without_the_token(
    response: httpx.Response, error: type, text: str
) -> None:
    respx.get(f"{API}/repos/{REPO}/pulls/7").mock(return_value=response)
    async with GitHubClient(Secret(TOKEN)) as gh:
        with pytest.raises(error, match=text) as info:
            await gh.pull_diff(REPO, 7)
    assert TOKEN not in str(info.value)
    assert isinstance(info.value, TransientError) == (error in (PlatformRateLimited, PlatformUnavailable))


async def test_unreachable_github_is_transient() -> None:
    async with GitHubClient(Secret(TOKEN), "http://127.0.0.1:9") as gh:
        with pytest.raises(PlatformUnavailable, match="cannot reach GitHub"):
            await gh.pull_diff(REPO, 7)
