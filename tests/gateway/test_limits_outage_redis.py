"""Redis going away mid-run: the cluster limits backend fails calls with one clear, transient
error (not the redis client's), the router neither fails over nor opens circuits for it, and once
Redis is back on the same port the same backend serves new calls without a restart.

Each test runs its own ``redis-server`` (password-protected, no persistence) on a free port, so
killing it disturbs nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_helpers import FAST, make_slot

from hunkwise.errors import ConfigurationError, TransientError
from hunkwise.gateway import AllSlotsFailed, ChatRequest, RedisBackend, Router
from hunkwise.gateway.errors import LimitsUnavailable
from ports import restartable_port
from simkeys import CODING_PRO_KEY, DEV_KEY

PASSWORD = "hunter2-outage"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """One ``redis-server`` child process that a test can kill and start again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.port = restartable_port()  # started again on the same port: see tests/ports.py
        self.workdir = workdir
        self.url = f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"
        self.redacted = f"redis://:***@127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--requirepass", PASSWORD, "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:  # e.g. the port is taken: never talk to a stranger
                raise AssertionError(f"redis-server exited with {self.proc.returncode} on port {self.port}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: the way a crashed or fenced-off Redis disappears (no goodbye on the sockets)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: service tests must run)")
        pytest.skip(message)
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


async def eventually(check: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the expected state was not reached in time")


def _assert_clear(exc: BaseException, redis: PrivateRedis) -> None:
    text = str(exc)
    assert isinstance(exc, LimitsUnavailable), repr(exc)
    assert redis.redacted in text
    assert "start Redis, or unset HUNKWISE_LIMITS_URL" in text
    assert PASSWORD not in text and PASSWORD not in repr(exc)
    assert isinstance(exc, TransientError) and isinstance(exc, ConfigurationError)
    assert exc.__cause__ is None and exc.__suppress_context__  # no redis traceback chained in


async def test_outage_fails_waiting_and_new_calls_clearly_then_recovers(
    private_redis: PrivateRedis, sim: Any
) -> None:
    backend = RedisBackend(private_redis.url, namespace="outage", lease_ttl_s=3, heartbeat_s=1)
    main = make_slot(sim.zai_developer_url, DEV_KEY, max_concurrent=1)
    fallback = make_slot(sim.zai_developer_url, CODING_PRO_KEY, name="fallback", max_concurrent=1)
    events: list[str] = []
    router = Router([main, fallback], backend=backend, policy=FAST, on_event=lambda e: events.append(e.type))
    async with router:
        assert (await router.chat(ChatRequest.of("warm up"))).slot == "main"
        cred = main.credential_id
        held = await backend.acquire(cred, 1)  # the only slot: the next call must queue
        waiting = asyncio.create_task(router.chat(ChatRequest.of("queued")))
        await eventually(lambda: _at_least(backend.queued(cred), 1))

        private_redis.kill()

        with pytest.raises(LimitsUnavailable) as queued_error:
            await asyncio.wait_for(waiting, 30)  # the waiter's poll notices within lease_ttl/10
        _assert_clear(queued_error.value, private_redis)
        with pytest.raises(LimitsUnavailable) as new_error:
            await router.chat(ChatRequest.of("new call while Redis is down"))
        _assert_clear(new_error.value, private_redis)
        assert not isinstance(new_error.value, AllSlotsFailed)
        await held.release()  # best effort: logs, never raises into the caller's finally
        # Not a model failure: no retry, circuit or failover was even considered ...
        assert events == []
        # ... the fallback key was never called, and the main key not again.
        assert sim.key_stats(CODING_PRO_KEY)["requests"] == 0
        assert sim.key_stats(DEV_KEY)["requests"] == 1

        private_redis.start()  # same port, empty (no persistence): the cluster state restarts

        assert await router.open_circuits() == []  # readable again, without a restart
        answers = await asyncio.gather(*(router.chat(ChatRequest.of(f"after {i}")) for i in range(3)))
        assert [a.slot for a in answers] == ["main"] * 3
        assert sim.key_stats(DEV_KEY)["max_in_flight"] == 1  # the limit holds again
        assert sim.key_stats(CODING_PRO_KEY)["requests"] == 0
    await backend.aclose()


async def _true(value: bool) -> bool:
    return value


async def _at_least(count: Any, n: int) -> bool:
    return await count >= n


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in r.getMessage() for r in caplog.records)


