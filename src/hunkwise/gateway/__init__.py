"""The model gateway: send a chat to the configured slots (main, fallbacks) and get an answer.

Layers above use only what is exported here (tests/test_layering.py refuses an import of
``hunkwise.gateway.<module>`` from outside the gateway), so its modules can be split, merged and
renamed without touching a caller. ``hunkwise.config`` builds the ``Slot``s; the
gateway never reads the environment. A setting that can never work raises
:class:`hunkwise.errors.ConfigurationError`, the one class every layer raises and catches.
"""

from __future__ import annotations

from hunkwise.gateway.adapters import ClientPool
from hunkwise.gateway.errors import (
    AllSlotsFailed,
    ConnectBlocked,
    ErrorKind,
    GatewayError,
    LimitsUnavailable,
    NotRecorded,
    ProviderError,
)
from hunkwise.gateway.limits import Circuit, LimitsBackend, LocalBackend, RedisBackend
from hunkwise.gateway.limits.redis_backend import redact_url
from hunkwise.gateway.policy import RetryPolicy, RouterEvent
from hunkwise.gateway.probe import Diagnosis, probe_slot, probe_slots
from hunkwise.gateway.quota_monitor import (
    MonitorError,
    MonitorReading,
    MonitorResult,
    MonitorSpan,
    MonitorWindow,
    QuotaMonitor,
    has_monitor,
    monitor_url,
    parse_quota_limits,
)
from hunkwise.gateway.recording import Miss, Recordings
from hunkwise.gateway.router import Router
from hunkwise.gateway.thinking import parse_override, preview_request_body, unwrap_override
from hunkwise.gateway.types import (
    SKIPPED_OPEN_CIRCUIT,
    SKIPPED_OUTCOMES,
    THINKING_AUTO,
    THINKING_LEVELS,
    Attempt,
    ChatRequest,
    ChatResult,
    Message,
    PlanId,
    ProviderId,
    Secret,
    Slot,
    StreamEvent,
    ThinkingLevel,
    TierId,
    Usage,
    count_failovers,
)

__all__ = [
    "SKIPPED_OPEN_CIRCUIT",
    "SKIPPED_OUTCOMES",
    "THINKING_AUTO",
    "THINKING_LEVELS",
    "AllSlotsFailed",
    "Attempt",
    "ChatRequest",
    "ChatResult",
    "Circuit",
    "ClientPool",
    "ConnectBlocked",
    "Diagnosis",
    "ErrorKind",
    "GatewayError",
    "LimitsBackend",
    "LimitsUnavailable",
    "LocalBackend",
    "Message",
    "Miss",
    "MonitorError",
    "MonitorReading",
    "MonitorResult",
    "MonitorSpan",
    "MonitorWindow",
    "NotRecorded",
    "PlanId",
    "ProviderError",
    "ProviderId",
    "QuotaMonitor",
    "Recordings",
    "RedisBackend",
    "RetryPolicy",
    "Router",
    "RouterEvent",
    "Secret",
    "Slot",
    "StreamEvent",
    "ThinkingLevel",
    "TierId",
    "Usage",
    "count_failovers",
    "has_monitor",
    "monitor_url",
    "parse_override",
    "parse_quota_limits",
    "preview_request_body",
    "probe_slot",
    "probe_slots",
    "redact_url",
    "unwrap_override",
]
