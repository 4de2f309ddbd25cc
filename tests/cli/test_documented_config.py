"""Every ``.hunkwise.toml`` / ``config.toml`` example in README.md and docs/ loads through the real
loader and works with the installed ``hunkwise`` command: documented config never exits 2."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import simkeys
from hunkwise.config.files import ConfigFiles, parse_config_text
from hunkwise.config.review_settings import review_config
from hunkwise.config.settings import Settings

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "examples" / "sample.diff"
NOT_HUNKWISE_CONFIG = {"simulator.md"}  # its TOML is the simulator's own sim.toml
_BLOCK = re.compile(r"^[ \t]*```toml\n(.*?)^[ \t]*```", re.S | re.M)


def documented_examples() -> list[tuple[str, str]]:
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if path.name in NOT_HUNKWISE_CONFIG:
            continue
        for i, match in enumerate(_BLOCK.finditer(path.read_text("utf-8")), start=1):
            found.append((f"{path.name}#{i}", textwrap.dedent(match.group(1))))
    return found


EXAMPLES = documented_examples()


def test_the_docs_have_the_examples_we_promise() -> None:
    names = [name for name, _ in EXAMPLES]
    assert any(n.startswith("configuration.md") for n in names)
    assert any(n.startswith("reviewing.md") for n in names)
    assert any("[review]" in text and "[[rules]]" in text for _, text in EXAMPLES)
    assert any("max_cost" in text for _, text in EXAMPLES)


@pytest.mark.parametrize(("name", "text"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
@pytest.mark.parametrize("kind", ["repo", "user"])
def test_documented_example_loads(name: str, text: str, kind: str, tmp_path: Path) -> None:
    path = tmp_path / ("config.toml" if kind == "user" else ".hunkwise.toml")
    config = parse_config_text(text, path, kind)
    review_config(ConfigFiles([config]), settings=Settings.from_env({}))


def hunkwise(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    script = Path(sys.executable).with_name("hunkwise")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "hunkwise"]
    return subprocess.run(
        [*command, *args], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(("name", "text"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_documented_example_through_the_installed_cli(name: str, text: str, tmp_path: Path, sim) -> None:
    (tmp_path / ".hunkwise.toml").write_text(text)
    dry = hunkwise(["review", "--diff", str(SAMPLE), "--dry-run"], tmp_path)  # no key at all
    assert dry.returncode == 0, dry.stderr
    assert "Planned for " in dry.stdout
    models = hunkwise(["models", "--json"], tmp_path)
    assert models.returncode == 0, models.stderr
    keys = {  # every key an example may name, all pointing at the simulator
        "ZAI_API_KEY": simkeys.DEV_KEY,
        "ZAI_CODING_KEY": simkeys.CODING_PRO_KEY,
        "OPENAI_API_KEY": simkeys.OPENAI_KEY,
        "ZAI_BASE_URL": sim.base_url,
        "OPENAI_BASE_URL": f"{sim.base_url}/v1",
    }
    probe = hunkwise(["test"], tmp_path, **keys)
    assert probe.returncode == 0, probe.stdout + probe.stderr
