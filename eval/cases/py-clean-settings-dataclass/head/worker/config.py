"""Worker configuration, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _int(env: dict[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    broker_url: str
    concurrency: int
    prefetch: int
    task_timeout_s: int

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        broker_url = env.get("WORKER_BROKER_URL", "")
        if not broker_url:
            raise ConfigError("WORKER_BROKER_URL is required, e.g. amqp://guest@localhost//")
        return cls(
            broker_url=broker_url,
            concurrency=_int(env, "WORKER_CONCURRENCY", default=4, minimum=1),
            prefetch=_int(env, "WORKER_PREFETCH", default=1, minimum=1),
            task_timeout_s=_int(env, "WORKER_TASK_TIMEOUT", default=300, minimum=1),
        )


def load_settings() -> Settings:
    return Settings.from_env()
