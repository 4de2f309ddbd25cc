"""Master keys: generation (0600, logged once without the key), env keys, rotation round trips."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from hunkwise.config.settings import Settings
from hunkwise.config.spec import SlotEntry, SlotSpec
from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.gateway.types import Secret, Slot
from hunkwise.jobs.resolver import SlotResolver
from hunkwise.store.byok_slots import save_byok
from hunkwise.store.db import session_scope
from hunkwise.store.secrets import (
    MasterKey,
    SecretBox,
    SecretsError,
    key_file_path,
    load_secret_box,
    prune_old_keys,
    rotate_master_key,
)
from hunkwise.store.tables import ByokSlot

KEY = "zai-rotate-key-5678"


def _env() -> dict[str, str]:
    return {"HUNKWISE_HOME": os.environ["HUNKWISE_HOME"]}


def S(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


def _slots(engine: Engine, box: SecretBox) -> list[Slot]:
    return SlotResolver(engine, box=box, policy=SsrfPolicy(), fixed=None).slots_for("acme")


def test_generated_key_file_is_private_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    box = load_secret_box(S(_env()), create=True)
    path = key_file_path(S(_env()).home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_box(S(_env())).primary.key_id == box.primary.key_id
    messages = [r.getMessage() for r in caplog.records if "master key" in r.getMessage()]
    assert len(messages) == 1 and str(path) in messages[0]
    assert box.primary.export() not in caplog.text and box.primary.export() not in repr(box)


def test_env_keys_and_weak_keys() -> None:
    key = MasterKey.generate()
    box = load_secret_box(S({**_env(), "HUNKWISE_SECRET_KEY": key.export()}))
    assert box.primary.key_id == key.key_id and not key_file_path(S(_env()).home).exists()
    assert load_secret_box(S({"HUNKWISE_SECRET_KEY": "x" * 40})).primary.key_id  # a long passphrase
    with pytest.raises(SecretsError, match="too weak"):
        load_secret_box(S({"HUNKWISE_SECRET_KEY": "hunter2"}))
    token = box.encrypt("plain", org_id=1, role="main")
    other = SecretBox((MasterKey.generate(),), source="test")
    with pytest.raises(SecretsError, match=f"master key {key.key_id}"):
        other.decrypt(token, org_id=1, role="main")


def _ciphertexts(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return [c for c in session.scalars(select(ByokSlot.key_ciphertext)) if c]


def test_rotation_with_key_file(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE byok_slots, org_tokens, organizations RESTART IDENTITY CASCADE"))
    env = _env()
    old = load_secret_box(S(env), create=True)
    spec = SlotEntry(SlotSpec(card="glm-5.1", plan="coding", tier="lite"), Secret(KEY))  # type: ignore[arg-type]
    save_byok(engine, "acme", {"main": spec, "fallback": spec}, box=old, policy=SsrfPolicy())
    before = _ciphertexts(engine)
    result = rotate_master_key(engine, S(env))
    assert result.rows == 2 and result.key_file == key_file_path(S(env).home)
    new = load_secret_box(S(env))
    assert new.primary.key_id == result.new_key_id != old.primary.key_id
    # the old key stays in the file (second: decrypts only) until `secrets prune`
    assert [k.key_id for k in new.keys] == [result.new_key_id, old.primary.key_id]
    assert result.old_key_ids == (old.primary.key_id,)
    after = _ciphertexts(engine)
    assert set(after).isdisjoint(before) and all(f".{result.new_key_id}." in c for c in after)
    assert [s.api_key.reveal() for s in _slots(engine, new)] == [KEY, KEY]
    # a box with neither key still fails clearly
    with pytest.raises(SecretsError):
        _slots(engine, SecretBox((MasterKey.generate(),)))


def _fresh(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE byok_slots, org_tokens, organizations RESTART IDENTITY CASCADE"))


def test_running_server_box_survives_rotation(engine: Engine) -> None:
    """A box loaded before `secrets rotate` (a running server) keeps decrypting the re-encrypted
    rows (it reloads the key file on an unknown key id), seals new keys under the new key, and a
    key sealed under the old key mid-rotation still decrypts after a restart."""
    _fresh(engine)
    env = _env()
    stale = load_secret_box(S(env), create=True)  # what server/app.py holds for the life of the process
    spec = SlotEntry(SlotSpec(card="glm-5.1"), Secret(KEY))
    save_byok(engine, "acme", {"main": spec}, box=stale, policy=SsrfPolicy())
    old_only = SecretBox(stale.keys)  # a process that has not looked at the file yet
    result = rotate_master_key(engine, S(env))
    (slot,) = _slots(engine, stale)
    assert slot.api_key.reveal() == KEY
    assert stale.primary.key_id == result.new_key_id
    token = stale.encrypt("after-rotation", org_id=1, role="fallback")
    assert stale.key_id_of(token) == result.new_key_id
    late = old_only.encrypt("sealed-by-a-stale-server", org_id=1, role="main")
    restarted = load_secret_box(S(env))
    assert restarted.decrypt(late, org_id=1, role="main") == "sealed-by-a-stale-server"
    assert restarted.decrypt(token, org_id=1, role="fallback") == "after-rotation"


def test_prune_reencrypts_then_drops_old_keys(engine: Engine) -> None:
    _fresh(engine)
    env = _env()
    stale = load_secret_box(S(env), create=True)
    spec = SlotEntry(SlotSpec(card="glm-5.1"), Secret(KEY))
    save_byok(engine, "acme", {"main": spec}, box=stale, policy=SsrfPolicy())
    result = rotate_master_key(engine, S(env))
    # a row written under the old key after the rotation (a server that had not reloaded yet)
    save_byok(
        engine, "acme", {"main": spec, "fallback": spec}, box=SecretBox(stale.keys), policy=SsrfPolicy()
    )
    assert sum(f".{stale.primary.key_id}." in c for c in _ciphertexts(engine)) == 2
    pruned = prune_old_keys(engine, S(env))
    assert pruned.rows == 2 and pruned.dropped_key_ids == (stale.primary.key_id,)
    assert pruned.key_id == result.new_key_id and pruned.key_file == key_file_path(S(env).home)
    assert all(f".{result.new_key_id}." in c for c in _ciphertexts(engine))
    box = load_secret_box(S(env))
    assert [k.key_id for k in box.keys] == [result.new_key_id]
    assert [s.api_key.reveal() for s in _slots(engine, box)] == [KEY, KEY]
    assert prune_old_keys(engine, S(env)).rows == 0  # idempotent


def test_rotation_with_env_key_and_given_new_key(tmp_path: Path, engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE byok_slots, org_tokens, organizations RESTART IDENTITY CASCADE"))
    old_key, new_key = MasterKey.generate(), MasterKey.generate()
    env = {**_env(), "HUNKWISE_SECRET_KEY": old_key.export()}
    spec = SlotEntry(SlotSpec(card="glm-5.1"), Secret(KEY))
    save_byok(engine, "acme", {"main": spec}, box=load_secret_box(S(env)), policy=SsrfPolicy())
    result = rotate_master_key(engine, S(env), new_key=new_key.export())
    assert result.key_file is None and result.new_key_text is None and result.new_key_id == new_key.key_id
    new_env = {**_env(), "HUNKWISE_SECRET_KEY": new_key.export()}
    (slot,) = _slots(engine, load_secret_box(S(new_env)))
    assert slot.api_key.reveal() == KEY
