"""Distributed-engine fixtures: the real RabbitMQ, PostgreSQL (``pg_db_url`` of tests/conftest.py:
the session's migrated database, emptied) and simulator, the server app in-process, and
``hunkwise worker`` subprocesses.

Each test gets its own queue name, so leftover messages of another test (or run) never reach it,
and the queue is deleted when the test ends (``broker_queue`` in tests/conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from distkit import ADMIN, SECRET, Cluster

from platform_fakes import FakeGitHub, ServedFake


@pytest.fixture
def make_cluster(
    tmp_path: Path, rabbit_url: str, pg_db_url: str, broker_queue: Callable[[str], str]
) -> Iterator[Callable[..., Cluster]]:
    """``make_cluster(**env)`` -> a :class:`Cluster` on its own queue (deleted at teardown, on
    RabbitMQ or, with ``HUNKWISE_QUEUE_URL=redis://...``, on Redis)."""
    made: list[Cluster] = []
    served: list[ServedFake] = []

    def make(**extra: str) -> Cluster:
        github = ServedFake(FakeGitHub())
        served.append(github)
        queue_url = extra.get("HUNKWISE_QUEUE_URL", rabbit_url)
        env = {
            **os.environ,
            "HUNKWISE_ADMIN_TOKEN": ADMIN,
            "HUNKWISE_DATABASE_URL": pg_db_url,
            "HUNKWISE_QUEUE_URL": queue_url,
            "HUNKWISE_QUEUE_NAME": broker_queue(queue_url),
            "HUNKWISE_GITHUB_WEBHOOK_SECRET": SECRET,
            "HUNKWISE_ALLOW_PRIVATE_BASE_URLS": "127.0.0.1",
            "GITHUB_API_URL": github.url,
            "HUNKWISE_GITHUB_TOKEN": "ghp_distributed_test_token",
            **extra,
        }
        cluster = Cluster(tmp_path, env, github)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.close()
    for github in served:
        github.close()