async def test_every_backend_touch_point_maps_the_outage(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """Circuits, the adaptive limit and the status reads all say the same thing, the outage is
    logged once (not once per call), and the background listener and heartbeat survive it."""
    caplog.set_level(logging.WARNING, logger="hunkwise.gateway.limits")
    backend = RedisBackend(private_redis.url, namespace="touch", lease_ttl_s=3, heartbeat_s=0.2)
    failed: list[str] = []  # every failure the backend turns into LimitsUnavailable, by action
    unavailable = backend._unavailable
    backend._unavailable = lambda action, exc: failed.append(action) or unavailable(action, exc)  # type: ignore[method-assign]
    lease = await backend.acquire("cred", 1)
    private_redis.kill()
    # Circuit reads come from a local mirror while the pub/sub subscription keeps it exact; once
    # the listener sees the connection drop (at once after a kill), they too must go to Redis.
    await eventually(lambda: _logged(caplog, "pub/sub connection lost"))
    calls: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("acquire a concurrency slot", lambda: backend.acquire("cred", 1)),
        ("read the circuit", lambda: backend.circuit("cred", "glm-5.1", time.time())),
        ("list the circuits", lambda: backend.circuits(time.time())),
        ("close a circuit", lambda: backend.close_circuit("cred", "glm-5.1")),
        ("lower the adaptive limit", lambda: backend.report_concurrency_error("cred")),
        ("count a success for the adaptive limit", lambda: backend.report_success("cred")),
        ("count the leases in flight", lambda: backend.in_flight("cred")),
        ("count the queued calls", lambda: backend.queued("cred")),
        ("read the adaptive limit", lambda: backend.shared_effective_limit("cred")),
    ]
    for action, call in calls:
        with pytest.raises(LimitsUnavailable) as info:
            await call()
        _assert_clear(info.value, private_redis)
        assert info.value.action == action and f": {action} failed (" in str(info.value), action
    await lease.release()
    beats = failed.count("heartbeat")
    await eventually(lambda: _true(failed.count("heartbeat") >= beats + 3))  # three more fail meanwhile
    outage_lines = [r for r in caplog.records if "is unavailable" in r.getMessage()]
    assert len(outage_lines) == 1, [r.getMessage() for r in caplog.records]
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)

    private_redis.start()
    await eventually(lambda: _logged(caplog, "is reachable again"))  # noticed while idle

    first = await backend.acquire("cred", 1)
    second = asyncio.create_task(backend.acquire("cred", 1))
    await eventually(lambda: _at_least(backend.queued("cred"), 1))
    await first.release()
    granted = await asyncio.wait_for(second, 10)
    assert await backend.in_flight("cred") == 1
    await granted.release()
    assert all(not task.done() for task in backend._tasks)  # listener and heartbeat still running
    await backend.aclose()


async def test_redis_refusing_commands_is_the_same_clear_error(private_redis: PrivateRedis) -> None:
    """Reachable but refusing writes (a read-only replica after a botched failover): the limits
    are just as unenforceable, and the message says Redis refused rather than that it is down."""
    import redis as redis_sync

    admin = redis_sync.Redis(port=private_redis.port, password=PASSWORD)
    admin.execute_command("REPLICAOF", "127.0.0.1", str(_free_port()))  # a master that never answers
    backend = RedisBackend(private_redis.url, namespace="readonly", lease_ttl_s=3, heartbeat_s=1)
    try:
        with pytest.raises(LimitsUnavailable) as info:
            await backend.acquire("cred", 1)
        assert f"Redis at {private_redis.redacted} refused a command" in str(info.value)
        assert "ReadOnlyError" in str(info.value)
        assert PASSWORD not in str(info.value)
        admin.execute_command("REPLICAOF", "NO", "ONE")  # the operator fixes it: no restart needed
        lease = await backend.acquire("cred", 1)
        await lease.release()
    finally:
        admin.close()
        await backend.aclose()
