"""``hunkwise sim`` flags and config file, and the server's async entry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx2
import openai
import pytest

from hunkwise.cli.app import UsageError
from hunkwise.cli.sim import build_sim_config
from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer


def _build(config_file: Path | None = None, **kw: list[str]) -> SimConfig:
    args = {"developer_keys": [], "coding_keys": [], "openai_keys": [], "anthropic_keys": [], **kw}
    cfg, _ = build_sim_config(config_file=config_file, flags={"latency_ms": None}, **args)  # type: ignore[arg-type]
    return cfg


def test_flags_and_config_file_merge(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        'latency_ms = 5\n[[keys]]\nkey = "file-max"\nkind = "coding"\ntier = "max"\nconcurrency = 3\n'
    )
    cfg = _build(path, coding_keys=["flag-key:pro", "plain"], developer_keys=["d1"])
    by_key = {k.key: k for k in cfg.keys}
    assert cfg.latency_ms == 5
    assert by_key["file-max"].concurrency == 3 and by_key["flag-key"].tier == "pro"
    assert by_key["plain"].effective_tier == "lite"
    assert cfg.limits_for(by_key["file-max"]).concurrency == 3
    assert cfg.limits_for(by_key["flag-key"]).quota_5h == 600


def test_force_error_and_multiplier_flags() -> None:
    cfg, _ = build_sim_config(
        config_file=None,
        developer_keys=[],
        coding_keys=["lite-k", "other"],
        openai_keys=[],
        anthropic_keys=[],
        flags={"peak_multiplier": True, "monitor_usage_fields": None},
        force_errors=["lite-k:1316"],
    )
    by_key = {k.key: k for k in cfg.keys}
    assert by_key["lite-k"].force_error == "1316" and by_key["other"].force_error is None
    assert cfg.peak_multiplier is True and cfg.monitor_usage_fields is False


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("lite-k:1308", "CODE one of 1309, 1313, 1316, 1317"),
        ("missing:1309", "no such key"),
        ("1309", "expected KEY:CODE"),
    ],
)
def test_bad_force_error_flag_is_a_usage_error(spec: str, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        build_sim_config(
            config_file=None,
            developer_keys=["dev-k"],
            coding_keys=["lite-k"],
            openai_keys=[],
            anthropic_keys=[],
            flags={},
            force_errors=[spec],
        )


def test_force_error_on_a_developer_key_names_the_fix() -> None:
    with pytest.raises(UsageError, match="set it on a coding key"):
        build_sim_config(
            config_file=None,
            developer_keys=["dev-k"],
            coding_keys=[],
            openai_keys=[],
            anthropic_keys=[],
            flags={},
            force_errors=["dev-k:1309"],
        )


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"coding_keys": ["k:ultra"]}, "unknown tier 'ultra'"),
        ({"developer_keys": ["dup", "dup"]}, "configured twice"),
    ],
)
def test_bad_flags_raise_usage_errors(kwargs: dict, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        _build(**kwargs)


def test_bad_config_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text("[[keys]]\nkey = 'x'\nkind = 'coding'\ntier = 'ultra'\n")
    with pytest.raises(UsageError, match=r"keys\.0\.tier"):
        _build(path)
    path.write_text("not = [toml")
    with pytest.raises(UsageError, match="not valid TOML"):
        _build(path)


@pytest.mark.parametrize(
    "args", [["--coding-key", "k:ultra"], ["--latency-ms", "-5"], ["--config", "/nonexistent.toml"]]
)
def test_cli_bad_input_exits_2_with_one_line(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hunkwise", "sim", *args], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


async def test_async_context_manager_inside_a_running_loop() -> None:
    cfg = SimConfig(keys=[KeyConfig(key="dev-async", kind="developer")])
    async with SimulatorServer(cfg) as sim:
        client = openai.AsyncOpenAI(
            api_key="dev-async",
            base_url=sim.zai_developer_url,
            max_retries=0,
            http_client=httpx2.AsyncClient(),
        )
        r = await client.chat.completions.create(model="glm-5", messages=[{"role": "user", "content": "hi"}])
        assert r.choices[0].message.content
    assert sim._thread is None  # stopped


def test_self_check_passes() -> None:
    from hunkwise.sim.selfcheck import run_self_check

    checks = run_self_check()
    assert [c.name for c in checks if not c.passed] == []
