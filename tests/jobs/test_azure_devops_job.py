"""Azure DevOps review jobs end to end: the worker pool on a real database, the simulator as the
model over loopback HTTP, and the Azure DevOps fake (tests/azure_devops_fake.py) recording what
is posted: threads on the right lines, one summary with coverage edited in place, the status."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from test_review_job import EXPECTED_LINES, pool_for, runs, sim_slot, wait_for

from azure_devops_fake import HEAD_SHA, PAT, PROJECT, REPO, REPO_ID, FakeAzureDevOps
from hunkwise.gateway.types import Secret
from hunkwise.jobs.review_job import AZURE_DEVOPS_KIND, ReviewDeps
from hunkwise.platforms.azure_devops import AzureDevOpsClient
from hunkwise.platforms.azure_devops_events import AzurePullRequestEvent
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.gitlab import GitLabClient
from hunkwise.store import jobs as repo
from platform_fakes import SAMPLE
from simkeys import DEV_KEY

ROOT = "https://dev.azure.com/fabrikam"


def event(head: str = HEAD_SHA, action: str = "opened") -> AzurePullRequestEvent:
    return AzurePullRequestEvent(
        action=action,
        owner=PROJECT,
        project=PROJECT,
        repository_name=REPO,
        repository_id=REPO_ID,
        number=7,
        head_sha=head,
    )


def deps_for(engine: Engine, url: str, fake: FakeAzureDevOps | None) -> ReviewDeps:
    clients: dict[str, Any] = {}
    if fake is not None:
        clients["azure_devops"] = lambda ev: AzureDevOpsClient(Secret(PAT), ROOT, transport=fake.transport())
    return ReviewDeps(
        engine=engine,
        slots_for_org=lambda org: [sim_slot(url)] if org == "fabrikam" else [],
        github=lambda ev: GitHubClient(Secret("unused"), ev.api_url),
        gitlab=lambda ev: GitLabClient(Secret("unused"), ev.api_url),
        platform_clients=clients,
    )


def enqueue(engine: Engine, ev: AzurePullRequestEvent, key: str | None = None, **kw: Any) -> repo.Job:
    job, _ = repo.enqueue(
        engine,
        org="fabrikam",
        kind=AZURE_DEVOPS_KIND,
        payload=ev.as_payload(),
        dedupe_key=key or ev.dedupe_key,
        **kw,
    )
    return job


async def run_jobs(engine: Engine, deps: ReviewDeps, *jobs: repo.Job) -> list[repo.Job]:
    pool = pool_for(engine, deps)
    pool.start()
    try:
        return [await wait_for(engine, j.id) for j in jobs]
    finally:
        await pool.stop()


def lines(fake: FakeAzureDevOps) -> set[tuple[str, int]]:
    return {
        (t["threadContext"]["filePath"].lstrip("/"), t["threadContext"]["rightFileStart"]["line"])
        for t in fake.inline_threads()
    }


async def test_a_review_posts_threads_a_summary_with_coverage_and_the_status(engine: Engine, sim) -> None:
    fake = FakeAzureDevOps.with_diff(SAMPLE)
    deps = deps_for(engine, sim.zai_developer_url, fake)
    [done] = await run_jobs(engine, deps, enqueue(engine, event()))
    assert done.status == "done", done.error
    assert lines(fake) == EXPECTED_LINES
    assert all(t["status"] == "active" for t in fake.inline_threads())
    contexts = [t["pullRequestThreadContext"]["iterationContext"] for t in fake.inline_threads()]
    assert contexts == [{"firstComparingIteration": 1, "secondComparingIteration": 1}] * len(contexts)
    [summary] = fake.summary_threads()
    body = summary["comments"][0]["content"]
    assert "### Coverage" in body and "<!-- hunkwise:review:" in body and "| 🛑 critical | 1 |" in body
    assert fake.status_history()[0] == "pending" and fake.status_history()[-1] == "succeeded"
    assert fake.statuses[-1]["iterationId"] == 1
    # the same head again (another job for it): nothing new is posted
    posted = len(fake.threads)
    [again] = await run_jobs(engine, deps, enqueue(engine, event(), key="again"))
    assert again.status == "done" and again.result is not None
    assert again.result["posted"]["posted"] is False and len(fake.threads) == posted


async def test_a_failed_post_is_retried_without_posting_twice(engine: Engine, sim) -> None:
    fake = FakeAzureDevOps.with_diff(SAMPLE, fail_posts=[502])
    [done] = await run_jobs(engine, deps_for(engine, sim.zai_developer_url, fake), enqueue(engine, event()))
    assert done.status == "done" and done.attempts == 2
    assert len(fake.inline_threads()) == len(EXPECTED_LINES) and len(fake.summary_threads()) == 1
    assert sim.key_stats(DEV_KEY)["ok"] == 1, "the review was checkpointed: one model call"
    assert runs(engine) == 1


async def test_a_second_push_edits_the_one_summary_in_place(engine: Engine, sim) -> None:
    fake = FakeAzureDevOps.with_diff(SAMPLE)
    deps = deps_for(engine, sim.zai_developer_url, fake)
    await run_jobs(engine, deps, enqueue(engine, event()))
    first = len(fake.inline_threads())
    head = dict(fake.commits[HEAD_SHA])
    head["src/inventory/export.py"] = 'import os\n\nTOKEN = "AKIAIOSFODNN7EXAMPLE"\n'
    fake.push("d" * 40, head)
    [done] = await run_jobs(engine, deps, enqueue(engine, event("d" * 40, "synchronize")))
    assert done.status == "done", done.error
    [summary] = fake.summary_threads()
    assert "dddddddddddd" in summary["comments"][0]["content"]
    assert len(fake.inline_threads()) >= first and len(lines(fake)) == len(fake.inline_threads())
    assert fake.statuses[-1]["iterationId"] == 2 and fake.status_history()[-1] == "succeeded"
    added = [t for t in fake.inline_threads() if t["threadContext"]["filePath"] == "/src/inventory/export.py"]
    assert added and added[0]["pullRequestThreadContext"]["iterationContext"]["secondComparingIteration"] == 2
    assert sum(r.method == "PATCH" for r in fake.requests) == 1


async def test_binary_files_are_in_the_coverage_not_dropped(engine: Engine, sim) -> None:
    fake = FakeAzureDevOps.with_diff(SAMPLE)
    fake.commits[HEAD_SHA]["assets/logo.png"] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
    [done] = await run_jobs(engine, deps_for(engine, sim.zai_developer_url, fake), enqueue(engine, event()))
    assert done.status == "done", done.error
    assert "by `binary`" in fake.summary_threads()[0]["comments"][0]["content"]


async def test_a_file_too_large_to_read_is_listed_and_the_status_says_incomplete(
    engine: Engine, sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text file the platform could not give (past a cap, too large) is skipped as ``unread``
    in the summary's coverage, and the merge status is incomplete, never green."""
    monkeypatch.setattr("hunkwise.platforms.azure_devops.MAX_FILE_BYTES", 300)
    fake = FakeAzureDevOps.with_diff(SAMPLE)
    fake.commits[HEAD_SHA]["src/inventory/big.py"] = "x = 1\n" * 100
    [done] = await run_jobs(engine, deps_for(engine, sim.zai_developer_url, fake), enqueue(engine, event()))
    assert done.status == "done", done.error
    body = fake.summary_threads()[0]["comments"][0]["content"]
    assert "by `unread`" in body and "src/inventory/big.py" in body
    assert fake.status_history()[-1] == "failed"
    assert "incomplete (unread_files)" in fake.statuses[-1]["description"]
    assert "src/inventory/big.py" in fake.statuses[-1]["description"]


