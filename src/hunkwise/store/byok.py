"""Organization BYOK slots in the database, and :func:`slots_for_org`, what a review job calls.

Writes are all-or-nothing: the organization (created if needed), both slots and their encrypted
keys change in one transaction, after every slot has been validated. Keys go in through
:class:`hunkwise.store.secrets.SecretBox` and come out only as :class:`Secret` objects inside
gateway slots; what is shown to people is ``key_last4``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hunkwise.config.byok import (
    ROLES,
    BuiltSlot,
    StoredSlot,
    build_org_slot,
    build_org_slots,
    fixed_config,
    stored_spec,
)
from hunkwise.config.paths import hunkwise_home
from hunkwise.config.spec import SlotSpec
from hunkwise.config.ssrf import SsrfPolicy, endpoint_origin, format_origin
from hunkwise.errors import ConfigurationError
from hunkwise.gateway.types import Secret, Slot
from hunkwise.store.db import Db, use_session
from hunkwise.store.models import ByokSlot, Organization, utcnow
from hunkwise.store.orgs import OrgInfo, ensure_org, normalize_slug
from hunkwise.store.secrets import SecretBox, load_secret_box


@dataclass
class SlotView:
    """A stored slot as people may see it: the spec (no key) and the key's last four characters."""

    role: str
    spec: dict[str, Any]
    key_last4: str | None
    has_key: bool
    updated_at: datetime


@dataclass
class SaveResult:
    org: OrgInfo
    created_org: bool
    built: dict[str, BuiltSlot] = field(default_factory=dict)


def _org_row(session: Session, slug: str) -> Organization | None:
    return session.scalar(select(Organization).where(Organization.slug == normalize_slug(slug)))


def _endpoint_origin(spec: Mapping[str, Any]) -> tuple[str, str, int | None] | None:
    """Scheme, host and port a stored spec talks to (its base URL, or the catalog endpoint its
    card implies)."""
    from hunkwise.config.slots import build_slot

    try:
        values = {**spec, "api_key": "placeholder-for-resolution"}
        slot = build_slot(SlotSpec.model_validate(values), env={})
    except (ConfigurationError, ValueError):
        return None
    return endpoint_origin(slot.base_url)


def save_byok(
    db: Db,
    slug: str,
    slots: Mapping[str, SlotSpec | None],
    *,
    box: SecretBox,
    policy: SsrfPolicy,
) -> SaveResult:
    """Replace the organization's slots with ``slots`` (``None`` or absent = no such slot),
    creating the organization if needed.

    A slot sent without ``api_key`` keeps the stored key, but only while it still talks to the
    same endpoint (scheme, host and port): a stored key is never sent to an endpoint its owner did
    not type it in for, nor to the same host over plain http or on another port.
    Raises :class:`ConfigurationError` with ``setting="<role>.<field>"``; nothing is written then.
    """
    if slots.get("main") is None:
        raise ConfigurationError("main is required: an organization needs a Main model", setting="main")
    with use_session(db, write=True) as session:
        org, created = ensure_org(session, slug)
        existing = {r.role: r for r in session.scalars(select(ByokSlot).where(ByokSlot.org_id == org.id))}
        result = SaveResult(org=OrgInfo(org.id, org.slug, org.name, org.created_at), created_org=created)
        writes: dict[str, tuple[dict[str, Any], str | None, str | None]] = {}
        for role in ROLES:
            spec = slots.get(role)
            if spec is None:
                continue
            typed = spec.api_key.get_secret_value().strip() if spec.api_key is not None else ""
            old = existing.get(role)
            key: Secret | None = Secret(typed) if typed else None
            ciphertext: str | None = None
            last4: str | None = None
            if key is not None:
                ciphertext = box.encrypt(typed, org_id=org.id, role=role)
                last4 = key.last4 or None
            elif old is not None and old.key_ciphertext:
                key = Secret(box.decrypt(old.key_ciphertext, org_id=org.id, role=role))
                ciphertext, last4 = old.key_ciphertext, old.key_last4
            built = build_org_slot(role, spec.model_copy(update={"api_key": None}), key, policy=policy)
            if not typed and old is not None and old.key_ciphertext:
                new_origin = endpoint_origin(built.slot.base_url)
                if _endpoint_origin(old.spec) != new_origin:
                    raise ConfigurationError(
                        f"{role}.api_key is required because the endpoint changed (now "
                        f"{format_origin(new_origin)}): a stored key is only reused for the endpoint "
                        "(scheme, host and port) it was entered for",
                        setting=f"{role}.api_key",
                    )
            result.built[role] = built
            writes[role] = (stored_spec(spec), ciphertext, last4)
        for role in ROLES:
            old = existing.get(role)
            if role not in writes:
                if old is not None:
                    session.delete(old)
                continue
            spec_json, ciphertext, last4 = writes[role]
            row = old or ByokSlot(org_id=org.id, role=role)
            row.spec, row.key_ciphertext, row.key_last4, row.updated_at = (
                spec_json,
                ciphertext,
                last4,
                utcnow(),
            )
            session.add(row)
        session.flush()
        return result


