"""Gitea/Forgejo: the webhook's signature and payload parsing (tests/data/gitea), and the REST
client against the fake Gitea (tests/gitea_fake.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitea_fake import AUTHOR, BOT, HEAD, TOKEN, FakeGitea
from hunkwise.gateway import Secret
from hunkwise.platforms.gitea import PLACEABLE, GiteaClient, placeable_lines
from hunkwise.platforms.gitea_webhooks import (
    GiteaPayloadError,
    GiteaPullRequestEvent,
    classify,
    sign,
    verify_signature,
)
from hunkwise.platforms.identity import IdentityError
from hunkwise.platforms.review_post import (
    InlineComment,
    PlatformAuthError,
    PlatformError,
    ReviewPost,
    marker,
    markers_in,
)
from hunkwise.platforms.status import CommitState
from platform_fakes import SAMPLE

DATA = Path(__file__).parents[1] / "data" / "gitea"
WEB = "https://gitea.example.com"


def payload(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"pull_request.{name}.json").read_text())


# -- signature ------------------------------------------------------------------------------------
def test_signature_from_gitea_or_forgejo_header_and_nothing_else() -> None:
    body = (DATA / "pull_request.opened.json").read_bytes()
    good = sign("s3cret", body)
    assert len(good) == 64 and good == good.lower()
    assert verify_signature("s3cret", body, {"X-Gitea-Signature": good})
    assert verify_signature("s3cret", body, {"X-Forgejo-Signature": good})  # Forgejo's own header
    assert verify_signature("s3cret", body, {"X-Forgejo-Signature": "0" * 64, "X-Gitea-Signature": good})
    assert not verify_signature("s3cret", body, {"X-Gitea-Signature": sign("other", body)})
    assert not verify_signature("s3cret", body + b" ", {"X-Gitea-Signature": good})
    assert not verify_signature("s3cret", body, {"X-Hub-Signature-256": "sha256=" + good})
    assert not verify_signature("s3cret", body, {})
    assert not verify_signature("", body, {"X-Gitea-Signature": sign("", body)}), (
        "no secret: nothing verifies"
    )


# -- classification -------------------------------------------------------------------------------
def test_opened_is_reviewed_with_its_identities() -> None:
    decision = classify("pull_request", payload("opened"), web_url=WEB + "/")
    assert decision.kind == "review" and decision.event is not None
    event = decision.event
    assert (event.owner, event.repository, event.number) == ("acme", "acme/api", 7)
    assert event.head_sha == "9f4d2c1b7a6e5d4c3b2a19081726354453627180"
    assert event.api_url == "https://gitea.example.com/api/v1" and event.action == "opened"
    assert event.dedupe_key == "gitea:acme/api#7@9f4d2c1b7a6e5d4c3b2a19081726354453627180"
    assert GiteaPullRequestEvent.from_payload(event.as_payload()) == event
    assert event.as_payload()["platform"] == "gitea"


def test_actions_drafts_and_ready() -> None:
    sync = classify("pull_request", payload("synchronized"), web_url=WEB)
    assert sync.kind == "review" and sync.event is not None and sync.event.action == "synchronized"
    assert sync.event.head_sha.startswith("0b1c2d3e")
    wip = classify("pull_request", payload("opened_wip"), web_url=WEB)
    assert wip.kind == "ignore" and "draft" in wip.reason
    flagged = payload("opened")
    flagged["pull_request"]["draft"] = True  # newer Gitea/Forgejo say it outright
    assert classify("pull_request", flagged, web_url=WEB).kind == "ignore"
    ready = classify("pull_request", payload("edited_ready"), web_url=WEB)
    assert ready.kind == "review" and ready.event is not None and ready.event.action == "ready_for_review"
    retitled = payload("edited_ready")
    retitled["changes"]["title"]["from"] = "Price rounding"  # an edit that was never a draft
    assert classify("pull_request", retitled, web_url=WEB).kind == "ignore"
    closed = classify("pull_request", payload("closed"), web_url=WEB)
    assert closed.kind == "ignore" and "closed" in closed.reason
    assert classify("push", {}, web_url=WEB).kind == "ignore"
    assert classify(None, payload("opened"), web_url=WEB).kind == "ignore"


def test_a_delivery_from_another_instance_is_refused() -> None:
    with pytest.raises(
        GiteaPayloadError, match=re.escape("not on the configured Gitea instance 'https://codeberg.org'")
    ):
        classify("pull_request", payload("opened"), web_url="https://codeberg.org")
    # an instance served below a path: the repository must be under it
    served = payload("opened")
    served["repository"]["html_url"] = "https://gitea.example.com/git/acme/api"
    assert classify("pull_request", served, web_url=WEB + "/git").kind == "review"
    with pytest.raises(GiteaPayloadError):
        classify("pull_request", payload("opened"), web_url=WEB + "/git")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p["repository"].update(full_name="acme/../../repos/beta/x"), "repository.full_name"),
        (
            lambda p: p["repository"].update(full_name="beta/api"),
            "repository.full_name",
        ),  # owner.login is acme
        (lambda p: p["pull_request"]["head"].update(sha="../../etc/passwd"), "pull_request.head.sha"),
        (lambda p: p.update(number="7/../../8"), "number"),
    ],
)
def test_identities_are_refused_naming_the_field(change: Any, field: str) -> None:
    delivery = payload("opened")
    change(delivery)
    with pytest.raises(IdentityError) as caught:
        classify("pull_request", delivery, web_url=WEB)
    assert caught.value.field == field


def test_missing_fields_and_stored_events_are_checked() -> None:
    delivery = payload("opened")
    del delivery["pull_request"]["head"]
    with pytest.raises(GiteaPayloadError, match=re.escape("pull_request.head.sha")):
        classify("pull_request", delivery, web_url=WEB)
    stored = classify("pull_request", payload("opened"), web_url=WEB).event
    assert stored is not None
    with pytest.raises(IdentityError, match="owner 'beta'"):
        GiteaPullRequestEvent.from_payload(stored.as_payload() | {"owner": "beta"})


def test_placeable_lines_are_the_hunks_new_side() -> None:
    assert placeable_lines(SAMPLE) == {
        "src/inventory/config.py": [[2, 10]],
        "src/inventory/pricing.py": [[1, 26]],
        "tests/test_pricing.py": [[1, 12]],
    }
    deleted = "diff --git a/x.py b/x.py\ndeleted file mode 100644\n--- a/x.py\n+++ /dev/null\n"
    deleted += "@@ -1,2 +0,0 @@\n-a\n-b\n"
    assert placeable_lines(deleted) == {}


# -- the client against the fake ------------------------------------------------------------------
def client(fake: FakeGitea, token: str | None = TOKEN) -> GiteaClient:
    return GiteaClient(
        Secret(token) if token else None, "https://gitea.example.com/api/v1", transport=fake.transport()
    )


def comment(line: int, key: str, path: str = "src/inventory/pricing.py") -> InlineComment:
    return InlineComment(path, line, line, f"finding at {line}\n\n{marker('fp', key)}", key, f"title {key}")


def review_post(*comments: InlineComment, key: str = "r1", head: str = HEAD) -> ReviewPost:
    summary = f"summary of {key}\n\n{marker('review', key)}\n{marker('summary', 'pr')}"
    return ReviewPost(key=key, head_sha=head, summary=summary, comments=list(comments))


REFS = {PLACEABLE: json.dumps(placeable_lines(SAMPLE))}


async def test_reads_diff_and_files_with_the_token() -> None:
    fake = FakeGitea(files={"src/inventory/pricing.py": "x = 1\n"})
    async with client(fake) as gt:
        assert await gt.pull_diff("acme/api", 7) == SAMPLE
        assert await gt.file_at("acme/api", "src/inventory/pricing.py", HEAD) == "x = 1\n"
        assert await gt.file_at("acme/api", "missing.py", HEAD) is None
    assert [r.url.raw_path.decode() for r in fake.requests] == [
        "/api/v1/repos/acme/api/pulls/7.diff",
        f"/api/v1/repos/acme/api/raw/src/inventory/pricing.py?ref={HEAD}",
        f"/api/v1/repos/acme/api/raw/missing.py?ref={HEAD}",
    ]
    assert all(r.headers["authorization"] == f"token {TOKEN}" for r in fake.requests)


async def test_a_wrong_or_missing_token_is_an_auth_error_naming_the_setting() -> None:
    async with client(FakeGitea(), token="nope") as gt:
        with pytest.raises(PlatformAuthError, match=r"HUNKWISE_GITEA_TOKEN.*invalid"):
            await gt.pull_diff("acme/api", 7)
    async with client(FakeGitea(), token=None) as gt:
        with pytest.raises(PlatformAuthError, match="set HUNKWISE_GITEA_TOKEN"):
            await gt.pull_diff("acme/api", 7)


async def test_posts_one_review_per_finding_folds_what_gitea_cannot_show_then_the_summary() -> None:
    fake = FakeGitea()
    outside = comment(40, "fp-outside")  # pricing.py's hunk ends at line 26
    async with client(fake) as gt:
        result = await gt.post_review(
            "acme/api", 7, review_post(comment(12, "fp-a"), comment(19, "fp-b"), outside), REFS
        )
        assert result.posted and result.inline == 2 and result.folded == 1
        reviews = [r for r in fake.writes() if r.url.path.endswith("/reviews")]
        assert len(reviews) == 2
        sent = json.loads(reviews[0].content)
        assert sent["event"] == "COMMENT" and sent["commit_id"] == HEAD and sent["body"] == ""
        body = comment(12, "fp-a").body
        assert sent["comments"] == [
            {"path": "src/inventory/pricing.py", "body": body, "new_position": 12, "old_position": 0}
        ]
        assert all(c["diff_hunk"] for c in fake.submitted()), "every comment shows its code"
        [summary] = fake.issue_comments
        assert "src/inventory/pricing.py:40" in summary["body"] and "fp-outside" in summary["body"]
        # the same review again: nothing new
        again = await gt.post_review("acme/api", 7, review_post(comment(12, "fp-a"), key="r1"), REFS)
        assert not again.posted
        # the next head: its new finding, and the one summary edited in place
        later = await gt.post_review(
            "acme/api", 7, review_post(comment(12, "fp-a"), comment(13, "fp-c"), key="r2"), REFS
        )
    assert later.posted and later.inline == 1 and later.review_id == summary["id"]
    assert len(fake.issue_comments) == 1 and "summary of r2" in fake.issue_comments[0]["body"]
    assert fake.writes()[-1].method == "PATCH"
    assert fake.writes()[-1].url.path == f"/api/v1/repos/acme/api/issues/comments/{summary['id']}"


async def test_markers_typed_by_someone_else_do_not_count() -> None:
    fake = FakeGitea()
    fake.say(f"copied {marker('review', 'r1')} {marker('fp', 'fp-a')}", AUTHOR)
    async with client(fake) as gt:
        assert await gt.existing_markers("acme/api", 7) == set()
        result = await gt.post_review("acme/api", 7, review_post(comment(12, "fp-a")), REFS)
    assert result.posted and result.inline == 1 and len(fake.issue_comments) == 2


async def test_a_review_stranded_pending_is_removed_not_posted_twice() -> None:
    fake = FakeGitea(fail_submit=[500])
    async with client(fake) as gt:
        with pytest.raises(Exception, match="500"):
            await gt.post_review("acme/api", 7, review_post(comment(12, "fp-a")), REFS)
        assert [r["state"] for r in fake.reviews] == ["PENDING"] and len(fake.comments) == 1
        result = await gt.post_review("acme/api", 7, review_post(comment(12, "fp-a")), REFS)
    assert result.posted and result.inline == 1
    assert len(fake.submitted()) == 1 and len(fake.comments) == 1, "the finding is on the pull request once"
    assert any(r.method == "DELETE" for r in fake.writes())


async def test_a_persons_pending_draft_is_never_deleted() -> None:
    fake = FakeGitea()
    draft = {"path": "src/inventory/pricing.py", "body": "hmm", "new_position": 3}  # no hunkwise fingerprint
    async with httpx.AsyncClient(
        transport=fake.transport(), headers={"Authorization": f"token {TOKEN}"}
    ) as ui:
        started = await ui.post(
            "https://gitea.example.com/api/v1/repos/acme/api/pulls/7/reviews",
            json={"event": "PENDING", "comments": [draft]},
        )
    assert started.status_code == 200 and [r["state"] for r in fake.reviews] == ["PENDING"]
    async with client(fake) as gt:
        assert await gt.drop_stranded("acme/api", 7) == 0
    assert not any(r.method == "DELETE" for r in fake.requests) and len(fake.comments) == 1


async def test_prior_threads_resolved_and_wont_fix() -> None:
    fake = FakeGitea()
    async with client(fake) as gt:
        await gt.post_review(
            "acme/api", 7, review_post(comment(12, "fp-a"), comment(19, "fp-b"), comment(40, "fp-c")), REFS
        )
        first, second = fake.submitted()
        fake.resolve(first["id"])
        fake.reply(second["id"], "won't fix: intended")
        fake.reply(first["id"], "won't fix", BOT)  # hunkwise's own reply never closes a thread
        fake.comments.reverse()  # Gitea lists a review's comments by file and line, in no set order
        threads = {t.fingerprint: t for t in await gt.prior_threads("acme/api", 7)}
    assert threads["fp-a"].resolved and not threads["fp-a"].wont_fix
    assert threads["fp-b"].wont_fix and not threads["fp-b"].resolved
    assert threads["fp-b"].where == "src/inventory/pricing.py:19"
    assert threads["fp-c"].where == "summary", "the folded finding is remembered from the summary"


async def test_status_states_and_paging() -> None:
    fake = FakeGitea(page_size=2)
    async with client(fake) as gt:
        await gt.post_review(
            "acme/api", 7, review_post(*(comment(n, f"fp-{n}") for n in (3, 5, 7, 9, 11))), REFS
        )
        assert len(await gt.reviews("acme/api", 7)) == 5, "three pages of two"
        for state in ("pending", "success", "neutral", "failure"):
            await gt.set_status("acme/api", HEAD, CommitState(state, f"{state} review"))  # type: ignore[arg-type]
    assert fake.status_history() == [
        ("pending", "pending review"),
        ("success", "success review"),
        ("warning", "neutral review"),
        ("failure", "failure review"),
    ]
    assert {s["context"] for s in fake.statuses} == {"hunkwise"}
    pages = [
        r.url.params.get("page")
        for r in fake.requests
        if r.url.path.endswith("/reviews") and r.method == "GET"
    ]
    assert pages[-3:] == [None, "2", "3"]
    assert markers_in(fake.issue_comments[0]["body"]) >= {("review", "r1")}


async def test_gitea_itself_accepts_a_line_outside_the_diff_without_its_code() -> None:
    """Why the client checks lines itself: without the diff's ranges (a checkpoint from before
    them), the comment is accepted by Gitea and shown with no code (an empty diff hunk)."""
    fake = FakeGitea()
    async with client(fake) as gt:
        result = await gt.post_review("acme/api", 7, review_post(comment(40, "fp-outside")), {})
    assert result.inline == 1 and result.folded == 0
    [shown] = fake.submitted()
    assert shown["position"] == 40 and shown["diff_hunk"] == ""


async def test_a_repository_the_token_cannot_see_is_not_found() -> None:
    from hunkwise.platforms.review_post import PlatformNotFound

    async with client(FakeGitea()) as gt:
        with pytest.raises(PlatformNotFound, match="token's user can see"):
            await gt.pull_diff("beta/secret", 7)
        with pytest.raises(IdentityError):
            await gt.pull_diff("beta/../acme", 7)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("acme/api", True),
        ("my.org_x-1/repo.name_2", True),
        ("o" * 40 + "/r", True),
        ("o" * 41 + "/r", False),
        ("acme/" + "r" * 101, False),
        ("-acme/api", False),
        ("acme/..", False),
        ("acme/api/extra", False),
        ("acme/a%2Fb", False),
        ("acme/ api", False),
    ],
)
def test_gitea_repository_names(value: str, ok: bool) -> None:
    from hunkwise.platforms.identity import gitea_repository

    if ok:
        assert "/".join(gitea_repository(value)) == value
    else:
        with pytest.raises(IdentityError, match="is not a Gitea repository"):
            gitea_repository(value)


async def test_without_the_tokens_user_id_nothing_is_posted() -> None:
    # GET /user answering without an id made every comment look foreign: each attempt found no
    # marker and no summary, and a retry posted every finding and the summary again.
    fake = FakeGitea()
    fake.user = {"login": BOT["login"]}
    async with client(fake) as gt:
        with pytest.raises(PlatformError, match="GET /user"):
            await gt.post_review("acme/api", 7, review_post(comment(12, "fp-a")), REFS)
    assert fake.writes() == []


def test_placeable_lines_read_quoted_and_spaced_paths_as_git_writes_them() -> None:
    # git quotes a path with non-ASCII or special characters ("b/na\303\257ve.py") and ends a
    # path with a space with a tab; the quoted one was read as no path at all, so every finding
    # on such a file was folded into the summary instead of going inline.
    diff = (
        'diff --git "a/na\\303\\257ve.py" "b/na\\303\\257ve.py"\n'
        "index 7898192..0b60a5f 100644\n"
        '--- "a/na\\303\\257ve.py"\n'
        '+++ "b/na\\303\\257ve.py"\n'
        "@@ -1 +1,2 @@\n a\n+c\n"
        "diff --git a/my file.py b/my file.py\n"
        "index 6178079..9f3ae6c 100644\n"
        "--- a/my file.py\t\n"
        "+++ b/my file.py\t\n"
        "@@ -1 +1,2 @@\n b\n+d\n"
        'diff --git "a/tab\\there.py" "b/tab\\there.py"\n'
        '--- "a/tab\\there.py"\n'
        '+++ "b/tab\\there.py"\n'
        "@@ -1 +1,2 @@\n b\n+d\n"
    )
    assert placeable_lines(diff) == {"naïve.py": [[1, 2]], "my file.py": [[1, 2]], "tab\there.py": [[1, 2]]}
    broken = '--- "a/x\\\\"\n+++ "b/x\\"\n@@ -1 +1,2 @@\n b\n+d\n'
    assert placeable_lines(broken) == {}, "a quoting git would not write places nothing (and does not crash)"


async def test_a_write_whose_answer_is_not_json_is_not_a_crash() -> None:
    # The summary was created (or edited), but the answer (a proxy's page, an empty body) is not
    # the comment: ``.json().get("id")`` raised JSONDecodeError or AttributeError, a traceback
    # instead of a posted review. The id is only informative; the next read finds the comment.
    fake = FakeGitea()

    def handle(request: httpx.Request) -> httpx.Response:
        answer = fake.handle(request)
        if request.method in ("POST", "PATCH") and "/comments" in request.url.path:
            return httpx.Response(answer.status_code, content=b"<html>ok</html>")
        return answer

    async with GiteaClient(Secret(TOKEN), f"{WEB}/api/v1", transport=httpx.MockTransport(handle)) as gt:
        first = await gt.post_review("acme/api", 7, review_post(key="r1"), REFS)
        again = await gt.post_review("acme/api", 7, review_post(key="r2"), REFS)
    assert first.posted and first.review_id is None
    assert again.posted and len([c for c in fake.issue_comments if "summary" in c["body"]]) == 1
