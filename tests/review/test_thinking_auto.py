"""``thinking = "auto"`` (issue 14 item 6): light review requests go with thinking off, the rest
with it on; the rule and its outcome per request are in the plan; an explicit level is never
overridden."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hunkwise.cli.app import app
from hunkwise.config.thinking_setting import parse_thinking
from hunkwise.errors import ConfigurationError
from hunkwise.gateway import ChatRequest, Router, Secret, Slot
from hunkwise.gateway.thinking import build_body, profile_for
from hunkwise.review.engine import ReviewOptions, run_review
from hunkwise.review.thinking_rule import choose
from simkeys import DEV_KEY


@pytest.mark.parametrize(
    ("paths", "lines", "light", "reason"),
    [
        (["README.md", "docs/guide.md"], 200, True, "docs, tests or configuration only"),
        (["tests/test_api.py", "config/app.yaml"], 90, True, "docs, tests or configuration only"),
        (["src/app/views.py"], 12, True, "small change (12 changed line(s))"),
        (["src/app/views.py"], 21, False, "code change of 21 changed line(s)"),
        (["src/auth/login.py"], 3, False, "security-relevant path src/auth/login.py"),
        (["docs/sql/queries.md"], 2, False, "security-relevant path docs/sql/queries.md"),
        (["src/author.py"], 5, True, "small change (5 changed line(s))"),  # "author" is not auth
    ],
)
def test_the_rule(paths: list[str], lines: int, light: bool, reason: str) -> None:
    choice = choose(paths, lines)
    assert (choice.light, choice.reason) == (light, reason)


def slot(thinking: object, base_url: str = "https://api.z.ai/api/paas/v4") -> Slot:
    return Slot(name="main", provider="zai", base_url=base_url, model="glm-5.1", api_key=Secret(DEV_KEY),
                plan="developer", input_price=1.4, output_price=4.4, context_window=200_000,
                thinking=thinking)  # type: ignore[arg-type]  # fmt: skip


def test_auto_turns_thinking_off_only_for_light_requests() -> None:
    auto = slot("auto")
    profile = profile_for(auto)
    heavy = build_body(auto, ChatRequest.of("x"), profile)
    light = build_body(auto, ChatRequest.of("x", light=True), profile)
    assert heavy["thinking"] == {"type": "enabled"} and light["thinking"] == {"type": "disabled"}
    explicit = slot("high")  # the user's own level wins over the review's judgement
    assert build_body(explicit, ChatRequest.of("x", light=True), profile_for(explicit))["thinking"] == {
        "type": "enabled"
    }


def test_the_setting_is_validated_once() -> None:
    assert parse_thinking(" AUTO ", "zai") == "auto"
    with pytest.raises(ConfigurationError, match="use off, low, medium, high, auto, or a JSON object"):
        parse_thinking("automatic", "zai")


DOCS = (
    "diff --git a/docs/guide.md b/docs/guide.md\n--- a/docs/guide.md\n+++ b/docs/guide.md\n"
    "@@ -1,1 +1,2 @@\n # Guide\n+More words.\n"
)
AUTH = (
    "diff --git a/src/auth/session.py b/src/auth/session.py\n--- a/src/auth/session.py\n"
    "+++ b/src/auth/session.py\n@@ -1,1 +1,2 @@\n x = 1\n+token = request.args['t']\n"
)


async def test_each_request_is_sent_as_the_rule_says(sim) -> None:
    async with Router([slot("auto", sim.zai_developer_url)]) as router:
        docs = await run_review(DOCS, router, ReviewOptions())
        auth = await run_review(AUTH, router, ReviewOptions())
    bodies = [r["body"] for r in sim.requests() if r["key"] == DEV_KEY][-2:]
    assert [b.get("thinking") for b in bodies] == [{"type": "disabled"}, {"type": "enabled"}]
    assert docs.plan[0].thinking == "off: docs, tests or configuration only"
    assert auth.plan[0].thinking == "on: security-relevant path src/auth/session.py"
    assert docs.to_json()["plan"]["chunks"][0]["thinking"].startswith("off")


async def test_without_auto_the_plan_says_nothing_of_it(sim) -> None:
    async with Router([slot(None, sim.zai_developer_url)]) as router:
        report = await run_review(DOCS, router, ReviewOptions(dry_run=True))
    assert report.plan[0].thinking == "" and "thinking" not in report.to_json()["plan"]["chunks"][0]


def test_dry_run_shows_the_choice_per_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "change.diff").write_text(DOCS)
    result = CliRunner().invoke(
        app,
        ["review", "--dry-run", "--thinking", "auto", "--diff", "change.diff"],
        env={"HUNKWISE_HOME": str(tmp_path / "home")},
    )
    assert result.exit_code == 0, result.output
    assert "thinking off: docs, tests or configuration only" in result.stdout
    as_json = CliRunner().invoke(
        app,
        ["review", "--dry-run", "--thinking", "auto", "--diff", "change.diff", "--format", "json"],
        env={"HUNKWISE_HOME": str(tmp_path / "home")},
    )
    assert json.loads(as_json.stdout)["plan"]["chunks"][0]["thinking"].startswith("off")
