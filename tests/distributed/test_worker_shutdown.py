"""A worker that used the Redis limits backend shuts down cleanly on SIGTERM: its heartbeat and
pub/sub listener are cancelled and awaited on the event loop before it stops."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from distkit import Cluster
from test_distributed_jobs import byok

pytestmark = pytest.mark.timeout(90)


def test_sigterm_after_using_redis_limits_leaves_no_pending_task_or_traceback(
    redis_url: str, namespace: str, make_cluster: Callable[..., Cluster], sim
) -> None:
    cluster = make_cluster(HUNKWISE_LIMITS_URL=redis_url, HUNKWISE_LIMITS_NAMESPACE=namespace)
    cluster.server()
    byok(cluster, sim.zai_developer_url)
    worker = cluster.worker("--concurrency", "1")
    assert cluster.wait(cluster.deliver("limits-shutdown-1"))["status"] == "done"
    assert worker.term() == 0
    log = worker.log.read_text()
    assert "worker" in log and "stopped" in log, log
    for bad in ("Task was destroyed", "GeneratorExit", "Traceback", "Event loop is closed"):
        assert bad not in log, log
