"""The simulator's "model": deterministic answers computed from the prompt.

When a prompt carries a diff (the numbered format of :mod:`hunkwise.catalog.findings_contract`
or a raw ``git diff``) and asks for a review, the answer is the findings JSON the review engine
parses, built from the added lines by a few fixed rules. A judge question of ``hunkwise eval
--judge`` (:mod:`hunkwise.catalog.judge_contract`) gets a verdict computed from the two
descriptions by a fixed rule (:func:`judge_verdict`); a verification request gets fixed scores
(:func:`verify_answer`). Everything else gets a short fixed answer.
Every title, body and sentence is marked ``[simulator]`` so no output can pass for an LLM's.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from hunkwise.catalog.findings_contract import ModelAnswer, ModelFinding, iter_added_lines
from hunkwise.catalog.judge_contract import Described, judge_answer, read_judge_prompt

LABEL = "[simulator]"

_STRING_LITERAL = re.compile(r"""(?P<q>["'`])(?P<body>(?:\\.|(?!(?P=q)).)*)(?P=q)""")
_SECRET = re.compile(r"AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_\-]{20,}")
_EVAL = re.compile(r"\b(?:eval|exec)\(")
_BARE_EXCEPT = re.compile(r"^\s*except\s*:")
_TODO = re.compile(r"\b(?:TODO|FIXME)\b")
_WORD = re.compile(r"[a-z][a-z0-9_]{3,}")
JUDGE_OVERLAP = 0.2  # Jaccard similarity of the two texts' words at which the simulator says "same"


@dataclass(frozen=True)
class Reply:
    """What the model says: visible content and (when thinking is on) its reasoning."""

    content: str
    reasoning: str


def _findings_for_line(path: str, line_no: int, text: str) -> list[ModelFinding]:
    found: list[ModelFinding] = []

    def add(severity: str, category: str, title: str, body: str, suggestion: str | None = None) -> None:
        found.append(
            ModelFinding(
                path=path,
                start_line=line_no,
                end_line=line_no,
                severity=severity,  # type: ignore[arg-type]
                category=category,  # type: ignore[arg-type]
                title=f"{LABEL} {title}",
                body=f"{LABEL} {body}",
                suggestion=suggestion,
                confidence=0.9,
            )
        )

    if any(_SECRET.search(m.group("body")) for m in _STRING_LITERAL.finditer(text)):
        add(
            "critical",
            "security",
            "Hard-coded secret in a string literal",
            "This added line contains a string that looks like an access key (AKIA…/sk-…). "
            "Rotate it and load it from the environment or a secret store.",
        )
    if _EVAL.search(text):
        add(
            "high",
            "security",
            "Use of eval()/exec() on dynamic input",
            "eval/exec run arbitrary code; anyone controlling the input controls the process.",
        )
    if _BARE_EXCEPT.search(text):
        add(
            "medium",
            "error_handling",
            "Bare except swallows every error",
            "A bare `except:` also catches KeyboardInterrupt and SystemExit and hides bugs.",
            suggestion=text.replace("except:", "except Exception:", 1),
        )
    if _TODO.search(text):
        add("low", "maintainability", "Unresolved TODO/FIXME", "This line adds a TODO/FIXME marker.")
    return found


def review_answer(prompt: str) -> ModelAnswer | None:
    """Findings for a review prompt, or ``None`` when the prompt is not a review of a diff."""
    if "review" not in prompt.lower():
        return None
    added = list(iter_added_lines(prompt))
    if not added:
        return None
    findings = [f for path, no, text in added for f in _findings_for_line(path, no, text)]
    return ModelAnswer(findings=findings)


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.replace(LABEL, " ").lower()))


def _category(name: str) -> str:
    """``error-handling`` (as datasets write it) and ``error_handling`` (the findings contract's)."""
    return name.strip().lower().replace("-", "_")


def judge_verdict(finding: Described, issue: Described) -> tuple[bool, str]:
    """[simulator] The same problem when both name the same category, or when their texts share
    at least :data:`JUDGE_OVERLAP` of their words (Jaccard, words of four letters or more). A
    fixed rule, not judgement: it makes ``--judge`` testable offline, nothing more."""
    same_category = bool(finding.category) and _category(finding.category) == _category(issue.category)
    a, b = _words(finding.text), _words(issue.text)
    similarity = len(a & b) / len(a | b) if a | b else 0.0
    same = same_category or similarity >= JUDGE_OVERLAP
    why = "same category" if same_category else f"word overlap {similarity:.2f}"
    return same, f"{LABEL} {why} ({'same' if same else 'different'} problem by a fixed rule)"


# The verification pass's prompt heading (hunkwise.review.verification.CANDIDATES_HEADING; the
# simulator sits below the review layer, so the text is repeated and a test keeps them equal).
VERIFY_HEADING = "## Candidate findings to verify"
VERIFY_SYSTEM_START = "You are hunkwise's verifier."  # its system prompt's first words
_CANDIDATE = re.compile(
    r"^### Candidate (\d+)\n(?P<body>.*?)(?=^### Candidate \d+\n|\Z)", re.DOTALL | re.MULTILINE
)
_SEVERITY_LINE = re.compile(r"^severity: (\w+)", re.MULTILINE)
_CITED_LINE = re.compile(r"^\s*\d+ > (?P<code>.*)$", re.MULTILINE)
_COMMENT = re.compile(r"^\s*(?:#|//|/\*|\*|--)")
# A fixed score per severity: the mechanism (batching, thresholds, drop or summary) is what the
# simulator lets a test exercise, not a judgement.
_SEVERITY_SCORE = {"critical": 9, "high": 8, "medium": 6, "low": 3}


