"""``hunkwise chat`` end to end: CLI -> config -> router -> SDK -> simulator over loopback HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import simkeys
from hunkwise.cli.app import app
from hunkwise.sim import KeyConfig


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def chat(env: dict[str, str], *args: str):
    return CliRunner().invoke(app, ["chat", *args], env=env)


def test_chat_json_reports_answer_model_attempts_and_usage(sim) -> None:
    result = chat({"ZAI_API_KEY": simkeys.DEV_KEY, "ZAI_BASE_URL": sim.base_url}, "Say hi", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"content", "model", "provider", "attempts", "usage"}
    assert "[simulator]" in data["content"]
    assert (data["model"], data["provider"], data["slot"]) == ("glm-5.1", "zai", "main")
    assert [a["outcome"] for a in data["attempts"]] == ["ok"]
    usage = data["usage"]
    assert usage["calls"] == 1 and usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    # cost from catalog prices: GLM-5.1 $1.40 in / $4.40 out per 1M tokens
    expected = (usage["input_tokens"] * 1.40 + usage["output_tokens"] * 4.40) / 1e6
    assert usage["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert "zero-config" in result.stderr  # the note says how the slot was chosen
    received = sim.requests()[-1]
    assert received["path"].endswith("/api/paas/v4/chat/completions")


def test_flags_choose_the_plan_and_the_key_goes_to_that_endpoint(sim) -> None:
    env = {"ZAI_API_KEY": simkeys.CODING_PRO_KEY, "ZAI_BASE_URL": sim.zai_developer_url}
    result = chat(env, "hi", "--json", "--plan", "coding", "--tier", "pro", "--thinking", "off")
    assert result.exit_code == 0, result.output
    request = sim.requests()[-1]
    assert request["path"].endswith("/api/coding/paas/v4/chat/completions")
    assert request["body"]["thinking"] == {"type": "disabled"}


def test_failover_when_the_coding_window_is_exhausted(sim_factory) -> None:
    server = sim_factory(
        keys=[
            KeyConfig(key=simkeys.CODING_LITE_KEY, kind="coding", tier="lite", quota_5h=0),
            KeyConfig(key=simkeys.OPENAI_KEY, kind="openai"),
        ]
    )
    env = {
        "HUNKWISE_MODEL": "glm-5.1",
        "HUNKWISE_PLAN": "coding",
        "HUNKWISE_TIER": "lite",
        "HUNKWISE_API_KEY": simkeys.CODING_LITE_KEY,
        "ZAI_BASE_URL": server.base_url,
        "OPENAI_API_KEY": simkeys.OPENAI_KEY,
        "OPENAI_BASE_URL": server.openai_url,
    }
    first = chat(env, "review this", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert (data["model"], data["provider"], data["slot"]) == ("gpt-5-mini", "openai", "fallback")
    outcomes = [(a["slot"], a["outcome"], a["code"]) for a in data["attempts"]]
    assert outcomes == [("main", "quota_window", "1308"), ("fallback", "ok", None)]
    assert data["failovers"] == 1
    # The circuit persists in HUNKWISE_HOME: the next CLI run skips the main without calling it.
    calls_before = server.key_stats(simkeys.CODING_LITE_KEY)
    second = chat(env, "again")
    assert second.exit_code == 0, second.output
    assert "[simulator]" in second.stdout
    assert "skipping main" in second.stderr and "after 1 failover(s)" in second.stderr
    assert server.key_stats(simkeys.CODING_LITE_KEY) == calls_before


def test_text_mode_prints_failovers_on_stderr(sim_factory) -> None:
    server = sim_factory(
        keys=[
            KeyConfig(key=simkeys.CODING_LITE_KEY, kind="coding", tier="lite", quota_5h=0),
            KeyConfig(key=simkeys.ANTHROPIC_KEY, kind="anthropic"),
        ]
    )
    env = {
        "ZAI_API_KEY": simkeys.CODING_LITE_KEY,
        "ZAI_BASE_URL": server.base_url,
        "HUNKWISE_PLAN": "coding",
        "ANTHROPIC_API_KEY": simkeys.ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": server.anthropic_url,
    }
    result = chat(env, "hi")
    assert result.exit_code == 0, result.output
    assert "[simulator]" in result.stdout and "failing over" not in result.stdout
    assert "failing over from main" in result.stderr and "quota_window" in result.stderr
    assert "claude-haiku-4-5 (anthropic, fallback slot" in result.stderr


def test_stream_prints_the_answer(sim) -> None:
    env = {"ZAI_API_KEY": simkeys.DEV_KEY, "ZAI_BASE_URL": sim.base_url}
    result = chat(env, "hi", "--stream")
    assert result.exit_code == 0, result.output
    assert "[simulator]" in result.stdout
    lines = [json.loads(x) for x in chat(env, "hi", "--stream", "--json").stdout.splitlines()]
    assert lines[-1]["event"] == "done" and lines[-1]["model"] == "glm-5.1"
    assert "".join(x["text"] for x in lines[:-1] if x["event"] == "content") == lines[-1]["content"]


def test_every_slot_failing_is_exit_1_with_each_error(sim) -> None:
    env = {"ZAI_API_KEY": "wrong-key-000000", "ZAI_BASE_URL": sim.base_url}
    result = chat(env, "hi")
    assert result.exit_code == 1
    assert "every configured model failed" in result.stderr and "auth" in result.stderr
    assert "hunkwise test" in result.stderr
    assert "wrong-key-000000" not in result.output


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (
            ["--tier", "ultra"],
            {"ZAI_API_KEY": "k-0123456789"},
            "--tier = 'ultra' is not valid: expected one of lite",
        ),
        (
            [],
            {"ZAI_API_KEY": "k-0123456789", "HUNKWISE_MAX_CONCURRENT": "abc"},
            "HUNKWISE_MAX_CONCURRENT = 'abc'",
        ),
        (["--max-concurrent", "-1"], {"ZAI_API_KEY": "k-0123456789"}, "--max-concurrent = '-1'"),
        (
            ["--base-url", "https://api.z.ai/api/paas/v4/chat/completions"],
            {"ZAI_API_KEY": "k-1"},
            "remove the endpoint",
        ),
        (["--thinking", '{"thinking": '], {"ZAI_API_KEY": "k-0123456789"}, "invalid JSON at line 1, column"),
        (["--model", "glm-9"], {"ZAI_API_KEY": "k-0123456789"}, "'glm-9' is not in the catalog"),
        (["--provider", "mistral"], {"ZAI_API_KEY": "k-0123456789"}, "one of zai, openai_compatible"),
        (
            ["--plan", "coding", "--model", "gpt-5"],
            {"OPENAI_API_KEY": "sk-0123456789"},
            "applies to Z.AI only",
        ),
        ([], {}, "no model is configured: export ZAI_API_KEY"),
        (["--api-key-env", "MISSING_VAR"], {}, "names MISSING_VAR, which is not set"),
        (["--profile", "team"], {"ZAI_API_KEY": "k-0123456789"}, "profile 'team'"),
    ],
)
def test_bad_input_is_one_red_line_and_exit_2(args: list[str], env: dict[str, str], words: str) -> None:
    result = chat(env, "hi", *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_empty_prompt_is_a_usage_error() -> None:
    result = chat({"ZAI_API_KEY": "k-0123456789"}, "  ")
    assert result.exit_code == 2 and "the prompt is empty" in result.stderr


def test_real_subprocess_bad_env_value_exits_2_with_one_line(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("hunkwise")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HUNKWISE_HOME": str(tmp_path),
        "ZAI_API_KEY": "k-0123456789",
        "HUNKWISE_TIER": "ultra",
    }
    proc = subprocess.run(
        [str(exe), "chat", "hi"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "error: HUNKWISE_TIER = 'ultra' is not valid: expected one of lite, pro, max [HUNKWISE_TIER]"
    ]
