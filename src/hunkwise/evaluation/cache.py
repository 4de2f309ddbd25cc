"""Results cached per (case, configuration), so an interrupted evaluation resumes where it stopped.

A cached result is what the review produced (its findings, usage, latency, failovers), not a
score: matching and scoring run again every time, so changing ``--tolerance`` or the expected
issues of a case re-scores without calling a model. The keys are digests: a case's of its diff,
head files and expected issues; a configuration's of its files, its resolved slots (without keys
or hosts), the mode (simulator, live, replay) and the hunkwise code itself
(:func:`engine_fingerprint`), so a change to the engine never serves stale answers.

Only complete reviews are cached: a review with failed chunks is run again next time (a
transient failure must not be frozen into the figures). Files are written atomically, so an
interrupted run leaves whole entries or none.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import hunkwise

DEFAULT_CACHE_DIR = ".hunkwise-eval-cache"


@functools.cache
def engine_fingerprint() -> str:
    """A digest of hunkwise's own code and data (version, every module, the catalog)."""
    root = Path(hunkwise.__file__).parent
    digest = hashlib.sha256(hunkwise.__version__.encode())
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".toml") and path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def digest_of(doc: Any) -> str:
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResultCache:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.hits = 0
        self.writes = 0

    def _path(self, kind: str, digests: tuple[str, ...]) -> Path:
        return self.directory / kind / ("-".join(d[:24] for d in digests) + ".json")

    def get(self, kind: str, *digests: str) -> dict[str, Any] | None:
        path = self._path(kind, digests)
        try:
            doc = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return None  # absent, or unreadable (a torn file from another tool): run it again
        if not isinstance(doc, dict) or doc.get("digests") != list(digests):
            return None
        self.hits += 1
        value = doc.get("value")
        return value if isinstance(value, dict) else None

    def put(self, kind: str, digests: tuple[str, ...], value: dict[str, Any]) -> None:
        folder = self.directory / kind
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"digests": list(digests), "value": value}, fh, ensure_ascii=False)
            os.replace(tmp, self._path(kind, digests))
            self.writes += 1
        except OSError:
            return  # a cache that cannot be written only costs the resume, never the run
