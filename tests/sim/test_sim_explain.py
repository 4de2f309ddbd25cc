"""The simulator's explain answer (sim/model.explain_answer) reads the prompt hunkwise builds
(review/explain.py): the two repeat the system prompt and headings, and a test keeps them equal."""

from __future__ import annotations

from hunkwise.review import explain
from hunkwise.sim import model as sim_model


def test_sim_and_prompt_agree() -> None:
    assert explain.SYSTEM_PROMPT.startswith(sim_model.EXPLAIN_SYSTEM_START)
    assert sim_model.EXPLAIN_HEADINGS == (
        explain.FINDING_HEADING,
        explain.CODE_HEADING,
        explain.QUESTION_HEADING,
    )


def test_the_answer_names_the_finding_its_line_and_the_question() -> None:
    request = explain.build_explain_request(
        question="why is this risky?",
        finding="🛑 **CRITICAL** · security · **eval on user input**\n\nbody",
        path="app.py",
        line=3,
        code=[(2, "x = 1"), (3, "y = eval(data)"), (4, "return y")],
    )
    prompt = "\n".join(m.content for m in request.messages)
    text = sim_model.answer(prompt, json_mode=False).content
    assert "**eval on user input**" in text and "`app.py:3`" in text
    assert "`y = eval(data)`" in text and "why is this risky?" in text
    assert request.purpose == "explain" and request.max_output_tokens == explain.MAX_OUTPUT_TOKENS


def test_other_prompts_are_not_explain_answers() -> None:
    assert sim_model.explain_answer("Review this diff ## Finding ## Code ## Question") is None
