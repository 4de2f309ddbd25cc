"""The collector pause of a command's start-up (hunkwise.cli.startup): only in a process of
hunkwise's own, resumed with what start-up built frozen, and never left off by a command."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hunkwise.cli import startup
from hunkwise.cli.app import app

SAMPLE = Path(__file__).parents[2] / "examples" / "sample.diff"


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    startup._CollectorPause.armed = startup._CollectorPause.paused = False
    gc.unfreeze()
    gc.enable()


def test_an_unarmed_interpreter_keeps_its_collector() -> None:
    startup.pause_collector()
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    startup.resume_collector()
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_armed_pause_then_resume_freezes_what_start_up_built() -> None:
    startup.arm()
    startup.pause_collector()
    assert not gc.isenabled()
    built = [[] for _ in range(100)]  # objects a start-up keeps
    startup.resume_collector()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built)
    startup.resume_collector()  # idempotent
    assert gc.isenabled()


def test_a_collector_switched_off_by_someone_else_stays_off() -> None:
    startup.arm()
    gc.disable()
    startup.pause_collector()
    startup.resume_collector()
    assert not gc.isenabled()


def test_a_review_in_this_interpreter_leaves_the_collector_on(tmp_path: Path) -> None:
    frozen = gc.get_freeze_count()  # the test session's own freeze (tests/conftest.py), if any
    result = CliRunner().invoke(app, ["review", "--offline", "-q", "--diff", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_a_review_process_runs_its_review_with_the_collector_on(tmp_path: Path) -> None:
    """``python -m hunkwise`` is armed: the review itself (the engine's first chunk) sees the
    collector on again, and the process reviews as usual."""
    probe = (
        "import gc, sys\n"
        "import hunkwise.review.engine as engine\n"
        "real = engine.run_review\n"
        "async def spy(*a, **k):\n"
        "    print(f'collector during review: {gc.isenabled()} frozen: {gc.get_freeze_count() > 0}',"
        " file=sys.stderr)\n"
        "    return await real(*a, **k)\n"
        "engine.run_review = spy\n"
        "sys.argv = ['hunkwise', *sys.argv[1:]]\n"
        "from hunkwise.cli.app import main\n"
        "main()\n"
    )
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", probe, "review", "--offline", "-q", "--diff", str(SAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "collector during review: True frozen: True" in done.stderr
    assert "Findings" in done.stdout
