"""Passphrase master keys: scrypt for new rows, and rows sealed before (``pw1``, one SHA-256 of the
passphrase) still read and re-sealed, once, by the server's start-up, rotation and pruning.

The legacy rows are built here by hand, with ``cryptography``'s AES-GCM and ``hashlib``, exactly as
hunkwise wrote them before the change: the test must not trust the code under test to produce
the format it has to read. Likewise the expected scrypt key comes from ``hashlib.scrypt``, a
different implementation than the one the module calls.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, select, text

from hunkwise.config.settings import Settings
from hunkwise.config.spec import SlotEntry, SlotSpec
from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.gateway.types import Secret
from hunkwise.jobs.resolver import SlotResolver
from hunkwise.jobs.runtime import Runtime
from hunkwise.store.byok_slots import save_byok
from hunkwise.store.db import session_scope
from hunkwise.store.secrets import (
    SCRYPT_SALT,
    MasterKey,
    SecretBox,
    SecretsError,
    derive_passphrase_key,
    load_secret_box,
    prune_old_keys,
    rotate_master_key,
    upgrade_legacy_rows,
)
from hunkwise.store.tables import ByokSlot

PASSPHRASE = "correct horse battery staple and then some more"
OTHER_PASSPHRASE = "a different passphrase of at least thirty-two chars"
KEY = "zai-kdf-key-4321"


def _settings(passphrase: str | None = PASSPHRASE) -> Settings:
    env = {"HUNKWISE_HOME": os.environ["HUNKWISE_HOME"]}
    if passphrase is not None:
        env["HUNKWISE_SECRET_KEY"] = passphrase
    return Settings.from_env(env)


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def _scrypt_reference(passphrase: str) -> bytes:
    return hashlib.scrypt(passphrase.encode(), salt=SCRYPT_SALT, n=2**15, r=8, p=1, maxmem=64 << 20, dklen=32)


def _legacy_token(
    passphrase: str, plaintext: str, *, org_id: int, role: str, key: bytes | None = None
) -> str:
    """What hunkwise wrote before scrypt: ``pw1.<id of sha256(passphrase)>.<nonce||sealed>``
    (or, with ``key``, under that random key, as key-file installations did)."""
    key = key if key is not None else hashlib.sha256(passphrase.encode()).digest()
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), f"hunkwise-byok:{org_id}:{role}".encode())
    return f"pw1.{_key_id(key)}.{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"


def _fresh(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE byok_slots, org_tokens, organizations RESTART IDENTITY CASCADE"))


def _rows(engine: Engine) -> dict[str, str]:
    with session_scope(engine) as session:
        return {r.role: r.key_ciphertext for r in session.scalars(select(ByokSlot)) if r.key_ciphertext}


def _store_legacy(engine: Engine, passphrase: str = PASSPHRASE) -> dict[str, str]:
    """Two slots of org ``acme`` whose keys are stored as the previous version stored them."""
    spec = SlotEntry(SlotSpec(card="glm-5.1"), Secret(KEY))
    box = SecretBox((MasterKey.generate(),))
    save_byok(engine, "acme", {"main": spec, "fallback": spec}, box=box, policy=SsrfPolicy())
    with session_scope(engine, write=True) as session:
        for row in session.scalars(select(ByokSlot)):
            row.key_ciphertext = _legacy_token(passphrase, KEY, org_id=row.org_id, role=row.role)
    return _rows(engine)


def _revealed(engine: Engine, box: SecretBox) -> list[str]:
    slots = SlotResolver(engine, box=box, policy=SsrfPolicy(), fixed=None).slots_for("acme")
    return [s.api_key.reveal() for s in slots]


def test_a_passphrase_is_stretched_with_scrypt_once_per_process() -> None:
    before = derive_passphrase_key.cache_info()
    box = load_secret_box(_settings())
    expected = _scrypt_reference(PASSPHRASE)
    assert box.primary.key_id == _key_id(expected)
    assert box.primary.key_id != _key_id(hashlib.sha256(PASSPHRASE.encode()).digest())
    token = box.encrypt(KEY, org_id=7, role="main")
    assert token.startswith(f"pw2.{_key_id(expected)}.")
    raw = base64.urlsafe_b64decode(token.split(".")[2] + "==")
    assert AESGCM(expected).decrypt(raw[:12], raw[12:], b"hunkwise-byok:7:main").decode() == KEY
    # the legacy key is kept for reading only: it is never the one that encrypts
    assert [k.legacy for k in box.keys] == [False, True]
    load_secret_box(_settings())
    after = derive_passphrase_key.cache_info()
    assert after.misses - before.misses <= 1 and after.hits > before.hits


def test_legacy_rows_still_decrypt_and_the_server_start_up_reseals_them(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    _fresh(engine)
    legacy = _store_legacy(engine)
    assert all(t.startswith("pw1.") for t in legacy.values())
    box = load_secret_box(_settings())
    assert _revealed(engine, box) == [KEY, KEY]  # readable as they are, before any upgrade

    caplog.set_level(logging.INFO)
    runtime = Runtime.for_server(_settings(), engine=engine)
    upgraded = _rows(engine)
    assert set(upgraded) == {"main", "fallback"}
    assert all(t.startswith(f"pw2.{runtime.box.primary.key_id}.") for t in upgraded.values())
    assert set(upgraded.values()).isdisjoint(legacy.values())
    assert _revealed(engine, load_secret_box(_settings())) == [KEY, KEY]
    assert "re-sealed 2 stored key(s)" in caplog.text and KEY not in caplog.text

    # a second start (or a second server of a cluster) finds nothing left to do
    assert upgrade_legacy_rows(engine, runtime.box).rows == 0
    assert _rows(engine) == upgraded


def test_a_wrong_passphrase_names_the_setting_and_leaves_the_rows_alone(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    _fresh(engine)
    legacy = _store_legacy(engine)
    wrong = load_secret_box(_settings(OTHER_PASSPHRASE))
    with pytest.raises(SecretsError, match="HUNKWISE_SECRET_KEY") as info:
        wrong.decrypt(legacy["main"], org_id=1, role="main")
    assert info.value.setting == "HUNKWISE_SECRET_KEY"
    assert "passphrase must match exactly" in str(info.value)

    caplog.set_level(logging.WARNING)
    result = upgrade_legacy_rows(engine, wrong)
    assert (result.rows, result.unreadable) == (0, 2)
    assert _rows(engine) == legacy  # nothing re-sealed under the wrong key
    assert "HUNKWISE_SECRET_KEY" in caplog.text
    # the right passphrase still reads and upgrades them afterwards
    assert upgrade_legacy_rows(engine, load_secret_box(_settings())).rows == 2


def test_rotation_and_prune_move_legacy_rows_too(engine: Engine) -> None:
    _fresh(engine)
    _store_legacy(engine)
    new_key = MasterKey.generate()
    result = rotate_master_key(engine, _settings(), new_key=new_key.export())
    assert result.rows == 2 and result.new_key_id == new_key.key_id
    # the operator is told about the keys they set, not the passphrase's legacy stretch
    assert result.old_key_ids == (_key_id(_scrypt_reference(PASSPHRASE)),)
    assert all(t.startswith(f"pw2.{new_key.key_id}.") for t in _rows(engine).values())
    assert _revealed(engine, load_secret_box(_settings(new_key.export()))) == [KEY, KEY]

    # prune on a passphrase installation: legacy rows count as stale and move to the scrypt key
    _fresh(engine)
    _store_legacy(engine)
    pruned = prune_old_keys(engine, _settings())
    assert pruned.rows == 2 and pruned.dropped_key_ids == ()
    assert all(t.startswith(f"pw2.{pruned.key_id}.") for t in _rows(engine).values())
    assert prune_old_keys(engine, _settings()).rows == 0


def test_an_upgrade_never_overwrites_a_key_saved_meanwhile(engine: Engine) -> None:
    """Two servers starting together, or a PUT during the start-up upgrade: the row is re-sealed
    only if it still holds the ciphertext that was read."""
    from hunkwise.store.secrets import _reseal, _sealed_rows

    _fresh(engine)
    _store_legacy(engine)
    box = load_secret_box(_settings())
    with session_scope(engine) as session:
        read = {r.role: r for r in _sealed_rows(session, legacy_only=True)}
    saved = SlotEntry(SlotSpec(card="glm-5.1"), Secret("zai-saved-meanwhile-9999"))
    save_byok(engine, "acme", {"main": saved, "fallback": None}, box=box, policy=SsrfPolicy())
    newer = _rows(engine)["main"]
    with session_scope(engine, write=True) as session:
        stale = box.encrypt(KEY, org_id=read["main"].org_id, role="main")
        assert _reseal(session, read["main"], stale) is False
    assert _rows(engine) == {"main": newer}
    assert _revealed(engine, box) == ["zai-saved-meanwhile-9999"]


def test_a_key_file_installation_moves_its_pw1_rows_to_pw2_under_the_same_key(engine: Engine) -> None:
    """The default installation (a random key in the key file) has nothing to re-derive; its rows
    only change format, so every row left in the database is ``pw2`` after the first start."""
    _fresh(engine)
    box = load_secret_box(_settings(None), create=True)
    raw = base64.urlsafe_b64decode(box.primary.export())
    _store_legacy(engine)
    with session_scope(engine, write=True) as session:
        for row in session.scalars(select(ByokSlot)):
            row.key_ciphertext = _legacy_token("", KEY, org_id=row.org_id, role=row.role, key=raw)
        damaged = ByokSlot(org_id=1, role="fallback", spec={}, key_ciphertext=f"pw1.{box.primary.key_id}.%%%")
        session.delete(session.scalars(select(ByokSlot).where(ByokSlot.role == "fallback")).one())
        session.flush()
        session.add(damaged)
    result = upgrade_legacy_rows(engine, box)
    assert (result.rows, result.unreadable) == (1, 1)  # a damaged row does not stop the start-up
    rows = _rows(engine)
    assert rows["main"].startswith(f"pw2.{box.primary.key_id}.") and rows["fallback"].startswith("pw1.")
