"""What a passphrase master key costs: one scrypt derivation with hunkwise's parameters, against
the single SHA-256 it replaces, and the cost of loading a secret box twice in one process (the
second load must hit the cache: a process derives once, never per request).

Also prints the start-up upgrade of legacy (``pw1``) rows: N stored keys sealed the old way,
re-sealed by :func:`upgrade_legacy_rows` on a SQLite store, then the same call again (nothing left).

    .venv/bin/python bench/kdf.py [--rows 200]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

PASSPHRASE = "bench passphrase for the master key of 40+ chars"


def _ms(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    from sqlalchemy import text

    from hunkwise.config.settings import Settings
    from hunkwise.store.db import make_engine, upgrade
    from hunkwise.store.secrets import (
        SCRYPT_N,
        SCRYPT_P,
        SCRYPT_R,
        SCRYPT_SALT,
        derive_passphrase_key,
        load_secret_box,
        upgrade_legacy_rows,
    )

    def scrypt_once() -> bytes:
        return Scrypt(salt=SCRYPT_SALT, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(
            PASSPHRASE.encode()
        )

    scrypt = _ms(scrypt_once, args.repeat)
    sha = _ms(lambda: hashlib.sha256(PASSPHRASE.encode()).digest(), args.repeat)
    memory_mib = 128 * SCRYPT_R * SCRYPT_N / 2**20
    print(
        f"scrypt N=2**{SCRYPT_N.bit_length() - 1} r={SCRYPT_R} p={SCRYPT_P} ({memory_mib:.0f} MiB): "
        f"median {statistics.median(scrypt):.1f} ms, min {min(scrypt):.1f}, max {max(scrypt):.1f} "
        f"over {args.repeat}"
    )
    print(f"sha256 (the old stretch): median {statistics.median(sha) * 1000:.1f} us")

    with tempfile.TemporaryDirectory() as home:
        env = {"HUNKWISE_HOME": home, "HUNKWISE_SECRET_KEY": PASSPHRASE}
        derive_passphrase_key.cache_clear()
        first = _ms(lambda: load_secret_box(Settings.from_env(env)), 1)[0]
        again = statistics.median(_ms(lambda: load_secret_box(Settings.from_env(env)), args.repeat))
        info = derive_passphrase_key.cache_info()
        print(f"load_secret_box: first {first:.1f} ms, again {again:.2f} ms (derivations: {info.misses})")

        engine = make_engine(f"sqlite:///{Path(home) / 'bench.db'}")
        upgrade(engine)
        legacy_key = hashlib.sha256(PASSPHRASE.encode()).digest()
        key_id = hashlib.sha256(legacy_key).hexdigest()[:16]
        with engine.begin() as conn:
            for i in range(args.rows):
                conn.execute(
                    text(
                        "INSERT INTO organizations (slug, name, created_at) "
                        "VALUES (:s, :s, CURRENT_TIMESTAMP)"
                    ),
                    {"s": f"org-{i}"},
                )
        for org_id in range(1, args.rows + 1):
            nonce = os.urandom(12)
            sealed = AESGCM(legacy_key).encrypt(
                nonce, b"sk-bench-key", f"hunkwise-byok:{org_id}:main".encode()
            )
            token = f"pw1.{key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO byok_slots (org_id, role, spec, key_ciphertext, updated_at) "
                        "VALUES (:o, 'main', '{}', :t, CURRENT_TIMESTAMP)"
                    ),
                    {"o": org_id, "t": token},
                )
        box = load_secret_box(Settings.from_env(env))
        t = time.perf_counter()
        result = upgrade_legacy_rows(engine, box)
        upgrade_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        again_result = upgrade_legacy_rows(engine, box)
        again_ms = (time.perf_counter() - t) * 1000
        engine.dispose()
    print(
        f"start-up upgrade of {args.rows} pw1 rows: {result.rows} re-sealed in {upgrade_ms:.1f} ms; "
        f"second run: {again_result.rows} rows in {again_ms:.1f} ms"
    )
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")


if __name__ == "__main__":
    main()
