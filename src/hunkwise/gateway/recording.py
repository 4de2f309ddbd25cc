"""Record every raw model answer, or serve recorded answers back with no network and no key.

Recording sits at the gateway's lowest boundary, the HTTP transport of the SDK clients
(``ClientPool(transport_factory=...)``), so every model call of every command passes through it
and everything above it (the SDKs' parsing, usage, error translation, the router, the review
engine's reading of the answer) runs again on a replay exactly as it did live. That is the point:
a parser, an anchoring rule or a threshold can be re-scored on real models' answers for free.

A request is keyed by a hash of what determines the answer: the endpoint kind (the URL path's
``chat/completions`` or ``messages``) and the JSON body (model, messages, thinking, temperature,
max tokens, response format). Headers are never part of the key or of a recording, so neither the
key nor any credential can end up on disk; the host, port and plan prefix of the base URL are not
part of the key either, so a recording made against one endpoint (or the simulator on a random
port) replays under a configuration that points elsewhere but sends the same request.

Only successful answers (HTTP status below 400) are recorded: an error is not a model's answer,
and replaying a 429 forever would only exercise the retry loop. A replayed request without a
recording fails as a ``bad_request`` error whose message says so (no retry, the router moves on),
and is listed in :attr:`Recordings.misses` so the command can name every such request.

One recording per key: the last answer recorded for a request wins (models are not
deterministic; a replay reproduces one run, not a distribution).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hunkwise.errors import ConfigurationError
from hunkwise.gateway.adapters.base import TransportFactory
from hunkwise.gateway.errors import NotRecorded
from hunkwise.gateway.types import Slot

if TYPE_CHECKING:
    import httpx2

FORMAT = "hunkwise-recording/1"
Mode = Literal["record", "replay"]
_ENDPOINTS = ("chat/completions", "messages")


@dataclass(frozen=True, slots=True)
class Miss:
    """A request a replay could not serve: its key, and what it asked (to find the case)."""

    key: str
    endpoint: str
    model: str

    def describe(self) -> str:
        """One line per unrecorded request (key prefix, model, endpoint), so the
        command can say exactly what a replay lacked.
        """
        return f"{self.key[:16]} ({self.model}, {self.endpoint})"


def endpoint_of(path: str) -> str:
    """The kind of call a URL path makes, without the base URL's prefix (``/api/paas/v4``)."""
    trimmed = path.rstrip("/")
    for name in _ENDPOINTS:
        if trimmed.endswith("/" + name):
            return name
    return trimmed


def request_key(endpoint: str, body: Any) -> str:
    """The recording's name: SHA-256 of the endpoint kind and the canonical JSON body."""
    canonical = json.dumps(
        {"endpoint": endpoint, "body": body}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Recordings:
    """A directory of recordings, in ``record`` or ``replay`` mode.

    ``transport_factory()`` is what :class:`~hunkwise.gateway.adapters.base.ClientPool` takes; in
    record mode it wraps the transport the pool would have used (``inner``, e.g. the server's SSRF
    guard, or httpx's default), in replay mode it replaces it and never opens a socket.
    """

    def __init__(self, directory: Path, mode: Mode) -> None:
        self.directory = Path(directory)
        self.mode: Mode = mode
        self.recorded = 0  # answers written (record mode)
        self.keys: set[str] = set()  # distinct requests recorded or served
        self.served = 0  # answers served (replay mode)
        self.misses: list[Miss] = []
        if mode == "replay":
            if not self.directory.is_dir():
                raise ConfigurationError(
                    f"--replay {self.directory}: no such directory; record one first with --record DIR",
                    setting="--replay",
                )
        else:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"--record {self.directory}: cannot create the directory ({exc.strerror or exc})",
                    setting="--record",
                ) from None

    def path_for(self, key: str) -> Path:
        """One file per request key, so a recording is a plain directory that
        can be diffed, pruned or committed.
        """
        return self.directory / f"{key}.json"

    def transport_factory(self, inner: TransportFactory | None = None) -> TransportFactory:
        """The ``ClientPool`` transport factory that records or replays, wrapping any inner transport (the
        SSRF guard) so recording changes nothing else about a call.

        The transports (and ``httpx2``) are imported when the factory is made: only ``--record``
        and ``--replay`` runs need them, and every command imports this module with the gateway.
        """
        import httpx2

        from hunkwise.gateway.recording_transports import RecordingTransport, ReplayTransport

        def factory(slot: Slot) -> httpx2.AsyncBaseTransport:
            if self.mode == "replay":
                return ReplayTransport(self)
            wrapped = inner(slot) if inner is not None else None
            return RecordingTransport(self, wrapped or httpx2.AsyncHTTPTransport())

        return factory

    # -- the two directions ---------------------------------------------------------------------
    def write(self, endpoint: str, body: Any, response: httpx2.Response, content: bytes) -> None:
        """Store one successful answer under its request key, written atomically so an
        interrupted run never leaves half a recording.
        """
        key = request_key(endpoint, body)
        doc = {
            "format": FORMAT,
            "key": key,
            "endpoint": endpoint,
            "model": body.get("model") if isinstance(body, dict) else None,
            "request": body,
            "response": {
                "status": response.status_code,
                "content_type": response.headers.get("content-type", "application/json"),
                "body": content.decode("utf-8", "replace"),
            },
        }
        target = self.path_for(key)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, ensure_ascii=False)
        os.replace(tmp, target)  # atomic: a concurrent reader never sees half a file
        self.recorded += 1
        self.keys.add(key)

    def read(self, endpoint: str, body: Any) -> dict[str, Any]:
        """The recorded answer for a request; a missing one is noted in ``misses`` and raised as
        ``NotRecorded``, so the router moves on and the command lists it.
        """
        key = request_key(endpoint, body)
        try:
            doc = json.loads(self.path_for(key).read_text("utf-8"))
            response = doc["response"]
            if not isinstance(response, dict) or not isinstance(response.get("body"), str):
                raise ValueError("no response body")
        except FileNotFoundError:
            model = str(body.get("model", "?")) if isinstance(body, dict) else "?"
            miss = Miss(key, endpoint, model)
            self.misses.append(miss)
            raise NotRecorded(
                f"replay: no recording of this request in {self.directory} (key {key[:16]}, model "
                f"{model}); record it first with --record {self.directory}",
                key=key,
            ) from None
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigurationError(
                f"replay: {self.path_for(key)} is not a readable recording ({exc}); "
                "delete it and record again",
                setting="--replay",
            ) from None
        self.served += 1
        self.keys.add(key)
        return response


__all__ = ["FORMAT", "Miss", "NotRecorded", "Recordings", "endpoint_of", "request_key"]
