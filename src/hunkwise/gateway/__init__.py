"""The model gateway: send a chat to the configured slots (main, fallbacks) and get an answer.

Layers above use only what is exported here. ``hunkwise.config`` builds the ``Slot``s; the
gateway never reads the environment. A setting that can never work raises
:class:`hunkwise.errors.ConfigurationError`, the one class every layer raises and catches.
"""

from __future__ import annotations

from hunkwise.gateway.adapters import ClientPool
from hunkwise.gateway.errors import AllSlotsFailed, ErrorKind, GatewayError, ProviderError
from hunkwise.gateway.limits import Circuit, LimitsBackend, LocalBackend, RedisBackend
from hunkwise.gateway.policy import RetryPolicy, RouterEvent
from hunkwise.gateway.probe import Diagnosis, probe_slot, probe_slots
from hunkwise.gateway.router import Router
from hunkwise.gateway.thinking import parse_override, preview_request_body, unwrap_override
from hunkwise.gateway.types import (
    THINKING_LEVELS,
    Attempt,
    ChatRequest,
    ChatResult,
    Message,
    Secret,
    Slot,
    StreamEvent,
    ThinkingLevel,
    Usage,
)

__all__ = [
    "THINKING_LEVELS",
    "AllSlotsFailed",
    "Attempt",
    "ChatRequest",
    "ChatResult",
    "Circuit",
    "ClientPool",
    "Diagnosis",
    "ErrorKind",
    "GatewayError",
    "LimitsBackend",
    "LocalBackend",
    "Message",
    "ProviderError",
    "RedisBackend",
    "RetryPolicy",
    "Router",
    "RouterEvent",
    "Secret",
    "Slot",
    "StreamEvent",
    "ThinkingLevel",
    "Usage",
    "parse_override",
    "preview_request_body",
    "probe_slot",
    "probe_slots",
    "unwrap_override",
]
