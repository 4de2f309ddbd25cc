"""Bitbucket review jobs end to end: the worker pool on a real database, the simulator as the
model over loopback HTTP, and the fake Bitbucket Cloud recording what is posted."""

from __future__ import annotations

from sqlalchemy import Engine
from test_review_job import EXPECTED_LINES, pool_for, runs, sim_slot, wait_for

from bitbucket_fake import HEAD, TOKEN, TOKEN_USER, FakeBitbucket
from hunkwise.gateway.types import Secret
from hunkwise.jobs.review_job import BITBUCKET_KIND, ReviewDeps
from hunkwise.jobs.review_status import StatusPolicy
from hunkwise.platforms.bitbucket import BitbucketClient
from hunkwise.platforms.bitbucket_webhooks import BitbucketPullRequestEvent
from hunkwise.platforms.review_post import marker, review_key
from hunkwise.store import jobs as repo
from simkeys import DEV_KEY

API = "https://api.bitbucket.org/2.0"


def event(head: str = HEAD[:12], action: str = "opened") -> BitbucketPullRequestEvent:
    return BitbucketPullRequestEvent(
        action=action,
        owner="acme",
        repository="acme/api",
        number=7,
        head_sha=head,
        draft=False,
        api_url=API,
        html_url="https://bitbucket.org/acme/api/pull-requests/7",
    )


def deps_for(
    engine: Engine, url: str, fake: FakeBitbucket, bot_uuid: str | None = TOKEN_USER["uuid"], **kw: object
) -> ReviewDeps:
    def factory(ev: BitbucketPullRequestEvent) -> BitbucketClient:
        return BitbucketClient(Secret(TOKEN), API, bot_uuid=bot_uuid, transport=fake.transport())

    return ReviewDeps(
        engine=engine,
        slots_for_org=lambda org: [sim_slot(url)] if org == "acme" else [],
        github=lambda ev: None,  # type: ignore[arg-type,return-value]
        gitlab=lambda ev: None,  # type: ignore[arg-type,return-value]
        platform_clients={"bitbucket": factory},
        **kw,  # type: ignore[arg-type]
    )


def enqueue(engine: Engine, ev: BitbucketPullRequestEvent, key: str | None = None, **kw: object) -> repo.Job:
    job, _ = repo.enqueue(
        engine,
        org="acme",
        kind=BITBUCKET_KIND,
        payload=ev.as_payload(),
        dedupe_key=key or ev.dedupe_key,
        **kw,
    )  # type: ignore[arg-type]
    return job


async def run(
    engine: Engine, deps: ReviewDeps, *events: tuple[BitbucketPullRequestEvent, str]
) -> list[repo.Job]:
    pool = pool_for(engine, deps)
    pool.start()
    try:
        out = []
        for ev, key in events:
            job = enqueue(engine, ev, key)
            pool.notify()
            out.append(await wait_for(engine, job.id))
        return out
    finally:
        await pool.stop()


async def test_job_posts_inline_comments_then_the_summary_and_the_status(engine: Engine, sim) -> None:
    fake = FakeBitbucket()
    policy = StatusPolicy(fail_on="critical")
    [done] = await run(
        engine,
        deps_for(engine, sim.zai_developer_url, fake, status_policy=lambda org: policy),
        (event(), "k1"),
    )
    assert done.status == "done", done.error
    assert {(c["inline"]["path"], c["inline"]["to"]) for c in fake.inline_comments()} == EXPECTED_LINES
    [summary] = fake.top_comments()
    raw = summary["content"]["raw"]
    assert "### Coverage" in raw and marker("review", review_key("bitbucket", "acme/api", 7, HEAD)) in raw
    assert "| 🛑 critical | 1 |" in raw and f"Reviewed the whole change at `{HEAD[:12]}`" in raw
    # the review's fingerprint is on the full head: the 12-digit delivery was looked up first
    assert [s for s, _ in fake.status_history()] == ["INPROGRESS", "FAILED"]
    assert "1 critical" in fake.status_history()[-1][1] and list(fake.statuses) == [(HEAD, "hunkwise")]
    assert fake.status_log[-1]["url"] == "https://bitbucket.org/acme/api/pull-requests/7"
    first = fake.requests[0]
    assert first.url.path == "/2.0/repositories/acme/api/pullrequests/7/commits", "the head is verified first"
    assert done.result is not None and done.result["posted"]["inline"] == 4
    assert runs(engine) == 1 and sim.key_stats(DEV_KEY)["ok"] == 1


async def test_the_same_head_again_posts_nothing_new(engine: Engine, sim) -> None:
    fake = FakeBitbucket()
    first, again = await run(
        engine,
        deps_for(engine, sim.zai_developer_url, fake),
        (event(), "delivery-1"),
        (event(action="updated"), "delivery-2"),
    )
    assert first.status == again.status == "done"
    assert len(fake.comment_posts()) == 5, "four inline comments and one summary, once"
    assert [first.result["posted"]["posted"], again.result["posted"]["posted"]].count(True) == 1  # type: ignore[index]
    assert fake.edits == []