async def test_a_server_without_azure_settings_fails_the_job_naming_them(engine: Engine, sim) -> None:
    [failed] = await run_jobs(engine, deps_for(engine, sim.zai_developer_url, None), enqueue(engine, event()))
    assert failed.status == "failed"
    assert "HUNKWISE_AZURE_DEVOPS_URL" in str(failed.error) and "HUNKWISE_AZURE_DEVOPS_TOKEN" in str(
        failed.error
    )


async def test_findings_at_the_fail_on_severity_fail_the_status(engine: Engine, sim) -> None:
    from hunkwise.jobs.review_status import StatusPolicy

    fake = FakeAzureDevOps.with_diff(SAMPLE)
    deps = deps_for(engine, sim.zai_developer_url, fake)
    deps.status_policy = lambda org: StatusPolicy(fail_on="critical")
    [done] = await run_jobs(engine, deps, enqueue(engine, event()))
    assert done.status == "done", done.error
    assert fake.status_history() == ["pending", "failed"]
    assert "critical" in fake.statuses[-1]["description"]


async def test_without_the_tokens_identity_the_job_fails_before_any_model_call(engine: Engine, sim) -> None:
    # Bitbucket and Gitea ask who the token is in verify(); Azure DevOps asked only when posting,
    # after the models had been paid for a review that could not be posted.
    import httpx

    fake = FakeAzureDevOps.with_diff(SAMPLE)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/connectionData"):
            return httpx.Response(200, json={"authenticatedUser": {}})
        return fake.handle(request)

    deps = deps_for(engine, sim.zai_developer_url, None)
    deps.platform_clients = {
        "azure_devops": lambda ev: AzureDevOpsClient(Secret(PAT), ROOT, transport=httpx.MockTransport(handle))
    }
    [done] = await run_jobs(engine, deps, enqueue(engine, event()))
    assert done.status == "failed" and "authenticatedUser.id" in (done.error or "")
    assert sim.key_stats(DEV_KEY)["ok"] == 0 and runs(engine) == 0
    assert fake.threads == [], "nothing posted"
