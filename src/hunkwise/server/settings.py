"""Server settings, read from the environment once and validated at start-up.

A server holds other people's API keys, so it refuses to start with a guessable admin token
(outside development mode) and says exactly which variable to fix. The fixed-mode configuration
(``HUNKWISE_MODEL`` and friends) is resolved here too, so a typo in it stops the server at
start-up instead of failing every review later.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hunkwise.config.byok import fixed_config
from hunkwise.config.paths import hunkwise_home
from hunkwise.config.resolve import ResolvedConfig
from hunkwise.config.review_settings import DEFAULT_MAX_COST_USD, server_cost_ceiling
from hunkwise.config.schema import MaxCost
from hunkwise.config.ssrf import ALLOW_ENV, SsrfPolicy, parse_allow_list
from hunkwise.errors import ConfigurationError
from hunkwise.store.signin import SigninLimits

ADMIN_TOKEN_ENV = "HUNKWISE_ADMIN_TOKEN"
MIN_ADMIN_TOKEN = 24
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
TRUSTED_PROXIES_ENV = "HUNKWISE_TRUSTED_PROXIES"
SIGNIN_CLIENT_ENV = "HUNKWISE_SIGNIN_MAX_FAILURES"
SIGNIN_GLOBAL_ENV = "HUNKWISE_SIGNIN_MAX_FAILURES_GLOBAL"
SIGNIN_WINDOW_S = 300
_TRUE = ("1", "true", "yes", "on")


def _whole(env: Mapping[str, str], name: str, default: int, what: str) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} = {raw!r} is not a whole number of {what}", setting=name) from None


class Settings(BaseModel):
    """Everything the server reads from its environment. Build with :meth:`from_env`."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    admin_token: SecretStr | None = None
    home: Path
    database_url: str | None = None
    allow_private_base_urls: frozenset[str] = frozenset()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_cost: MaxCost = DEFAULT_MAX_COST_USD  # the review cost ceiling of orgs without their own
    dev: bool = False
    trusted_proxies: tuple[str, ...] = ()
    """Addresses (or networks, or ``*``) of reverse proxies whose X-Forwarded-For/-Proto are
    believed. Empty: the client address is the TCP peer, whatever the headers say."""
    signin_max_failures: int = 10
    """Wrong tokens one client address may send per window before it gets 429."""
    signin_max_failures_global: int = 200
    """Wrong tokens all clients together may send per window before everyone gets 429."""
    signin_window_s: int = SIGNIN_WINDOW_S
    env: dict[str, str] = Field(default_factory=dict, repr=False)
    """The environment the settings came from: fixed mode and the secret key are read from it."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        limit = _whole(env, "HUNKWISE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, "bytes")
        proxies = tuple(p.strip() for p in env.get(TRUSTED_PROXIES_ENV, "").split(",") if p.strip())
        token = env.get(ADMIN_TOKEN_ENV, "").strip()
        values: dict[str, Any] = {
            "admin_token": SecretStr(token) if token else None,
            "home": hunkwise_home(env),
            "database_url": env.get("HUNKWISE_DATABASE_URL", "").strip() or None,
            "allow_private_base_urls": parse_allow_list(env.get(ALLOW_ENV)),
            "max_body_bytes": limit,
            "max_cost": server_cost_ceiling(env),
            "dev": env.get("HUNKWISE_DEV", "").strip().lower() in _TRUE,
            "trusted_proxies": proxies,
            "signin_max_failures": _whole(env, SIGNIN_CLIENT_ENV, 10, "failures"),
            "signin_max_failures_global": _whole(env, SIGNIN_GLOBAL_ENV, 200, "failures"),
            "env": env,
        }
        values.update(overrides)
        settings = cls(**values)
        settings.validate_for_start()
        return settings

    def validate_for_start(self) -> None:
        """Refuse weak secrets outside development (``HUNKWISE_DEV=1``)."""
        if self.max_body_bytes < 1024:
            raise ConfigurationError(
                "HUNKWISE_MAX_BODY_BYTES must be at least 1024", setting="HUNKWISE_MAX_BODY_BYTES"
            )
        for name, value in (
            (SIGNIN_CLIENT_ENV, self.signin_max_failures),
            (SIGNIN_GLOBAL_ENV, self.signin_max_failures_global),
        ):
            if value < 1:
                raise ConfigurationError(f"{name} must be at least 1", setting=name)
        self._check_proxies()
        if self.admin_token is None or self.dev:
            return
        token = self.admin_token.get_secret_value()
        if len(token) < MIN_ADMIN_TOKEN or len(set(token)) < 8:
            raise ConfigurationError(
                f"{ADMIN_TOKEN_ENV} is too weak: use at least {MIN_ADMIN_TOKEN} random characters "
                '(python -c "import secrets; print(secrets.token_urlsafe(32))"), or set HUNKWISE_DEV=1 '
                "on a development machine",
                setting=ADMIN_TOKEN_ENV,
            )

    def _check_proxies(self) -> None:
        for entry in self.trusted_proxies:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigurationError(
                    f"{TRUSTED_PROXIES_ENV}: {entry!r} is not an IP address or network; list your "
                    "reverse proxies' addresses, e.g. 127.0.0.1,10.0.0.0/24",
                    setting=TRUSTED_PROXIES_ENV,
                ) from None

    @property
    def signin_limits(self) -> SigninLimits:
        return SigninLimits(
            per_client=self.signin_max_failures,
            overall=self.signin_max_failures_global,
            window=timedelta(seconds=self.signin_window_s),
        )

    @property
    def ssrf_policy(self) -> SsrfPolicy:
        return SsrfPolicy(allowed_hosts=self.allow_private_base_urls)

    def fixed(self) -> ResolvedConfig | None:
        """The global configuration when the server runs in fixed mode, else None (resolved once)."""
        return self._fixed

    @cached_property
    def _fixed(self) -> ResolvedConfig | None:
        return fixed_config(self.env, home=self.home)
