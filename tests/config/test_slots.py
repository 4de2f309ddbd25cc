"""SlotSpec -> Slot: cards, plans, tiers, manual configs, keys, thinking (the BYOK input shape)."""

from __future__ import annotations

import pytest

from hunkwise.catalog.loader import load_catalog
from hunkwise.config.slots import UNKNOWN_MODEL_CONTEXT_WINDOW, build_slot, slot_summary
from hunkwise.config.spec import SlotInput, parse_input, parse_spec
from hunkwise.errors import ConfigurationError

ZAI = {"ZAI_API_KEY": "zai-key-0123456789"}


def slot(data: dict, env: dict | None = None, **kw):
    return build_slot(*parse_input(data).split(), env=env if env is not None else ZAI, **kw)


@pytest.mark.parametrize(
    ("plan", "tier", "url", "cap"),
    [
        (None, None, "https://api.z.ai/api/paas/v4", None),
        ("developer", None, "https://api.z.ai/api/paas/v4", None),
        ("coding", None, "https://api.z.ai/api/coding/paas/v4", 1),
        ("coding", "lite", "https://api.z.ai/api/coding/paas/v4", 1),
        ("coding", "pro", "https://api.z.ai/api/coding/paas/v4", 1),
        ("coding", "max", "https://api.z.ai/api/coding/paas/v4", 30),
    ],
)
def test_card_plan_and_tier_choose_endpoint_and_concurrency(plan, tier, url, cap) -> None:
    s = slot({"card": "glm-5.1", "plan": plan, "tier": tier})
    assert (s.base_url, s.max_concurrent, s.plan or "developer", s.tier) == (
        url,
        cap,
        plan or "developer",
        tier,
    )
    assert s.context_window == 200_000 and s.input_price == 1.40 and s.output_price == 4.40


def test_user_concurrency_wins_over_the_tier_and_above_the_tier_is_noted() -> None:
    notes: list[str] = []
    s = slot({"card": "glm-5.1", "plan": "coding", "tier": "lite", "max_concurrent_requests": 3}, notes=notes)
    assert s.max_concurrent == 3
    assert any("above the Lite tier's 1" in n for n in notes)
    assert slot({"card": "glm-5.1", "plan": "coding", "max_concurrent": 0}).max_concurrent is None


def test_zai_base_url_host_is_kept_and_plan_path_swapped() -> None:
    env = {**ZAI, "ZAI_BASE_URL": "http://127.0.0.1:9999/api/paas/v4/"}
    assert (
        slot({"card": "glm-5.1", "plan": "coding"}, env).base_url
        == "http://127.0.0.1:9999/api/coding/paas/v4"
    )
    assert slot({"card": "glm-5.1"}, env).base_url == "http://127.0.0.1:9999/api/paas/v4"


def test_plan_is_identified_by_the_url_path_on_any_host() -> None:
    s = slot({"provider": "zai", "model": "glm-5", "base_url": "http://127.0.0.1:1234/api/coding/paas/v4"})
    assert (s.plan, s.max_concurrent) == ("coding", 1)
    manual = slot(
        {
            "provider": "openai_compatible",
            "model": "glm-4.5",
            "base_url": "https://proxy.example/api/coding/paas/v4",
            "api_key": "k-0123456789",
        },
        env={},
    )
    assert (manual.plan, manual.max_concurrent, manual.context_window) == ("coding", 1, 128000)


def test_url_path_and_plan_setting_must_agree() -> None:
    with pytest.raises(ConfigurationError, match="is the Coding Plan endpoint") as info:
        slot({"card": "glm-5.1", "plan": "developer", "base_url": "https://api.z.ai/api/coding/paas/v4"})
    assert info.value.setting == "main.base_url"


def test_tier_needs_the_coding_plan() -> None:
    with pytest.raises(ConfigurationError, match="Coding Plan only"):
        slot({"card": "glm-5.1", "tier": "max"})


