"""Shared fixtures.

Every test runs with its own ``HUNKWISE_HOME`` (a temp dir) and without provider keys from the
developer's environment, so nothing a test does touches real state or a paid API.
Service fixtures (PostgreSQL, Redis, RabbitMQ) skip when the service is down on a developer
machine, and fail when ``CI=true``: CI must exercise them. They use dedicated names (a
``hunkwise_test`` database to connect to, ``hunkwise_test_<session>_*`` databases, Redis database
15, ``hw-test-<session>-*`` queues), delete what they create, and the session ends by checking
that nothing it named is left. A store comes from one place: the "databases" section below.
"""

from __future__ import annotations

import gc
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine

from dbkit import Databases, ensure_database

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


# --- parallel runs (pytest-xdist) ---------------------------------------------------------------
# ``make test`` runs the suite on several processes (``-n 4 --dist loadgroup``). Each worker is
# a session of its own: its own SESSION, databases, simulator, Redis keys and queues. The tests of
# a module that share a module-scoped service (a ``hunkwise serve`` process, a browser, the built
# wheel) are one group, so one worker runs them, in order, and starts that service once.
_GROUPED_BY_MODULE = ("journeys", "browser", "packaging")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    for item in items:
        where = item.path.relative_to(tests_dir)
        if where.parts[0] in _GROUPED_BY_MODULE:
            item.add_marker(pytest.mark.xdist_group(where.as_posix()))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collection leaves a large heap of long-lived objects (every test module, hunkwise, the
    SDKs, SQLAlchemy, pydantic models) that the collector would walk again at every full
    collection for the rest of the session: measured on tests/server + tests/review, 9 s of 80 s
    of CPU went to it. Frozen, they are skipped; the larger first threshold makes the young
    collections rarer too (2.2 s of GC, 73 s in all; peak RSS 0.4 GB)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 100, 100)


# --- services -------------------------------------------------------------------------------------
# PostgreSQL, Redis and RabbitMQ, for the tests that need them (README "Development" says what each
# creates). The URLs are read once, here: the per-test clean-up above removes every HUNKWISE_*
# variable from the environment.
POSTGRES_URL = os.environ.get(
    "HUNKWISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/hunkwise_test"
)
REDIS_URL = os.environ.get("HUNKWISE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("HUNKWISE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
# In every Redis key and RabbitMQ queue this session creates, so the end-of-session check (and a
# developer reading `rabbitmqctl list_queues`) tells this run's leftovers from another run's.
SESSION = uuid.uuid4().hex[:6]
DRAMATIQ_REDIS_NAMESPACE = "hunkwise-dramatiq"  # hunkwise.jobs.distributed.broker's
_PORTS = {"postgresql": 5432, "redis": 6379, "amqp": 5672}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, url: str) -> None:
    """Skip when the service at ``url`` is down on a developer machine; fail under CI=true."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or _PORTS[parts.scheme.split("+")[0]]
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: service tests must run; .ci/run starts it)")
    pytest.skip(message)


class SharedState:
    """What this session made in the shared services, for the end-of-session check."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.queues: list[tuple[str, str]] = []  # (broker URL, queue name)
        self.heartbeats: set[str] = set()  # Dramatiq worker ids our processes added in Redis


@pytest.fixture(scope="session")
def shared_state() -> Iterator[SharedState]:
    """At the end of the session: nothing this session named remains in Redis or RabbitMQ (the
    fixtures below delete it; this catches a fixture or a test that stops doing so)."""
    state = SharedState()
    yield state
    left: list[str] = []
    if "redis" in state.used:
        import redis as redis_sync

        client = redis_sync.Redis.from_url(REDIS_URL, decode_responses=True)
        left += sorted(client.scan_iter(f"*{SESSION}*"))
        beats = client.zrange(f"{DRAMATIQ_REDIS_NAMESPACE}:__heartbeats__", 0, -1)
        left += [f"heartbeat {b}" for b in sorted(state.heartbeats & set(beats))]
        client.close()
    for url, name in state.queues:
        if url.startswith("amqp"):
            left += [f"queue {q}" for q in _rabbit_queues_present(url, name)]
    if left:
        pytest.fail(f"the test session left {len(left)} thing(s) behind: {', '.join(left[:20])}")


@pytest.fixture(scope="session")
def redis_url(shared_state: SharedState) -> Iterator[str]:
    """Redis database 15 by default, never the database 0 an application would use."""
    require_service("Redis", REDIS_URL)
    shared_state.used.add("redis")
    yield REDIS_URL


