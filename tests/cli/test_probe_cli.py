"""``hunkwise test``: one probe per slot against the simulator; the words and the exit code."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

import simkeys
from hunkwise.cli.app import app
from hunkwise.sim import KeyConfig


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def probe(env: dict[str, str], *args: str):
    return CliRunner().invoke(app, ["test", *args], env=env)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_every_slot_usable_exits_0(sim) -> None:
    env = {
        "ZAI_API_KEY": simkeys.DEV_KEY,
        "ZAI_BASE_URL": sim.base_url,
        "OPENAI_API_KEY": simkeys.OPENAI_KEY,
        "OPENAI_BASE_URL": sim.openai_url,
    }
    result = probe(env)
    assert result.exit_code == 0, result.output
    assert "✓ main: zai/glm-5.1 (developer): OK" in result.stdout
    assert "✓ fallback: openai/gpt-5-mini: OK" in result.stdout
    assert "all 2 slots usable" in result.stdout
    assert "key ••••0001 (env: ZAI_API_KEY)" in result.stdout


def test_developer_key_on_the_coding_plan_is_recognised(sim) -> None:
    env = {"ZAI_API_KEY": simkeys.DEV_KEY, "ZAI_BASE_URL": sim.base_url, "HUNKWISE_PLAN": "coding"}
    result = probe(env)
    assert result.exit_code == 1
    assert "this is a Developer API key" in result.stdout
    assert "HUNKWISE_PLAN=developer" in result.stdout
    assert "1 of 1 slot unusable" in result.stdout


def test_unknown_model_gets_the_nearest_catalog_ids(sim) -> None:
    env = {
        "HUNKWISE_PROVIDER": "openai_compatible",
        "HUNKWISE_BASE_URL": sim.zai_developer_url,
        "HUNKWISE_MODEL": "glm-51",
        "HUNKWISE_API_KEY": simkeys.DEV_KEY,
    }
    result = probe(env, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    main = data["slots"][0]
    assert (data["ok"], main["ok"], main["kind"], main["code"]) == (False, False, "model_not_found", "1211")
    assert "glm-5.1" in main["suggestions"] and "not found" in main["summary"]
    assert main["sources"]["model"] == "env: HUNKWISE_MODEL"
    assert main["config"]["api_key"] == "••••0001" and simkeys.DEV_KEY not in result.stdout


def test_exhausted_quota_says_when_it_resets_and_who_serves(sim_factory) -> None:
    server = sim_factory(
        keys=[
            KeyConfig(key=simkeys.CODING_LITE_KEY, kind="coding", tier="lite", quota_5h=0),
            KeyConfig(key=simkeys.OPENAI_KEY, kind="openai"),
        ]
    )
    env = {
        "ZAI_API_KEY": simkeys.CODING_LITE_KEY,
        "ZAI_BASE_URL": server.base_url,
        "HUNKWISE_PLAN": "coding",
        "HUNKWISE_TIER": "lite",
        "OPENAI_API_KEY": simkeys.OPENAI_KEY,
        "OPENAI_BASE_URL": server.openai_url,
    }
    result = probe(env)
    assert result.exit_code == 1
    assert "quota exhausted" in result.stdout and "it resets at" in result.stdout
    assert "The fallback (fallback: openai/gpt-5-mini) will serve until then" in result.stdout
    assert "✓ fallback" in result.stdout and "1 of 2 slots unusable" in result.stdout
    data = json.loads(probe(env, "--json").stdout)
    assert data["slots"][0]["reset_at"] and data["slots"][0]["code"] == "1308"


def test_closed_port_reports_connection_refused() -> None:
    port = closed_port()
    env = {"ZAI_API_KEY": "k-0123456789", "ZAI_BASE_URL": f"http://127.0.0.1:{port}"}
    result = probe(env, "--timeout", "5")
    assert result.exit_code == 1
    assert f"cannot reach http://127.0.0.1:{port}/api/paas/v4" in result.stdout
    assert "refused" in result.stdout


def test_bad_configuration_is_exit_2_not_a_probe() -> None:
    result = probe({"ZAI_API_KEY": "k-0123456789", "HUNKWISE_BASE_URL": "http://example.com/v1"})
    assert result.exit_code == 2
    assert "plain http" in result.stderr and "[HUNKWISE_BASE_URL]" in result.stderr
