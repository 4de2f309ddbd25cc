"""Resolve the configured slots from every source, per setting, with one documented precedence:

    flags  >  environment  >  repository .hunkwise.toml  >  user config.toml  >  defaults

"Per setting" means a flag that changes only ``--tier`` keeps the model and key from the profile.
One exception keeps that sane: when a higher source switches the slot to *another provider*
(``--model gpt-5`` over a Z.AI profile), the lower sources' connection settings (base URL, plan,
tier, key, concurrency) are dropped, because they belonged to the other provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hunkwise.catalog.loader import Catalog, load_catalog
from hunkwise.config.files import ConfigFiles, load_config_files
from hunkwise.config.layers import SLOT_NAMES, Layer, env_layer, env_name, flags_layer
from hunkwise.config.slots import build_slot, slot_summary
from hunkwise.config.spec import SlotSpec
from hunkwise.errors import ConfigurationError
from hunkwise.gateway import Slot

if TYPE_CHECKING:
    from hunkwise.config.settings import Settings

# Zero-config: which card a provider key alone selects, as Main and as Fallback.
MAIN_DEFAULT_CARD = {"zai": "glm-5.1", "openai": "gpt-5", "anthropic": "claude-sonnet-4-6"}
FALLBACK_DEFAULT_CARD = {"zai": "glm-5.1", "openai": "gpt-5-mini", "anthropic": "claude-haiku-4-5"}
_ZERO_CONFIG_ORDER = ("zai", "openai", "anthropic")
_CONNECTION_FIELDS = (
    "provider",
    "base_url",
    "plan",
    "tier",
    "api_key",
    "api_key_env",
    "max_concurrent_requests",
    "allow_http",
)
NO_FALLBACK = "none"


class NoModelConfigured(ConfigurationError):
    """No source names a model and no provider key is set. Each command adds what it offers
    instead (``review --offline``, the simulator), so the hint never names a flag it lacks."""


@dataclass
class ResolvedConfig:
    """The slots in failover order (main first), what the user should be told (``notes``), and
    where every setting came from (``sources``: ``"main.tier" -> "env: HUNKWISE_TIER"``)."""

    slots: list[Slot]
    notes: list[str]
    sources: dict[str, str]
    catalog: Catalog
    fixed_mode: bool
    profile: str | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def main(self) -> Slot:
        return self.slots[0]

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe; keys are masked."""
        return {
            "slots": [slot_summary(s) for s in self.slots],
            "notes": list(self.notes),
            "sources": dict(self.sources),
            "fixed_mode": self.fixed_mode,
            "profile": self.profile,
            "files": [str(p) for p in self.files],
            "catalog_version": self.catalog.version,
        }


def resolve_config(
    flags: Mapping[str, Any] | None = None,
    *,
    settings: Settings,
    cwd: Path | None = None,
    profile: str | None = None,
    files: ConfigFiles | None = None,
    require_key: bool = True,
) -> ResolvedConfig:
    """Read every source and build the slots. Raises :class:`ConfigurationError` (one line,
    naming the setting) on any bad value, and :class:`NoModelConfigured` when no model is
    configured at all.

    ``files``: the already loaded config files (a command that also needs their ``[review]``
    reads them once). ``require_key=False`` is for planning without calling (``review
    --dry-run``): a slot without a key gets an empty one, and with nothing configured the
    catalog's default card is planned for; such slots must never be called.

    ``settings`` are the process's: the slot variables (``HUNKWISE_MODEL``, ``HUNKWISE_FALLBACK_*``),
    the providers' variables and ``api_key_env`` names are read from ``settings.environ``.
    """
    env = settings.environ
    cwd = cwd or Path.cwd()
    notes: list[str] = []
    files = files if files is not None else load_config_files(settings, cwd)
    selected = _select_profile(profile, settings.profile, files)
    catalog = _catalog_with_overrides(files)
    layers: list[Layer] = [f.layer(selected) for f in files]  # user first, then repo
    for f in files:
        notes.extend(f.notes)
    env_l = env_layer(env)
    layers += [env_l, flags_layer(flags)]

    sources: dict[str, str] = {}
    if selected:
        sources["profile"] = _profile_source(profile, settings.profile, files, selected)
    slots: list[Slot] = []
    for slot_name in SLOT_NAMES:
        merged, names, origin = _merge(slot_name, layers, catalog, notes)
        main_provider = slots[0].provider if slots else None
        if not _apply_defaults(
            slot_name, merged, names, origin, catalog, settings, notes, main_provider, require_key=require_key
        ):
            continue
        key = merged.get("api_key")
        spec = SlotSpec.model_validate({f: v for f, v in merged.items() if f != "api_key"})
        derived: dict[str, str] = {}

        def n(f: str, _names: dict[str, str] = names, _slot: str = slot_name) -> str:
            return _names.get(f) or env_name(_slot, f)

        slots.append(
            build_slot(
                spec,
                key,
                name=slot_name,
                catalog=catalog,
                env=env,
                names=n,
                notes=notes,
                derived=derived,
                require_key=require_key,
            )
        )
        for f in merged:
            sources[f"{slot_name}.{'model' if f == 'card' else f}"] = (
                f"{origin[f]}: {names[f]}" if origin[f] != "default" else names[f]
            )
        for f, where in derived.items():
            sources.setdefault(f"{slot_name}.{f}", where)
    return ResolvedConfig(
        slots=slots,
        notes=notes,
        sources={k: _env_file_source(v, settings) for k, v in sources.items()},
        catalog=catalog,
        fixed_mode=bool(env_l.values),
        profile=selected,
        files=files.paths,
    )


