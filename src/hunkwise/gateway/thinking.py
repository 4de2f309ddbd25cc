"""Thinking levels and custom JSON overrides -> the request body a provider receives.

One function, :func:`build_body`, decides every provider parameter the gateway sends besides the
messages; the adapters send exactly its output, and :func:`preview_request_body` shows the same
dict to a human (the web console), so what the operator sees is what the wire carries.

The per-slot work (catalog lookup, override parsing and namespace checks) is done once in
:func:`profile_for` and cached on the router, so the hot path only assembles a small dict.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

from hunkwise.catalog.loader import ModelCard, load_catalog
from hunkwise.errors import ConfigurationError
from hunkwise.gateway.types import THINKING_AUTO, THINKING_LEVELS, ChatRequest, Slot, ThinkingLevel

Style = Literal["toggle", "effort", "budget", "none"]
Wire = Literal["openai", "anthropic"]

# When a model is not in the catalog (a newer GLM, any OpenAI-compatible server), the provider
# decides how thinking is expressed. The seed document: OpenAI-compatible servers get GLM's
# ``thinking.type`` switch.
_STYLE_BY_PROVIDER: dict[str, Style] = {
    "zai": "toggle",
    "openai_compatible": "toggle",
    "openai": "effort",
    "anthropic": "budget",
}
# Anthropic requires max_tokens; without a configured output cap we ask for this much.
ANTHROPIC_DEFAULT_OUTPUT = 8192
# Per-level OpenAI reasoning effort. "off" cannot switch reasoning off on a reasoning model, so it
# asks for the least reasoning the API accepts.
_EFFORT = {"off": "minimal", "low": "low", "medium": "medium", "high": "high"}


# A custom override is a handful of provider parameters. Anything bigger or deeper is a mistake,
# or a way to make every request of an organization carry a megabyte.
MAX_OVERRIDE_BYTES = 16 * 1024
MAX_OVERRIDE_DEPTH = 10
_GATEWAY_PROMPT = "the gateway sends the review prompt itself"
_GATEWAY_STREAM = "the gateway decides per call whether to stream, and reads the answer accordingly"
_GATEWAY_TEXT = "the gateway reads a text answer; tool calls would leave the review empty"
# Request keys the gateway sets itself (or whose answer it could not read): an override that
# replaced them would change which model is billed, what it is asked, or the answer's shape.
# Sampling and sizing parameters (temperature, max_tokens, response_format, ...) stay overridable.
GATEWAY_OWNED_KEYS: dict[str, str] = {
    "model": "the gateway sends the slot's model id; choose the model with the model (or card) setting",
    "messages": _GATEWAY_PROMPT,
    "system": _GATEWAY_PROMPT,
    "stream": _GATEWAY_STREAM,
    "stream_options": _GATEWAY_STREAM,
    "n": "the gateway reads one answer; more choices would be billed and thrown away",
    "tools": _GATEWAY_TEXT,
    "tool_choice": _GATEWAY_TEXT,
    "functions": _GATEWAY_TEXT,
    "function_call": _GATEWAY_TEXT,
}
_EXAMPLE = 'write a JSON object such as {"thinking": {"type": "enabled"}}'


@dataclass(frozen=True, slots=True)
class SlotProfile:
    """Everything about a slot that does not change per call, computed once."""

    wire: Wire
    namespace: str
    style: Style
    level: ThinkingLevel | None  # the level in force (explicit or the card's default); None = send nothing
    override: dict[str, Any] | None  # the unwrapped custom JSON, merged last
    card: ModelCard | None
    json_mode: bool  # the model accepts response_format json_object
    reasoning_effort: bool  # a toggle-style model that also takes reasoning_effort
    auto: bool = False  # thinking = "auto": ``level`` unless the request is light, then off


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in ``value`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack and deepest <= MAX_OVERRIDE_DEPTH:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _too_big(setting: str, size: int) -> ConfigurationError:
    return ConfigurationError(
        f"{setting}: the custom override is {size:,} bytes; at most {MAX_OVERRIDE_BYTES:,} are allowed "
        "(an override holds a few provider parameters)",
        setting=setting,
    )


def _too_deep(setting: str) -> ConfigurationError:
    return ConfigurationError(
        f"{setting}: the custom override nests objects or arrays more than {MAX_OVERRIDE_DEPTH} "
        "levels deep; provider parameters are a few levels at most",
        setting=setting,
    )


def parse_override(raw: str | dict[str, Any], *, setting: str = "thinking") -> dict[str, Any]:
    """Parse a custom JSON override; invalid JSON names its line and column. An override over
    :data:`MAX_OVERRIDE_BYTES` or nested deeper than :data:`MAX_OVERRIDE_DEPTH` is refused."""
    if isinstance(raw, dict):
        try:
            size = len(json.dumps(raw).encode())
        except (TypeError, ValueError, RecursionError):
            raise ConfigurationError(
                f"{setting}: the custom override holds values JSON cannot express; {_EXAMPLE}",
                setting=setting,
            ) from None
        if size > MAX_OVERRIDE_BYTES:
            raise _too_big(setting, size)
        value: Any = raw
    else:
        size = len(raw.encode("utf-8", "surrogatepass"))
        if size > MAX_OVERRIDE_BYTES:
            raise _too_big(setting, size)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                f"{setting}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; {_EXAMPLE}",
                setting=setting,
            ) from None
        except RecursionError:  # nested past the parser's limit: far past ours
            raise _too_deep(setting) from None
    if not isinstance(value, dict):
        raise ConfigurationError(
            f"{setting}: the custom override must be a JSON object, got {type(value).__name__}; {_EXAMPLE}",
            setting=setting,
        )
    if _depth(value) > MAX_OVERRIDE_DEPTH:
        raise _too_deep(setting)
    return value


def _refuse_owned(body: dict[str, Any], setting: str) -> None:
    owned = [k for k in body if k in GATEWAY_OWNED_KEYS]
    if owned:
        keys = " or ".join(f'"{k}" ({GATEWAY_OWNED_KEYS[k]})' for k in owned)
        which = "it" if len(owned) == 1 else "them"
        raise ConfigurationError(
            f"{setting}: the custom override may not set {keys}; remove {which}", setting=setting
        )


def unwrap_override(override: dict[str, Any], provider: str, *, setting: str = "thinking") -> dict[str, Any]:
    """Return the part of ``override`` meant for ``provider``.

    An object whose top-level keys are provider namespaces is already namespaced: the active
    provider's entry is used. Any other object is treated as if it were wrapped under the active
    provider's namespace (the peers' convention, so users paste bare provider parameters).
    """
    catalog = load_catalog()
    namespaces = {p.namespace for p in catalog.providers.values()}
    active = catalog.providers[provider].namespace
    named = [k for k in override if k in namespaces]
    if not named:
        _refuse_owned(override, setting)
        return override
    if len(named) != len(override):
        others = sorted(set(override) - set(named))
        raise ConfigurationError(
            f"{setting}: the override mixes provider namespaces ({', '.join(named)}) with bare "
            f'parameters ({", ".join(others)}); put everything under "{active}" or nothing',
            setting=setting,
        )
    if active not in override:
        raise ConfigurationError(
            f"{setting}: the override is namespaced for {', '.join(repr(n) for n in named)}, but the "
            f'active provider ({provider}) uses "{active}"; wrap it under "{active}" or remove '
            "the namespace",
            setting=setting,
        )
    inner = override[active]
    if not isinstance(inner, dict):
        raise ConfigurationError(
            f'{setting}: "{active}" must hold a JSON object of request parameters', setting=setting
        )
    _refuse_owned(inner, setting)
    return inner


def profile_for(slot: Slot) -> SlotProfile:
    """Resolve a slot's catalog facts and override once (raises ConfigurationError when invalid)."""
    catalog = load_catalog()
    provider = catalog.providers.get(slot.provider)
    if provider is None:
        raise ConfigurationError(
            f"{slot.name}: unknown provider {slot.provider!r}; choose one of "
            f"{', '.join(sorted(catalog.providers))}",
            setting="provider",
        )
    card = catalog.card(slot.model)
    if card is not None and card.provider != slot.provider and slot.provider != "openai_compatible":
        card = None  # same id served by another provider: don't borrow its facts
    style: Style = card.thinking if card is not None else _STYLE_BY_PROVIDER[slot.provider]
    override: dict[str, Any] | None = None
    level: ThinkingLevel | None
    auto = slot.thinking == THINKING_AUTO
    if auto:
        # On at the card's level (medium where the card's default is off or unknown); a light
        # request turns it off (build_body).
        default = card.thinking_default if card is not None else None
        level = default if default not in (None, "off") else "medium"
    elif isinstance(slot.thinking, (dict, str)) and slot.thinking not in THINKING_LEVELS:
        override = unwrap_override(parse_override(slot.thinking), slot.provider)
        level = card.thinking_default if card is not None else None
    elif slot.thinking is None:
        level = card.thinking_default if card is not None else None
    else:
        level = slot.thinking  # type: ignore[assignment]
    return SlotProfile(
        wire=provider.wire,
        namespace=provider.namespace,
        style=style,
        level=level,
        override=override,
        card=card,
        json_mode=card.json_mode if card is not None else slot.provider != "anthropic",
        reasoning_effort=bool(card and card.reasoning_effort),
        auto=auto,
    )


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``patch`` wins; nested objects merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _thinking_params(profile: SlotProfile, budgets: dict[str, int]) -> dict[str, Any]:
    level = profile.level
    if level is None or profile.style == "none":
        return {}
    if profile.style == "toggle":
        if level == "off":
            return {"thinking": {"type": "disabled"}}
        params: dict[str, Any] = {"thinking": {"type": "enabled"}}
        if profile.reasoning_effort:
            params["reasoning_effort"] = level
        return params
    if profile.style == "effort":
        return {"reasoning_effort": _EFFORT[level]}
    if level == "off":  # Anthropic: extended thinking is off unless asked for
        return {}
    return {"thinking": {"type": "enabled", "budget_tokens": budgets[level]}}


