"""Organization BYOK slots in the database.

Writes are all-or-nothing: the organization (created if needed), both slots and their encrypted
keys change in one transaction, after every slot has been validated by the rules of
:mod:`hunkwise.config.byok`. Keys go in through :class:`hunkwise.store.secrets.SecretBox` and come
out only as :class:`Secret` objects (:func:`stored_slots`); what is shown to people is
``key_last4``. Which slots a review uses is decided above the store
(:class:`hunkwise.jobs.resolver.SlotResolver`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hunkwise.config.byok import ROLES, BuiltSlot, StoredSlot, configure_org, stored_spec
from hunkwise.config.spec import SlotEntry, key_from_text
from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.gateway import Secret
from hunkwise.store.db import Db, use_session
from hunkwise.store.orgs import OrgInfo, ensure_org, normalize_slug
from hunkwise.store.secrets import SecretBox
from hunkwise.store.tables import ByokSlot, Organization, utcnow


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
    """What a save did, so the route can answer with the slots as built (what a Test would use) and say
    whether it created the organization.
    """

    org: OrgInfo
    created_org: bool
    built: dict[str, BuiltSlot] = field(default_factory=dict)


def _org_row(session: Session, slug: str) -> Organization | None:
    return session.scalar(select(Organization).where(Organization.slug == normalize_slug(slug)))


def _stored(row: ByokSlot, box: SecretBox) -> StoredSlot:
    """A row with its key decrypted, the key checked by today's input rule (a row stored before
    the rule existed is a configuration error naming ``<role>.api_key``, never a crash)."""
    key: Secret | None = None
    if row.key_ciphertext:
        plain = box.decrypt(row.key_ciphertext, org_id=row.org_id, role=row.role)
        key = key_from_text(plain, f"{row.role}.api_key")
    return StoredSlot(role=row.role, spec=dict(row.spec), api_key=key)


def save_byok(
    db: Db,
    slug: str,
    slots: Mapping[str, SlotEntry | None],
    *,
    box: SecretBox,
    policy: SsrfPolicy,
) -> SaveResult:
    """Replace the organization's slots with ``slots`` (``None`` or absent = no such slot),
    creating the organization if needed. A slot sent without a key keeps the stored one under
    the rule of :func:`hunkwise.config.byok.reusable_key` (same endpoint only).
    Raises :class:`ConfigurationError` with ``setting="<role>.<field>"``; nothing is written then.
    """
    with use_session(db, write=True) as session:
        org, created = ensure_org(session, slug)
        existing = {r.role: r for r in session.scalars(select(ByokSlot).where(ByokSlot.org_id == org.id))}
        keyless = [role for role, entry in slots.items() if entry is not None and not entry.key]
        stored = {role: _stored(existing[role], box) for role in keyless if role in existing}
        built = configure_org(slots, stored, policy=policy)
        result = SaveResult(OrgInfo(org.id, org.slug, org.name, org.created_at), created, built)
        for role in ROLES:
            old = existing.get(role)
            entry = slots.get(role)
            if entry is None:
                if old is not None:
                    session.delete(old)
                continue
            row = old or ByokSlot(org_id=org.id, role=role)
            if entry.key:  # typed; otherwise the stored key (if any) stays, as configure_org allowed
                row.key_ciphertext = box.encrypt(entry.key.reveal(), org_id=org.id, role=role)
                row.key_last4 = entry.key.last4 or None
            row.spec, row.updated_at = stored_spec(entry.spec), utcnow()
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
        return [
            _stored(row, box) for row in session.scalars(select(ByokSlot).where(ByokSlot.org_id == org.id))
        ]


__all__ = [
    "SaveResult",
    "SlotView",
    "delete_byok",
    "load_byok",
    "save_byok",
    "stored_slots",
]
