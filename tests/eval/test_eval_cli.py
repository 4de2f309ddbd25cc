"""``hunkwise eval`` end to end: dataset -> real review engine -> simulator -> matching -> figures.

Exact figures are those of tests/eval/data under the simulator's fixed rules (counted by hand in
docs/eval.md's terms): py-eval-expression finds its eval() (TP) and a TODO far from it (FP);
js-hardcoded-key finds the key (TP) and a TODO three lines above the missing error handler (a TP
by location, rejected by the judge); go-clean-greeting finds nothing; py-clean-todo's TODO is a
false positive on a clean change.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import simkeys
from hunkwise.cli.app import app
from hunkwise.evaluation import ConfigUnderTest, config_digest, evaluate, load_dataset
from hunkwise.evaluation.cache import ResultCache
from hunkwise.gateway.types import Secret, Slot
from hunkwise.review.engine import ReviewOptions

DATA = Path(__file__).parent / "data"
STRICT = '[review]\nmin_severity = "medium"\n'


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the cache directory lands here, outside any repository


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, ["eval", *args], env=env or {})


def figures(config: dict[str, Any]) -> tuple[Any, ...]:
    return (
        config["precision"],
        config["recall"],
        config["f1"],
        config["true_positives"],
        config["false_positives"],
        config["false_negatives"],
    )


def test_offline_json_has_the_exact_figures() -> None:
    result = run(str(DATA), "--offline", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["cases"], doc["source"], doc["simulated"], doc["tolerance"]) == (4, "simulator", True, 3)
    (config,) = doc["configs"]
    assert config["name"] == "simulator" and config["source"] == "simulator"
    assert figures(config) == (0.6, 1.0, 0.75, 3, 2, 0)
    assert config["cases"] == 4 and config["findings"] == 5 and config["findings_per_case"] == 1.25
    assert (config["clean_cases"], config["clean_false_positives"], config["clean_cases_flagged"]) == (
        2,
        1,
        1,
    )
    assert config["incomplete_cases"] == 0 and config["failovers"] == 0 and config["calls"] == 4
    assert config["tokens"]["input"] > 0 and config["tokens"]["output"] > 0
    assert config["cost_per_true_positive_usd"] == pytest.approx(config["cost_usd"] / 3, abs=1e-6)
    assert config["latency_s"]["p50"] <= config["latency_s"]["p95"]
    per_case = {c["case"]: c for c in config["per_case"]}
    assert (per_case["js-hardcoded-key"]["true_positives"], per_case["py-clean-todo"]["false_positives"]) == (
        2,
        1,
    )
    assert "reviewing cases" not in result.stderr  # no progress bar with --json (nor off a TTY)


def test_two_configs_side_by_side_with_the_judge(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text("# the defaults\n")
    (tmp_path / "strict.toml").write_text(STRICT)
    args = [str(DATA), "--offline", "-c", "base.toml", "-c", "strict.toml", "--judge"]
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    base, strict = json.loads(result.stdout)["configs"]
    assert (base["name"], strict["name"]) == ("base", "strict")
    assert figures(base) == (0.6, 1.0, 0.75, 3, 2, 0)
    assert figures(strict) == (1.0, 0.6667, 0.8, 2, 0, 1)  # the TODOs (low) are hidden
    # The judge rejects the TODO that sits near the missing error handler: a miss and a false positive.
    assert figures(base["judged"]) == (0.4, 0.6667, 0.5, 2, 3, 1)
    assert figures(strict["judged"]) == (1.0, 0.6667, 0.8, 2, 0, 1)
    assert base["judged"]["calls"] == 4 and base["judged"]["unreadable_verdicts"] == 0
    assert strict["judged"]["calls"] == 0  # the same pairs were judged for base: cached verdicts

    table = run(*args)
    assert table.exit_code == 0, table.output
    text = table.stdout
    assert "offline simulator" in text and "not a language model" in text
    cells = [
        [c.strip() for c in line.split("|")[1:-1]] for line in text.splitlines() if line.startswith("| ")
    ]
    rows = {row[0]: row[1:] for row in cells}
    assert rows["figure"] == ["base", "strict"]
    assert rows["precision"] == ["0.600", "1.000"] and rows["F1"] == ["0.750", "0.800"]
    assert rows["judged F1"] == ["0.500", "0.800"]
    assert rows["cost per true positive (simulated)"][0].startswith("$")


def test_an_interrupted_run_resumes_from_the_cache(tmp_path: Path, sim: Any) -> None:
    """Stopped after two cases, the next run reviews only the other two (counted at the
    simulator), and a third run reviews nothing, with the same figures."""
    dataset = load_dataset(DATA)
    slot = Slot(
        name="main", provider="zai", base_url=sim.zai_developer_url, model="glm-5.1",
        api_key=Secret(simkeys.DEV_KEY), plan="developer", input_price=1.0, output_price=3.0,
    )  # fmt: skip
    config = ConfigUnderTest("c", (slot,), ReviewOptions(), config_digest([], [slot], "llm"))
    cache = ResultCache(tmp_path / "cache")

    class StopAfter:
        def __init__(self, n: int) -> None:
            self.n = n

        def started(self, total: int) -> None:
            assert total == 4

        def case_done(self, config: str, case_id: str, *, cached: bool) -> None:
            self.n -= 1
            if self.n == 0:
                raise KeyboardInterrupt

    def requests() -> int:
        return int(sim.key_stats(simkeys.DEV_KEY)["requests"])

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(evaluate(dataset, [config], source="llm", cache=cache, progress=StopAfter(2)))
    assert requests() == 2
    resumed = asyncio.run(evaluate(dataset, [config], source="llm", cache=ResultCache(tmp_path / "cache")))
    assert requests() == 4
    assert resumed.results[0].score.cached_cases == 2
    again = asyncio.run(evaluate(dataset, [config], source="llm", cache=ResultCache(tmp_path / "cache")))
    assert requests() == 4 and again.results[0].score.cached_cases == 4
    first, second = resumed.as_dict()["configs"][0], again.as_dict()["configs"][0]
    assert figures(first) == figures(second) == (0.6, 1.0, 0.75, 3, 2, 0)
    assert first["cost_usd"] == second["cost_usd"] and first["tokens"] == second["tokens"]


def test_the_cli_reuses_its_cache_and_no_cache_does_not() -> None:
    first = json.loads(run(str(DATA), "--offline", "--json").stdout)["configs"][0]
    second = json.loads(run(str(DATA), "--offline", "--json").stdout)["configs"][0]
    fresh = json.loads(run(str(DATA), "--offline", "--json", "--no-cache").stdout)["configs"][0]
    assert (first["cached_cases"], second["cached_cases"], fresh["cached_cases"]) == (0, 4, 0)
    assert figures(first) == figures(second) == figures(fresh)
    assert Path(".hunkwise-eval-cache").is_dir()


def test_the_verification_pass_is_measured_with_its_own_tokens(tmp_path: Path) -> None:
    (tmp_path / "plain.toml").write_text("# no verification\n")
    (tmp_path / "verified.toml").write_text("[review]\nverify = true\nmin_score = 6\n")
    args = [str(DATA), "--offline", "-c", "plain.toml", "-c", "verified.toml"]
    plain, verified = json.loads(run(*args, "--json").stdout)["configs"]
    assert plain["verification"]["tokens"] == {"input": 0, "output": 0}
    extra = verified["verification"]["tokens"]
    assert extra["input"] > 0 and verified["tokens"]["input"] == plain["tokens"]["input"] + extra["input"]
    assert verified["calls"] > plain["calls"]
    text = run(*args).stdout
    assert "of which verification, in / out" in text


def test_a_cases_head_files_are_where_code_context_comes_from(tmp_path: Path) -> None:
    head = "".join(f"def helper_{i}(value):\n    return value + {i}\n\n\n" for i in range(30))
    head += "def changed(value):\n    return value * 3\n"
    lines = head.splitlines()
    n = len(lines)
    diff = (
        "diff --git a/src/m.py b/src/m.py\nindex 1111111..2222222 100644\n--- a/src/m.py\n+++ b/src/m.py\n"
        f"@@ -{n - 1},2 +{n - 1},2 @@\n {lines[-2]}\n-    return value * 2\n+{lines[-1]}\n"
    )
    case = {"id": "ctx", "language": "python", "expected": [], "diff": diff}
    (tmp_path / "with-head.jsonl").write_text(json.dumps({**case, "head": {"src/m.py": head}}) + "\n")
    (tmp_path / "without-head.jsonl").write_text(json.dumps(case) + "\n")
    (tmp_path / "hunk.toml").write_text('[review]\ncontext = "hunk"\n')
    (tmp_path / "file.toml").write_text('[review]\ncontext = "file"\n')

    def tokens(dataset: str) -> list[int]:
        result = run(dataset, "--offline", "--json", "-c", "hunk.toml", "-c", "file.toml")
        assert result.exit_code == 0, result.output
        return [c["tokens"]["input"] for c in json.loads(result.stdout)["configs"]]

    hunk, whole_file = tokens("with-head.jsonl")
    assert whole_file > hunk + 200  # the 30 other functions of the head file were sent as context
    assert tokens("without-head.jsonl") == [hunk, hunk]


def test_cases_reviewed_at_once_give_the_same_figures_in_dataset_order() -> None:
    one = json.loads(run(str(DATA), "--offline", "--json", "--no-cache").stdout)["configs"][0]
    at_once = run(str(DATA), "--offline", "--json", "--no-cache", "--jobs", "3")
    three = json.loads(at_once.stdout)["configs"][0]
    assert figures(one) == figures(three)
    assert [c["case"] for c in one["per_case"]] == [c["case"] for c in three["per_case"]]
    assert one["tokens"] == three["tokens"] and one["findings"] == three["findings"]


def test_record_then_replay_gives_identical_figures_without_network(
    tmp_path: Path, sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, extra in (("a", ""), ("b", STRICT)):
        (tmp_path / f"{name}.toml").write_text(
            f'[main]\nprovider = "zai"\nmodel = "glm-5.1"\nbase_url = "{sim.zai_developer_url}"\n'
            f'api_key_env = "SIM_KEY"\n{extra}'
        )
    configs = ["-c", "a.toml", "-c", "b.toml"]
    recorded = run(str(DATA), *configs, "--record", "rec", "--json", env={"SIM_KEY": simkeys.DEV_KEY})
    assert recorded.exit_code == 0, recorded.output
    assert "recorded 8 answer(s) (4 distinct)" in recorded.stderr
    sent = sim.key_stats(simkeys.DEV_KEY)["requests"]
    assert sent == 8

    # The recordings are JSON, and hold neither the key nor any header.
    files = sorted((tmp_path / "rec").glob("*.json"))
    assert len(files) == 4
    for file in files:
        text = file.read_text()
        doc = json.loads(text)
        assert doc["format"] == "hunkwise-recording/1" and doc["model"] == "glm-5.1"
        assert simkeys.DEV_KEY not in text and "authorization" not in text.lower() and "Bearer" not in text

    # Replay: no key in the environment, and no socket may even be opened.
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the replay tried to open a connection")

    with monkeypatch.context() as blocked:
        blocked.setattr(socket.socket, "connect", no_network)
        blocked.setattr(socket.socket, "connect_ex", no_network)
        replayed = run(str(DATA), *configs, "--replay", "rec", "--json")
    assert replayed.exit_code == 0, replayed.output
    assert sim.key_stats(simkeys.DEV_KEY)["requests"] == sent
    assert "replayed 8 answer(s)" in replayed.stderr and "no network used" in replayed.stderr
    live, again = json.loads(recorded.stdout), json.loads(replayed.stdout)
    assert again["source"] == "replay"
    for before, after in zip(live["configs"], again["configs"], strict=True):
        assert figures(before) == figures(after)
        for key in ("findings", "tokens", "cost_usd", "calls", "clean_false_positives", "failovers"):
            assert before[key] == after[key], key
    assert figures(again["configs"][0]) == (0.6, 1.0, 0.75, 3, 2, 0)

    # A request without a recording fails its case visibly and is named.
    files[0].unlink()
    partial = run(str(DATA), *configs, "--replay", "rec", "--json")
    assert partial.exit_code == 3, partial.output
    assert "replay: 2 request(s) had no recording" in partial.stderr  # one request, in both configs
    assert files[0].stem[:16] in partial.stderr
    doc = json.loads(partial.stdout)
    assert [c["incomplete_cases"] for c in doc["configs"]] == [1, 1]
    failed = [c for c in doc["configs"][0]["per_case"] if not c["complete"]]
    assert len(failed) == 1 and "no recording" in failed[0]["failure"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nowhere"], "dataset nowhere does not exist"),
        ([str(DATA), "--offline", "--replay", "rec"], "--offline and --replay exclude each other"),
        ([str(DATA), "--offline", "--tolerance", "-1"], "--tolerance is a number of lines"),
        ([str(DATA), "--offline", "-c", "missing.toml"], "--config missing.toml: no such file"),
        ([str(DATA), "--replay", "no-recordings"], "--replay no-recordings: no such directory"),
        ([str(DATA), "--record", "a", "--replay", "b"], "--record and --replay exclude each other"),
        ([str(DATA), "--offline", "--judge-config", "j.toml"], "add --judge"),
        ([str(DATA), "--offline", "--jobs", "0"], "--jobs is how many cases are reviewed at once"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], expected: str) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.stderr


def test_a_malformed_case_and_a_bad_config_name_what_to_fix(tmp_path: Path) -> None:
    root = tmp_path / "cases"
    case = root / "bad-case"
    case.mkdir(parents=True)
    (case / "change.diff").write_text((DATA / "py-clean-todo" / "change.diff").read_text())
    (case / "case.json").write_text(json.dumps({"id": "bad-case", "language": "python", "expected": [{}]}))
    result = run(str(root), "--offline")
    assert result.exit_code == 2
    assert f"{case / 'case.json'}: field 'expected[0].path' is missing" in result.stderr

    (tmp_path / "typo.toml").write_text('[reviw]\nmin_severity = "high"\n')
    bad = run(str(DATA), "--offline", "-c", str(tmp_path / "typo.toml"))
    assert bad.exit_code == 2
    assert "typo.toml" in bad.stderr and "reviw" in bad.stderr and "Traceback" not in bad.output


def test_a_key_the_provider_refuses_stops_at_the_first_case(tmp_path: Path, sim: Any) -> None:
    (tmp_path / "bad.toml").write_text(
        f'[main]\nprovider = "zai"\nmodel = "glm-5.1"\nbase_url = "{sim.zai_developer_url}"\n'
        'api_key_env = "SIM_KEY"\n'
    )
    result = run(str(DATA), "-c", "bad.toml", env={"SIM_KEY": "not-a-simulator-key"})
    assert result.exit_code == 2, result.output
    assert "configuration 'bad': no request could be served" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_key_without_offline_says_what_to_do() -> None:
    result = run(str(DATA))
    assert result.exit_code == 2
    assert "no model is configured" in result.stderr and "--offline" in result.stderr
