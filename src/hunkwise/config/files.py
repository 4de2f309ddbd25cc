"""The one loader of hunkwise's TOML files: the user's ``config.toml`` and the repository's
``.hunkwise.toml``, both validated against :mod:`hunkwise.config.schema`.

Every command that reads configuration (``review`` with or without ``--offline``, ``test``,
``models``, ``chat``, ``usage``, a fixed-mode server) reads the files through
:func:`load_config_files`, so a file is either valid for all of them or rejected by all of them,
with one line per problem (:class:`hunkwise.config.problems.ConfigFileError`).

A repository file is committed, so it may only *reference* keys (``api_key_env``); a literal
``api_key`` there is refused. The user file may hold one if nobody else can read it (mode 0600).
"""

from __future__ import annotations

import difflib
import os
import stat
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hunkwise.catalog.loader import load_catalog
from hunkwise.config.layers import SLOT_NAMES, Layer
from hunkwise.config.paths import find_repo_config
from hunkwise.config.problems import (
    ConfigFileError,
    Problem,
    bad_value,
    schema_problems,
    section_name,
    unknown_key,
)
from hunkwise.config.schema import ConfigFileSchema
from hunkwise.config.spec import SlotInput
from hunkwise.errors import ConfigurationError

if TYPE_CHECKING:
    from hunkwise.config.settings import Settings

OVERRIDE_SECTIONS = ("models", "tiers", "plans")
_OVERRIDE_NOUN = {"models": "model id", "tiers": "tier", "plans": "plan"}


@dataclass
class ConfigFile:
    """One validated file. ``raw`` keeps the keys as written (``max_concurrent`` or
    ``max_concurrent_requests``) so messages and ``sources`` name what the user typed."""

    path: Path
    kind: str  # "repo" or "user"
    data: ConfigFileSchema
    raw: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def default_profile(self) -> str | None:
        value = self.data.profile
        return value if value else None

    @property
    def profiles(self) -> dict[str, Any]:
        return self.data.profiles

    def overrides(self) -> dict[str, Any]:
        found = {k: getattr(self.data, k) for k in OVERRIDE_SECTIONS if getattr(self.data, k)}
        if self.data.peak_hours:
            found["peak_hours"] = self.data.peak_hours
        return found

    def slot_tables(self, profile: str | None) -> Iterator[tuple[str, tuple[str, ...], SlotInput]]:
        """``(slot, location, spec)`` for top-level [main]/[fallback], then the profile's tables."""
        for slot in SLOT_NAMES:
            spec = getattr(self.data, slot)
            if spec is not None:
                yield slot, (slot,), spec
            entry = self.data.profiles.get(profile) if profile is not None else None
            spec = getattr(entry, slot) if entry is not None else None
            if spec is not None:
                yield slot, ("profiles", str(profile), slot), spec

    def layer(self, profile: str | None) -> Layer:
        """Top-level [main]/[fallback], then the selected profile's tables on top."""
        layer = Layer(self.kind)
        for slot, loc, spec in self.slot_tables(profile):
            prefix = ".".join(loc)
            table = _lookup(self.raw, loc)
            names = {k: f"{prefix}.{k}" for k in table}
            alias = "max_concurrent" if "max_concurrent" in table else "max_concurrent_requests"
            names["max_concurrent_requests"] = f"{prefix}.{alias}"
            layer.add_spec(slot, spec, names, where=f"in {self.path}")
        return layer


@dataclass
class ConfigFiles:
    """The files in precedence order, lowest first: the user file, then the repository file."""

    files: list[ConfigFile] = field(default_factory=list)

    def __iter__(self) -> Iterator[ConfigFile]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    @property
    def paths(self) -> list[Path]:
        return [f.path for f in self.files]


def load_config_files(settings: Settings, cwd: Path | None = None) -> ConfigFiles:
    """Find and validate the user file (``settings.user_config``) and the nearest repository
    file. Raises :class:`ConfigFileError` listing every problem of every file."""
    cwd = cwd or Path.cwd()
    paths: list[tuple[Path, str]] = []
    user = settings.user_config
    if user.is_file():
        paths.append((user, "user"))
    elif settings.config_file is not None:
        raise ConfigurationError(
            f"HUNKWISE_CONFIG points to {user}, which does not exist: create it or unset the variable",
            setting="HUNKWISE_CONFIG",
        )
    repo = find_repo_config(cwd)
    if repo is not None and repo.resolve() != user.resolve():
        paths.append((repo, "repo"))
    files: list[ConfigFile] = []
    problems: list[Problem] = []
    for path, kind in paths:
        try:
            files.append(read_config_file(path, kind))
        except ConfigFileError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigFileError(problems)
    return ConfigFiles(files)


def read_config_file(path: Path, kind: str) -> ConfigFile:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise ConfigFileError([Problem(f"cannot read {path}: {reason}", str(path))]) from None
    return parse_config_text(text, path, kind)


