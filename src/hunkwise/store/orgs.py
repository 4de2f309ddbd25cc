"""Organizations and their API tokens.

An organization is named by a *slug*: its GitHub/GitLab owner login, lower-cased (logins are
case-insensitive on both platforms, so ``Acme`` and ``acme`` are one tenant). API tokens are
random, shown once, and stored as SHA-256 hashes: a database dump does not let anyone call the
API. The tokens carry a recognisable prefix (``hw_org_``) so secret scanners can spot a leaked one.
An organization may hold several tokens; each is listed with its first few characters, its label,
when it was created and last used, and can be revoked on its own (revoked rows stay, marked).

Named like :mod:`hunkwise.server.routes.orgs` on purpose: store modules are named after the rows
they keep, route modules after the resource they serve.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hunkwise.config.review_settings import CostCeiling, MonthlyBudget, org_cost_ceiling, org_monthly_budget
from hunkwise.config.scheduling import Spill, parse_spill
from hunkwise.config.schema import COST_OFF, MaxCost, parse_max_cost, parse_monthly_budget
from hunkwise.errors import ConfigurationError, PermanentError
from hunkwise.store.db import Db, use_session
from hunkwise.store.sessions import end_token_sessions
from hunkwise.store.tables import Organization, OrgToken, utcnow

TOKEN_PREFIX = "hw_org_"
PREFIX_CHARS = 4
"""Random characters kept after ``hw_org_`` to tell tokens apart in a list (43 are generated)."""
TOUCH_EVERY = timedelta(minutes=1)
"""How stale ``last_used_at`` may get before the next use records it again."""
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9_])?$")


@dataclass(frozen=True)
class OrgInfo:
    """An organization as the layers above see it: plain data, no session attached, safe to pass across
    threads.
    """

    id: int
    slug: str
    name: str
    created_at: datetime
    max_cost: MaxCost | None = None  # the review cost ceiling; None: the server's default
    monthly_budget: MaxCost | None = None  # USD per calendar month (UTC); None: the server's default
    spill: Spill | None = None  # the spill policy (hunkwise.config.scheduling); None: the server's default


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never the token or its hash."""

    id: int
    label: str
    prefix: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class TokenOwner:
    """Who a Bearer token belongs to; the token's own id comes along so a request can revoke or label the
    token it came with.
    """

    org: OrgInfo
    token_id: int


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
    """Tokens are stored only as SHA-256 hashes, so a database dump does not let anyone call the API; a token
    is random and long, so no salt or slow hash is needed.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: Organization) -> OrgInfo:
    # Stored values were validated when written; reading them back uses the same parser.
    max_cost = parse_max_cost(row.max_cost) if row.max_cost is not None else None
    budget = parse_monthly_budget(row.monthly_budget) if row.monthly_budget is not None else None
    spill = parse_spill(row.spill) if row.spill is not None else None
    return OrgInfo(
        id=row.id,
        slug=row.slug,
        name=row.name,
        created_at=row.created_at,
        max_cost=max_cost,
        monthly_budget=budget,
        spill=spill,
    )


def _token_info(row: OrgToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        label=row.label,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


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
    """Every organization by slug, for the admin's console and API."""
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


def issue_token(session: Session, org_id: int, label: str = "") -> tuple[TokenInfo, str]:
    """A new API token for the organization: ``(its record, the token)``. The token is returned
    this once; only its hash and its first few characters (``prefix``) are stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = OrgToken(
        org_id=org_id,
        token_hash=hash_token(token),
        label=label.strip()[:200],
        prefix=token[: len(TOKEN_PREFIX) + PREFIX_CHARS],
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return _token_info(row), token


def create_org(db: Db, slug: str, name: str | None = None) -> tuple[OrgInfo, str]:
    """Create an organization with its first API token: ``(org, token)``. Raises
    :class:`OrgExists` when the slug is taken."""
    value = normalize_slug(slug, setting="slug")
    try:
        with use_session(db, write=True) as session:
            row, created = ensure_org(session, value, name)
            if not created:
                raise OrgExists(f"organization {value!r} already exists", setting="slug")
            _, token = issue_token(session, row.id, label="created with the organization")
            return _info(row), token
    except IntegrityError:  # a concurrent create won the race
        raise OrgExists(f"organization {value!r} already exists", setting="slug") from None


def token_owner(db: Db, token: str, *, now: datetime | None = None) -> TokenOwner | None:
    """Who an API token belongs to, or None for an unknown or revoked token.

    Records when the token was last presented, at most once per :data:`TOUCH_EVERY` per token,
    so a busy API client costs one small write a minute, not one per request.
    """
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = now or utcnow()
    with use_session(db) as session:
        found = session.execute(
            select(OrgToken.id, OrgToken.last_used_at, Organization)
            .join(Organization, OrgToken.org_id == Organization.id)
            .where((OrgToken.token_hash == hash_token(token)) & OrgToken.revoked_at.is_(None))
        ).first()
        if found is None:
            return None
        token_id, last_used, org = found
        owner = TokenOwner(org=_info(org), token_id=token_id)
    if last_used is None or now - last_used >= TOUCH_EVERY:
        with use_session(db, write=True) as session:
            stale = OrgToken.last_used_at.is_(None) | (OrgToken.last_used_at <= now - TOUCH_EVERY)
            session.execute(
                update(OrgToken).where((OrgToken.id == token_id) & stale).values(last_used_at=now)
            )
    return owner


def list_tokens(db: Db, slug: str) -> list[TokenInfo] | None:
    """The organization's tokens, newest first, revoked ones included (None: no such org)."""
    with use_session(db) as session:
        org = session.scalar(select(Organization).where(Organization.slug == normalize_slug(slug)))
        if org is None:
            return None
        rows = session.scalars(select(OrgToken).where(OrgToken.org_id == org.id).order_by(OrgToken.id.desc()))
        return [_token_info(r) for r in rows]


