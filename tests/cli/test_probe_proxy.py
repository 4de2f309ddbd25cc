"""``hunkwise test`` behind a proxy, as ``--json`` reports it: the proxy of each slot (masked), the
network in effect, a proxy failure coded ``proxy``, and ``NO_PROXY`` going direct."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import simkeys
from hunkwise.cli.app import app
from netkit import free_port


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def probe_json(env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(app, ["test", "--json", "--timeout", "5"], env=env)
    return result.exit_code, json.loads(result.stdout), result.output


def test_an_unreachable_proxy_is_the_diagnosis_and_its_password_is_never_printed(sim: Any) -> None:
    port = free_port()
    env = {
        "ZAI_API_KEY": simkeys.DEV_KEY,
        "ZAI_BASE_URL": sim.base_url,
        "HTTP_PROXY": f"http://ops:pw-9731@127.0.0.1:{port}",
    }
    before = len(sim.requests())
    code, report, output = probe_json(env)
    assert code == 1
    [slot] = report["slots"]
    assert (slot["kind"], slot["code"]) == ("network", "proxy")
    assert slot["proxy"] == f"http://***@127.0.0.1:{port}"
    assert slot["summary"].startswith("main: zai/glm-5.1 (developer): the proxy failed")
    assert f"cannot connect to the proxy http://***@127.0.0.1:{port}" in slot["summary"]
    assert any("NO_PROXY" in line for line in slot["advice"])
    assert report["network"][0] == f"HTTP_PROXY=http://***@127.0.0.1:{port}"
    assert "pw-9731" not in output
    assert len(sim.requests()) == before  # nothing reached the provider


def test_no_proxy_goes_direct_and_says_no_proxy(sim: Any) -> None:
    env = {
        "ZAI_API_KEY": simkeys.DEV_KEY,
        "ZAI_BASE_URL": sim.base_url,
        "HTTP_PROXY": f"http://127.0.0.1:{free_port()}",  # would fail: nothing listens there
        "NO_PROXY": "127.0.0.1",
    }
    code, report, _ = probe_json(env)
    assert code == 0, report
    [slot] = report["slots"]
    assert slot["ok"] and slot["proxy"] is None
    assert "via proxy" not in slot["summary"]
