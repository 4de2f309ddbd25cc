"""The review job: slots for the organization -> router -> fetch the diff -> review -> record
usage -> post one review. Shared by the embedded worker pool and the distributed worker, and by
every platform: a platform is a :class:`ReviewKind` (its event and its
:class:`~hunkwise.platforms.pull_request.PullRequest`), never a copy of this job.

Every external effect happens once however often the job runs:

- the model calls: after the review, the report and the post are checkpointed on the job row, so
  a retry (a failed post, a crash) resumes at "post" without calling the models again. That
  checkpoint is the report's one copy (:func:`stored_review`); the job's result holds what
  posting did and the id of the ledger run;
- the usage: recorded with the job's dedupe key as the ledger's idempotency key;
- the review on the platform: its fingerprint is checked on the pull request before posting;
- a review refused for its cost (the ceiling, the monthly budget: :mod:`hunkwise.jobs.spend_gate`)
  calls no model and posts one notice, fingerprinted per pull request, reason and month.

What a job reads from its row is re-validated before any URL is built (the events check their
identities when made, and the repository's owner must be the job's organization), and a GitLab
job asks GitLab that its project id is its project path before any request about the merge
request: a row written before identities were validated, or by a future code path, cannot send
the server's token anywhere else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from hunkwise.config.review_settings import DEFAULT_MAX_COST_USD, CostCeiling, MonthlyBudget, org_cost_ceiling
from hunkwise.config.scheduling import DEFAULT_SPILL, Spill
from hunkwise.errors import ConfigurationError, PermanentError, TransientError
from hunkwise.gateway import ClientPool, Slot
from hunkwise.jobs import review_status
from hunkwise.jobs.conversation import Demotion, PostingInputs, merge_prior
from hunkwise.jobs.conversation_events import best_effort, learn_gitea, learn_github, learn_gitlab
from hunkwise.jobs.engine import JobContext, JobDeferred, JobHooks, LeaseLost, Outcome, describe
from hunkwise.jobs.mode import PAYLOAD_KEY as MODE_KEY
from hunkwise.jobs.mode import mismatch
from hunkwise.jobs.posting import build_notice, build_post
from hunkwise.jobs.retry import JOB_BACKOFF, ModelsFailed, configuration_only, retry_delay
from hunkwise.jobs.review_status import Incomplete, StatusPolicy
from hunkwise.jobs.schedule import RemainingCapacity, ScheduleDecision, decide, estimate_for
from hunkwise.jobs.spend_gate import BudgetGate, ReviewRefused, ceiling_refusal
from hunkwise.platforms.azure_devops import AzureDevOpsPullRequest
from hunkwise.platforms.azure_devops_events import AzurePullRequestEvent
from hunkwise.platforms.bitbucket import BitbucketPullRequest
from hunkwise.platforms.bitbucket_webhooks import BitbucketPullRequestEvent
from hunkwise.platforms.gitea import GiteaPullRequest
from hunkwise.platforms.gitea_webhooks import GiteaPullRequestEvent
from hunkwise.platforms.github import GitHubClient, GitHubPullRequest
from hunkwise.platforms.github_webhooks import PullRequestEvent
from hunkwise.platforms.gitlab import GitLabClient, GitLabMergeRequest, MergeRequestEvent
from hunkwise.platforms.identity import IdentityError
from hunkwise.platforms.pull_request import PullRequest
from hunkwise.platforms.review_post import PlatformError, PostResult, PriorThread, ReviewPost
from hunkwise.platforms.status import CommitState
from hunkwise.review.context import MappingHead
from hunkwise.review.diff import DiffParseError, parse_diff
from hunkwise.review.engine import ReviewOptions, plan_only, run_review
from hunkwise.review.errors import CostLimitExceeded
from hunkwise.review.filters import FilterConfig, filter_files
from hunkwise.review.fingerprint import Fingerprint, FingerprintError
from hunkwise.review.report import ReviewReport
from hunkwise.store.jobs import Job
from hunkwise.store.orgs import normalize_slug
from hunkwise.store.posted_findings import (
    DatabaseSuppressions,
    PostedRecord,
    PullRef,
    SuppressionStore,
    posted,
    record_posted,
    set_state,
)
from hunkwise.store.tables import utcnow

if TYPE_CHECKING:
    from hunkwise.catalog.loader import Catalog
    from hunkwise.gateway import LimitsBackend

log = logging.getLogger("hunkwise.jobs")

GITHUB_KIND = "github_review"
GITLAB_KIND = "gitlab_review"
GITEA_KIND = "gitea_review"
AZURE_DEVOPS_KIND = "azure_devops_review"
BITBUCKET_KIND = "bitbucket_review"


class JobFailed(PermanentError):
    """A permanent failure: retrying cannot help; the message says what to fix.
    ``status_reason``: what the merge status says (an error, the cost ceiling, ...)."""

    def __init__(self, message: str, *, status_reason: Incomplete = Incomplete.ERROR) -> None:
        super().__init__(message)
        self.status_reason = status_reason


def _default_ceiling(org: str) -> CostCeiling:
    return org_cost_ceiling(org, None, DEFAULT_MAX_COST_USD)


@dataclass
class ReviewDeps:
    """What the job needs from its host, built from the process's Runtime
    (:func:`hunkwise.jobs.embedded.review_deps`) or by a test."""

    engine: Engine
    slots_for_org: Callable[[str], list[Slot]]  # blocking (database, DNS): run in a thread
    # Platform clients for an event (the configured API root and token, never the payload's).
    github: Callable[[PullRequestEvent], GitHubClient]
    gitlab: Callable[[MergeRequestEvent], GitLabClient]
    # Client factories of the other platforms the server is configured for, by platform name
    # ("bitbucket", "azure_devops", "gitea"); their REVIEW_KINDS entries open their clients here.
    platform_clients: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    backend: LimitsBackend | None = None  # shared limits/circuits across jobs; None: per job
    options: Callable[[], ReviewOptions] = field(default=ReviewOptions)
    # SDK clients for one job's router (BYOK: config.byok.guarded_clients, the connect-time SSRF
    # guard); None, or a callable answering None: the gateway's default clients.
    clients: Callable[[], ClientPool | None] | None = None
    # This host's mode (jobs.mode.mode_record): a job the server recorded in the other mode is
    # refused with a "mode mismatch" error. None: no check (the embedded pool is the server).
    mode: dict[str, str] | None = None
    # The organization's review cost ceiling (blocking: database); default: the $2 default.
    max_cost_for_org: Callable[[str], CostCeiling] = _default_ceiling
    # What the merge status says for an organization's reviews (fail_on, incomplete => ...).
    status_policy: Callable[[str], StatusPolicy] = lambda org: StatusPolicy()
    # The organization's monthly budget (blocking: database). None: no reservation is taken
    # (a test's or a tool's deps); the server always passes one (hunkwise.jobs.embedded).
    budget_for_org: Callable[[str], MonthlyBudget] | None = None
    # Scheduling around Main's window (hunkwise.jobs.schedule): the organization's spill policy
    # (blocking: database), the remaining window capacity of a key (None: never deferred nor
    # spilled ahead; the router still fails over on a spent window), the clock, and the catalog
    # whose [peak_hours] rule weighs the estimate (None: the packaged one).
    spill_for_org: Callable[[str], Spill] = lambda org: DEFAULT_SPILL
    capacity: RemainingCapacity | None = None
    clock: Callable[[], datetime] = utcnow
    catalog: Catalog | None = None
    # What ``@hunkwise ignore`` suppressed (blocking: database); None: the database's.
    suppressions: SuppressionStore | None = None
    # Feedback demotion for (organization, repository) (blocking: database); None: none.
    demotion: Callable[[str, str], Demotion | None] | None = None


@dataclass(frozen=True)
class ReviewKind:
    """A platform's review job: how its stored event is read back (``parse``, which re-checks
    every identity), and how the job opens the pull request over the platform's client
    (``open``: an async context manager yielding a
    :class:`~hunkwise.platforms.pull_request.PullRequest`). ``learn`` reads what people did
    with earlier findings (reactions, replies) before reviewing; best effort."""

    kind: str
    parse: Callable[[dict[str, Any]], Any]
    open: Callable[[ReviewDeps, Any], AbstractAsyncContextManager[PullRequest]]
    learn: Callable[[Any, Engine, str], Awaitable[Any]] | None = None


@asynccontextmanager
async def _open_github(deps: ReviewDeps, event: PullRequestEvent) -> AsyncIterator[PullRequest]:
    async with deps.github(event) as gh:
        yield GitHubPullRequest(gh, event)


@asynccontextmanager
async def _open_gitlab(deps: ReviewDeps, event: MergeRequestEvent) -> AsyncIterator[PullRequest]:
    async with deps.gitlab(event) as gl:
        yield GitLabMergeRequest(gl, event)


def _configured(
    platform: str, wrap: Callable[[Any, Any], PullRequest], settings: str
) -> Callable[[ReviewDeps, Any], AbstractAsyncContextManager[PullRequest]]:
    """``open`` for a platform whose client factory is in ``deps.platform_clients`` only when the
    server is configured for it (the configured instance and token, never the job payload's); a
    job for an unconfigured platform fails naming the ``settings`` to set."""

    @asynccontextmanager
    async def open_pull_request(deps: ReviewDeps, event: Any) -> AsyncIterator[PullRequest]:
        factory = deps.platform_clients.get(platform)
        if factory is None:
            raise JobFailed(
                f"this server is not configured for {platform}: set {settings} on the server and "
                "its workers, then retry the job"
            )
        async with factory(event) as client:
            yield wrap(client, event)

    return open_pull_request


def _learn_github(pr: GitHubPullRequest, engine: Engine, org: str) -> Awaitable[int]:
    return learn_github(pr.client, engine, org, pr.repository, pr.number)


def _learn_gitlab(pr: GitLabMergeRequest, engine: Engine, org: str) -> Awaitable[int]:
    return learn_gitlab(pr.client, engine, org, pr.event.project_id, pr.repository, pr.number)


def _learn_gitea(pr: GiteaPullRequest, engine: Engine, org: str) -> Awaitable[int]:
    return learn_gitea(pr.client, engine, org, pr.repository, pr.number)


REVIEW_KINDS: dict[str, ReviewKind] = {
    GITHUB_KIND: ReviewKind(GITHUB_KIND, PullRequestEvent.from_payload, _open_github, _learn_github),
    GITLAB_KIND: ReviewKind(GITLAB_KIND, MergeRequestEvent.from_payload, _open_gitlab, _learn_gitlab),
    GITEA_KIND: ReviewKind(
        GITEA_KIND,
        GiteaPullRequestEvent.from_payload,
        _configured("gitea", GiteaPullRequest, "HUNKWISE_GITEA_URL and HUNKWISE_GITEA_TOKEN"),
        _learn_gitea,
    ),
    AZURE_DEVOPS_KIND: ReviewKind(
        AZURE_DEVOPS_KIND,
        AzurePullRequestEvent.from_payload,
        _configured(
            "azure_devops",
            AzureDevOpsPullRequest,
            "HUNKWISE_AZURE_DEVOPS_URL (https://dev.azure.com/ORGANIZATION) and HUNKWISE_AZURE_DEVOPS_TOKEN",
        ),
    ),
    BITBUCKET_KIND: ReviewKind(
        BITBUCKET_KIND,
        BitbucketPullRequestEvent.from_payload,
        _configured(
            "bitbucket",
            BitbucketPullRequest,
            "HUNKWISE_BITBUCKET_TOKEN (an access token also needs HUNKWISE_BITBUCKET_BOT_UUID)",
        ),
    ),
}
"""Every platform's review job, by job kind: the worker's handler table and the abandoned-status
hook both read it, so a new platform is one entry here."""


def make_handlers(deps: ReviewDeps) -> dict[str, Any]:
    """The worker pool's handler table for review jobs."""

    def handler(spec: ReviewKind) -> Callable[[Job, JobContext], Awaitable[dict[str, Any]]]:
        async def run(job: Job, ctx: JobContext) -> dict[str, Any]:
            return await run_review_job(job, ctx, deps, spec)

        return run

    return {kind: handler(spec) for kind, spec in REVIEW_KINDS.items()}


def _event(job: Job, parse: Callable[[dict[str, Any]], Any]) -> Any:
    """The job's event, its identities checked again and its owner the job's organization."""
    try:
        event = parse(dict(job.payload or {}))
        if normalize_slug(event.owner) != job.org:
            raise IdentityError("owner", event.owner, f"is not organization {job.org!r} of this job")
    except (IdentityError, ConfigurationError) as exc:
        raise JobFailed(f"the job's stored pull request is not acceptable: {exc}") from None
    return event


async def run_review_job(job: Job, ctx: JobContext, deps: ReviewDeps, spec: ReviewKind) -> dict[str, Any]:
    """One review of one pull request head on any platform: verify, review once (checkpointed),
    post once, show the merge status throughout."""
    event = _event(job, spec.parse)
    async with spec.open(deps, event) as pr:
        try:
            await pr.verify()
        except IdentityError as exc:
            raise JobFailed(str(exc)) from None
        async with _StatusGuard(job, deps, pr.set_status):
            return await _review_and_post(job, ctx, deps, spec, pr)


async def _review_and_post(
    job: Job, ctx: JobContext, deps: ReviewDeps, spec: ReviewKind, pr: PullRequest
) -> dict[str, Any]:
    checkpoint = job.checkpoint or {}
    if "post" not in checkpoint:  # with a checkpointed post the models are paid: it is posted
        newer = await _newer_head(job, pr)
        if newer is not None:
            return await _superseded(job, pr, newer)
        if spec.learn is not None:
            await best_effort(spec.learn(pr, deps.engine, job.org), pr.label)
        try:
            checkpoint = await _review(job, ctx, deps, pr)
        except ReviewRefused as refused:
            notice = _notice(refused, pr.platform, pr.repository, pr.number, pr.head_sha)
            await _post_notice(job, ctx, lambda: pr.post(notice, {}))
            raise
    post = ReviewPost.from_dict(checkpoint["post"])
    await ctx.ensure_lease()  # a worker that lost the job never posts
    result = await pr.post(post, checkpoint.get("diff_refs") or {})
    await _remember(deps, PullRef(pr.platform, pr.repository, pr.number), post)
    await _show_final(job, checkpoint, pr.set_status)
    return _result(checkpoint, result)


async def _newer_head(job: Job, pr: PullRequest) -> str | None:
    """The pull request's head now when it is no longer this job's head, else None. Best effort:
    a platform that cannot tell (None), or a read that fails, reviews as before (logged)."""
    try:
        now = await pr.current_head()
    except (PlatformError, IdentityError) as exc:
        log.warning(
            "job %s: %s: the current head was not read (%s); reviewing %s",
            job.id,
            pr.label,
            exc,
            pr.head_sha[:12],
        )
        return None
    if now is None or now.lower() == pr.head_sha.lower():
        return None
    return now


async def _superseded(job: Job, pr: PullRequest, newer: str) -> dict[str, Any]:
    """End a job whose head was pushed over before it ran: the diff endpoints of GitHub (the
    whole change), Bitbucket, Gitea and GitLab answer the CURRENT diff, which this job would
    review under its old head (lines anchored to the wrong commit) and pay for a second time,
    since the newer head has its own job. No model is called, nothing is posted; the old commit
    shows the ``superseded`` status (neutral, never green)."""
    log.info(
        "job %s: %s: head %s was superseded by %s; not reviewed (the newer head's job reviews it)",
        job.id,
        pr.label,
        pr.head_sha[:12],
        newer[:12],
    )
    await _best_effort(pr.set_status, review_status.superseded(newer), job)
    return {"run_id": None, "posted": None, "superseded_by": newer}


async def _review(job: Job, ctx: JobContext, deps: ReviewDeps, pr: PullRequest) -> dict[str, Any]:
    """Run the models once and checkpoint everything posting needs: the report, the post, the
    ledger run and the merge status the review decided. Files at the head are read for code
    context when the options ask for it; what hunkwise posted before feeds the conversation."""
    from hunkwise.gateway import Router

    if deps.mode is not None and (wrong := mismatch(job.payload.get(MODE_KEY), deps.mode)):
        raise JobFailed(wrong)
    try:
        slots = await asyncio.to_thread(deps.slots_for_org, job.org)
    except ConfigurationError as exc:
        raise JobFailed(f"the model configuration of organization {job.org!r} is not usable: {exc}") from exc
    if not slots:
        raise JobFailed(
            f"organization {job.org!r} has no model configuration "
            f"(PUT /api/orgs/{job.org}/byok, or run the server in fixed mode)"
        )
    ceiling = await asyncio.to_thread(deps.max_cost_for_org, job.org)
    fetched = await pr.diff()
    diff, since = fetched.text, fetched.since
    platform, repository, number, head_sha = pr.platform, pr.repository, pr.number, pr.head_sha
    options = deps.options()
    options.unread = dict(fetched.unread)
    options.max_cost = ceiling
    options.change = {"platform": platform, "repository": repository, "number": number, "head_sha": head_sha}
    if since:
        options.change["since"] = since
    if options.context_mode() in ("function", "file"):
        options.head = await head_files(diff, pr.file_at, options.filter_config())
    slots, decision = await schedule(job, deps, diff, slots, options)
    gate = None
    if deps.budget_for_org is not None:
        gate = BudgetGate(deps.engine, job.org, job.dedupe_key, deps.budget_for_org)
        options.admit = gate.admit
    pool = deps.clients() if deps.clients is not None else None
    try:
        try:
            async with Router(slots, backend=deps.backend, clients=pool, spread=decision.spread) as router:
                report = await run_review(diff, router, options)
        except CostLimitExceeded as exc:  # nothing was sent; the same diff would stop again: permanent
            raise ceiling_refusal(str(exc)) from None
        finally:
            if pool is not None:
                await pool.aclose()
        if report.plan and len(report.failed_chunks) == len(report.plan):
            raise _models_failed(job, report)
        ref = PullRef(platform, repository, number)
        inputs = await posting_inputs(deps, job.org, ref, await pr.prior_threads())
        post = build_post(
            report,
            platform=platform,
            repository=repository,
            number=number,
            head_sha=head_sha,
            since=since,
            diff=diff,
            inputs=inputs,
        )
        token = gate.token if gate is not None else None
        run_id = await asyncio.to_thread(_record_usage, deps.engine, job, report, platform, repository, token)
    except BaseException:
        if gate is not None:  # the review did not record a run: its hold goes back
            await asyncio.shield(gate.release())
        raise
    policy = await asyncio.to_thread(deps.status_policy, job.org)
    state = review_status.final(report, policy)
    checkpoint = {
        "report": report.to_json(),
        "post": post.as_dict(),
        "since": since,
        "run_id": run_id,
        "status": {"state": state.state, "description": state.description},
    }
    checkpoint["schedule"] = {"action": decision.action, "spread": decision.spread, "reason": decision.reason}
    if fetched.refs:
        checkpoint["diff_refs"] = dict(fetched.refs)
    await ctx.checkpoint(checkpoint)
    return checkpoint


class _StatusGuard:
    """Pending while the job runs; on a failure, what the next attempt (pending, "retrying")
    or the end (failure or neutral, with the reason) means. Setting a status is best effort: a
    token without the permission costs the status, never the review (logged)."""

    def __init__(self, job: Job, deps: ReviewDeps, show: Callable[[CommitState], Awaitable[None]]) -> None:
        self.job, self.deps, self.show = job, deps, show

    async def __aenter__(self) -> None:
        await _best_effort(self.show, review_status.pending(), self.job)

    async def __aexit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if exc is None or isinstance(exc, (LeaseLost, asyncio.CancelledError)):
            return  # done (the final status is set), or another worker / a restart carries on
        if not isinstance(exc, Exception):
            return
        if isinstance(exc, JobDeferred):  # waiting for a window's reset: not done, not failed
            when = exc.until.strftime("%Y-%m-%d %H:%M UTC")
            state = review_status.pending(f"deferred until {when}: {exc.reason}")
        elif retry_delay(exc, self.job.attempts, self.job.max_attempts, JOB_BACKOFF) is not None:
            state = review_status.pending(f"retrying after: {describe(exc)}")
        else:
            policy = await asyncio.to_thread(self.deps.status_policy, self.job.org)
            state = review_status.incomplete(review_status.reason_of(exc), describe(exc), policy)
        await _best_effort(self.show, state, self.job)


async def _best_effort(show: Callable[[CommitState], Awaitable[Any]], state: CommitState, job: Job) -> None:
    try:
        await show(state)
    except (PlatformError, IdentityError) as exc:
        log.warning("job %s: the %s status was not set: %s", job.id, state.state, exc)


async def _show_final(
    job: Job, checkpoint: dict[str, Any], show: Callable[[CommitState], Awaitable[Any]]
) -> None:
    """The status the review decided (checkpointed with it, so a retry shows the same)."""
    saved = checkpoint.get("status") or {}
    state = CommitState(saved.get("state", "success"), str(saved.get("description", "")))
    await _best_effort(show, state, job)


class StatusHooks(JobHooks):
    """A job whose worker died on its last attempt is failed by the store without running it
    again (the embedded pool's claim, the distributed runner's ``gave_up``): its status would
    stay pending forever. This hook sets it to the incomplete state, reason ``abandoned``."""

    def __init__(self, deps: ReviewDeps) -> None:
        self.deps = deps

    async def after_skip_job(self, job_id: int, outcome: Outcome) -> None:
        if outcome != "dead":
            return
        from hunkwise.store.jobs import get_job

        job = await asyncio.to_thread(get_job, self.deps.engine, job_id)
        if job is None or job.kind not in REVIEW_KINDS:
            return
        try:
            await abandoned_status(job, self.deps)
        except Exception:  # a hook never breaks the host; the log says what was not shown
            log.exception("job %s: the abandoned status was not set", job_id)


async def abandoned_status(job: Job, deps: ReviewDeps) -> None:
    """Show the incomplete state (``abandoned``) on the head of a job that ended without a result."""
    spec = REVIEW_KINDS[job.kind]
    policy = await asyncio.to_thread(deps.status_policy, job.org)
    state = review_status.incomplete(Incomplete.ABANDONED, str(job.error or ""), policy)
    async with spec.open(deps, _event(job, spec.parse)) as pr:
        await _best_effort(pr.set_status, state, job)


async def schedule(
    job: Job, deps: ReviewDeps, diff: str, slots: list[Slot], options: ReviewOptions
) -> tuple[list[Slot], ScheduleDecision]:
    """Decide before the first request whether this review runs now (spread over Main and the
    Fallback with ``to-finish-faster``; a spent window still fails over in the router) or waits
    for Main's window to reset (:func:`hunkwise.jobs.schedule.decide`); raises
    :class:`JobDeferred` for the latter. The slots to review with and the decision come back."""
    spill = await asyncio.to_thread(deps.spill_for_org, job.org)
    windowed = deps.capacity is not None and slots[0].plan == "coding"  # only Coding Plan keys have windows
    if not windowed and spill != "to-finish-faster":
        return slots, ScheduleDecision("main", "no window to plan for")
    try:
        planned = plan_only(diff, slots, options)
    except ConfigurationError:  # an unreadable diff too (ReviewInputError)
        return slots, ScheduleDecision("main", "the diff could not be planned; the review says why")
    main, now = slots[0], deps.clock()
    tokens = sum(p.estimated_input_tokens for p in planned.plan)
    estimate = estimate_for(len(planned.plan), main.model, now, tokens=tokens, catalog=deps.catalog)
    capacity = await deps.capacity(main, now) if deps.capacity is not None else None
    decision = decide(
        priority=job.priority,
        spill=spill,
        estimate=estimate,
        capacity=capacity,
        has_fallback=len(slots) > 1,
        main_cap=main.max_concurrent,
        now=now,
    )
    if decision.action != "main" or decision.spread:
        log.info(
            "job %s: %s%s", job.id, decision.reason, " (spread over Main and Fallback)" * decision.spread
        )
    if decision.action == "defer" and decision.until is not None:
        raise JobDeferred(decision.until, decision.reason)
    return slots, decision


async def posting_inputs(
    deps: ReviewDeps, org: str, pr: PullRef, threads: list[PriorThread]
) -> PostingInputs:
    """What the conversation decision reads: the earlier findings as the platform shows them
    (their threads' resolution) merged with the store's memory, the suppressions, and the
    organization's demotion rule. A thread the platform shows closed is written back to the
    store, so the store stays right after the comment is deleted."""

    def read() -> PostingInputs:
        stored = posted(deps.engine, pr)
        known = {r.fingerprint: r.state for r in stored}
        for t in threads:
            state = "wont_fix" if t.wont_fix else "resolved" if t.resolved else None
            if state is not None and known.get(t.fingerprint, state) != state:
                set_state(deps.engine, pr, t.fingerprint, state)
        prior = merge_prior(threads, [(r.fingerprint, r.state, r.path, r.title) for r in stored])
        store = deps.suppressions or DatabaseSuppressions(deps.engine)
        suppressed = [fp for fp in map(_fingerprint, store.suppressed(pr)) if fp is not None]
        demote = deps.demotion(org, pr.repository) if deps.demotion is not None else None
        return PostingInputs(prior=prior, suppressed=suppressed, demote=demote)

    return await asyncio.to_thread(read)


def _fingerprint(text: str) -> Fingerprint | None:
    try:
        return Fingerprint.parse(text)
    except FingerprintError:
        return None


async def _remember(deps: ReviewDeps, pr: PullRef, post: ReviewPost) -> None:
    """Record what this post put on the pull request (idempotent, so a retry may repeat it)."""
    records = [PostedRecord(c.key, path=c.path, title=c.title, head_sha=post.head_sha) for c in post.comments]
    if records:
        await asyncio.to_thread(record_posted, deps.engine, pr, records)


MAX_CONTEXT_FILES = 100  # files read for code context per review; the rest get the diff alone
CONTEXT_READS = 8  # at once


async def head_files(
    diff: str, read: Callable[[str], Awaitable[str | None]], filters: FilterConfig
) -> MappingHead:
    """The files the review will send, at the head commit, read once per review through the
    platform (at most :data:`MAX_CONTEXT_FILES`, :data:`CONTEXT_READS` at a time; a lockfile or
    vendored file the filters skip is not read). Context is best effort: a file the platform
    cannot give (a rate limit, an odd path) is reviewed without it, never failed."""
    try:
        paths = [f.path for f in filter_files(parse_diff(diff), filters).kept][:MAX_CONTEXT_FILES]
    except DiffParseError:
        return MappingHead({})  # the review itself reports the unreadable diff
    gate = asyncio.Semaphore(CONTEXT_READS)
    files: dict[str, str] = {}

    async def one(path: str) -> None:
        async with gate:
            try:
                text = await read(path)
            except (PlatformError, IdentityError) as exc:
                log.info("no code context for %s: %s", path, exc)
                return
        if text is not None:
            files[path] = text

    await asyncio.gather(*(one(p) for p in paths))
    return MappingHead(files)


def _models_failed(job: Job, report: ReviewReport) -> ModelsFailed:
    """Every request failed: why, and whether another attempt could do better (not when every
    failure was a configuration error: an invalid key, an unknown model, a plan lacking it)."""
    reasons = "; ".join(sorted({c.detail or c.reason for c in report.failed_chunks}))[:500]
    kinds = _failure_kinds(report)
    if not configuration_only(kinds):
        return ModelsFailed(f"every model request failed: {reasons}", kinds)
    return ModelsFailed(
        f"the model configuration of organization {job.org!r} is refused by the provider, which "
        f"retrying cannot fix: {reasons}. Fix the key or model (PUT /api/orgs/{job.org}/byok, or the "
        f"server's and workers' HUNKWISE_* settings in fixed mode), then retry the job",
        kinds,
    )


def _failure_kinds(report: ReviewReport) -> frozenset[str]:
    """What the failed chunks met (``FailedChunk.kinds``), or a chunk's reason when no model
    request of it failed (an unreadable answer). An unknown kind is never taken for a
    configuration error."""
    kinds: set[str] = set()
    for chunk in report.failed_chunks:
        kinds |= chunk.kinds or {chunk.reason}
    return frozenset(kinds)


def _notice(refused: ReviewRefused, platform: str, repository: str, number: int, head_sha: str) -> ReviewPost:
    from hunkwise.store.budget import month_of
    from hunkwise.store.tables import utcnow

    return build_notice(
        platform=platform,
        repository=repository,
        number=number,
        head_sha=head_sha,
        reason=refused.reason,
        headline=refused.headline,
        message=str(refused),
        period=month_of(utcnow()),
        facts=refused.facts,
        advice=refused.advice,
    )


async def _post_notice(job: Job, ctx: JobContext, post: Callable[[], Awaitable[PostResult]]) -> None:
    """Post the refusal's notice (once per pull request and month: its fingerprint). A transient
    platform failure retries the job (which is refused again and posts then); a permanent one is
    logged, and the job still ends with the refusal's reason rather than the platform's error."""
    await ctx.ensure_lease()  # a worker that lost the job never posts
    try:
        await post()
    except PlatformError as exc:
        if isinstance(exc, TransientError):
            raise
        log.warning("job %s: the notice that the review was not run could not be posted: %s", job.id, exc)


def _record_usage(
    engine: Engine, job: Job, report: ReviewReport, platform: str, repository: str, hold: str | None = None
) -> int:
    """Ledger entry keyed by the job: recorded once however many attempts the job takes. The
    job's budget reservation ``hold`` (its token), if any, is settled in the same transaction
    (hunkwise.store.budget)."""
    from hunkwise.store.budget import settle
    from hunkwise.store.calibration import save_ratios
    from hunkwise.store.db import use_session
    from hunkwise.store.ledger import record_run
    from hunkwise.store.records import RunRecord

    run = RunRecord(
        source=platform,
        status="done" if report.complete else "incomplete",
        idempotency_key=f"job:{job.dedupe_key}",
        repository=repository,
        ref=str(report.change.get("number", "")) + "@" + str(report.change.get("head_sha", ""))[:12],
        files_reviewed=report.files_reviewed,
        lines_reviewed=report.lines_reviewed,
        findings=report.counts_by_severity(),
        failed_chunks=len(report.failed_chunks),
        skipped_lines=report.skipped_lines,
        duration_ms=int(report.duration_s * 1000),
    )
    with use_session(engine, write=True) as session:
        run_id = record_run(session, run, report.calls)
        if hold is not None:
            settle(session, job.dedupe_key, report.usage.cost_usd, token=hold)
    samples = {m: v[2] for m, v in report.calibration.items() if v[1] > 0}
    if samples:
        try:
            save_ratios(
                engine, {m: report.calibration[m][0] / report.calibration[m][1] for m in samples}, samples
            )
        except ValueError:
            log.warning("token calibration samples were not usable; skipped")
    return run_id


def _result(checkpoint: dict[str, Any], posted: PostResult) -> dict[str, Any]:
    """The job's result: what posting did, and the ledger run the review recorded (the job
    engines count that run's model calls for ``/metrics``). The review itself (report, post,
    ``since``) stays where it was written once, in the checkpoint: :func:`stored_review`."""
    return {"run_id": checkpoint.get("run_id"), "posted": posted.as_dict()}


def stored_review(job: Job) -> dict[str, Any]:
    """What a review job's review produced (``report``, ``post``, ``since``, ``run_id``), or
    ``{}`` before it has reviewed. Stored once per job, in its checkpoint: written when the
    models have answered, read by a retry (which posts without calling the models again), the
    reviews API and the console."""
    checkpoint = job.checkpoint or {}
    return checkpoint if isinstance(checkpoint.get("report"), dict) else {}
