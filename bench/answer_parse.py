"""Benchmark: ``parse_answer`` on realistic and hostile answers, from 20 KB to 3 MB.

Prints, per shape: characters, CPU seconds (time.process_time, best of N), and the outcome
(findings read, or the start of the parse error). The parser reads at most 1,000,000 characters
of an answer and its work is linear in them; target: every shape, even 3 MB of brackets, well
under 1 s.

    .venv/bin/python bench/answer_parse.py [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable

from hunkwise.review.answer import AnswerParseError, parse_answer

FINDING = {
    "path": "src/app/handlers/orders.py",
    "start_line": 15,
    "end_line": 16,
    "severity": "high",
    "category": "bug",
    "title": "Stale dependency list: `}, []);` never re-runs the effect",
    "body": "setResults([]); runs once; files[0] may be missing. " * 3,
    "suggestion": "  }, [query]);",
}


def _answer(findings: int) -> str:
    prose = "Looking at `useEffect(() => {...}, []);` and files[0] first.\n```js\nsetResults([]);\n\n"
    return prose + "```json\n" + json.dumps({"findings": [FINDING] * findings}, indent=2) + "\n```\n"


SHAPES: dict[str, Callable[[], str]] = {
    "prose + fenced answer, 40 findings": lambda: _answer(40),
    "prose + fenced answer, 2,000 findings": lambda: _answer(2_000),
    "3 MB answer (cut at 1,000,000)": lambda: _answer(8_000),
    '3 MB of "{ [ \\"a\\" , "': lambda: '{ [ "a" , ' * 300_000,
    "3 MB of '['": lambda: "[" * 3_000_000,
    "3 MB of '{\"a\": '": lambda: '{"a": ' * 500_000,
    "3 MB of escaped quotes": lambda: '["a\\"' * 600_000,
    "3 MB of '[]'": lambda: "[]" * 1_500_000,
    "3 MB of '\\{\"a\": [[['": lambda: '\\{"a": [[[' * 300_000,
    "3 MB of prose": lambda: "word " * 600_000,
    "1 MB of near-JSON findings (each one repaired)": lambda: (
        '{"path": "a.py", "line": 3 "message": "missing comma"} ' * 18_000
    ),
    "1 MB near-JSON list (one 1 MB value, too big to repair)": lambda: (
        '{"findings": [' + '{"path": "a.py", "line": 3 "message": "missing comma"},' * 18_000 + "]}"
    ),
}


def _run(text: str) -> str:
    try:
        return f"{len(parse_answer(text).findings)} findings"
    except AnswerParseError as exc:
        return f"error: {str(exc)[:60]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for name, make in SHAPES.items():
        text = make()
        best = float("inf")
        outcome = ""
        for _ in range(args.repeat):
            t0 = time.process_time()
            outcome = _run(text)
            best = min(best, time.process_time() - t0)
        rows.append({"shape": name, "chars": len(text), "cpu_s": round(best, 3), "outcome": outcome})
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        print(json.dumps({"rows": rows, "peak_rss_mb": round(rss_mb, 1)}, indent=2))
        return
    print(f"{'shape':42} {'chars':>10} {'CPU s':>7}  outcome")
    for r in rows:
        print(f"{r['shape']:42} {r['chars']:>10,} {r['cpu_s']:>7.3f}  {r['outcome']}")
    print(f"peak RSS: {rss_mb:.1f} MB")


if __name__ == "__main__":
    main()
