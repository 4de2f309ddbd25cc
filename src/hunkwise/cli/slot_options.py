"""Options shared by every command that talks to the configured models (chat, test, review...).

Each option is an ``Annotated`` type, so a command declares ``model: ModelOpt = None`` and the
flag, help text and precedence (flags beat env, files and defaults) are the same everywhere.
Values stay strings here: :mod:`hunkwise.config` validates them, so ``--max-concurrent abc``
gets the same one-line explanation as ``HUNKWISE_MAX_CONCURRENT=abc``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from hunkwise.config.files import ConfigFiles
    from hunkwise.config.resolve import ResolvedConfig
    from hunkwise.config.settings import Settings

_PANEL = "Model (main slot; flags win over env and config files)"

ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", help="Profile from .hunkwise.toml or the user config.", rich_help_panel=_PANEL),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", "-m", help="Model id, e.g. glm-5.1 (see `hunkwise models`).", rich_help_panel=_PANEL
    ),
]
ProviderOpt = Annotated[
    str | None,
    typer.Option("--provider", help="zai, openai_compatible, openai or anthropic.", rich_help_panel=_PANEL),
]
PlanOpt = Annotated[
    str | None, typer.Option("--plan", help="Z.AI plan: developer or coding.", rich_help_panel=_PANEL)
]
TierOpt = Annotated[
    str | None, typer.Option("--tier", help="Coding Plan tier: lite, pro or max.", rich_help_panel=_PANEL)
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option("--base-url", help="Base URL (without /chat/completions).", rich_help_panel=_PANEL),
]
ApiKeyEnvOpt = Annotated[
    str | None,
    typer.Option("--api-key-env", help="Name of the env variable holding the key.", rich_help_panel=_PANEL),
]
MaxConcurrentOpt = Annotated[
    str | None,
    typer.Option(
        "--max-concurrent", help="Max requests in flight per key (0 = no cap).", rich_help_panel=_PANEL
    ),
]
ThinkingOpt = Annotated[
    str | None,
    typer.Option(
        "--thinking",
        help="off, low, medium, high, auto (off for light review requests), or a JSON override.",
        rich_help_panel=_PANEL,
    ),
]

_FB = "Fallback model (used when the main one cannot answer; flags win over env and config files)"

FallbackModelOpt = Annotated[
    str | None,
    typer.Option("--fallback-model", help="Fallback model id, e.g. gpt-5-mini.", rich_help_panel=_FB),
]
FallbackProviderOpt = Annotated[
    str | None,
    typer.Option(
        "--fallback-provider", help="zai, openai_compatible, openai or anthropic.", rich_help_panel=_FB
    ),
]
FallbackPlanOpt = Annotated[
    str | None,
    typer.Option("--fallback-plan", help="Z.AI plan: developer or coding.", rich_help_panel=_FB),
]
FallbackTierOpt = Annotated[
    str | None,
    typer.Option("--fallback-tier", help="Coding Plan tier: lite, pro or max.", rich_help_panel=_FB),
]
FallbackBaseUrlOpt = Annotated[
    str | None,
    typer.Option("--fallback-base-url", help="Base URL (without /chat/completions).", rich_help_panel=_FB),
]
FallbackApiKeyEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--fallback-api-key-env", help="Name of the env variable holding the key.", rich_help_panel=_FB
    ),
]
FallbackMaxConcurrentOpt = Annotated[
    str | None,
    typer.Option(
        "--fallback-max-concurrent", help="Max requests in flight per key (0 = no cap).", rich_help_panel=_FB
    ),
]
FallbackThinkingOpt = Annotated[
    str | None,
    typer.Option(
        "--fallback-thinking",
        help="off, low, medium, high, auto (off for light review requests), or a JSON override.",
        rich_help_panel=_FB,
    ),
]
NoFallbackOpt = Annotated[
    bool,
    typer.Option(
        "--no-fallback",
        help="Use the main model only, whatever the env and config files say about a fallback.",
        rich_help_panel=_FB,
    ),
]

NO_FALLBACK = "none"  # the fallback model value that disables the slot (as HUNKWISE_FALLBACK_MODEL=none)


def slot_flags(**values: Any) -> dict[str, Any]:
    """The ``flags`` dict for :func:`hunkwise.config.resolve_config` (unset options dropped)."""
    return {k: v for k, v in values.items() if v is not None}


def fallback_flags(*, no_fallback: bool = False, **values: Any) -> dict[str, Any]:
    """The fallback slot's part of ``flags``: ``model=...`` -> ``fallback_model=...``.

    ``--no-fallback`` becomes ``fallback_model=none``, the value every other source already uses
    to disable the slot, so one rule decides it. Combined with another ``--fallback-*`` flag it is
    a contradiction, refused rather than silently resolved one way.
    """
    from hunkwise.cli.app import UsageError

    given = {f"fallback_{k}": v for k, v in values.items() if v is not None}
    if not no_fallback:
        return given
    if given:
        names = ", ".join("--" + k.replace("_", "-") for k in given)
        raise UsageError(f"--no-fallback contradicts {names}: drop one of them")
    return {"fallback_model": NO_FALLBACK}


def resolve(
    profile: str | None,
    flags: dict[str, Any],
    *,
    settings: Settings,
    files: ConfigFiles | None = None,
    require_key: bool = True,
) -> ResolvedConfig:
    from hunkwise.config.resolve import resolve_config

    return resolve_config(flags, settings=settings, profile=profile, files=files, require_key=require_key)


def read_settings() -> Settings:
    """The process's settings, read once per command (inside :func:`friendly_errors`, so a bad
    variable is one red line naming it)."""
    from hunkwise.config.settings import Settings

    return Settings.from_env()


def error_lines(exc: Exception) -> list[str]:
    """What to print for a configuration error: one self-contained line per config file problem,
    else the message with the setting it names."""
    if problems := getattr(exc, "problems", None):
        return [p.message for p in problems]
    setting = getattr(exc, "setting", None)
    return [str(exc) + (f" [{setting}]" if setting else "")]


def fail(message: str, setting: str | None = None, code: int = 2) -> typer.Exit:
    """Print one red line (with the setting, when known); return the Exit to raise."""
    typer.secho(f"error: {message}" + (f" [{setting}]" if setting else ""), err=True, fg="red")
    return typer.Exit(code)


# What a command without --offline offers someone who has no key yet (chat, test).
SIMULATOR_HINT = (
    "to try hunkwise without a real key, start the simulator (`hunkwise sim`) and export "
    "ZAI_BASE_URL=http://127.0.0.1:8765 ZAI_API_KEY=sim-dev-key-0001 (docs/simulator.md)"
)


@contextmanager
def friendly_errors(no_model_hint: str = SIMULATOR_HINT) -> Iterator[None]:
    """Bad input -> one red line per problem and exit 2, also under ``CliRunner`` (which
    bypasses ``main()``). ``no_model_hint`` ends the "no model is configured" message with what
    this command offers instead (``review`` has ``--offline``; ``chat`` and ``test`` do not)."""
    from hunkwise.config.problems import ConfigFileError
    from hunkwise.config.resolve import NoModelConfigured
    from hunkwise.errors import ConfigurationError

    try:
        yield
    except ConfigFileError as exc:
        for line in error_lines(exc):
            typer.secho(f"error: {line}", err=True, fg="red")
        raise typer.Exit(2) from None
    except NoModelConfigured as exc:
        raise fail(f"{exc}; {no_model_hint}", exc.setting) from None
    except ConfigurationError as exc:  # a UsageError too
        raise fail(str(exc), exc.setting) from None


def print_notes(notes: list[str]) -> None:
    """Resolution notes (zero-config choices, warnings) go to stderr so --json stays parseable."""
    for note in notes:
        typer.secho(f"note: {note}", err=True, fg="yellow")


# --- one declaration of the model options for every command ------------------------------------
_SLOT_FIELDS = ("model", "provider", "plan", "tier", "base_url", "api_key_env", "max_concurrent", "thinking")
_MAIN_OPTS: tuple[Any, ...] = (
    ModelOpt,
    ProviderOpt,
    PlanOpt,
    TierOpt,
    BaseUrlOpt,
    ApiKeyEnvOpt,
    MaxConcurrentOpt,
    ThinkingOpt,
)
_FALLBACK_OPTS: tuple[Any, ...] = (
    FallbackModelOpt,
    FallbackProviderOpt,
    FallbackPlanOpt,
    FallbackTierOpt,
    FallbackBaseUrlOpt,
    FallbackApiKeyEnvOpt,
    FallbackMaxConcurrentOpt,
    FallbackThinkingOpt,
)
MODEL_PARAMETERS: tuple[inspect.Parameter, ...] = (
    inspect.Parameter("profile", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ProfileOpt),
    *(
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=opt)
        for name, opt in zip(_SLOT_FIELDS, _MAIN_OPTS, strict=True)
    ),
    *(
        inspect.Parameter(f"fallback_{name}", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=opt)
        for name, opt in zip(_SLOT_FIELDS, _FALLBACK_OPTS, strict=True)
    ),
    inspect.Parameter("no_fallback", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=NoFallbackOpt),
)


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """What the user chose on the command line for the main and fallback slots."""

    profile: str | None
    values: dict[str, Any]

    def flags(self) -> dict[str, Any]:
        """The ``flags`` for :func:`resolve`. Raises ``UsageError`` on contradictory fallback
        flags, so call it inside :func:`friendly_errors`."""
        main = slot_flags(**{k: self.values[k] for k in _SLOT_FIELDS})
        fallback = {k: self.values[f"fallback_{k}"] for k in _SLOT_FIELDS}
        return main | fallback_flags(no_fallback=self.values["no_fallback"], **fallback)


def with_model_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``command`` every model option (main, fallback, profile) as one ``models: ModelChoice``
    argument. Typer has no option groups; without this each command repeated 18 parameters."""
    own = inspect.signature(command, eval_str=True)
    kept = [p for name, p in own.parameters.items() if name != "models"]
    defaults = {p.name: p.default for p in MODEL_PARAMETERS}

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        chosen = defaults | {name: kwargs.pop(name) for name in defaults if name in kwargs}
        models = ModelChoice(chosen.pop("profile"), chosen)
        return command(*args, models=models, **kwargs)

    params = [*kept, *MODEL_PARAMETERS]
    wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params} | {"return": own.return_annotation}
    del wrapper.__wrapped__  # Typer must read the new signature, not the command's
    return wrapper
