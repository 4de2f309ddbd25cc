"""At-least-once delivery with exactly-once effects: SIGKILL, SIGTERM (finish and hand back),
retries with backoff and dead letters with reasons (API and CLI), over real worker processes."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

import pytest
from distkit import PYTHON, Cluster, admin
from sqlalchemy import create_engine, text
from test_distributed_jobs import byok

from simkeys import DEV_KEY
from waiting import sim_in_flight, wait_until

pytestmark = pytest.mark.timeout(90)


def ledger_runs(cluster: Cluster) -> int:
    engine = create_engine(cluster.env["HUNKWISE_DATABASE_URL"])
    with engine.connect() as conn:
        n = conn.scalar(text("SELECT count(*) FROM review_runs"))
    engine.dispose()
    return int(n or 0)


def test_sigkilled_workers_job_is_taken_over_at_once_and_completes_once(
    make_cluster: Callable[..., Cluster], sim_factory
) -> None:
    sim = sim_factory(latency_ms=2500)
    cluster = make_cluster()
    cluster.server()
    byok(cluster, sim.zai_developer_url)
    # A 60 s lease: waiting it out would blow the deadline below; the dead worker's presence lock
    # (ended with its database session) is what frees the job.
    doomed = cluster.worker("--concurrency", "1", "--lease", "60")
    job_id = cluster.deliver("kill-1")
    cluster.wait(job_id, ("running",), deadline_s=20)
    wait_until(sim_in_flight(sim, DEV_KEY), "the doomed worker's model request")
    # Started now, ready later: were the kill to wait for its start-up (seconds on a loaded
    # machine), the 2.5 s model call could finish first and there would be nothing to take over.
    survivor = cluster.worker("--concurrency", "1", "--lease", "60", wait=False)
    doomed.kill()  # mid-review: the model call takes 2.5 s
    killed_at = time.monotonic()
    survivor.wait_ready()
    got = cluster.wait(job_id, deadline_s=30)
    taken_over_s = time.monotonic() - killed_at
    assert got["status"] == "done", got
    assert taken_over_s < 30, taken_over_s  # well before the 60 s lease would have expired
    assert got["attempts"] == 2  # the killed attempt counts
    assert len(cluster.github.fake.reviews) == 1  # one review posted
    assert ledger_runs(cluster) == 1  # usage recorded once
    # The survivor ran it, overriding the dead worker's live lease.
    assert 'hunkwise_jobs_processed_total{outcome="done"} 1.0' in survivor.metrics()
    assert "is gone (presence lock free), lease overridden" in survivor.log.read_text()


def test_sigterm_finishes_the_running_job_then_exits(
    make_cluster: Callable[..., Cluster], sim_factory
) -> None:
    sim = sim_factory(latency_ms=2000)
    cluster = make_cluster()
    cluster.server()
    byok(cluster, sim.zai_developer_url)
    worker = cluster.worker("--concurrency", "1", "--grace", "30")
    job_id = cluster.deliver("term-1")
    cluster.wait(job_id, ("running",), deadline_s=20)
    assert worker.term() == 0
    got = cluster.review(job_id)
    assert got["status"] == "done", got  # finished before exiting, not abandoned
    assert got["attempts"] == 1
    assert len(cluster.github.fake.reviews) == 1


def test_sigterm_past_the_grace_hands_the_job_back(make_cluster: Callable[..., Cluster], sim_factory) -> None:
    sim = sim_factory(latency_ms=4000)
    cluster = make_cluster()
    cluster.server()
    byok(cluster, sim.zai_developer_url)
    leaving = cluster.worker("--concurrency", "1", "--grace", "0.5", "--lease", "30")
    job_id = cluster.deliver("handback-1")
    cluster.wait(job_id, ("running",), deadline_s=20)
    wait_until(sim_in_flight(sim, DEV_KEY), "the leaving worker's model request")
    staying = cluster.worker("--concurrency", "1", wait=False)  # ready later (see the SIGKILL test)
    assert leaving.term() == 0
    staying.wait_ready()
    assert "handed back" in leaving.log.read_text()
    got = cluster.wait(job_id)
    assert got["status"] == "done", got
    # The handed-back attempt was refunded, and the 30 s lease did not have to expire.
    assert got["attempts"] == 1
    assert len(cluster.github.fake.reviews) == 1
    assert 'hunkwise_jobs_processed_total{outcome="done"} 1.0' in staying.metrics()


def run_cli(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "hunkwise", *args], env=cluster.env, capture_output=True, text=True, timeout=60
    )


def test_dead_letters_carry_reasons_in_api_and_cli_and_can_be_retried(
    make_cluster: Callable[..., Cluster], sim, sim_factory
) -> None:
    overloaded = sim_factory(fault_rate=1.0, faults=("1305",))  # transient: retried with backoff
    cluster = make_cluster()
    client = cluster.server()
    byok(cluster, overloaded.zai_developer_url)
    worker = cluster.worker("--concurrency", "2", "--backoff", "0.1")  # the least it takes
    job_id = cluster.deliver("dead-1")
    got = cluster.wait(job_id)
    assert got["status"] == "failed"
    assert got["attempts"] == got["max_attempts"] == 5  # retried with backoff first

    dead = client.get("/api/jobs/dead", headers=admin()).json()
    assert [d["id"] for d in dead] == [job_id]
    assert dead[0]["reason"].startswith("gave up after attempt 5 of 5: every model request failed")
    assert [r["id"] for r in client.get("/api/reviews?status=dead", headers=admin()).json()] == [job_id]
    assert cluster.github.fake.reviews == []  # nothing posted

    listed = run_cli(cluster, "jobs", "--status", "dead", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["id"], r["status"]) for r in rows] == [(job_id, "dead")]
    assert "gave up after attempt 5 of 5" in rows[0]["reason"]
    table = run_cli(cluster, "jobs", "--status", "dead")
    assert "gave up after attempt 5 of 5" in table.stdout
    bad = run_cli(cluster, "jobs", "--status", "zombie")
    assert bad.returncode == 2 and "not one of" in bad.stderr

    metrics = worker.metrics()
    assert 'hunkwise_jobs_processed_total{outcome="retry"} 4.0' in metrics
    assert 'hunkwise_jobs_processed_total{outcome="dead"} 1.0' in metrics

    byok(cluster, sim.zai_developer_url, key=DEV_KEY)  # "fix the cause" (a healthy provider), retry
    retried = run_cli(cluster, "jobs", "retry", str(job_id))
    assert retried.returncode == 0, retried.stderr
    assert "published" in retried.stdout
    got = cluster.wait(job_id, ("done",))
    assert got["attempts"] == 1
    assert len(cluster.github.fake.reviews) == 1
    again = run_cli(cluster, "jobs", "retry", str(job_id))
    assert again.returncode == 2 and "only a dead" in again.stderr
    assert client.get("/api/jobs/dead", headers=admin()).json() == []


def test_a_rejected_key_is_a_dead_letter_at_once_with_the_diagnosis(
    make_cluster: Callable[..., Cluster], sim
) -> None:
    cluster = make_cluster()
    cluster.server()
    byok(cluster, sim.zai_developer_url, key="sk-this-key-is-unknown-to-the-simulator")
    worker = cluster.worker("--concurrency", "1", "--backoff", "0.2")
    got = cluster.wait(cluster.deliver("bad-key-1"))
    assert got["status"] == "failed" and got["attempts"] == 1, got  # no retry can fix a key
    assert got["error"].startswith("permanent failure on attempt 1: the model configuration of organization")
    assert "auth (401, 1002): Invalid API key" in got["error"] and "retrying cannot fix" in got["error"]
    assert "sk-this-key" not in got["error"]
    assert len(sim.requests()) == 1
    assert 'hunkwise_jobs_processed_total{outcome="dead"} 1.0' in worker.metrics()
    assert cluster.github.fake.reviews == []


def test_worker_refuses_sqlite_and_a_bad_broker_url(make_cluster: Callable[..., Cluster], tmp_path) -> None:
    cluster = make_cluster()
    on_sqlite = {**cluster.env, "HUNKWISE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    sqlite = run_cli(Cluster(tmp_path, on_sqlite, cluster.github), "worker")
    assert sqlite.returncode == 2
    assert "must be PostgreSQL" in sqlite.stderr and "Traceback" not in sqlite.stderr
    bad = run_cli(cluster, "worker", "--queue-url", "http://guest:hunter2@127.0.0.1:5672/")
    assert bad.returncode == 2 and "not a broker URL" in bad.stderr
    assert "hunter2" not in bad.stderr  # the password is never printed
    checked = run_cli(cluster, "worker", "--check")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["ok"] is True
    down = run_cli(cluster, "worker", "--check", "--queue-url", "amqp://guest:guest@127.0.0.1:1/")
    assert down.returncode == 2 and "unreachable" in down.stderr, down.stderr


def test_permanent_failure_is_dead_at_once_and_a_redelivered_webhook_revives_it(
    make_cluster: Callable[..., Cluster], sim
) -> None:
    cluster = make_cluster()
    client = cluster.server()
    byok(cluster, sim.zai_developer_url)
    job_id = cluster.deliver("perm-1")  # published; no worker yet
    assert client.delete("/api/orgs/codertocat/byok", headers=admin()).status_code == 204
    cluster.worker("--concurrency", "1")
    got = cluster.wait(job_id)
    assert got["status"] == "failed" and got["attempts"] == 1  # no retry can help
    assert got["error"].startswith("permanent failure on attempt 1: organization 'codertocat' has no model")
    byok(cluster, sim.zai_developer_url)
    assert cluster.deliver("perm-1-again") == job_id  # same change: the dead job is queued again
    got = cluster.wait(job_id, ("done",))
    assert got["attempts"] == 1
    assert len(cluster.github.fake.reviews) == 1


def test_redis_broker_works_too(make_cluster: Callable[..., Cluster], sim, redis_url: str) -> None:
    cluster = make_cluster(HUNKWISE_QUEUE_URL=redis_url)
    client = cluster.server()
    byok(cluster, sim.zai_developer_url)
    worker = cluster.worker("--concurrency", "1")
    job_id = cluster.deliver("redis-1")
    assert cluster.wait(job_id)["status"] == "done"
    assert len(cluster.github.fake.reviews) == 1
    assert 'hunkwise_queue_depth{queue="ready"} 0.0' in client.get("/metrics").text
    assert worker.term() == 0
