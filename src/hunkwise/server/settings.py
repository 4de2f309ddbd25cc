"""Server settings, read from the environment once and validated at start-up.

A server holds other people's API keys, so it refuses to start with a guessable admin token
(outside development mode) and says exactly which variable to fix. The fixed-mode configuration
(``HUNKWISE_MODEL`` and friends) is resolved here too, so a typo in it stops the server at
start-up instead of failing every review later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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
from hunkwise.gateway.errors import ConfigurationError

ADMIN_TOKEN_ENV = "HUNKWISE_ADMIN_TOKEN"
MIN_ADMIN_TOKEN = 24
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
_TRUE = ("1", "true", "yes", "on")


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
    env: dict[str, str] = Field(default_factory=dict, repr=False)
    """The environment the settings came from: fixed mode and the secret key are read from it."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        raw_limit = env.get("HUNKWISE_MAX_BODY_BYTES", "").strip()
        try:
            limit = int(raw_limit) if raw_limit else DEFAULT_MAX_BODY_BYTES
        except ValueError:
            raise ConfigurationError(
                f"HUNKWISE_MAX_BODY_BYTES = {raw_limit!r} is not a whole number of bytes",
                setting="HUNKWISE_MAX_BODY_BYTES",
            ) from None
        token = env.get(ADMIN_TOKEN_ENV, "").strip()
        values: dict[str, Any] = {
            "admin_token": SecretStr(token) if token else None,
            "home": hunkwise_home(env),
            "database_url": env.get("HUNKWISE_DATABASE_URL", "").strip() or None,
            "allow_private_base_urls": parse_allow_list(env.get(ALLOW_ENV)),
            "max_body_bytes": limit,
            "max_cost": server_cost_ceiling(env),
            "dev": env.get("HUNKWISE_DEV", "").strip().lower() in _TRUE,
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

    @property
    def ssrf_policy(self) -> SsrfPolicy:
        return SsrfPolicy(allowed_hosts=self.allow_private_base_urls)

    def fixed(self) -> ResolvedConfig | None:
        """The global configuration when the server runs in fixed mode, else None (resolved once)."""
        return self._fixed

    @cached_property
    def _fixed(self) -> ResolvedConfig | None:
        return fixed_config(self.env, home=self.home)
