"""The clients' side of the conversation, against the fakes: one summary edited in place,
later pushes' comments, threads and their resolution read back, "won't fix" replies."""

from __future__ import annotations

import json

from hunkwise.gateway.types import Secret
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.gitlab import GitLabClient
from hunkwise.platforms.review_post import InlineComment, ReviewPost, marker, markers_in, review_key
from platform_fakes import AUTHOR, GITLAB_AUTHOR, FakeGitHub, FakeGitLab

REPO = "acme/api"
FP1, FP2, FP3 = "1111111111111111.bare-except", "2222222222222222.todo", "3333333333333333.eval"
REFS = {"base_sha": "b" * 40, "start_sha": "s" * 40, "head_sha": "h" * 40}


def _post(head: str, *comments: tuple[str, int, int, str]) -> ReviewPost:
    key = review_key("github", REPO, 7, head)
    summary = (
        f"summary at {head[:7]}\n" + marker("review", key) + marker("summary", "pr7") + marker("head", head)
    )
    return ReviewPost(
        key=key,
        head_sha=head,
        summary=summary,
        comments=[InlineComment(p, s, e, f"finding {fp}" + marker("fp", fp), fp) for p, s, e, fp in comments],
    )


def _github(fake: FakeGitHub) -> GitHubClient:
    return GitHubClient(Secret("ghp_test"), "https://api.github.com", transport=fake.transport())


async def test_github_first_review_then_a_push_edits_the_one_summary() -> None:
    fake = FakeGitHub()
    async with _github(fake) as gh:
        first = await gh.post_review(REPO, 7, _post("a" * 40, ("a.py", 3, 5, FP1)))
        second = await gh.post_review(REPO, 7, _post("c" * 40, ("b.py", 9, 9, FP2)))
        again = await gh.post_review(REPO, 7, _post("c" * 40, ("b.py", 9, 9, FP2)))
        assert await gh.last_reviewed_head(REPO, 7) == "c" * 40
    assert first.posted and first.inline == 1 and second.posted and second.inline == 1
    assert not again.posted  # the summary carries this head's review marker
    assert len(fake.reviews) == 2  # the summary (first review) and push 2's comments
    assert (
        "summary at ccccccc" in fake.reviews[0]["body"] and fake.edits[0]["review"] == fake.reviews[0]["id"]
    )
    assert ("push", review_key("github", REPO, 7, "c" * 40)) in markers_in(fake.reviews[1]["body"])
    multi = fake.review_comments[0]  # GitHub's multi-line form, as the API stores it
    assert (multi["start_line"], multi["line"], multi["side"], multi["start_side"]) == (
        3,
        5,
        "RIGHT",
        "RIGHT",
    )


async def test_github_refused_push_comments_fold_into_the_edited_summary() -> None:
    fake = FakeGitHub(refuse_lines={9})
    async with _github(fake) as gh:
        await gh.post_review(REPO, 7, _post("a" * 40, ("a.py", 3, 3, FP1)))
        result = await gh.post_review(REPO, 7, _post("c" * 40, ("b.py", 9, 9, FP2)))
        threads = await gh.prior_threads(REPO, 7)
    assert (result.inline, result.folded) == (0, 1)
    assert "Findings that could not be placed inline" in fake.reviews[0]["body"]
    # the folded finding's fingerprint is read back from the summary: not posted again later
    assert {t.fingerprint for t in threads} == {FP1, FP2}


async def test_github_prior_threads_read_resolution_and_wont_fix_from_others_only() -> None:
    fake = FakeGitHub()
    async with _github(fake) as gh:
        await gh.post_review(
            REPO, 7, _post("a" * 40, ("a.py", 3, 3, FP1), ("a.py", 8, 8, FP2), ("a.py", 9, 9, FP3))
        )
        one, two, three = fake.own_threads()
        fake.resolve(one["id"])
        fake.reply(two["id"], "won't fix, this is on purpose", AUTHOR)
        fake.reply(three["id"], "hunkwise says: won't fix?", fake.user)  # its own reply closes nothing
        # someone else's comment carrying a marker is not hunkwise's
        fake.review_comments.append(
            {**one, "id": 1, "user": AUTHOR, "body": marker("fp", "4444444444444444.x")}
        )
        threads = {t.fingerprint: t for t in await gh.prior_threads(REPO, 7)}
    assert set(threads) == {FP1, FP2, FP3}
    assert threads[FP1].resolved and not threads[FP1].wont_fix
    assert threads[FP2].wont_fix and not threads[FP2].resolved
    assert not threads[FP3].resolved and not threads[FP3].wont_fix
    graphql = [r for r in fake.requests if r.url.path == "/graphql"]
    assert len(graphql) == 1 and json.loads(graphql[0].content)["variables"]["number"] == 7


async def test_github_graphql_refused_means_every_thread_counts_as_open() -> None:
    fake = FakeGitHub()
    async with _github(fake) as gh:
        await gh.post_review(REPO, 7, _post("a" * 40, ("a.py", 3, 3, FP1)))
        fake.resolve(fake.own_threads()[0]["id"])
        fake.graphql_status = 403
        threads = await gh.prior_threads(REPO, 7)
    assert [(t.fingerprint, t.resolved) for t in threads] == [(FP1, False)]


def test_github_enterprise_graphql_url() -> None:
    assert (
        str(GitHubClient(None, "https://ghe.acme.io/api/v3").graphql_url())
        == "https://ghe.acme.io/api/graphql"
    )
    assert str(GitHubClient(None).graphql_url()) == "https://api.github.com/graphql"


async def test_gitlab_summary_note_is_edited_and_threads_read_back() -> None:
    fake = FakeGitLab()
    async with GitLabClient(Secret("glpat"), "https://gitlab.com/api/v4", transport=fake.transport()) as gl:
        await gl.post_review(42, 3, _post("a" * 40, ("a.py", 3, 4, FP1), ("a.py", 8, 8, FP2)), REFS)
        one, two = fake.own_discussions()
        fake.resolve(one["id"])
        fake.reply(two["id"], "Won’t fix.", GITLAB_AUTHOR)
        await gl.post_review(42, 3, _post("c" * 40, ("a.py", 3, 4, FP1), ("b.py", 1, 1, FP3)), REFS)
        threads = {t.fingerprint: t for t in await gl.prior_threads(42, 3)}
    assert len(fake.notes) == 1 and "summary at ccccccc" in fake.notes[0]["body"]
    assert [e["note"] for e in fake.edits] == [fake.notes[0]["id"]]
    assert len(fake.discussions) == 3  # FP1 was there already: not posted twice
    assert threads[FP1].resolved and threads[FP2].wont_fix and not threads[FP3].resolved
    position = fake.discussions[0]["notes"][0]["position"]
    assert position["new_line"] == 3 and "_Lines 3-4_" in fake.discussions[0]["notes"][0]["body"]
