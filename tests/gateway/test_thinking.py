"""Thinking levels and custom overrides: the body the simulator actually received."""

from __future__ import annotations

from typing import Any

import pytest
from gateway_helpers import make_slot

from hunkwise.errors import ConfigurationError
from hunkwise.gateway import ChatRequest, Router, preview_request_body
from simkeys import ANTHROPIC_KEY, DEV_KEY, OPENAI_KEY


async def _sent(sim: Any, slot: Any, request: ChatRequest | None = None) -> dict[str, Any]:
    async with Router([slot]) as router:
        await router.chat(request or ChatRequest.of("hello"))
    return sim.requests()[-1]["body"]


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("off", {"type": "disabled"}),
        ("low", {"type": "enabled"}),
        ("medium", {"type": "enabled"}),
        ("high", {"type": "enabled"}),
    ],
)
async def test_glm_levels_send_thinking_type(sim: Any, level: str, expected: dict[str, str]) -> None:
    body = await _sent(sim, make_slot(sim.zai_developer_url, DEV_KEY, thinking=level))
    assert body["thinking"] == expected
    assert "reasoning_effort" not in body  # glm-5.1's card says it takes no reasoning_effort


async def test_glm_default_is_the_cards_default_medium(sim: Any) -> None:
    body = await _sent(sim, make_slot(sim.zai_developer_url, DEV_KEY))
    assert body["thinking"] == {"type": "enabled"}
    body = await _sent(sim, make_slot(sim.zai_developer_url, DEV_KEY, model="glm-4.5"))
    assert body["thinking"] == {"type": "disabled"}  # glm-4.5's card: thinking_default = off


async def test_glm_reasoning_text_and_tokens_come_back(sim: Any) -> None:
    async with Router([make_slot(sim.zai_developer_url, DEV_KEY, thinking="high")]) as router:
        result = await router.chat(ChatRequest.of("review this"))
    assert result.reasoning
    assert result.usage.reasoning_tokens > 0
    assert result.usage.output_tokens >= result.usage.reasoning_tokens
    assert result.usage.cost_usd > 0


@pytest.mark.parametrize(("level", "effort"), [("off", "minimal"), ("low", "low"), ("high", "high")])
async def test_openai_reasoning_cards_get_reasoning_effort(sim: Any, level: str, effort: str) -> None:
    slot = make_slot(
        sim.openai_url, OPENAI_KEY, provider="openai", model="gpt-5", thinking=level, max_output_tokens=500
    )
    body = await _sent(sim, slot)
    assert body["reasoning_effort"] == effort
    assert "thinking" not in body
    assert body["max_completion_tokens"] == 500 and "max_tokens" not in body


async def test_openai_non_reasoning_card_gets_no_thinking_params(sim: Any) -> None:
    body = await _sent(
        sim, make_slot(sim.openai_url, OPENAI_KEY, provider="openai", model="gpt-4.1", thinking="high")
    )
    assert "reasoning_effort" not in body and "thinking" not in body


@pytest.mark.parametrize(("level", "budget"), [("low", 5000), ("medium", 15000), ("high", 40000)])
async def test_anthropic_levels_send_budget_and_raise_max_tokens(sim: Any, level: str, budget: int) -> None:
    slot = make_slot(
        sim.anthropic_url,
        ANTHROPIC_KEY,
        provider="anthropic",
        model="claude-sonnet-4-6",
        thinking=level,
        max_output_tokens=2000,
        temperature=0.2,
    )
    body = await _sent(sim, slot)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == budget + 2000
    assert "temperature" not in body  # Anthropic refuses temperature with thinking


async def test_anthropic_off_sends_no_thinking_and_keeps_temperature(sim: Any) -> None:
    slot = make_slot(
        sim.anthropic_url,
        ANTHROPIC_KEY,
        provider="anthropic",
        model="claude-haiku-4-5",
        thinking="off",
        temperature=0.3,
        max_output_tokens=1000,
    )
    body = await _sent(sim, slot, ChatRequest.of("hi", system="be brief"))
    assert "thinking" not in body
    assert body["temperature"] == 0.3 and body["max_tokens"] == 1000
    assert body["system"] == "be brief"
    assert all(m["role"] != "system" for m in body["messages"])


async def test_bare_override_is_wrapped_and_deep_merged_over_the_level(sim: Any) -> None:
    override = '{"thinking": {"type": "enabled", "clear_thinking": false}, "top_p": 0.5}'
    slot = make_slot(sim.zai_developer_url, DEV_KEY, thinking=override)
    body = await _sent(sim, slot)
    assert body["thinking"] == {"type": "enabled", "clear_thinking": False}
    assert body["top_p"] == 0.5


