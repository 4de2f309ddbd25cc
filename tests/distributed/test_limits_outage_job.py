"""A worker whose cluster limits backend (Redis) goes down mid-run: the review job ends ``retry``
(transient, backed off) with the clear limits message instead of the redis client's error or a
dead letter, and once Redis is back the retried job completes in the same worker process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from distkit import Cluster, admin

from ports import restartable_port
from simkeys import DEV_KEY

pytestmark = pytest.mark.timeout(120)

PASSWORD = "hunter2-job-outage"


def _redis_server(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--requirepass", PASSWORD, "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import socket

    for _ in range(500):
        if proc.poll() is not None:  # e.g. the port is taken: never talk to a stranger
            raise AssertionError(f"redis-server exited with {proc.returncode} on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"redis-server did not start on port {port}")


def test_job_retries_with_the_limits_message_and_succeeds_once_redis_is_back(
    make_cluster: Callable[..., Cluster], sim, tmp_path: Path
) -> None:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed (CI=true: service tests must run)")
        pytest.skip("redis-server is not installed")
    port = restartable_port()  # Redis comes back on the same port: see tests/ports.py
    redis = _redis_server(port, tmp_path)
    try:
        cluster = make_cluster(HUNKWISE_LIMITS_URL=f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
        client = cluster.server()
        # A capped key: every call takes a cluster-wide lease (the reason the backend exists).
        main = {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY, "max_concurrent": 2}
        body = {"main": main}
        assert client.put("/api/orgs/codertocat/byok", json=body, headers=admin()).status_code == 200
        worker = cluster.worker("--concurrency", "1", "--lease", "5", "--backoff", "2")
        first = cluster.wait(cluster.deliver("outage-1"))
        assert first["status"] == "done", first  # the backend is connected and in use

        redis.send_signal(signal.SIGKILL)
        redis.wait(10)
        # Wait until the worker has noticed (its circuit mirror is dropped), so the outcome below
        # does not depend on whether the next job starts within those few milliseconds.
        deadline = time.monotonic() + 15
        while "pub/sub connection lost" not in worker.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        job_id = cluster.deliver("outage-2", number=2, head_sha="b" * 40)
        deadline = time.monotonic() + 30
        got = cluster.review(job_id)
        while not got["error"] and time.monotonic() < deadline:
            time.sleep(0.1)
            got = cluster.review(job_id)
        assert got["status"] == "queued" and got["attempts"] == 1, got  # retry, not a dead letter
        assert f"cannot reach Redis at redis://:***@127.0.0.1:{port}/0" in got["error"]
        assert "unset HUNKWISE_LIMITS_URL" in got["error"]
        assert PASSWORD not in got["error"] and "Traceback" not in got["error"]
        assert 'hunkwise_jobs_processed_total{outcome="retry"} 1.0' in worker.metrics()

        redis = _redis_server(port, tmp_path)  # back on the same port, empty
        done = cluster.wait(job_id, deadline_s=60)
        assert done["status"] == "done" and done["attempts"] >= 2, done
        # the same pull request at a new head with the same findings: the one summary is edited,
        # nothing is posted twice
        fake = cluster.github.fake
        assert len(fake.reviews) == 1 and len(fake.edits) == 1
        assert f"`{'b' * 12}`" in fake.reviews[0]["body"]
        assert PASSWORD not in worker.log.read_text()
    finally:
        redis.kill()
        redis.wait(10)
