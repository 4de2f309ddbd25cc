"""The router's call records are the one shape of a model call up to the usage ledger: every
field the ledger stores is filled where the call is made, and a failover is flagged there once."""

from __future__ import annotations

from typing import Any

from gateway_helpers import FAST, make_slot

from hunkwise.gateway import AllSlotsFailed, ChatRequest, Router
from hunkwise.sim import KeyConfig
from simkeys import DEV_KEY


async def test_records_carry_what_the_ledger_stores(sim_factory: Any) -> None:
    server = sim_factory(
        keys=[KeyConfig(key="spent-coding-key", kind="coding", tier="lite", quota_5h=0),
              KeyConfig(key=DEV_KEY, kind="developer")]
    )  # fmt: skip
    main = make_slot(server.zai_coding_url, "spent-coding-key", plan="coding", tier="lite")
    fallback = make_slot(
        server.zai_developer_url, DEV_KEY, name="fallback", model="glm-5", plan="developer", simulated=True
    )
    async with Router([main, fallback], policy=FAST) as router:
        first = await router.chat(ChatRequest.of("hello", purpose="review"))
        # The main's quota window is spent: its circuit is open now, so it is skipped.
        second = await router.chat(ChatRequest.of("again", purpose="repair"))

    spent, answered = first.attempts
    assert (spent.outcome, spent.code, spent.status) == ("quota_window", "1308", 429)
    assert (spent.credential_id, spent.plan, spent.tier) == (main.credential_id, "coding", "lite")
    assert spent.usage.input_tokens == 0 and spent.usage.cost_usd == 0 and not spent.failover
    assert not spent.simulated and spent.is_call and spent.purpose == "review"
    assert answered.ok and answered.failover and answered.simulated
    assert (answered.credential_id, answered.plan, answered.tier) == (
        fallback.credential_id,
        "developer",
        None,
    )
    assert answered.usage is first.usage and answered.usage.input_tokens > 0 and answered.usage.cost_usd > 0
    assert first.failovers == 1

    skipped, served = second.attempts
    assert skipped.outcome == "skipped_open_circuit" and not skipped.is_call and not skipped.failover
    assert served.ok and served.failover and served.purpose == "repair"
    assert second.failovers == 1  # skipping the main is a failover too, counted the same way


async def test_a_failed_request_flags_its_failovers_too(sim: Any) -> None:
    main = make_slot(sim.zai_developer_url, "bad-key-main")
    fallback = make_slot(sim.zai_developer_url, "bad-key-fallback", name="fallback")
    async with Router([main, fallback], policy=FAST) as router:
        try:
            await router.chat(ChatRequest.of("hello"))
        except AllSlotsFailed as exc:
            attempts = exc.attempts
        else:
            raise AssertionError("two invalid keys answered")
    assert [(a.slot, a.outcome, a.failover) for a in attempts] == [
        ("main", "auth", False),
        ("fallback", "auth", True),
    ]
    assert all(a.purpose == "chat" and a.usage.calls == 0 for a in attempts)
