"""Configuration layers: flags, environment, and the defaults, as partial slot settings.

Each layer is validated on its own, so a bad value fails naming the setting *as written in that
layer* (``HUNKWISE_TIER``, ``--max-concurrent``); :mod:`hunkwise.config.resolve` merges them.
TOML files are validated by :mod:`hunkwise.config.files` and added with :meth:`Layer.add_spec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hunkwise.config.spec import SlotInput, parse_input

SLOT_NAMES = ("main", "fallback")

# Environment suffix -> SlotInput field. The same suffixes follow HUNKWISE_FALLBACK_ for the
# fallback slot. Listed explicitly (no prefix scanning) so HUNKWISE_FALLBACK_MODEL can never be
# read as a main-slot setting named FALLBACK_MODEL.
ENV_FIELDS: dict[str, str] = {
    "MODEL": "model",
    "PROVIDER": "provider",
    "PLAN": "plan",
    "TIER": "tier",
    "BASE_URL": "base_url",
    "API_KEY": "api_key",
    "API_KEY_ENV": "api_key_env",
    "MAX_CONCURRENT": "max_concurrent_requests",
    "THINKING": "thinking",
    "TEMPERATURE": "temperature",
    "MAX_OUTPUT_TOKENS": "max_output_tokens",
    "TIMEOUT": "timeout",
    "CONTEXT_WINDOW": "context_window",
    "ALLOW_HTTP": "allow_http",
    "ADAPTIVE_CONCURRENCY": "adaptive_concurrency",
}
_FIELD_ENV = {v: k for k, v in ENV_FIELDS.items()}

# Flag name (the key in the ``flags`` dict, as the CLI passes it) -> SlotInput field.
FLAG_FIELDS: dict[str, str] = {
    "model": "model",
    "card": "card",
    "provider": "provider",
    "plan": "plan",
    "tier": "tier",
    "base_url": "base_url",
    "api_key_env": "api_key_env",
    "max_concurrent": "max_concurrent_requests",
    "max_concurrent_requests": "max_concurrent_requests",
    "thinking": "thinking",
    "temperature": "temperature",
    "max_output_tokens": "max_output_tokens",
    "timeout": "timeout",
    "context_window": "context_window",
    "allow_http": "allow_http",
}


def env_prefix(slot: str) -> str:
    return "HUNKWISE_" if slot == "main" else f"HUNKWISE_{slot.upper()}_"


def env_name(slot: str, field_name: str) -> str:
    """The environment variable for a slot field (``fallback``/``tier`` -> HUNKWISE_FALLBACK_TIER)."""
    return env_prefix(slot) + _FIELD_ENV.get(field_name, field_name.upper())


def flag_name(slot: str, field_name: str) -> str:
    flag = {"max_concurrent_requests": "max-concurrent"}.get(field_name, field_name.replace("_", "-"))
    return f"--{flag}" if slot == "main" else f"--{slot}-{flag}"


@dataclass
class Layer:
    """Partial settings from one source. ``values[slot][field]`` is already validated;
    ``names[slot][field]`` is the setting as the user wrote it (for errors and ``sources``)."""

    origin: str  # "flag", "env", "repo", "user", "default"
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    names: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, slot: str, data: Mapping[str, Any], names: Mapping[str, str], where: str = "") -> None:
        self.add_spec(slot, parse_input(data, names=names, where=where), names, where)

    def add_spec(self, slot: str, spec: SlotInput, names: Mapping[str, str], where: str = "") -> None:
        """Add settings already validated (a config file's table, checked by its schema)."""
        provided = spec.provided()
        if not provided:
            return
        self.values.setdefault(slot, {}).update(provided)
        label = f" ({where})" if where else ""
        self.names.setdefault(slot, {}).update({f: names.get(f, f) + label for f in provided})


def env_layer(env: Mapping[str, str]) -> Layer:
    layer = Layer("env")
    for slot in SLOT_NAMES:
        prefix = env_prefix(slot)
        data: dict[str, Any] = {}
        names: dict[str, str] = {}
        for suffix, field_name in ENV_FIELDS.items():
            if prefix + suffix in env:
                data[field_name] = env[prefix + suffix]
                names[field_name] = prefix + suffix
        layer.add(slot, data, names)
    return layer


def flags_layer(flags: Mapping[str, Any] | None) -> Layer:
    """``flags`` keys are FLAG_FIELDS names for the main slot, or ``fallback_<name>``."""
    from hunkwise.errors import ConfigurationError

    layer = Layer("flag")
    per_slot: dict[str, dict[str, Any]] = {}
    for key, value in (flags or {}).items():
        if value is None:
            continue
        slot, name = ("fallback", key[len("fallback_") :]) if key.startswith("fallback_") else ("main", key)
        if name not in FLAG_FIELDS:
            raise ConfigurationError(f"unknown option {flag_name(slot, name)}", setting=flag_name(slot, name))
        per_slot.setdefault(slot, {})[FLAG_FIELDS[name]] = value
    for slot, data in per_slot.items():
        layer.add(slot, data, {f: flag_name(slot, f) for f in data})
    return layer
