"""Run a review: a diff in, a :class:`ReviewReport` out.

Parse -> filter -> pack into the most constrained slot's budget -> one gateway request per chunk,
concurrently -> tolerant parse (one repair request on bad output) -> anchor -> de-duplicate ->
limit. The engine knows the gateway's interface (``router.chat``, ``router.slots``) and nothing
of HTTP, the CLI or the store; what the store needs (calls, calibration samples) is on the report.

Concurrency: the router's limiter enforces each key's concurrency (and waits for a free slot),
so the engine adds no cap of its own on requests in flight; it only bounds how many worker tasks
exist, so a 2,000-chunk review does not create 2,000 coroutines at once.

Named like :mod:`hunkwise.jobs.engine` on purpose: each package's engine runs what the package is
about (a review here, a job there, which runs this engine).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from hunkwise.catalog.findings_contract import ModelFinding, Severity
from hunkwise.config.review_settings import CostCeiling, money
from hunkwise.errors import ConfigurationError
from hunkwise.gateway import (
    SKIPPED_OPEN_CIRCUIT,
    SKIPPED_OUTCOMES,
    THINKING_AUTO,
    AllSlotsFailed,
    Attempt,
    ChatRequest,
    ChatResult,
    Slot,
    Usage,
    count_failovers,
)
from hunkwise.review.answer import AnswerParseError, parse_answer
from hunkwise.review.context import ContextMode, HeadFiles
from hunkwise.review.diff import DiffParseError, FileDiff, parse_diff
from hunkwise.review.errors import CostLimitExceeded, ReviewInputError
from hunkwise.review.filters import FilterConfig
from hunkwise.review.findings import (
    SNAP_DISTANCE,
    Finding,
    anchor_findings,
    dedupe_findings,
    sort_for_report,
)
from hunkwise.review.noise import NoiseControls, apply_noise_controls, hold_back
from hunkwise.review.packing import DEFAULT_OUTPUT_TOKENS, Budget, Chunk, ReviewPlan, plan_review
from hunkwise.review.prompt import build_repair_request, build_review_request, prompt_overhead_tokens
from hunkwise.review.report import (
    FailedChunk,
    PlannedChunk,
    ReviewReport,
    SkippedLines,
    Source,
)
from hunkwise.review.rules import RepoRules
from hunkwise.review.thinking_rule import choose
from hunkwise.review.tokens import TokenEstimator
from hunkwise.review.verification import RouterLike, VerifyOptions, estimate_cost_usd, verify_findings

DEFAULT_EXPECTED_OUTPUT_TOKENS = 2_000  # what a chunk's answer (findings + reasoning) costs, typically
DEFAULT_MAX_WORKERS = 16


@dataclass(frozen=True, slots=True)
class ChunkOutcome:
    """Reported to the progress sink after each chunk (answered, repaired or failed)."""

    index: int
    ok: bool
    model: str | None
    slot: str | None
    failovers: int
    usage: Usage
    findings: int


class ProgressSink(Protocol):
    """Where the engine reports progress, so the CLI can draw a progress line and the server can stay
    silent without the engine knowing either.
    """

    def review_started(self, chunks: int, estimated_cost_usd: float) -> None:
        """Called once the plan is known, so a progress display can show the chunk count and the estimated
        cost before the first call.
        """

    def chunk_done(self, outcome: ChunkOutcome) -> None:
        """Called as each chunk finishes (in completion order), so progress moves while slow chunks are still
        running.
        """


@dataclass(slots=True)
class ReviewOptions:
    """Everything a review run may be told besides the diff, in one value the CLI, the server and the
    benchmarks build the same way.
    """

    rules: RepoRules = field(default_factory=RepoRules)
    filters: FilterConfig | None = None  # None: defaults + the rules file's [review] settings
    # Flags of the command; ``None``: the ``[review]`` setting of the rules file, else no limit.
    min_severity: Severity | None = None
    max_findings: int | None = None
    min_confidence: float | None = None
    verify: VerifyOptions | None = None  # None: the rules file's [review] verify settings
    context: ContextMode | None = None  # None: the rules file's [review] context, else "hunk"
    head: HeadFiles | None = None  # where code context is read (review/context.py)
    dry_run: bool = False
    max_cost: CostCeiling | None = None  # None: no ceiling (callers pass the configured one)
    expected_output_tokens: int = DEFAULT_EXPECTED_OUTPUT_TOKENS
    estimator: TokenEstimator | None = None  # calibrated in place from reported prompt_tokens
    max_workers: int = DEFAULT_MAX_WORKERS
    snap_distance: int = SNAP_DISTANCE
    source: Source = "llm"
    change: dict[str, Any] = field(default_factory=dict)
    # Files the platform could not give in full (path -> why): skipped with rule ``unread``, and
    # the merge status says the review is incomplete (jobs/review_status.py).
    unread: dict[str, str] = field(default_factory=dict)
    # Asked once, with the planned report (its estimate), after the cost ceiling and before the
    # first request; raising stops the review with nothing sent. A server reserves the estimate
    # against the organization's monthly budget here. Never on a dry run.
    admit: Callable[[ReviewReport], Awaitable[None]] | None = None

    def filter_config(self) -> FilterConfig:
        """The filters in force: explicit ones if given, else the defaults overlaid with the rules file's
        ``[review]`` settings, so both callers resolve them the same way.
        """
        unread = tuple(self.unread.items())
        if self.filters is not None:
            return replace(self.filters, unread=unread) if unread else self.filters
        s = self.rules.settings
        base = FilterConfig()
        return FilterConfig(
            ignore=s.ignore,
            include=s.include,
            max_changed_lines=s.max_file_lines if s.max_file_lines is not None else base.max_changed_lines,
            skip_tests=s.test_paths if s.tests == "skip" else (),
            unread=unread,
        )

    def context_mode(self) -> ContextMode:
        """The flag if given, else the rules file's ``[review] context``: one
        answer for the CLI and the server.
        """
        return self.context if self.context is not None else self.rules.settings.context

    def verify_options(self) -> VerifyOptions:
        """The flags' verification settings, else the rules file's ``[review]`` ones."""
        if self.verify is not None:
            return self.verify
        s = self.rules.settings
        return VerifyOptions(enabled=s.verify, min_score=s.min_score, action=s.verify_action)

    def noise_controls(self) -> NoiseControls:
        """The flags over the rules file's ``[review]`` settings (:mod:`hunkwise.review.noise`)."""
        s = self.rules.settings
        return NoiseControls(
            min_severity=self.min_severity if self.min_severity is not None else s.min_severity,
            min_confidence=self.min_confidence if self.min_confidence is not None else s.min_confidence,
            max_findings=self.max_findings if self.max_findings is not None else s.max_findings,
            severity_floor=s.severity_floor,
            tests=s.tests,
            test_paths=s.test_paths,
            merge_repeats=s.merge_repeats,
        )


