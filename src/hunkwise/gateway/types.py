"""Plain typed data that crosses the gateway boundary: slots, requests, results, usage, attempts.

These are the only gateway types the layers above (config, review, jobs, server) need. They are
dataclasses rather than pydantic models because they are built on every call and never parsed
from untrusted input (config validates before it builds a ``Slot``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from hunkwise.catalog.loader import price_usd

ThinkingLevel = Literal["off", "low", "medium", "high"]
THINKING_LEVELS: tuple[ThinkingLevel, ...] = ("off", "low", "medium", "high")
# A slot's ``thinking = "auto"``: on (the card's level), and off for a request the caller marks
# ``light`` (the review engine's rule for docs, tests, config and small changes).
THINKING_AUTO = "auto"
ProviderId = Literal["zai", "openai_compatible", "openai", "anthropic"]
PlanId = Literal["developer", "coding"]
TierId = Literal["lite", "pro", "max"]
Role = Literal["system", "user", "assistant"]


class Secret:
    """An API key that cannot leak through ``repr``, ``str``, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself, called only where it goes on the wire, so every other use is visibly a mistake."""
        return self._value

    @property
    def last4(self) -> str:
        """The last four characters (none for short keys, which four characters would half
        reveal), for telling keys apart on screen.
        """
        return self._value[-4:] if len(self._value) >= 8 else ""

    @property
    def fingerprint(self) -> str:
        """Stable, non-reversible id for a key: names limiter/circuit state without the key."""
        return hashlib.sha256(self._value.encode()).hexdigest()[:16]

    def masked(self) -> str:
        """The key as people may see it, in logs, consoles and errors."""
        return f"••••{self.last4}" if self.last4 else "••••"

    def __repr__(self) -> str:
        return f"Secret({self.masked()})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True, slots=True)
class Slot:
    """One fully resolved model configuration (Main, Fallback, ...), ready to call.

    Built by ``hunkwise.config``; the gateway never reads the environment itself. Catalog
    facts (context window, prices) are copied in, already overridden by the user's config, so the
    router needs no catalog lookups on the hot path.
    """

    name: str  # "main", "fallback", "fallback2", ...
    provider: ProviderId
    base_url: str
    model: str
    api_key: Secret = field(repr=False)
    plan: PlanId | None = None
    tier: TierId | None = None
    max_concurrent: int | None = None  # None = no cap
    # None = the card's default; "auto" = THINKING_AUTO
    thinking: ThinkingLevel | Literal["auto"] | dict[str, Any] | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None
    timeout_s: float = 120.0
    context_window: int = 128_000
    input_price: float = 0.0  # USD per 1M tokens
    output_price: float = 0.0
    cached_input_price: float | None = None  # None: cached input tokens cost the full input price
    adaptive_concurrency: bool = False
    # Served by hunkwise's own simulator (``review --offline`` sets it where it builds the slot).
    # Its calls spend nothing, so the usage ledger records them as simulated and keeps them out of
    # real spend and Coding Plan windows. Never inferred from a URL or a response: a server that
    # merely looks like the simulator is still a server that may bill.
    simulated: bool = False

    @property
    def credential_id(self) -> str:
        """Limits and circuits are per credential: provider + base URL + key fingerprint."""
        return f"{self.provider}|{self.base_url.rstrip('/')}|{self.api_key.fingerprint}"

    @property
    def label(self) -> str:
        """How a slot is named in messages and reports (name, provider/model, plan), so
        people can tell which configuration is meant.
        """
        plan = f" ({self.plan}{'/' + self.tier if self.tier else ''})" if self.plan else ""
        return f"{self.name}: {self.provider}/{self.model}{plan}"

    def cost_usd(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        """The cost of a call at the slot's prices, for estimates and the usage ledger alike (the
        catalog's one pricing rule, so the plan advisor re-prices the ledger to the cent)."""
        return price_usd(
            input_tokens,
            output_tokens,
            input_price=self.input_price,
            output_price=self.output_price,
            cached_tokens=cached_tokens,
            cached_input_price=self.cached_input_price,
        )


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message; the wire adapters translate the roles each provider needs."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What callers ask of the gateway, independent of provider: the router
    and every adapter take this one shape.
    """

    messages: tuple[Message, ...]
    json_mode: bool = False  # ask for a JSON object (response_format json_object where supported)
    max_output_tokens: int | None = None  # overrides the slot's for this call
    purpose: str = "chat"  # recorded with usage: "review", "repair", "probe", ...
    # The caller judged this request easy: a slot with thinking = "auto" sends it with thinking
    # off; a slot with any other setting ignores it (an explicit level is the user's choice).
    light: bool = False

    @classmethod
    def of(cls, prompt: str, *, system: str | None = None, **kw: Any) -> ChatRequest:
        """The common case, a prompt with an optional system message, without building ``Message`` tuples."""
        msgs = ([Message("system", system)] if system else []) + [Message("user", prompt)]
        return cls(messages=tuple(msgs), **kw)


@dataclass(slots=True)
class Usage:
    """Token usage and cost; additive so a review can sum its calls."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0  # includes reasoning tokens, as providers bill them
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.calls + other.calls,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.cached_tokens + other.cached_tokens,
            self.cost_usd + other.cost_usd,
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of usage shared by reports, the ledger and the API."""
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cached_tokens": self.cached_tokens,
            "cost_usd": round(self.cost_usd, 6),
        }


SKIPPED_OPEN_CIRCUIT = "skipped_open_circuit"  # the slot's circuit was open: not called
SKIPPED_SMALLER_CONTEXT = "skipped_smaller_context"  # after a context overflow: window too small
SKIPPED_OUTCOMES = frozenset({SKIPPED_OPEN_CIRCUIT, SKIPPED_SMALLER_CONTEXT})
"""Attempt outcomes that made no request: never counted as calls, prompts or latency samples."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One model call (or one skip of a slot that could not be called) made while serving a
    request: the one record of a call, from the router to the usage ledger.

    The router fills every field when it makes the call, because only it knows them all (the
    slot's credential and plan, the request's purpose, the answer's usage, which slot it moved
    from). The review report carries these records unchanged and the store writes each as one
    ``model_calls`` row (``store.tables.ModelCall``, the stored shape); :meth:`as_dict` is the
    public shape ``chat --json`` prints. Nothing on the way re-derives a field.

    - ``outcome``: ``"ok"``, an ``ErrorKind`` value, or a skip (:data:`SKIPPED_OUTCOMES`:
      recorded because it explains a failover, never counted as a call).
    - ``model``: the slot's model; on the answering call, the model the provider says answered.
    - ``status``/``code``/``message``: HTTP status, provider business code and text of a failure.
    - ``latency_ms``/``waited_ms``: time on the wire and time queued for a concurrency slot.
    - ``at``: epoch seconds when the call started (the router's clock); 0.0 = unknown. The ledger
      dates the call with it, so Coding Plan windows count a prompt when it was sent, not when the
      review that sent it was recorded minutes later.
    - ``purpose``: ``ChatRequest.purpose`` (``"review"``, ``"repair"``, ``"chat"``, ...).
    - ``credential_id``: ``Slot.credential_id`` (provider | base URL | key fingerprint), never the
      key; Coding Plan windows are counted per credential. ``plan``/``tier``: the slot's.
    - ``usage``: what the provider reported for the answering call; zero for every other record.
    - ``failover``: the router moved to this slot from a different one while serving the request.
      Decided here, once; every failover figure (a request's, a report's, a run row's, the usage
      summaries, the console, ``/metrics``) is the number of records with this flag.
    - ``simulated``: the slot was hunkwise's simulator (``Slot.simulated``): no money was spent.
    """

    slot: str
    provider: str
    model: str
    outcome: str
    latency_ms: float = 0.0
    status: int | None = None
    code: str | None = None
    message: str = ""
    waited_ms: float = 0.0
    at: float = 0.0
    purpose: str = "chat"
    credential_id: str | None = None
    plan: str | None = None
    tier: str | None = None
    usage: Usage = field(default_factory=Usage)
    failover: bool = False
    simulated: bool = False

    @property
    def ok(self) -> bool:
        """This call answered the request."""
        return self.outcome == "ok"

    @property
    def is_call(self) -> bool:
        """A request reached the provider (a skip did not): counted as a call and a latency sample."""
        return self.outcome not in SKIPPED_OUTCOMES

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of one attempt in reports and the API, so failovers can be audited call by call."""
        return {
            "slot": self.slot,
            "provider": self.provider,
            "model": self.model,
            "outcome": self.outcome,
            "latency_ms": round(self.latency_ms, 1),
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "waited_ms": round(self.waited_ms, 1),
            "at": self.at,
            "failover": self.failover,
        }


def count_failovers(attempts: Iterable[Attempt]) -> int:
    """How many times a request moved to another slot: the records flagged by the router
    (skipping a slot whose circuit is open counts: the slot before it could not serve)."""
    return sum(1 for a in attempts if a.failover)


@dataclass(slots=True)
class ChatResult:
    """An answer with the slot, model and attempts that produced it, so the caller can
    report which model answered and what it cost.
    """

    content: str
    model: str  # the model that answered
    provider: str
    slot: str  # the slot that answered
    usage: Usage
    attempts: list[Attempt]
    reasoning: str | None = None
    finish_reason: str | None = None

    @property
    def failovers(self) -> int:
        """How many times the request moved to another slot before it was answered."""
        return count_failovers(self.attempts)


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One piece of a streamed answer: text, reasoning text, or the final result."""

    kind: Literal["content", "reasoning", "done"]
    text: str = ""
    result: ChatResult | None = None