async def test_a_retry_after_a_failed_summary_post_does_not_post_twice(engine: Engine, sim) -> None:
    fake = FakeBitbucket(fail_top_posts=[502])
    [done] = await run(engine, deps_for(engine, sim.zai_developer_url, fake), (event(), "k1"))
    assert done.status == "done" and done.attempts == 2
    assert len(fake.inline_comments()) == 4 and len(fake.top_comments()) == 1
    inline_posts = [r for r in fake.comment_posts() if b'"inline"' in r.content]
    assert len(inline_posts) == 4, "the second attempt found every inline comment's fingerprint"
    assert sim.key_stats(DEV_KEY)["ok"] == 1 and runs(engine) == 1, "checkpointed: one model call, one usage"
    assert [s for s, _ in fake.status_history()][-1] == "SUCCESSFUL"
    assert any("retrying" in d for _, d in fake.status_history())


async def test_a_second_push_edits_the_one_summary_in_place(engine: Engine, sim) -> None:
    fake = FakeBitbucket()
    deps = deps_for(engine, sim.zai_developer_url, fake)
    [first] = await run(engine, deps, (event(), "k1"))
    summary_id = fake.top_comments()[0]["id"]
    nxt = "d00d1e" + "3" * 34
    fake.commits = [nxt, HEAD]
    [second] = await run(engine, deps, (event(nxt[:12], "updated"), "k2"))
    assert first.status == second.status == "done", second.error
    assert len(fake.top_comments()) == 1 and [e["id"] for e in fake.edits] == [summary_id]
    assert (
        marker("review", review_key("bitbucket", "acme/api", 7, nxt))
        in fake.top_comments()[0]["content"]["raw"]
    )
    assert len(fake.inline_comments()) == 4, "the same findings are not posted again"
    assert fake.statuses[(nxt, "hunkwise")]["state"] == "SUCCESSFUL"


async def test_a_pushed_over_head_fails_without_reviewing(engine: Engine, sim) -> None:
    fake = FakeBitbucket()
    [done] = await run(engine, deps_for(engine, sim.zai_developer_url, fake), (event("deadbeef0000"), "k1"))
    assert done.status == "failed" and done.attempts == 1
    assert "head_sha 'deadbeef0000'" in (done.error or "") and "pushed over" in (done.error or "")
    assert fake.comment_posts() == [] and runs(engine) == 0


async def test_a_stored_event_is_checked_again(engine: Engine, sim) -> None:
    fake = FakeBitbucket()
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, fake))
    job, _ = repo.enqueue(
        engine,
        org="acme",
        kind=BITBUCKET_KIND,
        payload=event().as_payload() | {"repository": "acme/../../beta/secret"},
        dedupe_key="pre-fix",
    )
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "failed" and "stored pull request is not acceptable" in (done.error or "")
    assert fake.requests == []


async def test_an_access_token_without_its_uuid_fails_before_any_model_call(engine: Engine, sim) -> None:
    fake = FakeBitbucket()
    [done] = await run(engine, deps_for(engine, sim.zai_developer_url, fake, bot_uuid=None), (event(), "k1"))
    assert done.status == "failed" and done.attempts == 1
    assert "HUNKWISE_BITBUCKET_BOT_UUID" in (done.error or "")
    assert [r.url.path for r in fake.requests] == ["/2.0/user"]
    assert sim.key_stats(DEV_KEY)["ok"] == 0 and runs(engine) == 0


async def test_a_job_whose_head_was_pushed_over_reviews_nothing_and_the_newer_head_is_reviewed(
    engine: Engine, sim
) -> None:
    """Bitbucket's diff endpoint answers the CURRENT diff: a job for an older head that runs
    after a push calls no model, posts nothing and stops its commit's build status."""
    fake = FakeBitbucket()
    nxt = "d00d1e" + "3" * 34
    fake.commits = [nxt, HEAD]  # pushed before the job for HEAD ran
    deps = deps_for(engine, sim.zai_developer_url, fake)
    stale, newer = await run(engine, deps, (event(), "old-push"), (event(nxt[:12], "updated"), "new-push"))
    assert stale.status == "done", stale.error
    assert stale.result == {"run_id": None, "posted": None, "superseded_by": nxt}, "the full id, looked up"
    assert fake.statuses[(HEAD, "hunkwise")]["state"] == "STOPPED"
    assert fake.statuses[(HEAD, "hunkwise")]["description"] == (
        f"incomplete (superseded): a newer push is reviewed instead - {nxt[:12]}"
    )
    # the newer head's own job reviews the change, once, on its own commit
    assert newer.status == "done" and newer.result["posted"]["inline"] == 4  # type: ignore[index]
    assert sim.key_stats(DEV_KEY)["ok"] == 1 and runs(engine) == 1, "one review paid, not two"
    [summary] = fake.top_comments()
    assert marker("review", review_key("bitbucket", "acme/api", 7, nxt)) in summary["content"]["raw"]
    assert marker("review", review_key("bitbucket", "acme/api", 7, HEAD)) not in summary["content"]["raw"]
    assert fake.statuses[(nxt, "hunkwise")]["state"] == "SUCCESSFUL"
