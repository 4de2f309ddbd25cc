"""The one-machine limits backend: an in-process limiter plus circuits in a small SQLite file.

Circuits persist so that separate CLI runs on one machine agree that the main's 5-hour window is
spent (each run would otherwise burn one request rediscovering it). The hot path never writes:
a lookup reads an in-memory copy, refreshed only when SQLite's ``PRAGMA data_version`` says
another connection changed the file.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from hunkwise.gateway.limits.base import Circuit, Lease
from hunkwise.gateway.limits.limiter import ConcurrencyLimiter

_SCHEMA = """
CREATE TABLE IF NOT EXISTS circuits (
    credential_id TEXT NOT NULL,
    model TEXT NOT NULL,
    until REAL NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (credential_id, model)
)
"""


class LocalBackend:
    """Concurrency per credential in this process; circuits in memory or in ``state_path``."""

    def __init__(self, state_path: str | Path | None = None) -> None:
        self.limiter = ConcurrencyLimiter()
        self._circuits: dict[tuple[str, str], Circuit] = {}
        self._db: sqlite3.Connection | None = None
        self._version: int | None = None
        self._lock = threading.Lock()
        if state_path is not None:
            path = Path(state_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._reload()

    # -- concurrency -------------------------------------------------------------------------------
    async def acquire(self, credential_id: str, limit: int | None, *, adaptive: bool = False) -> Lease:
        """A lease from the in-process limiter: the whole contract for one process."""
        return await self.limiter.acquire(credential_id, limit, adaptive=adaptive)

    async def report_concurrency_error(self, credential_id: str) -> None:
        """Lower this process's adaptive limit for the key."""
        self.limiter.lower(credential_id)

    async def report_success(self, credential_id: str) -> None:
        """Count a success towards raising this process's adaptive limit."""
        self.limiter.success(credential_id)

    def effective_limit(self, credential_id: str) -> int | None:
        """The in-process limit in force now."""
        return self.limiter.effective_limit(credential_id)

    # -- circuits ----------------------------------------------------------------------------------
    def _reload(self) -> None:
        assert self._db is not None
        with self._lock:
            rows = self._db.execute(
                "SELECT credential_id, model, until, kind, reason FROM circuits"
            ).fetchall()
            self._version = self._db.execute("PRAGMA data_version").fetchone()[0]
        self._circuits = {(r[0], r[1]): Circuit(*r) for r in rows}

    def _refresh(self) -> None:
        if self._db is None:
            return
        with self._lock:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._reload()

    async def open_circuit(self, circuit: Circuit) -> None:
        """Open the circuit here and in the state file, so the next CLI run on this
        machine skips the spent key without a call.
        """
        self._circuits[(circuit.credential_id, circuit.model)] = circuit
        if self._db is not None:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO circuits VALUES (?, ?, ?, ?, ?)",
                    (circuit.credential_id, circuit.model, circuit.until, circuit.kind, circuit.reason),
                )

    async def circuit(self, credential_id: str, model: str, now: float) -> Circuit | None:
        """The open circuit for the pair, re-reading the state file only when another process changed it."""
        self._refresh()
        found = self._circuits.get((credential_id, model))
        return found if found is not None and found.is_open(now) else None

    async def close_circuit(self, credential_id: str, model: str) -> None:
        """Close the circuit here and in the state file, so the next run tries the key again."""
        self._circuits.pop((credential_id, model), None)
        if self._db is not None:
            with self._lock:
                self._db.execute(
                    "DELETE FROM circuits WHERE credential_id = ? AND model = ?", (credential_id, model)
                )

    async def circuits(self, now: float) -> list[Circuit]:
        """Every circuit open now, including ones other runs opened."""
        self._refresh()
        return [c for c in self._circuits.values() if c.is_open(now)]

    async def aclose(self) -> None:
        """Close the state file's connection."""
        if self._db is not None:
            with self._lock:
                self._db.close()
            self._db = None
