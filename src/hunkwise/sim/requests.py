"""Validate request bodies the way the providers do, naming the offending field.

Parsing is done by hand rather than with FastAPI's body models, because FastAPI's 422 shape is
not what any provider returns; here every problem becomes one message such as
``messages[1].content: expected a string or a list of content parts``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class BadRequest(ValueError):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class ChatCall:
    """What the simulator needs from any chat request, whatever the wire protocol."""

    model: str
    texts: tuple[str, ...]  # system + message texts, in order
    stream: bool
    include_usage: bool
    json_mode: bool
    thinking: bool | None  # None = the model's default
    thinking_budget: int | None
    reasoning_effort: str | None
    max_tokens: int | None
    temperature: float | None
    max_tokens_field: str | None  # which field carried the limit ("max_tokens"/"max_completion_tokens")

    @property
    def prompt(self) -> str:
        return "\n\n".join(self.texts)


def parse_json(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise BadRequest("request body is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"request body must be a JSON object, not {type(body).__name__}")
    return body


def _type(value: Any, kinds: type | tuple[type, ...], field: str, expected: str) -> Any:
    # bool is an int in Python; a provider would reject true for max_tokens.
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise BadRequest(f"{field}: expected {expected}, got a boolean", field)
    if not isinstance(value, kinds):
        raise BadRequest(f"{field}: expected {expected}, got {type(value).__name__}", field)
    return value


def _content_text(content: Any, field: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for i, part in enumerate(content):
            _type(part, dict, f"{field}[{i}]", "an object")
            text = part.get("text")
            if part.get("type") in ("text", None) or text is not None:
                parts.append(_type(text if text is not None else "", str, f"{field}[{i}].text", "a string"))
            # images, tool results and thinking blocks carry no countable text here
        return "\n".join(parts)
    raise BadRequest(f"{field}: expected a string or a list of content parts", field)


def _opt_int(body: dict[str, Any], field: str, minimum: int = 1) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    _type(value, int, field, "an integer")
    if value < minimum:
        raise BadRequest(f"{field}: must be >= {minimum}, got {value}", field)
    return value


def _required_model(body: dict[str, Any]) -> str:
    if "model" not in body:
        raise BadRequest('model: field required (e.g. "glm-5.1")', "model")
    model = _type(body["model"], str, "model", "a string")
    if not model.strip():
        raise BadRequest("model: must not be empty", "model")
    return model.strip()


def _messages(body: dict[str, Any], roles: tuple[str, ...]) -> list[str]:
    if "messages" not in body:
        raise BadRequest("messages: field required (a non-empty list of {role, content})", "messages")
    messages = _type(body["messages"], list, "messages", "a list")
    if not messages:
        raise BadRequest("messages: must contain at least one message", "messages")
    texts = []
    for i, msg in enumerate(messages):
        field = f"messages[{i}]"
        _type(msg, dict, field, "an object with role and content")
        role = msg.get("role")
        if role not in roles:
            raise BadRequest(
                f"{field}.role: must be one of {', '.join(roles)}, got {role!r}", f"{field}.role"
            )
        texts.append(_content_text(msg.get("content"), f"{field}.content"))
    return texts


def _temperature(body: dict[str, Any], maximum: float) -> float | None:
    value = body.get("temperature")
    if value is None:
        return None
    _type(value, (int, float), "temperature", "a number")
    if not 0 <= value <= maximum:
        raise BadRequest(f"temperature: must be between 0 and {maximum:g}, got {value}", "temperature")
    return float(value)


def parse_openai_chat(body: dict[str, Any]) -> ChatCall:
    """An OpenAI-shaped chat request (Z.AI and OpenAI endpoints)."""
    model = _required_model(body)
    texts = _messages(body, ("system", "user", "assistant", "tool", "developer"))
    stream = _type(body.get("stream", False), bool, "stream", "a boolean")
    options = body.get("stream_options")
    include_usage = False
    if options is not None:
        _type(options, dict, "stream_options", "an object")
        include_usage = _type(
            options.get("include_usage", False), bool, "stream_options.include_usage", "a boolean"
        )
    json_mode = False
    if (fmt := body.get("response_format")) is not None:
        _type(fmt, dict, "response_format", "an object")
        kind = fmt.get("type")
        if kind not in ("text", "json_object", "json_schema"):
            raise BadRequest(
                f"response_format.type: must be text, json_object or json_schema, got {kind!r}",
                "response_format.type",
            )
        json_mode = kind != "text"
    thinking = None
    if (th := body.get("thinking")) is not None:
        _type(th, dict, "thinking", 'an object like {"type": "enabled"}')
        if th.get("type") not in ("enabled", "disabled"):
            raise BadRequest(
                f'thinking.type: must be "enabled" or "disabled", got {th.get("type")!r}', "thinking.type"
            )
        thinking = th["type"] == "enabled"
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in ("minimal", "low", "medium", "high"):
        raise BadRequest(
            f"reasoning_effort: must be minimal, low, medium or high, got {effort!r}", "reasoning_effort"
        )
    max_tokens = _opt_int(body, "max_tokens")
    max_completion = _opt_int(body, "max_completion_tokens")
    field = "max_completion_tokens" if max_completion is not None else ("max_tokens" if max_tokens else None)
    return ChatCall(
        model=model,
        texts=tuple(texts),
        stream=stream,
        include_usage=include_usage,
        json_mode=json_mode,
        thinking=thinking,
        thinking_budget=None,
        reasoning_effort=effort,
        max_tokens=max_completion if max_completion is not None else max_tokens,
        temperature=_temperature(body, 2.0),
        max_tokens_field=field,
    )


def parse_anthropic(body: dict[str, Any]) -> ChatCall:
    """An Anthropic Messages request."""
    model = _required_model(body)
    if "max_tokens" not in body:
        raise BadRequest("max_tokens: field required", "max_tokens")
    max_tokens = _opt_int(body, "max_tokens")
    system = body.get("system")
    texts = [_content_text(system, "system")] if system else []
    texts += _messages(body, ("user", "assistant"))
    stream = _type(body.get("stream", False), bool, "stream", "a boolean")
    thinking, budget = None, None
    if (th := body.get("thinking")) is not None:
        _type(th, dict, "thinking", "an object")
        if th.get("type") not in ("enabled", "disabled"):
            raise BadRequest(
                f"thinking.type: must be enabled or disabled, got {th.get('type')!r}", "thinking"
            )
        thinking = th["type"] == "enabled"
        if thinking:
            budget = _opt_int(th, "budget_tokens", minimum=1024)
            if budget is None:
                raise BadRequest("thinking.enabled.budget_tokens: field required", "thinking.budget_tokens")
            if max_tokens is not None and budget >= max_tokens:
                raise BadRequest(
                    f"`max_tokens` must be greater than `thinking.budget_tokens` ({budget})", "max_tokens"
                )
    return ChatCall(
        model=model,
        texts=tuple(texts),
        stream=stream,
        include_usage=True,
        json_mode=False,
        thinking=thinking,
        thinking_budget=budget,
        reasoning_effort=None,
        max_tokens=max_tokens,
        temperature=_temperature(body, 1.0),
        max_tokens_field="max_tokens",
    )