@dataclass(slots=True)
class _ChunkResult:
    findings: list[Finding] = field(default_factory=list)
    dropped: int = 0
    calls: list[Attempt] = field(default_factory=list)
    failure: FailedChunk | None = None


def _files(diff: bytes | str | Sequence[FileDiff]) -> list[FileDiff]:
    if isinstance(diff, bytes | str):
        try:
            return parse_diff(diff)
        except DiffParseError as exc:
            raise ReviewInputError(f"the diff cannot be read: {exc}") from exc
    return list(diff)


def _code_map(files: Sequence[FileDiff]) -> dict[str, dict[int, str]]:
    return {
        f.path: {ln.new_no: ln.text for h in f.hunks for ln in h.lines if ln.new_no is not None}
        for f in files
    }


def _output_cap(slots: Sequence[Slot]) -> int:
    """One max_output_tokens for every slot a request may reach: the smallest, which the packer's
    budget reserved in each slot's window."""
    return min(s.max_output_tokens or DEFAULT_OUTPUT_TOKENS for s in slots)


def plan(
    files: Sequence[FileDiff], slots: Sequence[Slot], options: ReviewOptions, estimator: TokenEstimator
) -> tuple[ReviewPlan, list[PlannedChunk], Budget]:
    """Pack the change and price each request with the main slot (failovers may cost more)."""
    if not slots:
        raise ConfigurationError("no model is configured", setting="model")
    models = [s.model for s in slots]
    overhead = prompt_overhead_tokens(estimator, options.rules.rules, models=models)
    budget = Budget.for_slots(slots, prompt_overhead_tokens=overhead)
    review_plan = plan_review(
        files,
        budget,
        estimator,
        filters=options.filter_config(),
        context=options.context_mode(),
        head=options.head,
    )
    main = slots[0]
    out_tokens = min(options.expected_output_tokens, _output_cap(slots))
    planned = [
        PlannedChunk(
            index=c.index,
            paths=tuple(c.files),
            lines=c.assigned_lines,
            estimated_input_tokens=c.estimated_tokens + overhead,
            estimated_output_tokens=out_tokens,
            estimated_cost_usd=main.cost_usd(c.estimated_tokens + overhead, out_tokens),
            thinking=choose(c.files, c.assigned_lines).describe() if _auto(slots) else "",
        )
        for c in review_plan.chunks
    ]
    return review_plan, planned, budget


