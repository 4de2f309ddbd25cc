"""The distributed engine end to end: the server publishes, ``hunkwise worker`` processes run
the review against the simulator and post to a fake GitHub, over real RabbitMQ and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from distkit import Cluster, admin

from simkeys import DEV_KEY

pytestmark = pytest.mark.timeout(90)


def byok(cluster: Cluster, base_url: str, key: str = DEV_KEY) -> None:
    assert cluster.client is not None
    body = {"main": {"card": "glm-5.1", "base_url": base_url, "api_key": key}}
    response = cluster.client.put("/api/orgs/codertocat/byok", json=body, headers=admin())
    assert response.status_code == 200, response.text


def test_server_enqueues_and_a_worker_process_reviews(make_cluster: Callable[..., Cluster], sim) -> None:
    cluster = make_cluster()
    client = cluster.server()
    assert client.app.state.worker_pool is None  # no embedded pool
    byok(cluster, sim.zai_developer_url)
    worker = cluster.worker("--concurrency", "2", "--lease", "5")
    job_id = cluster.deliver("dist-1")
    got = cluster.wait(job_id)
    assert got["status"] == "done", got
    assert got["attempts"] == 1
    assert len(cluster.github.fake.reviews) == 1
    text = worker.metrics()
    assert 'hunkwise_jobs_processed_total{outcome="done"} 1.0' in text
    assert 'hunkwise_model_calls_total{model="glm-5.1",outcome="ok"}' in text
    assert 'hunkwise_jobs{status="done"} 1.0' in text
    assert 'hunkwise_queue_depth{queue="ready"}' in text
    server_metrics = client.get("/metrics")
    assert server_metrics.status_code == 200
    assert 'hunkwise_jobs{status="done"} 1.0' in server_metrics.text
    assert 'hunkwise_queue_depth{queue="ready"} 0.0' in server_metrics.text
    assert client.get("/readyz").status_code == 200
    assert worker.term() == 0
