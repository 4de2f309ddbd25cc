"""Fixtures of the journeys: one simulator and one fake GitHub per module (each module starts the
``hunkwise serve`` it needs with its own settings); the harness itself is journeykit.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from journeykit import HUNKWISE, RUNNING, Simulator, clean_env


@pytest.fixture(scope="module", autouse=True)
def installed_script() -> Path:
    """The journeys run the console script a user runs; without it they cannot mean anything."""
    if not HUNKWISE.is_file():
        pytest.fail(f"{HUNKWISE} is missing: install hunkwise into this Python (pip install -e '.[dev]')")
    return HUNKWISE


@pytest.fixture(scope="module")
def journey_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("journey")


@pytest.fixture(scope="module")
def simulator(journey_dir: Path) -> Iterator[Simulator]:
    sim = Simulator(clean_env(journey_dir / "sim-home"), journey_dir)
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def fake_github() -> Iterator[Any]:
    from platform_fakes import FakeGitHub, ServedFake

    served = ServedFake(FakeGitHub())
    yield served
    served.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for service in list(RUNNING):
            report.sections.append((f"{service.name} log", service.logs()))
