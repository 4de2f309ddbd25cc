"""Every failure the simulator (and a dead socket) can produce becomes the right ErrorKind."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from gateway_helpers import make_slot

from hunkwise.catalog.loader import load_catalog
from hunkwise.errors import ConfigurationError, TransientError
from hunkwise.gateway import ChatRequest, ClientPool, ErrorKind, ProviderError, Slot
from hunkwise.gateway.adapters import adapter_for
from hunkwise.gateway.adapters.translate import parse_reset
from hunkwise.gateway.thinking import profile_for
from hunkwise.sim import KeyConfig
from simkeys import ANTHROPIC_KEY, CODING_LITE_KEY, DEV_KEY, OPENAI_KEY


async def _fail(slot: Slot, request: ChatRequest | None = None) -> ProviderError:
    pool = ClientPool()
    profile = profile_for(slot)
    try:
        with pytest.raises(ProviderError) as info:
            await adapter_for(profile.wire, pool).chat(slot, request or ChatRequest.of("hi"), profile)
    finally:
        await pool.aclose()
    assert info.value.slot == slot.name
    assert slot.api_key.reveal() not in str(info.value)
    return info.value


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_wrong_plan_key_is_auth_1000(sim: Any) -> None:
    err = await _fail(make_slot(sim.zai_developer_url, CODING_LITE_KEY))
    assert (err.kind, err.status, err.code) == (ErrorKind.AUTH, 401, "1000")


async def test_unknown_key_is_auth(sim: Any) -> None:
    err = await _fail(make_slot(sim.zai_developer_url, "not-a-key-at-all"))
    assert err.kind is ErrorKind.AUTH and err.code == "1002"


async def test_unknown_model_is_1211(sim: Any) -> None:
    err = await _fail(make_slot(sim.zai_developer_url, DEV_KEY, model="glm-9"))
    assert err.kind is ErrorKind.MODEL_NOT_FOUND and err.code == "1211"


async def test_invalid_parameter_is_bad_request_1210(sim: Any) -> None:
    entry = load_catalog().error_code("1210")
    assert entry is not None and (entry.kind, entry.status) == ("bad_request", 400)
    err = await _fail(make_slot(sim.zai_developer_url, DEV_KEY, temperature=9.0))
    assert (err.kind, err.status, err.code) == (ErrorKind.BAD_REQUEST, 400, "1210")
    assert "temperature" in err.message  # the simulator names the field, as Z.AI does


async def test_plan_lacking_model_is_1311(sim_factory: Any) -> None:
    server = sim_factory(keys=[KeyConfig(key="limited", kind="coding", models=("glm-4.5",))])
    err = await _fail(make_slot(server.zai_coding_url, "limited", model="glm-5.1"))
    assert err.kind is ErrorKind.PLAN_LACKS_MODEL and err.code == "1311"


async def test_prompt_over_the_window_is_context_overflow(sim: Any) -> None:
    err = await _fail(
        make_slot(sim.zai_developer_url, DEV_KEY, model="glm-4.5"), ChatRequest.of("word " * 200_000)
    )
    assert err.kind is ErrorKind.CONTEXT_OVERFLOW and err.code == "1261"


async def test_quota_window_1308_keeps_next_flush_time(sim_factory: Any) -> None:
    server = sim_factory(quota_5h=0)
    err = await _fail(make_slot(server.zai_coding_url, CODING_LITE_KEY))
    assert err.kind is ErrorKind.QUOTA_WINDOW and err.code == "1308"
    assert err.reset_at is not None
    assert abs(err.reset_at.timestamp() - (server.stats()["clock"] + 5 * 3600)) < 5


async def test_weekly_window_1310(sim_factory: Any) -> None:
    server = sim_factory(quota_week=0)
    err = await _fail(make_slot(server.zai_coding_url, CODING_LITE_KEY))
    assert err.kind is ErrorKind.QUOTA_WINDOW and err.code == "1310" and err.reset_at is not None


@pytest.mark.parametrize(
    ("code", "kind", "family"),
    [
        ("1309", ErrorKind.PLAN_EXPIRED, ConfigurationError),  # a person must renew the plan
        ("1313", ErrorKind.RATE, TransientError),  # fair-use throttling: back off
        ("1316", ErrorKind.QUOTA_WINDOW, TransientError),  # quota exhausted: circuit, fail over
        ("1317", ErrorKind.QUOTA_WINDOW, TransientError),
    ],
)
async def test_coding_plan_codes_forced_by_the_simulator(
    sim_factory: Any, code: str, kind: ErrorKind, family: type
) -> None:
    server = sim_factory(keys=[KeyConfig(key="forced", kind="coding", force_error=code)])
    err = await _fail(make_slot(server.zai_coding_url, "forced"))
    assert err.kind is kind and err.code == code and err.status == 429
    assert err.kind.family is family
    assert err.kind.is_configuration is (family is ConfigurationError)


async def test_balance_1113(sim_factory: Any) -> None:
    server = sim_factory(balance=0)
    err = await _fail(make_slot(server.zai_developer_url, DEV_KEY))
    assert err.kind is ErrorKind.BALANCE and err.code == "1113"


@pytest.mark.parametrize(
    ("fault", "kind", "status"),
    [
        ("500", ErrorKind.TRANSIENT, 500),
        ("502", ErrorKind.TRANSIENT, 502),
        ("503", ErrorKind.TRANSIENT, 503),
        ("1305", ErrorKind.OVERLOADED, 429),
        ("1312", ErrorKind.OVERLOADED, 429),
        ("truncated", ErrorKind.TRANSIENT, None),
        ("reset", ErrorKind.NETWORK, None),
    ],
)
async def test_injected_faults(sim_factory: Any, fault: str, kind: ErrorKind, status: int | None) -> None:
    server = sim_factory(fault_rate=1.0, faults=(fault,))
    err = await _fail(make_slot(server.zai_developer_url, DEV_KEY))
    assert err.kind is kind, err
    assert err.status == status
    if fault == "reset":
        assert "reset" in err.message or "closed the connection" in err.message


async def test_hang_is_timeout(sim_factory: Any) -> None:
    server = sim_factory(fault_rate=1.0, faults=("hang",), hang_seconds=30)
    err = await _fail(make_slot(server.zai_developer_url, DEV_KEY, timeout_s=0.5))
    assert err.kind is ErrorKind.TIMEOUT
    assert "0.5 s" in err.message


async def test_closed_port_is_network_refused() -> None:
    port = _closed_port()
    err = await _fail(make_slot(f"http://127.0.0.1:{port}/api/paas/v4", DEV_KEY))
    assert err.kind is ErrorKind.NETWORK
    assert err.message.startswith(f"connection refused by 127.0.0.1:{port}")


async def test_unresolvable_host_is_network_dns() -> None:
    err = await _fail(make_slot("http://no-such-host.invalid/api/paas/v4", DEV_KEY))
    assert err.kind is ErrorKind.NETWORK
    assert err.message.startswith("DNS lookup failed for no-such-host.invalid")


async def test_concurrency_1302(sim_factory: Any) -> None:
    import asyncio

    server = sim_factory(latency_ms=300)
    slot = make_slot(server.zai_coding_url, CODING_LITE_KEY)
    results = await asyncio.gather(*(_try(slot) for _ in range(4)))
    kinds = {r.kind if isinstance(r, ProviderError) else "ok" for r in results}
    assert ErrorKind.CONCURRENCY in kinds  # lite allows 1 in flight; the adapter does not queue


async def _try(slot: Slot) -> object:
    pool = ClientPool()
    profile = profile_for(slot)
    try:
        return await adapter_for(profile.wire, pool).chat(slot, ChatRequest.of("hi"), profile)
    except ProviderError as err:
        return err
    finally:
        await pool.aclose()


# -- OpenAI and Anthropic dialects ---------------------------------------------------------------
async def test_openai_dialect(sim_factory: Any) -> None:
    server = sim_factory()
    err = await _fail(make_slot(server.openai_url, "wrong", provider="openai", model="gpt-5"))
    assert err.kind is ErrorKind.AUTH and err.status == 401
    err = await _fail(
        make_slot(server.openai_url, OPENAI_KEY, provider="openai", model="gpt-4.1", max_output_tokens=10**6)
    )
    assert err.kind is ErrorKind.BAD_REQUEST and err.status == 400
    err = await _fail(make_slot(server.openai_url, OPENAI_KEY, provider="openai", model="gpt-9"))
    assert err.kind is ErrorKind.MODEL_NOT_FOUND and err.status == 404
    broke = sim_factory(balance=0)
    err = await _fail(make_slot(broke.openai_url, OPENAI_KEY, provider="openai", model="gpt-5"))
    assert err.kind is ErrorKind.BALANCE and err.code == "insufficient_quota"


async def test_anthropic_dialect(sim_factory: Any) -> None:
    server = sim_factory(fault_rate=1.0, faults=("503",))
    err = await _fail(
        make_slot(server.anthropic_url, ANTHROPIC_KEY, provider="anthropic", model="claude-haiku-4-5")
    )
    assert err.kind is ErrorKind.OVERLOADED and err.status == 529
    err = await _fail(make_slot(server.anthropic_url, "nope", provider="anthropic", model="claude-haiku-4-5"))
    assert err.kind is ErrorKind.AUTH
    err = await _fail(
        make_slot(server.anthropic_url, ANTHROPIC_KEY, provider="anthropic", model="claude-haiku-4-5"),
        ChatRequest.of("word " * 300_000),
    )
    assert err.kind is ErrorKind.CONTEXT_OVERFLOW


class _RaisingTransport:
    """A caller-supplied transport (``ClientPool(transport_factory=...)``) that fails the way a
    custom network backend can: with a bare socket-level error the SDK does not wrap."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def handle_async_request(self, request: Any) -> Any:
        raise self.exc

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize(
    ("exc", "kind", "start"),
    [
        (
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            ErrorKind.NETWORK,
            "DNS lookup failed for llm.example.test",
        ),
        (
            ConnectionRefusedError(111, "Connection refused"),
            ErrorKind.NETWORK,
            "connection refused by llm.example.test",
        ),
        (
            ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
            ErrorKind.NETWORK,
            "TLS handshake with llm.example.test failed",
        ),
        (OSError(113, "No route to host"), ErrorKind.NETWORK, "network error talking to llm.example.test"),
        (TimeoutError(), ErrorKind.TIMEOUT, "no answer within"),
    ],
)
@pytest.mark.parametrize("provider", ["zai", "anthropic"])
async def test_a_bare_socket_error_from_a_transport_is_a_network_error(
    exc: BaseException, kind: ErrorKind, start: str, provider: str
) -> None:
    """It used to escape the adapter unclassified (a 500 from the server's test endpoint)."""
    model = "glm-5.1" if provider == "zai" else "claude-haiku-4-5"
    slot = make_slot("https://llm.example.test/api/paas/v4", DEV_KEY, provider=provider, model=model)
    pool = ClientPool(transport_factory=lambda s: _RaisingTransport(exc))
    profile = profile_for(slot)
    try:
        with pytest.raises(ProviderError) as info:
            await adapter_for(profile.wire, pool).chat(slot, ChatRequest.of("hi"), profile)
    finally:
        await pool.aclose()
    assert info.value.kind is kind and info.value.message.startswith(start), info.value.message


# -- reset time parsing ----------------------------------------------------------------------------
def test_parse_reset_accepts_ms_seconds_iso_and_zai_wall_clock() -> None:
    moment = datetime(2026, 9, 9, 5, 38, 28, tzinfo=UTC)
    assert parse_reset(int(moment.timestamp() * 1000)) == moment
    assert parse_reset(str(int(moment.timestamp()))) == moment
    assert parse_reset("2026-09-09T05:38:28Z") == moment
    beijing = moment.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
    assert parse_reset(f"Usage limit reached. Your limit will reset at {beijing}") == moment
    assert parse_reset("no time here") is None and parse_reset(None) is None
