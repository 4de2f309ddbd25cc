"""Early validation of the thinking setting.

A level (``off|low|medium|high``), ``auto`` (on, and off for the review's light requests), or a
custom JSON object. JSON parsing and namespace rules
belong to the gateway (:mod:`hunkwise.gateway.thinking`); this module only calls them at
configuration time, so a typo fails when the config is read, not on the first review.
"""

from __future__ import annotations

from typing import Any

from hunkwise.errors import ConfigurationError
from hunkwise.gateway import THINKING_AUTO, THINKING_LEVELS, ThinkingLevel, parse_override, unwrap_override


def parse_thinking(
    value: str | dict[str, Any] | None, provider: str, *, setting: str = "thinking"
) -> ThinkingLevel | dict[str, Any] | None:
    """``None`` (the card's default), a level, or the parsed override object (as written, so the
    gateway applies its own namespace rule to it)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in (*THINKING_LEVELS, THINKING_AUTO):
            return text.lower()  # type: ignore[return-value]
        if not text.startswith(("{", "[")):
            raise ConfigurationError(
                f"{setting} = {text!r} is not valid: use off, low, medium, high, auto, or a JSON object "
                'such as {"thinking": {"type": "enabled"}}',
                setting=setting,
            )
        value = text
    parsed = parse_override(value, setting=setting)
    unwrap_override(parsed, provider, setting=setting)
    return parsed
