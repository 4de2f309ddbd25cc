"""Configuration: environment (fixed mode), TOML profiles, per-organization BYOK -> gateway slots.

The gateway never reads the environment; this package is the only place that does.
"""

from patchwise.config.paths import patchwise_home, state_path, user_config_path
from patchwise.config.resolve import ResolvedConfig, resolve_config
from patchwise.config.slots import build_slot, slot_summary
from patchwise.config.spec import SlotSpec, parse_spec
from patchwise.config.urls import validate_base_url

__all__ = [
    "ResolvedConfig",
    "SlotSpec",
    "build_slot",
    "parse_spec",
    "patchwise_home",
    "resolve_config",
    "slot_summary",
    "state_path",
    "user_config_path",
    "validate_base_url",
]
