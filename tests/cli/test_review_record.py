"""``hunkwise review --record DIR`` then ``--replay DIR``: the same report from the recorded
answers, with no key and no network; a request without a recording fails its chunk and is named."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hunkwise.cli.app import app

SAMPLE = Path(__file__).parents[2] / "examples" / "sample.diff"


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def review(*args: str) -> object:
    return CliRunner().invoke(app, ["review", "--diff", str(SAMPLE), *args], env={})


def test_record_offline_then_replay_without_key_or_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = review("--offline", "--record", "rec", "--format", "json")
    assert recorded.exit_code == 0, recorded.output
    assert len(list((tmp_path / "rec").glob("*.json"))) == 1

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the replay tried to open a connection")

    with monkeypatch.context() as blocked:
        blocked.setattr(socket.socket, "connect", no_network)
        replayed = review("--replay", "rec", "--format", "json")
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1 answer(s)" in replayed.stderr
    live, again = json.loads(recorded.stdout), json.loads(replayed.stdout)
    assert again["findings"] == live["findings"] and len(again["findings"]) == 4
    assert again["usage"]["input_tokens"] == live["usage"]["input_tokens"]
    assert again["usage"]["cost_usd"] == live["usage"]["cost_usd"]


def test_a_request_without_recording_fails_its_chunk_and_is_named(tmp_path: Path) -> None:
    (tmp_path / "rec").mkdir()
    result = review("--replay", "rec", "--format", "json")
    assert result.exit_code == 3, result.output
    assert "replay: 1 request(s) had no recording in rec" in result.stderr
    doc = json.loads(result.stdout)
    (failed,) = doc["summary"]["failed_chunks"]
    assert "no recording of this request" in failed["detail"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--offline", "--replay", "rec"], "--replay serves recorded answers instead of a model"),
        (["--record", "a", "--replay", "b"], "--record and --replay exclude each other"),
        (["--dry-run", "--record", "a"], "--dry-run calls no model"),
        (["--replay", "absent"], "--replay absent: no such directory"),
    ],
)
def test_option_errors(args: list[str], expected: str) -> None:
    result = review(*args)
    assert result.exit_code == 2
    assert expected in result.stderr