def _env_file_source(source: str, settings: Settings) -> str:
    """``env: NAME`` becomes ``.env (PATH): NAME`` when the variable came from the service's env
    file, so ``config show`` tells the two apart."""
    kind, _, name = source.partition(": ")
    if kind == "env" and name in settings.from_env_file:
        return f".env ({settings.loaded_env_file.path}): {name}"
    return source


def resolve_catalog(*, settings: Settings, cwd: Path | None = None) -> Catalog:
    """The catalog after the config files' ``[models]``/``[tiers]``/``[plans]`` overrides, without
    resolving any slot (``hunkwise models`` must work before a key is configured)."""
    return _catalog_with_overrides(load_config_files(settings, cwd or Path.cwd()))


def _select_profile(explicit: str | None, from_env: str | None, files: ConfigFiles) -> str | None:
    """--profile > HUNKWISE_PROFILE > repo file's ``profile`` > user file's ``profile``."""
    chosen = explicit or from_env
    setting = "--profile" if explicit else "HUNKWISE_PROFILE"
    if chosen is None:
        for f in reversed(files.files):
            if f.default_profile:
                chosen, setting = f.default_profile, f"profile in {f.path}"
                break
    if chosen is None:
        return None
    known = sorted({name for f in files for name in f.profiles})
    if chosen not in known:
        where = ", ".join(str(p) for p in files.paths) or "no config file was found"
        listed = f"defined profiles: {', '.join(known)}" if known else "no profiles are defined"
        raise ConfigurationError(
            f"profile {chosen!r} (from {setting}) does not exist ({listed}; files read: {where}): "
            f"add [profiles.{chosen}.main] or choose another profile",
            setting=setting,
        )
    return chosen


def _profile_source(explicit: str | None, from_env: str | None, files: ConfigFiles, chosen: str) -> str:
    if explicit:
        return f"flag: --profile {chosen}"
    if from_env:
        return f"env: HUNKWISE_PROFILE={chosen}"
    f = next(f for f in reversed(files.files) if f.default_profile)
    return f"{f.kind} file: profile in {f.path}"


def _catalog_with_overrides(files: ConfigFiles) -> Catalog:
    """The files' overrides were checked against the catalog when they were loaded."""
    catalog = load_catalog()
    for f in files:  # user first, then repo: the repo's numbers win
        overrides = f.overrides()
        if overrides:
            catalog = catalog.with_overrides(overrides)
    return catalog


def _implied_provider(values: Mapping[str, Any], catalog: Catalog) -> str | None:
    if values.get("provider"):
        return str(values["provider"])
    wanted = values.get("card") or values.get("model")
    card = catalog.card(str(wanted)) if wanted else None
    return card.provider if card else None


