"""The simulator's deterministic reviewer and tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import openai

from hunkwise.catalog.findings_contract import ModelAnswer, render_file_header, render_line
from hunkwise.sim.model import answer, review_answer
from hunkwise.sim.tokens import count_messages, count_tokens
from simkeys import CODING_MAX_KEY

SECRET = "AKIA" + "ABCDEFGHIJKLMNOP"


def _numbered_prompt() -> str:
    lines = [
        "Review the following change. Answer with the findings JSON.",
        render_file_header("svc/app.py", "python"),
        "@@ -10,3 +10,7 @@ def handler(request):",
        render_line(" ", "def handler(request):", 10),
        render_line("-", "    return run(request)", None),
        render_line("+", "    result = eval(request.body)", 11),
        render_line("+", "    try:", 12),
        render_line("+", "        save(result)", 13),
        render_line("+", "    except:", 14),
        render_line("+", f'    KEY = "{SECRET}"  # TODO rotate', 15),
        render_line(" ", "    return result", 16),
    ]
    return "\n".join(lines)


def test_numbered_diff_findings_are_anchored_to_the_added_lines() -> None:
    result = review_answer(_numbered_prompt())
    assert result is not None
    got = [(f.start_line, f.end_line, f.severity, f.category) for f in result.findings]
    assert got == [
        (11, 11, "high", "security"),
        (14, 14, "medium", "error_handling"),
        (15, 15, "critical", "security"),
        (15, 15, "low", "maintainability"),
    ]
    assert all(f.path == "svc/app.py" and f.title.startswith("[simulator]") for f in result.findings)
    assert all(f.body.startswith("[simulator]") for f in result.findings)


def test_raw_git_diff_is_reviewed_too() -> None:
    diff = "\n".join(
        [
            "please review this diff",
            "diff --git a/lib/x.js b/lib/x.js",
            "--- a/lib/x.js",
            "+++ b/lib/x.js",
            "@@ -1,2 +5,3 @@",
            " const a = 1;",
            '+const token = "sk-' + "a" * 24 + '";',
            " module.exports = a;",
        ]
    )
    result = review_answer(diff)
    assert result is not None
    assert [(f.path, f.start_line, f.severity) for f in result.findings] == [("lib/x.js", 6, "critical")]


def test_secret_outside_a_string_literal_is_not_flagged() -> None:
    prompt = "review\nFILE: a.py\n" + render_line("+", f"# {SECRET}", 3)
    assert review_answer(prompt) == ModelAnswer(findings=[])


def test_non_review_prompts_get_a_labelled_fixed_answer() -> None:
    assert review_answer("what is the weather") is None
    one, two = answer("hello", json_mode=False), answer("hello", json_mode=False)
    assert one == two and one.content.startswith("[simulator]")
    assert json.loads(answer("hello", json_mode=True).content)["simulated"] is True


def test_review_over_http_returns_parseable_findings(sim) -> None:
    client = openai.OpenAI(api_key=CODING_MAX_KEY, base_url=sim.zai_coding_url, max_retries=0, timeout=10)
    r = client.chat.completions.create(
        model="glm-5.1", messages=[{"role": "user", "content": _numbered_prompt()}]
    )
    parsed = ModelAnswer.model_validate_json(r.choices[0].message.content or "")
    assert len(parsed.findings) == 4
    assert r.usage and r.usage.completion_tokens > count_tokens(r.choices[0].message.content or "")


def test_tokens_are_deterministic_monotone_and_not_chars_over_4() -> None:
    code = Path(__file__).read_text()
    assert count_tokens(code) == count_tokens(code)
    assert count_tokens(code + "\nx = 1\n") > count_tokens(code)
    ratio = len(code) / count_tokens(code)
    assert 2.5 < ratio < 3.8  # code: ~3.3 chars per token, unlike the naive 4
    assert count_tokens("") == 0 and count_tokens(" ") == 1
    assert count_messages(["hi"]) == count_tokens("hi") + 4 + 3
