"""The review job's spend gate (hunkwise.jobs.spend_gate): the reservation settled to the ledger's
cost after a review, released when the review fails, and at the cap one notice per merge request
on GitLab too (the GitHub side is in tests/server/test_budget_webhooks.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine, select
from test_review_job import HEAD, deps_for, enqueue, mr_event, pool_for, pr_event, wait_for

from hunkwise.config.review_settings import MonthlyBudget
from hunkwise.jobs.review_job import GITLAB_KIND
from hunkwise.store import jobs as repo
from hunkwise.store.budget import burn
from hunkwise.store.db import use_session
from hunkwise.store.tables import BudgetReservation, ReviewRun
from platform_fakes import FakeGitHub, FakeGitLab
from simkeys import DEV_KEY

BUDGET = MonthlyBudget(5.0, "organization setting")


def reservations(engine: Engine) -> list[BudgetReservation]:
    with use_session(engine) as session:
        return list(session.scalars(select(BudgetReservation)))


async def test_a_review_settles_its_reservation_to_the_ledgers_cost(engine: Engine, sim) -> None:
    gh = FakeGitHub()
    deps = replace(deps_for(engine, sim.zai_developer_url, gh), budget_for_org=lambda org: BUDGET)
    pool = pool_for(engine, deps)
    job = enqueue(engine, pr_event())
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "done", done.error
    [held] = reservations(engine)
    with use_session(engine) as session:
        cost = session.scalar(select(ReviewRun.cost_usd))
    assert held.status == "settled" and held.job_key == job.dedupe_key and held.org == "acme"
    assert held.estimate_usd > 0 and held.actual_usd == pytest.approx(cost) and cost > 0
    month = burn(engine, "acme", BUDGET)
    assert month.spent_usd == pytest.approx(cost) and month.reserved_usd == 0.0


async def test_a_failed_review_releases_its_reservation(engine: Engine) -> None:
    gh = FakeGitHub()
    deps = replace(deps_for(engine, "http://127.0.0.1:9/api/paas/v4", gh), budget_for_org=lambda org: BUDGET)
    pool = pool_for(engine, deps)
    job = enqueue(engine, pr_event(), max_attempts=1)
    pool.start()
    try:
        failed = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert failed.status == "failed" and failed.reason is None  # a model outage, not a budget
    [held] = reservations(engine)
    assert held.status == "released" and held.actual_usd is None
    assert burn(engine, "acme", BUDGET).used_usd == 0.0


async def test_gitlab_at_the_cap_gets_one_note_per_month(engine: Engine, sim) -> None:
    gl = FakeGitLab()
    spent = MonthlyBudget(0.0001, "organization setting")  # below any review's estimate
    deps = replace(deps_for(engine, sim.zai_developer_url, gitlab=gl), budget_for_org=lambda org: spent)
    pool = pool_for(engine, deps)
    jobs = []
    for head in (HEAD, "d" * 40):
        event = mr_event("update", head)
        jobs.append(
            repo.enqueue(
                engine, org="acme", kind=GITLAB_KIND, payload=event.as_payload(), dedupe_key=event.dedupe_key
            )[0]
        )
    pool.start()
    try:
        ended = [await wait_for(engine, j.id) for j in jobs]
    finally:
        await pool.stop()
    assert [(j.status, j.reason, j.attempts) for j in ended] == [("failed", "budget_exhausted", 1)] * 2
    assert sim.stats()["keys"].get(DEV_KEY, {}).get("requests", 0) == 0
    [note] = gl.notes  # the second merge request head was refused without a second note
    assert "monthly review budget of this organization is reached" in note["body"]
    assert "hunkwise:notice:" in note["body"] and gl.discussions == []
    assert reservations(engine) == []  # a refused review holds nothing


@pytest.mark.parametrize(("fail", "attempts", "notices"), [(503, 2, 1), (422, 1, 0)])
async def test_the_notice_is_retried_when_the_platform_blinks_and_the_reason_survives_a_refusal(
    engine: Engine, sim, fail: int, attempts: int, notices: int
) -> None:
    gh = FakeGitHub(fail_posts=[fail])
    none_left = MonthlyBudget(0.0001, "organization setting")
    deps = replace(deps_for(engine, sim.zai_developer_url, gh), budget_for_org=lambda org: none_left)
    pool = pool_for(engine, deps)
    job = enqueue(engine, pr_event(), max_attempts=3)
    pool.start()
    try:
        ended = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert (ended.status, ended.reason, ended.attempts) == ("failed", "budget_exhausted", attempts)
    assert len(gh.reviews) == notices and sim.stats()["keys"].get(DEV_KEY, {}).get("requests", 0) == 0


async def test_two_worker_pools_on_postgresql_racing_for_the_last_dollars(pg_db_url: str, sim) -> None:
    """Two worker pools (two engines, as two processes) take two reviews of one organization at
    once; the budget holds 1.2 reviews' estimates. Whichever order they meet in (both running,
    or one settled first: a review's actual cost here is above 0.2 of its estimate), exactly one
    is reviewed and the other refused before any model request."""
    from test_review_job import sim_slot

    from hunkwise.review.engine import plan_only
    from hunkwise.store.db import make_engine
    from platform_fakes import SAMPLE

    estimate = plan_only(SAMPLE, [sim_slot(sim.zai_developer_url)]).estimated_cost_usd
    budget = MonthlyBudget(estimate * 1.2, "organization setting")
    engines = [make_engine(pg_db_url) for _ in range(2)]
    gh = FakeGitHub()
    pools = [
        pool_for(
            e,
            replace(deps_for(e, sim.zai_developer_url, gh), budget_for_org=lambda org: budget),
            concurrency=1,
        )
        for e in engines
    ]
    jobs = [enqueue(engines[0], pr_event(head=head)) for head in ("1" * 40, "2" * 40)]
    for pool in pools:
        pool.start()
    try:
        ended = [await wait_for(engines[0], j.id) for j in jobs]
    finally:
        for pool in pools:
            await pool.stop()
    try:
        outcomes = sorted((j.status, j.reason) for j in ended)
        assert outcomes == [("done", None), ("failed", "budget_exhausted")], [j.error for j in ended]
        month = burn(engines[0], "acme", budget)
        assert month.reservations == 0 and 0 < month.spent_usd <= budget.usd  # type: ignore[operator]
        assert sum("hunkwise:notice:" in r["body"] for r in gh.reviews) == 1
        assert sum("hunkwise:review:" in r["body"] for r in gh.reviews) == 1
    finally:
        for e in engines:
            e.dispose()


def test_only_a_machine_readable_job_reason_reaches_the_row() -> None:
    from hunkwise.gateway import LimitsUnavailable
    from hunkwise.jobs.engine import job_reason
    from hunkwise.jobs.spend_gate import ceiling_refusal

    assert job_reason(ceiling_refusal("estimated cost $4.76 ...")) == "review_ceiling"
    # Other errors carry a prose ``reason`` (here the Redis failure): it stays in the error text.
    outage = LimitsUnavailable("redis://127.0.0.1:1/0", "acquire", "Connection refused by the server at once")
    assert outage.reason and job_reason(outage) is None
    assert job_reason(ValueError("x")) is None
