"""Organizations, tokens and BYOK slots in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text

from hunkwise.config.resolve import resolve_config
from hunkwise.config.settings import Settings
from hunkwise.config.spec import SlotEntry, SlotSpec
from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.errors import ConfigurationError
from hunkwise.gateway.types import Secret
from hunkwise.jobs.resolver import SlotResolver
from hunkwise.store.byok_slots import delete_byok, load_byok, save_byok
from hunkwise.store.db import session_scope
from hunkwise.store.orgs import (
    OrgExists,
    cost_ceiling_for_org,
    create_org,
    get_org,
    set_org_max_cost,
    token_owner,
)
from hunkwise.store.secrets import MasterKey, SecretBox, SecretsError
from hunkwise.store.tables import ByokSlot, OrgToken

KEY = "zai-store-key-abcd"


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE byok_slots, org_tokens, organizations RESTART IDENTITY CASCADE"))
    yield engine


@pytest.fixture
def box() -> SecretBox:
    return SecretBox((MasterKey.generate(),))


def _spec(api_key: str | None = None, **kw: object) -> SlotEntry:
    spec = SlotSpec.model_validate({"card": "glm-5.1", "plan": "coding", "tier": "lite", **kw})
    return SlotEntry(spec, Secret(api_key) if api_key else None)


def _byok(db: Engine, box: SecretBox, policy: SsrfPolicy) -> SlotResolver:
    return SlotResolver(db, box=box, policy=policy, fixed=None)


def test_org_tokens_are_hashed_and_scoped(db: Engine) -> None:
    org, token = create_org(db, "Acme", "Acme Inc")
    assert org.slug == "acme" and org.name == "Acme Inc"
    with session_scope(db) as session:
        stored = session.scalars(select(OrgToken.token_hash)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    owner = token_owner(db, token)
    assert owner is not None and owner.org == org
    assert token_owner(db, token + "x") is None and token_owner(db, "nope") is None
    with pytest.raises(OrgExists):
        create_org(db, "ACME")
    with pytest.raises(ConfigurationError, match="not a valid name"):
        create_org(db, "a/b")
    assert get_org(db, "ACME") == org and get_org(db, "../x") is None


def test_byok_round_trip_keep_key_and_delete(db: Engine, box: SecretBox) -> None:
    policy = SsrfPolicy()
    result = save_byok(db, "acme", {"main": _spec(api_key=KEY)}, box=box, policy=policy)
    assert result.created_org and result.built["main"].slot.max_concurrent == 1
    (view,) = load_byok(db, "acme") or []
    assert (view.role, view.key_last4, view.spec) == (
        "main",
        "abcd",
        {"card": "glm-5.1", "plan": "coding", "tier": "lite"},
    )
    with session_scope(db) as session:
        row = session.scalars(select(ByokSlot)).one()
        assert row.key_ciphertext and KEY not in row.key_ciphertext and row.key_ciphertext.startswith("pw2.")
        assert KEY not in repr(row)
    save_byok(db, "acme", {"main": _spec(tier="max")}, box=box, policy=policy)  # no key: kept
    (slot,) = _byok(db, box, policy).slots_for("acme")
    assert slot.api_key.reveal() == KEY and slot.max_concurrent == 30
    assert _byok(db, box, policy).slots_for("ghost") == []
    assert delete_byok(db, "acme") and load_byok(db, "acme") == []
    assert not delete_byok(db, "ghost")


def test_failed_save_writes_nothing(db: Engine, box: SecretBox) -> None:
    bad = {"main": _spec(api_key=KEY), "fallback": _spec(card="glm-404", api_key=KEY)}
    with pytest.raises(ConfigurationError) as err:
        save_byok(db, "acme", bad, box=box, policy=SsrfPolicy())
    assert err.value.setting == "fallback.card"
    assert get_org(db, "acme") is None  # not even the organization


def test_ciphertext_is_bound_to_its_org(db: Engine, box: SecretBox) -> None:
    policy = SsrfPolicy()
    save_byok(db, "acme", {"main": _spec(api_key=KEY)}, box=box, policy=policy)
    save_byok(db, "globex", {"main": _spec(api_key="globex-key-0000")}, box=box, policy=policy)
    with session_scope(db, write=True) as session:
        rows = {r.org_id: r for r in session.scalars(select(ByokSlot))}
        acme, globex = sorted(rows)
        rows[globex].key_ciphertext = rows[acme].key_ciphertext  # a copied ciphertext
    with pytest.raises(SecretsError, match="integrity"):
        _byok(db, box, policy).slots_for("globex")


def test_fixed_mode_serves_every_org(db: Engine, box: SecretBox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"HUNKWISE_MODEL": "glm-5.1", "ZAI_API_KEY": "fixed-key-0000-1111"}
    fixed = resolve_config(settings=Settings.from_env(env), cwd=tmp_path)
    (slot,) = SlotResolver(db, box=box, policy=SsrfPolicy(), fixed=fixed).slots_for("anyone")
    assert slot.model == "glm-5.1" and slot.api_key.reveal() == "fixed-key-0000-1111"


def test_org_cost_ceiling_round_trip(db: Engine) -> None:
    create_org(db, "acme")
    default = cost_ceiling_for_org(db, "acme", 2.0)
    assert (default.usd, default.source) == (2.0, "server default")
    assert set_org_max_cost(db, "ACME", 12.345) is not None
    assert get_org(db, "acme").max_cost == 12.345  # type: ignore[union-attr]
    own = cost_ceiling_for_org(db, "acme", 2.0)
    assert (own.usd, own.source) == (12.345, "organization setting")
    assert own.subject == "this organization's ceiling"
    set_org_max_cost(db, "acme", "off")
    assert get_org(db, "acme").max_cost == "off"  # type: ignore[union-attr]
    assert cost_ceiling_for_org(db, "acme", 2.0).usd is None
    set_org_max_cost(db, "acme", None)
    assert cost_ceiling_for_org(db, "acme", "off").usd is None  # back to the server's default, here "off"
    assert set_org_max_cost(db, "nobody", 1.0) is None
