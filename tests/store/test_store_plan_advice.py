"""The plan advisor fed by the ledger: the store query, the organization scope, and the accuracy
the issue asks for (a Developer-API-only period re-priced within 1% of the ledger's total)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from call_records import call_record
from hunkwise.catalog.loader import load_catalog
from hunkwise.catalog.plan_advice import advise
from hunkwise.gateway import Secret, Slot
from hunkwise.gateway.types import Attempt
from hunkwise.store import jobs as repo
from hunkwise.store.ledger import advice_calls, org_run_ids, record_run, usage_summary
from hunkwise.store.records import RunRecord

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=30)


def _slot(model: str, provider: str = "zai") -> Slot:
    """A slot with the catalog's prices copied in, as config.slots builds it."""
    card = load_catalog().card(model)
    assert card is not None
    return Slot(
        name="main",
        provider=provider,  # type: ignore[arg-type]
        base_url="https://api.z.ai/api/paas/v4",
        model=model,
        api_key=Secret("k-0123456789"),
        plan="developer" if provider == "zai" else None,
        input_price=card.input_price,
        output_price=card.output_price,
        cached_input_price=card.cached_input_price,
    )


def _priced(slot: Slot, at: datetime, tokens_in: int, tokens_out: int, cached: int, **kw: object) -> Attempt:
    """A call record priced by the gateway's own rule, as the router records it."""
    return call_record(
        slot=slot.name,
        provider=slot.provider,
        model=slot.model,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cached_tokens=cached,
        cost_usd=slot.cost_usd(tokens_in, tokens_out, cached),
        created_at=at,
        plan=slot.plan,
        **kw,
    )


def test_a_developer_api_period_is_re_priced_within_one_percent_of_the_ledger(engine: Engine) -> None:
    glm, mini = _slot("glm-5.1"), _slot("glm-4.5-air")
    for day in range(20):
        at = START + timedelta(days=day, hours=3)
        calls = [
            _priced(glm, at, 18_000 + 97 * day, 1_500 + day, 6_000),
            _priced(glm, at + timedelta(minutes=2), 9_000, 800, 0),
            _priced(mini, at + timedelta(minutes=3), 4_000, 300, 1_000),
            call_record(model="glm-5.1", outcome="rate", created_at=at, plan="developer"),  # no tokens
        ]
        record_run(engine, RunRecord(source="local", idempotency_key=f"d{day}"), calls)
    ledger = usage_summary(engine, since=START).total.cost_usd
    advice = advise(advice_calls(engine, START, NOW), load_catalog(), start=START, end=NOW)
    assert ledger > 0
    assert advice.developer_total_usd == pytest.approx(ledger, rel=0.01)
    assert advice.as_dict()["ledger_priced_cost_usd"] == pytest.approx(ledger, rel=1e-9)
    assert advice.real_calls == 80 and advice.served_by == {"developer": 80}


def test_simulated_and_skipped_rows_and_the_period_bounds(engine: Engine) -> None:
    glm = _slot("glm-5.1")
    record_run(
        engine,
        RunRecord(source="local"),
        [
            _priced(glm, NOW - timedelta(days=1), 1_000, 100, 0),
            _priced(glm, NOW - timedelta(days=31), 1_000, 100, 0),  # before the period
            call_record(model="glm-5.1", outcome="skipped_open_circuit", created_at=NOW - timedelta(hours=1)),
        ],
    )
    record_run(
        engine,
        RunRecord(source="offline", simulated=True),
        [_priced(glm, NOW - timedelta(days=2), 5_000, 500, 0, simulated=True)],
    )
    rows = advice_calls(engine, START, NOW)
    assert [(r.simulated, r.outcome) for r in rows] == [(True, "ok"), (False, "ok")]  # oldest first
    advice = advise(rows, load_catalog(), start=START, end=NOW)
    assert (advice.real_calls, advice.simulated_calls) == (1, 1)
    assert advice.developer_total_usd == pytest.approx(glm.cost_usd(1_000, 100))


def test_an_organization_sees_the_calls_of_its_own_reviews(engine: Engine) -> None:
    glm = _slot("glm-5.1")
    mine = record_run(
        engine, RunRecord(source="github"), [_priced(glm, NOW - timedelta(hours=5), 1_000, 100, 0)]
    )
    record_run(engine, RunRecord(source="github"), [_priced(glm, NOW - timedelta(hours=4), 9_000, 900, 0)])
    job, _ = repo.enqueue(engine, org="acme", kind="github", payload={}, dedupe_key="a1")
    assert repo.claim(engine, "w1", lease_s=30) is not None
    assert repo.save_checkpoint(engine, job.id, "w1", {"run_id": mine})
    assert org_run_ids(engine, "acme") == {mine}
    assert org_run_ids(engine, "other") == set()
    rows = advice_calls(engine, START, NOW, run_ids=org_run_ids(engine, "acme"))
    assert [r.input_tokens for r in rows] == [1_000]
    assert advice_calls(engine, START, NOW, run_ids=set()) == []
