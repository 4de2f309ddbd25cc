"""Run the real review engine on every case with every configuration, and score the results.

The review is :func:`hunkwise.review.engine.run_review`, the same call ``hunkwise review`` makes,
with the configuration's slots behind a gateway :class:`~hunkwise.gateway.router.Router`: the
packing, prompts, answer parsing, anchoring, de-duplication and ``[review]`` thresholds measured
are the ones users get. Nothing here knows of the command line: the caller builds the
configurations (and, for ``--offline``, points their slots at the simulator), and may pass a
``ClientPool`` whose transport records or replays (:mod:`hunkwise.gateway.recording`).

Cases run one after another per configuration by default: each review already sends its chunks
concurrently, and a case's latency is only meaningful when cases do not queue behind each other.
``jobs`` > 1 reviews several cases at once (faster on a large dataset; latency then includes the
wait for the key's concurrency).

Named like :mod:`hunkwise.jobs.distributed.runner` on purpose: each package's ``runner`` runs its
unit of work (an evaluation over a dataset here, one distributed job per message there).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from hunkwise.errors import ConfigurationError
from hunkwise.evaluation.cache import ResultCache, digest_of, engine_fingerprint
from hunkwise.evaluation.dataset import Case, Dataset
from hunkwise.evaluation.judge import Judge
from hunkwise.evaluation.matching import DEFAULT_TOLERANCE, match, within
from hunkwise.evaluation.runs import CaseRun
from hunkwise.evaluation.scoring import Counts, Score
from hunkwise.gateway import SKIPPED_OUTCOMES, ClientPool, ErrorKind, LocalBackend, Router, Slot
from hunkwise.review.context import MappingHead
from hunkwise.review.engine import ReviewOptions, run_review
from hunkwise.review.errors import CostLimitExceeded
from hunkwise.review.report import ReviewReport


@dataclass(frozen=True, slots=True)
class ConfigUnderTest:
    """One configuration to measure: a name for the table, its slots (in failover order) and the
    review options its files give (``[review]``, ``[[rules]]``, the cost ceiling)."""

    name: str
    slots: tuple[Slot, ...]
    options: ReviewOptions
    digest: str
    path: str | None = None


class EvalProgress(Protocol):
    def started(self, total: int) -> None: ...

    def case_done(self, config: str, case_id: str, *, cached: bool) -> None: ...


def slot_facts(slot: Slot) -> dict[str, Any]:
    """What of a slot shapes its answers: no key, no host (the simulator's port changes), no
    concurrency (it changes waiting, not answers)."""
    return {
        "name": slot.name,
        "provider": slot.provider,
        "model": slot.model,
        "plan": slot.plan,
        "tier": slot.tier,
        "endpoint_path": urlsplit(slot.base_url).path.rstrip("/"),
        "thinking": slot.thinking,
        "temperature": slot.temperature,
        "max_output_tokens": slot.max_output_tokens,
        "context_window": slot.context_window,
        "input_price": slot.input_price,
        "output_price": slot.output_price,
        "simulated": slot.simulated,
    }


def config_digest(files: Sequence[dict[str, Any]], slots: Sequence[Slot], mode: str) -> str:
    """The configuration's cache key: its files as parsed, its slots' facts, the mode (simulator,
    live or replay: the same config gives different answers in each) and the engine's code."""
    return digest_of(
        {
            "files": list(files),
            "slots": [slot_facts(s) for s in slots],
            "mode": mode,
            "engine": engine_fingerprint(),
        }
    )


@dataclass(slots=True)
class ConfigResult:
    config: ConfigUnderTest
    score: Score
    runs: list[CaseRun] = field(default_factory=list)
    per_case: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class EvalResult:
    dataset: str
    cases: int
    tolerance: int
    source: str  # "simulator", "llm" or "replay": what answered the reviews
    results: list[ConfigResult]
    judge: str | None = None  # the judge model's label, when --judge

    @property
    def incomplete(self) -> int:
        return sum(r.score.incomplete_cases for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "cases": self.cases,
            "tolerance": self.tolerance,
            "source": self.source,
            "simulated": self.source == "simulator",
            "judge": self.judge,
            "configs": [
                {
                    "name": r.config.name,
                    "path": r.config.path,
                    "config_hash": r.config.digest[:16],
                    "models": [f"{s.name}: {s.provider}/{s.model}" for s in r.config.slots],
                    "source": self.source,
                    **r.score.as_dict(),
                    "per_case": r.per_case,
                }
                for r in self.results
            ],
        }


async def evaluate(
    dataset: Dataset,
    configs: Sequence[ConfigUnderTest],
    *,
    source: str,
    tolerance: int = DEFAULT_TOLERANCE,
    cache: ResultCache | None = None,
    clients: ClientPool | None = None,
    judge: Judge | None = None,
    judge_label: str | None = None,
    progress: EvalProgress | None = None,
    jobs: int = 1,
) -> EvalResult:
    """Review every case with every configuration (cached results are reused) and score them.
    ``jobs``: cases reviewed at once per configuration (1: latency is each review's own)."""
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    if progress is not None:
        progress.started(len(configs) * len(dataset))
    results: list[ConfigResult] = []
    for config in configs:
        backend = LocalBackend(None)  # circuits in memory: an evaluation never opens a real one
        router = Router(config.slots, backend=backend, clients=clients)
        try:
            result = ConfigResult(config, Score(judged=Counts() if judge is not None else None))
            runs = await _run_cases(dataset, config, router, cache, jobs, progress)
            for case, run in zip(dataset, runs, strict=True):  # in dataset order: same figures
                await _score_case(result, case, run, tolerance, judge)
            results.append(result)
        finally:
            await router.aclose()
            await backend.aclose()
    return EvalResult(str(dataset.path), len(dataset), tolerance, source, results, judge_label)


async def _run_cases(
    dataset: Dataset,
    config: ConfigUnderTest,
    router: Router,
    cache: ResultCache | None,
    jobs: int,
    progress: EvalProgress | None,
) -> list[CaseRun]:
    """Every case's run, at most ``jobs`` at a time; each is cached as soon as it is done, so an
    interruption loses at most the reviews in flight."""
    gate = asyncio.Semaphore(jobs)

    async def one(case: Case) -> CaseRun:
        async with gate:
            run = await _run_case(case, config, router, cache)
        if progress is not None:
            progress.case_done(config.name, case.id, cached=run.cached)
        return run

    if jobs == 1:
        return [await one(case) for case in dataset]
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(case)) for case in dataset]
    return [t.result() for t in tasks]


