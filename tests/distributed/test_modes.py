"""Server and workers state their mode at start-up, and a job published by a server in one mode
(fixed: ``HUNKWISE_MODEL``; BYOK: per organization) and picked up by a worker in the other ends
as a dead letter that names the mismatch and the fix, not a misleading "no model configuration"."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx
import pytest
from distkit import PYTHON, Cluster, free_port
from test_distributed_jobs import byok

from simkeys import DEV_KEY

pytestmark = pytest.mark.timeout(90)


def test_fixed_server_and_byok_worker_is_named_a_mode_mismatch(
    make_cluster: Callable[..., Cluster], sim
) -> None:
    cluster = make_cluster(HUNKWISE_MODEL="glm-5.1", ZAI_API_KEY=DEV_KEY, ZAI_BASE_URL=sim.base_url)
    cluster.server()
    worker = cluster.worker("--concurrency", "1", env={"HUNKWISE_MODEL": "", "ZAI_API_KEY": ""})
    got = cluster.wait(cluster.deliver("mode-1"))
    assert got["status"] == "failed" and got["attempts"] == 1, got
    assert got["error"] == (
        "permanent failure on attempt 1: mode mismatch: the server is in fixed mode "
        "(HUNKWISE_MODEL=glm-5.1) but this worker is in BYOK mode (HUNKWISE_MODEL unset): give the "
        "server and every worker the same HUNKWISE_* model settings (docs/scale-out.md)"
    )
    assert sim.requests() == [] and cluster.github.fake.reviews == []
    start = next(line for line in worker.log.read_text().splitlines() if "consuming queue" in line)
    queue = cluster.env["HUNKWISE_QUEUE_NAME"]
    assert f"consuming queue {queue} on amqp://guest:***@127.0.0.1:5672/" in start
    assert "mode: BYOK (each organization's models and keys, from the database)" in start
    assert "limits: per process (HUNKWISE_LIMITS_URL unset)" in start
    assert "guest:guest" not in worker.log.read_text()


def test_byok_server_and_fixed_worker_is_named_a_mode_mismatch(
    redis_url: str, namespace: str, make_cluster: Callable[..., Cluster], sim
) -> None:
    # (``namespace`` first: its keys are deleted after the cluster's workers are gone)
    cluster = make_cluster()
    cluster.server()
    byok(cluster, sim.zai_developer_url)
    fixed = {"HUNKWISE_MODEL": "glm-5.1", "ZAI_API_KEY": DEV_KEY, "ZAI_BASE_URL": sim.base_url}
    limits = {"HUNKWISE_LIMITS_URL": redis_url, "HUNKWISE_LIMITS_NAMESPACE": namespace}
    worker = cluster.worker("--concurrency", "1", env={**fixed, **limits})
    got = cluster.wait(cluster.deliver("mode-2"))
    assert got["status"] == "failed" and got["attempts"] == 1, got
    assert (
        "mode mismatch: the server is in BYOK mode (HUNKWISE_MODEL unset) but this worker is in "
        in got["error"]
    )
    assert "fixed mode (HUNKWISE_MODEL=glm-5.1)" in got["error"]
    assert sim.requests() == []
    start = next(line for line in worker.log.read_text().splitlines() if "consuming queue" in line)
    assert "mode: fixed (HUNKWISE_MODEL; main: zai/glm-5.1 (developer)) for every organization" in start
    assert f"limits: Redis {redis_url} namespace {namespace}, shared by every worker" in start
    assert DEV_KEY not in worker.log.read_text()


def test_serve_states_its_mode_and_where_jobs_go(make_cluster: Callable[..., Cluster], tmp_path) -> None:
    cluster = make_cluster(HUNKWISE_MODEL="glm-5.1", ZAI_API_KEY=DEV_KEY)
    port = free_port()
    cmd = [PYTHON, "-m", "hunkwise", "serve", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):  # readiness, not a timing assertion
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    line = next(line for line in err.splitlines() if line.startswith("hunkwise server on"))
    assert "mode: fixed (HUNKWISE_MODEL; main: zai/glm-5.1 (developer)) for every organization" in line
    queue = cluster.env["HUNKWISE_QUEUE_NAME"]
    assert f"jobs: published to amqp://guest:***@127.0.0.1:5672/ queue {queue} for `hunkwise worker`" in line
    assert DEV_KEY not in err and "guest:guest" not in err
