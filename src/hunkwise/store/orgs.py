"""Organizations and their API tokens.

An organization is named by a *slug*: its GitHub/GitLab owner login, lower-cased (logins are
case-insensitive on both platforms, so ``Acme`` and ``acme`` are one tenant). API tokens are
random, shown once, and stored as SHA-256 hashes: a database dump does not let anyone call the
API. The tokens carry a recognisable prefix (``hw_org_``) so secret scanners can spot a leaked one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hunkwise.config.review_settings import CostCeiling, org_cost_ceiling
from hunkwise.config.schema import COST_OFF, MaxCost, parse_max_cost
from hunkwise.gateway.errors import ConfigurationError
from hunkwise.store.db import Db, use_session
from hunkwise.store.models import Organization, OrgToken

TOKEN_PREFIX = "hw_org_"
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9_])?$")


@dataclass(frozen=True)
class OrgInfo:
    id: int
    slug: str
    name: str
    created_at: datetime
    max_cost: MaxCost | None = None  # the review cost ceiling; None: the server's default


def normalize_slug(slug: str, *, setting: str = "org") -> str:
    """Lower-case and validate an organization slug; raises :class:`ConfigurationError`."""
    value = slug.strip().lower()
    if not _SLUG.match(value):
        raise ConfigurationError(
            f"organization {slug!r} is not a valid name: use 1-100 letters, digits, '-', '_' or '.' "
            "(your GitHub or GitLab owner name)",
            setting=setting,
        )
    return value


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: Organization) -> OrgInfo:
    # Stored values were validated when written; reading them back uses the same parser.
    max_cost = parse_max_cost(row.max_cost) if row.max_cost is not None else None
    return OrgInfo(id=row.id, slug=row.slug, name=row.name, created_at=row.created_at, max_cost=max_cost)


def get_org(db: Db, slug: str) -> OrgInfo | None:
    """The organization named ``slug`` (any case), or None when unknown or not a valid name."""
    try:
        value = normalize_slug(slug)
    except ConfigurationError:
        return None
    with use_session(db) as session:
        row = session.scalar(select(Organization).where(Organization.slug == value))
        return _info(row) if row else None


def list_orgs(db: Db) -> list[OrgInfo]:
    with use_session(db) as session:
        return [_info(r) for r in session.scalars(select(Organization).order_by(Organization.slug))]


def ensure_org(session: Session, slug: str, name: str | None = None) -> tuple[Organization, bool]:
    """The organization row, created (flushed, not committed) when missing; ``(row, created)``."""
    value = normalize_slug(slug)
    row = session.scalar(select(Organization).where(Organization.slug == value))
    if row is not None:
        return row, False
    row = Organization(slug=value, name=(name or value).strip()[:200] or value)
    session.add(row)
    session.flush()
    return row, True


class OrgExists(ConfigurationError):
    """``create_org`` for a slug that is taken."""


def issue_token(session: Session, org_id: int, label: str = "") -> str:
    """A new API token for the organization; the plaintext is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(OrgToken(org_id=org_id, token_hash=hash_token(token), label=label[:200]))
    session.flush()
    return token


def create_org(db: Db, slug: str, name: str | None = None) -> tuple[OrgInfo, str]:
    """Create an organization with its first API token: ``(org, token)``. Raises
    :class:`OrgExists` when the slug is taken."""
    value = normalize_slug(slug, setting="slug")
    try:
        with use_session(db, write=True) as session:
            row, created = ensure_org(session, value, name)
            if not created:
                raise OrgExists(f"organization {value!r} already exists", setting="slug")
            token = issue_token(session, row.id, label="created with the organization")
            return _info(row), token
    except IntegrityError:  # a concurrent create won the race
        raise OrgExists(f"organization {value!r} already exists", setting="slug") from None


def org_for_token(db: Db, token: str) -> OrgInfo | None:
    """The organization an API token belongs to (None for an unknown token)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with use_session(db) as session:
        row = session.scalar(
            select(Organization).join(OrgToken).where(OrgToken.token_hash == hash_token(token))
        )
        return _info(row) if row else None


def set_org_max_cost(db: Db, slug: str, value: MaxCost | None) -> OrgInfo | None:
    """Set the organization's review cost ceiling (``None``: back to the server's default).
    None when the organization does not exist."""
    stored = None if value is None else (COST_OFF if value == COST_OFF else format(float(value), ".10g"))
    with use_session(db, write=True) as session:
        row = session.scalar(select(Organization).where(Organization.slug == normalize_slug(slug)))
        if row is None:
            return None
        row.max_cost = stored
        session.flush()
        return _info(row)


def cost_ceiling_for_org(db: Db, slug: str, server_default: MaxCost) -> CostCeiling:
    """The ceiling the organization's review jobs run under: its own setting, else the server's
    default (``Settings.max_cost``: ``HUNKWISE_MAX_COST``, else $2.00)."""
    org = get_org(db, slug)
    return org_cost_ceiling(slug, org.max_cost if org else None, server_default)


def delete_org(db: Db, slug: str) -> bool:
    """Delete an organization with its tokens and BYOK slots (cascade). False when unknown."""
    with use_session(db, write=True) as session:
        row = session.scalar(select(Organization).where(Organization.slug == normalize_slug(slug)))
        if row is None:
            return False
        session.delete(row)
        return True


__all__ = [
    "TOKEN_PREFIX",
    "OrgExists",
    "OrgInfo",
    "cost_ceiling_for_org",
    "create_org",
    "delete_org",
    "ensure_org",
    "get_org",
    "hash_token",
    "issue_token",
    "list_orgs",
    "normalize_slug",
    "org_for_token",
    "set_org_max_cost",
]
