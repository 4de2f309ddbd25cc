"""Journey: a developer reviews their branch locally with a real provider configuration.

A git repository whose committed ``.hunkwise.toml`` uses every section and key README,
docs/configuration.md and docs/reviewing.md document (default profile, ``[main]``, profiles with
main and fallback, catalog and tier overrides, ``[review]``, ``[[rules]]``); the key and base URL
come from the environment, pointing at a ``hunkwise sim`` process the way a proxy would be
configured. Then the commands the README lists, in the order a user tries them.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from journeykit import DEV_KEY, OPENAI_KEY, Simulator, clean_env, explain, run_cli

pytestmark = pytest.mark.journey

AUTHZ_RULE = "Every handler checks the caller's permissions before reading or writing data."
MIGRATION_RULE = "Migrations must be reversible and must not lock large tables."

# The documented examples of docs/configuration.md ("TOML files and profiles") and
# docs/reviewing.md ("The rules file"), in one repository file. Values differ from the examples
# only where a journey must see their effect: thinking off (the sent body says so), a price and a
# tier ceiling the catalog does not have (`hunkwise models` shows them), severities that keep a
# medium finding and hide a low one.
HUNKWISE_TOML = f"""\
profile = "team"                    # default profile

[main]                              # settings every profile starts from
thinking = "off"

[profiles.team.main]
card = "glm-5.1"
plan = "developer"
api_key_env = "ZAI_API_KEY"
max_concurrent = 2
temperature = 0.2
max_output_tokens = 8000
timeout = 60

[profiles.team.fallback]
card = "gpt-5-mini"
api_key_env = "OPENAI_API_KEY"

[profiles.local.main]               # any OpenAI-compatible server
provider = "openai_compatible"
base_url = "http://localhost:11434/v1"
model = "qwen2.5-coder:32b"
context_window = 32768

[models."glm-5.1"]
input_price = 1.5
output_price = 4.5
context_window = 200000

[tiers.lite]
prompts_5h = 90

[review]
ignore = ["docs/**", "*.snap"]
include = ["vendor/ours/**"]
max_file_lines = 2000
min_severity = "medium"
max_findings = 25
fail_on = "high"

[[rules]]
name = "authz"
paths = ["src/api/**"]
text = "{AUTHZ_RULE}"
severity = "high"

[[rules]]
paths = ["migrations/*.sql"]
text = "{MIGRATION_RULE}"
"""

BASE_VIEWS = "def ok():\n    return 1\n"
FEATURE_VIEWS = """\


def handler(request):
    try:
        return load(request)
    except:
        return None


def later():
    # TODO: check the caller's permissions
    return 2
"""
BASE_VENDOR = "VERSION = 1\n"
FEATURE_VENDOR = """\


def parse(text):
    try:
        return int(text)
    except:
        return 0
