"""The connect-time SSRF guard: the address actually dialled is checked (DNS rebinding refused).

No external DNS here: the policy's resolver is injected, and the "provider" is the simulator on
127.0.0.1, reached through names that resolve to it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

import simkeys
from hunkwise.config.ssrf import ALLOW_ENV, SsrfPolicy
from hunkwise.config.ssrf_connect import connect_guard
from hunkwise.errors import Backoff
from hunkwise.gateway import (
    AllSlotsFailed,
    ChatRequest,
    ClientPool,
    ErrorKind,
    RetryPolicy,
    Router,
    Secret,
    Slot,
)

NO_RETRY = RetryPolicy(
    rate_retries=0, transient_retries=0, backoff=Backoff(base_s=0.01, max_s=0.01, jitter=0.5)
)


class Resolver:
    """Answers from a script, one answer per lookup (the last repeats), and logs each lookup."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def _slot(sim: Any, host: str, scheme: str = "http") -> Slot:
    port = urlsplit(sim.base_url).port
    return Slot(
        name="main",
        provider="zai",
        base_url=f"{scheme}://{host}:{port}/api/paas/v4",
        model="glm-5.1",
        api_key=Secret(simkeys.DEV_KEY),
        plan="developer",
        timeout_s=5.0,
    )


async def _chat(slot: Slot, policy: SsrfPolicy) -> Any:
    pool = ClientPool(transport_factory=connect_guard(policy))
    async with Router([slot], clients=pool, policy=NO_RETRY) as router:
        return await router.chat(ChatRequest.of("hello"))


async def test_a_name_resolving_to_loopback_is_refused_at_connect(sim: Any) -> None:
    resolver = Resolver(["127.0.0.1"])
    before = len(sim.requests())
    with pytest.raises(AllSlotsFailed) as info:
        await _chat(_slot(sim, "llm.example.test"), SsrfPolicy(resolver=resolver))
    [err] = info.value.errors
    assert err.kind is ErrorKind.NETWORK
    assert "llm.example.test resolves to 127.0.0.1, a loopback address" in err.message
    assert ALLOW_ENV in err.message
    assert len(sim.requests()) == before  # nothing reached the server
    assert resolver.lookups == ["llm.example.test"]


async def test_dns_rebinding_between_check_and_connect_is_refused(sim: Any) -> None:
    # Public at check time, loopback a moment later when the client connects.
    resolver = Resolver(["93.184.216.34"], ["127.0.0.1"])
    policy = SsrfPolicy(resolver=resolver)
    slot = _slot(sim, "rebind.example.test", scheme="https")
    assert policy.check(slot.base_url, at_save=False) == []  # the pre-use check is fooled
    with pytest.raises(AllSlotsFailed) as info:
        await _chat(slot, policy)
    assert "resolves to 127.0.0.1" in info.value.errors[0].message
    assert resolver.lookups == ["rebind.example.test", "rebind.example.test"]


async def test_an_allow_listed_name_connects_to_the_address_it_resolved(sim: Any) -> None:
    resolver = Resolver(["127.0.0.1"])
    policy = SsrfPolicy(allowed_hosts=frozenset({"ollama.lan"}), resolver=resolver)
    result = await _chat(_slot(sim, "ollama.lan"), policy)
    assert result.slot == "main" and "[simulator]" in result.content
    assert resolver.lookups == ["ollama.lan"]


async def test_a_loopback_literal_is_blocked_unless_allow_listed(sim: Any) -> None:
    with pytest.raises(AllSlotsFailed) as info:
        await _chat(_slot(sim, "127.0.0.1"), SsrfPolicy(resolver=Resolver(["203.0.113.9"])))
    assert "policy: 127.0.0.1 is a loopback address" in info.value.errors[0].message
    allowed = SsrfPolicy(allowed_hosts=frozenset({"127.0.0.1"}), resolver=Resolver(["203.0.113.9"]))
    result = await _chat(_slot(sim, "127.0.0.1"), allowed)
    assert result.content


async def test_the_key_never_appears_in_the_refusal(sim: Any) -> None:
    with pytest.raises(AllSlotsFailed) as info:
        await _chat(_slot(sim, "metadata.example.test"), SsrfPolicy(resolver=Resolver(["169.254.169.254"])))
    text = str(info.value)
    assert "a cloud metadata address" in text and simkeys.DEV_KEY not in text


async def test_guarded_clients_for_org_slots(sim: Any) -> None:
    from hunkwise.config.byok import guarded_clients
    from hunkwise.gateway import probe_slots

    pool = guarded_clients(SsrfPolicy(resolver=Resolver(["10.0.0.7"])))
    try:
        [diagnosis] = await probe_slots([_slot(sim, "vllm.example.test")], clients=pool)
    finally:
        await pool.aclose()
    assert not diagnosis.ok
    assert "10.0.0.7, a private-network address" in str(diagnosis.as_dict())


def _no_such_host(host: str, port: int) -> list[str]:
    import socket

    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


async def test_a_name_that_does_not_resolve_is_a_dns_network_error(sim: Any) -> None:
    """A resolver failure behind the guard used to escape as ``socket.gaierror`` (a 500 from the
    test endpoint, a crashed review); it is the same ``network`` error an unguarded client gives."""
    from hunkwise.config.byok import guarded_clients
    from hunkwise.gateway import probe_slots

    policy = SsrfPolicy(resolver=_no_such_host)
    with pytest.raises(AllSlotsFailed) as info:
        await _chat(_slot(sim, "gone.example.test"), policy)
    [err] = info.value.errors
    assert err.kind is ErrorKind.NETWORK
    assert err.message.startswith("DNS lookup failed for gone.example.test: ")
    assert err.message.endswith("Name or service not known")
    pool = guarded_clients(SsrfPolicy(resolver=Resolver([])))  # an answer without addresses
    try:
        [diagnosis] = await probe_slots([_slot(sim, "empty.example.test")], clients=pool)
    finally:
        await pool.aclose()
    assert diagnosis.kind == "network" and "empty.example.test has no address" in diagnosis.provider_message


@pytest.mark.parametrize("fixed_mode", [False, True])
async def test_review_jobs_call_byok_slots_through_the_guard(sim: Any, fixed_mode: bool) -> None:
    from hunkwise.config.settings import Settings
    from hunkwise.gateway.limits.local import LocalBackend
    from hunkwise.jobs.embedded import review_deps
    from hunkwise.jobs.resolver import SlotResolver
    from hunkwise.jobs.runtime import Runtime
    from hunkwise.store.secrets import SecretBox

    policy = SsrfPolicy(resolver=Resolver(["127.0.0.1"]))
    fixed: Any = object() if fixed_mode else None
    box = SecretBox(())
    runtime = Runtime(
        settings=Settings.from_env({}),
        engine=None,  # type: ignore[arg-type]  # not used before a job runs
        box=box,
        policy=policy,
        limits=LocalBackend(),
        fixed=fixed,
        slots=SlotResolver(None, box=box, policy=policy, fixed=fixed),  # type: ignore[arg-type]
    )
    deps = review_deps(runtime)
    assert deps.clients is not None
    pool = deps.clients()
    if fixed_mode:  # the admin's own configuration is trusted, as on the CLI
        assert pool is None
        return
    assert pool is not None
    try:
        async with Router([_slot(sim, "llm.example.test")], clients=pool, policy=NO_RETRY) as router:
            with pytest.raises(AllSlotsFailed) as info:
                await router.chat(ChatRequest.of("hello"))
    finally:
        await pool.aclose()
    assert "resolves to 127.0.0.1, a loopback address" in info.value.errors[0].message
