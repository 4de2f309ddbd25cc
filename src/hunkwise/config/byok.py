"""Per-organization model configuration (BYOK): its rules, written once, from plain data to slots.

Saving (:func:`hunkwise.store.byok_slots.save_byok`), testing a configuration before it is saved (the
server's Test), showing a stored one, and using one for a review
(:class:`hunkwise.jobs.resolver.SlotResolver`) all go through the functions here, so each rule
has one text and one behaviour:

* an organization's slot is built with an *empty* environment and may not name ``api_key_env``:
  the server's environment is not the organization's to read (:func:`key_env_problem`);
* its base URL passes the SSRF policy (:mod:`hunkwise.config.ssrf`) at save time and again at
  every use; an allow-listed self-hosted server may use plain http;
* a slot sent without a key keeps the stored key of its role, but only while it talks to the
  endpoint (scheme, host and port) the key was entered for (:func:`reusable_key`);
* Main is required (:func:`configure_org`).

Keys arrive as :class:`~hunkwise.gateway.types.Secret` (typed, or decrypted by the store) and go
into the slot as they are.

Named like :mod:`hunkwise.server.routes.byok` on purpose: that module is the HTTP surface of these
rules, and route modules are named after the resource they serve. The rows are
:mod:`hunkwise.store.byok_slots`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hunkwise.catalog.loader import Catalog, load_catalog
from hunkwise.config.resolve import ResolvedConfig, resolve_config
from hunkwise.config.slots import build_slot, plan_slot
from hunkwise.config.spec import SlotEntry, SlotSpec, parse_spec
from hunkwise.config.ssrf import SsrfPolicy, endpoint_origin, format_origin
from hunkwise.config.urls import validate_base_url
from hunkwise.errors import ConfigurationError
from hunkwise.gateway import ClientPool, Secret, Slot

if TYPE_CHECKING:
    from hunkwise.config.proxies import Network
    from hunkwise.config.settings import Settings

ROLES: tuple[str, ...] = ("main", "fallback")
FIXED_MODE_ENV = "HUNKWISE_MODEL"
KEY_ENV_REFUSAL = (
    "api_key_env is not available for organizations (the server's environment is not yours to "
    "read): send the key itself as api_key"
)


@dataclass(frozen=True)
class StoredSlot:
    """One slot as the store keeps it: the spec without its key, and the decrypted key (if any)."""

    role: str
    spec: Mapping[str, Any]
    api_key: Secret | None = field(default=None, repr=False)


@dataclass
class BuiltSlot:
    """A validated slot plus what the person configuring it should be told."""

    slot: Slot
    notes: list[str]
    warnings: list[str]
    derived: dict[str, str]


def stored_spec(spec: SlotSpec) -> dict[str, Any]:
    """What goes into the database for a slot: every set field, JSON-safe (a spec has no key)."""
    return spec.model_dump(mode="json", exclude_none=True)


def parse_stored_spec(role: str, data: Mapping[str, Any]) -> SlotSpec:
    """A slot's settings as stored, validated by today's rules.

    A row saved before a rule existed (a base URL with a line break, a concurrency of 10^9)
    raises :class:`ConfigurationError` naming ``<role>.<field>``: a permanent configuration error
    for the job that uses it, a 409 from the test endpoint, the ``error`` line of the stored slot;
    never a validation traceback.
    """
    return parse_spec(data, names=lambda field: f"{role}.{field}")


def key_env_problem(api_key_env: str | None) -> str | None:
    """Why an organization's slot may not name ``api_key_env`` (None when it does not)."""
    return KEY_ENV_REFUSAL if api_key_env else None


def _prepared(role: str, spec: SlotSpec, policy: SsrfPolicy) -> SlotSpec:
    """The spec as an organization's slot is built from: the role and ``api_key_env`` refused,
    the base URL's form checked, plain http allowed for an allow-listed self-hosted server."""
    if role not in ROLES:
        raise ConfigurationError(f"unknown slot {role!r}: use main or fallback", setting=role)
    problem = key_env_problem(spec.api_key_env)
    if problem:
        raise ConfigurationError(f"{role}.{problem}", setting=f"{role}.api_key_env")
    if not spec.base_url:
        return spec
    # The URL's form first (a bad port, an unclosed IPv6 bracket), so the policy reads a real URL;
    # plain http is the policy's to judge.
    validate_base_url(spec.base_url, setting=f"{role}.base_url", allow_http=True)
    if policy.is_exempt(urlsplit(spec.base_url.strip()).hostname or ""):
        return spec.model_copy(update={"allow_http": True})
    return spec


def build_org_slot(
    role: str,
    spec: SlotSpec,
    key: Secret | None,
    *,
    policy: SsrfPolicy,
    catalog: Catalog | None = None,
    at_save: bool = True,
    stored: StoredSlot | None = None,
    key_stored: bool = False,
) -> BuiltSlot:
    """Validate one organization slot into a gateway slot. Raises :class:`ConfigurationError`
    whose ``setting`` is ``"<role>.<field>"`` (the server turns that into a 422 ``loc``).

    Without a ``key``: ``stored``, the decrypted stored slot of this role, lends its key under
    the rule of :func:`reusable_key`; ``key_stored`` says a key is stored but was not decrypted
    (showing a stored configuration): every other fact is resolved, and the slot has no key."""
    catalog = catalog or load_catalog()
    prepared = _prepared(role, spec, policy)
    warnings: list[str] = []
    if prepared.base_url:
        warnings += policy.check(prepared.base_url, setting=f"{role}.base_url", at_save=at_save)
    if not key and stored is not None:
        key = reusable_key(role, prepared, stored, policy=policy, catalog=catalog)
    notes: list[str] = []
    derived: dict[str, str] = {}
    if not key and key_stored:
        slot = plan_slot(prepared, name=role, catalog=catalog, notes=notes, derived=derived)
    else:
        slot = build_slot(prepared, key, name=role, catalog=catalog, env={}, notes=notes, derived=derived)
    if not prepared.base_url:  # a catalog endpoint; still checked, in case a catalog override moved it
        warnings += policy.check(slot.base_url, setting=f"{role}.base_url", at_save=at_save)
    return BuiltSlot(slot=slot, notes=notes, warnings=warnings, derived=derived)


