"""How many function calls an organization's API key passes through, from the BYOK ``PUT`` handler
to the SDK client constructor, and how often it changes shape on the way.

Drives the real server in-process (``create_app()`` from the environment, a SQLite store, the
simulator as the provider) through its HTTP API: ``PUT /api/orgs/acme/byok`` saves a key, then
``POST /api/orgs/acme/byok/test`` reads the stored key back and sends one request with it. A
tracer (``sys.settrace`` in every thread) records each call of a hunkwise function, of pydantic's
``SecretStr`` and of the SDK client's ``__init__`` whose arguments carry the key: as text, as
``SecretStr``, as ``Secret``, or inside a spec, a dict, a stored row. Once the key sits in a built
gateway ``Slot`` it has reached the gateway; calls that merely pass that ``Slot`` along (router,
limiter, adapters) are counted apart, and so are the key wrapper's own methods (hash, mask,
fingerprint), which are uses, not hops.

Printed: the hops of each leg (save, use) with the path, the shape changes (``str -> SecretStr``,
``Secret -> str``, ...), and the reveals (``Secret.reveal``, ``SecretStr.get_secret_value``).

    .venv/bin/python bench/key_hops.py [--json] [--path]
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

KEY = "bench-hops-dev-key-0001"
ADMIN = "bench-admin-token-0123456789abcdefghij"
WRAPPER_METHODS = {"__init__", "__repr__", "__str__", "__eq__", "__hash__", "__bool__", "__len__"}


def _carries(obj: Any, depth: int = 0) -> str | None:
    """The shape in which ``obj`` carries the key, or None."""
    from pydantic import BaseModel, SecretStr

    from hunkwise.gateway.types import Secret, Slot

    if isinstance(obj, str):
        return "str" if obj.strip() == KEY else None
    if isinstance(obj, Secret):
        return "Secret" if obj.reveal() == KEY else None
    if isinstance(obj, SecretStr):
        return "SecretStr" if obj.get_secret_value().strip() == KEY else None
    if depth >= 3:
        return None
    if isinstance(obj, Slot):
        return "Slot" if _carries(obj.api_key, depth + 1) else None
    inner: list[Any] = []
    if isinstance(obj, BaseModel):
        inner = list(obj.__dict__.values())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        inner = [getattr(obj, f.name, None) for f in dataclasses.fields(obj)]
    elif isinstance(obj, dict):
        inner = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        inner = list(obj)
    for item in inner:
        shape = _carries(item, depth + 1)
        if shape:
            return shape if shape == "Slot" else f"{type(obj).__name__}({shape})"
    return None


@dataclasses.dataclass
class Trace:
    hops: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (function, shape)
    slot_calls: int = 0
    reveals: list[str] = dataclasses.field(default_factory=list)
    wraps: list[str] = dataclasses.field(default_factory=list)  # Secret / SecretStr created


def _where(frame: FrameType) -> str | None:
    name = frame.f_code.co_filename.replace(os.sep, "/")
    if "/hunkwise/" in name and "/hunkwise/sim/" not in name and "/bench/" not in name:
        return "hunkwise"
    if name.endswith("pydantic/types.py"):
        return "pydantic"
    if name.endswith(("openai/_client.py", "anthropic/_client.py")) and frame.f_code.co_name == "__init__":
        return "sdk"
    return None


class Tracer:
    """One tracer for every thread of the run (the test client's event loop and the thread pool
    are started inside it); it records into ``current``, and nothing while that is None."""

    def __init__(self) -> None:
        self.current: Trace | None = None
        self._busy = threading.local()
        # A coroutine reports a "call" at every resumption: count its frame once (kept alive here
        # so that a new frame never reuses a counted one's id).
        self._seen: dict[int, FrameType] = {}

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        trace = self.current
        if trace is None or event != "call" or getattr(self._busy, "on", False):
            return None
        where = _where(frame)
        if where is None or id(frame) in self._seen:
            return None
        if frame.f_code.co_flags & (inspect.CO_COROUTINE | inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR):
            self._seen[id(frame)] = frame
        self._busy.on = True
        try:
            _record(frame, where, trace)
        finally:
            self._busy.on = False
        return None

    @contextmanager
    def installed(self) -> Iterator[None]:
        sys.settrace(self)
        threading.settrace(self)
        try:
            yield
        finally:
            sys.settrace(None)
            threading.settrace(None)  # type: ignore[arg-type]

    @contextmanager
    def leg(self, trace: Trace) -> Iterator[None]:
        self.current = trace
        try:
            yield
        finally:
            self.current = None


def _record(frame: FrameType, where: str, trace: Trace) -> None:
    code = frame.f_code
    qualname = getattr(code, "co_qualname", code.co_name)
    module = frame.f_globals.get("__name__", "?")
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    values = [frame.f_locals.get(n) for n in names]
    owner = qualname.split(".")[0]
    if owner in ("Secret", "_SecretBase", "SecretStr", "_SecretField"):
        if code.co_name in ("reveal", "get_secret_value") and _carries(values[0]):
            trace.reveals.append(f"{owner}.{code.co_name} <- {_caller(frame)}")
        elif code.co_name == "__init__" and len(values) > 1 and _carries(values[1]):
            trace.wraps.append(f"str -> {type(values[0]).__name__} in {_caller(frame)}")
        return
    if where == "pydantic":
        return
    shapes = [s for s in (_carries(v) for v in values) if s]
    if not shapes:
        return
    label = f"{module}.{qualname}"
    if where == "sdk":
        trace.hops.append((label, shapes[0]))
        return
    if all(s == "Slot" for s in shapes):
        trace.slot_calls += 1
        return
    trace.hops.append((label, next(s for s in shapes if s != "Slot")))


def _caller(frame: FrameType) -> str:
    up = frame.f_back
    while up is not None and _where(up) is None:
        up = up.f_back
    if up is None:
        return "?"
    return f"{up.f_globals.get('__name__', '?')}.{getattr(up.f_code, 'co_qualname', up.f_code.co_name)}"


def run() -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer

    sim = SimulatorServer(SimConfig(keys=[KeyConfig(key=KEY, kind="developer")])).start()
    home = Path(tempfile.mkdtemp(prefix="hunkwise-hops-"))
    os.environ.update(
        HUNKWISE_HOME=str(home),
        HUNKWISE_DATABASE_URL=f"sqlite:///{home / 'server.db'}",
        HUNKWISE_ADMIN_TOKEN=ADMIN,
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
        HUNKWISE_JOB_WORKERS="0",
    )
    for name in ("HUNKWISE_MODEL", "ZAI_API_KEY", "HUNKWISE_SECRET_KEY", "HUNKWISE_QUEUE_URL"):
        os.environ.pop(name, None)
    from hunkwise.server.app import create_app

    headers = {"Authorization": f"Bearer {ADMIN}"}
    body = {"main": {"provider": "openai_compatible", "base_url": sim.zai_developer_url, "model": "glm-5.1"}}
    body["main"]["api_key"] = KEY
    legs: dict[str, Trace] = {"save": Trace(), "use": Trace()}
    tracer = Tracer()
    try:
        with tracer.installed(), TestClient(create_app()) as client:
            client.get("/healthz")  # warm: lazy imports happen before a leg is recorded
            with tracer.leg(legs["save"]):
                saved = client.put("/api/orgs/acme/byok", json=body, headers=headers)
            saved.raise_for_status()
            with tracer.leg(legs["use"]):
                tested = client.post("/api/orgs/acme/byok/test", headers=headers)
            tested.raise_for_status()
            assert tested.json()["ok"], tested.json()
    finally:
        sim.stop()
    out: dict[str, Any] = {}
    for leg, trace in legs.items():
        out[leg] = {
            "hops": len(trace.hops),
            "path": [f"{fn} [{shape}]" for fn, shape in trace.hops],
            "shape_changes": trace.wraps,
            "reveals": trace.reveals,
            "calls_passing_a_built_slot": trace.slot_calls,
        }
    out["total_hops"] = sum(len(t.hops) for t in legs.values())
    out["packages"] = sorted({_package(fn) for t in legs.values() for fn, _ in t.hops})
    return out


def _package(function: str) -> str:
    parts = function.split(".")
    return parts[1] if parts[0] == "hunkwise" else parts[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--path", action="store_true", help="list every hop")
    args = parser.parse_args()
    result = run()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for leg in ("save", "use"):
        r = result[leg]
        print(
            f"{leg}: {r['hops']} hops, {len(r['shape_changes'])} wraps, {len(r['reveals'])} reveals, "
            f"{r['calls_passing_a_built_slot']} calls passing a built Slot"
        )
        if args.path:
            for i, hop in enumerate(r["path"], 1):
                print(f"  {i:2}. {hop}")
            for line in r["shape_changes"]:
                print(f"      wrap:   {line}")
            for line in r["reveals"]:
                print(f"      reveal: {line}")
    packages = result["packages"]
    print(f"total: {result['total_hops']} hops through {len(packages)} packages: {', '.join(packages)}")


if __name__ == "__main__":
    main()
