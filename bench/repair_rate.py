"""Benchmark: how many near-JSON answers need the repair request (one extra model call).

Real models wrap, bend and cut their JSON: fences and prose around it, trailing commas,
``//`` and ``/* */`` comments, single quotes and Python literals (``True``/``None``), unquoted keys
as in JavaScript, missing commas between objects, typographic quotes, other field names, and
answers cut off by the output limit. This script renders the same findings in each of those
shapes (alone and combined) and runs :func:`hunkwise.review.answer.parse_answer` on every
answer. Outcomes:

- ``read``: every finding read, exactly as intended;
- ``repair``: the parser asks for a repair request (``AnswerParseError``): one more call;
- ``wrong``: findings read, but not the intended ones (a silent loss: must stay 0).

A truncated answer must come out as ``repair``: the findings after the cut are lost, so the model
is asked again even when the beginning could be read.

    .venv/bin/python bench/repair_rate.py [--json] [--show-repairs]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from collections.abc import Callable

from hunkwise.review.answer import AnswerParseError, parse_answer

FINDINGS: list[dict[str, object]] = [
    {
        "path": "src/orders/handlers.py",
        "start_line": 42,
        "end_line": 44,
        "severity": "high",
        "category": "security",
        "title": "SQL built with an f-string from request input",
        "body": '`f"SELECT * FROM orders WHERE id = {order_id}"` lets a caller inject SQL; use a '
        "bound parameter (`cursor.execute(sql, (order_id,))`).",
        "suggestion": 'cursor.execute("SELECT * FROM orders WHERE id = %s", (order_id,))',
        "confidence": 0.9,
    },
    {
        "path": "web/src/cart.ts",
        "start_line": 17,
        "end_line": 17,
        "severity": "medium",
        "category": "bug",
        "title": "Effect never re-runs: empty dependency list",
        "body": "`useEffect(() => { load(items[0]); }, []);` reads `items` but lists no dependency, "
        "so a new cart keeps the first cart's totals. It's an easy one to miss.",
        "confidence": 0.7,
    },
    {
        "path": "internal/cache/lru.go",
        "start_line": 88,
        "end_line": 91,
        "severity": "high",
        "category": "concurrency",
        "title": "Map written without the mutex held",
        "body": "`c.items[key] = v` runs after `c.mu.Unlock()`; concurrent Set calls race "
        '(go test -race reports it). Path "C:\\tmp" aside, move the write before Unlock.',
        "confidence": 0.8,
    },
]

PROSE_BEFORE = (
    "I reviewed the diff. The main risks are in the handlers (look at `files[0]` and {order_id}).\n\n"
)
PROSE_AFTER = "\n\nLet me know if you want fixes for the other files as well."


def _json(findings: list[dict[str, object]], *, indent: int | None = 2) -> str:
    return json.dumps({"findings": findings}, indent=indent, ensure_ascii=False)


def _py_repr(findings: list[dict[str, object]]) -> str:
    """What a model imitating Python writes: repr() of the dict (single quotes, True/None)."""
    return repr({"findings": [dict(f, needs_fix=True, ticket=None) for f in findings]})


def _unquoted_keys(text: str) -> str:
    return re.sub(r'"([a-z_]+)":', r"\1:", text)


def _trailing_commas(text: str) -> str:
    return re.sub(r"(\n\s*[}\]])", r",\1", text).replace("{,", "{").replace("[,", "[")


def _comments(text: str) -> str:
    out = text.replace('"findings": [', '"findings": [ // ordered by severity', 1)
    return out.replace('"severity":', '/* how bad */ "severity":')


def _missing_commas(text: str) -> str:
    return text.replace("},\n    {", "}\n    {")


def _smart_quotes(text: str) -> str:
    """Typographic quotes around keys and values (word processors, some chat front ends)."""
    return re.sub(r'"([a-z_]+)":', "\u201c\\1\u201d:", text)


def _aliases(findings: list[dict[str, object]]) -> str:
    renamed = [
        {"file": f["path"], "line": f["start_line"], "priority": f["severity"], "message": f["title"]}
        | {"type": f["category"], "description": f["body"]}
        for f in findings
    ]
    return json.dumps({"issues": renamed}, indent=2)


def _fenced(text: str, info: str = "json") -> str:
    return f"{PROSE_BEFORE}```{info}\n{text}\n```{PROSE_AFTER}"


def _truncate(text: str) -> str:
    return text[: int(len(text) * 0.7)]


Shape = Callable[[list[dict[str, object]]], str]
SHAPES: dict[str, Shape] = {
    "plain JSON": lambda f: _json(f),
    "fenced, prose around": lambda f: _fenced(_json(f)),
    "one line, prose around": lambda f: PROSE_BEFORE + _json(f, indent=None) + PROSE_AFTER,
    "trailing commas": lambda f: _trailing_commas(_json(f)),
    "// and /* */ comments": lambda f: _comments(_json(f)),
    "single quotes + True/None (Python repr)": _py_repr,
    "unquoted keys (JavaScript)": lambda f: _unquoted_keys(_json(f)),
    "missing commas between findings": lambda f: _missing_commas(_json(f)),
    "typographic quotes on keys": lambda f: _smart_quotes(_json(f)),
    "other field names": _aliases,
    "fenced + trailing commas + comments": lambda f: _fenced(_comments(_trailing_commas(_json(f)))),
    "fenced + Python repr": lambda f: _fenced(_py_repr(f), "python"),
    "fenced + unquoted keys + trailing commas": lambda f: _fenced(_unquoted_keys(_trailing_commas(_json(f)))),
    "truncated (must ask again)": lambda f: _truncate(_json(f)),
    "fenced, truncated (must ask again)": lambda f: _fenced(_truncate(_json(f)))[: -len(PROSE_AFTER) - 4],
}
MUST_REPAIR = {"truncated (must ask again)", "fenced, truncated (must ask again)"}
SUBSETS = [FINDINGS[:1], FINDINGS[:2], FINDINGS, [FINDINGS[2], FINDINGS[0]]]


def _key(finding: dict[str, object]) -> tuple[object, ...]:
    return (finding.get("path") or finding.get("file"), finding.get("start_line") or finding.get("line"))


def run() -> dict[str, dict[str, int]]:
    results: dict[str, dict[str, int]] = {}
    for name, shape in SHAPES.items():
        counts = {"read": 0, "repair": 0, "wrong": 0}
        for subset in SUBSETS:
            text = shape(subset)
            try:
                answer = parse_answer(text)
            except AnswerParseError:
                counts["repair"] += 1
                continue
            got = sorted((f.path, f.start_line) for f in answer.findings)
            want = sorted(_key(f) for f in subset)
            ok = got == want and name not in MUST_REPAIR
            counts["read" if ok else "wrong"] += 1
        results[name] = counts
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    started = time.process_time()
    results = run()
    cpu = time.process_time() - started
    total = sum(sum(c.values()) for c in results.values())
    needless = sum(c["repair"] for n, c in results.items() if n not in MUST_REPAIR)
    expected = sum(sum(c.values()) for n, c in results.items() if n in MUST_REPAIR)
    wrong = sum(c["wrong"] for c in results.values())
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = {
        "answers": total,
        "repair_requests": sum(c["repair"] for c in results.values()),
        "needless_repair_requests": needless,
        "truncated_answers": expected,
        "wrong": wrong,
        "repair_rate": round(sum(c["repair"] for c in results.values()) / total, 3),
        "needless_repair_rate": round(needless / (total - expected), 3),
        "cpu_s": round(cpu, 3),
        "peak_rss_mb": round(rss_mb, 1),
    }
    if args.json:
        print(json.dumps({"shapes": results, "summary": summary}, indent=2))
        return
    print(f"{'shape':<45} {'read':>5} {'repair':>7} {'wrong':>6}")
    for name, c in results.items():
        print(f"{name:<45} {c['read']:>5} {c['repair']:>7} {c['wrong']:>6}")
    print(
        f"\n{total} answers: {summary['repair_requests']} repair requests "
        f"({summary['truncated_answers']} truncated answers must ask again; "
        f"{needless} needless = {summary['needless_repair_rate']:.1%} of the others), "
        f"{wrong} wrong; CPU {cpu:.3f} s; peak RSS {rss_mb:.1f} MB"
    )


if __name__ == "__main__":
    main()
