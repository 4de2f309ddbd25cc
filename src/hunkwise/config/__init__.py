"""Configuration: environment (fixed mode), TOML profiles, per-organization BYOK -> gateway slots.

The gateway never reads the environment; this package is the only place that does.
"""

from hunkwise.config.paths import hunkwise_home, state_path, user_config_path
from hunkwise.config.resolve import ResolvedConfig, resolve_config
from hunkwise.config.slots import build_slot, plan_slot, slot_summary
from hunkwise.config.spec import SlotEntry, SlotInput, SlotSpec, parse_input, parse_spec
from hunkwise.config.urls import validate_base_url

__all__ = [
    "ResolvedConfig",
    "SlotEntry",
    "SlotInput",
    "SlotSpec",
    "build_slot",
    "hunkwise_home",
    "parse_input",
    "parse_spec",
    "plan_slot",
    "resolve_config",
    "slot_summary",
    "state_path",
    "user_config_path",
    "validate_base_url",
]
