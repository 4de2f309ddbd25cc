"""Console sessions, sign-in failure counters and token management in the store, on SQLite and
PostgreSQL. Times are passed in (``now=``), so expiry is tested without waiting."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text

from hunkwise.store.db import session_scope
from hunkwise.store.orgs import (
    LastActiveToken,
    create_org,
    create_token,
    delete_org,
    list_tokens,
    revoke_token,
    token_owner,
)
from hunkwise.store.sessions import (
    IDLE,
    MAX_AGE,
    admin_fingerprint,
    end_session,
    load_session,
    open_session,
    select_org,
    session_hash,
)
from hunkwise.store.signin import SigninLimits, lockout, record_failure
from hunkwise.store.tables import ConsoleSession, OrgToken

T0 = datetime(2026, 12, 5, 9, 0, 0, tzinfo=UTC)
ADMIN_FP = admin_fingerprint("admin-token-for-store-tests-0123456789")


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(
                text(
                    "TRUNCATE console_sessions, signin_failures, byok_slots, org_tokens, organizations "
                    "RESTART IDENTITY CASCADE"
                )
            )
    yield engine


def _org_session(db: Engine, now: datetime = T0) -> tuple[str, int, str]:
    org, token = create_org(db, "acme")
    owner = token_owner(db, token, now=now)
    assert owner is not None
    session_id = open_session(db, org_token_id=owner.token_id, org_id=org.id, now=now)
    return session_id, owner.token_id, token


def test_the_store_keeps_only_a_hash_of_the_session_id(db: Engine) -> None:
    session_id, token_id, token = _org_session(db)
    assert len(base64.urlsafe_b64decode(session_id + "=")) == 32  # 256 random bits
    with session_scope(db) as s:
        rows = s.scalars(select(ConsoleSession)).all()
        dump = " ".join(str(getattr(r, c.key)) for r in rows for c in ConsoleSession.__table__.columns)
    assert [r.id_hash for r in rows] == [session_hash(session_id)]
    assert session_id not in dump and token not in dump
    found = load_session(db, session_id, admin_fp=None, now=T0 + timedelta(minutes=5))
    assert found is not None and (found.admin, found.org, found.org_token_id) == (False, "acme", token_id)
    assert load_session(db, session_hash(session_id), admin_fp=None, now=T0) is None  # the hash is no key


def test_sessions_expire_absolutely_and_when_idle(db: Engine) -> None:
    session_id, _, _ = _org_session(db)
    # Kept alive by a request every hour...
    for hours in range(1, 12):
        assert load_session(db, session_id, admin_fp=None, now=T0 + timedelta(hours=hours)) is not None
    # ...but never past 12 hours from sign-in.
    assert load_session(db, session_id, admin_fp=None, now=T0 + MAX_AGE + timedelta(seconds=1)) is None
    idle_id = open_session(db, admin_fp=ADMIN_FP, now=T0)
    seen = T0 + IDLE - timedelta(minutes=1)
    assert load_session(db, idle_id, admin_fp=ADMIN_FP, now=seen) is not None
    seen_again = seen + IDLE - timedelta(minutes=1)  # counted from the last request, not sign-in
    assert load_session(db, idle_id, admin_fp=ADMIN_FP, now=seen_again) is not None
    assert load_session(db, idle_id, admin_fp=ADMIN_FP, now=seen_again + IDLE + timedelta(minutes=1)) is None


def test_sign_out_ends_the_session_for_every_process(
    db: Engine, engine_factory: Callable[[], Engine]
) -> None:
    session_id, _, _ = _org_session(db)
    other_process = engine_factory()
    assert load_session(other_process, session_id, admin_fp=None, now=T0) is not None
    assert end_session(db, session_id, now=T0) is True
    assert load_session(other_process, session_id, admin_fp=None, now=T0) is None
    assert end_session(db, session_id, now=T0) is False


def test_admin_sessions_end_when_the_admin_token_changes(db: Engine) -> None:
    org, _ = create_org(db, "acme")
    session_id = open_session(db, admin_fp=ADMIN_FP, now=T0)
    found = load_session(db, session_id, admin_fp=ADMIN_FP, now=T0)
    assert found is not None and found.admin and found.org is None
    select_org(db, found.id, org.id)
    assert load_session(db, session_id, admin_fp=ADMIN_FP, now=T0).org == "acme"  # type: ignore[union-attr]
    assert load_session(db, session_id, admin_fp=admin_fingerprint("a-new-admin-token"), now=T0) is None
    assert load_session(db, session_id, admin_fp=None, now=T0) is None  # admin token unset
    # Deleting the managed organization leaves the admin signed in, with no organization chosen.
    assert delete_org(db, "acme")
    assert load_session(db, session_id, admin_fp=ADMIN_FP, now=T0).org is None  # type: ignore[union-attr]


def test_tokens_list_create_revoke_with_last_use(db: Engine) -> None:
    session_id, first_id, first = _org_session(db)
    made = create_token(db, "ACME", "CI")
    assert made is not None
    info, second = made
    assert second.startswith("hw_org_") and info.prefix == second[:11] and info.label == "CI"
    listed = list_tokens(db, "acme")
    assert listed is not None and [t.id for t in listed] == [info.id, first_id]
    assert listed[1].last_used_at == T0 and listed[0].last_used_at is None
    with session_scope(db) as s:
        hashes = s.scalars(select(OrgToken.token_hash)).all()
    assert first not in hashes and second not in hashes
    assert list_tokens(db, "nobody") is None and create_token(db, "nobody") is None

    done = revoke_token(db, "acme", first_id, now=T0 + timedelta(minutes=1))
    assert done is not None
    revoked, changed = done
    assert changed and revoked.revoked_at == T0 + timedelta(minutes=1)
    assert token_owner(db, first) is None  # at once
    assert load_session(db, session_id, admin_fp=None, now=T0 + timedelta(minutes=1)) is None
    assert token_owner(db, second) is not None
    assert revoke_token(db, "acme", first_id) == (revoked, False)  # again: unchanged
    assert revoke_token(db, "acme", 999) is None


def test_last_working_token_needs_confirmation(db: Engine) -> None:
    _, token_id, token = _org_session(db)
    create_org(db, "globex")
    with pytest.raises(LastActiveToken, match="last working token of 'acme'"):
        revoke_token(db, "acme", token_id)
    assert token_owner(db, token) is not None
    assert revoke_token(db, "globex", token_id) is None  # another organization's token id
    assert revoke_token(db, "acme", token_id, allow_last=True) is not None
    assert token_owner(db, token) is None


def test_last_used_is_written_at_most_once_a_minute(db: Engine) -> None:
    _, token_id, token = _org_session(db)

    def last_used() -> datetime | None:
        (info,) = [t for t in list_tokens(db, "acme") or [] if t.id == token_id]
        return info.last_used_at

    token_owner(db, token, now=T0 + timedelta(seconds=59))
    assert last_used() == T0
    token_owner(db, token, now=T0 + timedelta(seconds=61))
    assert last_used() == T0 + timedelta(seconds=61)


LIMITS = SigninLimits(per_client=3, overall=5, window=timedelta(minutes=5))


def test_failures_lock_a_client_until_its_window_ends(db: Engine) -> None:
    now = T0 + timedelta(minutes=1)  # windows are aligned: this one is 09:00-09:05
    assert [record_failure(db, "10.0.0.1", LIMITS, now=now) for _ in range(2)] == [[], []]
    assert lockout(db, "10.0.0.1", LIMITS, now=now) is None
    (started,) = record_failure(db, "10.0.0.1", LIMITS, now=now)
    assert started.scope == "client" and started.until == T0 + timedelta(minutes=5)
    found = lockout(db, "10.0.0.1", LIMITS, now=now)
    assert found is not None and found.retry_after(now) == 240
    assert lockout(db, "10.0.0.2", LIMITS, now=now) is None  # another client is not affected
    assert lockout(db, "10.0.0.1", LIMITS, now=T0 + timedelta(minutes=5)) is None  # next window


def test_the_global_limit_is_shared_by_every_process(
    db: Engine, engine_factory: Callable[[], Engine]
) -> None:
    second = engine_factory()
    started = []
    for i in range(5):
        started += record_failure(db if i % 2 else second, f"10.0.1.{i}", LIMITS, now=T0)
    assert [s.scope for s in started] == ["global"]  # reached once, by exactly one of the calls
    found = lockout(second, "192.0.2.7", LIMITS, now=T0)
    assert found is not None and found.scope == "global"