def _origin(role: str, spec: SlotSpec, policy: SsrfPolicy, catalog: Catalog) -> tuple[str, str, int | None]:
    slot = plan_slot(_prepared(role, spec, policy), name=role, catalog=catalog)
    return endpoint_origin(slot.base_url)


def reusable_key(
    role: str,
    spec: SlotSpec,
    stored: StoredSlot | None,
    *,
    policy: SsrfPolicy,
    catalog: Catalog | None = None,
) -> Secret | None:
    """The stored key for a slot sent without one: only while the slot talks to the endpoint
    (scheme, host and port) the key was entered for, so a stored key is never sent to an endpoint
    its owner did not type it in for, nor to the same host over plain http or on another port.
    None when no key is stored. Raises :class:`ConfigurationError` (``<role>.api_key``) when
    the endpoint changed, and what resolving ``spec`` raises."""
    if stored is None or stored.api_key is None:
        return None
    catalog = catalog or load_catalog()
    now = _origin(role, spec, policy, catalog)
    try:
        same = _origin(role, parse_stored_spec(role, stored.spec), policy, catalog) == now
    except ConfigurationError:  # a stored spec today's rules refuse: its endpoint is unknown
        same = False
    if not same:
        raise ConfigurationError(
            f"{role}.api_key is required because the endpoint changed (now {format_origin(now)}): a "
            "stored key is only reused for the endpoint (scheme, host and port) it was entered for",
            setting=f"{role}.api_key",
        )
    return stored.api_key


def configure_org(
    entries: Mapping[str, SlotEntry | None],
    stored: Mapping[str, StoredSlot],
    *,
    policy: SsrfPolicy,
    catalog: Catalog | None = None,
    at_save: bool = True,
) -> dict[str, BuiltSlot]:
    """What an organization sent per role (``None`` or absent: no such slot; a key beside the
    spec when one was typed), validated into slots with the key each one uses: the typed key, or
    the stored key of its role (:func:`reusable_key`).
    ``stored`` holds the decrypted stored slots of the roles sent without a key. Raises
    :class:`ConfigurationError` naming ``<role>.<field>``; nothing should be written then."""
    if entries.get("main") is None:
        raise ConfigurationError("main is required: an organization needs a Main model", setting="main")
    catalog = catalog or load_catalog()
    built: dict[str, BuiltSlot] = {}
    for role in ROLES:
        entry = entries.get(role)
        if entry is None:
            continue
        built[role] = build_org_slot(
            role,
            entry.spec,
            entry.key,
            policy=policy,
            catalog=catalog,
            at_save=at_save,
            stored=None if entry.key else stored.get(role),
        )
    return built


def build_org_slots(
    stored: list[StoredSlot], *, policy: SsrfPolicy, catalog: Catalog | None = None
) -> list[Slot]:
    """The organization's slots in failover order (main, then fallback), checked for use now."""
    by_role = {s.role: s for s in stored}
    slots: list[Slot] = []
    for role in ROLES:
        item = by_role.get(role)
        if item is None:
            continue
        spec = parse_stored_spec(role, item.spec)
        slots.append(
            build_org_slot(role, spec, item.api_key, policy=policy, catalog=catalog, at_save=False).slot
        )
    return slots


def guarded_clients(policy: SsrfPolicy, network: Network | None = None) -> ClientPool:
    """SDK clients for an organization's slots: every connection re-checks the SSRF policy on the
    address it dials (:mod:`hunkwise.config.ssrf_connect`), so a DNS answer that changed since
    :func:`build_org_slots` checked the host cannot reach an internal address. Pass it as
    ``Router(..., clients=...)`` / ``probe_slots(..., clients=...)``; the router closes its clients
    only when it created them, so close this pool after use (``await pool.aclose()``).
    ``network``: the server's outbound proxies and CA bundle (the policy still checks the target)."""
    from hunkwise.config.ssrf_connect import connect_guard

    return ClientPool(transport_factory=connect_guard(policy, network))


def fixed_model(settings: Settings) -> str | None:
    """Fixed mode: the server's own environment names a model (``HUNKWISE_MODEL``), which then
    serves every organization. That name, or None in BYOK mode."""
    return settings.environ.get(FIXED_MODE_ENV, "").strip() or None


def fixed_config(settings: Settings) -> ResolvedConfig | None:
    """The single global configuration of a fixed-mode server (None when not in fixed mode).
    Resolve it once per process (the composition root does) and pass it on.

    Resolved from the environment and the server's user config; the working directory is the
    data directory so a stray ``.hunkwise.toml`` where the server happened to start is ignored.
    """
    if fixed_model(settings) is None:
        return None
    home = settings.home
    return resolve_config(settings=settings, cwd=home if home.is_dir() else Path("/"))


__all__ = [
    "FIXED_MODE_ENV",
    "KEY_ENV_REFUSAL",
    "ROLES",
    "BuiltSlot",
    "StoredSlot",
    "build_org_slot",
    "build_org_slots",
    "configure_org",
    "fixed_config",
    "fixed_model",
    "guarded_clients",
    "key_env_problem",
    "parse_stored_spec",
    "reusable_key",
    "stored_spec",
]