def test_plan_on_a_non_zai_provider_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"applies to Z\.AI only"):
        slot({"card": "gpt-5-mini", "plan": "coding"}, env={"OPENAI_API_KEY": "sk-0123456789"})


def test_unknown_catalog_model_lists_the_nearest_ids() -> None:
    with pytest.raises(ConfigurationError) as info:
        slot({"model": "glm-5.2x", "provider": "zai"})
    assert "glm-5" in str(info.value) and "not in the zai catalog" in str(info.value)
    assert info.value.setting == "main.model"
    with pytest.raises(ConfigurationError, match="did you mean"):
        slot({"card": "gpt5-mini"})


def test_manual_openai_compatible_model_gets_a_conservative_window_and_says_so() -> None:
    notes: list[str] = []
    s = build_slot(
        parse_spec(
            {
                "provider": "openai_compatible",
                "base_url": "http://localhost:8000/v1",
                "model": "Qwen/Qwen2.5-Coder",
            }
        ),
        notes=notes,
    )
    assert s.model == "Qwen/Qwen2.5-Coder"  # case kept: self-hosted ids are case-sensitive
    assert s.context_window == UNKNOWN_MODEL_CONTEXT_WINDOW
    assert any("32,768-token" in n for n in notes) and any("costs are reported as $0" in n for n in notes)
    explicit = build_slot(
        *parse_input(
            {
                "provider": "openai_compatible",
                "base_url": "https://llm.example.com/v1",
                "model": "my-model",
                "api_key": "sk-local-abcdef",
                "context_window": 65536,
                "max_concurrent_requests": 5,
                "thinking": "medium",
            }
        ).split()
    )
    assert (explicit.context_window, explicit.max_concurrent, explicit.thinking) == (65536, 5, "medium")


def test_openai_compatible_needs_a_base_url() -> None:
    with pytest.raises(ConfigurationError, match="base_url is required"):
        slot({"provider": "openai_compatible", "model": "x"})


def test_card_of_another_provider_is_refused_without_a_base_url() -> None:
    with pytest.raises(ConfigurationError, match=r"is a Z\.AI"):
        slot({"card": "glm-5.1", "provider": "openai"}, env={"OPENAI_API_KEY": "sk-0123456789"})


def test_catalog_overrides_flow_into_the_slot() -> None:
    catalog = load_catalog().with_overrides(
        {"models": {"glm-5.1": {"input_price": 1.2, "context_window": 180000}}}
    )
    s = build_slot(parse_spec({"card": "glm-5.1"}), env=ZAI, catalog=catalog)
    assert (s.input_price, s.output_price, s.context_window) == (1.2, 4.40, 180000)
    assert load_catalog().card("glm-5.1").input_price == 1.40  # the shared catalog is untouched


def test_key_sources_and_missing_key_message() -> None:
    derived: dict[str, str] = {}
    s = build_slot(
        parse_spec({"card": "glm-5.1", "api_key_env": "MY_KEY"}),
        env={"MY_KEY": "k-123456789"},
        derived=derived,
    )
    assert s.api_key.reveal() == "k-123456789" and derived["api_key"] == "env: MY_KEY"
    with pytest.raises(ConfigurationError, match="names NOPE, which is not set"):
        slot({"card": "glm-5.1", "api_key_env": "NOPE"}, env={})
    with pytest.raises(ConfigurationError, match=r"no API key for zai/glm-5\.1.*ZAI_API_KEY"):
        slot({"card": "glm-5.1"}, env={})