async def test_namespaced_override_wins_over_level_and_preview_matches_wire(sim: Any) -> None:
    slot = make_slot(
        sim.zai_coding_url.replace("coding/", ""),
        DEV_KEY,
        thinking={"openaiCompatible": {"thinking": {"type": "disabled"}, "max_tokens": 300}},
        max_output_tokens=1000,
        temperature=0.1,
    )
    request = ChatRequest.of("diff here", system="you review code", json_mode=True)
    preview = preview_request_body(slot, request)
    body = await _sent(sim, slot, request)
    assert body["thinking"] == {"type": "disabled"} and body["max_tokens"] == 300
    assert body["response_format"] == {"type": "json_object"}
    assert {k: v for k, v in body.items() if k != "stream"} == preview


async def test_anthropic_override_budget_raises_max_tokens(sim: Any) -> None:
    slot = make_slot(
        sim.anthropic_url,
        ANTHROPIC_KEY,
        provider="anthropic",
        model="claude-sonnet-4-6",
        thinking='{"anthropic": {"thinking": {"type": "enabled", "budget_tokens": 2048}}}',
        max_output_tokens=512,
    )
    body = await _sent(sim, slot)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] == 2048 + 512


def test_invalid_override_json_names_line_and_column() -> None:
    slot = make_slot(
        "http://127.0.0.1:9/api/paas/v4", DEV_KEY, thinking='{\n  "thinking": {"type": enabled}\n}'
    )
    with pytest.raises(ConfigurationError) as info:
        preview_request_body(slot)
    assert "line 2, column 24" in str(info.value)
    assert info.value.setting == "thinking"


def test_override_for_another_provider_names_the_active_one() -> None:
    slot = make_slot("http://127.0.0.1:9/api/paas/v4", DEV_KEY, thinking={"anthropic": {"thinking": {}}})
    with pytest.raises(ConfigurationError, match=r"active provider \(zai\) uses \"openaiCompatible\""):
        Router([slot])


def test_override_must_be_an_object_and_not_mix_namespaces() -> None:
    with pytest.raises(ConfigurationError, match="must be a JSON object, got list"):
        preview_request_body(
            make_slot(
                "http://127.0.0.1:9/v1", OPENAI_KEY, provider="openai", model="gpt-5", thinking="[1, 2]"
            )
        )
    with pytest.raises(ConfigurationError, match="mixes provider namespaces"):
        preview_request_body(
            make_slot(
                "http://127.0.0.1:9/v1",
                OPENAI_KEY,
                provider="openai",
                model="gpt-5",
                thinking={"openai": {}, "top_p": 1},
            )
        )


@pytest.mark.parametrize(
    "override",
    [
        '{"model": "glm-4.5-air"}',
        {"openaiCompatible": {"messages": [{"role": "user", "content": "something else"}]}},
        '{"stream": true, "stream_options": {"include_usage": false}}',
        {"n": 3},
        {"openaiCompatible": {"tools": [], "thinking": {"type": "enabled"}}},
    ],
)
def test_an_override_may_not_replace_what_the_gateway_sends(override: str | dict[str, Any]) -> None:
    """Before, ``extra_body`` silently replaced the model, the prompt or streaming on the wire."""
    slot = make_slot("http://127.0.0.1:9/api/paas/v4", DEV_KEY, thinking=override)
    with pytest.raises(ConfigurationError, match="may not set") as info:
        Router([slot])
    assert info.value.setting == "thinking"
    with pytest.raises(ConfigurationError, match="the gateway"):
        preview_request_body(slot)


async def test_a_sizing_override_still_reaches_the_wire(sim: Any) -> None:
    override = {"openaiCompatible": {"max_tokens": 64, "top_p": 0.5, "response_format": {"type": "text"}}}
    body = await _sent(sim, make_slot(sim.zai_developer_url, DEV_KEY, thinking=override))
    assert (body["max_tokens"], body["top_p"], body["response_format"]) == (64, 0.5, {"type": "text"})
    assert body["model"] == "glm-5.1"


def test_an_override_is_capped_in_size_and_depth() -> None:
    big = '{"thinking": {"type": "enabled"}, "note": "' + "x" * 20_000 + '"}'
    deep = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": 1}}}}}}}}}}}
    runaway = '{"a": ' + "[" * 5000 + "]" * 5000 + "}"  # past the JSON parser's recursion limit
    for override, needle in ((big, "at most 16,384"), (deep, "10 levels"), (runaway, "10 levels")):
        slot = make_slot("http://127.0.0.1:9/api/paas/v4", DEV_KEY, thinking=override)
        with pytest.raises(ConfigurationError, match=needle):
            Router([slot])


def test_unknown_model_on_compatible_server_gets_toggle_only_when_asked() -> None:
    slot = make_slot("http://127.0.0.1:9/v1", "k", provider="openai_compatible", model="my-local-llm")
    assert "thinking" not in preview_request_body(slot)  # no card, no level: send nothing
    slot = make_slot(
        "http://127.0.0.1:9/v1", "k", provider="openai_compatible", model="my-local-llm", thinking="off"
    )
    assert preview_request_body(slot)["thinking"] == {"type": "disabled"}