def _auto(slots: Sequence[Slot]) -> bool:
    """Whether a slot leaves thinking to the review (``thinking = "auto"``)."""
    return any(s.thinking == THINKING_AUTO for s in slots)


def _planned_for(slots: Sequence[Slot], budget: Budget) -> dict[str, Any]:
    """Which slot's window sized the requests (the tightest) and whose prices the estimate uses."""
    tightest = next((s for s in slots if s.name == budget.slot), slots[0])
    return {
        "slot": tightest.name,
        "model": tightest.model,
        "context_window": budget.context_window,
        "diff_tokens_per_request": budget.tokens,
        "priced_with": slots[0].model,
    }


def plan_only(
    diff: bytes | str | Sequence[FileDiff], slots: Sequence[Slot], options: ReviewOptions | None = None
) -> ReviewReport:
    """The dry run: the plan and its estimated cost for ``slots``, without a router. Nothing is
    called, so the slots need no key (``hunkwise review --dry-run`` before a key is set). The cost
    ceiling is reported on the plan, not enforced: seeing the estimate is the point."""
    options = options or ReviewOptions()
    started = time.perf_counter()
    estimator = options.estimator if options.estimator is not None else TokenEstimator()
    report, _ = _prepare(diff, slots, options, estimator)
    report.dry_run = True
    report.duration_s = time.perf_counter() - started
    return report


def _prepare(
    diff: bytes | str | Sequence[FileDiff],
    slots: Sequence[Slot],
    options: ReviewOptions,
    estimator: TokenEstimator,
) -> tuple[ReviewReport, ReviewPlan]:
    files = _files(diff)
    review_plan, planned, budget = plan(files, slots, options, estimator)
    skips = review_plan.skipped
    report = ReviewReport(
        skipped=[SkippedLines.of(s.path, list(s.changed_lines), s.rule, s.detail) for s in skips],
        plan=planned,
        dry_run=options.dry_run,
        source=options.source,
        change=dict(options.change),
        code=_code_map(files),
        planned_for=_planned_for(slots, budget),
        max_cost=options.max_cost,
        context={
            "mode": review_plan.context,
            "lines": review_plan.context_lines,
            "left_out": review_plan.context_lines_left_out,
        },
    )
    return report, review_plan


async def run_review(
    diff: bytes | str | Sequence[FileDiff],
    router: RouterLike,
    options: ReviewOptions | None = None,
    *,
    progress: ProgressSink | None = None,
) -> ReviewReport:
    """Review ``diff`` with the router's slots. Raises :class:`ReviewInputError` for an unreadable
    diff, :class:`CostLimitExceeded` when the estimate is above ``options.max_cost`` (before any
    call; a dry run only reports it), and ``ConfigurationError`` for slots that can never work;
    every model failure is reported on the returned report (failed chunks), never raised."""
    options = options or ReviewOptions()
    started = time.perf_counter()
    slots = tuple(router.slots)
    estimator = options.estimator if options.estimator is not None else TokenEstimator()
    report, review_plan = _prepare(diff, slots, options, estimator)
    ceiling = options.max_cost
    if not options.dry_run and ceiling is not None and ceiling.exceeded_by(report.estimated_cost_usd):
        raise CostLimitExceeded(report.estimated_cost_usd, ceiling, len(report.plan))
    if options.dry_run or not review_plan.chunks:
        report.duration_s = time.perf_counter() - started
        return report
    if options.admit is not None:
        await options.admit(report)

    if progress is not None:
        progress.review_started(len(review_plan.chunks), report.estimated_cost_usd)
    runner = _Runner(router, options, estimator, _output_cap(slots), progress)
    results = await runner.run_all(review_plan.chunks)

    anchored: list[Finding] = []
    reviewed: dict[str, int] = {}
    for chunk, result in zip(review_plan.chunks, results, strict=True):
        report.calls.extend(result.calls)
        report.dropped_unanchored += result.dropped
        anchored.extend(result.findings)  # a failed chunk keeps what its answers did say
        if result.failure is not None:
            report.failed_chunks.append(result.failure)
            continue
        for path, lines in chunk.assigned.items():
            if lines:
                reviewed[path] = reviewed.get(path, 0) + len(lines)
    unique = dedupe_findings(anchored)
    # The noise controls' floors, confidence and repeats first (nothing to verify that they hide),
    # then the verification pass, then max_findings over what is left (review/noise.py).
    controls = options.noise_controls()
    shown = apply_noise_controls(unique, replace(controls, max_findings=None))
    kept = shown.kept
    verify = options.verify_options()
    if verify.enabled and kept:
        kept = await _verified(kept, router, slots, options, verify, estimator, report)
    report.findings, report.held_back = hold_back(kept, controls.max_findings)
    report.duplicates_merged = len(anchored) - len(unique)
    report.below_min_severity = shown.below_min_severity
    report.below_severity_floor = shown.below_severity_floor
    report.below_min_confidence = shown.below_min_confidence
    report.repeats_merged = shown.repeats_merged
    report.files_reviewed = len(reviewed)
    report.lines_reviewed = sum(reviewed.values())
    report.usage = sum((c.usage for c in report.calls), Usage())
    report.calibration = runner.calibration
    report.duration_s = time.perf_counter() - started
    return report


