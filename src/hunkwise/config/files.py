"""TOML configuration files: the user file and the repository's ``.hunkwise.toml``.

Format::

    profile = "team"                 # the default profile
    [main]                           # settings every profile starts from (optional)
    [fallback]
    [profiles.team.main]             # card = "glm-5.1", plan = "coding", api_key_env = "..."
    [profiles.team.fallback]
    [models."glm-5.1"]               # catalog overrides: prices, context window ...
    [tiers.lite]
    [plans.coding]

A repository file is committed, so it may only *reference* keys (``api_key_env``); a literal
``api_key`` there is refused. The user file may hold one if nobody else can read it (mode 0600).
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hunkwise.config.layers import SLOT_NAMES, Layer
from hunkwise.gateway.errors import ConfigurationError

_TOP_LEVEL = {"profile", "profiles", *SLOT_NAMES, "models", "tiers", "plans"}
OVERRIDE_SECTIONS = ("models", "tiers", "plans")


@dataclass
class ConfigFile:
    path: Path
    kind: str  # "repo" or "user"
    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def default_profile(self) -> str | None:
        value = self.data.get("profile")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def profiles(self) -> dict[str, Any]:
        return self.data.get("profiles", {})

    def overrides(self) -> dict[str, Any]:
        return {k: self.data[k] for k in OVERRIDE_SECTIONS if k in self.data}

    def layer(self, profile: str | None) -> Layer:
        """Top-level [main]/[fallback], then the selected profile's tables on top."""
        layer = Layer(self.kind)
        for slot in SLOT_NAMES:
            tables = [(slot, self.data.get(slot))]
            if profile is not None:
                tables.append((f"profiles.{profile}.{slot}", self.profiles.get(profile, {}).get(slot)))
            for prefix, table in tables:
                if table is None:
                    continue
                if not isinstance(table, dict):
                    raise ConfigurationError(f"[{prefix}] in {self.path} must be a table", setting=prefix)
                self._check_key(prefix, table)
                names = {k: f"{prefix}.{k}" for k in table}
                alias = "max_concurrent" if "max_concurrent" in table else "max_concurrent_requests"
                names["max_concurrent_requests"] = f"{prefix}.{alias}"
                layer.add(slot, table, names, where=f"in {self.path}")
        return layer

    def _check_key(self, prefix: str, table: dict[str, Any]) -> None:
        if "api_key" not in table:
            return
        if self.kind == "repo":
            raise ConfigurationError(
                f"{prefix}.api_key in {self.path}: a repository config is committed, so it must not "
                'contain a key; remove it and use api_key_env = "ZAI_API_KEY" (the name of an '
                "environment variable that holds the key)",
                setting=f"{prefix}.api_key",
            )
        if os.name == "posix":
            mode = stat.S_IMODE(self.path.stat().st_mode)
            if mode & 0o077:
                self.notes.append(
                    f"warning: {self.path} holds an API key but is readable by others (mode "
                    f"{mode:o}); run: chmod 600 {self.path}"
                )


def read_config_file(path: Path, kind: str) -> ConfigFile:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}", setting=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}", setting=str(path)) from None
    unknown = sorted(set(data) - _TOP_LEVEL)
    if unknown:
        raise ConfigurationError(
            f"unknown top-level key(s) {', '.join(unknown)} in {path}: allowed are "
            f"{', '.join(sorted(_TOP_LEVEL))}",
            setting=unknown[0],
        )
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or any(not isinstance(v, dict) for v in profiles.values()):
        raise ConfigurationError(
            f"[profiles] in {path} must hold tables like [profiles.team.main]", setting="profiles"
        )
    for name, body in profiles.items():
        extra = sorted(set(body) - set(SLOT_NAMES))
        if extra:
            raise ConfigurationError(
                f"[profiles.{name}] in {path} has unknown section(s) {', '.join(extra)}: use "
                f"[profiles.{name}.main] and [profiles.{name}.fallback]",
                setting=f"profiles.{name}.{extra[0]}",
            )
    return ConfigFile(path=path, kind=kind, data=data)
