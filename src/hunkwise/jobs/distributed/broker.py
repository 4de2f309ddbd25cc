"""The queue URL -> a Dramatiq broker with one actor, ``hunkwise_review(job_id)``.

RabbitMQ (``amqp://``) is the recommended broker: a message stays unacknowledged until the actor
returns, and when a worker dies its connection drops and RabbitMQ hands the message to another
worker at once. Redis (``redis://``) works too; Dramatiq then notices a dead worker by its missed
heartbeats (about a minute). Publishing uses publisher confirms on RabbitMQ, so a message the
broker did not take raises instead of vanishing.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from hunkwise.errors import ConfigurationError

if TYPE_CHECKING:
    from hunkwise.config.settings import Settings

QUEUE_URL_ENV = "HUNKWISE_QUEUE_URL"
QUEUE_NAME_ENV = "HUNKWISE_QUEUE_NAME"
DEFAULT_QUEUE_NAME = "hunkwise-reviews"
ACTOR_NAME = "hunkwise_review"
_QUEUE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]{0,99}$")


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """Where review messages go. ``url`` holds broker credentials: never print it, use ``shown``."""

    url: str
    queue_name: str = DEFAULT_QUEUE_NAME

    def __repr__(self) -> str:
        return f"QueueSettings(url={self.shown!r}, queue_name={self.queue_name!r})"

    @property
    def shown(self) -> str:
        return redact(self.url)

    @property
    def kind(self) -> str:
        return "rabbitmq" if self.url.startswith(("amqp://", "amqps://")) else "redis"

    @classmethod
    def parse(cls, url: str, queue_name: str | None = None, *, setting: str = QUEUE_URL_ENV) -> QueueSettings:
        url = url.strip()
        if not url.startswith(("amqp://", "amqps://", "redis://", "rediss://")):
            raise ConfigurationError(
                f"{setting}={redact(url)!r} is not a broker URL: use amqp://user:pass@host:5672/ "
                "(RabbitMQ, recommended) or redis://host:6379/0",
                setting=setting,
            )
        name = (queue_name or "").strip() or DEFAULT_QUEUE_NAME
        if not _QUEUE_NAME.match(name):
            raise ConfigurationError(
                f"{QUEUE_NAME_ENV}={name!r} is not a queue name: letters, digits, '.', '_' or '-', "
                "starting with a letter or '_'",
                setting=QUEUE_NAME_ENV,
            )
        return cls(url=url, queue_name=name)

    @classmethod
    def configured(cls, settings: Settings) -> QueueSettings | None:
        """``HUNKWISE_QUEUE_URL`` and ``HUNKWISE_QUEUE_NAME``; ``None`` when the URL is unset:
        the embedded queue is in charge."""
        return cls.parse(settings.queue_url, settings.queue_name) if settings.queue_url else None


def make_broker(settings: QueueSettings, *, worker: bool = False, on_loop: tuple[Any, ...] = ()) -> Any:
    """A Dramatiq broker with only the middleware we rely on (no Prometheus exporter of its own,
    no time limit that would interrupt a long review). ``worker`` adds what consuming needs;
    ``on_loop`` middleware runs its ``after_worker_shutdown`` hook while the event loop still
    runs (Dramatiq calls "after" hooks in reverse order, so it goes after ``AsyncIO``)."""
    from dramatiq.middleware import AsyncIO, Retries

    # Retries covers failures of the message handler itself (the database down): the job's own
    # retries and dead letters live on the job row, decided by the runner.
    middleware: list[Any] = [Retries(max_retries=8, min_backoff=1_000, max_backoff=60_000)]
    if worker:
        middleware.append(AsyncIO())
        middleware.extend(on_loop)
    if settings.kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=settings.url, confirm_delivery=True, middleware=middleware)
    from dramatiq.brokers.redis import RedisBroker

    return RedisBroker(url=settings.url, middleware=middleware, namespace="hunkwise-dramatiq")


def declare_actor(broker: Any, settings: QueueSettings, fn: Callable[[int], Any]) -> Any:
    """The review actor bound to ``broker``; producers declare it with any ``fn`` (never run)."""
    import dramatiq

    return dramatiq.actor(
        fn, actor_name=ACTOR_NAME, queue_name=settings.queue_name, broker=broker, max_retries=8
    )


class Publisher:
    """Sends ``job id`` messages; thread-safe (Dramatiq keeps one connection per thread)."""

    def __init__(self, settings: QueueSettings, broker: Any | None = None) -> None:
        self.settings = settings
        self.broker = broker if broker is not None else make_broker(settings)
        existing = self.broker.actors.get(ACTOR_NAME) if hasattr(self.broker, "actors") else None
        self.actor = existing or declare_actor(self.broker, settings, _never_called)
        self._lock = threading.Lock()

    def publish(self, job_id: int, *, delay_s: float = 0.0) -> None:
        """Blocking: run it in a thread from async code."""
        delay = int(delay_s * 1000) if delay_s > 0 else None
        self.actor.send_with_options(args=(int(job_id),), delay=delay)

    def depth(self) -> dict[str, int]:
        """Messages waiting: ``ready`` (main queue), ``delayed`` (retries not due), ``dead``
        (messages the broker itself gave up on; their jobs are swept back)."""
        with self._lock:
            if self.settings.kind == "rabbitmq":
                ready, delayed, dead = self.broker.get_queue_message_counts(self.settings.queue_name)
                return {"ready": ready, "delayed": delayed, "dead": dead}
            client = self.broker.client
            ns, q = self.broker.namespace, self.settings.queue_name
            return {
                "ready": int(client.llen(f"{ns}:{q}")),
                "delayed": int(client.llen(f"{ns}:{q}.DQ")),
                "dead": int(client.zcard(f"{ns}:{q}.XQ")),
            }

    def check(self, *, quiet: bool = False) -> dict[str, int]:
        """:meth:`depth`, or one readable :class:`ConfigurationError` when the broker refuses or
        cannot be reached. ``quiet``: the client libraries' own error logs (a dozen lines and a
        traceback for one refused login) are held back meanwhile; for start-up checks, whose
        error says it all."""
        try:
            with quiet_libraries(quiet):
                return self.depth()
        except Exception as exc:
            raise unavailable(self.settings, exc) from None

    def close(self) -> None:
        self.broker.close()


@contextmanager
def quiet_libraries(quiet: bool = True) -> Iterator[None]:
    """Hold back pika's and Dramatiq's log records below CRITICAL while the block runs."""
    loggers = [logging.getLogger(name) for name in ("pika", "dramatiq")] if quiet else []
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def unavailable(settings: QueueSettings, exc: BaseException) -> ConfigurationError:
    """A broker failure -> one line saying which of: refused login, refused virtual host, refused
    queue, unreachable; and what to check. Never the password, never the library's traceback."""
    import pika.exceptions as amqp
    from redis import exceptions as redis_errors

    name = "RabbitMQ" if settings.kind == "rabbitmq" else "Redis"
    where = f"{name} at {settings.shown}"
    if isinstance(exc, (amqp.ProbableAuthenticationError, amqp.AuthenticationError)):
        return ConfigurationError(
            f"{where} refused the credentials (ACCESS_REFUSED): check {QUEUE_URL_ENV}'s user and password"
        )
    if isinstance(exc, redis_errors.AuthenticationError):
        return ConfigurationError(f"{where} refused the credentials: check {QUEUE_URL_ENV}'s password")
    if isinstance(exc, amqp.ProbableAccessDeniedError):
        path = urlsplit(settings.url).path
        vhost = unquote(path[1:]) if path not in ("", "/") else "/"
        return ConfigurationError(
            f"{where} refused the virtual host {vhost!r} ({_amqp_reply(exc)}): the virtual host is the "
            f"path of {QUEUE_URL_ENV} (%2F for the default '/'); create it, or give the user access "
            "(rabbitmqctl set_permissions -p VHOST USER '.*' '.*' '.*')"
        )
    if isinstance(exc, amqp.ChannelClosedByBroker):
        return ConfigurationError(
            f"{where} refused queue {settings.queue_name!r} ({exc.reply_code} {exc.reply_text}): give the "
            f"user configure, write and read permissions on it, or choose another {QUEUE_NAME_ENV}"
        )
    return ConfigurationError(
        f"{where} is unreachable ({_unreachable_reason(exc)}): check the host and port in "
        f"{QUEUE_URL_ENV} and that {name} is running"
    )


def _amqp_reply(exc: BaseException) -> str:
    """RabbitMQ's own reason ("NOT_ALLOWED - vhost x not found"), which pika keeps only as text."""
    found = re.search(r"'([A-Z_]+ - [^']*)'", str(exc))
    return found.group(1) if found else type(exc).__name__


def _unreachable_reason(exc: BaseException) -> str:
    text = f"{exc} {exc!r}".lower()  # pika keeps the socket error only in its repr
    if isinstance(exc, socket.gaierror) or "name or service not known" in text:
        return "host not found"
    if "connection refused" in text:
        return "connection refused"
    if isinstance(exc, TimeoutError) or "timed out" in text:
        return "timed out"
    return type(exc).__name__


def _never_called(job_id: int) -> None:  # pragma: no cover - producers only send
    raise RuntimeError("the producer-side review actor does not run jobs; `hunkwise worker` does")
