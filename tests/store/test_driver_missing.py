"""A PostgreSQL URL without a usable driver is one line naming the fix (exit 2) in every command
that opens the store, never a traceback: psycopg absent, or installed without a loadable libpq
(which raises a plain ImportError, "no pq wrapper available")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ABSENT = "import sys\nsys.modules['psycopg'] = None\n"  # sitecustomize: the import fails as if missing
BROKEN = 'raise ImportError("no pq wrapper available.\\nAttempts made:\\n- libpq library not found")\n'


def _blocked(tmp_path: Path, how: str) -> Path:
    where = tmp_path / how
    if how == "absent":
        where.mkdir()
        (where / "sitecustomize.py").write_text(ABSENT)
    else:
        (where / "psycopg").mkdir(parents=True)
        (where / "psycopg" / "__init__.py").write_text(BROKEN)
    return where


@pytest.mark.parametrize("how", ["absent", "broken"])
@pytest.mark.parametrize("command", [["usage"], ["worker", "--check"], ["serve"], ["jobs"]])
def test_missing_postgres_driver_is_one_line_naming_the_extra(
    tmp_path: Path, how: str, command: list[str]
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(_blocked(tmp_path, how)),
        "HUNKWISE_DATABASE_URL": "postgresql://hunkwise:s3cret-pw@db.invalid:5432/hunkwise",
        "HUNKWISE_QUEUE_URL": "amqp://guest:guest@127.0.0.1:5672/",
        "HUNKWISE_ADMIN_TOKEN": "admin-token-for-the-driver-test-0123456789",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "hunkwise", *command], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("error: the PostgreSQL driver (psycopg) is not installed or cannot load (")
    assert "pip install 'hunkwise[postgres]'" in lines[0] and "s3cret-pw" not in proc.stderr
