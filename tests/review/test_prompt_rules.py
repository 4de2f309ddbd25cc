"""The review prompt and the repository rules file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hunkwise.catalog.findings_contract import CATEGORIES, SEVERITIES, answer_json_schema
from hunkwise.config.files import load_config_files
from hunkwise.config.problems import ConfigFileError
from hunkwise.config.review_settings import review_config
from hunkwise.config.settings import Settings
from hunkwise.review.prompt import (
    build_repair_request,
    build_review_request,
    build_system_prompt,
    prompt_overhead_tokens,
)
from hunkwise.review.tokens import TokenEstimator
from rulesfile import repo_rules

RULES = """
[main]                # model settings share the file and its one schema
model = "glm-5.1"

[review]
ignore = ["docs/**"]
include = ["vendor/ours/**"]
max_file_lines = 1500
min_severity = "Medium"
max_findings = 12
fail_on = "high"

[[rules]]
name = "authz"
paths = ["src/api/**"]
text = "Every handler checks the caller's permissions before touching data."
severity = "high"

[[rules]]
paths = ["*.sql"]
text = "Migrations must be reversible."
"""


def test_rules_file_parsed_and_scoped() -> None:
    repo = repo_rules(RULES)
    s = repo.settings
    assert (s.ignore, s.include, s.max_file_lines, s.min_severity, s.max_findings, s.fail_on) == (
        ("docs/**",),
        ("vendor/ours/**",),
        1500,
        "medium",
        12,
        "high",
    )
    assert [r.name for r in repo.rules_for(["src/api/users.py"])] == ["authz"]
    assert [r.text for r in repo.rules_for(["db/migrations/001.sql"])] == ["Migrations must be reversible."]
    assert repo.rules_for(["README.md"]) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[review\nignore = 1", r"not valid TOML.*line 1"),
        ("[review]\nmin_severity = 'urgent'", r'min_severity = "urgent" in \[review\] of .*: expected one of '
         "critical, high, medium, low"),
        ("[review]\nmax_findngs = 3", r"unknown key `max_findngs` in \[review\] .*`max_findings`\?"),
        ("[review]\nmax_findings = 0", r"max_findings = 0 in \[review\] .*whole number ≥ 1"),
        ("[review]\nmax_findings = true", r"max_findings = true in \[review\] .*whole number ≥ 1"),
        ("[[rules]]\npaths = ['a/**']", r"missing key `text` in \[\[rules\]\] #1 .*non-empty string"),
        ("[[rules]]\ntext = 'x'\npaths = 3", r"paths = 3 in \[\[rules\]\] #1 .*list of glob strings"),
        ("[[rules]]\ntext = 'x'\npaths = ['a[z-b]']", r"bad glob 'a\[z-b\]': bad character range z-b$"),
        ("rules = 3", r"rules = 3 at the top level .*array of tables"),
    ],
)  # fmt: skip
def test_bad_rules_file_names_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigFileError) as info:
        repo_rules(text)
    assert len(info.value.problems) == 1
    assert re.search(message, info.value.problems[0].message), info.value.problems[0].message


def test_load_rules_from_disk_with_the_user_file(tmp_path: Path) -> None:
    env = {"HUNKWISE_HOME": str(tmp_path / "home")}
    assert load_config_files(Settings.from_env(env), tmp_path).files == []
    (tmp_path / ".hunkwise.toml").write_text(RULES)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text(
        '[review]\nmax_findings = 3\nmin_severity = "low"\n[[rules]]\ntext = "Mine."\n'
    )
    config = review_config(
        load_config_files(Settings.from_env(env), tmp_path), settings=Settings.from_env(env)
    )
    texts = [r.text for r in config.rules]  # the user's rules first, then the repository's
    assert texts == ["Mine.", "Every handler checks the caller's permissions before touching data.",
                     "Migrations must be reversible."]  # fmt: skip
    assert (config.settings.max_findings, config.settings.min_severity) == (12, "medium")  # repo wins


def test_system_prompt_contents() -> None:
    rules = repo_rules(RULES).rules_for(["src/api/x.py"])
    prompt = build_system_prompt(rules)
    assert "review" in prompt
    for word in (*SEVERITIES, *CATEGORIES):
        assert word in prompt
    assert "Every handler checks the caller's permissions" in prompt and "severity high" in prompt
    assert "Migrations must be reversible" not in prompt  # only rules for this chunk's files
    assert json.dumps(answer_json_schema(), separators=(",", ":"), sort_keys=True) in prompt
    assert "No style or formatting nits" in prompt


def test_review_and_repair_requests() -> None:
    req = build_review_request("FILE: a.py (python)\n@@ -1 +1 @@\n     1 + x = 1", max_output_tokens=900)
    assert req.json_mode and req.purpose == "review" and req.max_output_tokens == 900
    assert [m.role for m in req.messages] == ["system", "user"]
    assert req.messages[1].content.endswith("     1 + x = 1")
    fix = build_repair_request(req, "not json" * 1000, "no JSON object or array found")
    assert fix.purpose == "repair" and [m.role for m in fix.messages] == [
        "system",
        "user",
        "assistant",
        "user",
    ]
    assert "no JSON object or array found" in fix.messages[-1].content
    assert len(fix.messages[2].content) < 4100  # the bad answer is truncated


def test_prompt_overhead_grows_with_rules() -> None:
    est = TokenEstimator()
    base = prompt_overhead_tokens(est)
    with_rules = prompt_overhead_tokens(est, repo_rules(RULES).rules)
    assert 300 < base < with_rules
    assert base >= est.estimate(build_system_prompt())
