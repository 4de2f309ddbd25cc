"""A 40-chunk review on a Lite key (cap 1) with a Developer API fallback: makespan of
``to-finish-faster`` (chunks spread over Main and Fallback, work-stealing) against Main alone.

Both runs go through the real path: the scheduler's decision (``hunkwise.jobs.schedule.decide``
says whether to spread), the router (``Router(spread=...)``) and the review engine
(``run_review``), against the simulator over loopback HTTP with a fixed service time per request
(``--latency-ms``; both keys have the same one). The ideal is the two capacities added up:
``chunks / (main_cap / latency + fallback_cap / latency)``; Main alone's floor is
``chunks * latency / main_cap``. Prints the figures, the calls per key and peak RSS.

Out of the default test suite (bench/); results in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from datetime import UTC, datetime

from hunkwise.gateway import Router, Secret, Slot
from hunkwise.gateway.limits.local import LocalBackend
from hunkwise.jobs.schedule import Estimate, decide
from hunkwise.review.engine import ReviewOptions, plan_only, run_review
from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer

LITE, DEV = "bench-lite", "bench-dev"
WINDOW = 16_000  # with 40 files of 150 lines: one file per request, 40 requests


def diff(files: int = 40, lines: int = 150) -> str:
    out: list[str] = []
    for i in range(files):
        path = f"src/mod_{i}.py"
        out.append(f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n")
        out.append(f"@@ -0,0 +1,{lines} @@\n")
        out.extend(
            f"+value_{i}_{j} = compute_something({j}) + other_value_{j} * factor\n" for j in range(lines)
        )
    return "".join(out)


def slots(sim: SimulatorServer, fallback_cap: int) -> list[Slot]:
    main = Slot(
        name="main", provider="zai", base_url=sim.zai_coding_url, model="glm-5.1", api_key=Secret(LITE),
        plan="coding", tier="lite", max_concurrent=1, context_window=WINDOW,
    )  # fmt: skip
    fallback = Slot(
        name="fallback", provider="zai", base_url=sim.zai_developer_url, model="glm-5.1",
        api_key=Secret(DEV), plan="developer", max_concurrent=fallback_cap, context_window=WINDOW,
        input_price=1.4, output_price=4.4,
    )  # fmt: skip
    return [main, fallback]


async def one_run(
    sim: SimulatorServer, text: str, fallback_cap: int, *, spill: str
) -> dict[str, float | int]:
    sim.reset()
    chosen = slots(sim, fallback_cap)
    requests = len(plan_only(text, chosen, ReviewOptions()).plan)
    decision = decide(
        priority=20, spill=spill, estimate=Estimate(requests), capacity=None,
        has_fallback=spill != "main-alone", main_cap=1, now=datetime.now(UTC),
    )  # fmt: skip
    route = chosen if spill != "main-alone" else chosen[:1]
    started = time.perf_counter()
    async with Router(route, backend=LocalBackend(), spread=decision.spread) as router:
        report = await run_review(text, router, ReviewOptions())
    wall = time.perf_counter() - started
    lite, dev = sim.key_stats(LITE), sim.key_stats(DEV)
    return {
        "requests": requests,
        "spread": int(decision.spread),
        "makespan_s": round(wall, 2),
        "main_calls": lite["ok"],
        "fallback_calls": dev["ok"],
        "main_peak_in_flight": lite["max_in_flight"],
        "fallback_peak_in_flight": dev["max_in_flight"],
        "failed_chunks": len(report.failed_chunks),
        "fallback_cost_usd": round(sum(c.usage.cost_usd for c in report.calls if c.slot == "fallback"), 4),
    }


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    text = diff(args.chunks)
    keys = [
        KeyConfig(key=LITE, kind="coding", tier="lite", concurrency=1),
        KeyConfig(key=DEV, kind="developer", concurrency=args.fallback_cap),
    ]
    latency = args.latency_ms / 1000
    with SimulatorServer(SimConfig(keys=keys, latency_ms=args.latency_ms, seed=1)) as sim:
        alone = await one_run(sim, text, args.fallback_cap, spill="main-alone")
        spread = await one_run(sim, text, args.fallback_cap, spill="to-finish-faster")
    n = int(alone["requests"])
    ideal = n / (1 / latency + args.fallback_cap / latency)
    return {
        "chunks": n,
        "latency_ms": args.latency_ms,
        "main_cap": 1,
        "fallback_cap": args.fallback_cap,
        "main_alone": alone,
        "to_finish_faster": spread,
        "floor_main_alone_s": round(n * latency, 2),
        "ideal_split_s": round(ideal, 2),
        "speed_up": round(float(alone["makespan_s"]) / float(spread["makespan_s"]), 2),
        "of_ideal": round(ideal / float(spread["makespan_s"]), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=40, help="files of 150 lines, one request each")
    parser.add_argument("--latency-ms", type=float, default=300.0, help="the simulator's service time")
    parser.add_argument("--fallback-cap", type=int, default=2, help="the Developer API key's concurrency")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(out, indent=2))
        return
    a, s = out["main_alone"], out["to_finish_faster"]
    assert isinstance(a, dict) and isinstance(s, dict)
    print(
        f"{out['chunks']} chunks, {args.latency_ms:.0f} ms/request, "
        f"Main cap 1, Fallback cap {args.fallback_cap}"
    )
    print(
        f"Main alone:        {a['makespan_s']:>6} s  (floor {out['floor_main_alone_s']} s)  "
        f"calls main/fallback {a['main_calls']}/{a['fallback_calls']}"
    )
    print(
        f"to-finish-faster:  {s['makespan_s']:>6} s  (ideal {out['ideal_split_s']} s)  "
        f"calls main/fallback {s['main_calls']}/{s['fallback_calls']}, fallback ${s['fallback_cost_usd']}"
    )
    print(
        f"speed-up x{out['speed_up']}, {float(out['of_ideal']) * 100:.0f}% of the ideal split "  # type: ignore[arg-type]
        f"(Main alone: {float(out['floor_main_alone_s']) / float(a['makespan_s']) * 100:.0f}% of its floor); "  # type: ignore[arg-type]
        f"peak in flight main {s['main_peak_in_flight']}, fallback {s['fallback_peak_in_flight']}"
    )
    print(f"peak RSS: {out['peak_rss_mb']} MB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