"""


def git(repo: Path, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def added_lines(repo: Path, env: dict[str, str]) -> dict[str, set[int]]:
    """The new-file line numbers the branch adds, per path, read from git itself."""
    out: dict[str, set[int]] = {}
    path = ""
    for line in git(repo, "diff", "-U0", "--no-color", "main...feature", env=env).splitlines():
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else ""
        hunk = re.match(r"@@ -\S+ \+(\d+)(?:,(\d+))? @@", line)
        if hunk and path:
            start, count = int(hunk.group(1)), int(hunk.group(2) or "1")
            out.setdefault(path, set()).update(range(start, start + count))
    return out


@pytest.fixture(scope="module")
def repo(journey_dir: Path) -> Path:
    """main: the config and a few files; feature: changes to review (committed, as reviewed)."""
    root = journey_dir / "repo"
    root.mkdir()
    env = clean_env(journey_dir / "git-home")
    git(root, "init", "-q", "-b", "main", env=env)
    files = {
        ".hunkwise.toml": HUNKWISE_TOML,
        "src/api/views.py": BASE_VIEWS,
        "vendor/ours/lib.py": BASE_VENDOR,
        "docs/guide.md": "# Guide\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "add", ".", env=env)
    git(root, "commit", "-q", "-m", "initial", env=env)
    git(root, "checkout", "-q", "-b", "feature", env=env)
    with (root / "src/api/views.py").open("a") as fh:
        fh.write(FEATURE_VIEWS)
    with (root / "vendor/ours/lib.py").open("a") as fh:
        fh.write(FEATURE_VENDOR)
    with (root / "docs/guide.md").open("a") as fh:
        fh.write("\nexcept: this line is documentation, and docs/** is ignored\n")
    git(root, "commit", "-q", "-am", "feature: handler and parser", env=env)
    return root


@pytest.fixture(scope="module")
def user_env(journey_dir: Path, simulator: Simulator) -> dict[str, str]:
    """The user's shell: a Z.AI Developer key and an OpenAI key in the environment, and the base
    URLs (main and fallback twin) pointing at the simulator, as for a proxy."""
    return clean_env(
        journey_dir / "user-home",
        {
            "ZAI_API_KEY": DEV_KEY,
            "HUNKWISE_BASE_URL": simulator.developer_url,
            "OPENAI_API_KEY": OPENAI_KEY,
            "HUNKWISE_FALLBACK_BASE_URL": simulator.openai_url,
        },
    )


def test_local_review_with_rules(repo: Path, user_env: dict[str, str], simulator: Simulator) -> None:
    added = added_lines(repo, dict(user_env))
    assert set(added) == {"src/api/views.py", "vendor/ours/lib.py", "docs/guide.md"}
    before = len(simulator.requests())

    # 1. `hunkwise review`: the branch against its merge-base with main, text report.
    review = run_cli(["review"], user_env, cwd=repo)
    assert review.returncode == 0, explain(review)
    assert "Bare except" in review.stdout, explain(review)
    sent = simulator.requests()[before:]
    reviews_sent = [r for r in sent if r["key"] == DEV_KEY and "chat/completions" in r["path"]]
    assert reviews_sent, f"hunkwise review sent nothing to the simulator: {sent}"

    # The repository's rule reaches the prompt of the request reviewing src/api/**; the rule
    # scoped to migrations/*.sql (no such file in the change) does not.
    prompts = [json.dumps(r["body"]) for r in reviews_sent]
    api_prompts = [p for p in prompts if "src/api/views.py" in p]
    assert api_prompts and all(json.dumps(AUTHZ_RULE)[1:-1] in p for p in api_prompts), prompts
    assert not any(json.dumps(MIGRATION_RULE)[1:-1] in p for p in prompts)
    # [main] thinking = "off" is merged into the team profile's main slot: GLM gets it disabled.
    assert all(r["body"].get("thinking") == {"type": "disabled"} for r in reviews_sent), reviews_sent

    # 2. `hunkwise review --dry-run`: the plan, and no model call.
    count = len(simulator.requests())
    dry = run_cli(["review", "--dry-run"], user_env, cwd=repo)
    assert dry.returncode == 0, explain(dry)
    assert "dry run" in dry.stdout.lower(), explain(dry)
    assert len(simulator.requests()) == count, "--dry-run called the model"

    # 3. `hunkwise test`: both slots of the team profile answer through the simulator.
    probe = run_cli(["test"], user_env, cwd=repo)
    assert probe.returncode == 0, explain(probe)
    assert "glm-5.1" in probe.stdout and "gpt-5-mini" in probe.stdout, explain(probe)
    assert simulator.key_requests(OPENAI_KEY) >= 1, "the fallback slot was not probed"

    # 4. `hunkwise models`: the catalog after the repository file's overrides.
    models = run_cli(["models", "--json"], user_env, cwd=repo)
    assert models.returncode == 0, explain(models)
    catalog = json.loads(models.stdout)
    glm = next(c for c in catalog["cards"] if c["id"] == "glm-5.1")
    assert (glm["input_price"], glm["output_price"]) == (1.5, 4.5)
    lite = next(t for t in catalog["tiers"] if t["id"] == "lite")
    assert lite["prompts_5h"] == 90
    plain = run_cli(["models"], user_env, cwd=repo)
    assert plain.returncode == 0 and "GLM 5.1" in plain.stdout, explain(plain)

    # 5. `hunkwise review --format json`: findings anchored to added lines, [review] applied.
    as_json = run_cli(["review", "--format", "json"], user_env, cwd=repo)
    assert as_json.returncode == 0, explain(as_json)
    report = json.loads(as_json.stdout)
    assert report["source"] == "llm"
    assert report["summary"]["complete"] is True
    findings = report["findings"]
    assert findings, report
    for finding in findings:
        lines = set(range(finding["start_line"], finding["end_line"] + 1))
        assert lines <= added.get(finding["path"], set()), f"not on an added line: {finding}"
    paths = {f["path"] for f in findings}
    assert "src/api/views.py" in paths
    assert "vendor/ours/lib.py" in paths, "include = ['vendor/ours/**'] did not bring the file back"
    # min_severity = "medium": the TODO (low) is hidden and counted.
    assert all(f["severity"] in ("critical", "high", "medium") for f in findings), findings
    assert report["summary"]["below_min_severity"] >= 1
    # ignore = ["docs/**"]: listed as skipped with the rule that skipped it, never reviewed.
    skipped = {s["path"]: s["rule"] for s in report["summary"]["skipped"]}
    assert skipped.get("docs/guide.md") == "ignore:glob:docs/**", report["summary"]["skipped"]
    assert "docs/guide.md" not in paths
    assert report["usage"]["calls"] >= 1 and "glm-5.1" in report["usage"]["models"]

    # 6. The ledger shows the calls of both reviews (not the dry run).
    usage = run_cli(["usage", "--json"], user_env, cwd=repo)
    assert usage.returncode == 0, explain(usage)
    ledger = json.loads(usage.stdout)
    rows = {row["key"]: row for row in ledger["rows"]}
    assert "glm-5.1" in rows, ledger
    assert rows["glm-5.1"]["calls"] >= 2, ledger
    assert ledger["total"]["cost_usd"] > 0
