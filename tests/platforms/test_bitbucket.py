"""Bitbucket Cloud: signature checks, event classification and identity refusals on the
documented payloads, and the client's requests against the fake."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bitbucket_fake import EMAIL, HEAD, HUMAN, TOKEN, TOKEN_USER, FakeBitbucket
from hunkwise.gateway import Secret
from hunkwise.platforms import bitbucket as bb
from hunkwise.platforms import bitbucket_webhooks as bw
from hunkwise.platforms.identity import IdentityError
from hunkwise.platforms.review_post import (
    InlineComment,
    PlatformAuthError,
    PlatformError,
    PlatformNotFound,
    ReviewPost,
    marker,
)
from hunkwise.platforms.status import CommitState

DATA = Path(__file__).parents[1] / "data" / "bitbucket"
API = "https://api.bitbucket.org/2.0"


def payload(name: str = "pullrequest_created.json") -> dict:
    return json.loads((DATA / name).read_text())


def client(fake: FakeBitbucket, **kw: object) -> bb.BitbucketClient:
    kw.setdefault("bot_uuid", None if fake.username else TOKEN_USER["uuid"])
    return bb.BitbucketClient(
        Secret(fake.token),
        API,
        username=fake.username,
        transport=fake.transport(),
        **kw,  # type: ignore[arg-type]
    )


# -- signatures --------------------------------------------------------------------------------------
def test_signature_is_checked_on_the_raw_bytes() -> None:
    body = (DATA / "pullrequest_created.json").read_bytes()
    good = bw.sign("s3cret", body)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert bw.verify_signature("s3cret", body, good)
    assert bw.verify_signature("s3cret", body, f"  {good} ")
    assert not bw.verify_signature("s3cret", body + b" ", good), "one more byte is another body"
    assert not bw.verify_signature("other", body, good)
    assert not bw.verify_signature("s3cret", body, good.replace("sha256=", "sha1="))
    assert not bw.verify_signature("s3cret", body, None)
    assert not bw.verify_signature("", body, bw.sign("", body)), "an unset secret verifies nothing"


# -- classification ----------------------------------------------------------------------------------
def test_created_and_updated_are_reviewed_with_the_delivered_head() -> None:
    created = bw.classify("pullrequest:created", payload(), api_url=API)
    assert created.kind == "review" and created.event is not None
    ev = created.event
    assert (ev.owner, ev.repository, ev.number, ev.head_sha) == ("acme", "acme/api", 7, "c0ffee111111")
    assert ev.action == "opened" and ev.html_url == "https://bitbucket.org/acme/api/pull-requests/7"
    assert ev.dedupe_key == "bitbucket:acme/api#7@c0ffee111111"
    assert bw.BitbucketPullRequestEvent.from_payload(ev.as_payload()) == ev
    updated = bw.classify("pullrequest:updated", payload("pullrequest_updated.json"), api_url=API)
    assert updated.kind == "review" and updated.event is not None
    assert updated.event.action == "updated" and updated.event.head_sha == "d00d1e333333"


@pytest.mark.parametrize(
    ("key", "name", "reason"),
    [
        (
            "pullrequest:fulfilled",
            "pullrequest_fulfilled.json",
            "event pullrequest:fulfilled is not reviewed",
        ),
        ("pullrequest:updated", "pullrequest_fulfilled.json", "state MERGED is not reviewed"),
        ("repo:push", "pullrequest_created.json", "event repo:push is not reviewed"),
        (None, "pullrequest_created.json", "event (none) is not reviewed"),
    ],
)
def test_other_events_and_states_are_ignored(key: str | None, name: str, reason: str) -> None:
    decision = bw.classify(key, payload(name), api_url=API)
    assert decision.kind == "ignore" and reason in decision.reason


def test_a_draft_is_ignored_until_ready() -> None:
    data = payload()
    data["pullrequest"]["draft"] = True
    decision = bw.classify("pullrequest:created", data, api_url=API)
    assert decision.kind == "ignore" and "draft" in decision.reason


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("repository", "full_name"), "acme/../../other/secret", "repository.full_name"),
        (("repository", "full_name"), "acme", "repository.full_name"),
        (("repository", "full_name"), "ac%2Fme/api", "repository.full_name"),
        (("pullrequest", "id"), "7/../../8", "pullrequest.id"),
        (("pullrequest", "id"), True, "pullrequest.id"),
        (("pullrequest", "source", "commit", "hash"), "../../etc", "pullrequest.source.commit.hash"),
        (("pullrequest", "source", "commit", "hash"), "abc", "pullrequest.source.commit.hash"),
        (("repository", "workspace", "slug"), "beta", "repository.workspace.slug"),
    ],
)
def test_identities_that_are_not_ones_are_refused_naming_the_field(
    path: tuple[str, ...], value: object, field: str
) -> None:
    data = payload()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(IdentityError) as info:
        bw.classify("pullrequest:created", data, api_url=API)
    assert info.value.field == field


def test_a_delivery_linking_to_another_host_is_refused() -> None:
    data = payload()
    data["repository"]["links"]["html"]["href"] = "https://evil.example/acme/api"
    with pytest.raises(bw.BitbucketPayloadError, match=r"evil\.example.*HUNKWISE_BITBUCKET_API_URL"):
        bw.classify("pullrequest:created", data, api_url=API)
    data = payload()
    data["pullrequest"]["links"]["html"]["href"] = "https://evil.example/acme/api/pull-requests/7"
    with pytest.raises(bw.BitbucketPayloadError, match=r"pullrequest\.links\.html\.href"):
        bw.classify("pullrequest:created", data, api_url=API)
    # a self-hosted root: its own host is the web host
    local = json.loads(json.dumps(payload()).replace("https://bitbucket.org", "http://127.0.0.1:9"))
    assert bw.classify("pullrequest:created", local, api_url="http://127.0.0.1:9/2.0").kind == "review"


def test_missing_fields_are_named() -> None:
    data = payload()
    del data["pullrequest"]["source"]["commit"]
    with pytest.raises(bw.BitbucketPayloadError, match=r"pullrequest\.source\.commit\.hash"):
        bw.classify("pullrequest:created", data, api_url=API)
    with pytest.raises(bw.BitbucketPayloadError, match="no pullrequest or repository"):
        bw.classify("pullrequest:created", {"repository": {}}, api_url=API)


def test_a_stored_event_is_checked_again() -> None:
    ev = bw.classify("pullrequest:created", payload(), api_url=API).event
    assert ev is not None
    with pytest.raises(IdentityError, match="owner 'beta' is not the workspace"):
        bw.BitbucketPullRequestEvent.from_payload(ev.as_payload() | {"owner": "beta"})
    with pytest.raises(IdentityError, match="repository"):
        bw.BitbucketPullRequestEvent.from_payload(ev.as_payload() | {"repository": "acme/.."})


# -- the client against the fake ---------------------------------------------------------------------
async def test_diff_follows_the_redirect_on_the_configured_host_only() -> None:
    fake = FakeBitbucket()
    async with client(fake) as c:
        text = await c.diff("acme/api", 7)
    assert text == fake.diff
    paths = [r.url.path for r in fake.requests]
    assert paths[0] == "/2.0/repositories/acme/api/pullrequests/7/diff"
    assert paths[1].startswith("/2.0/repositories/acme/api/diff/acme/api:c0ffee111111")
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    evil = FakeBitbucket(redirect_to="https://evil.example/2.0/repositories/acme/api/diff/x")
    async with client(evil) as c:
        with pytest.raises(PlatformError, match="outside the configured API root"):
            await c.diff("acme/api", 7)
    assert len(evil.requests) == 1, "the token was not sent to the other host"


async def test_full_commit_is_found_among_the_pull_requests_commits() -> None:
    fake = FakeBitbucket(commits=[f"{i:040x}" for i in range(1, 150)] + [HEAD])
    async with client(fake) as c:
        assert await c.full_commit("acme/api", 7, HEAD[:12]) == HEAD
        assert await c.full_commit("acme/api", 7, HEAD[:12]) == HEAD  # cached: no new request
        with pytest.raises(PlatformNotFound, match="pushed over"):
            await c.full_commit("acme/api", 7, "deadbeef0000")
    commit_reads = [r for r in fake.requests if r.url.path.endswith("/commits")]
    assert len(commit_reads) == 2 + 2, "two pages to find it, two to learn the other is absent"
    assert commit_reads[0].url.params["pagelen"] == "100" and commit_reads[1].url.params["page"] == "2"


async def test_access_token_identity_comes_from_the_setting_or_a_clear_error() -> None:
    fake = FakeBitbucket()
    async with client(fake, bot_uuid=None) as c:
        with pytest.raises(PlatformAuthError, match="HUNKWISE_BITBUCKET_BOT_UUID"):
            await c.own_uuid()
    async with client(fake) as c:
        assert await c.own_uuid() == TOKEN_USER["uuid"]
    assert [r.url.path for r in fake.requests] == ["/2.0/user"], "the setting needs no request"
    api_token = FakeBitbucket(username=EMAIL)
    async with client(api_token) as c:
        assert await c.own_uuid() == api_token.me["uuid"]
    assert api_token.requests[0].headers["authorization"].startswith("Basic ")


async def test_a_wrong_token_is_a_configuration_error_naming_the_scope() -> None:
    fake = FakeBitbucket()
    async with bb.BitbucketClient(Secret("wrong"), API, transport=fake.transport()) as c:
        with pytest.raises(PlatformAuthError, match=r"401 unauthorized.*Token is invalid.*pullrequest:write"):
            await c.diff("acme/api", 7)
    async with client(fake) as c:
        with pytest.raises(PlatformNotFound, match="workspace, repository and pull request"):
            await c.diff("acme/other", 7)


def comment(line: int, key: str, end: int | None = None) -> InlineComment:
    return InlineComment(
        "src/inventory/pricing.py", line, end or line, f"finding {key}\n\n{marker('fp', key)}", key, "t"
    )


def review(key: str, comments: list[InlineComment]) -> ReviewPost:
    body = f"summary {key}\n{marker('summary', 'pr')}\n{marker('review', key)}"
    return ReviewPost(key=key, head_sha=HEAD, summary=body, comments=comments)


async def test_post_review_places_comments_folds_refusals_and_edits_the_summary_in_place() -> None:
    fake = FakeBitbucket()
    async with client(fake) as c:
        first = await c.post_review(
            "acme/api", 7, review("r1", [comment(12, "a"), comment(12, "b", 13), comment(30, "c")])
        )
        assert first.posted and first.inline == 2 and first.folded == 1
        inline = [json.loads(r.content) for r in fake.comment_posts() if b'"inline"' in r.content]
        assert inline[0]["inline"] == {"path": "src/inventory/pricing.py", "to": 12}
        assert inline[1]["inline"] == {"path": "src/inventory/pricing.py", "to": 13, "start_to": 12}
        assert len(fake.inline_comments()) == 2 and len(fake.top_comments()) == 1
        summary = fake.top_comments()[0]
        assert "src/inventory/pricing.py:30" in summary["content"]["raw"], (
            "the refused line is in the summary"
        )
        # the same review again: nothing new
        again = await c.post_review("acme/api", 7, review("r1", [comment(12, "a")]))
        assert not again.posted and len(fake.comments) == 3
        # a new head: a new finding posted, the one summary edited in place
        second = await c.post_review("acme/api", 7, review("r2", [comment(12, "a"), comment(19, "d")]))
        assert second.posted and second.inline == 1 and second.review_id == summary["id"]
    assert len(fake.top_comments()) == 1 and "summary r2" in fake.top_comments()[0]["content"]["raw"]
    assert [e["id"] for e in fake.edits] == [summary["id"]]


async def test_markers_typed_by_someone_else_do_not_count() -> None:
    fake = FakeBitbucket()
    fake.add_comment(f"copied {marker('review', 'r1')} {marker('summary', 'pr')}", HUMAN)
    fake.add_comment(
        f"copied {marker('fp', 'a')}", HUMAN, inline={"path": "src/inventory/pricing.py", "to": 12}
    )
    async with client(fake) as c:
        result = await c.post_review("acme/api", 7, review("r1", [comment(12, "a")]))
    assert result.posted and result.inline == 1
    assert len([x for x in fake.top_comments() if x["user"]["uuid"] == TOKEN_USER["uuid"]]) == 1
    assert fake.edits == [], "someone else's summary is never edited"


async def test_no_identity_posts_nothing() -> None:
    fake = FakeBitbucket()
    async with client(fake, bot_uuid=None) as c:
        with pytest.raises(PlatformAuthError):
            await c.post_review("acme/api", 7, review("r1", [comment(12, "a")]))
    assert fake.comment_posts() == []


async def test_prior_threads_read_resolution_and_wont_fix_replies() -> None:
    fake = FakeBitbucket()
    where = {"path": "src/inventory/pricing.py", "to": 12}
    a = fake.add_comment(f"a {marker('fp', 'fa')}", TOKEN_USER, inline=where)
    b = fake.add_comment(f"b {marker('fp', 'fb')}", TOKEN_USER, inline=where)
    fake.add_comment(f"c {marker('fp', 'fc')}", TOKEN_USER, inline=where)
    fake.add_comment(f"typed {marker('fp', 'fx')}", HUMAN, inline=where)
    fake.add_comment(f"summary {marker('summary', 'pr')} {marker('fp', 'ff')}", TOKEN_USER)
    fake.resolve(a["id"])
    fake.add_comment("won't fix, intended", HUMAN, parent=b["id"])
    deleted = fake.add_comment(f"gone {marker('fp', 'fd')}", TOKEN_USER, inline=where)
    deleted["deleted"] = True
    async with client(fake) as c:
        threads = await c.prior_threads("acme/api", 7)
    got = {(t.fingerprint, t.resolved, t.wont_fix, t.where) for t in threads}
    assert got == {
        ("fa", True, False, "src/inventory/pricing.py:12"),
        ("fb", False, True, "src/inventory/pricing.py:12"),
        ("fc", False, False, "src/inventory/pricing.py:12"),
        ("ff", False, False, "summary"),
    }


async def test_status_uses_the_full_commit_and_bitbuckets_states() -> None:
    fake = FakeBitbucket()
    ev = bw.classify("pullrequest:created", payload(), api_url=API).event
    assert ev is not None
    async with client(fake) as c:
        pr = bb.BitbucketPullRequest(c, ev)
        await pr.set_status(CommitState("pending", "reviewing"))
        await pr.verify()
        assert pr.head_sha == HEAD
        await pr.set_status(CommitState("neutral", "incomplete: budget"))
        await pr.set_status(CommitState("failure", "1 critical"))
        await pr.set_status(CommitState("success", "no findings", target_url="https://hunkwise.example/r/1"))
    assert [s["state"] for s in fake.status_log] == ["INPROGRESS", "STOPPED", "FAILED", "SUCCESSFUL"]
    assert all(s["key"] == "hunkwise" and s["name"] == "hunkwise" for s in fake.status_log)
    assert fake.status_log[0]["url"] == "https://bitbucket.org/acme/api/pull-requests/7"
    assert list(fake.statuses) == [(HEAD, "hunkwise")], "one status per key and commit, replaced"
    assert fake.statuses[(HEAD, "hunkwise")]["url"] == "https://hunkwise.example/r/1"


async def test_verify_refuses_a_head_that_is_not_the_pull_requests() -> None:
    fake = FakeBitbucket()
    ev = bw.BitbucketPullRequestEvent("opened", "acme", "acme/api", 7, "deadbeef0000", False, API)
    async with client(fake) as c:
        with pytest.raises(IdentityError, match="head_sha 'deadbeef0000'"):
            await bb.BitbucketPullRequest(c, ev).verify()


async def test_file_at_reads_the_source_at_the_head_commit() -> None:
    fake = FakeBitbucket(files={"src/app.py": "print(1)\n"})
    async with client(fake) as c:
        assert await c.file_at("acme/api", "src/app.py", HEAD) == "print(1)\n"
        assert await c.file_at("acme/api", "src/missing.py", HEAD) is None
        with pytest.raises(IdentityError):
            await c.file_at("acme/api", "../secret", HEAD)
    assert fake.requests[0].url.path == f"/2.0/repositories/acme/api/src/{HEAD}/src/app.py"


def test_transport_errors_name_the_configured_root() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    import asyncio

    async def run() -> None:
        async with bb.BitbucketClient(Secret("t"), API, transport=httpx.MockTransport(boom)) as c:
            await c.diff("acme/api", 7)

    with pytest.raises(PlatformError, match="HUNKWISE_BITBUCKET_API_URL"):
        asyncio.run(run())


async def test_a_redirect_loop_and_a_foreign_next_page_are_refused() -> None:
    loop = FakeBitbucket(redirect_to=f"{API}/repositories/acme/api/pullrequests/7/diff")
    async with client(loop) as c:
        with pytest.raises(PlatformError, match="more than 3 redirects"):
            await c.diff("acme/api", 7)
    assert len(loop.requests) == 4, "the first request and three redirects, then it stopped"

    def foreign_next(request: httpx.Request) -> httpx.Response:
        page = {"values": [{"hash": "1" * 40}], "next": "https://evil.example/2.0/commits?page=2"}
        return httpx.Response(200, json=page)

    async with bb.BitbucketClient(
        Secret("t"), API, bot_uuid=TOKEN_USER["uuid"], transport=httpx.MockTransport(foreign_next)
    ) as c:
        with pytest.raises(PlatformError, match=r"next page .*evil\.example.* is outside"):
            await c.full_commit("acme/api", 7, "c0ffee111111")
