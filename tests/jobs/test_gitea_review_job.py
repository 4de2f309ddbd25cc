"""Gitea/Forgejo review jobs end to end: the worker pool on a real database, the simulator as the
model over loopback HTTP, and the fake Gitea (tests/gitea_fake.py) recording what is posted."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Engine
from test_review_job import EXPECTED_LINES, deps_for, pool_for, run_to_end, runs, wait_for

from gitea_fake import HEAD, TOKEN, FakeGitea
from hunkwise.gateway.types import Secret
from hunkwise.jobs.review_job import GITEA_KIND, ReviewDeps
from hunkwise.jobs.review_status import StatusPolicy
from hunkwise.platforms.gitea import GiteaClient
from hunkwise.platforms.gitea_webhooks import GiteaPullRequestEvent
from hunkwise.store import jobs as repo
from simkeys import DEV_KEY

API = "https://gitea.example.com/api/v1"
NEXT = "d" * 40


def event(head: str = HEAD, action: str = "opened") -> GiteaPullRequestEvent:
    return GiteaPullRequestEvent(
        action=action, owner="acme", repository="acme/api", number=7, head_sha=head, draft=False, api_url=API
    )


def gitea_deps(engine: Engine, url: str, fake: FakeGitea, **changes: object) -> ReviewDeps:
    """The deps the server builds (jobs/embedded.py), with the fake's transport."""
    deps = deps_for(engine, url)
    clients = {"gitea": lambda ev: GiteaClient(Secret(TOKEN), API, transport=fake.transport())}
    return replace(deps, platform_clients=clients, **changes)  # type: ignore[arg-type]


def enqueue(engine: Engine, ev: GiteaPullRequestEvent, key: str | None = None, **kw: object) -> repo.Job:
    job, _ = repo.enqueue(
        engine, org="acme", kind=GITEA_KIND, payload=ev.as_payload(), dedupe_key=key or ev.dedupe_key, **kw
    )  # type: ignore[arg-type]
    return job


def posted_lines(fake: FakeGitea) -> set[tuple[str, int]]:
    return {(c["path"], c["position"]) for c in fake.submitted()}


async def review_then_push(engine: Engine, sim: Any, fake: FakeGitea) -> tuple[repo.Job, int]:
    """The first head reviewed, then a push to NEXT reviewed: the second job, and how many
    requests the fake had seen when it was queued."""
    pool = pool_for(engine, gitea_deps(engine, sim.zai_developer_url, fake))
    first = enqueue(engine, event())
    pool.start()
    try:
        await wait_for(engine, first.id)
        mark = len(fake.requests)
        second = enqueue(engine, event(NEXT, "synchronized"))
        return await wait_for(engine, second.id), mark
    finally:
        await pool.stop()


async def test_webhook_job_posts_inline_reviews_a_summary_with_coverage_and_the_status(
    engine: Engine, sim
) -> None:
    fake = FakeGitea()
    deps = gitea_deps(
        engine, sim.zai_developer_url, fake, status_policy=lambda org: StatusPolicy(fail_on="critical")
    )
    pool = pool_for(engine, deps)
    job = enqueue(engine, event())
    redelivered = enqueue(engine, event(action="reopened"), key="redelivery")
    pool.start()
    try:
        done, again = await wait_for(engine, job.id), await wait_for(engine, redelivered.id)
    finally:
        await pool.stop()
    assert done.status == again.status == "done", (done.error, again.error)
    assert posted_lines(fake) == EXPECTED_LINES
    assert len([r for r in fake.reviews if r["state"] == "COMMENT"]) == 4, "one review per finding"
    assert all(c["diff_hunk"] and "<!-- hunkwise:fp:" in c["body"] for c in fake.submitted())
    [summary] = fake.issue_comments
    body = summary["body"]
    assert "### Coverage" in body and "**Reviewed:**" in body and "| 🛑 critical | 1 |" in body
    assert "<!-- hunkwise:review:" in body and f"`{HEAD[:12]}`" in body
    states = [state for state, _ in fake.status_history()]
    assert states[0] == "pending" and states[-1] == "failure", "a critical finding fails the status (fail_on)"
    assert {s["context"] for s in fake.statuses} == {"hunkwise"} and {s["sha"] for s in fake.statuses} == {
        HEAD
    }
    results = [done.result["posted"]["posted"], again.result["posted"]["posted"]]  # type: ignore[index]
    assert results.count(True) == 1, "the same head again posted nothing"
    assert len(fake.writes()) == 5 and sim.key_stats(DEV_KEY)["ok"] == 2 and runs(engine) == 2


