"""Each job is published to the broker exactly once per enqueue (or requeue), however many
webhooks arrive at the same moment: counted on the real RabbitMQ queue, which no worker consumes,
after the server has shut down (so no publish can still be on its way)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from distkit import Cluster
from sqlalchemy import create_engine, text
from test_distributed_jobs import byok

from hunkwise.jobs.distributed.broker import Publisher, QueueSettings

pytestmark = pytest.mark.timeout(90)


def ready_messages(cluster: Cluster) -> int:
    publisher = Publisher(
        QueueSettings.parse(cluster.env["HUNKWISE_QUEUE_URL"], cluster.env["HUNKWISE_QUEUE_NAME"])
    )
    try:
        return publisher.depth()["ready"]
    finally:
        publisher.close()


def test_simultaneous_webhooks_publish_each_job_once(make_cluster: Callable[..., Cluster], sim) -> None:
    cluster = make_cluster()
    cluster.server()
    byok(cluster, sim.zai_developer_url)

    def deliver(n: int) -> int:
        return cluster.deliver(f"burst-{n}", number=n, head_sha=f"{n:040x}")

    with ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(deliver, range(1, 11)))
    assert len(set(ids)) == 10
    assert cluster.deliver("burst-1-again", number=1, head_sha=f"{1:040x}") == ids[0]  # a duplicate
    # A dead job revived by a re-delivered webhook is published once more, by that request.
    engine = create_engine(cluster.env["HUNKWISE_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE review_jobs SET status = 'failed' WHERE id = :id"), {"id": ids[1]})
    engine.dispose()
    assert cluster.deliver("burst-2-again", number=2, head_sha=f"{2:040x}") == ids[1]
    assert cluster.client is not None
    cluster.client.__exit__(None, None, None)  # the server's lifespan ends: nothing left to send
    cluster.client.app.state.runtime.engine.dispose()  # type: ignore[attr-defined]
    cluster.client = None
    assert ready_messages(cluster) == 11