def build_body(slot: Slot, request: ChatRequest, profile: SlotProfile) -> dict[str, Any]:
    """Every body parameter except ``model`` and the messages, in the provider's own shape."""
    output = request.max_output_tokens or slot.max_output_tokens
    if profile.auto and request.light:
        profile = dataclasses.replace(profile, level="off")
    body: dict[str, Any] = _thinking_params(profile, load_catalog().thinking_budgets)
    if profile.wire == "openai":
        if output is not None:
            # OpenAI's reasoning models only accept max_completion_tokens; Z.AI and other
            # OpenAI-compatible servers document max_tokens.
            body["max_completion_tokens" if slot.provider == "openai" else "max_tokens"] = output
        if slot.temperature is not None:
            body["temperature"] = slot.temperature
        if request.json_mode and profile.json_mode:
            body["response_format"] = {"type": "json_object"}
    else:
        body["max_tokens"] = output or ANTHROPIC_DEFAULT_OUTPUT
        if slot.temperature is not None and "thinking" not in body:
            body["temperature"] = slot.temperature  # Anthropic rejects temperature with thinking
    if profile.override:
        body = deep_merge(body, profile.override)
    if profile.wire == "anthropic":
        _fit_anthropic_budget(body, output, explicit="max_tokens" in (profile.override or {}))
    return body