def create_token(db: Db, slug: str, label: str = "") -> tuple[TokenInfo, str] | None:
    """Another API token for the organization (None: no such org); existing tokens keep working."""
    with use_session(db, write=True) as session:
        org = session.scalar(select(Organization).where(Organization.slug == normalize_slug(slug)))
        if org is None:
            return None
        return issue_token(session, org.id, label)


class LastActiveToken(PermanentError):
    """Revoking this token would leave its organization without any working token."""


def revoke_token(
    db: Db, slug: str, token_id: int, *, allow_last: bool = False, now: datetime | None = None
) -> tuple[TokenInfo, bool] | None:
    """Revoke one of the organization's tokens and end the console sessions opened with it.

    Returns ``(the token, whether this call revoked it)`` (False: it already was revoked), or
    None when the organization has no token with this id. Raises :class:`LastActiveToken` when it is the
    organization's last working token and ``allow_last`` is false: without a token nobody but
    the admin can reach the organization any more.
    """
    now = now or utcnow()
    with use_session(db, write=True) as session:
        # Lock the organization (PostgreSQL; SQLite's write transaction is already exclusive) so
        # two concurrent revocations cannot both see "one other token left".
        org = session.scalar(
            select(Organization).where(Organization.slug == normalize_slug(slug)).with_for_update()
        )
        if org is None:
            return None
        row = session.scalar(select(OrgToken).where((OrgToken.id == token_id) & (OrgToken.org_id == org.id)))
        if row is None:
            return None
        if row.revoked_at is not None:
            return _token_info(row), False
        others = session.scalar(
            select(func.count())
            .select_from(OrgToken)
            .where((OrgToken.org_id == org.id) & (OrgToken.id != row.id) & OrgToken.revoked_at.is_(None))
        )
        if not others and not allow_last:
            raise LastActiveToken(
                f"token {row.id} is the last working token of {org.slug!r}: revoking it locks the "
                "organization out of the API and the console until the admin issues a new one. "
                "Create a new token first, or confirm that you want no working token left"
            )
        row.revoked_at = now
        end_token_sessions(session, row.id, now=now)
        session.flush()
        return _token_info(row), True


def _stored_amount(value: MaxCost | None) -> str | None:
    return None if value is None else (COST_OFF if value == COST_OFF else format(float(value), ".10g"))


def _set_amount(db: Db, slug: str, column: str, value: MaxCost | None) -> OrgInfo | None:
    with use_session(db, write=True) as session:
        row = session.scalar(select(Organization).where(Organization.slug == normalize_slug(slug)))
        if row is None:
            return None
        setattr(row, column, _stored_amount(value))
        session.flush()
        return _info(row)


def set_org_max_cost(db: Db, slug: str, value: MaxCost | None) -> OrgInfo | None:
    """Set the organization's review cost ceiling (``None``: back to the server's default).
    None when the organization does not exist."""
    return _set_amount(db, slug, "max_cost", value)


def set_org_monthly_budget(db: Db, slug: str, value: MaxCost | None) -> OrgInfo | None:
    """Set the organization's monthly budget (``None``: back to the server's default).
    None when the organization does not exist."""
    return _set_amount(db, slug, "monthly_budget", value)


def monthly_budget_for_org(db: Db, slug: str, server_default: tuple[MaxCost, str]) -> MonthlyBudget:
    """The budget the organization's review jobs run under: its own setting, else the server's
    default (:func:`hunkwise.config.review_settings.server_monthly_budget`)."""
    org = get_org(db, slug)
    return org_monthly_budget(org.monthly_budget if org else None, server_default)


def cost_ceiling_for_org(db: Db, slug: str, server_default: MaxCost) -> CostCeiling:
    """The ceiling the organization's review jobs run under: its own setting, else the server's
    default (``Settings.max_cost``: ``HUNKWISE_MAX_COST``, else $2.00)."""
    org = get_org(db, slug)
    return org_cost_ceiling(slug, org.max_cost if org else None, server_default)


def set_org_spill(db: Db, slug: str, value: Spill | None) -> OrgInfo | None:
    """Set the organization's spill policy (``None``: back to the server's default). None when
    the organization does not exist."""
    with use_session(db, write=True) as session:
        row = session.scalar(select(Organization).where(Organization.slug == normalize_slug(slug)))
        if row is None:
            return None
        row.spill = None if value is None else parse_spill(value)
        session.flush()
        return _info(row)


def spill_for_org(db: Db, slug: str, server_default: Spill) -> Spill:
    """The spill policy the organization's review jobs run under: its own, else the server's
    (``HUNKWISE_SPILL``, else ``when-exhausted``). Organizations without a row (fixed mode)
    get the server's."""
    org = get_org(db, slug)
    return org.spill if org is not None and org.spill is not None else server_default


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
    "LastActiveToken",
    "OrgExists",
    "OrgInfo",
    "TokenInfo",
    "TokenOwner",
    "cost_ceiling_for_org",
    "create_org",
    "create_token",
    "delete_org",
    "ensure_org",
    "get_org",
    "hash_token",
    "issue_token",
    "list_orgs",
    "list_tokens",
    "monthly_budget_for_org",
    "normalize_slug",
    "revoke_token",
    "set_org_max_cost",
    "set_org_monthly_budget",
    "set_org_spill",
    "spill_for_org",
    "token_owner",
]
