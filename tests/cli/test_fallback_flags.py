"""``--fallback-*`` and ``--no-fallback`` on chat, test and review: flags beat env and files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import simkeys
from hunkwise.cli.app import app

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "examples" / "sample.diff"


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def run(env: dict[str, str], *args: str):
    return CliRunner().invoke(app, list(args), env=env)


def failing_main_env(sim) -> dict[str, str]:
    """A main slot that always fails (unknown key) and an OpenAI key the fallback can use."""
    return {
        "ZAI_API_KEY": "not-a-known-key",
        "ZAI_BASE_URL": sim.base_url,
        "MY_OPENAI_KEY": simkeys.OPENAI_KEY,
        "OPENAI_BASE_URL": sim.openai_url,
    }


def test_fallback_flags_build_the_fallback_and_beat_the_environment(sim) -> None:
    env = failing_main_env(sim) | {
        "HUNKWISE_FALLBACK_MODEL": "gpt-5",
        "HUNKWISE_FALLBACK_PROVIDER": "openai",
    }
    flags = ("--fallback-model", "gpt-5-mini", "--fallback-api-key-env", "MY_OPENAI_KEY")
    result = run(env, "chat", "hi", "--json", *flags)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["slot"], data["provider"], data["model"]) == ("fallback", "openai", "gpt-5-mini")
    assert [(a["slot"], a["outcome"]) for a in data["attempts"]] == [("main", "auth"), ("fallback", "ok")]
    # the provider still came from the environment: flags override per setting, not per slot
    probe = run(env, "test", "--json", *flags)
    fallback = json.loads(probe.stdout)["slots"][1]
    assert fallback["sources"]["model"] == "flag: --fallback-model"
    assert fallback["sources"]["provider"] == "env: HUNKWISE_FALLBACK_PROVIDER"


def test_fallback_plan_tier_thinking_and_cap_reach_the_slot(sim) -> None:
    env = {"ZAI_API_KEY": simkeys.DEV_KEY, "ZAI_BASE_URL": sim.base_url, "HUNKWISE_FALLBACK_TIER": "lite"}
    args = (
        "--fallback-model", "glm-5.1", "--fallback-provider", "zai", "--fallback-plan", "coding",
        "--fallback-tier", "pro", "--fallback-thinking", "off", "--fallback-max-concurrent", "3",
        "--fallback-base-url", sim.zai_coding_url,
    )  # fmt: skip
    result = run(env, "test", "--json", *args)
    data = json.loads(result.stdout)
    config = data["slots"][1]["config"]
    sources = data["slots"][1]["sources"]
    assert (config["plan"], config["tier"], config["max_concurrent"]) == ("coding", "pro", 3), config
    assert sources["tier"] == "flag: --fallback-tier"  # beat HUNKWISE_FALLBACK_TIER=lite
    assert sources["thinking"] == "flag: --fallback-thinking"


def test_no_fallback_drops_a_zero_config_fallback(sim) -> None:
    env = failing_main_env(sim) | {"OPENAI_API_KEY": simkeys.OPENAI_KEY}
    with_fallback = run(env, "chat", "hi", "--json")
    assert with_fallback.exit_code == 0 and json.loads(with_fallback.stdout)["slot"] == "fallback"
    alone = run(env, "chat", "hi", "--json", "--no-fallback")
    assert alone.exit_code == 1
    assert [a["slot"] for a in json.loads(alone.stdout)["attempts"]] == ["main"]
    probe = run(env, "test", "--json", "--no-fallback")
    data = json.loads(probe.stdout)
    assert [s["config"]["name"] for s in data["slots"]] == ["main"]
    assert any("fallback: disabled" in n for n in data["notes"])


def test_no_fallback_beats_fallback_env_in_review(sim) -> None:
    env = failing_main_env(sim) | {
        "HUNKWISE_FALLBACK_MODEL": "gpt-5-mini",
        "HUNKWISE_FALLBACK_API_KEY_ENV": "MY_OPENAI_KEY",
    }
    ok = run(env, "review", "--diff", str(SAMPLE), "-f", "json")
    assert ok.exit_code == 0, ok.output
    assert list(json.loads(ok.stdout)["usage"]["models"]) == ["gpt-5-mini"]
    alone = run(env, "review", "--diff", str(SAMPLE), "-f", "json", "--no-fallback")
    assert alone.exit_code == 2, alone.output  # the only model has a configuration problem


def test_review_takes_fallback_flags(sim) -> None:
    env = failing_main_env(sim)
    flags = ("--fallback-provider", "openai", "--fallback-api-key-env", "MY_OPENAI_KEY")
    result = run(env, "review", "--diff", str(SAMPLE), "-f", "json", *flags)
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["usage"]["models"]) == ["gpt-5-mini"]  # the provider's default


@pytest.mark.parametrize("command", ["chat", "test", "review"])
def test_no_fallback_with_a_fallback_flag_is_a_usage_error(command: str) -> None:
    args = ["hi"] if command == "chat" else (["--diff", str(SAMPLE)] if command == "review" else [])
    result = run({"ZAI_API_KEY": simkeys.DEV_KEY}, command, *args, "--no-fallback", "--fallback-tier", "pro")
    assert result.exit_code == 2
    assert "--no-fallback contradicts --fallback-tier" in result.stderr
    assert "Traceback" not in result.output


def test_bad_fallback_value_names_the_flag() -> None:
    result = run({"ZAI_API_KEY": simkeys.DEV_KEY}, "chat", "hi", "--fallback-max-concurrent", "abc")
    assert result.exit_code == 2
    assert "--fallback-max-concurrent" in result.stderr
