"""Per-organization model configuration (BYOK) and fixed mode, from plain data to gateway slots.

Both the server (saving and testing a configuration) and the job runner (reviewing a pull
request) need "the slots this organization reviews with"; this module answers it from plain data
(stored specs and decrypted keys, the server's environment) so it sits below the store and the
server. :func:`hunkwise.store.byok.slots_for_org` reads the database and calls it.

Two rules beyond :func:`hunkwise.config.slots.build_slot`:

* an organization's slot is built with an *empty* environment and may not name ``api_key_env``:
  the server's environment is not the organization's to read;
* its base URL passes the SSRF policy (:mod:`hunkwise.config.ssrf`) at save time and again at
  every use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hunkwise.catalog.loader import Catalog, load_catalog
from hunkwise.config.resolve import ResolvedConfig, resolve_config
from hunkwise.config.slots import build_slot
from hunkwise.config.spec import SlotSpec, parse_spec
from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.config.urls import validate_base_url
from hunkwise.errors import ConfigurationError
from hunkwise.gateway.adapters.base import ClientPool
from hunkwise.gateway.types import Secret, Slot

ROLES: tuple[str, ...] = ("main", "fallback")
FIXED_MODE_ENV = "HUNKWISE_MODEL"


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
    """What goes into the database for a slot: every set field except the key, JSON-safe."""
    return spec.model_dump(mode="json", exclude={"api_key"}, exclude_none=True)


def parse_stored_spec(role: str, data: Mapping[str, Any]) -> SlotSpec:
    """A slot's settings as stored (or with its decrypted key added), validated by today's rules.

    A row saved before a rule existed (a key with a smart quote, a base URL with a line break, a
    concurrency of 10^9) raises :class:`ConfigurationError` naming ``<role>.<field>``: a
    permanent configuration error for the job that uses it, a 409 from the test endpoint, the
    ``error`` line of the stored slot; never a validation traceback.
    """
    return parse_spec(data, names=lambda field: f"{role}.{field}")


def build_org_slot(
    role: str,
    spec: SlotSpec,
    api_key: Secret | None,
    *,
    policy: SsrfPolicy,
    catalog: Catalog | None = None,
    at_save: bool = True,
) -> BuiltSlot:
    """Validate one organization slot into a gateway slot. Raises :class:`ConfigurationError`
    whose ``setting`` is ``"<role>.<field>"`` (the server turns that into a 422 ``loc``)."""
    if role not in ROLES:
        raise ConfigurationError(f"unknown slot {role!r}: use main or fallback", setting=role)
    if spec.api_key_env:
        raise ConfigurationError(
            f"{role}.api_key_env is not available for organizations (the server's environment is "
            "not yours to read): send the key itself as api_key",
            setting=f"{role}.api_key_env",
        )
    warnings: list[str] = []
    values = spec.model_dump(exclude={"api_key"}, exclude_none=True)
    if spec.base_url:
        # The URL's form first (a bad port, an unclosed IPv6 bracket), so the policy reads a real URL;
        # plain http is the policy's to judge.
        validate_base_url(spec.base_url, setting=f"{role}.base_url", allow_http=True)
        warnings += policy.check(spec.base_url, setting=f"{role}.base_url", at_save=at_save)
        from urllib.parse import urlsplit

        # An allow-listed self-hosted server may speak plain http on the admin's network.
        if policy.is_exempt(urlsplit(spec.base_url.strip()).hostname or ""):
            values["allow_http"] = True
    if api_key is not None:
        values["api_key"] = api_key.reveal()
    notes: list[str] = []
    derived: dict[str, str] = {}
    slot = build_slot(
        parse_stored_spec(role, values),
        name=role,
        catalog=catalog or load_catalog(),
        env={},
        notes=notes,
        derived=derived,
    )
    if not spec.base_url:  # a catalog endpoint; still checked, in case a catalog override moved it
        warnings += policy.check(slot.base_url, setting=f"{role}.base_url", at_save=at_save)
    return BuiltSlot(slot=slot, notes=notes, warnings=warnings, derived=derived)


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


def guarded_clients(policy: SsrfPolicy) -> ClientPool:
    """SDK clients for an organization's slots: every connection re-checks the SSRF policy on the
    address it dials (:mod:`hunkwise.config.ssrf_connect`), so a DNS answer that changed since
    :func:`build_org_slots` checked the host cannot reach an internal address. Pass it as
    ``Router(..., clients=...)`` / ``probe_slots(..., clients=...)``; the router closes its clients
    only when it created them, so close this pool after use (``await pool.aclose()``)."""
    from hunkwise.config.ssrf_connect import connect_guard

    return ClientPool(transport_factory=connect_guard(policy))


def is_fixed_mode(env: Mapping[str, str]) -> bool:
    """Fixed mode: the server's own environment names a model, which then serves everyone."""
    return bool(env.get(FIXED_MODE_ENV, "").strip())


def fixed_config(env: Mapping[str, str], *, home: Path | None = None) -> ResolvedConfig | None:
    """The single global configuration of a fixed-mode server (None when not in fixed mode).

    Resolved from the environment and the server's user config; the working directory is the
    data directory so a stray ``.hunkwise.toml`` where the server happened to start is ignored.
    """
    if not is_fixed_mode(env):
        return None
    cwd = home if home is not None and home.is_dir() else Path("/")
    return resolve_config(env=dict(env), cwd=cwd)


__all__ = [
    "FIXED_MODE_ENV",
    "ROLES",
    "BuiltSlot",
    "StoredSlot",
    "build_org_slot",
    "build_org_slots",
    "fixed_config",
    "guarded_clients",
    "is_fixed_mode",
    "parse_stored_spec",
    "stored_spec",
]
