"""One schema for the config files, the same for every command; dry runs without a key; hints that
only name flags the command has; the default cost ceiling (issue 11, items 4 and 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import simkeys
from hunkwise.cli.app import app

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "examples" / "sample.diff"

REVIEW_FILE = """
[review]
ignore = ["docs/**"]
min_severity = "low"
max_findings = 25

[[rules]]
name = "authz"
paths = ["src/api/**"]
text = "Every handler checks the caller's permissions."
severity = "high"
"""


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env or {})


def sim_env(server) -> dict[str, str]:
    return {"ZAI_API_KEY": simkeys.DEV_KEY, "ZAI_BASE_URL": server.base_url}


def requests_seen(server) -> int:
    """Every request the simulator received, whatever its outcome (from its stats endpoint)."""
    return sum(k["requests"] for k in server.stats()["keys"].values())


def big_diff(path: Path, files: int = 200, lines: int = 400) -> Path:
    """About 7 MB of added Python: GLM-5.1 would cost more than the $2 default to review it."""
    parts = []
    for i in range(files):
        parts.append(f"diff --git a/src/m{i}.py b/src/m{i}.py\nnew file mode 100644\n--- /dev/null\n")
        parts.append(f"+++ b/src/m{i}.py\n@@ -0,0 +1,{lines} @@\n")
        parts.extend(
            f"+value_{j} = compute_something({j}, {i}) + another_call(param_{j})  # c\n" for j in range(lines)
        )
    path.write_text("".join(parts))
    return path


# --- [review] and [[rules]] are part of the one schema -----------------------------------------
def test_review_and_rules_sections_work_on_the_real_model_path(tmp_path: Path, sim) -> None:
    """Before: `review` (without --offline), `test` and `models` exited 2 with "unknown top-level
    key(s) review, rules" on the documented file."""
    (tmp_path / ".hunkwise.toml").write_text(REVIEW_FILE)
    result = cli("review", "--diff", str(SAMPLE), "-f", "json", env=sim_env(sim))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["findings"] == 4
    assert requests_seen(sim) == 1
    assert cli("test", env=sim_env(sim)).exit_code == 0
    assert cli("models").exit_code == 0
    assert cli("chat", "hi", env=sim_env(sim)).exit_code == 0


TYPOS = [
    ("[reviw]\nfail_on = 'high'\n", "unknown section [reviw] in {path}; did you mean [review]?"),
    ('[main]\nmodle = "glm-5.1"\n', "unknown key `modle` in [main] of {path}; did you mean `model`?"),
    ('[main]\nplan = "gold"\n', 'plan = "gold" in [main] of {path}: expected one of developer, coding'),
    ('[review]\nfail_on = "urgent"\n', 'fail_on = "urgent" in [review] of {path}: expected one of critical'),
    (
        "[[rules]]\ntext = 'x'\npath = ['src/**']\n",
        "unknown key `path` in [[rules]] #1 of {path}; did you mean",
    ),
]
COMMANDS = [
    ("review", "--offline", "--diff", str(SAMPLE)),
    ("review", "--diff", str(SAMPLE)),
    ("review", "--diff", str(SAMPLE), "--dry-run"),
    ("test",),
    ("models",),
    ("chat", "hi"),
]


@pytest.mark.parametrize(("text", "message"), TYPOS)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_typos_exit_2_the_same_way_for_every_command(
    tmp_path: Path, sim, text: str, message: str, command: tuple[str, ...]
) -> None:
    """Before: `review --offline` accepted [reviw], `modle` and plan = "gold" (exit 0)."""
    path = tmp_path / ".hunkwise.toml"
    path.write_text(text)
    result = cli(*command, env=sim_env(sim))
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("error: " + message.format(path=path)), line
    assert requests_seen(sim) == 0


def test_user_file_problems_are_reported_with_the_repository_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("[review]\nmax_cost = 0\n")
    (tmp_path / ".hunkwise.toml").write_text("[rules]\n")
    result = cli("review", "--offline", "--diff", str(SAMPLE), env={"HUNKWISE_HOME": str(home)})
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f'error: max_cost = 0 in [review] of {home / "config.toml"}: 0 would stop every review: write "off" '
        "to disable the ceiling",
        f"error: rules = {{}} at the top level of {tmp_path / '.hunkwise.toml'}: expected an array of "
        'tables: write [[rules]] blocks with text = "..."',
    ]