def test_byok_default_env_is_empty_so_an_org_cannot_read_server_variables(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_PASSWORD", "hunter2-hunter2")
    with pytest.raises(ConfigurationError, match="DATABASE_PASSWORD, which is not set"):
        build_slot(parse_spec({"card": "glm-5.1", "api_key_env": "DATABASE_PASSWORD"}))


@pytest.mark.parametrize(
    ("thinking", "provider_key", "expected"),
    [
        ("HIGH", "glm-5.1", "high"),
        ('{"thinking": {"type": "disabled"}}', "glm-5.1", {"thinking": {"type": "disabled"}}),
        (
            {"openaiCompatible": {"clear_thinking": False}},
            "glm-5.1",
            {"openaiCompatible": {"clear_thinking": False}},
        ),
    ],
)
def test_thinking_levels_and_overrides(thinking, provider_key, expected) -> None:
    assert slot({"card": provider_key, "thinking": thinking}).thinking == expected


def test_malformed_thinking_json_names_line_and_column() -> None:
    with pytest.raises(ConfigurationError, match=r"line 1, column \d+") as info:
        slot(
            {"card": "glm-5.1", "thinking": '{"thinking": {"type": }'},
            names={"thinking": "HUNKWISE_THINKING"},
        )
    assert info.value.setting == "HUNKWISE_THINKING"


def test_override_namespaced_for_another_provider_names_the_active_one() -> None:
    with pytest.raises(ConfigurationError, match='uses "openaiCompatible"'):
        slot({"card": "glm-5.1", "thinking": '{"anthropic": {"thinking": {"type": "enabled"}}}'})


def test_thinking_word_that_is_not_a_level() -> None:
    with pytest.raises(ConfigurationError, match="use off, low, medium, high"):
        slot({"card": "glm-5.1", "thinking": "maximum"})


@pytest.mark.parametrize(
    ("data", "setting", "words"),
    [
        ({"tier": "ultra"}, "main.tier", "one of lite, pro, max"),
        ({"plan": "enterprise"}, "main.plan", "one of developer, coding"),
        ({"provider": "mistral"}, "main.provider", "one of zai, openai_compatible"),
        ({"max_concurrent_requests": "abc"}, "main.max_concurrent_requests", "whole number"),
        ({"temperature": 3}, "main.temperature", "from 0 to 2"),
        ({"timeout": -1}, "main.timeout", "> 0"),
        ({"modle": "glm-5.1"}, "main.modle", "did you mean 'model'"),
    ],
)
def test_field_errors_name_the_field(data, setting, words) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_spec(data, names=lambda f: f"main.{f}")
    assert info.value.setting == setting and words in str(info.value)


def test_api_key_never_appears_in_reprs_errors_or_summaries() -> None:
    typed = parse_input({"card": "glm-5.1", "api_key": "sk-very-secret-0001", "temperature": 0.2})
    s = build_slot(*typed.split())
    assert "very-secret" not in repr(typed) and "very-secret" not in repr(s)
    assert "very-secret" not in typed.model_dump_json()
    assert slot_summary(s)["api_key"] == "••••0001"
    with pytest.raises(ConfigurationError) as info:
        parse_input({"api_key": 123})
    assert "hidden" in str(info.value)


def test_a_spec_never_carries_a_key() -> None:
    """The key travels beside the spec (build_slot's own argument), never inside it."""
    with pytest.raises(ConfigurationError, match="unknown setting 'api_key'"):
        parse_spec({"card": "glm-5.1", "api_key": "sk-very-secret-0001"})
    spec, key = parse_input({"card": "glm-5.1", "api_key": " sk-very-secret-0001\n"}).split()
    assert "api_key" not in type(spec).model_fields and "api_key" not in spec.model_fields_set
    assert key is not None and key.reveal() == "sk-very-secret-0001"  # a Secret from the moment it is read
    assert build_slot(spec, key, env={}).api_key is key  # put into the slot as it is, not re-wrapped


def test_slot_spec_is_a_json_api_model() -> None:
    spec, key = SlotInput.model_validate_json(
        '{"card": "GLM-5.1", "plan": "Coding", "tier": "Lite", "api_key": "abcd1234xyz"}'
    ).split()
    s = build_slot(spec, key, name="main")
    assert (s.model, s.plan, s.tier, s.max_concurrent) == ("glm-5.1", "coding", "lite", 1)