@pytest.fixture(scope="session")
def rabbit_url(shared_state: SharedState) -> str:
    require_service("RabbitMQ", AMQP_URL)
    shared_state.used.add("rabbitmq")
    return AMQP_URL


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A Redis key namespace of this test's own (so tests never see each other's keys), with
    every key under it deleted afterwards."""
    import redis as redis_sync

    name = f"hwtest-{SESSION}-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis_sync.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def broker_queue(shared_state: SharedState) -> Iterator[Callable[[str], str]]:
    """``broker_queue(url)`` -> a queue name of this test's own on the broker at ``url``
    (RabbitMQ or Redis), deleted at teardown with everything Dramatiq made for it: the ``.DQ``
    (delayed) and ``.XQ`` (dead letter) queues, and on Redis the message hashes, the
    acknowledgement sets and the heartbeats of the processes that used it."""
    made: list[tuple[str, str, set[str]]] = []

    def make(url: str) -> str:
        name = f"hw-test-{SESSION}-{uuid.uuid4().hex[:8]}"
        before = _heartbeats(url) if url.startswith("redis") else set()
        made.append((url, name, before))
        shared_state.queues.append((url, name))
        shared_state.used.add("redis" if url.startswith("redis") else "rabbitmq")
        return name

    yield make
    for url, name, before in made:
        if url.startswith("redis"):
            added = _heartbeats(url) - before  # this test's processes (recorded for the final check)
            shared_state.heartbeats |= added
            _drop_dramatiq_redis(url, name, added)
        else:
            _drop_rabbit_queues(url, name)


def _companions(name: str) -> list[str]:
    return [name, f"{name}.DQ", f"{name}.XQ"]


def _drop_rabbit_queues(url: str, name: str) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        for queue in _companions(name):
            channel.queue_delete(queue)  # a queue never declared is no error
    finally:
        connection.close()


def _rabbit_queues_present(url: str, name: str) -> list[str]:
    import pika
    from pika.exceptions import ChannelClosedByBroker

    present = []
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        for queue in _companions(name):
            channel = connection.channel()
            try:
                channel.queue_declare(queue, passive=True)
            except ChannelClosedByBroker:  # 404: gone, as it should be (the channel is closed)
                continue
            present.append(queue)
            channel.close()
    finally:
        connection.close()
    return present


def _heartbeats(url: str) -> set[str]:
    import redis as redis_sync

    client = redis_sync.Redis.from_url(url, decode_responses=True)
    try:
        return set(client.zrange(f"{DRAMATIQ_REDIS_NAMESPACE}:__heartbeats__", 0, -1))
    finally:
        client.close()


def _drop_dramatiq_redis(url: str, name: str, heartbeats: set[str]) -> None:
    """Delete the queue's keys and the given heartbeats (a heartbeat of another run's process
    removed by mistake is harmless: that process adds it again on its next fetch)."""
    import redis as redis_sync

    client = redis_sync.Redis.from_url(url, decode_responses=True)
    try:
        keys = list(client.scan_iter(f"{DRAMATIQ_REDIS_NAMESPACE}:*{name}*"))
        if keys:
            client.delete(*keys)
        if heartbeats:
            client.zrem(f"{DRAMATIQ_REDIS_NAMESPACE}:__heartbeats__", *heartbeats)
    finally:
        client.close()


# --- databases ------------------------------------------------------------------------------------
# The one way a test gets a store (tests/dbkit.py says how the databases are made and why).


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A server to create test databases on; the URL's database, ``hunkwise_test`` by default, is
    created when missing and only used to connect. Skips when the server is down on a developer
    machine, fails under ``CI=true``."""
    require_service("PostgreSQL", POSTGRES_URL)
    ensure_database(POSTGRES_URL)
    yield POSTGRES_URL


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("databases"), SESSION)
    yield dbs
    dbs.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _server(request: pytest.FixtureRequest, databases: Databases) -> None:
    databases.use_server(request.getfixturevalue("postgres_url"))


@pytest.fixture
def db_url(db_backend: str, databases: Databases, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database on ``db_backend`` with no rows in it."""
    if db_backend == "sqlite":
        return databases.sqlite(tmp_path / "store.db")
    _server(request, databases)
    return databases.postgres()


@pytest.fixture
def empty_db_url(
    db_backend: str, databases: Databases, request: pytest.FixtureRequest, tmp_path: Path
) -> str:
    """A database with no tables at all (for tests of the migrations themselves)."""
    if db_backend == "sqlite":
        return databases.sqlite(tmp_path / "empty.db", migrated=False)
    _server(request, databases)
    return databases.postgres(migrated=False)


@pytest.fixture
def pg_db_url(databases: Databases, request: pytest.FixtureRequest) -> str:
    """A migrated PostgreSQL database with no rows in it."""
    _server(request, databases)
    return databases.postgres()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a migrated, empty database (``db_url``)."""
    from hunkwise.store.db import make_engine

    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def engine_factory(engine: Engine) -> Iterator[Callable[[], Engine]]:
    """More engines on the same database (what a second process would open)."""
    from hunkwise.store.db import make_engine

    made: list[Engine] = []

    def factory() -> Engine:
        made.append(make_engine(engine.url))
        return made[-1]

    yield factory
    for e in made:
        e.dispose()


@pytest.fixture
def sqlite_db_url(databases: Databases, tmp_path: Path) -> Callable[..., str]:
    """``sqlite_db_url(name)`` -> a migrated SQLite database in the test's temp dir, for a server
    or command the test starts with ``HUNKWISE_DATABASE_URL``."""
    return lambda name="server.db": databases.sqlite(tmp_path / name)


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
