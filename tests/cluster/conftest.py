"""Cluster tests: real OS processes sharing one Redis namespace (unique per test)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

WORKER = Path(__file__).with_name("cluster_worker.py")


@pytest.fixture
def spawn() -> Iterator[Any]:
    """``spawn(mode, cfg)`` -> a running worker process (killed at teardown if still alive)."""
    procs: list[subprocess.Popen[str]] = []

    def start(mode: str, cfg: dict[str, Any]) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), mode, json.dumps(cfg)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
