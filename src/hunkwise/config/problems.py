"""Config file problems as one line each: the file, the section, the key as written, and the fix.

::

    unknown key `modle` in [main] of /repo/.hunkwise.toml; did you mean `model`?
    unknown section [reviw] in /repo/.hunkwise.toml; did you mean [review]?
    plan = "gold" in [main] of /repo/.hunkwise.toml: expected one of developer, coding

Every problem of every file is reported at once (fixing them one run at a time is tedious), as a
:class:`ConfigFileError` whose ``problems`` the CLI prints one ``error:`` line each.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hunkwise.config.schema import FILE_HELP, keys_of, model_at
from hunkwise.config.spec import FIELD_HELP as SLOT_HELP
from hunkwise.config.spec import SlotInput
from hunkwise.errors import ConfigurationError
from hunkwise.gateway import Secret

Loc = tuple[str | int, ...]
API_KEY_ENV_HELP = (
    "expected the NAME of an environment variable, e.g. ZAI_API_KEY, not the key itself (shown masked)"
)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class Problem:
    message: str
    setting: str


class ConfigFileError(ConfigurationError):
    """One or more problems in the config files; ``str()`` is one line per problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(p.message for p in self.problems), setting=self.problems[0].setting)


def section_name(section: Loc) -> str:
    """``("profiles", "team", "main")`` -> ``[profiles.team.main]``; ``("rules", 0)`` -> ``[[rules]] #1``."""
    if section[:1] == ("rules",) and len(section) == 2 and isinstance(section[1], int):
        return f"[[rules]] #{section[1] + 1}"
    parts = [p if _BARE_KEY.fullmatch(str(p)) else json.dumps(str(p)) for p in section]
    return "[" + ".".join(str(p) for p in parts) + "]"


def where(section: Loc, path: Path) -> str:
    return f"in {section_name(section)} of {path}" if section else f"at the top level of {path}"


def setting_of(loc: Loc) -> str:
    return ".".join(str(p) for p in loc)


def show(key: str, value: Any) -> str:
    """A value as it would be written in TOML; keys are never shown."""
    if key == "api_key":
        return "(hidden)"
    if key == "api_key_env":  # an invalid variable name is most likely a pasted key
        return Secret(str(value)).masked()
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def unknown_key(key: str, section: Loc, path: Path, allowed: Iterable[str], *, table: bool) -> Problem:
    """An unknown key, with the nearest allowed one (or the allowed list when none is near)."""
    allowed = sorted(allowed)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if table and not section:
        text = f"unknown section [{key}] in {path}"
        hint = f"; did you mean [{close[0]}]?" if close else f"; allowed: {', '.join(allowed)}"
    else:
        text = f"unknown key `{key}` {where(section, path)}"
        hint = f"; did you mean `{close[0]}`?" if close else f"; allowed here: {', '.join(allowed)}"
    return Problem(text + hint, setting_of((*section, key)))


def bad_value(key: str, value: Any, section: Loc, path: Path, reason: str) -> Problem:
    text = f"{key} = {show(key, value)} {where(section, path)}: {reason}"
    return Problem(text, setting_of((*section, key)))


def schema_problems(exc: ValidationError, raw: dict[str, Any], path: Path) -> list[Problem]:
    """Translate pydantic's errors on a whole file into problems, one per key."""
    problems: list[Problem] = []
    seen: set[Loc] = set()
    for err in exc.errors():
        loc: Loc = tuple(err["loc"])
        core = loc if err["type"] == "missing" else _written(loc, raw)
        if not core or core in seen:
            continue
        seen.add(core)
        key, section = str(core[-1]), core[:-1]
        model = model_at(section)
        if err["type"] == "extra_forbidden":
            value = _lookup(raw, core)
            allowed = keys_of(model) if model is not None else []
            problems.append(unknown_key(key, section, path, allowed, table=isinstance(value, dict | list)))
            continue
        help_text = (SLOT_HELP.get(_slot_field(key)) if model is SlotInput else None) or FILE_HELP.get(key)
        if err["type"] == "missing":
            reason = f"expected {help_text}" if help_text else err["msg"]
            text = f"missing key `{key}` {where(section, path)}: {reason}"
            problems.append(Problem(text, setting_of(core)))
            continue
        if err["type"] == "value_error":
            reason = str(err.get("ctx", {}).get("error", err["msg"]))
        elif key == "api_key_env":  # an invalid variable name is most likely a pasted key
            reason = API_KEY_ENV_HELP
        else:
            reason = f"expected {help_text}" if help_text else err["msg"]
        problems.append(bad_value(key, _lookup(raw, core), section, path, reason))
    return problems


def _slot_field(key: str) -> str:
    return "max_concurrent_requests" if key == "max_concurrent" else key


def _written(loc: Loc, raw: Any) -> Loc:
    """The part of an error location that exists in the file: pydantic appends union member
    tags (``str``, ``dict[str,any]``) and list indices the user never wrote as keys."""
    core: list[str | int] = []
    node = raw
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            if core[:1] != ["rules"] or len(core) != 1:  # an item of a list value: report the list
                break
            node = node[part]
        else:
            break
        core.append(part)
    if core and isinstance(core[-1], int):  # a [[rules]] entry that is not a table: report `rules`
        core.pop()
    return tuple(core)


def _lookup(raw: Any, loc: Loc) -> Any:
    node = raw
    for part in loc:
        node = node[part]
    return node
