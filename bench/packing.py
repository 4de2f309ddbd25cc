"""Benchmark: parse + filter + pack a synthetic 300-file, 20,000-added-line diff.

Prints, per budget: requests (chunks) vs the lower bound ceil(tokens / budget) and their ratio,
CPU seconds for parse + pack (time.process_time, best of N), coverage (lines assigned to a
chunk, and assigned-or-skipped), and peak RSS. Targets: coverage 100%, calls <= 1.1x the
bound, parse + pack < 1 s.

    .venv/bin/python bench/packing.py [--repeat 5] [--seed 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time

from hunkwise.gateway.types import Secret, Slot
from hunkwise.review.diff import parse_diff
from hunkwise.review.filters import FilterConfig
from hunkwise.review.packing import Budget, ReviewPlan, plan_review
from hunkwise.review.tokens import TokenEstimator

FILES = 300
ADDED = 20_000
_WORDS = [
    "self",
    "value",
    "result",
    "items",
    "config",
    "request",
    "handler",
    "error",
    "return",
    "await",
    "async",
    "data",
    "index",
]


def _line(rng: random.Random) -> str:
    indent = " " * (4 * rng.randint(0, 3))
    return indent + " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 10)))


def _sizes(rng: random.Random) -> list[int]:
    """Added lines per file: a few giant files, some large, many small; sums to ADDED."""
    giant = [3_000, 2_200, 1_500]
    large = [rng.randint(300, 700) for _ in range(12)]
    rest = FILES - len(giant) - len(large)
    remaining = ADDED - sum(giant) - sum(large)
    weights = [rng.paretovariate(1.5) for _ in range(rest)]
    small = [max(1, int(remaining * w / sum(weights))) for w in weights]
    small[0] += remaining - sum(small)
    sizes = giant + large + small
    rng.shuffle(sizes)
    return sizes


def synthetic_diff(seed: int = 7) -> bytes:
    rng = random.Random(seed)
    out: list[str] = []
    for i, added in enumerate(_sizes(rng)):
        ext = rng.choice(["py", "go", "ts", "rs", "java"])
        path = f"pkg{i % 17}/module_{i}.{ext}"
        out.append(
            f"diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n--- a/{path}\n+++ b/{path}\n"
        )
        # One giant hunk for the biggest files; otherwise hunks of 1..80 added lines.
        chunks = [added] if added >= 2_000 else []
        left = added - sum(chunks)
        while left > 0:
            take = min(left, rng.randint(1, 80))
            chunks.append(take)
            left -= take
        old = new = 1
        for take in chunks:
            ctx_before = [_line(rng) for _ in range(3)]
            removed = [_line(rng) for _ in range(rng.randint(0, take // 3))]
            adds = [_line(rng) for _ in range(take)]
            ctx_after = [_line(rng) for _ in range(3)]
            ol, nl = 6 + len(removed), 6 + take
            out.append(f"@@ -{old},{ol} +{new},{nl} @@ def f{old}():\n")
            out.extend(f" {t}\n" for t in ctx_before)
            out.extend(f"-{t}\n" for t in removed)
            out.extend(f"+{t}\n" for t in adds)
            out.extend(f" {t}\n" for t in ctx_after)
            gap = rng.randint(5, 60)
            old, new = old + ol + gap, new + nl + gap
    return "".join(out).encode()


def _glm_budget() -> Budget:
    slot = Slot(
        name="main",
        provider="zai",
        base_url="https://api.z.ai/api/coding/paas/v4",
        model="glm-5.1",
        api_key=Secret("bench-key-not-used"),
        context_window=200_000,
        max_output_tokens=16_384,
    )
    return Budget.for_slot(slot, prompt_overhead_tokens=3_000)


def run(data: bytes, budget: Budget, repeat: int) -> dict[str, float | int | str]:
    est = TokenEstimator()
    filters = FilterConfig(max_changed_lines=None)
    best = float("inf")
    plan: ReviewPlan | None = None
    files = []
    for _ in range(repeat):
        t0 = time.process_time()
        files = parse_diff(data)
        plan = plan_review(files, budget, est, filters=filters)
        best = min(best, time.process_time() - t0)
    assert plan is not None
    total = plan.coverage_check(files)
    assigned = sum(c.assigned_lines for c in plan.chunks)
    skipped = sum(len(s.changed_lines) for s in plan.skipped)
    return {
        "budget_tokens": budget.tokens,
        "budget": budget.slot or "fixed",
        "files": len(files),
        "added_lines": total,
        "total_tokens": plan.total_tokens,
        "calls": len(plan.chunks),
        "lower_bound": plan.lower_bound,
        "ratio": round(len(plan.chunks) / plan.lower_bound, 3) if plan.lower_bound else 0.0,
        "cpu_s": round(best, 4),
        "coverage_assigned_pct": round(100 * assigned / total, 2),
        "coverage_pct": round(100 * (assigned + skipped) / total, 2),
        "removed_lines_not_shown": plan.removed_lines_not_shown,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    data = synthetic_diff(args.seed)
    budgets = [Budget.fixed(8_000), Budget.fixed(32_000), _glm_budget()]
    rows = [run(data, b, args.repeat) for b in budgets]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        print(json.dumps({"diff_bytes": len(data), "peak_rss_mb": round(peak_mb, 1), "runs": rows}, indent=2))
        return 0
    print(
        f"synthetic diff: {len(data) / 1e6:.2f} MB, {rows[0]['files']} files, "
        f"{rows[0]['added_lines']} added lines"
    )
    head = (
        f"{'budget':>16} {'tokens':>8} {'calls':>6} {'bound':>6} {'ratio':>6} {'cpu s':>7} "
        f"{'assigned':>9} {'covered':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        name = f"{r['budget']}:{r['budget_tokens']}"
        print(
            f"{name:>16} {r['total_tokens']:>8} {r['calls']:>6} {r['lower_bound']:>6} {r['ratio']:>6.3f} "
            f"{r['cpu_s']:>7.3f} {r['coverage_assigned_pct']:>8.2f}% {r['coverage_pct']:>7.2f}%"
        )
    print(f"peak RSS: {peak_mb:.1f} MB (process, incl. interpreter and imports)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