def parse_config_text(text: str, path: Path, kind: str = "repo") -> ConfigFile:
    """Validate a file's text; ``path`` names it in messages, ``kind`` is ``"repo"`` or ``"user"``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already carries "(at line L, column C)".
        problem = Problem(f"{path} is not valid TOML: {exc}; fix the syntax there", str(path))
        raise ConfigFileError([problem]) from None
    problems = _key_problems(raw, path, kind) + _override_problems(raw, path)
    try:
        data = ConfigFileSchema.model_validate(raw)
    except ValidationError as exc:
        found = schema_problems(exc, raw, path) or [Problem(f"{path}: {exc.errors()[0]['msg']}", str(path))]
        raise ConfigFileError(found + problems) from None
    if problems:
        raise ConfigFileError(problems)
    notes = _key_notes(raw, path) if kind == "user" else []
    return ConfigFile(path=path, kind=kind, data=data, raw=raw, notes=notes)


def _keyed_tables(raw: dict[str, Any]) -> list[tuple[str, ...]]:
    """The slot tables (as written) that hold a literal ``api_key``."""
    tables: list[tuple[tuple[str, ...], Any]] = [((slot,), raw.get(slot)) for slot in SLOT_NAMES]
    profiles = raw.get("profiles")
    if isinstance(profiles, dict):
        for name, entry in profiles.items():
            if isinstance(entry, dict):
                tables += [(("profiles", str(name), slot), entry.get(slot)) for slot in SLOT_NAMES]
    return [loc for loc, table in tables if isinstance(table, dict) and "api_key" in table]


def _key_problems(raw: dict[str, Any], path: Path, kind: str) -> list[Problem]:
    """A literal key is refused in a committed repository file."""
    if kind != "repo":
        return []
    return [
        Problem(
            f"api_key in {section_name(loc)} of {path}: a repository config is committed, so it must not "
            'contain a key; remove it and use api_key_env = "ZAI_API_KEY" (the name of an environment '
            "variable that holds the key)",
            ".".join((*loc, "api_key")),
        )
        for loc in _keyed_tables(raw)
    ]


def _key_notes(raw: dict[str, Any], path: Path) -> list[str]:
    """A literal key in a user file that others can read: a warning, not an error."""
    if os.name != "posix" or not _keyed_tables(raw):
        return []
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return []
    return [
        f"warning: {path} holds an API key but is readable by others (mode {mode:o}); run: chmod 600 {path}"
    ]


def _override_problems(raw: dict[str, Any], path: Path) -> list[Problem]:
    """Catalog overrides name real ids and real fields, with values the catalog accepts. Read
    from the raw file so they are reported with the schema's problems (tables that are not
    tables are the schema's to report)."""
    catalog = load_catalog()
    pools: dict[str, dict[str, Any]] = {
        "models": {c.id: c for c in catalog.cards},
        "tiers": dict(catalog.tiers),
        "plans": dict(catalog.plans),
    }
    problems: list[Problem] = []
    for section in OVERRIDE_SECTIONS:
        patches = raw.get(section)
        if not isinstance(patches, dict):
            continue
        for item_id, patch in patches.items():
            target = pools[section].get(item_id)
            if not isinstance(patch, dict):
                continue
            if target is None:
                close = difflib.get_close_matches(item_id, list(pools[section]), n=1, cutoff=0.6)
                hint = f"; did you mean `{close[0]}`?" if close else f"; known: {', '.join(pools[section])}"
                problems.append(
                    Problem(
                        f"unknown {_OVERRIDE_NOUN[section]} `{item_id}` in [{section}] of {path}"
                        f"{hint} (`hunkwise models` lists them)",
                        f"{section}.{item_id}",
                    )
                )
                continue
            problems += _patch_problems(path, (section, item_id), target, patch)
    if isinstance(raw.get("peak_hours"), dict):
        problems += _patch_problems(path, ("peak_hours",), catalog.peak_hours, raw["peak_hours"])
    return problems


def _patch_problems(path: Path, loc: tuple[str, ...], target: Any, patch: dict[str, Any]) -> list[Problem]:
    fields = [f for f in type(target).model_fields if f != "id"]
    problems = [unknown_key(k, loc, path, fields, table=False) for k in patch if k not in fields]
    if problems:
        return problems
    try:
        type(target).model_validate({**target.model_dump(), **patch})
    except ValidationError as exc:
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else "?"
            reason = str(err["msg"])
            problems.append(bad_value(key, patch.get(key), loc, path, reason[:1].lower() + reason[1:]))
    return problems


def _lookup(raw: dict[str, Any], loc: tuple[str, ...]) -> dict[str, Any]:
    node: Any = raw
    for part in loc:
        node = node[part]
    return node  # type: ignore[no-any-return]
