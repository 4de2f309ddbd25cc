"""One review with a failover shows one failover count everywhere the server shows one: the
reviews API (the report), the ledger's run row, ``/metrics`` (this process's counter and the
cluster's, read from the ledger) and the console's Usage page. They are all sums of the router's
``failover`` flags on the review's call records."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from srvkit import admin_headers
from test_webhooks import SECRET, deliver, load, wait_review
from webkit import create_org, sign_in

from hunkwise.sim import KeyConfig
from hunkwise.store.db import use_session
from hunkwise.store.tables import ReviewRun
from platform_fakes import FakeGitHub, ServedFake
from simkeys import OPENAI_KEY

SPENT = "spent-coding-plan-key-0001"


@pytest.fixture
def github() -> Iterator[ServedFake]:
    served = ServedFake(FakeGitHub())
    yield served
    served.close()


def _metric(text: str, name: str) -> float:
    """The sum of every sample of ``name`` (all label sets)."""
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def test_a_failover_is_one_figure_in_the_api_the_run_row_metrics_and_console(
    make_client: Callable[..., TestClient], sim_factory: Any, github: ServedFake
) -> None:
    sim = sim_factory(
        keys=[KeyConfig(key=SPENT, kind="coding", tier="lite", quota_5h=0),
              KeyConfig(key=OPENAI_KEY, kind="openai")]
    )  # fmt: skip
    client = make_client(
        HUNKWISE_GITHUB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
        GITHUB_API_URL=github.url,
        HUNKWISE_GITHUB_TOKEN="ghp_webhook_test_token",
    )
    token = create_org(client, "codertocat")
    main = {
        "card": "glm-5.1",
        "plan": "coding",
        "tier": "lite",
        "base_url": sim.zai_coding_url,
        "api_key": SPENT,
    }
    fallback = {"card": "gpt-5-mini", "base_url": sim.openai_url, "api_key": OPENAI_KEY}
    byok = {"main": main, "fallback": fallback}
    assert client.put("/api/orgs/codertocat/byok", json=byok, headers=admin_headers()).status_code == 200

    resp = deliver(client, load("pull_request.opened.payload.json", github.url))
    assert resp.status_code == 202, resp.text
    review = wait_review(client, resp.json()["job_id"])
    assert review["status"] == "done", review["error"]
    failovers = review["failovers"]
    assert failovers >= 1 and review["usage"]["failovers"] == failovers
    assert set(review["usage"]["models"]) == {"gpt-5-mini"}  # the fallback answered every request

    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with use_session(engine) as session:
        assert list(session.scalars(select(ReviewRun.failovers))) == [failovers]

    # The embedded pool counts the run's calls once the job is done: wait for that, not a time.
    deadline = time.monotonic() + 30
    while (metrics := client.get("/metrics").text) and _metric(metrics, "hunkwise_model_calls_total") == 0:
        assert time.monotonic() < deadline, metrics
        time.sleep(0.05)
    assert _metric(metrics, "hunkwise_model_failovers_total") == failovers
    assert _metric(metrics, "hunkwise_cluster_model_failovers_total") == failovers

    sign_in(client, token)
    usage = client.get("/console/usage").text
    assert f'id="total-failovers">{failovers}<' in usage
