"""SlotSpec -> gateway ``Slot``: the product rules for cards, Z.AI plans, tiers and keys.

This is the one place that knows that a Coding Plan key lives on another path than a Developer
key, that a Lite tier means one request at a time, and that a model unknown to the catalog is
fine on a self-hosted server but a typo on Z.AI. The CLI (via :mod:`hunkwise.config.resolve`)
and the server's per-organization BYOK both call :func:`build_slot` with the spec and the key
apart; :func:`plan_slot` resolves the same facts when no key is needed.

``env`` is explicit and defaults to *empty*: a server building an organization's slot must never
let ``api_key_env = "DATABASE_PASSWORD"`` read its own environment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hunkwise.catalog.loader import Catalog, ModelCard, load_catalog
from hunkwise.config.spec import SlotSpec, _setting_name, key_from_text
from hunkwise.config.thinking_setting import parse_thinking
from hunkwise.config.urls import is_loopback_host, swap_path, validate_base_url
from hunkwise.config.validation import MAX_OUTPUT_TOKENS
from hunkwise.errors import ConfigurationError
from hunkwise.gateway import Secret, Slot, unwrap_override

# Used for a model the catalog does not know when the user gives no context_window: small enough
# that packing never overflows a typical self-hosted model, and said out loud in the notes.
UNKNOWN_MODEL_CONTEXT_WINDOW = 32_768
DEFAULT_TIMEOUT_S = 120.0
_BASE_URL_ENV = {"zai": "ZAI_BASE_URL", "openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL"}


NO_KEY = Secret("")
"""The key of a slot that is planned, shown or previewed and never called (:func:`plan_slot`)."""


def build_slot(
    spec: SlotSpec,
    key: Secret | None = None,
    *,
    name: str = "main",
    catalog: Catalog | None = None,
    env: Mapping[str, str] | None = None,
    names: Callable[[str], str] | Mapping[str, str] | None = None,
    notes: list[str] | None = None,
    derived: dict[str, str] | None = None,
    require_key: bool = True,
) -> Slot:
    """Resolve one slot, ready to call. Raises :class:`ConfigurationError` naming the setting and
    the fix.

    ``key`` is the key typed for this slot (the API, the console, a config file,
    ``HUNKWISE_API_KEY``, a stored row), already a :class:`Secret` checked where it entered; it is
    put into the slot as it is and revealed only by the SDK client. Without one (``None`` or empty)
    the key comes from ``env``: the variable ``api_key_env`` names, else the provider's own
    (``ZAI_API_KEY``); a server passes an empty ``env``, so an organization's slot never reads it.

    ``require_key=False`` (planning only, e.g. ``review --dry-run``): a missing key leaves the
    slot without one and a note instead of an error; such a slot must never be called.

    ``names`` maps a field to the setting name the user wrote (default ``<name>.<field>``);
    ``notes`` collects things the user should know (assumed defaults, warnings); ``derived``
    receives where computed values came from (``{"base_url": "catalog plan coding"}``).
    """
    catalog = catalog or load_catalog()
    env = env or {}
    notes = notes if notes is not None else []
    derived = derived if derived is not None else {}

    def with_key(provider: str, model_id: str, base_url: str, n: Callable[[str], str]) -> Secret:
        try:
            return _api_key(spec, key, provider, model_id, base_url, catalog, env, n, notes, derived)
        except ConfigurationError as exc:
            if require_key:
                raise
            notes.append(f"{name}: planning without a key (a real run needs one: {exc})")
            derived["api_key"] = "none: planning only"
            return NO_KEY

    return _resolve(spec, name, catalog, env, names, notes, derived, with_key)


def plan_slot(
    spec: SlotSpec,
    *,
    name: str = "main",
    catalog: Catalog | None = None,
    env: Mapping[str, str] | None = None,
    names: Callable[[str], str] | Mapping[str, str] | None = None,
    notes: list[str] | None = None,
    derived: dict[str, str] | None = None,
) -> Slot:
    """Every fact of the slot (endpoint, plan, concurrency, window, prices) and no key: for
    showing a stored configuration without decrypting its key, previewing a request body, or
    comparing endpoints. Raises what :func:`build_slot` raises, except about the key. The slot's
    key is :data:`NO_KEY`: never call it."""
    return _resolve(
        spec,
        name,
        catalog or load_catalog(),
        env or {},
        names,
        notes if notes is not None else [],
        derived if derived is not None else {},
        lambda *_: NO_KEY,
    )


KeyStep = Callable[[str, str, str, Callable[[str], str]], Secret]


def _resolve(
    spec: SlotSpec,
    name: str,
    catalog: Catalog,
    env: Mapping[str, str],
    names: Callable[[str], str] | Mapping[str, str] | None,
    notes: list[str],
    derived: dict[str, str],
    key_step: KeyStep,
) -> Slot:
    def n(field: str) -> str:
        return _setting_name(field, names) if names is not None else f"{name}.{field}"

    card, provider, model_id = _identify(spec, catalog, n)
    base_url, plan_id = _endpoint(spec, provider, catalog, env, n, derived)
    tier_id = spec.tier
    if tier_id and plan_id != "coding":
        raise ConfigurationError(
            f"{n('tier')} = {tier_id!r} applies to the Z.AI Coding Plan only: set plan = coding "
            "(with a Coding Plan key) or remove the tier",
            setting=n("tier"),
        )
    if card and plan_id and card.plans and plan_id not in card.plans:
        plans = ", ".join(card.plans)
        raise ConfigurationError(
            f"{card.display_name} is not available on the {catalog.plans[plan_id].display_name} "
            f"(it is on: {plans}): choose another model or plan",
            setting=n("plan"),
        )
    max_concurrent = _concurrency(spec, plan_id, catalog, n, notes, derived)
    thinking = parse_thinking(spec.thinking, provider, setting=n("thinking"))
    _check_output(spec, thinking, provider, card, n)
    api_key = key_step(provider, model_id, base_url, n)

    context_window = spec.context_window or (card.context_window if card else None)
    if context_window is None:
        context_window = UNKNOWN_MODEL_CONTEXT_WINDOW
        notes.append(
            f"{name}: {model_id!r} is not in the catalog; assuming a {UNKNOWN_MODEL_CONTEXT_WINDOW:,}-token "
            f"context window (set {n('context_window')} to use more)"
        )
        derived["context_window"] = "default: model not in the catalog"
    input_price = _first(spec.input_price, card.input_price if card else None, 0.0)
    output_price = _first(spec.output_price, card.output_price if card else None, 0.0)
    if card is None and spec.input_price is None and spec.output_price is None:
        notes.append(
            f"{name}: no price known for {model_id!r}; costs are reported as $0 "
            "(set input_price and output_price)"
        )

    return Slot(
        name=name,
        provider=provider,  # type: ignore[arg-type]
        base_url=base_url,
        model=model_id,
        api_key=api_key,
        plan=plan_id,  # type: ignore[arg-type]
        tier=tier_id,
        max_concurrent=max_concurrent,
        thinking=thinking,
        temperature=spec.temperature,
        max_output_tokens=spec.max_output_tokens,
        timeout_s=spec.timeout or DEFAULT_TIMEOUT_S,
        context_window=context_window,
        input_price=input_price,
        output_price=output_price,
        # A slot that sets its own input price gets no catalog discount it did not ask for.
        cached_input_price=card.cached_input_price if card and spec.input_price is None else None,
        adaptive_concurrency=bool(spec.adaptive_concurrency),
    )


def _first(*values: float | None) -> float:
    return next(v for v in values if v is not None)  # type: ignore[return-value]


def _identify(spec: SlotSpec, catalog: Catalog, n: Callable[[str], str]) -> tuple[ModelCard | None, str, str]:
    """Which card (if any), which provider, which model id goes on the wire."""
    if spec.card and spec.model and spec.card != spec.model.lower():
        raise ConfigurationError(
            f"both {n('card')} = {spec.card!r} and {n('model')} = {spec.model!r} are set: keep one",
            setting=n("card"),
        )
    wanted = spec.card or spec.model
    if not wanted:
        raise ConfigurationError(
            f"{n('model')} is not set: choose a model such as {catalog.default_card().id} "
            "(`hunkwise models` lists them)",
            setting=n("model"),
        )
    card = catalog.card(wanted)
    field = "card" if spec.card else "model"
    if card is None and (spec.card or spec.provider in (None, "zai", "openai", "anthropic")):
        near = catalog.suggest(wanted, spec.provider if spec.provider != "openai_compatible" else None)
        hint = f"did you mean {', '.join(near)}? " if near else ""
        where = f"the {spec.provider} catalog" if spec.provider else "the catalog"
        raise ConfigurationError(
            f"{n(field)} = {wanted!r} is not in {where}: {hint}(`hunkwise models` lists them; for a "
            "model on your own server use provider = openai_compatible with base_url)",
            setting=n(field),
        )
    provider = spec.provider or (card.provider if card else "openai_compatible")
    if card and provider not in (card.provider, "openai_compatible") and not spec.base_url:
        raise ConfigurationError(
            f"{card.id} is a {catalog.providers[card.provider].display_name} model but {n('provider')} "
            f"= {provider!r}: remove the provider setting, or set base_url to a {provider}-protocol "
            "server that serves it",
            setting=n("provider"),
        )
    model_id = card.id if card else (spec.model or wanted)
    return card, provider, model_id


def _endpoint(
    spec: SlotSpec,
    provider: str,
    catalog: Catalog,
    env: Mapping[str, str],
    n: Callable[[str], str],
    derived: dict[str, str],
) -> tuple[str, str | None]:
    """Base URL and Z.AI plan. For Z.AI the plan is identified by the URL's *path*, so a proxy
    or the simulator on another host still counts as the right plan."""
    allow_http = bool(spec.allow_http)
    if provider not in ("zai", "openai_compatible"):
        for field in ("plan", "tier"):
            if getattr(spec, field):
                raise ConfigurationError(
                    f"{n(field)} applies to Z.AI only, but this slot's provider is {provider}: remove it",
                    setting=n(field),
                )
    if spec.base_url:
        base = validate_base_url(spec.base_url, setting=n("base_url"), allow_http=allow_http)
        url_plan = catalog.plan_for_url(base) if provider in ("zai", "openai_compatible") else None
        if spec.plan and url_plan and spec.plan != url_plan.id:
            wanted = catalog.plans[spec.plan]
            raise ConfigurationError(
                f"{n('base_url')} is the {url_plan.display_name} endpoint ({url_plan.path}) but "
                f"{n('plan')} = {spec.plan!r}: use the {wanted.display_name} path {wanted.path} "
                "or remove one of the two settings",
                setting=n("base_url"),
            )
        plan_id = url_plan.id if url_plan else (spec.plan if provider == "zai" else None)
        if url_plan:
            derived["plan"] = f"base URL path: {url_plan.path}"
        return base, plan_id
    if provider == "openai_compatible":
        raise ConfigurationError(
            f"{n('base_url')} is required for provider openai_compatible: set it to your server's "
            "OpenAI-compatible base URL, e.g. http://localhost:8000/v1",
            setting=n("base_url"),
        )
    env_name = _BASE_URL_ENV.get(provider, "")
    env_base = env.get(env_name, "").strip() if env_name else ""
    if provider == "zai":
        plan = catalog.plans[spec.plan or "developer"]
        if not spec.plan:
            derived["plan"] = "default: Developer API"
        if env_base:
            base = validate_base_url(env_base, setting=env_name, allow_http=allow_http)
            current = catalog.plan_for_url(base)
            if current is None or current.id != plan.id:
                base = swap_path(base, current.path if current else "", plan.path)
            derived["base_url"] = f"env: {env_name} with the {plan.display_name} path"
            return base, plan.id
        derived["base_url"] = f"catalog: {plan.display_name} endpoint"
        return validate_base_url(plan.base_url, setting=n("base_url")), plan.id
    if env_base:
        derived["base_url"] = f"env: {env_name}"
        return validate_base_url(env_base, setting=env_name, allow_http=allow_http), None
    derived["base_url"] = f"catalog: {catalog.providers[provider].display_name} default"
    return validate_base_url(catalog.providers[provider].default_base_url, setting=n("base_url")), None


def _concurrency(
    spec: SlotSpec,
    plan_id: str | None,
    catalog: Catalog,
    n: Callable[[str], str],
    notes: list[str],
    derived: dict[str, str],
) -> int | None:
    """User setting wins; else the tier's limit; else the plan's default (Coding: 1, Developer:
    no cap). 0 means "no cap" wherever a number is expected."""
    tier = catalog.tiers[spec.tier] if spec.tier else None
    if spec.max_concurrent_requests is not None:
        value = spec.max_concurrent_requests or None
        if tier and (value is None or value > tier.max_concurrent):
            notes.append(
                f"{n('max_concurrent_requests')} = {value or 'no cap'} is above the {tier.display_name} "
                f"tier's {tier.max_concurrent}; expect 'too much concurrency' (1302) errors"
            )
        return value
    if tier:
        derived["max_concurrent_requests"] = f"catalog: {tier.display_name} tier"
        return tier.max_concurrent
    if plan_id:
        plan = catalog.plans[plan_id]
        derived["max_concurrent_requests"] = f"catalog: {plan.display_name} default"
        return plan.default_max_concurrent
    return None


def _api_key(
    spec: SlotSpec,
    key: Secret | None,
    provider: str,
    model_id: str,
    base_url: str,
    catalog: Catalog,
    env: Mapping[str, str],
    n: Callable[[str], str],
    notes: list[str],
    derived: dict[str, str],
) -> Secret:
    if key:
        return key
    if spec.api_key_env:
        value = env.get(spec.api_key_env, "")
        if not value.strip():
            raise ConfigurationError(
                f"{n('api_key_env')} names {spec.api_key_env}, which is not set or empty: "
                f"export {spec.api_key_env}=<your key>",
                setting=n("api_key_env"),
            )
        derived["api_key"] = f"env: {spec.api_key_env}"
        return key_from_text(value, spec.api_key_env)
    default_env = catalog.providers[provider].key_env
    if default_env and env.get(default_env, "").strip():
        derived["api_key"] = f"env: {default_env}"
        return key_from_text(env[default_env], default_env)
    from urllib.parse import urlsplit

    if provider == "openai_compatible" and is_loopback_host(urlsplit(base_url).hostname or ""):
        # Local servers (Ollama, vLLM, llama.cpp) usually ignore auth, but the SDK insists on a key.
        notes.append(f"no API key for {model_id!r} on a local server: sending a dummy key")
        derived["api_key"] = "none: local server"
        return Secret("unused-local")
    hint = f", or export {default_env}" if default_env else ""
    raise ConfigurationError(
        f"no API key for {provider}/{model_id}: set {n('api_key')}{hint}, "
        'or api_key_env = "VAR" in a profile',
        setting=n("api_key"),
    )


def _output_bound(card: ModelCard | None) -> tuple[int, str]:
    """The most output tokens a request for this model may ask for, and whose limit that is."""
    if card is not None:
        return card.max_output_tokens, f"{card.display_name}'s maximum output"
    return MAX_OUTPUT_TOKENS, "the limit for a model not in the catalog"


def _check_output(
    spec: SlotSpec, thinking: Any, provider: str, card: ModelCard | None, n: Callable[[str], str]
) -> None:
    """``max_output_tokens`` and an override's ``max_tokens`` / ``max_completion_tokens`` (the same
    quantity on the wire) are bounded by what the model can produce."""
    bound, whose = _output_bound(card)
    hint = " (a catalog override can raise a card's limit when the provider does)" if card else ""
    if spec.max_output_tokens is not None and spec.max_output_tokens > bound:
        raise ConfigurationError(
            f"{n('max_output_tokens')} = {spec.max_output_tokens:,} is above {whose} of {bound:,} "
            f"tokens: use at most {bound}{hint}",
            setting=n("max_output_tokens"),
        )
    if not isinstance(thinking, dict):
        return
    body = unwrap_override(thinking, provider, setting=n("thinking"))
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= bound:
            raise ConfigurationError(
                f"{n('thinking')}: {key} = {value!r} is not valid: use a whole number from 1 to "
                f"{bound:,} ({whose}){hint}",
                setting=n("thinking"),
            )


def slot_summary(slot: Slot) -> dict[str, Any]:
    """A JSON-safe view of a slot for output and APIs: never the key, only its last 4 chars."""
    return {
        "name": slot.name,
        "provider": slot.provider,
        "model": slot.model,
        "base_url": slot.base_url,
        "plan": slot.plan,
        "tier": slot.tier,
        "max_concurrent": slot.max_concurrent,
        "thinking": slot.thinking,
        "temperature": slot.temperature,
        "max_output_tokens": slot.max_output_tokens,
        "timeout_s": slot.timeout_s,
        "context_window": slot.context_window,
        "input_price": slot.input_price,
        "output_price": slot.output_price,
        "api_key": slot.api_key.masked(),
    }
