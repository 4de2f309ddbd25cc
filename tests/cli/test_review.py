"""``hunkwise review`` end to end: CLI -> git/diff input -> engine -> gateway -> simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

import simkeys
from hunkwise.cli.app import app
from hunkwise.sim import KeyConfig

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "examples" / "sample.diff"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
EXPECTED_LINES = {
    ("src/inventory/config.py", 10),
    ("src/inventory/pricing.py", 12),
    ("src/inventory/pricing.py", 13),
    ("src/inventory/pricing.py", 19),
}


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def review(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None):
    return CliRunner().invoke(app, ["review", *args], env=env or {}, input=stdin)


def sim_env(server) -> dict[str, str]:
    return {"ZAI_API_KEY": simkeys.DEV_KEY, "ZAI_BASE_URL": server.base_url}


def test_offline_sample_json_findings_on_the_right_lines() -> None:
    result = review("--offline", "--diff", str(SAMPLE), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["source"] == "offline-simulator"
    assert {(f["path"], f["start_line"]) for f in doc["findings"]} == EXPECTED_LINES
    assert all(f["model"] == "glm-5.1" and f["title"].startswith("[simulator]") for f in doc["findings"])
    assert doc["summary"]["files_reviewed"] == 3 and doc["summary"]["lines_reviewed"] == 36
    assert doc["usage"]["calls"] == 1 and doc["summary"]["failed_chunks"] == []


def test_offline_text_says_plainly_it_is_a_simulator() -> None:
    result = review("--offline", "--diff", str(SAMPLE))
    assert result.exit_code == 0, result.output
    assert "OFFLINE SIMULATOR" in result.stdout and "not from a language model" in result.stdout
    assert "AWS_ACCESS_KEY_ID" in result.stdout  # the code line of the finding is shown


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 1), ("high", 1), (None, 0)])
def test_fail_on_exit_codes(fail_on: str | None, code: int) -> None:
    args = ["--offline", "--diff", str(SAMPLE), "-q", "-f", "json"]
    result = review(*args, *(["--fail-on", fail_on] if fail_on else []))
    assert result.exit_code == code, result.output


def test_fail_on_with_min_severity_and_output_file(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "review.md"
    result = review("--offline", "--diff", str(SAMPLE), "-f", "markdown", "-o", str(out),
                    "--min-severity", "critical", "--fail-on", "high")  # fmt: skip
    assert result.exit_code == 1, result.output
    md = out.read_text()
    assert md.startswith("## hunkwise review") and "offline simulator" in md
    assert "Hard-coded secret" in md and "eval" not in md.split("### Findings")[1]
    assert "report written to" in result.stderr


def test_sarif_output_is_valid() -> None:
    result = review("--offline", "--diff", str(SAMPLE), "-f", "sarif")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SARIF_SCHEMA)
    assert len(doc["runs"][0]["results"]) == 4


def test_diff_from_stdin() -> None:
    result = review("--offline", "--diff", "-", "-f", "json", stdin=SAMPLE.read_bytes())
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["findings"]) == 4


def test_dry_run_makes_no_model_call(sim) -> None:
    result = review("--diff", str(SAMPLE), "--dry-run", env=sim_env(sim))
    assert result.exit_code == 0, result.output
    assert "dry run" in result.stdout and "estimated cost $" in result.stdout
    assert sim.requests() == [] and sim.key_stats(simkeys.DEV_KEY)["ok"] == 0
    as_json = review("--diff", str(SAMPLE), "--dry-run", "-f", "json", env=sim_env(sim))
    plan = json.loads(as_json.stdout)["plan"]
    assert plan["dry_run"] is True and len(plan["chunks"]) == 1 and plan["estimated_cost_usd"] > 0
    assert sim.requests() == []


def test_max_cost_refuses_before_any_call(sim) -> None:
    result = review("--diff", str(SAMPLE), "--max-cost", "0.0001", env=sim_env(sim))
    assert result.exit_code == 2
    assert "above the cost ceiling of $0.0001 (--max-cost)" in result.stderr
    assert "nothing was sent" in result.stderr and "--max-cost 0.02" in result.stderr
    assert sim.requests() == []
    ok = review("--diff", str(SAMPLE), "--max-cost", "5", "-f", "json", env=sim_env(sim))
    assert ok.exit_code == 0, ok.output
    assert len(sim.requests()) == 1


def test_real_config_against_the_simulator_records_usage(sim) -> None:
    result = review("--diff", str(SAMPLE), "-f", "json", env=sim_env(sim))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["source"] == "llm" and len(doc["findings"]) == 4
    usage = CliRunner().invoke(app, ["usage", "--json"], env={})
    assert usage.exit_code == 0, usage.output
    ledger = json.loads(usage.stdout)
    assert ledger["runs"] == 1 and ledger["total"]["calls"] == 1
    assert ledger["total"]["input_tokens"] == doc["usage"]["input_tokens"]
    from hunkwise.config.settings import Settings
    from hunkwise.store import database_url, load_ratios, open_store

    assert "glm-5.1" in load_ratios(
        open_store(database_url(Settings.from_env()))
    )  # the estimator's calibration was stored


def test_failover_is_visible_in_the_report(sim_factory) -> None:
    server = sim_factory(
        keys=[KeyConfig(key=simkeys.CODING_LITE_KEY, kind="coding", tier="lite", quota_5h=0),
              KeyConfig(key=simkeys.OPENAI_KEY, kind="openai")]
    )  # fmt: skip
    env = {
        "HUNKWISE_MODEL": "glm-5.1", "HUNKWISE_PLAN": "coding", "HUNKWISE_TIER": "lite",
        "HUNKWISE_API_KEY": simkeys.CODING_LITE_KEY, "ZAI_BASE_URL": server.base_url,
        "OPENAI_API_KEY": simkeys.OPENAI_KEY, "OPENAI_BASE_URL": server.openai_url,
    }  # fmt: skip
    result = review("--diff", str(SAMPLE), "-f", "json", env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["usage"]["failovers"] == 1
    assert list(doc["usage"]["models"]) == ["gpt-5-mini"]
    text = review("--diff", str(SAMPLE), env=env)  # the main's circuit is open now: skipped
    assert text.exit_code == 0, text.output
    assert "Failovers" in text.stdout and "gpt-5-mini (1 call(s))" in text.stdout


def test_empty_diff_prints_nothing_to_review(tmp_path: Path) -> None:
    empty = tmp_path / "empty.diff"
    empty.write_bytes(b"")
    result = review("--offline", "--diff", str(empty))
    assert result.exit_code == 0 and result.stdout.strip() == "nothing to review"


def test_no_credentials_explains_keys_and_offline() -> None:
    result = review("--diff", str(SAMPLE))
    assert result.exit_code == 2
    assert "ZAI_API_KEY" in result.stderr and "--offline" in result.stderr


def test_bad_key_is_a_configuration_error(sim) -> None:
    result = review(
        "--diff", str(SAMPLE), "-q", env={"ZAI_API_KEY": "wrong-key-123456", "ZAI_BASE_URL": sim.base_url}
    )
    assert result.exit_code == 2, result.output
    assert "no request could be served" in result.stderr and "auth" in result.stderr
    assert "wrong-key-123456" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "--format must be one of"),
        (["--fail-on", "urgent"], "--fail-on must be one of"),
        (["--min-severity", "x"], "--min-severity must be one of"),
        (["--max-findings", "0"], "--max-findings must be at least 1"),
        (["--staged"], "cannot be combined"),
        (["--model", "glm-5"], "drop the model options"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = review("--offline", "--diff", str(SAMPLE), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_not_a_repo_and_bad_ref(tmp_path: Path) -> None:
    result = review("--offline")
    assert result.exit_code == 2 and "not inside a git repository" in result.stderr
    repo = make_repo(tmp_path / "repo")
    os.chdir(repo)
    bad = review("--offline", "--base", "no-such-branch")
    assert bad.exit_code == 2 and "unknown git ref 'no-such-branch'" in bad.stderr
    missing = review("--offline", "--diff", str(tmp_path / "nope.diff"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@e", *args], cwd=cwd, check=True,
                   capture_output=True)  # fmt: skip


def make_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "app.py").write_text("def main():\n    return 1\n")
    git(path, "add", ".")
    git(path, "commit", "-qm", "init")
    return path


def test_git_branch_review_and_rules_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    os.chdir(repo)
    git(repo, "checkout", "-q", "-b", "feature")
    assert review("--offline").stdout.strip() == "nothing to review"  # no commits on the branch yet
    (repo / "app.py").write_text("def main():\n    return eval(input())\n")
    (repo / "notes.txt").write_text("TODO: later\n")
    (repo / ".hunkwise.toml").write_text('[review]\nignore = ["*.txt"]\nfail_on = "high"\n')
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "feature")
    result = review("--offline", "-f", "json")
    assert result.exit_code == 1, result.output  # fail_on = "high" from the rules file
    doc = json.loads(result.stdout)
    assert [(f["path"], f["start_line"]) for f in doc["findings"]] == [("app.py", 2)]
    assert [s["rule"] for s in doc["summary"]["skipped"]] == ["ignore:glob:*.txt"]
    assert doc["change"]["kind"] == "branch" and doc["change"]["base_ref"] == "main"
    (repo / "app.py").write_text("def main():\n    return eval(input())\n# TODO staged\n")
    git(repo, "add", "app.py")
    staged = review("--offline", "--staged", "-f", "json", "--fail-on", "critical")
    assert staged.exit_code == 0, staged.output
    assert [(f["path"], f["start_line"]) for f in json.loads(staged.stdout)["findings"]] == [("app.py", 3)]


# --- a server whose model answers prose: the chunk fails after one repair -> exit 3 -------------
class ProseServer(BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self) -> None:
        ProseServer.calls += 1
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        payload = json.dumps({
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "Looks good to me, ship it!"}}],
            "usage": {"prompt_tokens": 900, "completion_tokens": 9, "total_tokens": 909},
        }).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def prose_url() -> Iterator[str]:
    ProseServer.calls = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ProseServer)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_garbage_model_output_makes_the_review_incomplete(prose_url: str) -> None:
    env = {"HUNKWISE_PROVIDER": "openai_compatible", "HUNKWISE_BASE_URL": prose_url,
           "HUNKWISE_MODEL": "prose-7b", "HUNKWISE_API_KEY": "local-key-0000"}  # fmt: skip
    result = review("--diff", str(SAMPLE), "-f", "json", env=env)
    assert result.exit_code == 3, result.output
    [failed] = json.loads(result.stdout)["summary"]["failed_chunks"]
    assert failed["reason"] == "invalid_output" and ProseServer.calls == 2


def test_real_subprocess_offline_review(tmp_path: Path) -> None:
    env = {**os.environ, "HUNKWISE_HOME": str(tmp_path / "home")}
    for name in ("ZAI_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", "hunkwise", "review", "--offline", "--diff", str(SAMPLE),
         "--fail-on", "critical"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "OFFLINE SIMULATOR" in proc.stdout and "Hard-coded secret" in proc.stdout
    assert "\x1b[" not in proc.stdout  # not a terminal: no colours, no progress display