async def _verified(
    findings: list[Finding],
    router: RouterLike,
    slots: Sequence[Slot],
    options: ReviewOptions,
    verify: VerifyOptions,
    estimator: TokenEstimator,
    report: ReviewReport,
) -> list[Finding]:
    """The verification pass over the review's findings (review/verification.py), within the
    cost ceiling: a pass that would take the review over it is not run, and says so."""
    ratio = estimator.ratio_for([slots[0].model])
    estimate = estimate_cost_usd(
        findings, report.code, slots[0], verify.batch, lambda chars: estimator.estimate_chars(chars, ratio)
    )
    spent = sum(c.usage.cost_usd for c in report.calls)
    ceiling = options.max_cost
    if ceiling is not None and ceiling.exceeded_by(spent + estimate):
        report.verification_skipped = (
            f"not run: its estimated {money(estimate)} on top of the {money(spent)} spent would pass "
            f"{ceiling.subject} of {ceiling.describe()}"
        )
        return findings
    result = await verify_findings(router, findings, report.code, verify)
    report.calls.extend(result.calls)
    report.unverified = result.unverified
    report.below_min_score = len(result.below)
    if verify.action == "summary":
        report.low_score = sort_for_report(result.below)
    return result.kept


class _Runner:
    """Runs chunks through the router with a bounded pool of workers."""

    def __init__(
        self,
        router: RouterLike,
        options: ReviewOptions,
        estimator: TokenEstimator,
        max_output_tokens: int,
        progress: ProgressSink | None,
    ) -> None:
        self.router = router
        self.options = options
        self.estimator = estimator
        self.max_output_tokens = max_output_tokens
        self.progress = progress
        self.calibration: dict[str, list[int]] = {}  # model -> [chars, reported prompt tokens, samples]
        # The planner reads ratios by each slot's configured model: calibrate under that id, not
        # the one the provider returned (often a dated snapshot such as gpt-5-mini-2025-08-07).
        self._slot_models = {slot.name: slot.model for slot in router.slots}

    async def run_all(self, chunks: Sequence[Chunk]) -> list[_ChunkResult]:
        results: list[_ChunkResult | None] = [None] * len(chunks)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(len(chunks)):
            queue.put_nowait(i)

        async def worker() -> None:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                results[i] = await self.guarded(chunks[i])

        workers = max(1, min(self.options.max_workers, len(chunks)))
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(worker())
        except ExceptionGroup as group_error:
            # Only configuration errors escape a chunk; surface the first one as itself.
            raise group_error.exceptions[0] from None
        return [r for r in results if r is not None]

    async def guarded(self, chunk: Chunk) -> _ChunkResult:
        """A bug or an unexpected error in one chunk fails that chunk, not the review; a
        configuration error (every chunk would hit it) stops the review."""
        try:
            return await self.run_chunk(chunk)
        except (ConfigurationError, asyncio.CancelledError):
            raise
        except Exception as exc:
            out = _ChunkResult(failure=_failed(chunk, "error", f"{type(exc).__name__}: {exc}"))
            self._report(chunk, out)
            return out

    async def _call(self, chunk: Chunk, request: ChatRequest, out: _ChunkResult) -> ChatResult | None:
        """One gateway request; failures become a failed chunk, never an exception (except a
        configuration error, which would fail every chunk the same way). The router's call records
        go into the report as they are."""
        try:
            result = await self.router.chat(request)
        except AllSlotsFailed as exc:
            out.calls.extend(exc.attempts)
            out.failure = _failed(chunk, "all_slots_failed", str(exc), _failure_kinds(exc))
            return None
        out.calls.extend(result.attempts)
        return result

    def _calibrate(self, request: ChatRequest, result: ChatResult) -> None:
        chars = sum(len(m.content) for m in request.messages)
        tokens = result.usage.input_tokens
        if tokens <= 0:
            return
        model = self._slot_models.get(result.slot, result.model)
        self.estimator.calibrate(model, chars, tokens)
        entry = self.calibration.setdefault(model, [0, 0, 0])
        entry[0] += chars
        entry[1] += tokens
        entry[2] += 1

    async def run_chunk(self, chunk: Chunk) -> _ChunkResult:
        out = _ChunkResult()
        rules = self.options.rules.rules_for(chunk.files)
        light = _auto(self.router.slots) and choose(chunk.files, chunk.assigned_lines).light
        request = build_review_request(
            chunk.text, rules, max_output_tokens=self.max_output_tokens, light=light
        )
        result = await self._call(chunk, request, out)
        if result is not None:
            self._calibrate(request, result)
            for findings, model in await self._answers(chunk, request, result, out):
                anchored = anchor_findings(
                    findings, chunk.assigned, model=model, chunk=chunk.index, snap=self.options.snap_distance
                )
                out.findings.extend(anchored.kept)
                out.dropped += anchored.dropped_unanchored
        self._report(chunk, out)
        return out

    async def _answers(
        self, chunk: Chunk, request: ChatRequest, result: ChatResult, out: _ChunkResult
    ) -> list[tuple[list[ModelFinding], str]]:
        """The findings of the answer, with the model that wrote them. An answer that is not a
        clean findings answer (no findings JSON, a cut-off answer, invalid members, finding-like
        objects that cannot be read) gets one repair request; findings readable from a flawed
        answer are kept either way, and if the repair fails too the chunk is failed, so its lines
        count as not reviewed."""
        try:
            return [(parse_answer(result.content).findings, result.model)]
        except AnswerParseError as first:
            answers = [(first.salvaged, result.model)]
            repair = build_repair_request(request, result.content, str(first))
            repaired = await self._call(chunk, repair, out)
            if repaired is None:
                return answers
            try:
                return [*answers, (parse_answer(repaired.content).findings, repaired.model)]
            except AnswerParseError as second:
                kept = len(first.salvaged) + len(second.salvaged)
                note = f" ({kept} finding(s) read from the answers are kept)" if kept else ""
                detail = f"unusable answer, also after one repair request: {second}{note}"
                out.failure = _failed(chunk, "invalid_output", detail)
                return [*answers, (second.salvaged, repaired.model)]

    def _report(self, chunk: Chunk, out: _ChunkResult) -> None:
        if self.progress is not None:
            answered = [c for c in out.calls if c.ok]
            last = answered[-1] if answered else None
            self.progress.chunk_done(
                ChunkOutcome(
                    chunk.index,
                    out.failure is None,
                    last.model if last else None,
                    last.slot if last else None,
                    count_failovers(out.calls),
                    sum((c.usage for c in out.calls), Usage()),
                    len(out.findings),
                )
            )


def _failure_kinds(exc: AllSlotsFailed) -> frozenset[str]:
    """What a failed request met (see :class:`FailedChunk`): a skip record does not say why its
    slot's circuit is open; the request's last error does, so only a last skip is known."""
    last_error = exc.errors[-1].kind.value if exc.errors else None
    outcomes = [a.outcome for a in exc.attempts if a.outcome != "ok"]
    kinds: set[str] = set()
    for i, outcome in enumerate(outcomes):
        if outcome == SKIPPED_OPEN_CIRCUIT and i == len(outcomes) - 1:
            outcome = last_error or "skipped"
        kinds.add("skipped" if outcome in SKIPPED_OUTCOMES else outcome)
    if not outcomes:
        kinds.add(last_error or "no_attempt")
    return frozenset(kinds)


def _failed(chunk: Chunk, reason: str, detail: str, kinds: frozenset[str] = frozenset()) -> FailedChunk:
    return FailedChunk(chunk.index, tuple(chunk.files), chunk.assigned_lines, reason, detail, kinds)