# --- dry run without a key ------------------------------------------------------------------------
def test_dry_run_needs_no_key_and_names_the_model_it_planned_for() -> None:
    """Before: exit 2 "no model is configured" although a dry run calls no model."""
    result = cli("review", "--diff", str(SAMPLE), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Planned for glm-5.1 (main slot): context window 200,000 tokens" in result.stdout
    assert "estimated cost $" in result.stdout and "Cost ceiling $2.00 (default)" in result.stdout
    assert "planning for GLM 5.1 (the default)" in result.stderr
    doc = json.loads(cli("review", "--diff", str(SAMPLE), "--dry-run", "-f", "json", "-q").stdout)
    assert doc["plan"]["planned_for"]["model"] == "glm-5.1" and doc["plan"]["estimated_cost_usd"] > 0
    assert doc["plan"]["max_cost_usd"] == 2.0 and doc["plan"]["over_max_cost"] is False


def test_dry_run_plans_for_the_configured_model_whose_key_is_missing(tmp_path: Path) -> None:
    (tmp_path / ".hunkwise.toml").write_text(
        'profile = "ci"\n[profiles.ci.main]\nmodel = "gpt-5-mini"\napi_key_env = "OPENAI_CI_KEY"\n'
    )
    result = cli("review", "--diff", str(SAMPLE), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Planned for gpt-5-mini (main slot): context window 400,000 tokens" in result.stdout
    assert "planning without a key" in result.stderr and "OPENAI_CI_KEY" in result.stderr
    real = cli("review", "--diff", str(SAMPLE))  # a real run still needs the key
    assert real.exit_code == 2 and "OPENAI_CI_KEY" in real.stderr


# --- hints name only what the command has ---------------------------------------------------------
@pytest.mark.parametrize("command", [("chat", "hi"), ("test",)])
def test_chat_and_test_do_not_suggest_a_flag_they_lack(command: tuple[str, ...]) -> None:
    result = cli(*command)
    assert result.exit_code == 2
    assert "no model is configured" in result.stderr
    assert "--offline" not in result.output
    assert "hunkwise sim" in result.stderr and "docs/simulator.md" in result.stderr


def test_review_without_a_key_suggests_offline_and_dry_run() -> None:
    result = cli("review", "--diff", str(SAMPLE))
    assert result.exit_code == 2
    assert "--offline" in result.stderr and "--dry-run" in result.stderr


def test_the_simulator_hint_works_as_written(sim) -> None:
    """The hint's variables, pointed at a running simulator, make `hunkwise test` pass."""
    hint = cli("test").stderr
    assert "ZAI_BASE_URL=http://127.0.0.1:8765 ZAI_API_KEY=sim-dev-key-0001" in hint
    env = {"ZAI_BASE_URL": sim.base_url, "ZAI_API_KEY": "sim-dev-key-0001"}  # the same, on its port
    assert cli("test", env=env).exit_code == 0


# --- the default cost ceiling --------------------------------------------------------------------
def test_default_ceiling_stops_a_big_diff_before_any_request(tmp_path: Path, sim) -> None:
    """Before: a multi-megabyte diff planned dollars of requests and sent them without a word."""
    diff = big_diff(tmp_path / "big.diff")
    result = cli("review", "--diff", str(diff), env=sim_env(sim))
    assert result.exit_code == 2, result.output
    [line] = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "is above the cost ceiling of $2.00 (default); nothing was sent" in line
    estimate = float(line.split("estimated cost $")[1].split()[0])
    assert estimate > 2.0
    for how in (
        "--max-cost ",
        "HUNKWISE_MAX_COST=",
        "max_cost = ",
        "under [review] in .hunkwise.toml",
        '"off"',
    ):
        assert how in line
    assert requests_seen(sim) == 0
    offline = cli("review", "--offline", "--diff", str(diff))  # the rehearsal stops where the real run would
    assert offline.exit_code == 2 and "above the cost ceiling of $2.00 (default)" in offline.stderr
    dry = cli("review", "--diff", str(diff), "--dry-run", env=sim_env(sim))
    assert dry.exit_code == 0 and "a real run would stop before the first request" in dry.stdout
    assert requests_seen(sim) == 0


def test_ceiling_precedence_flag_env_file_default(tmp_path: Path, sim) -> None:
    (tmp_path / ".hunkwise.toml").write_text("[review]\nmax_cost = 0.001\n")
    args = ("review", "--diff", str(SAMPLE), "-q", "-f", "json")
    from_file = cli(*args, env=sim_env(sim))
    assert from_file.exit_code == 2
    assert f"$0.0010 (max_cost in [review] of {tmp_path / '.hunkwise.toml'})" in from_file.stderr
    assert requests_seen(sim) == 0
    env_wins = cli(*args, env={**sim_env(sim), "HUNKWISE_MAX_COST": "5"})
    assert env_wins.exit_code == 0, env_wins.output
    assert requests_seen(sim) == 1
    flag_wins = cli(*args, "--max-cost", "0.001", env={**sim_env(sim), "HUNKWISE_MAX_COST": "5"})
    assert flag_wins.exit_code == 2 and "$0.0010 (--max-cost)" in flag_wins.stderr
    off = cli(*args, "--max-cost", "off", env=sim_env(sim))
    assert off.exit_code == 0, off.output
    assert requests_seen(sim) == 2


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--max-cost", "0"], {}, "--max-cost = '0' is not valid: 0 would stop every review: write \"off\""),
        (["--max-cost", "lots"], {}, "--max-cost = 'lots' is not valid: expected an amount in USD"),
        ([], {"HUNKWISE_MAX_COST": "-1"}, "HUNKWISE_MAX_COST = '-1' is not valid"),
    ],
)
def test_bad_ceilings_exit_2(args: list[str], env: dict[str, str], message: str) -> None:
    result = cli("review", "--offline", "--diff", str(SAMPLE), *args, env=env)
    assert result.exit_code == 2
    assert message in result.stderr
