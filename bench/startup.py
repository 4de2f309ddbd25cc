"""Start-up cost of the ``hunkwise`` command: wall time and peak RSS of short invocations.

``hunkwise review --offline`` runs in pre-commit hooks, where every commit waits for it, so its
start-up (interpreter, imports, simulator) is most of what the user feels. Each case runs the
installed console script as a child process N times and prints the median and the fastest wall
time, the median CPU time (user + system: steadier than wall time when other processes share the
cores), and the child's peak RSS (``os.wait4`` gives each child's own rusage, so one case's memory
is not mixed with another's).

Cases: ``--version``, ``--help``, and ``review --offline --diff`` of a one-file change (the first
file of ``examples/sample.diff``). Target (issue 12): the offline one-file review in 0.5 s.

    .venv/bin/python bench/startup.py [--runs 7] [--hunkwise PATH ...] [--imports] [--json]

``--imports`` also runs each case ``--runs`` more times under ``PYTHONPROFILEIMPORTTIME=1`` and
prints the fastest total of its imports (the top-level rows' cumulative times; the profiler's own
overhead makes it larger than the imports' share of the CPU figure, but it moves with it).

Several ``--hunkwise`` scripts (say, a checkout of main's and this branch's) are run interleaved,
run by run, so that a before/after comparison sees the same machine load. The machine is shared
and noisy: the median is the figure to quote; the RSS is stable.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (KiB) and the standard error of one
    run of ``argv``; exits on a failed run."""
    # Standard error goes to a file, not a pipe: an import-time profile is larger than a pipe's
    # buffer, and a child blocked writing to it would never exit while we wait for it.
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env) as proc:
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not all children's
            wall = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}: {stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, stderr  # KiB on Linux


def import_ms(profile: str) -> float:
    """Total import time of a ``PYTHONPROFILEIMPORTTIME`` profile: the sum of the cumulative
    times of its top-level rows (a nested row's time is already in its parent's)."""
    total_us = 0
    for line in profile.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S)", line)
        if match:
            total_us += int(match.group(1))
    return total_us / 1000


def summary(samples: list[tuple[float, float, int]], imports: list[float]) -> dict[str, float | int]:
    walls = [w for w, _, _ in samples]
    result: dict[str, float | int] = {
        "median_s": round(statistics.median(walls), 3),
        "best_s": round(min(walls), 3),
        "cpu_s": round(statistics.median(c for _, c, _ in samples), 3),
        "peak_rss_mb": round(max(r for _, _, r in samples) / 1024, 1),
        "runs": len(samples),
    }
    if imports:
        result["import_ms"] = round(min(imports), 1)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="Runs per case (default 7).")
    ap.add_argument(
        "--hunkwise",
        action="append",
        help="A console script to time; repeat to compare (default: the one next to this Python).",
    )
    ap.add_argument(
        "--imports", action="store_true", help="Also time each case's imports (PYTHONPROFILEIMPORTTIME)."
    )
    ap.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")
    args = ap.parse_args(argv)
    exes = args.hunkwise or [str(Path(sys.executable).with_name("hunkwise"))]
    results: dict[str, dict[str, dict[str, float | int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        diff = Path(tmp, "one-file.diff")
        diff.write_text(one_file_diff())
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUNKWISE_")}
        env["NO_COLOR"] = "1"
        # Byte code as an installed package has it: pip compiles every module at install time,
        # and an editable checkout caches it on the first run. These machines export
        # PYTHONDONTWRITEBYTECODE=1, which made every timed run compile hunkwise's ~100 modules
        # from source again (~0.1-0.25 s of CPU that no user pays); the warm-up run below writes
        # the cache.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cases = {
            "--version": ["--version"],
            "--help": ["--help"],
            "review --offline (1 file)": ["review", "--offline", "--quiet", "--diff", str(diff)],
        }
        for exe_no, exe in enumerate(exes):  # one ledger per script: a warm one, as in daily use
            home = {**env, "HUNKWISE_HOME": str(Path(tmp, f"home{exe_no}"))}
            run_once([exe, *cases["review --offline (1 file)"]], home)
        for name, case in cases.items():
            samples: dict[str, list[tuple[float, float, int]]] = {exe: [] for exe in exes}
            imports: dict[str, list[float]] = {exe: [] for exe in exes}
            for _ in range(args.runs):
                for exe_no, exe in enumerate(exes):
                    home = {**env, "HUNKWISE_HOME": str(Path(tmp, f"home{exe_no}"))}
                    samples[exe].append(run_once([exe, *case], home)[:3])
                    if args.imports:
                        profiled = {**home, "PYTHONPROFILEIMPORTTIME": "1"}
                        imports[exe].append(import_ms(run_once([exe, *case], profiled)[3]))
            for exe in exes:
                results.setdefault(exe, {})[name] = summary(samples[exe], imports[exe])
    if args.json:
        print(json.dumps(results))
        return 0
    for exe, cases_done in results.items():
        print(exe)
        head = f"  {'case':<28}{'median s':>10}{'best s':>9}{'CPU s':>8}{'peak RSS MB':>13}"
        print(head + (f"{'imports ms':>12}" if args.imports else ""))
        for name, r in cases_done.items():
            wall = f"{r['median_s']:>10.3f}{r['best_s']:>9.3f}"
            imported = f"{r['import_ms']:>12.1f}" if "import_ms" in r else ""
            print(f"  {name:<28}{wall}{r['cpu_s']:>8.3f}{r['peak_rss_mb']:>13.1f}{imported}")
        review = cases_done["review --offline (1 file)"]["median_s"]
        verdict = "OK" if review <= TARGET_S else "OVER"
        print(f"  target: review --offline (1 file) median <= {TARGET_S} s: {verdict} ({args.runs} runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
