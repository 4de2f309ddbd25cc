"""``/metrics`` of a server in distributed mode: it runs no jobs, yet it shows the model calls of
the whole cluster, read from the usage ledger at scrape time (the workers write the ledger)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from distkit import Cluster

from call_records import call_record
from hunkwise.jobs import metrics
from hunkwise.store.ledger import record_run
from hunkwise.store.records import RunRecord

pytestmark = pytest.mark.timeout(90)


def _value(text: str, sample: str) -> float | None:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def test_distributed_server_reports_ledger_calls_by_model_and_outcome(
    make_cluster: Callable[..., Cluster], monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = make_cluster()
    client = cluster.server()
    assert client.app.state.worker_pool is None  # runs no jobs itself
    engine = client.app.state.runtime.engine
    before = client.get("/metrics").text
    assert "hunkwise_cluster_model_calls_total{" not in before  # an empty ledger: no samples yet

    # What two workers would have recorded: a failover from glm-5.1 to gpt-5-mini, and a clean run.
    record_run(
        engine,
        RunRecord(source="github", idempotency_key="worker-a-job-1"),
        [
            call_record("main", "zai", "glm-5.1", "rate", waited_ms=1500.0),
            call_record("fallback", "openai", "gpt-5-mini", "ok", failover=True, waited_ms=250.0),
        ],
    )
    record_run(
        engine,
        RunRecord(source="github", idempotency_key="worker-b-job-2"),
        [call_record("main", "zai", "glm-5.1", "ok"), call_record("main", "zai", "glm-5.1", "ok")],
    )
    # A retried job records the same run again: the ledger stores it once, so it counts once.
    record_run(
        engine,
        RunRecord(source="github", idempotency_key="worker-b-job-2"),
        [call_record("main", "zai", "glm-5.1", "ok")],
    )

    # Each process reads the ledger at most every CLUSTER_CALLS_TTL_S and serves that meanwhile.
    assert "hunkwise_cluster_model_calls_total{" not in client.get("/metrics").text
    monkeypatch.setattr(metrics, "CLUSTER_CALLS_TTL_S", 0.0)
    text = client.get("/metrics").text
    assert _value(text, 'hunkwise_cluster_model_calls_total{model="glm-5.1",outcome="ok"}') == 2.0
    assert _value(text, 'hunkwise_cluster_model_calls_total{model="glm-5.1",outcome="rate"}') == 1.0
    assert _value(text, 'hunkwise_cluster_model_calls_total{model="gpt-5-mini",outcome="ok"}') == 1.0
    assert _value(text, 'hunkwise_cluster_model_failovers_total{model="gpt-5-mini"}') == 1.0
    assert _value(text, 'hunkwise_cluster_model_failovers_total{model="glm-5.1"}') == 0.0
    assert _value(text, 'hunkwise_cluster_slot_wait_seconds_total{model="glm-5.1"}') == 1.5
    assert _value(text, 'hunkwise_cluster_slot_wait_seconds_total{model="gpt-5-mini"}') == 0.25
    assert "# TYPE hunkwise_cluster_model_calls_total counter" in text
    # The per-process counters stay per process: this server ran none of those calls.
    assert "hunkwise_model_calls_total{" not in text
