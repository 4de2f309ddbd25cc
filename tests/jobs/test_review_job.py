"""Review jobs end to end: the worker pool on a real database, the simulator as the model over
loopback HTTP, and a faked GitHub/GitLab recording exactly what we post."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import Engine, func, select

from hunkwise.errors import Backoff
from hunkwise.gateway.types import Secret
from hunkwise.jobs.pool import WorkerPool
from hunkwise.jobs.queue import DatabaseQueue
from hunkwise.jobs.review_job import GITHUB_KIND, GITLAB_KIND, ReviewDeps, make_handlers
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.github_webhooks import PullRequestEvent
from hunkwise.platforms.gitlab import GitLabClient, MergeRequestEvent
from hunkwise.platforms.review_post import marker, markers_in, review_key
from hunkwise.store import jobs as repo
from hunkwise.store.db import use_session
from hunkwise.store.orgs import cost_ceiling_for_org, ensure_org, set_org_max_cost
from hunkwise.store.tables import ReviewRun
from platform_fakes import AUTHOR, GITLAB_AUTHOR, HUNKWISE_USER, FakeGitHub, FakeGitLab, is_status
from simkeys import DEV_KEY, sim_slot
from waiting import attempt_ended, eventually, sim_in_flight

HEAD = "c" * 40
EXPECTED_LINES = {
    ("src/inventory/config.py", 10),
    ("src/inventory/pricing.py", 12),
    ("src/inventory/pricing.py", 13),
    ("src/inventory/pricing.py", 19),
}


def pr_event(action: str = "opened", head: str = HEAD) -> PullRequestEvent:
    return PullRequestEvent(
        action=action,
        owner="acme",
        repository="acme/api",
        number=7,
        head_sha=head,
        base_sha="a" * 40,
        draft=False,
        installation_id=None,
        api_url="https://api.github.com",
    )


def mr_event(action: str = "open", head: str = HEAD, **changes: object) -> MergeRequestEvent:
    """Merge request 3 of project 42 (acme/api) on the fake GitLab; ``changes`` replace fields."""
    fields: dict[str, object] = {
        "action": action, "owner": "acme", "project_id": 42, "project_path": "acme/api", "iid": 3,
        "head_sha": head, "draft": False, "api_url": "https://gitlab.example.com/api/v4",
    }  # fmt: skip
    return MergeRequestEvent(**(fields | changes))  # type: ignore[arg-type]


def deps_for(
    engine: Engine, url: str | None, github: FakeGitHub | None = None, gitlab: FakeGitLab | None = None
) -> ReviewDeps:
    return ReviewDeps(
        engine=engine,
        slots_for_org=lambda org: [sim_slot(url)] if url and org == "acme" else [],
        github=lambda ev: GitHubClient(Secret("ghp_test"), ev.api_url, transport=github.transport()),
        gitlab=lambda ev: GitLabClient(Secret("glpat_test"), ev.api_url, transport=gitlab.transport()),
    )


def pool_for(engine: Engine, deps: ReviewDeps, **kw: object) -> WorkerPool:
    kw.setdefault("poll_s", 0.05)
    kw.setdefault("backoff", Backoff(base_s=0.01, max_s=0.01, factor=1.0))
    return WorkerPool(DatabaseQueue(engine), make_handlers(deps), **kw)  # type: ignore[arg-type]


async def wait_for(
    engine: Engine, job_id: int, statuses: tuple[str, ...] = ("done", "failed"), deadline_s: float = 60
) -> repo.Job:
    for _ in range(int(deadline_s / 0.05)):
        job = repo.get_job(engine, job_id)
        assert job is not None
        if job.status in statuses:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {statuses}: {repo.get_job(engine, job_id)}")


def enqueue(engine: Engine, event: PullRequestEvent, key: str | None = None, **kw: object) -> repo.Job:
    job, _ = repo.enqueue(
        engine,
        org=event.owner,
        kind=GITHUB_KIND,
        payload=event.as_payload(),
        dedupe_key=key or event.dedupe_key,
        **kw,
    )  # type: ignore[arg-type]
    return job


def runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count(ReviewRun.id))) or 0)


async def test_github_job_posts_one_review_on_the_right_lines(engine: Engine, sim) -> None:
    gh = FakeGitHub()
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, gh))
    job = enqueue(engine, pr_event())
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "done", done.error
    assert len(gh.posts) == 1
    post = gh.posts[0]
    assert post["commit_id"] == HEAD and post["event"] == "COMMENT"
    assert {(c["path"], c["line"]) for c in post["comments"]} == EXPECTED_LINES
    assert all(c["side"] == "RIGHT" and "<!-- hunkwise:fp:" in c["body"] for c in post["comments"])
    body = post["body"]
    assert "| 🛑 critical | 1 |" in body and "| 🔴 high | 1 |" in body and "`glm-5.1` (1 call(s))" in body
    assert "**Failovers:** 0" in body and "**Cost:** $0.0" in body and "<!-- hunkwise:review:" in body
    paths = [r.url.path for r in gh.requests if not is_status(r)]
    assert paths == [
        "/repos/acme/api/pulls/7",  # the pull request's head now (this fake cannot tell: reviewed)
        "/repos/acme/api/pulls/7/comments",  # reactions on earlier comments (feedback), none yet
        "/repos/acme/api/pulls/7",  # the diff
        "/repos/acme/api/pulls/7/comments",  # what was posted before (nothing: no GraphQL query)
        "/repos/acme/api/pulls/7/reviews",  # ... and folded into a summary
        "/repos/acme/api/pulls/7/reviews",  # this head's review there already? a summary to edit?
        "/repos/acme/api/pulls/7/reviews",  # the first review: summary and comments
    ]
    # the check run: in progress while reviewing, then completed (updated in place)
    assert [state for state, _ in gh.status_history()] == ["pending", "success"]
    assert len(gh.check_runs) == 1 and gh.check_runs[0]["status"] == "completed"
    assert "1 critical" in gh.check_runs[0]["output"]["title"]
    assert done.result is not None and done.result["posted"]["posted"] is True
    assert "report" not in done.result  # stored once, beside the post in the checkpoint
    assert done.checkpoint is not None and len(done.checkpoint["report"]["findings"]) == 4
    assert done.attempts == 1
    assert runs(engine) == 1 and sim.key_stats(DEV_KEY)["ok"] == 1


async def test_redelivered_event_never_posts_twice(engine: Engine, sim) -> None:
    gh = FakeGitHub()
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, gh))
    first = enqueue(engine, pr_event(), key="delivery-1")
    second = enqueue(engine, pr_event("reopened"), key="delivery-2")
    pool.start()
    try:
        a, b = await wait_for(engine, first.id), await wait_for(engine, second.id)
    finally:
        await pool.stop()
    assert a.status == b.status == "done"
    assert len(gh.posts) == 1, "the second job found the fingerprint and posted nothing"
    assert [a.result["posted"]["posted"], b.result["posted"]["posted"]].count(True) == 1


async def test_failed_post_is_retried_without_calling_the_model_again(engine: Engine, sim) -> None:
    gh = FakeGitHub(fail_posts=[502])
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, gh))
    job = enqueue(engine, pr_event())
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "done" and done.attempts == 2
    assert len(gh.reviews) == 1
    assert sim.key_stats(DEV_KEY)["ok"] == 1, "the report was checkpointed: one model call in total"
    assert runs(engine) == 1, "usage recorded once"


async def test_a_failed_job_redelivered_posts_without_calling_the_model_again(engine: Engine, sim) -> None:
    """The post failed on the last attempt; the webhook is redelivered (``retry``): the checkpointed
    report is posted, no second model charge, usage recorded once."""
    gh = FakeGitHub(fail_posts=[502])
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, gh))
    job = enqueue(engine, pr_event(), max_attempts=1)
    pool.start()
    try:
        failed = await wait_for(engine, job.id)
        assert failed.status == "failed" and gh.reviews == []
        assert sim.key_stats(DEV_KEY)["ok"] == 1
        assert repo.retry(engine, job.id)
        pool.notify()
        done = await wait_for(engine, job.id, ("done",))
    finally:
        await pool.stop()
    assert len(gh.reviews) == 1, "one review on the pull request"
    assert sim.key_stats(DEV_KEY)["ok"] == 1, "the checkpointed report was posted: no new model call"
    assert runs(engine) == 1, "usage recorded once"
    assert done.result is not None and done.result["posted"]["posted"] is True


async def test_a_worker_that_lost_the_job_does_not_post(engine: Engine, sim) -> None:
    """Between the models and the post the job is reclaimed by another worker: the lease is
    checked right before posting, so this worker posts nothing and records nothing."""
    from test_lease_loss import steal

    gh = FakeGitHub(fail_posts=[502])
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, gh))
    job = enqueue(engine, pr_event(), max_attempts=1)
    pool.start()
    try:
        assert (await wait_for(engine, job.id)).status == "failed"  # the report is checkpointed
    finally:
        await pool.stop()
    assert repo.retry(engine, job.id)
    deps = deps_for(engine, sim.zai_developer_url, gh)
    make_client = deps.github

    def stealing(ev: PullRequestEvent) -> GitHubClient:
        steal(engine, job.id)  # the job changes hands while this worker prepares to post
        return make_client(ev)

    deps.github = stealing
    before = len(gh.requests)
    hook = attempt_ended()
    pool = pool_for(engine, deps, hooks=(hook,))
    pool.start()
    try:
        await asyncio.wait_for(hook.ended.wait(), 20)  # the attempt is over, all it did is done
    finally:
        await pool.stop()
    after = repo.get_job(engine, job.id)
    assert after is not None and after.status == "running" and after.lease_owner == "thief/0"
    after_loss = [r for r in gh.requests[before:] if not is_status(r)]
    assert gh.reviews == [] and after_loss == [], "not even the fingerprint check"


async def test_permanent_errors_fail_at_once_and_keep_the_reason(engine: Engine, sim) -> None:
    gh = FakeGitHub(diff_status=404)
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, gh))
    missing = enqueue(engine, pr_event())
    stranger = PullRequestEvent.from_payload(
        {**pr_event().as_payload(), "owner": "nobody", "repository": "nobody/api"}
    )
    unknown_org = enqueue(engine, stranger, key="other")
    pool.start()
    try:
        a, b = await wait_for(engine, missing.id), await wait_for(engine, unknown_org.id)
    finally:
        await pool.stop()
    assert a.status == "failed" and a.attempts == 1 and "404 not found" in (a.error or "")
    assert b.status == "failed" and "has no model configuration" in (b.error or "")
    assert gh.posts == [] and runs(engine) == 0


async def test_a_review_above_the_org_ceiling_fails_at_once_without_a_request(engine: Engine, sim) -> None:
    gh = FakeGitHub()
    with use_session(engine, write=True) as session:
        ensure_org(session, "acme")
    set_org_max_cost(engine, "acme", 0.001)
    deps = replace(
        deps_for(engine, sim.zai_developer_url, gh),
        max_cost_for_org=lambda org: cost_ceiling_for_org(engine, org, 2.0),
    )
    pool = pool_for(engine, deps)
    job = enqueue(engine, pr_event())
    pool.start()
    try:
        failed = await wait_for(engine, job.id)
    finally:
        await pool.stop()
        set_org_max_cost(engine, "acme", None)
    assert failed.status == "failed" and failed.attempts == 1, failed.error
    assert failed.reason == "review_ceiling"
    assert "above this organization's ceiling of $0.0010 (organization setting)" in (failed.error or "")
    assert sim.stats()["keys"][DEV_KEY]["requests"] == 0 and runs(engine) == 0
    [notice] = gh.posts  # one notice saying why, no clean-looking review
    assert notice["comments"] == [] and "per-review cost ceiling" in notice["body"]
    assert "<!-- hunkwise:notice:" in notice["body"] and "<!-- hunkwise:review:" not in notice["body"]


async def test_model_outage_is_retried_then_fails_with_the_reason(engine: Engine) -> None:
    gh = FakeGitHub()
    pool = pool_for(engine, deps_for(engine, "http://127.0.0.1:9/api/paas/v4", gh))
    job = enqueue(engine, pr_event(), max_attempts=2)
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "failed" and done.attempts == 2
    # The dead letter says which rule ended the job, as in the distributed engine (one engine).
    assert (done.error or "").startswith("gave up after attempt 2 of 2: every model request failed")
    assert gh.posts == []


async def test_synchronize_reviews_only_new_commits(engine: Engine, sim) -> None:
    old = "b" * 40
    gh = FakeGitHub(
        compare_diff=FakeGitHub().diff.split("diff --git a/src/inventory/pricing.py")[0],
        reviews=[
            {
                "id": 1,
                "body": "earlier <!-- hunkwise:review:x@bbbbbbbbbbbb -->",
                "commit_id": old,
                "user": HUNKWISE_USER,
            }
        ],
    )
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, gh))
    job = enqueue(engine, pr_event("synchronize"))
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "done", done.error
    assert any(f"/compare/{old}...{HEAD}" in r.url.path for r in gh.requests)
    # the new findings in a short review of their own; the earlier review's body, the summary,
    # edited in place (one summary however many pushes)
    post = gh.posts[0]
    assert {c["path"] for c in post["comments"]} == {"src/inventory/config.py"}
    assert ("push", review_key("github", "acme/api", 7, HEAD)) in markers_in(post["body"])
    assert [e["review"] for e in gh.edits] == [1]
    assert f"commits since `{old[:12]}`" in gh.reviews[0]["body"]


async def test_a_marker_posted_by_someone_else_neither_suppresses_nor_moves_the_base(
    engine: Engine, sim
) -> None:
    """The pull request author types hunkwise's markers: the review of this head, and an earlier
    "review" of a later commit to hide the new commits. Neither is hunkwise's: the whole pull
    request is reviewed and posted."""
    forged_head = "d" * 40
    gh = FakeGitHub(
        compare_diff="",  # had the forged base been trusted, the incremental diff would be empty
        reviews=[
            {
                "id": 1,
                "body": "LGTM " + marker("review", review_key("github", "acme/api", 7, HEAD)),
                "commit_id": HEAD,
                "user": AUTHOR,
            },
            {"id": 2, "body": marker("review", "x@dddddddddddd"), "commit_id": forged_head, "user": AUTHOR},
        ],
    )
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, gh))
    job = enqueue(engine, pr_event("synchronize"))
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "done", done.error
    assert done.result is not None and done.result["posted"]["posted"] is True
    assert not any("/compare/" in r.url.path for r in gh.requests), "the forged base was not used"
    assert len(gh.posts) == 1 and {(c["path"], c["line"]) for c in gh.posts[0]["comments"]} == EXPECTED_LINES
    assert gh.reviews[-1]["user"] == HUNKWISE_USER


async def test_gitlab_markers_by_someone_else_do_not_suppress_the_review(engine: Engine, sim) -> None:
    event = mr_event()
    key = review_key("gitlab", "acme/api", 3, HEAD)
    gl = FakeGitLab(notes=[{"id": 1, "body": marker("review", key), "author": GITLAB_AUTHOR}])
    job, _ = repo.enqueue(
        engine, org="acme", kind=GITLAB_KIND, payload=event.as_payload(), dedupe_key=event.dedupe_key
    )
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, gitlab=gl))
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "done", done.error
    assert done.result is not None and done.result["posted"]["posted"] is True
    assert len(gl.notes) == 2 and gl.notes[1]["author"] == gl.user
    assert len(gl.discussions) == 4


@pytest.mark.parametrize("graceful", [True, False])
async def test_restart_mid_job_completes_once(engine: Engine, sim_factory, graceful: bool) -> None:
    slow = sim_factory(latency_ms=1500)
    gh = FakeGitHub()
    deps = deps_for(engine, slow.zai_developer_url, gh)
    job = enqueue(engine, pr_event())
    first = pool_for(engine, deps, lease_s=1.0 if not graceful else 60.0, name="first")
    first.start()
    await wait_for(engine, job.id, ("running",))
    await eventually(sim_in_flight(slow, DEV_KEY), "the model request in flight")
    if graceful:
        await first.stop()  # hands the job back
        assert repo.get_job(engine, job.id).status == "queued"
    else:
        # a crash: the worker vanishes without handing the job back; its lease just expires
        for task in first._tasks:
            task.cancel()
        first.job_engine.queue = _Dead()  # type: ignore[assignment]
        await asyncio.gather(*first._tasks, return_exceptions=True)
        assert repo.get_job(engine, job.id).status == "running"
    second = pool_for(engine, deps, lease_s=60.0, name="second")
    second.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await second.stop()
    assert done.status == "done", done.error
    assert len(gh.reviews) == 1 and len(gh.posts) == 1
    assert runs(engine) == 1


class _Dead:
    """A queue that lost its database: what a killed process leaves behind (nothing)."""

    async def release(self, job_id: int, owner: str) -> bool:
        return False

    async def renew(self, *a: object, **k: object) -> bool:
        return False


async def test_gitlab_job_posts_positioned_discussions_then_the_summary(engine: Engine, sim) -> None:
    gl = FakeGitLab(refuse_lines={19})
    deps = deps_for(engine, sim.zai_developer_url, gitlab=gl)
    event = mr_event()
    job, _ = repo.enqueue(
        engine, org="acme", kind=GITLAB_KIND, payload=event.as_payload(), dedupe_key=event.dedupe_key
    )
    pool = pool_for(engine, deps)
    pool.start()
    try:
        done = await wait_for(engine, job.id)
        again, _ = repo.enqueue(
            engine, org="acme", kind=GITLAB_KIND, payload=event.as_payload(), dedupe_key="redeliver"
        )
        await wait_for(engine, again.id)
    finally:
        await pool.stop()
    assert done.status == "done", done.error
    posted = [r for r in gl.requests if r.method == "POST" and not is_status(r)]
    assert [r.url.path for r in posted][-1] == "/api/v4/projects/42/merge_requests/3/notes"
    states = [state for state, _ in gl.status_history()]
    assert states[0] == "running" and states[-1] == "success" and set(states) == {"running", "success"}
    import json

    positions = [json.loads(r.content)["position"] for r in posted if r.url.path.endswith("/discussions")]
    assert {(p["new_path"], p["new_line"]) for p in positions} == EXPECTED_LINES
    assert all(
        p["base_sha"] == "b" * 40
        and p["start_sha"] == "s" * 40
        and p["head_sha"] == "h" * 40
        and p["position_type"] == "text"
        for p in positions
    )
    assert len(gl.discussions) == 3 and len(gl.notes) == 1
    assert "src/inventory/pricing.py:19" in gl.notes[0]["body"], "the refused line is kept in the summary"
    assert done.result["posted"]["folded"] == 1
    assert len(posted) == 5, "the re-delivered job posted nothing"


# -- identities read back from a job row (one stored before they were validated) -----------------
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"repository": "acme/../../repos/beta/secret-repo"},
            "repository 'acme/../../repos/beta/secret-repo'",
        ),
        ({"head_sha": "../../../etc/passwd"}, "head_sha '../../../etc/passwd' is not a commit id"),
        ({"number": "7/../../../beta"}, "number '7/../../../beta'"),
        ({"owner": "beta", "repository": "beta/secret-repo"}, "owner 'beta' is not organization 'acme'"),
    ],
)
async def test_github_job_revalidates_its_stored_identity(
    engine: Engine, sim, changes: dict[str, object], message: str
) -> None:
    gh = FakeGitHub()
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, gh))
    job, _ = repo.enqueue(
        engine, org="acme", kind=GITHUB_KIND, payload=pr_event().as_payload() | changes, dedupe_key="pre-fix"
    )
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "failed" and done.attempts == 1
    assert "stored pull request is not acceptable" in (done.error or "") and message in (done.error or "")
    assert gh.requests == [] and runs(engine) == 0


async def test_gitlab_job_verifies_the_project_before_reading_the_merge_request(engine: Engine, sim) -> None:
    gl = FakeGitLab(projects={42: "acme/api", 999: "beta/secret-repo"})
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, gitlab=gl))
    row = mr_event(project_id=999, project_path="acme/anything")
    job, _ = repo.enqueue(
        engine, org="acme", kind=GITLAB_KIND, payload=row.as_payload(), dedupe_key=row.dedupe_key
    )
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "failed" and done.attempts == 1
    assert "project.id 999 is not project 'acme/anything'" in (done.error or "")
    assert "beta" not in (done.error or "")
    assert [r.url.path for r in gl.requests] == ["/api/v4/projects/999"]
    assert gl.merge_request_reads(999) == [] and gl.notes == [] and runs(engine) == 0


# -- code context read through the platform at the head commit (HUNKWISE_REVIEW_CONTEXT) -----------
async def run_to_end(engine: Engine, pool: WorkerPool, job_id: int) -> repo.Job:
    """Start the pool, wait until the job is done or failed, stop the pool."""
    pool.start()
    try:
        return await wait_for(engine, job_id)
    finally:
        await pool.stop()


def head_from_diff(diff: str) -> dict[str, str]:
    """Head files consistent with ``diff``: its new-side lines at their numbers, filler around."""
    from hunkwise.review.diff import parse_diff

    out = {}
    for f in parse_diff(diff):
        known = {ln.new_no: ln.text for h in f.hunks for ln in h.lines if ln.new_no is not None}
        last = max(known) + 4
        out[f.path] = "\n".join(known.get(n, f"# line {n} of {f.path}") for n in range(1, last + 1)) + "\n"
    return out


def with_context(deps: ReviewDeps, mode: str = "file") -> ReviewDeps:
    from hunkwise.review.engine import ReviewOptions

    return replace(deps, options=lambda: ReviewOptions(context=mode))  # type: ignore[arg-type]


async def test_github_review_reads_context_at_the_head_commit(engine: Engine, sim) -> None:
    from platform_fakes import SAMPLE

    gh = FakeGitHub(files=head_from_diff(SAMPLE))
    pool = pool_for(engine, with_context(deps_for(engine, sim.zai_developer_url, gh)))
    job = enqueue(engine, pr_event())
    done = await run_to_end(engine, pool, job.id)
    assert done.status == "done", done.error
    reads = [r for r in gh.requests if "/contents/" in r.url.path]
    assert sorted(r.url.path for r in reads) == sorted(
        f"/repos/acme/api/contents/{p}" for p in head_from_diff(SAMPLE)
    )
    assert all(r.url.params["ref"] == HEAD and "raw" in r.headers["accept"] for r in reads)
    context = done.checkpoint["report"]["plan"]["context"]
    assert context["mode"] == "file" and context["lines"] > 0 and context["left_out"] == 0
    assert {(c["path"], c["line"]) for c in gh.posts[0]["comments"]} == EXPECTED_LINES  # same review


async def test_context_that_cannot_be_read_never_fails_the_review(engine: Engine, sim) -> None:
    from platform_fakes import SAMPLE

    gh = FakeGitHub(files=head_from_diff(SAMPLE), files_status=500)
    pool = pool_for(engine, with_context(deps_for(engine, sim.zai_developer_url, gh)))
    job = enqueue(engine, pr_event())
    done = await run_to_end(engine, pool, job.id)
    assert done.status == "done", done.error
    assert done.checkpoint["report"]["plan"]["context"]["lines"] == 0
    assert {(c["path"], c["line"]) for c in gh.posts[0]["comments"]} == EXPECTED_LINES


async def test_gitlab_review_reads_context_at_the_head_commit(engine: Engine, sim) -> None:
    from platform_fakes import SAMPLE

    gl = FakeGitLab(files=head_from_diff(SAMPLE))
    deps = with_context(deps_for(engine, sim.zai_developer_url, gitlab=gl))
    event = mr_event()
    job, _ = repo.enqueue(
        engine, org="acme", kind=GITLAB_KIND, payload=event.as_payload(), dedupe_key=event.dedupe_key
    )
    pool = pool_for(engine, deps)
    done = await run_to_end(engine, pool, job.id)
    assert done.status == "done", done.error
    reads = [r.url.raw_path.decode() for r in gl.requests if "/repository/files/" in r.url.raw_path.decode()]
    assert "/api/v4/projects/42/repository/files/src%2Finventory%2Fpricing.py/raw?ref=" + HEAD in reads
    assert done.checkpoint["report"]["plan"]["context"]["lines"] > 0


NEWER = "e" * 40


async def test_a_job_whose_head_was_pushed_over_reviews_nothing_and_the_newer_head_is_reviewed(
    engine: Engine, sim
) -> None:
    """GitHub answers the whole-change diff of the CURRENT head: a job for an older head that
    runs after a push would review the newer diff under the old head and pay for it twice."""
    gh = FakeGitHub()
    gh.pulls[7] = {"number": 7, "head": {"sha": NEWER}}
    pool = pool_for(engine, deps_for(engine, sim.zai_developer_url, gh))
    stale = enqueue(engine, pr_event(), key="old-push")
    done = await run_to_end(engine, pool, stale.id)
    assert done.status == "done", done.error
    assert done.result == {"run_id": None, "posted": None, "superseded_by": NEWER}
    assert sim.key_stats(DEV_KEY)["ok"] == 0 and runs(engine) == 0, "no model was called"
    assert gh.posts == [] and done.checkpoint in (None, {})
    assert not any(r.url.path.endswith("/comments") for r in gh.requests), "not even the feedback read"
    states = gh.status_history()
    assert [s for s, _ in states] == ["pending", "neutral"] and {r["head_sha"] for r in gh.check_runs} == {
        HEAD
    }
    assert states[-1][1] == f"incomplete (superseded): a newer push is reviewed instead - {NEWER[:12]}"
    # the newer head's own job reviews the change, once
    newer = enqueue(engine, pr_event("synchronize", NEWER), key="new-push")
    reviewed = await run_to_end(
        engine, pool_for(engine, deps_for(engine, sim.zai_developer_url, gh)), newer.id
    )
    assert reviewed.status == "done" and reviewed.result["posted"]["posted"] is True  # type: ignore[index]
    assert [p["commit_id"] for p in gh.posts] == [NEWER]
    assert sim.key_stats(DEV_KEY)["ok"] == 1 and runs(engine) == 1


async def test_a_checkpointed_review_is_posted_even_when_the_head_moved_since(engine: Engine, sim) -> None:
    """The models were paid before the head moved: the retry posts what they answered."""
    gh = FakeGitHub(fail_posts=[502])
    serve = gh.handle

    def push_during_the_post(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/reviews"):
            gh.pulls[7] = {"number": 7, "head": {"sha": NEWER}}  # someone pushes meanwhile
        return serve(request)

    gh.handle = push_during_the_post  # type: ignore[method-assign]
    done = await run_to_end(
        engine, pool_for(engine, deps_for(engine, sim.zai_developer_url, gh)), enqueue(engine, pr_event()).id
    )
    assert done.status == "done" and done.attempts == 2, done.error
    assert (
        done.result is not None
        and done.result["posted"]["posted"] is True
        and "superseded_by" not in done.result
    )
    assert [r["commit_id"] for r in gh.reviews] == [HEAD]
    assert sim.key_stats(DEV_KEY)["ok"] == 1 and runs(engine) == 1


async def test_a_head_that_cannot_be_read_is_reviewed_as_before(engine: Engine, sim) -> None:
    gh = FakeGitHub()  # GET /pulls/7 answers 404 here: best effort, the review goes on
    done = await run_to_end(
        engine, pool_for(engine, deps_for(engine, sim.zai_developer_url, gh)), enqueue(engine, pr_event()).id
    )
    assert done.status == "done" and done.result is not None and done.result["posted"]["posted"] is True
    assert sim.key_stats(DEV_KEY)["ok"] == 1 and len(gh.posts) == 1


async def test_a_gitlab_job_whose_head_was_pushed_over_reviews_nothing(engine: Engine, sim) -> None:
    """GitLab's changes API answers the merge request's CURRENT version too (``diff_refs`` place
    its lines, but the review would carry the old head and be paid for twice)."""
    gl = FakeGitLab(merge_requests={3: {"iid": 3, "sha": NEWER}})
    event = mr_event("update")
    job, _ = repo.enqueue(
        engine, org="acme", kind=GITLAB_KIND, payload=event.as_payload(), dedupe_key=event.dedupe_key
    )
    done = await run_to_end(
        engine, pool_for(engine, deps_for(engine, sim.zai_developer_url, gitlab=gl)), job.id
    )
    assert done.status == "done" and done.result == {"run_id": None, "posted": None, "superseded_by": NEWER}
    assert sim.key_stats(DEV_KEY)["ok"] == 0 and runs(engine) == 0 and gl.notes == [] and gl.discussions == []
    assert [(s["sha"], s["state"]) for s in gl.statuses] == [(HEAD, "running"), (HEAD, "canceled")]