async def _run_case(
    case: Case, config: ConfigUnderTest, router: Router, cache: ResultCache | None
) -> CaseRun:
    if cache is not None and (hit := cache.get("runs", config.digest, case.digest)) is not None:
        cached = CaseRun.from_dict(hit)
        if cached is not None:
            return cached
    # The case's head files are where code context is read ([review] context = "function"/"file").
    head = MappingHead(dict(case.head)) if case.head else None
    options = dataclasses.replace(
        config.options, change={"case": case.id, "language": case.language}, head=head
    )
    try:
        report = await run_review(case.diff, router, options)
    except CostLimitExceeded as exc:
        return CaseRun(case.id, complete=False, failure=str(exc))
    _stop_on_configuration_failure(config, report)
    run = CaseRun.of(case.id, report, config.slots)
    if cache is not None and run.complete:
        cache.put("runs", (config.digest, case.digest), run.as_dict())
    return run


def _stop_on_configuration_failure(config: ConfigUnderTest, report: ReviewReport) -> None:
    """A review where nothing answered and every failure is one retrying never fixes (a bad key,
    an unknown model) would fail the same way on every case: stop and say so, as ``review`` does."""
    if not report.failed_chunks or any(c.ok for c in report.calls):
        return
    kinds = {c.outcome for c in report.calls if c.outcome not in SKIPPED_OUTCOMES}
    known = {k.value for k in ErrorKind}
    if kinds and kinds <= known and all(ErrorKind(k).is_configuration for k in kinds):
        raise ConfigurationError(
            f"configuration {config.name!r}: no request could be served: {report.failed_chunks[0].detail}"
        )


async def _score_case(
    result: ConfigResult, case: Case, run: CaseRun, tolerance: int, judge: Judge | None
) -> None:
    score = result.score
    matching = match(run.findings, case.expected, tolerance=tolerance)
    score.counts.add(matching.true_positives, matching.false_positives, matching.false_negatives)
    entry: dict[str, Any] = {
        "case": case.id,
        "clean": case.clean,
        "expected": len(case.expected),
        "findings": len(run.findings),
        "true_positives": matching.true_positives,
        "false_positives": matching.false_positives,
        "false_negatives": matching.false_negatives,
        "complete": run.complete,
        "failure": run.failure,
        "cached": run.cached,
        "latency_s": round(run.latency_s, 3),
        "cost_usd": round(run.cost_usd, 6),
    }
    if judge is not None and score.judged is not None:
        accepted: set[tuple[int, int]] = set()
        for i, finding in enumerate(run.findings):
            for j, issue in enumerate(case.expected):
                if not within(finding, issue, tolerance):
                    continue
                verdict = await judge.same(finding, issue)
                score.judge_calls += 1 if verdict.usage.calls else 0
                score.judge_input_tokens += verdict.usage.input_tokens
                score.judge_output_tokens += verdict.usage.output_tokens
                score.judge_cost_usd += verdict.usage.cost_usd
                score.judge_unreadable += 0 if verdict.readable else 1
                if verdict.same:
                    accepted.add((i, j))
        judged = match(
            run.findings, case.expected, tolerance=tolerance, accept=lambda i, j: (i, j) in accepted
        )
        score.judged.add(judged.true_positives, judged.false_positives, judged.false_negatives)
        entry["judged_true_positives"] = judged.true_positives
    score.cases += 1
    score.findings += len(run.findings)
    if case.clean:
        score.clean_cases += 1
        score.clean_false_positives += len(run.findings)
        score.clean_cases_flagged += 1 if run.findings else 0
    score.incomplete_cases += 0 if run.complete else 1
    score.cached_cases += 1 if run.cached else 0
    score.input_tokens += run.input_tokens
    score.output_tokens += run.output_tokens
    score.cost_usd += run.cost_usd
    score.calls += run.calls
    score.failovers += run.failovers
    score.latencies_s.append(run.latency_s)
    score.verify_input_tokens += run.verify_input_tokens
    score.verify_output_tokens += run.verify_output_tokens
    score.verify_cost_usd += run.verify_cost_usd
    result.runs.append(run)
    result.per_case.append(entry)
