"""Helpers shared by the server tests (imported by module name, like tests/simkeys.py)."""

from __future__ import annotations

ADMIN = "admin-token-for-tests-0123456789abcdef"


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
