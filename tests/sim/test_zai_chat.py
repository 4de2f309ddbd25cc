"""Z.AI chat endpoints through the official, unmodified openai SDK."""

from __future__ import annotations

import json

import openai
import pytest

from hunkwise.catalog import load_catalog
from hunkwise.sim import KeyConfig
from simkeys import CODING_LITE_KEY, CODING_PRO_KEY, DEV_KEY

HELLO = [{"role": "user", "content": "Say hello."}]


def client(key: str, url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=url, max_retries=0, timeout=10)


def error_code(exc: openai.APIStatusError) -> str | None:
    return exc.body.get("code") if isinstance(exc.body, dict) else None


def test_completion_has_openai_shape_usage_and_default_thinking(sim) -> None:
    r = client(DEV_KEY, sim.zai_developer_url).chat.completions.create(model="glm-5.1", messages=HELLO)
    message = r.choices[0].message
    assert r.model == "glm-5.1"
    assert r.choices[0].finish_reason == "stop"
    assert "[simulator]" in (message.content or "")
    reasoning = message.reasoning_content  # type: ignore[attr-defined]
    assert reasoning and "[simulator]" in reasoning
    assert r.usage is not None
    assert r.usage.prompt_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.usage.prompt_tokens_details is not None
    assert r.usage.prompt_tokens_details.cached_tokens == 0


def test_thinking_disabled_drops_reasoning_and_its_tokens(sim) -> None:
    c = client(DEV_KEY, sim.zai_developer_url)
    on = c.chat.completions.create(
        model="glm-5.1", messages=HELLO, extra_body={"thinking": {"type": "enabled"}}
    )
    off = c.chat.completions.create(
        model="glm-5.1", messages=HELLO, extra_body={"thinking": {"type": "disabled"}}
    )
    assert getattr(off.choices[0].message, "reasoning_content", None) is None
    assert off.choices[0].message.content == on.choices[0].message.content
    assert on.usage and off.usage
    assert on.usage.completion_tokens > off.usage.completion_tokens
    sent = [entry["body"]["thinking"] for entry in sim.requests(limit=2)]
    assert sent == [{"type": "enabled"}, {"type": "disabled"}]


def test_glm_45_thinks_only_when_asked(sim) -> None:
    r = client(DEV_KEY, sim.zai_developer_url).chat.completions.create(model="glm-4.5", messages=HELLO)
    assert getattr(r.choices[0].message, "reasoning_content", None) is None


def test_repeated_prefix_is_reported_as_cached(sim) -> None:
    c = client(CODING_PRO_KEY, sim.zai_coding_url)
    system = {"role": "system", "content": "You are a careful reviewer. " * 50}
    first = c.chat.completions.create(model="glm-5", messages=[system, {"role": "user", "content": "a"}])
    second = c.chat.completions.create(model="glm-5", messages=[system, {"role": "user", "content": "b"}])
    assert first.usage and second.usage
    assert first.usage.prompt_tokens_details.cached_tokens == 0  # type: ignore[union-attr]
    cached = second.usage.prompt_tokens_details.cached_tokens  # type: ignore[union-attr]
    assert 0 < cached < second.usage.prompt_tokens


def test_json_object_mode_returns_a_json_object(sim) -> None:
    r = client(DEV_KEY, sim.zai_developer_url).chat.completions.create(
        model="glm-5.1", messages=HELLO, response_format={"type": "json_object"}
    )
    data = json.loads(r.choices[0].message.content or "")
    assert data["simulated"] is True


def test_max_tokens_truncates_with_finish_reason_length(sim) -> None:
    r = client(DEV_KEY, sim.zai_developer_url).chat.completions.create(
        model="glm-5.1", messages=HELLO, max_tokens=10, extra_body={"thinking": {"type": "disabled"}}
    )
    assert r.choices[0].finish_reason == "length"
    assert r.usage and r.usage.completion_tokens <= 10
    assert sim.requests(limit=1)[0]["body"]["max_tokens"] == 10


