"""The ``--dry-run`` view: which requests a review would make, their size and estimated cost.

Plain text on purpose (it is read before deciding to spend money, often in CI logs); the same
numbers are in the JSON report's ``plan`` object.
"""

from __future__ import annotations

from hunkwise.review.report import ReviewReport


def render_plan(report: ReviewReport) -> str:
    """The dry-run plan in words: what would be sent, in how many requests, at what estimated cost, before
    paying for any of it.
    """
    out = ["Review plan (dry run: no model was called)"]
    if report.change.get("summary"):
        out.append(f"Change: {report.change['summary']}")
    if report.source == "offline-simulator":
        out.append("Model: the offline simulator (costs show what GLM-5.1 would charge)")
    if target := report.planned_for:
        priced = "" if target["priced_with"] == target["model"] else f"; priced with {target['priced_with']}"
        out.append(
            f"Planned for {target['model']} ({target['slot']} slot): context window "
            f"{target['context_window']:,} tokens, up to {target['diff_tokens_per_request']:,} diff tokens "
            f"per request{priced}"
        )
    ctx = report.context
    if ctx["mode"] in ("function", "file"):
        what = "enclosing definitions" if ctx["mode"] == "function" else "whole files"
        left = f"; {ctx['left_out']:,} left out for lack of room" if ctx["left_out"] else ""
        out.append(f"Code context ({ctx['mode']}): {ctx['lines']:,} line(s) of {what}{left}")
    elif ctx["mode"] == "none":
        out.append("Code context (none): changed lines only, without the diff's unchanged lines")
    total_lines = sum(p.lines for p in report.plan)
    out.append(
        f"{len(report.plan)} request(s) covering {total_lines} changed line(s); "
        f"~{report.estimated_input_tokens:,} input tokens; estimated cost ${report.estimated_cost_usd:.4f}"
    )
    if report.max_cost is not None:
        verdict = (
            "the estimate is above it: a real run would stop before the first request"
            if report.over_max_cost
            else "the estimate is within it"
        )
        out.append(f"Cost ceiling {report.max_cost.describe()}; {verdict}")
    out.append("")
    for p in report.plan:
        paths = ", ".join(p.paths[:4]) + (f" (+{len(p.paths) - 4} more)" if len(p.paths) > 4 else "")
        out.append(
            f"  #{p.index:<3} {p.lines:>5} line(s) {p.estimated_input_tokens:>8,} in "
            f"+ {p.estimated_output_tokens:,} out tokens  ${p.estimated_cost_usd:.4f}  {paths}"
        )
        if p.thinking:
            out.append(f"        thinking {p.thinking}")
    if report.skipped:
        out.append("")
        out.append(f"Skipped {report.skipped_lines} changed line(s):")
        for s in report.skipped:
            out.append(f"  {s.path}: {s.lines} line(s), {s.rule}" + (f" ({s.detail})" if s.detail else ""))
    return "\n".join(out) + "\n"