async def test_a_failed_post_is_retried_without_the_model_and_without_posting_twice(
    engine: Engine, sim
) -> None:
    fake = FakeGitea(fail_reviews=[502], fail_submit=[500])  # a 502 up front, then one left pending
    pool = pool_for(engine, gitea_deps(engine, sim.zai_developer_url, fake))
    job = enqueue(engine, event())
    done = await run_to_end(engine, pool, job.id)
    assert done.status == "done" and done.attempts == 3, done.error
    assert sim.key_stats(DEV_KEY)["ok"] == 1, "the checkpointed review was posted: one model call"
    assert runs(engine) == 1
    assert posted_lines(fake) == EXPECTED_LINES and len(fake.comments) == 4, "every finding once"
    assert not [r for r in fake.reviews if r["state"] == "PENDING"]
    assert len(fake.issue_comments) == 1
    assert [state for state, _ in fake.status_history()][-1] == "success"


async def test_a_second_push_edits_the_one_summary_in_place(engine: Engine, sim) -> None:
    fake = FakeGitea()
    done, _ = await review_then_push(engine, sim, fake)
    assert done.status == "done", done.error
    [summary] = fake.issue_comments
    assert f"`{NEXT[:12]}`" in summary["body"] and f"`{HEAD[:12]}`" not in summary["body"]
    edits = [r for r in fake.writes() if r.method == "PATCH"]
    assert len(edits) == 1 and edits[0].url.path.endswith(f"/issues/comments/{summary['id']}")
    assert len(fake.submitted()) == 4, "the same findings on the next head are not posted again"
    assert {s["sha"] for s in fake.statuses} == {HEAD, NEXT}


async def test_a_job_without_a_configured_instance_fails_naming_the_settings(engine: Engine, sim) -> None:
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url))
    job = enqueue(engine, event())
    done = await run_to_end(engine, pool, job.id)
    assert done.status == "failed" and done.attempts == 1
    assert "HUNKWISE_GITEA_URL" in (done.error or "") and runs(engine) == 0


async def test_a_stored_identity_is_checked_again_before_any_request(engine: Engine, sim) -> None:
    fake = FakeGitea()
    pool = pool_for(engine, gitea_deps(engine, sim.zai_developer_url, fake))
    payload = event().as_payload() | {"repository": "acme/../../repos/beta/secret"}
    job, _ = repo.enqueue(engine, org="acme", kind=GITEA_KIND, payload=payload, dedupe_key="pre-fix")
    done = await run_to_end(engine, pool, job.id)
    assert done.status == "failed" and "stored pull request is not acceptable" in (done.error or "")
    assert fake.requests == [] and runs(engine) == 0


async def test_at_the_budget_cap_one_notice_per_month_and_no_model_call(engine: Engine, sim) -> None:
    from hunkwise.config.review_settings import MonthlyBudget

    fake = FakeGitea()
    spent = MonthlyBudget(0.0001, "organization setting")  # below any review's estimate
    pool = pool_for(engine, gitea_deps(engine, sim.zai_developer_url, fake, budget_for_org=lambda org: spent))
    jobs = [enqueue(engine, event(head)) for head in (HEAD, NEXT)]
    pool.start()
    try:
        ended = [await wait_for(engine, j.id) for j in jobs]
    finally:
        await pool.stop()
    assert [(j.status, j.reason) for j in ended] == [("failed", "budget_exhausted")] * 2
    assert sim.stats()["keys"].get(DEV_KEY, {}).get("requests", 0) == 0
    [notice] = fake.issue_comments  # the second head was refused without a second notice
    assert "hunkwise:notice:" in notice["body"] and fake.reviews == []
    assert {state for state, _ in fake.status_history()} >= {"pending", "failure"}


