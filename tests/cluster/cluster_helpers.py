"""Helpers for the cluster tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import subprocess
from typing import Any


def result(proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, Any]:
    """The worker's JSON line; its stderr in the failure message if it crashed."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{err}"
    return json.loads(out.strip().splitlines()[-1])
