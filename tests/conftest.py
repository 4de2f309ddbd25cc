"""Shared fixtures.

Every test runs with its own ``HUNKWISE_HOME`` (a temp dir) and without provider keys from the
developer's environment, so nothing a test does touches real state or a paid API.
Service fixtures (Postgres, Redis) skip when the service is down on a developer machine, and
fail when ``CI=true``: CI must exercise them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

_PROVIDER_ENV = (
    "ZAI_API_KEY",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("hunkwise-home")
    monkeypatch.setenv("HUNKWISE_HOME", str(home))
    for name in list(os.environ):
        if (name.startswith("HUNKWISE_") and name != "HUNKWISE_HOME") or name in _PROVIDER_ENV:
            monkeypatch.delenv(name, raising=False)
    return home


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: service tests must run; .ci/run starts it)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    yield os.environ.get("HUNKWISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    require_service("Redis", "127.0.0.1", 6379)
    yield os.environ.get("HUNKWISE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A Redis key namespace of this test's own (so tests never see each other's keys), with
    every key under it deleted afterwards."""
    import uuid

    import redis as redis_sync

    name = f"pwtest-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis_sync.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


# --- offline simulator ----------------------------------------------------------------------------
# ``sim`` is one server per test session (starting uvicorn per test would be slow), reset before
# every test that uses it; ``sim_factory`` starts a dedicated one with custom settings.


def _standard_sim_keys() -> list:
    import simkeys
    from hunkwise.sim import KeyConfig

    return [
        KeyConfig(key=simkeys.DEV_KEY, kind="developer"),
        KeyConfig(key=simkeys.CODING_LITE_KEY, kind="coding", tier="lite"),
        KeyConfig(key=simkeys.CODING_PRO_KEY, kind="coding", tier="pro"),
        KeyConfig(key=simkeys.CODING_MAX_KEY, kind="coding", tier="max"),
        KeyConfig(key=simkeys.OPENAI_KEY, kind="openai"),
        KeyConfig(key=simkeys.ANTHROPIC_KEY, kind="anthropic"),
    ]


@pytest.fixture(scope="session")
def _sim_session() -> Iterator:
    from hunkwise.sim import SimConfig, SimulatorServer

    server = SimulatorServer(SimConfig(keys=_standard_sim_keys()))
    with server:
        yield server


@pytest.fixture
def sim(_sim_session):
    """The shared simulator (standard keys, zero latency, no faults), freshly reset."""
    _sim_session.reset()
    return _sim_session


@pytest.fixture
def sim_factory() -> Iterator:
    """``sim_factory(**SimConfig kwargs)`` -> a started SimulatorServer, stopped at teardown.
    Without ``keys`` it serves the standard keys of ``tests/simkeys.py``."""
    from hunkwise.sim import SimConfig, SimulatorServer

    servers: list = []

    def make(**kwargs: object) -> SimulatorServer:
        kwargs.setdefault("keys", _standard_sim_keys())
        server = SimulatorServer(SimConfig(**kwargs)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
