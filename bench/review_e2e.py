"""End-to-end review of a 20,000-changed-line diff through the real CLI: wall time and peak RSS.

Runs ``hunkwise review --offline --diff FILE --format json`` as a child process (the offline
simulator plays the model inside that process, so its memory counts too) on the same synthetic
300-file change as ``bench/packing.py``, and prints: wall seconds, model calls, files and lines
reviewed, lines skipped, findings, and the child's peak RSS. Target: peak RSS < 200 MB.

The machine is noisy (2 shared cores): wall time is indicative; RSS and counts are stable.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from packing import synthetic_diff  # a sibling bench script, not a package

HUNKWISE = Path(sys.executable).with_name("hunkwise")


def _count(value: int | list) -> int:
    return value if isinstance(value, int) else len(value)


def run(seed: int) -> dict[str, float | int]:
    data = synthetic_diff(seed)
    with tempfile.TemporaryDirectory() as tmp:
        diff = Path(tmp, "change.diff")
        diff.write_bytes(data)
        env = {**os.environ, "HUNKWISE_HOME": str(Path(tmp, "home"))}
        started = time.perf_counter()
        proc = subprocess.run(
            [str(HUNKWISE), "review", "--offline", "--quiet", "--diff", str(diff), "--format", "json"],
            capture_output=True,
            env=env,
            check=False,
        )
        wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"review failed with exit {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    report = json.loads(proc.stdout)
    summary, usage = report["summary"], report["usage"]
    skipped = sum(_count(s.get("lines", 0)) for s in summary["skipped"])
    # ru_maxrss is in KiB on Linux: the largest child we waited for, i.e. the review process.
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "diff_bytes": len(data),
        "wall_s": round(wall, 2),
        "calls": usage["calls"],
        "files_reviewed": summary["files_reviewed"],
        "lines_reviewed": summary["lines_reviewed"],
        "skipped_lines": skipped,
        "failed_chunks": _count(summary["failed_chunks"]),
        "findings": summary["findings"],
        "peak_rss_mb": round(rss_mb, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    result = run(args.seed)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>16}  {value}")
        verdict = "OK" if result["peak_rss_mb"] < 200 else "OVER"
        print(f"{'target':>16}  peak RSS < 200 MB: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