def load_byok(db: Db, slug: str) -> list[SlotView] | None:
    """The organization's slots for display (None when the organization does not exist)."""
    with use_session(db) as session:
        org = _org_row(session, slug)
        if org is None:
            return None
        rows = session.scalars(select(ByokSlot).where(ByokSlot.org_id == org.id))
        views = [
            SlotView(r.role, dict(r.spec), r.key_last4, r.key_ciphertext is not None, r.updated_at)
            for r in rows
        ]
        return sorted(views, key=lambda v: ROLES.index(v.role))


def delete_byok(db: Db, slug: str) -> bool:
    """Remove the organization's slots (the organization and its tokens stay). False if unknown."""
    with use_session(db, write=True) as session:
        org = _org_row(session, slug)
        if org is None:
            return False
        session.execute(delete(ByokSlot).where(ByokSlot.org_id == org.id))
        return True


def stored_slots(db: Db, slug: str, *, box: SecretBox) -> list[StoredSlot] | None:
    """The organization's slots with decrypted keys (None when the organization is unknown)."""
    with use_session(db) as session:
        org = _org_row(session, slug)
        if org is None:
            return None
        out: list[StoredSlot] = []
        for row in session.scalars(select(ByokSlot).where(ByokSlot.org_id == org.id)):
            key = (
                Secret(box.decrypt(row.key_ciphertext, org_id=org.id, role=row.role))
                if row.key_ciphertext
                else None
            )
            out.append(StoredSlot(role=row.role, spec=dict(row.spec), api_key=key))
        return out


def slots_for_org(
    db: Db,
    slug: str,
    *,
    env: Mapping[str, str] | None = None,
    box: SecretBox | None = None,
    policy: SsrfPolicy | None = None,
) -> list[Slot]:
    """The slots a review for organization ``slug`` runs with, in failover order.

    Fixed mode (``HUNKWISE_MODEL`` in ``env``): the server's global slots, for every
    organization. Otherwise the organization's BYOK slots, rebuilt and SSRF-checked *now*.
    Returns ``[]`` when the organization is unknown or has no model configured (the caller
    acknowledges and ignores the event). Raises :class:`ConfigurationError` when a stored
    configuration is no longer usable (its host now resolves to a private address, a key
    cannot be decrypted). Does blocking I/O (database, DNS): call it from a thread in async code.
    """
    env = os.environ if env is None else env
    fixed = fixed_config(env, home=hunkwise_home(env))
    if fixed is not None:
        return list(fixed.slots)
    stored = stored_slots(db, slug, box=box or load_secret_box(env))
    if not stored:
        return []
    return build_org_slots(stored, policy=policy or SsrfPolicy.from_env(env))


__all__ = [
    "SaveResult",
    "SlotView",
    "delete_byok",
    "load_byok",
    "save_byok",
    "slots_for_org",
    "stored_slots",
]
