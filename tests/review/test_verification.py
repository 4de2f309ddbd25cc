"""The verification pass's own parts (issue 13 item 5): the request, reading scores, the
simulator's deterministic verifier, and the flags and settings through ``hunkwise review``.
The pass inside the engine is exercised in test_engine.py against the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hunkwise.cli.app import app
from hunkwise.review.findings import Finding
from hunkwise.review.verification import (
    CANDIDATES_HEADING,
    SYSTEM_PROMPT,
    VerifyOptions,
    build_verify_request,
    parse_scores,
)
from hunkwise.sim import model as sim_model

SAMPLE = Path(__file__).parents[2] / "examples" / "sample.diff"


def finding(line: int, severity: str = "high", title: str = "t") -> Finding:
    return Finding("a.py", line, line, severity, "bug", title, body="why")  # type: ignore[arg-type]


CODE = {"a.py": {n: f"line_{n} = {n}" for n in range(1, 30)} | {20: "# TODO: tidy"}}


def test_the_request_shows_each_candidate_with_its_code() -> None:
    request = build_verify_request([finding(5), finding(20, "low")], CODE, first_id=13)
    system, user = (m.content for m in request.messages)
    assert request.purpose == "verify" and request.json_mode
    assert request.max_output_tokens == 100 + 60 * 2
    assert '{"scores": [{"id": <candidate id>' in system
    assert user.startswith(CANDIDATES_HEADING)
    assert "### Candidate 13\nFILE: a.py lines 5" in user and "### Candidate 14" in user
    assert "    5 > line_5 = 5" in user and "    2   line_2 = 2" in user and "    9   line_9" not in user
    assert (
        "(the cited lines are not in the diff)"
        in build_verify_request([finding(99)], CODE).messages[1].content
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"scores": [{"id": 1, "score": 7, "reason": "real"}, {"id": 2, "score": 2}]}',
            {1: (7, "real"), 2: (2, "")},
        ),
        ('[{"id": "1", "score": "8/10"}]', {1: (8, "")}),
        ("{scores: [{id: 1, score: 12,}, {id: 2, score: -3}]} // near-JSON", {1: (10, ""), 2: (0, "")}),
        ('{"scores": [{"id": 9, "score": 5}, {"id": 1, "score": true}, {"id": 2, "score": "high"}]}', {}),
        ("they all look fine", {}),
        ('{"verdict": "ok"}', {}),
    ],
)
def test_scores_are_read_leniently_and_only_for_asked_ids(text: str, expected: dict) -> None:
    assert parse_scores(text, [1, 2]) == expected


def test_options_name_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="min_score must be between 0 and 10"):
        VerifyOptions(min_score=11)
    with pytest.raises(ValueError, match='verify_action must be "drop" or "summary"'):
        VerifyOptions(action="hide")  # type: ignore[arg-type]


def test_the_simulator_recognises_the_request_and_scores_by_severity() -> None:
    assert sim_model.VERIFY_HEADING == CANDIDATES_HEADING  # the simulator repeats the heading
    assert SYSTEM_PROMPT.startswith(sim_model.VERIFY_SYSTEM_START)
    request = build_verify_request([finding(5, "critical"), finding(20, "high"), finding(7, "low")], CODE)
    prompt = "\n".join(m.content for m in request.messages)
    reply = json.loads(sim_model.answer(prompt, json_mode=True).content)
    scores = {s["id"]: s["score"] for s in reply["scores"]}
    assert scores == {1: 9, 2: 2, 3: 3}  # candidate 2 cites a comment line only
    assert parse_scores(json.dumps(reply), [1, 2, 3])[1][1].startswith("[simulator]")


# --- through `hunkwise review --offline` ---------------------------------------------------------
def review(tmp_path: Path, *args: str, config: str = ""):
    (tmp_path / ".hunkwise.toml").write_text(config)
    return CliRunner().invoke(
        app, ["review", "--offline", "--diff", str(SAMPLE), *args], env={"HUNKWISE_HOME": str(tmp_path / "h")}
    )


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_verify_flags(tmp_path: Path) -> None:
    result = review(tmp_path, "--verify", "--min-score", "7", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert sorted(f["severity"] for f in doc["findings"]) == ["critical", "high"]
    assert all(f["verification"]["reason"].startswith("[simulator]") for f in doc["findings"])
    assert doc["summary"]["below_min_score"] == 2 and doc["usage"]["verification"]["calls"] == 1
    assert doc["usage"]["calls"] == 2


def test_verify_from_the_config_file_and_no_verify_wins(tmp_path: Path) -> None:
    config = '[review]\nverify = true\nmin_score = 7\nverify_action = "summary"\n'
    text = review(tmp_path, config=config)
    assert text.exit_code == 0, text.output
    assert "Low score" in text.stdout and "Verification" in text.stdout
    off = json.loads(review(tmp_path, "--no-verify", "--format", "json", config=config).stdout)
    assert len(off["findings"]) == 4 and off["usage"]["verification"]["calls"] == 0


@pytest.mark.parametrize(
    ("args", "config", "message"),
    [
        (["--min-score", "11"], "", "--min-score must be a whole number from 0 to 10"),
        ([], "[review]\nmin_score = 12\n", "min_score"),
        ([], '[review]\nverify_action = "hide"\n', "verify_action"),
        ([], '[review]\nverify = "yes"\n', "verify"),
    ],
)
def test_bad_verify_settings_are_one_line_errors(
    tmp_path: Path, args: list[str], config: str, message: str
) -> None:
    result = review(tmp_path, *args, config=config)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_a_review_of_a_diff_quoting_the_heading_is_still_a_review() -> None:
    """Reviewing hunkwise's own change (which contains the heading) once got scores back."""
    diff = (
        "diff --git a/v.py b/v.py\n--- a/v.py\n+++ b/v.py\n@@ -1,1 +1,3 @@\n x = 1\n"
        f'+HEADING = "{CANDIDATES_HEADING}"\n+y = eval(x)\n'
    )
    from hunkwise.review.prompt import build_review_request

    request = build_review_request(diff)
    reply = json.loads(
        sim_model.answer("\n\n".join(m.content for m in request.messages), json_mode=True).content
    )
    assert [f["start_line"] for f in reply["findings"]] == [3]