def _merge(
    slot: str, layers: list[Layer], catalog: Catalog, notes: list[str]
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    merged: dict[str, Any] = {}
    names: dict[str, str] = {}
    origin: dict[str, str] = {}
    for layer in layers:
        values = layer.values.get(slot)
        if not values:
            continue
        sets_model = "model" in values or "card" in values
        candidate = {k: v for k, v in merged.items() if not (sets_model and k in ("model", "card"))}
        before = _implied_provider(merged, catalog)
        after = _implied_provider({**candidate, **values}, catalog)
        # A generic OpenAI-compatible server can serve any model, so it never "switches" provider.
        if before and after and before != after and after != "openai_compatible":
            dropped = [k for k in _CONNECTION_FIELDS if k in merged and k not in values]
            if dropped:
                notes.append(
                    f"{slot}: {layer.origin} settings switch the provider from {before} to {after}; "
                    f"ignoring {', '.join(names[k] for k in dropped)} from lower-precedence sources"
                )
            for k in dropped:
                merged.pop(k), names.pop(k), origin.pop(k)
        if sets_model:
            for k in ("model", "card"):
                if k in merged:
                    merged.pop(k), names.pop(k), origin.pop(k)
        merged.update(values)
        names.update(layer.names[slot])
        origin.update({k: layer.origin for k in values})
    return merged, names, origin


def _apply_defaults(
    slot: str,
    merged: dict[str, Any],
    names: dict[str, str],
    origin: dict[str, str],
    catalog: Catalog,
    settings: Settings,
    notes: list[str],
    main_provider: str | None,
    *,
    require_key: bool = True,
) -> bool:
    """Fill the model when no source set it (zero-config). False = this slot does not exist."""

    def default(model: str, why: str) -> None:
        merged["model"] = model
        names["model"] = why
        origin["model"] = "default"

    env = settings.environ
    keyed = [p for p in _ZERO_CONFIG_ORDER if env.get(catalog.providers[p].key_env, "").strip()]
    if slot == "main":
        if merged:
            if not (merged.get("model") or merged.get("card")):
                provider = merged.get("provider") or "zai"
                if provider not in MAIN_DEFAULT_CARD:
                    return True  # openai_compatible: build_slot explains that a model is needed
                default(MAIN_DEFAULT_CARD[provider], f"default: {MAIN_DEFAULT_CARD[provider]}")
            return True
        if not keyed and not require_key:
            card = catalog.default_card()
            default(card.id, f"default: {card.id} (no model configured)")
            notes.append(f"main: no model or key configured; planning for {card.display_name} (the default)")
            return True
        if not keyed:
            raise NoModelConfigured(
                "no model is configured: export ZAI_API_KEY (GLM-5.1 on the Z.AI Developer API), or set "
                "HUNKWISE_MODEL and HUNKWISE_API_KEY, or define a profile in .hunkwise.toml or "
                f"{settings.user_config} (see docs/configuration.md)",
                setting="ZAI_API_KEY",
            )
        provider = keyed[0]
        card = catalog.card(MAIN_DEFAULT_CARD[provider])
        assert card is not None
        key_env = catalog.providers[provider].key_env
        default(card.id, f"zero-config: {key_env} is set")
        plan = " on the Developer API" if provider == "zai" else ""
        notes.append(f"main: {card.display_name}{plan}, key from {key_env} (zero-config)")
        return True
    if merged:
        if str(merged.get("model", "")).lower() == NO_FALLBACK:
            notes.append(f"{slot}: disabled ({names['model']} = none)")
            return False
        if not (merged.get("model") or merged.get("card")):
            provider = merged.get("provider")
            if provider not in FALLBACK_DEFAULT_CARD:
                raise ConfigurationError(
                    f"the {slot} slot has settings but no model: set {env_name(slot, 'model')} "
                    f"(e.g. gpt-5-mini) or {env_name(slot, 'provider')}",
                    setting=env_name(slot, "model"),
                )
            default(FALLBACK_DEFAULT_CARD[provider], f"default: {FALLBACK_DEFAULT_CARD[provider]}")
        return True
    for provider in keyed:
        if provider == main_provider or provider == "zai":
            continue
        card = catalog.card(FALLBACK_DEFAULT_CARD[provider])
        assert card is not None
        key_env = catalog.providers[provider].key_env
        default(card.id, f"zero-config: {key_env} is set")
        notes.append(
            f"{slot}: {card.display_name}, key from {key_env} (zero-config; "
            f"set {env_name(slot, 'model')}=none to disable)"
        )
        return True
    return False