def test_stream_sends_reasoning_then_content_then_usage(sim) -> None:
    chunks = list(
        client(CODING_LITE_KEY, sim.zai_coding_url).chat.completions.create(
            model="glm-5.1", messages=HELLO, stream=True
        )
    )
    kinds = []
    for chunk in chunks:
        delta = chunk.choices[0].delta
        if getattr(delta, "reasoning_content", None):
            kinds.append("reasoning")
        elif delta.content:
            kinds.append("content")
    first_content = kinds.index("content")
    assert "reasoning" in kinds[:first_content]
    assert "reasoning" not in kinds[first_content:]
    assert chunks[-1].usage is not None and chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks[:-1])
    stats = sim.key_stats(CODING_LITE_KEY)
    assert (stats["ok"], stats["in_flight"], stats["window_5h_prompts"]) == (1, 0, 1)


@pytest.mark.parametrize(
    ("key", "endpoint"),
    [
        (CODING_LITE_KEY, "zai_developer_url"),
        (DEV_KEY, "zai_coding_url"),
        ("sk-unknown-key-123", "zai_coding_url"),
    ],
)
def test_key_on_the_wrong_plan_endpoint_gets_401(sim, key: str, endpoint: str) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        client(key, getattr(sim, endpoint)).chat.completions.create(model="glm-5.1", messages=HELLO)
    assert info.value.status_code == 401
    assert error_code(info.value) in {"1000", "1002"}


def test_unknown_model_is_1211(sim) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client(DEV_KEY, sim.zai_developer_url).chat.completions.create(model="glm-9.9", messages=HELLO)
    assert (info.value.status_code, error_code(info.value)) == (400, "1211")
    assert sim.key_stats(DEV_KEY)["errors"] == {"1211": 1}


def test_openai_model_on_zai_endpoint_is_1211(sim) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client(DEV_KEY, sim.zai_developer_url).chat.completions.create(model="gpt-5", messages=HELLO)
    assert error_code(info.value) == "1211"


def test_model_outside_the_plan_is_1311(sim_factory) -> None:
    server = sim_factory(keys=[KeyConfig(key="lite-x", kind="coding", models=("glm-4.5-air",))])
    c = client("lite-x", server.zai_coding_url)
    c.chat.completions.create(model="glm-4.5-air", messages=HELLO)
    with pytest.raises(openai.RateLimitError) as info:
        c.chat.completions.create(model="glm-5.1", messages=HELLO)
    assert error_code(info.value) == "1311"


def test_prompt_beyond_the_context_window_is_1261(sim) -> None:
    huge = "x = compute(y) + 1\n" * 60_000  # ~ 500k tokens by the simulator's tokenizer
    with pytest.raises(openai.BadRequestError) as info:
        client(DEV_KEY, sim.zai_developer_url).chat.completions.create(
            model="glm-4.5", messages=[{"role": "user", "content": huge}]
        )
    assert error_code(info.value) == "1261"
    assert sim.key_stats(DEV_KEY)["window_5h_prompts"] == 0  # rejected prompts cost nothing


def test_developer_balance_is_spent_at_catalog_prices_then_1113(sim_factory) -> None:
    """A Developer API balance is money: each answer costs its tokens at the catalog's price, and
    a request is admitted while anything is left (the last one may overdraw)."""
    card = load_catalog().card("glm-5.1")
    assert card is not None
    server = sim_factory(keys=[KeyConfig(key="dev-b", kind="developer", balance=0.00001)])
    c = client("dev-b", server.zai_developer_url)
    r = c.chat.completions.create(model="glm-5.1", messages=HELLO)
    assert r.usage is not None
    price = card.cost_usd(r.usage.prompt_tokens, r.usage.completion_tokens)
    assert price > 0.00001  # one answer is enough to overdraw this balance
    assert server.key_stats("dev-b")["spent_usd"] == pytest.approx(price, abs=1e-6)
    with pytest.raises(openai.RateLimitError) as info:
        c.chat.completions.create(model="glm-5.1", messages=HELLO)
    assert error_code(info.value) == "1113"
    assert server.key_stats("dev-b")["spent_usd"] == pytest.approx(price, abs=1e-6)  # refusals are free
