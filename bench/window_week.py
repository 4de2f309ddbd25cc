"""A simulated week of pull requests on one Coding Plan Lite key: scheduling around its windows
against react-only behaviour (today's: run at once, fail over or fail on 1308), in one run.

The simulator meters the key like Z.AI (Lite: 120 prompts per rolling 5 hours, 960 a week,
GLM-5.1 counting 3x at peak 14:00-18:00 Beijing time and 2x off-peak) on its own clock, which
this script moves with ``advance`` from one event to the next: a week takes seconds. Each
review goes the real path: the scheduler (``hunkwise.jobs.review_job.schedule``: estimate x
multiplier against the ledger's remaining window, priority, spill policy), the router and the
review engine against the simulator over loopback HTTP, and the usage ledger (SQLite) that the
next decision reads. A deferred review is put back at its ``deferred until`` time, as the job
queue does.

Arrivals: a team in UTC+8, Monday to Friday 09:00-19:00 with peaks at 10-12 and 14-17 (a few
PRs at night and on the weekend), each PR opened once and updated 0-3 times; 5% of the reviews
asked for by a person. One to six requests per review. Seeded: the same week every run.

Scenarios (the same arrivals for each):
- ``react / Lite alone``: no Fallback; a spent window fails the review's remaining chunks.
- ``react / + Fallback``: today's failover to a Developer API key on 1308.
- ``schedule / never``: deferred until the reset instead (a person's review still runs).
- ``schedule / when-exhausted``: to the Fallback before the first request when the window
  cannot cover the estimate.

Prints per scenario: reviews completed, failed because a window closed, deferred (how many,
mean and longest wait), Fallback calls and spend, requests refused with 1308 (sent into a closed
window); and peak RSS. Out of the default test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import random
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spread_makespan import WINDOW, diff  # a sibling bench script, not a package

from hunkwise.config.scheduling import PRIORITIES
from hunkwise.gateway import Router, Secret, Slot
from hunkwise.gateway.limits.local import LocalBackend
from hunkwise.jobs.engine import JobDeferred
from hunkwise.jobs.review_job import ReviewDeps, schedule
from hunkwise.jobs.schedule import window_capacity
from hunkwise.review.engine import ReviewOptions, run_review
from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer
from hunkwise.store.db import open_store
from hunkwise.store.jobs import Job
from hunkwise.store.ledger import record_run
from hunkwise.store.records import RunRecord

LITE, DEV = "week-lite", "week-dev"
BEIJING = timezone(timedelta(hours=8))
# Arrivals per hour (Beijing time) on a weekday; weekends get a tenth.
HOURLY = {h: 0.15 for h in range(24)} | {
    9: 1.5,
    10: 3.0,
    11: 3.0,
    12: 1.0,
    13: 1.5,
    14: 3.0,
    15: 3.0,
    16: 3.0,
}
HOURLY |= {17: 2.0, 18: 1.0}


@dataclass(order=True)
class Review:
    at: float  # sim epoch seconds
    seq: int
    priority: int = field(compare=False)
    requests: int = field(compare=False)
    first_at: float = field(compare=False, default=0.0)
    deferrals: int = field(compare=False, default=0)


def arrivals(start: float, seed: int) -> list[Review]:
    """The week's reviews from ``start`` (a Monday 00:00 Beijing, epoch seconds)."""
    rng = random.Random(seed)
    out: list[Review] = []
    seq = 0
    for hour in range(7 * 24):
        weekday = hour // 24 < 5
        rate = HOURLY[hour % 24] * (1.0 if weekday else 0.1)
        t = start + hour * 3600.0
        while True:
            t += rng.expovariate(rate) * 3600.0 if rate > 0 else 3600.0
            if t >= start + (hour + 1) * 3600.0:
                break
            size = min(6, max(1, int(rng.lognormvariate(0.7, 0.6))))
            manual = rng.random() < 0.05
            out.append(Review(t, seq, PRIORITIES["manual" if manual else "opened"], size))
            seq += 1
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):  # updates over the next hours
                later = t + rng.uniform(0.3, 6.0) * 3600.0
                out.append(Review(later, seq, PRIORITIES["synchronize"], max(1, size // 2)))
                seq += 1
    return sorted(out)


class Clock:
    """The simulator's clock, followed by the router, the ledger and the scheduler."""

    def __init__(self, sim: SimulatorServer) -> None:
        self.sim, self.offset = sim, 0.0

    def epoch(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.epoch(), UTC)

    def to(self, at: float) -> None:
        step = at - self.epoch()
        if step > 0:
            self.sim.advance(step)
            self.offset += step


def slots(sim: SimulatorServer, fallback: bool) -> list[Slot]:
    main = Slot(
        name="main", provider="zai", base_url=sim.zai_coding_url, model="glm-5.1", api_key=Secret(LITE),
        plan="coding", tier="lite", max_concurrent=1, context_window=WINDOW,
    )  # fmt: skip
    if not fallback:
        return [main]
    fb = Slot(
        name="fallback", provider="zai", base_url=sim.zai_developer_url, model="glm-5.1", api_key=Secret(DEV),
        plan="developer", max_concurrent=4, context_window=WINDOW, input_price=1.4, output_price=4.4,
    )  # fmt: skip
    return [main, fb]


def job_for(review: Review, created: datetime) -> Job:
    return Job(
        id=review.seq, org="team", kind="github_review", payload={}, dedupe_key=str(review.seq),
        status="running", attempts=1, max_attempts=5, next_run_at=created, error=None, result=None,
        checkpoint=None, lease_owner="bench", lease_expires_at=None, created_at=created, updated_at=created,
        priority=review.priority,
    )  # fmt: skip


async def scenario(
    sim: SimulatorServer, week: list[Review], *, fallback: bool, spill: str | None, start: float
) -> dict[str, object]:
    sim.reset()
    clock = Clock(sim)
    clock.to(start)
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_store(f"sqlite:///{tmp}/ledger.db")
        configured = slots(sim, fallback)
        deps = ReviewDeps(
            engine=engine, slots_for_org=lambda org: configured, github=None, gitlab=None,  # type: ignore[arg-type]
            spill_for_org=lambda org: spill or "when-exhausted", capacity=window_capacity(engine),
            clock=clock.now,
        )  # fmt: skip
        backend = LocalBackend()  # one server's circuits and limits for the whole week
        queue = [Review(r.at, r.seq, r.priority, r.requests, r.at) for r in week]
        heapq.heapify(queue)
        texts = {n: diff(n) for n in range(1, 7)}
        done = failed_window = failed_other = deferred = 0
        waits: list[float] = []
        fb_calls, fb_usd, main_calls, refused = 0, 0.0, 0, 0
        while queue:
            review = heapq.heappop(queue)
            clock.to(review.at)
            text = texts[review.requests]
            route = configured
            spread = False
            if spill is not None:
                try:
                    route, decision = await schedule(
                        job_for(review, clock.now()), deps, text, configured, ReviewOptions()
                    )
                    spread = decision.spread
                except JobDeferred as exc:
                    review.deferrals += 1
                    again = exc.until.timestamp() + 1
                    heapq.heappush(
                        queue,
                        Review(
                            again,
                            review.seq,
                            review.priority,
                            review.requests,
                            review.first_at,
                            review.deferrals,
                        ),
                    )
                    continue
            async with Router(route, backend=backend, clock=clock.epoch, spread=spread) as router:
                report = await run_review(text, router, ReviewOptions())
            record_run(
                engine,
                RunRecord(source="github", status="done", idempotency_key=str(review.seq)),
                report.calls,
            )
            for call in report.calls:
                refused += call.outcome == "quota_window"  # a request sent into a closed window
                if call.outcome == "ok":
                    if call.slot == "fallback":
                        fb_calls += 1
                        fb_usd += call.usage.cost_usd
                    else:
                        main_calls += 1
            if review.deferrals:
                deferred += 1
                waits.append(clock.epoch() - review.first_at)
            kinds = (
                set().union(*(c.kinds or {c.reason} for c in report.failed_chunks))
                if report.failed_chunks
                else set()
            )
            if not report.failed_chunks:
                done += 1
            elif "quota_window" in kinds:
                failed_window += 1
            else:
                failed_other += 1
        engine.dispose()
    return {
        "reviews": len(week),
        "completed": done,
        "failed_window_closed": failed_window,
        "failed_other": failed_other,
        "deferred": deferred,
        "mean_wait_h": round(sum(waits) / len(waits) / 3600, 2) if waits else 0.0,
        "longest_wait_h": round(max(waits) / 3600, 2) if waits else 0.0,
        "main_calls": main_calls,
        "fallback_calls": fb_calls,
        "fallback_usd": round(fb_usd, 4),
        "refused_1308": refused,
    }


def monday(now: float) -> float:
    """The next Monday 00:00 in Beijing after ``now``."""
    local = datetime.fromtimestamp(now, BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    return (local + timedelta(days=7 - local.weekday())).timestamp()


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    start = monday(time.time())
    week = arrivals(start, args.seed)
    keys = [
        KeyConfig(key=LITE, kind="coding", tier="lite"),
        KeyConfig(key=DEV, kind="developer", balance=1000.0),
    ]
    out: dict[str, object] = {"reviews": len(week), "requests": sum(r.requests for r in week)}
    with SimulatorServer(SimConfig(keys=keys, peak_multiplier=True, seed=args.seed)) as sim:
        for name, fallback, spill in (
            ("react / Lite alone", False, None),
            ("react / + Fallback", True, None),
            ("schedule / never", True, "never"),
            ("schedule / when-exhausted", True, "when-exhausted"),
        ):
            started = time.perf_counter()
            result = await scenario(sim, week, fallback=fallback, spill=spill, start=start)
            result["wall_s"] = round(time.perf_counter() - started, 1)
            out[name] = result
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"{out['reviews']} reviews, {out['requests']} requests planned, one week, "
        "Lite key (GLM-5.1, peak 3x / 2x)"
    )
    cols = ("completed", "failed_window_closed", "failed_other", "deferred", "mean_wait_h", "longest_wait_h",
            "main_calls", "fallback_calls", "fallback_usd", "refused_1308", "wall_s")  # fmt: skip
    for name, result in out.items():
        if isinstance(result, dict):
            print(f"{name}: " + ", ".join(f"{c} {result[c]}" for c in cols))
    print(f"peak RSS: {out['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
