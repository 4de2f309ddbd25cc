"""OpenAI-style /v1/chat/completions and Anthropic-style /v1/messages, via the official SDKs."""

from __future__ import annotations

import anthropic
import openai
import pytest

from hunkwise.sim import KeyConfig
from simkeys import ANTHROPIC_KEY, DEV_KEY, OPENAI_KEY

HELLO = [{"role": "user", "content": "Say hello."}]


def oa(sim, key: str = OPENAI_KEY) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=sim.openai_url, max_retries=0, timeout=10)


def an(sim, key: str = ANTHROPIC_KEY) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=key, base_url=sim.anthropic_url, max_retries=0, timeout=10)


# -- OpenAI ----------------------------------------------------------------------------------------
def test_openai_reasoning_model_reports_reasoning_tokens_without_text(sim) -> None:
    r = oa(sim).chat.completions.create(
        model="gpt-5", messages=HELLO, reasoning_effort="high", max_completion_tokens=2000
    )
    assert r.id.startswith("chatcmpl-")
    assert getattr(r.choices[0].message, "reasoning_content", None) is None
    assert r.usage and r.usage.completion_tokens_details
    assert r.usage.completion_tokens_details.reasoning_tokens > 0
    assert sim.requests(limit=1)[0]["body"]["reasoning_effort"] == "high"


def test_openai_reasoning_model_rejects_max_tokens_and_temperature(sim) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        oa(sim).chat.completions.create(model="gpt-5-mini", messages=HELLO, max_tokens=100)
    assert info.value.code == "unsupported_parameter" and info.value.param == "max_tokens"
    with pytest.raises(openai.BadRequestError) as info:
        oa(sim).chat.completions.create(model="gpt-5-mini", messages=HELLO, temperature=0.2)
    assert info.value.param == "temperature"
    oa(sim).chat.completions.create(model="gpt-4.1", messages=HELLO, max_tokens=100, temperature=0.2)


def test_openai_stream_usage_only_when_asked(sim) -> None:
    plain = list(oa(sim).chat.completions.create(model="gpt-4.1", messages=HELLO, stream=True))
    assert all(c.usage is None for c in plain)
    with_usage = list(
        oa(sim).chat.completions.create(
            model="gpt-4.1", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    assert with_usage[-1].choices == [] and with_usage[-1].usage is not None
    text = "".join(c.choices[0].delta.content or "" for c in with_usage if c.choices)
    assert "[simulator]" in text


def test_openai_errors_have_openai_shape(sim) -> None:
    with pytest.raises(openai.AuthenticationError) as auth:
        oa(sim, key=DEV_KEY).chat.completions.create(model="gpt-5", messages=HELLO)
    assert auth.value.code == "invalid_api_key"
    with pytest.raises(openai.NotFoundError) as missing:
        oa(sim).chat.completions.create(model="glm-5.1", messages=HELLO)
    assert missing.value.code == "model_not_found"
    assert sim.key_stats(OPENAI_KEY)["errors"] == {"model_not_found": 1}


def test_openai_concurrency_and_balance(sim_factory) -> None:
    server = sim_factory(keys=[KeyConfig(key="oa-b", kind="openai", balance=0.000001)])  # USD: one answer
    client = oa(server, key="oa-b")
    client.chat.completions.create(model="gpt-4.1", messages=HELLO)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="gpt-4.1", messages=HELLO)
    assert info.value.code == "insufficient_quota"


# -- Anthropic -------------------------------------------------------------------------------------
def test_anthropic_message_with_thinking_blocks(sim) -> None:
    m = an(sim).messages.create(
        model="claude-haiku-4-5",
        max_tokens=20000,
        messages=HELLO,
        thinking={"type": "enabled", "budget_tokens": 15000},
    )
    assert [b.type for b in m.content] == ["thinking", "text"]
    assert m.stop_reason == "end_turn"
    assert m.usage.input_tokens > 0 and m.usage.output_tokens > 0
    assert sim.requests(limit=1)[0]["body"]["thinking"]["budget_tokens"] == 15000


def test_anthropic_stream_is_consumed_by_the_sdk(sim) -> None:
    with an(sim).messages.stream(
        model="claude-haiku-4-5",
        max_tokens=5000,
        messages=HELLO,
        thinking={"type": "enabled", "budget_tokens": 2000},
    ) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert "[simulator]" in final.content[1].text  # type: ignore[union-attr]
    assert final.usage.output_tokens > 0
    raw = list(an(sim).messages.create(model="claude-haiku-4-5", max_tokens=500, messages=HELLO, stream=True))
    assert raw[0].type == "message_start" and raw[-1].type == "message_stop"


def test_anthropic_errors_have_anthropic_shape(sim) -> None:
    with pytest.raises(anthropic.AuthenticationError) as auth:
        an(sim, key=OPENAI_KEY).messages.create(model="claude-haiku-4-5", max_tokens=10, messages=HELLO)
    assert auth.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    with pytest.raises(anthropic.NotFoundError):
        an(sim).messages.create(model="claude-opus-99", max_tokens=10, messages=HELLO)
    with pytest.raises(anthropic.BadRequestError) as bad:
        an(sim).messages.create(
            model="claude-haiku-4-5",
            max_tokens=1000,
            messages=HELLO,
            thinking={"type": "enabled", "budget_tokens": 5000},
        )
    assert "budget_tokens" in str(bad.value)


def test_anthropic_overload_fault_is_529(sim_factory) -> None:
    server = sim_factory(fault_rate=1.0, faults=("1305",))
    with pytest.raises(anthropic.APIStatusError) as info:
        an(server).messages.create(model="claude-haiku-4-5", max_tokens=10, messages=HELLO)
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
