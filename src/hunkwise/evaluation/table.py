"""The side-by-side table: one column per configuration, one row per figure, as Markdown.

Markdown because the table's natural destination is a pull request or an issue comparing two
settings; Rich renders it (``box.MARKDOWN``) so the columns line up in a terminal too. The first
line says what produced the figures: the offline simulator's numbers measure the pipeline, never
a model, and must not be mistaken for one.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from hunkwise.evaluation.runner import EvalResult

_SOURCE_LINE = {
    "simulator": "figures from the offline simulator (a fixed rule scan, not a language model)",
    "replay": "figures from recorded answers (--replay: no model was called)",
    "llm": "figures from the configured models",
}


def _num(value: float | None, fmt: str = "{:.3f}") -> str:
    return "—" if value is None else fmt.format(value)


def _usd(value: float | None) -> str:
    return "—" if value is None else f"${value:.4f}"


def _counts(c: dict[str, Any]) -> str:
    return f"{c['true_positives']} / {c['false_positives']} / {c['false_negatives']}"


def _clean(c: dict[str, Any]) -> str:
    return f"{c['clean_false_positives']} in {c['clean_cases_flagged']} of {c['clean_cases']}"


def _latency(c: dict[str, Any]) -> str:
    return f"{_num(c['latency_s']['p50'], '{:.2f}s')} / {_num(c['latency_s']['p95'], '{:.2f}s')}"


def _rows(simulated: bool) -> list[tuple[str, Callable[[dict[str, Any]], str]]]:
    cost_note = " (simulated)" if simulated else ""
    return [
        ("precision", lambda c: _num(c["precision"])),
        ("recall", lambda c: _num(c["recall"])),
        ("F1", lambda c: _num(c["f1"])),
        ("TP / FP / FN", _counts),
        ("cases (incomplete)", lambda c: f"{c['cases']} ({c['incomplete_cases']})"),
        ("findings per case", lambda c: _num(c["findings_per_case"], "{:.2f}")),
        ("false positives on clean cases", _clean),
        ("tokens in / out", lambda c: f"{c['tokens']['input']:,} / {c['tokens']['output']:,}"),
        (f"cost{cost_note}", lambda c: _usd(c["cost_usd"])),
        (f"cost per true positive{cost_note}", lambda c: _usd(c["cost_per_true_positive_usd"])),
        ("latency p50 / p95 per case", _latency),
        ("failovers", lambda c: str(c["failovers"])),
    ]


def _verification(c: dict[str, Any]) -> str:
    tokens = c["verification"]["tokens"]
    return f"{tokens['input']:,} / {tokens['output']:,}"


def _judge_calls(c: dict[str, Any]) -> str:
    return f"{c['judged']['calls']} ({c['judged']['unreadable_verdicts']})"


def _judged_rows() -> list[tuple[str, Callable[[dict[str, Any]], str]]]:
    return [
        ("judged precision", lambda c: _num(c["judged"]["precision"])),
        ("judged recall", lambda c: _num(c["judged"]["recall"])),
        ("judged F1", lambda c: _num(c["judged"]["f1"])),
        (
            "judge calls (unreadable)",
            lambda c: f"{c['judged']['calls']} ({c['judged']['unreadable_verdicts']})",
        ),
        ("judge cost", lambda c: _usd(c["judged"]["cost_usd"])),
    ]


def render_markdown(result: EvalResult, *, width: int = 160) -> str:
    doc = result.as_dict()
    simulated = doc["simulated"]
    configs = doc["configs"]
    table = Table(box=box.MARKDOWN, show_edge=True, pad_edge=True)
    table.add_column("figure")
    for c in configs:
        table.add_column(c["name"], justify="right")
    rows = _rows(simulated)
    if any(c["verification"]["tokens"]["input"] for c in configs):
        rows.insert(8, ("of which verification, in / out", _verification))
    rows += _judged_rows() if result.judge else []
    for label, cell in rows:
        table.add_row(label, *(cell(c) for c in configs))
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, highlight=False)
    judge = f"; judge: {result.judge}" if result.judge else ""
    console.print(
        f"hunkwise eval: {doc['cases']} case(s) from {doc['dataset']}, line tolerance ±{doc['tolerance']}; "
        f"{_SOURCE_LINE.get(result.source, result.source)}{judge}",
        markup=False,
        soft_wrap=True,
    )
    console.print(table)  # its (empty) top edge is the blank line under the heading
    for c in configs:
        console.print(f"{c['name']}: {', '.join(c['models'])} (config {c['config_hash']})", markup=False)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
