"""Journey: a user with a key compares two configurations on a dataset with one command.

The installed ``hunkwise`` script, a ``hunkwise sim`` process behind a base URL and a key (the
way a proxy or a self-hosted server is configured, never ``--offline``), two ``.hunkwise.toml``
files that differ in one ``[review]`` setting, the table read as a user reads it, then the JSON,
then a replay of the recorded answers with the key gone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from journeykit import DEV_KEY, Simulator, clean_env, explain, run_cli

pytestmark = pytest.mark.journey

DATA = Path(__file__).resolve().parents[1] / "eval" / "data"


def _table(stdout: str) -> dict[str, list[str]]:
    """The Markdown table's rows by their first cell."""
    rows = [line for line in stdout.splitlines() if line.startswith("| ")]
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in rows]
    return {row[0]: row[1:] for row in cells}


def test_compare_two_configurations(journey_dir: Path, simulator: Simulator) -> None:
    work = journey_dir / "eval-work"
    work.mkdir()
    for name, review in (("everything", ""), ("medium-up", '[review]\nmin_severity = "medium"\n')):
        (work / f"{name}.toml").write_text(
            f'[main]\ncard = "glm-5.1"\nplan = "developer"\nbase_url = "{simulator.developer_url}"\n'
            f'api_key_env = "ZAI_API_KEY"\nthinking = "off"\n\n{review}'
        )
    env = clean_env(journey_dir / "eval-home", {"ZAI_API_KEY": DEV_KEY})
    before = simulator.key_requests(DEV_KEY)
    args = ["eval", str(DATA), "--config", "everything.toml", "--config", "medium-up.toml"]

    table = run_cli(args, env, cwd=work)
    assert table.returncode == 0, explain(table)
    assert simulator.key_requests(DEV_KEY) - before == 8, "4 cases x 2 configs: one review request each"
    assert "figures from the configured models" in table.stdout, explain(table)
    rows = _table(table.stdout)
    assert rows["figure"] == ["everything", "medium-up"], explain(table)
    assert rows["precision"] == ["0.600", "1.000"]
    assert rows["recall"] == ["1.000", "0.667"]
    assert rows["F1"] == ["0.750", "0.800"]
    assert rows["false positives on clean cases"] == ["1 in 1 of 2", "0 in 0 of 2"]
    assert all(cell.startswith("$") for cell in rows["cost per true positive"])
    assert "everything: main: zai/glm-5.1" in table.stdout

    # The same comparison as JSON, from the cache: no request this time.
    sent = simulator.key_requests(DEV_KEY)
    as_json = run_cli([*args, "--json"], env, cwd=work)
    assert as_json.returncode == 0, explain(as_json)
    assert simulator.key_requests(DEV_KEY) == sent
    doc = json.loads(as_json.stdout)
    assert doc["source"] == "llm" and doc["simulated"] is False
    everything, medium = doc["configs"]
    assert (everything["precision"], everything["recall"], everything["f1"], everything["cases"]) == (
        0.6,
        1.0,
        0.75,
        4,
    )
    assert (medium["precision"], medium["recall"], medium["f1"], medium["cases"]) == (1.0, 0.6667, 0.8, 4)
    assert everything["cached_cases"] == 4

    # Record the answers (a recording run bypasses the cache, so every answer is on disk), then
    # replay them with no key in the environment and no request to the provider.
    recorded = run_cli([*args, "--record", "answers", "--json"], env, cwd=work)
    assert recorded.returncode == 0, explain(recorded)
    assert simulator.key_requests(DEV_KEY) == sent + 8
    sent = simulator.key_requests(DEV_KEY)
    keyless = clean_env(journey_dir / "eval-home")
    replay = run_cli([*args, "--replay", "answers", "--json"], keyless, cwd=work)
    assert replay.returncode == 0, explain(replay)
    assert simulator.key_requests(DEV_KEY) == sent
    replayed = json.loads(replay.stdout)["configs"]
    assert [(c["precision"], c["recall"], c["f1"]) for c in replayed] == [
        (0.6, 1.0, 0.75),
        (1.0, 0.6667, 0.8),
    ]
    assert [c["cost_usd"] for c in replayed] == [everything["cost_usd"], medium["cost_usd"]]
    for file in (work / "answers").glob("*.json"):
        assert DEV_KEY not in file.read_text()
