"""Organization API keys at rest: AES-256-GCM under a master key, with the key's id in every token.

Where the master key comes from, in order: ``HUNKWISE_SECRET_KEY`` (base64 of 32 bytes, or any
passphrase of 32+ characters, stretched with SHA-256), else the file ``HUNKWISE_HOME/secret.key``
(mode 0600), generated on first use and announced once in the log (its path, never its content).
Several keys may be listed, comma- or newline-separated: the first encrypts, all decrypt. That is
what makes rotation crash-safe and safe for running servers (see :func:`rotate_master_key` and
:func:`prune_old_keys`).

Ciphertext format: ``pw1.<key id>.<base64url(nonce || ciphertext+tag)>``. The key id is the first
8 bytes of SHA-256 over the key, hex: enough to tell which key to use and to say clearly which key
is missing, and useless to an attacker. The organization and slot role are bound in as associated
data, so a ciphertext copied into another organization's row does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, select

from hunkwise.config.paths import hunkwise_home
from hunkwise.errors import ConfigurationError
from hunkwise.store.db import session_scope
from hunkwise.store.models import ByokSlot

log = logging.getLogger(__name__)

SECRET_KEY_ENV = "HUNKWISE_SECRET_KEY"
KEY_FILENAME = "secret.key"
FORMAT_PREFIX = "pw1"
MIN_PASSPHRASE = 32


class SecretsError(ConfigurationError):
    """A master key is missing, malformed, or cannot decrypt a stored key."""


class MasterKey:
    """32 key bytes that never show up in ``repr``/``str``; ``key_id`` names them safely."""

    __slots__ = ("_key", "key_id")

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise SecretsError("a master key must be 32 bytes", setting=SECRET_KEY_ENV)
        self._key = key
        self.key_id = hashlib.sha256(key).hexdigest()[:16]

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(secrets.token_bytes(32))

    @classmethod
    def parse(cls, text: str, *, setting: str = SECRET_KEY_ENV) -> MasterKey:
        """Base64 (standard or url-safe) of exactly 32 bytes, or a passphrase of 32+ characters."""
        text = text.strip()
        try:
            raw = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) == 32:
            return cls(raw)
        if len(text) >= MIN_PASSPHRASE:
            return cls(hashlib.sha256(text.encode()).digest())
        raise SecretsError(
            f"{setting} is too weak: give 32 random bytes in base64 "
            '(generate one with: python -c "import secrets,base64;print(base64.urlsafe_b64encode('
            'secrets.token_bytes(32)).decode())")'
            f" or a passphrase of at least {MIN_PASSPHRASE} characters",
            setting=setting,
        )

    def export(self) -> str:
        """The key as text for the key file or HUNKWISE_SECRET_KEY; the caller must not log it."""
        return base64.urlsafe_b64encode(self._key).decode()

    def aead(self) -> AESGCM:
        return AESGCM(self._key)

    def __repr__(self) -> str:
        return f"MasterKey(id={self.key_id})"

    __str__ = __repr__


def _aad(org_id: int, role: str) -> bytes:
    return f"hunkwise-byok:{org_id}:{role}".encode()


@dataclass(frozen=True)
class SecretBox:
    """Encrypts with ``keys[0]``, decrypts with whichever key the token names.

    A box loaded from a key file (``path`` set) follows that file: a running server loaded its box
    once, and ``hunkwise secrets rotate`` rewrites the file and re-encrypts the rows under a new
    key. So the box re-reads the file when the file changed (checked with one ``stat`` before each
    encryption: new keys are sealed under the new primary) and always when a token names a key it
    does not know (decryption). Rotation keeps the old key in the file until ``secrets prune``, so
    anything a not-yet-reloaded process sealed under the old key stays decryptable.
    """

    keys: tuple[MasterKey, ...]
    source: str = ""  # "env" or the key file path: where an operator looks when decryption fails
    path: Path | None = field(default=None, compare=False)  # the key file to follow, if any
    _stamp: tuple[int, int] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.path is not None:
            object.__setattr__(self, "_stamp", self._file_stamp())

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat() if self.path is not None else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size) if st is not None else None

    def reload(self, *, force: bool = False) -> bool:
        """Re-read the key file (when it changed, or always with ``force``); True if keys changed.

        Keys already in memory stay usable for decryption (appended after the file's keys), so a
        half-finished operator edit never makes this process lose a key it had. A file that cannot
        be read or parsed is ignored (logged): the current keys stay.
        """
        if self.path is None:
            return False
        stamp = self._file_stamp()
        if not force and stamp == self._stamp:
            return False
        try:
            loaded = _parse_many(self.path.read_text(), setting=str(self.path))
        except (OSError, SecretsError) as exc:
            log.warning("could not reload the master key file %s: %s", self.path, exc)
            return False
        ids = {k.key_id for k in loaded}
        merged = (*loaded, *[k for k in self.keys if k.key_id not in ids])
        changed = [k.key_id for k in merged] != [k.key_id for k in self.keys]
        # The box is shared by every request of a server: swap the whole tuple in one assignment.
        object.__setattr__(self, "keys", merged)
        object.__setattr__(self, "_stamp", stamp)
        if changed:
            log.info("reloaded the master key file %s (current key id %s)", self.path, merged[0].key_id)
        return changed

    @property
    def primary(self) -> MasterKey:
        return self.keys[0]

    def encrypt(self, plaintext: str, *, org_id: int, role: str) -> str:
        self.reload()
        nonce = os.urandom(12)
        sealed = self.primary.aead().encrypt(nonce, plaintext.encode(), _aad(org_id, role))
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{FORMAT_PREFIX}.{self.primary.key_id}.{body}"

    def key_id_of(self, token: str) -> str:
        _, key_id, _ = self._split(token)
        return key_id

    def _split(self, token: str) -> tuple[str, str, str]:
        parts = token.split(".", 2)
        if len(parts) != 3 or parts[0] != FORMAT_PREFIX:
            raise SecretsError("a stored key has an unknown format (not written by this version of hunkwise)")
        return parts[0], parts[1], parts[2]

    def decrypt(self, token: str, *, org_id: int, role: str) -> str:
        _, key_id, body = self._split(token)
        key = next((k for k in self.keys if k.key_id == key_id), None)
        if key is None and self.reload(force=True):
            key = next((k for k in self.keys if k.key_id == key_id), None)
        if key is None:
            raise SecretsError(
                f"a stored key was encrypted with master key {key_id}, which is not configured "
                f"(configured: {', '.join(k.key_id for k in self.keys)}; from {self.source or 'unknown'}): "
                f"restore the previous {SECRET_KEY_ENV} or key file, or re-enter the organization's key",
                setting=SECRET_KEY_ENV,
            )
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            return key.aead().decrypt(raw[:12], raw[12:], _aad(org_id, role)).decode()
        except InvalidTag:
            raise SecretsError(
                f"a stored key for organization #{org_id} ({role}) failed its integrity check: "
                "it was altered or copied from another organization; re-enter the key",
                setting=SECRET_KEY_ENV,
            ) from None


def key_file_path(env: Mapping[str, str] | None = None) -> Path:
    return hunkwise_home(env) / KEY_FILENAME


def _parse_many(text: str, *, setting: str) -> tuple[MasterKey, ...]:
    items = [t for t in text.replace("\n", ",").split(",") if t.strip()]
    if not items:
        raise SecretsError(f"{setting} is empty", setting=setting)
    return tuple(MasterKey.parse(t, setting=setting) for t in items)


def write_key_file(path: Path, keys: Sequence[MasterKey]) -> None:
    """Atomically replace ``path`` with ``keys`` (first = current), created 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(k.export() for k in keys) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_secret_box(env: Mapping[str, str] | None = None, *, create: bool = True) -> SecretBox:
    """The master key(s) from ``HUNKWISE_SECRET_KEY`` or the key file (generated when missing and
    ``create``). Raises :class:`SecretsError` naming the setting when a key is unusable."""
    env = os.environ if env is None else env
    raw = env.get(SECRET_KEY_ENV, "").strip()
    if raw:
        return SecretBox(_parse_many(raw, setting=SECRET_KEY_ENV), source=f"env {SECRET_KEY_ENV}")
    path = key_file_path(env)
    if path.exists():
        if path.stat().st_mode & 0o077:
            log.warning("the master key file %s is readable by other users; run: chmod 600 %s", path, path)
        return SecretBox(_parse_many(path.read_text(), setting=str(path)), source=str(path), path=path)
    if not create:
        raise SecretsError(
            f"no master key: set {SECRET_KEY_ENV} or start the server once to generate {path}",
            setting=SECRET_KEY_ENV,
        )
    key = MasterKey.generate()
    write_key_file(path, [key])
    log.warning(
        "generated a new master key for stored API keys at %s (key id %s); back it up: without it "
        "the stored keys cannot be decrypted",
        path,
        key.key_id,
    )
    return SecretBox((key,), source=str(path), path=path)


def reencrypt_all(engine: Engine, old: SecretBox, new: SecretBox, *, only_stale: bool = False) -> int:
    """Decrypt every stored key with ``old`` and encrypt it with ``new.primary``, in ONE
    transaction: either every row moves to the new key or none does. Returns the row count.
    ``only_stale``: skip rows already sealed under ``new.primary``."""
    count = 0
    with session_scope(engine, write=True) as session:
        for row in session.scalars(select(ByokSlot).where(ByokSlot.key_ciphertext.is_not(None))):
            assert row.key_ciphertext is not None
            if only_stale and new.key_id_of(row.key_ciphertext) == new.primary.key_id:
                continue
            plain = old.decrypt(row.key_ciphertext, org_id=row.org_id, role=row.role)
            row.key_ciphertext = new.encrypt(plain, org_id=row.org_id, role=row.role)
            count += 1
    return count


@dataclass(frozen=True)
class RotationResult:
    rows: int
    new_key_id: str
    key_file: Path | None  # None when the key lives in HUNKWISE_SECRET_KEY (operator must update it)
    new_key_text: str | None  # only when generated for an env-configured server: printed ONCE
    old_key_ids: tuple[str, ...] = ()  # still accepted for decryption until prune_old_keys


def rotate_master_key(
    engine: Engine, *, new_key: str | None = None, env: Mapping[str, str] | None = None
) -> RotationResult:
    """Re-encrypt every stored key under a new master key.

    Key-file installs: the file is rewritten as ``[new, old...]`` (new encrypts, all decrypt),
    then every row is re-encrypted in one transaction. The old keys STAY in the file: running
    servers loaded the old key at start-up and may still seal a key with it until they notice the
    new file (see :class:`SecretBox`), and such a row must stay decryptable after a restart.
    :func:`prune_old_keys` (``hunkwise secrets prune``) drops them once every server has picked
    up the new key. A crash at any point leaves a file that decrypts every row; rerun to finish.
    Env installs: rows are re-encrypted; the operator must then set ``HUNKWISE_SECRET_KEY`` to
    ``"new,old"`` (the new key is returned in ``new_key_text`` when we generated it), restart,
    prune, and finally keep only the new key.
    """
    env = os.environ if env is None else env
    old = load_secret_box(env, create=False)
    key = MasterKey.parse(new_key, setting="--new-key") if new_key else MasterKey.generate()
    from_env = bool(env.get(SECRET_KEY_ENV, "").strip())
    both = (key, *[k for k in old.keys if k.key_id != key.key_id])
    old_ids = tuple(k.key_id for k in both[1:])
    if from_env:
        rows = reencrypt_all(engine, old, SecretBox(both))
        return RotationResult(rows, key.key_id, None, None if new_key else key.export(), old_ids)
    path = key_file_path(env)
    write_key_file(path, both)
    rows = reencrypt_all(engine, old, SecretBox(both))
    return RotationResult(rows, key.key_id, path, None, old_ids)


@dataclass(frozen=True)
class PruneResult:
    rows: int  # rows that were still sealed under an old key and were re-encrypted
    key_id: str  # the key that remains
    dropped_key_ids: tuple[str, ...]
    key_file: Path | None  # None in env mode: the operator removes the old keys from the variable


def prune_old_keys(engine: Engine, *, env: Mapping[str, str] | None = None) -> PruneResult:
    """Finish a rotation: re-encrypt (one transaction) every row still sealed under an older key
    with the current (first) key, then drop the older keys from the key file. Run it once every
    server has picked up the rotation (any key saved or used reloads the file, a restart does too).
    Env installs: rows are moved; the operator then removes the old keys from the variable."""
    env = os.environ if env is None else env
    box = load_secret_box(env, create=False)
    primary = box.primary
    rows = reencrypt_all(engine, box, SecretBox((primary,)), only_stale=True)
    dropped = tuple(k.key_id for k in box.keys[1:])
    if env.get(SECRET_KEY_ENV, "").strip():
        return PruneResult(rows, primary.key_id, dropped, None)
    path = key_file_path(env)
    write_key_file(path, [primary])
    return PruneResult(rows, primary.key_id, dropped, path)


__all__ = [
    "SECRET_KEY_ENV",
    "MasterKey",
    "PruneResult",
    "RotationResult",
    "SecretBox",
    "SecretsError",
    "key_file_path",
    "load_secret_box",
    "prune_old_keys",
    "reencrypt_all",
    "rotate_master_key",
    "write_key_file",
]
