"""Noise controls (issue 13 item 6): what a team is shown of the findings, and an account of the rest.

Units over constructed findings, then the whole path a user takes: ``.hunkwise.toml``'s
``[review]`` table and the flags, through ``hunkwise review --offline`` (the simulator flags
TODOs, bare excepts, eval and hard-coded keys, so a crafted diff gives known findings).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hunkwise.cli.app import app
from hunkwise.review.diff import parse_diff
from hunkwise.review.filters import TESTS_SKIPPED, FilterConfig, filter_files
from hunkwise.review.findings import Finding
from hunkwise.review.noise import NoiseControls, apply_noise_controls, merge_repeats, score


def fd(path: str, line: int, sev: str = "medium", title: str = "t", conf: float = 0.8, cat: str = "bug"):
    return Finding(path, line, line, sev, cat, title, body="why", confidence=conf)  # type: ignore[arg-type]


def lines(findings: list[Finding]) -> list[tuple[str, int]]:
    return [(f.path, f.start_line) for f in findings]


def test_defaults_show_everything() -> None:
    items = [fd("a.py", 1, "low", conf=0.1), fd("tests/test_a.py", 2, "low")]
    shown = apply_noise_controls(items, NoiseControls())
    assert lines(shown.kept) == [("a.py", 1), ("tests/test_a.py", 2)]
    assert shown.held_back == [] and shown.below_min_confidence == 0


def test_max_findings_ranks_by_severity_times_confidence_and_holds_the_rest_back() -> None:
    items = [
        fd("a.py", 1, "critical", conf=0.3),  # weight 4 x 0.3 = 1.2
        fd("a.py", 2, "medium", conf=0.9),  # weight 2 x 0.9 = 1.8
        fd("a.py", 3, "high", conf=0.8),  # weight 3 x 0.8 = 2.4
        fd("a.py", 4, "low", conf=1.0),  # weight 1 x 1.0 = 1.0
    ]
    assert [score(f) for f in items] == pytest.approx([1.2, 1.8, 2.4, 1.0])
    shown = apply_noise_controls(items, NoiseControls(max_findings=2))
    assert lines(shown.kept) == [("a.py", 2), ("a.py", 3)]  # report order: by line
    assert lines(shown.held_back) == [("a.py", 1), ("a.py", 4)]  # best first
    assert shown.over_max_findings == 2


def test_min_confidence_and_min_severity_are_counted_apart() -> None:
    items = [fd("a.py", 1, "low"), fd("a.py", 2, "high", conf=0.4), fd("a.py", 3, "high", conf=0.7)]
    shown = apply_noise_controls(items, NoiseControls(min_severity="medium", min_confidence=0.5))
    assert lines(shown.kept) == [("a.py", 3)]
    assert (shown.below_min_severity, shown.below_min_confidence) == (1, 1)


def test_severity_floor_last_matching_glob_wins() -> None:
    controls = NoiseControls(
        min_severity="low",
        severity_floor=(("docs/**", "critical"), ("**/*.md", "high"), ("docs/security/**", "medium")),
    )
    assert controls.floor_for("docs/guide.md") == ("high", "severity_floor '**/*.md'")
    assert controls.floor_for("docs/security/keys.txt") == ("medium", "severity_floor 'docs/security/**'")
    assert controls.floor_for("docs/x.txt") == ("critical", "severity_floor 'docs/**'")
    assert controls.floor_for("src/app.py") == ("low", "min_severity")
    items = [fd("docs/guide.md", 1, "medium"), fd("docs/guide.md", 2, "high"), fd("src/app.py", 3, "low")]
    shown = apply_noise_controls(items, controls)
    assert lines(shown.kept) == [("docs/guide.md", 2), ("src/app.py", 3)]
    assert (shown.below_severity_floor, shown.below_min_severity) == (1, 0)


@pytest.mark.parametrize(
    ("path", "is_test"),
    [
        ("tests/test_api.py", True),
        ("pkg/sub/test_api.py", True),
        ("internal/store/store_test.go", True),
        ("web/src/cart.test.tsx", True),
        ("src/test/java/com/acme/OrderServiceTest.java", True),
        ("src/latest.py", False),
        ("contest/entry.go", False),
        ("src/main/java/com/acme/Testimony.java", False),
    ],
)
def test_test_files_by_convention(path: str, is_test: bool) -> None:
    assert NoiseControls().is_test_file(path) is is_test


def test_relaxed_tests_keep_only_high_and_critical_there() -> None:
    items = [fd("tests/test_a.py", 1, "medium"), fd("tests/test_a.py", 2, "high"), fd("a.py", 3, "low")]
    shown = apply_noise_controls(items, NoiseControls(tests="relaxed"))
    assert lines(shown.kept) == [("a.py", 3), ("tests/test_a.py", 2)]
    assert shown.below_severity_floor == 1
    # A stricter path floor still wins over the relaxed policy's "high".
    stricter = NoiseControls(tests="relaxed", severity_floor=(("tests/**", "critical"),))
    assert stricter.floor_for("tests/test_a.py") == ("critical", "severity_floor 'tests/**'")


def test_merge_repeats_names_every_other_place() -> None:
    items = [
        fd("a.py", 10, "medium", "Unchecked error from db.Exec", conf=0.7),
        fd("a.py", 40, "medium", "Unchecked error from db.Exec()", conf=0.9),
        fd("a.py", 77, "medium", "unchecked error from db.exec", conf=0.8),
        fd("b.py", 5, "medium", "Unchecked error from db.Exec"),  # another file: its own finding
        fd("a.py", 90, "medium", "Unchecked error from db.Exec", cat="security"),  # another category
    ]
    merged = merge_repeats(items)
    assert sorted(lines(merged)) == [("a.py", 40), ("a.py", 90), ("b.py", 5)]
    head = next(f for f in merged if f.start_line == 40)
    assert head.body.endswith("Also at lines 10, 77.")
    shown = apply_noise_controls(items, NoiseControls(merge_repeats=True))
    assert shown.repeats_merged == 2 and len(shown.kept) == 3


def test_bad_controls_name_the_setting() -> None:
    with pytest.raises(ValueError, match="min_confidence must be between 0 and 1"):
        NoiseControls(min_confidence=1.5)
    with pytest.raises(ValueError, match="tests must be one of review, relaxed, skip"):
        NoiseControls(tests="never")  # type: ignore[arg-type]


def test_skip_policy_lists_test_files_as_skipped() -> None:
    diff = _diff({"tests/test_a.py": ["x = 1"], "a.py": ["y = 2"]})
    result = filter_files(parse_diff(diff), FilterConfig(skip_tests=("tests/",)))
    assert [f.path for f in result.kept] == ["a.py"]
    assert [(s.path, s.rule, s.changed_lines) for s in result.skipped] == [
        ("tests/test_a.py", TESTS_SKIPPED, [1])
    ]
    kept = filter_files(parse_diff(diff), FilterConfig(skip_tests=("tests/",), include=("tests/**",)))
    assert [f.path for f in kept.kept] == ["tests/test_a.py", "a.py"]  # include still wins


# --- through `hunkwise review --offline` ---------------------------------------------------------
def _diff(files: dict[str, list[str]]) -> str:
    out = []
    for path, added in files.items():
        out += [
            f"diff --git a/{path} b/{path}",
            "new file mode 100644",
            "--- /dev/null",
            f"+++ b/{path}",
            f"@@ -0,0 +1,{len(added)} @@",
            *(f"+{line}" for line in added),
        ]
    return "\n".join(out) + "\n"


CHANGE = {
    "src/app.py": [
        "import os",
        "def load(path):",
        "    try:",
        "        return open(path).read()  # TODO: close it",
        "    except:",
        "        return eval(os.environ['DEFAULT'])",
        "def save(path, data):",
        "    # TODO: atomic write",
        "    open(path, 'w').write(data)  # TODO: close it too",
    ],
    "tests/test_app.py": ["def test_load():", "    try:", "        load('x')", "    except:", "        pass"],
    "docs/notes.py": ["# TODO: document load()"],
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "change.diff").write_text(_diff(CHANGE))
    return tmp_path


def review_json(repo: Path, *args: str, config: str = "") -> dict:
    (repo / ".hunkwise.toml").write_text(textwrap.dedent(config))
    result = CliRunner().invoke(
        app,
        ["review", "--offline", "--diff", str(repo / "change.diff"), "--format", "json", *args],
        env={"HUNKWISE_HOME": str(repo / "home")},
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def found(doc: dict) -> list[tuple[str, int]]:
    return sorted((f["path"], f["start_line"]) for f in doc["findings"])


def test_without_controls_every_simulated_finding_is_shown(repo: Path) -> None:
    doc = review_json(repo)
    assert found(doc) == [
        ("docs/notes.py", 1),
        ("src/app.py", 4),
        ("src/app.py", 5),
        ("src/app.py", 6),
        ("src/app.py", 8),
        ("src/app.py", 9),
        ("tests/test_app.py", 4),
    ]


def test_config_file_controls_end_to_end(repo: Path) -> None:
    doc = review_json(
        repo,
        config="""
        [review]
        tests = "relaxed"
        merge_repeats = true
        max_findings = 2
        severity_floor = { "docs/**" = "medium" }
        """,
    )
    s = doc["summary"]
    # tests/: the medium bare except is under the relaxed "high"; docs/: the low TODO under "medium".
    assert s["below_severity_floor"] == 2
    # The three TODOs of src/app.py are one finding; then 3 remain (eval, except, TODO): 2 shown.
    assert s["repeats_merged"] == 2
    assert found(doc) == [("src/app.py", 5), ("src/app.py", 6)]
    assert [(f["path"], f["start_line"], f["severity"]) for f in s["held_back"]] == [("src/app.py", 4, "low")]
    assert "Also at lines 8, 9." in s["held_back"][0]["body"]
    assert s["over_max_findings"] == 1


def test_flags_override_the_file_and_skip_lists_tests(repo: Path) -> None:
    doc = review_json(
        repo,
        "--min-confidence",
        "0.95",
        config="""
        [review]
        tests = "skip"
        min_confidence = 0.1
        """,
    )
    assert doc["findings"] == [] and doc["summary"]["below_min_confidence"] == 6  # the simulator says 0.9
    assert [(s["path"], s["rule"]) for s in doc["summary"]["skipped"]] == [
        ("tests/test_app.py", "tests:skip")
    ]


def test_text_and_markdown_say_what_is_not_shown(repo: Path) -> None:
    (repo / ".hunkwise.toml").write_text("[review]\nmax_findings = 1\n")
    env = {"HUNKWISE_HOME": str(repo / "home")}
    base = ["review", "--offline", "--diff", str(repo / "change.diff")]
    text = CliRunner().invoke(app, base, env=env, terminal_width=200)
    assert text.exit_code == 0, text.output
    assert "6 over max_findings (listed below)" in text.stdout and "Held back" in text.stdout
    markdown = CliRunner().invoke(app, [*base, "--format", "markdown"], env=env)
    assert "6 more finding(s) over max_findings" in markdown.stdout


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[review]\nmin_confidence = 2\n", "min_confidence"),
        ("[review]\nmin_confidence = 'high'\n", "a number from 0 to 1"),
        ("[review]\ntests = 'never'\n", "tests"),
        ('[review]\nseverity_floor = { "docs/**" = "severe" }\n', "severity_floor"),
    ],
)
def test_bad_settings_are_one_line_errors(repo: Path, config: str, message: str) -> None:
    (repo / ".hunkwise.toml").write_text(config)
    result = CliRunner().invoke(
        app,
        ["review", "--offline", "--diff", str(repo / "change.diff")],
        env={"HUNKWISE_HOME": str(repo / "h")},
    )
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_bad_min_confidence_flag(repo: Path) -> None:
    result = CliRunner().invoke(
        app, ["review", "--offline", "--diff", str(repo / "change.diff"), "--min-confidence", "7"]
    )
    assert result.exit_code == 2
    assert "--min-confidence must be a number from 0 to 1" in result.output