def _fit_anthropic_budget(body: dict[str, Any], output: int | None, *, explicit: bool) -> None:
    """Anthropic counts thinking inside max_tokens: raise it so the answer still fits."""
    thinking = body.get("thinking")
    if explicit or not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return
    budget = thinking.get("budget_tokens")
    if isinstance(budget, int):
        body["max_tokens"] = budget + (output or ANTHROPIC_DEFAULT_OUTPUT)
        body.pop("temperature", None)


def messages_for(wire: Wire, request: ChatRequest) -> tuple[list[dict[str, str]], str | None]:
    """The messages in the wire's shape; Anthropic takes the system prompt separately."""
    if wire == "openai":
        return [{"role": m.role, "content": m.content} for m in request.messages], None
    system = "\n\n".join(m.content for m in request.messages if m.role == "system") or None
    return [{"role": m.role, "content": m.content} for m in request.messages if m.role != "system"], system


def preview_request_body(slot: Slot, request: ChatRequest | None = None) -> dict[str, Any]:
    """The JSON body exactly as the gateway will send it for ``slot`` (streaming flags aside)."""
    request = request or ChatRequest.of("…")
    profile = profile_for(slot)
    messages, system = messages_for(profile.wire, request)
    body: dict[str, Any] = {"model": slot.model, "messages": messages}
    if system is not None:
        body["system"] = system
    body.update(build_body(slot, request, profile))
    return body