async def test_reactions_and_resolutions_are_learned_before_the_next_review(engine: Engine, sim) -> None:
    from sqlalchemy import select

    from hunkwise.store.db import use_session
    from hunkwise.store.tables import FindingFeedback

    fake = FakeGitea()
    pool = pool_for(engine, gitea_deps(engine, sim.zai_developer_url, fake))
    first = enqueue(engine, event())
    pool.start()
    try:
        await wait_for(engine, first.id)
        liked, disliked, resolved = fake.submitted()[:3]
        fake.react(liked["id"], "+1")
        fake.react(disliked["id"], "-1")
        fake.react(disliked["id"], "laugh")  # not feedback
        fake.resolve(resolved["id"])
        second = enqueue(engine, event(NEXT, "synchronized"))
        done = await wait_for(engine, second.id)
    finally:
        await pool.stop()
    assert done.status == "done", done.error
    with use_session(engine) as session:
        rows = {r.comment_id: r for r in session.scalars(select(FindingFeedback))}
    assert {r.platform for r in rows.values()} == {"gitea"} and len(rows) == 4
    assert (rows[str(liked["id"])].up, rows[str(liked["id"])].down) == (1, 0)
    assert (rows[str(disliked["id"])].up, rows[str(disliked["id"])].down) == (0, 1)
    assert rows[str(resolved["id"])].resolved and not rows[str(liked["id"])].resolved
    assert len(fake.submitted()) == 4, "the resolved finding is not posted again"


async def test_a_job_whose_head_was_pushed_over_reviews_nothing_and_the_newer_head_is_reviewed(
    engine: Engine, sim
) -> None:
    """Gitea's ``.diff`` answers the CURRENT diff: a job for an older head that runs after a
    push calls no model, posts nothing and shows ``warning`` (neutral) on its commit."""
    fake = FakeGitea(heads={7: NEXT})  # pushed before the job for HEAD ran
    deps = gitea_deps(engine, sim.zai_developer_url, fake)
    stale = await run_to_end(engine, pool_for(engine, deps), enqueue(engine, event(), key="old-push").id)
    assert stale.status == "done", stale.error
    assert stale.result == {"run_id": None, "posted": None, "superseded_by": NEXT}
    assert sim.key_stats(DEV_KEY)["ok"] == 0 and runs(engine) == 0 and fake.writes() == []
    assert [(s["sha"], s["status"]) for s in fake.statuses] == [(HEAD, "pending"), (HEAD, "warning")]
    assert (
        fake.status_history()[-1][1]
        == f"incomplete (superseded): a newer push is reviewed instead - {NEXT[:12]}"
    )
    # the newer head's own job reviews the change, once
    newer = enqueue(engine, event(NEXT, "synchronized"), key="new-push")
    reviewed = await run_to_end(engine, pool_for(engine, deps), newer.id)
    assert reviewed.status == "done" and reviewed.result["posted"]["posted"] is True  # type: ignore[index]
    assert posted_lines(fake) == EXPECTED_LINES and f"`{NEXT[:12]}`" in fake.issue_comments[0]["body"]
    assert sim.key_stats(DEV_KEY)["ok"] == 1 and runs(engine) == 1
    assert fake.statuses[-1]["sha"] == NEXT and fake.statuses[-1]["status"] == "success"


async def test_a_head_that_is_no_commit_id_is_logged_and_the_review_goes_on(
    engine: Engine, sim, caplog
) -> None:
    """The current head is best effort: an answer that is not a commit id is never compared
    with (or sent anywhere); the job reviews its own head as before."""
    fake = FakeGitea(heads={7: "main; rm -rf /"})
    deps = gitea_deps(engine, sim.zai_developer_url, fake)
    with caplog.at_level("WARNING", logger="hunkwise.jobs"):
        done = await run_to_end(engine, pool_for(engine, deps), enqueue(engine, event()).id)
    assert done.status == "done" and done.result["posted"]["posted"] is True  # type: ignore[index]
    assert "the current head was not read" in caplog.text and "head.sha" in caplog.text
    assert sim.key_stats(DEV_KEY)["ok"] == 1 and fake.statuses[-1]["sha"] == HEAD


async def test_a_job_reads_each_submitted_review_of_hunkwise_once(engine: Engine, sim) -> None:
    """The learner, the prior threads and the marker check each list the reviews; a submitted
    review's comments are read once per job (they were read three times: 88 requests for a re-run
    with 20 findings), and a review that is new at the marker check is read then."""
    fake = FakeGitea()
    done, mark = await review_then_push(engine, sim, fake)
    assert done.status == "done", done.error
    job_reads = [r for r in fake.requests[mark:] if r.method == "GET"]
    per_review = [
        r.url.path for r in job_reads if r.url.path.endswith("/comments") and "/reviews/" in r.url.path
    ]
    assert len(fake.reviews) == 4 and sorted(per_review) == sorted(set(per_review)), per_review
    assert len(per_review) == 4, "each of the first job's four reviews read once"
    listings = [r for r in job_reads if r.url.path.endswith("/pulls/7/reviews")]
    assert len(listings) == 3, "the list of reviews is still read fresh each time"
