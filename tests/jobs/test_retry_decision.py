"""The job engine's one retry decision, through the real path (worker pool -> review job ->
router -> simulator over HTTP): a key the provider rejects is a configuration error, dead at once
with the diagnosis; an overloaded provider or a timeout is transient, retried with backoff."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import Engine
from test_review_job import deps_for, enqueue, pool_for, pr_event, sim_slot, wait_for

from hunkwise.gateway.types import Secret
from platform_fakes import FakeGitHub


async def test_a_rejected_key_is_dead_on_the_first_attempt_with_the_diagnosis(engine: Engine, sim) -> None:
    gh = FakeGitHub()
    deps = deps_for(engine, sim.zai_developer_url, gh)
    bad = dataclasses.replace(sim_slot(sim.zai_developer_url), api_key=Secret("sk-unknown-to-the-simulator"))
    deps.slots_for_org = lambda org: [bad]
    pool = pool_for(engine, deps)
    job = enqueue(engine, pr_event(), max_attempts=5)
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "failed" and done.attempts == 1, done
    error = done.error or ""
    assert error.startswith("permanent failure on attempt 1: the model configuration of organization 'acme'")
    assert "auth (401, 1002): Invalid API key" in error
    assert "retrying cannot fix" in error and "PUT /api/orgs/acme/byok" in error
    assert "sk-unknown" not in error
    assert len(sim.requests()) == 1  # one model call, not five attempts of it
    assert gh.posts == []


@pytest.mark.parametrize(
    ("faults", "timeout_s"), [(("1305",), 120.0), (("hang",), 0.3)], ids=["overloaded", "timeout"]
)
async def test_an_overloaded_or_silent_provider_is_retried(
    engine: Engine, sim_factory, faults: tuple[str, ...], timeout_s: float
) -> None:
    flaky = sim_factory(fault_rate=1.0, faults=faults, hang_seconds=5.0)
    gh = FakeGitHub()
    deps = deps_for(engine, flaky.zai_developer_url, gh)
    slot = dataclasses.replace(sim_slot(flaky.zai_developer_url), timeout_s=timeout_s)
    deps.slots_for_org = lambda org: [slot]
    pool = pool_for(engine, deps)
    job = enqueue(engine, pr_event(), max_attempts=2)
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "failed" and done.attempts == 2, done  # retried, then out of attempts
    assert (done.error or "").startswith("gave up after attempt 2 of 2: every model request failed")
    assert gh.posts == []
