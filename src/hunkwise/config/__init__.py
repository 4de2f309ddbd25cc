"""Configuration: environment (fixed mode), TOML profiles, per-organization BYOK -> gateway slots.

The gateway never reads the environment; :class:`hunkwise.config.settings.Settings` is the one
place that does (not imported here: commands that never read settings need not load it).
"""

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
    "parse_input",
    "parse_spec",
    "plan_slot",
    "resolve_config",
    "slot_summary",
    "validate_base_url",
]