def verify_answer(prompt: str) -> str | None:
    """Scores for a verification prompt, or ``None`` when the prompt is not one. A candidate
    whose cited lines are all comments scores 2 (a finding about a comment is rarely a bug)."""
    # By where the prompt starts (the system prompt), never by what it contains: a review of a
    # diff that quotes the heading (hunkwise's own, say) is still a review.
    if not prompt.startswith(VERIFY_SYSTEM_START) or VERIFY_HEADING not in prompt:
        return None
    scores = []
    for m in _CANDIDATE.finditer(prompt[prompt.index(VERIFY_HEADING) :]):
        body = m.group("body")
        severity = _SEVERITY_LINE.search(body)
        cited = [c.group("code") for c in _CITED_LINE.finditer(body)]
        if cited and all(_COMMENT.match(code) for code in cited):
            score, why = 2, "the cited lines are comments only"
        else:
            level = severity.group(1) if severity else "medium"
            score, why = _SEVERITY_SCORE.get(level, 5), f"fixed score for severity {level}"
        scores.append({"id": int(m.group(1)), "score": score, "reason": f"{LABEL} {why}"})
    return json.dumps({"scores": scores})


# The explain request (hunkwise.review.explain; repeated here, a test keeps them equal).
EXPLAIN_SYSTEM_START = "You are hunkwise's explainer."
EXPLAIN_HEADINGS = ("## Finding", "## Code", "## Question")


def explain_answer(prompt: str) -> str | None:
    """[simulator] A fixed-form answer to an explain request: it names the finding's place and
    title, quotes the first line of code it was given, and repeats the question, so a test can
    see that each part reached the model. ``None`` when the prompt is not one."""
    if not prompt.startswith(EXPLAIN_SYSTEM_START) or not all(h in prompt for h in EXPLAIN_HEADINGS):
        return None
    finding_start = prompt.index(EXPLAIN_HEADINGS[0])
    code_start = prompt.index(EXPLAIN_HEADINGS[1], finding_start)
    question_start = prompt.index(EXPLAIN_HEADINGS[2], code_start)
    finding = prompt[finding_start + len(EXPLAIN_HEADINGS[0]) : code_start].strip().splitlines()
    where = finding[0].removeprefix("where: ") if finding else "?"
    title = next((m.group(1) for line in finding if (m := re.search(r"\*\*([^*]+)\*\*\s*$", line))), "")
    # "   10 > text" marks the finding's line; "    9 | text" is context around it
    numbered = [
        re.match(r"\s*\d+ ([>|]) (.*)$", line) for line in prompt[code_start:question_start].splitlines()
    ]
    marked = [m.group(2).strip() for m in numbered if m and m.group(1) == ">"]
    code = marked or [m.group(2).strip() for m in numbered if m and m.group(2).strip()]
    question = " ".join(prompt[question_start + len(EXPLAIN_HEADINGS[2]) :].split())[:300]
    parts = [f"{LABEL} About {f'**{title}** ' if title else ''}at `{where}`."]
    if code:
        parts.append(f"The line in question is `{code[0][:120]}`.")
    parts.append(f'You asked: "{question}". A language model would explain the risk and a fix here.')
    return " ".join(parts)


def _digest(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8", "replace")).hexdigest()[:12]


def answer(prompt: str, *, json_mode: bool) -> Reply:
    """The deterministic reply to a prompt (same prompt, same reply, every time)."""
    digest = _digest(prompt)
    question = read_judge_prompt(prompt)
    if question is not None:
        same, reason = judge_verdict(*question)
        return Reply(content=judge_answer(same, reason), reasoning=f"{LABEL} Fixed judge rule. {reason}")
    if (explained := explain_answer(prompt)) is not None:
        return Reply(content=explained, reasoning=f"{LABEL} Fixed explain form. Prompt digest {digest}.")
    if (scores := verify_answer(prompt)) is not None:
        return Reply(content=scores, reasoning=f"{LABEL} Fixed scores by severity. Prompt digest {digest}.")
    review = review_answer(prompt)
    if review is not None:
        files = {f.path for f in review.findings}
        reasoning = (
            f"{LABEL} Deterministic rule scan (no language model): checked the added lines for "
            f"eval/exec, bare except, secret-like string literals and TODO/FIXME; "
            f"{len(review.findings)} finding(s) in {len(files)} file(s). Prompt digest {digest}."
        )
        return Reply(content=review.model_dump_json(), reasoning=reasoning)
    text = (
        f"{LABEL} This answer comes from the hunkwise offline simulator, not a language model. "
        f"Prompt digest {digest}."
    )
    reasoning = f"{LABEL} No reasoning happens here: the simulator answers every prompt the same way."
    if json_mode:
        return Reply(content=json.dumps({"simulated": True, "answer": text}), reasoning=reasoning)
    return Reply(content=text, reasoning=reasoning)
