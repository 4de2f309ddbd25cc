"""Start-up cost of the ``hunkwise`` command: wall time and peak RSS of short invocations.

``hunkwise review --offline`` runs in pre-commit hooks, where every commit waits for it, so its
start-up (interpreter, imports, simulator) is most of what the user feels. Each case runs the
installed console script as a child process N times and prints the median and the fastest wall
time, and the child's peak RSS (``os.wait4`` gives each child's own ``ru_maxrss``, so one case's
memory is not mixed with another's).

Cases: ``--version``, ``--help``, and ``review --offline --diff`` of a one-file change (the first
file of ``examples/sample.diff``). Target (issue 12): the offline one-file review in 0.5 s.

    .venv/bin/python bench/startup.py [--runs 7] [--hunkwise PATH] [--json]

The machine is shared and noisy: the median is the figure to quote; the RSS is stable.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.5


def one_file_diff() -> str:
    """The first file of the sample change: a realistic pre-commit-sized diff."""
    text = (ROOT / "examples" / "sample.diff").read_text()
    parts = text.split("diff --git ")
    return "diff --git " + parts[1]


def measure(argv: list[str], env: dict[str, str], runs: int) -> dict[str, float | int]:
    """Median and best wall seconds over ``runs`` runs, and the largest peak RSS (MB) of one run."""
    walls: list[float] = []
    rss_kib = 0
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - started)
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        if proc.returncode not in (0, 1):
            sys.exit(f"{' '.join(argv)} exited {proc.returncode}: {stderr[-2000:]}")
        rss_kib = max(rss_kib, usage.ru_maxrss)  # KiB on Linux
    return {
        "median_s": round(statistics.median(walls), 3),
        "best_s": round(min(walls), 3),
        "peak_rss_mb": round(rss_kib / 1024, 1),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="Runs per case (default 7).")
    ap.add_argument(
        "--hunkwise",
        default=str(Path(sys.executable).with_name("hunkwise")),
        help="The console script to time (default: the one next to this Python).",
    )
    ap.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")
    args = ap.parse_args(argv)
    exe = args.hunkwise
    with tempfile.TemporaryDirectory() as tmp:
        diff = Path(tmp, "one-file.diff")
        diff.write_text(one_file_diff())
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUNKWISE_")}
        env |= {"HUNKWISE_HOME": str(Path(tmp, "home")), "NO_COLOR": "1"}
        cases = {
            "--version": [exe, "--version"],
            "--help": [exe, "--help"],
            "review --offline (1 file)": [exe, "review", "--offline", "--quiet", "--diff", str(diff)],
        }
        results = {name: measure(cmd, env, args.runs) for name, cmd in cases.items()}
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{'case':<28}{'median s':>10}{'best s':>9}{'peak RSS MB':>13}")
    for name, r in results.items():
        print(f"{name:<28}{r['median_s']:>10.3f}{r['best_s']:>9.3f}{r['peak_rss_mb']:>13.1f}")
    review = results["review --offline (1 file)"]["median_s"]
    verdict = "OK" if review <= TARGET_S else "OVER"
    print(f"target: review --offline (1 file) median <= {TARGET_S} s: {verdict} ({args.runs} runs each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
