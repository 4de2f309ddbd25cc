"""The simulator answers ``hunkwise eval --judge``'s question deterministically, by a fixed rule."""

from __future__ import annotations

import json

from hunkwise.catalog.judge_contract import Described, judge_prompt, parse_judge_answer, read_judge_prompt
from hunkwise.sim.model import answer, judge_verdict

FINDING = Described(
    "a.py", 6, 6, "security", "[simulator] Use of eval()/exec() on dynamic input. eval runs code."
)
SAME_CATEGORY = Described("a.py", 6, 6, "security", "The client controls the expression.")
SAME_WORDS = Described("a.py", 6, 6, "bug", "eval runs code from dynamic input")
OTHER = Described("a.py", 7, 7, "error_handling", "The network failure crashes the process.")


def test_the_question_round_trips_through_its_text() -> None:
    prompt = judge_prompt(FINDING, OTHER)
    assert read_judge_prompt(prompt) == (
        Described("a.py", 6, 6, "security", " ".join(FINDING.text.split())),
        OTHER,
    )
    assert read_judge_prompt("please review this diff") is None


def test_fixed_rule_same_category_or_shared_words() -> None:
    assert judge_verdict(FINDING, SAME_CATEGORY)[0] is True
    assert judge_verdict(FINDING, SAME_WORDS)[0] is True
    same, reason = judge_verdict(FINDING, OTHER)
    assert same is False and reason.startswith("[simulator]")


def test_the_reply_is_the_verdict_json_every_time() -> None:
    prompt = judge_prompt(FINDING, OTHER)
    first, second = answer(prompt, json_mode=True), answer(prompt, json_mode=True)
    assert first == second
    assert parse_judge_answer(first.content) is False
    assert json.loads(answer(judge_prompt(FINDING, SAME_CATEGORY), json_mode=True).content)["same"] is True


def test_unreadable_verdicts() -> None:
    assert parse_judge_answer("no json here") is None
    assert parse_judge_answer('{"same": "yes"}') is None
    assert parse_judge_answer('Sure: {"same": true, "reason": "x"} done') is True
