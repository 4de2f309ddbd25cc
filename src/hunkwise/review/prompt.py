"""The review prompt: what we ask the model, and the repair request when its answer is unusable.

The system prompt carries everything that is the same for every chunk of a review (guidance,
severity scale, categories, the answer schema) plus the repository rules that apply to the
chunk's files; the user message is the chunk itself, rendered by the findings contract. Keeping
the variable part small and last lets providers cache the shared prefix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from hunkwise.catalog.findings_contract import CATEGORIES, SEVERITIES, answer_json_schema
from hunkwise.gateway import ChatRequest, Message
from hunkwise.review.rules import Rule
from hunkwise.review.tokens import TokenEstimator

SEVERITY_DEFINITIONS: dict[str, str] = {
    "critical": "exploitable security hole, data loss or corruption, a crash on a main path, "
    "or a leaked secret; must be fixed before merging",
    "high": "a real bug or vulnerability that will bite users under realistic conditions",
    "medium": "a likely bug in an edge case, missing error handling, or a notable performance "
    "or concurrency risk",
    "low": "a minor issue worth a look: unclear code, a missing test or doc for new behaviour",
}

CATEGORY_DEFINITIONS: dict[str, str] = {
    "security": "injection, unsafe eval/deserialization, secrets, authn/authz, crypto misuse",
    "bug": "wrong result, wrong condition, off-by-one, null/None handling, broken contract",
    "performance": "needless quadratic work, N+1 queries, blocking I/O on a hot path",
    "error_handling": "swallowed exceptions, missing checks, wrong error propagation",
    "concurrency": "races, deadlocks, unsafe shared state, missing awaits",
    "maintainability": "dead code, duplication, confusing structure that hides bugs",
    "style": "naming and formatting (only when a repository rule asks for it)",
    "docs": "wrong or missing documentation of new behaviour",
    "tests": "missing or wrong tests for the change",
}

GUIDANCE = """\
You are hunkwise, a senior engineer doing a code review of a change (a diff).
Review ONLY the lines this change adds or modifies: they are marked "+" and carry their
new-file line number on the left. Context lines (no "+") and removed lines ("-") are there to
help you understand the change; never report a finding on them.

How to review:
- Report real problems a careful reviewer would block or flag: bugs, security issues, data
  loss, error handling, concurrency and performance problems, missing tests for risky logic.
- Few, high-signal findings. If the change looks fine, answer with an empty findings list.
- Be specific: name the exact line(s), say what goes wrong and when, and how to fix it.
- No style or formatting nits unless a repository rule below asks for them.
- Do not invent context you cannot see; if something depends on code outside the diff, say so
  in the body and lower your confidence.
- Lines after a "CONTEXT" line, up to the next "@@" hunk header or "FILE:" line, are unchanged
  code around the change from its new revision, shown so you can see the whole function: read
  them, never report a finding on them.
- Cite lines with the new-file numbers shown on the left; "start_line" and "end_line" must be
  lines marked "+". Use the file path exactly as shown after "FILE:".
- "suggestion" (optional) is replacement code for lines start_line..end_line, without diff
  markers or line numbers.
- "confidence" is your probability (0 to 1) that the finding is correct and worth fixing.
"""

ANSWER_INSTRUCTIONS = """\
Answer with ONE JSON object and nothing else (no prose, no code fences), matching this JSON
schema:
"""


def _scale() -> str:
    lines = ["Severity scale (use the lowest that fits):"]
    lines += [f"- {s}: {SEVERITY_DEFINITIONS[s]}" for s in SEVERITIES]
    lines.append("")
    lines.append("Categories:")
    lines += [f"- {c}: {CATEGORY_DEFINITIONS[c]}" for c in CATEGORIES]
    return "\n".join(lines)


def _rules_section(rules: Sequence[Rule]) -> str:
    if not rules:
        return ""
    lines = ["Repository rules (written by this project's maintainers; apply them to matching files):"]
    for i, rule in enumerate(rules, start=1):
        scope = ", ".join(rule.paths)
        sev = f" Report violations as severity {rule.severity}." if rule.severity else ""
        name = f"[{rule.name}] " if rule.name else ""
        lines.append(f"{i}. {name}Files: {scope}. {rule.text}{sev}")
    return "\n".join(lines)


def build_system_prompt(rules: Sequence[Rule] = ()) -> str:
    """The system prompt: guidance, severity scale, the repository's rules and the answer schema, built from
    the same contract the answer parser reads.
    """
    schema = json.dumps(answer_json_schema(), separators=(",", ":"), sort_keys=True)
    parts = [GUIDANCE, _scale()]
    if section := _rules_section(rules):
        parts.append(section)
    parts.append(ANSWER_INSTRUCTIONS + schema)
    return "\n\n".join(parts)


def build_review_request(
    chunk_text: str, rules: Sequence[Rule] = (), *, max_output_tokens: int | None = None, light: bool = False
) -> ChatRequest:
    """The request for one chunk; ``rules`` should already be narrowed to the chunk's files.
    ``light``: the chunk needs no thinking (review/thinking_rule.py; honoured by ``auto`` slots)."""
    user = "Review this change and report findings as JSON.\n\n" + chunk_text
    return ChatRequest(
        messages=(Message("system", build_system_prompt(rules)), Message("user", user)),
        json_mode=True,
        max_output_tokens=max_output_tokens,
        purpose="review",
        light=light,
    )


def build_repair_request(original: ChatRequest, bad_answer: str, problem: str) -> ChatRequest:
    """Ask once more for the JSON only, quoting what was wrong. The original conversation is kept
    so the model can re-derive its findings; the bad answer is truncated to keep the call cheap."""
    shown = bad_answer if len(bad_answer) <= 4000 else bad_answer[:4000] + "\n[... truncated ...]"
    fix = (
        f"Your answer could not be used for this review: {problem}.\n"
        'Reply again with ONLY the JSON object {"findings": [...]} matching the schema in the '
        "instructions: no prose, no code fences, no trailing commas."
    )
    return ChatRequest(
        messages=(*original.messages, Message("assistant", shown), Message("user", fix)),
        json_mode=True,
        max_output_tokens=original.max_output_tokens,
        purpose="repair",
        light=original.light,
    )


def prompt_overhead_tokens(
    estimator: TokenEstimator, rules: Iterable[Rule] = (), *, models: Sequence[str] = ()
) -> int:
    """Tokens a request spends besides the chunk text: the system prompt with every rule (the
    worst case: a chunk may touch every rule's paths), the user preamble, and per-message
    framing. The packer subtracts this from the context window. With ``models``, the estimate
    uses the most token-hungry calibration among them, like the packer does for chunks."""
    request = build_review_request("", tuple(rules))
    framing = 8 * len(request.messages)  # role markers and separators in chat templates
    chars = sum(len(m.content) for m in request.messages)
    ratio = estimator.ratio_for(models) if models else estimator.default_ratio
    return estimator.estimate_chars(chars, ratio) + framing
