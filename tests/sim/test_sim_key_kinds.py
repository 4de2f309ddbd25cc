"""Each kind of simulated key has the limits its real counterpart has: a Coding Plan key has
rolling prompt windows and no balance; a pay-per-token key (Developer API, OpenAI, Anthropic)
has a USD balance and no prompt window. The global ``--quota-5h``/``--quota-week`` flags cap
coding keys only, ``--balance`` pay-per-token keys only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest

from hunkwise.cli.app import UsageError
from hunkwise.cli.sim import build_sim_config
from hunkwise.sim import SimConfig, SimulatorServer

HELLO = [{"role": "user", "content": "Say hello."}]


def _build(
    config_file: Path | None = None,
    *,
    developer: list[str] = (),  # type: ignore[assignment]
    coding: list[str] = (),  # type: ignore[assignment]
    **flags: Any,
) -> SimConfig:
    cfg, _ = build_sim_config(
        config_file=config_file,
        developer_keys=list(developer),
        coding_keys=list(coding),
        openai_keys=[],
        anthropic_keys=[],
        flags=flags,
    )
    return cfg  # type: ignore[no-any-return]


def _code(exc: openai.APIStatusError) -> str | None:
    body = exc.body if isinstance(exc.body, dict) else {}
    return str(body.get("code")) if body.get("code") is not None else None


def test_quota_5h_flag_caps_a_coding_key_but_not_a_developer_key() -> None:
    cfg = _build(developer=["dev-q"], coding=["code-q:max"], quota_5h=2, quota_week=50)
    by_key = {k.key: cfg.limits_for(k) for k in cfg.keys}
    assert (by_key["code-q"].quota_5h, by_key["code-q"].quota_week) == (2, 50)
    assert (by_key["dev-q"].quota_5h, by_key["dev-q"].quota_week) == (None, None)

    with SimulatorServer(cfg) as sim:
        coding = openai.OpenAI(api_key="code-q", base_url=sim.zai_coding_url, max_retries=0)
        developer = openai.OpenAI(api_key="dev-q", base_url=sim.zai_developer_url, max_retries=0)
        for _ in range(2):
            coding.chat.completions.create(model="glm-5.1", messages=HELLO)
        with pytest.raises(openai.RateLimitError) as spent:
            coding.chat.completions.create(model="glm-5.1", messages=HELLO)
        assert _code(spent.value) == "1308"
        for _ in range(4):  # a Developer API key has no prompt window
            developer.chat.completions.create(model="glm-5.1", messages=HELLO)
        assert sim.key_stats("dev-q")["ok"] == 4
        assert sim.key_stats("dev-q")["limits"]["quota_5h"] is None


def test_balance_flag_funds_pay_per_token_keys_only() -> None:
    cfg = _build(developer=["dev-b", "dev-own:2.50"], coding=["code-b"], balance=5)
    by_key = {k.key: cfg.limits_for(k) for k in cfg.keys}
    assert by_key["dev-b"].balance == 5.0
    assert by_key["dev-own"].balance == 2.5  # its own balance beats the global one
    assert by_key["code-b"].balance is None and by_key["code-b"].quota_5h == 120  # the lite tier


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        (
            "kind = 'developer'\nquota_5h = 10",
            "quota_5h is a Coding Plan prompt window; developer keys have none",
        ),
        (
            "kind = 'openai'\nquota_week = 10",
            "quota_week is a Coding Plan prompt window; openai keys have none",
        ),
        ("kind = 'coding'\nbalance = 3", "balance is for pay-per-token keys"),
        ("kind = 'developer'\nbalance = -1", r"keys\.0\.balance: Input should be greater than or equal to 0"),
    ],
)
def test_a_limit_of_the_wrong_kind_of_key_is_refused(tmp_path: Path, toml: str, needle: str) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(f"[[keys]]\nkey = 'k-1'\n{toml}\n")
    with pytest.raises(UsageError, match=needle):
        _build(path)


@pytest.mark.parametrize("spec", ["dev:abc", "dev:-1", "dev:inf", ":5"])
def test_bad_developer_key_balance_is_a_usage_error(spec: str) -> None:
    with pytest.raises(UsageError, match="--developer-key"):
        _build(developer=[spec])


def test_cli_bad_developer_balance_exits_2_with_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hunkwise", "sim", "--developer-key", "dev:lots"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: --developer-key 'dev:lots': the balance after ':' must be an amount in USD like 5 or 2.50"
    ]
