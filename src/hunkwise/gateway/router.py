"""The policy: main -> fallbacks, retries with backoff, circuits with reset times, call records.

Policy is decided here and only here, from :class:`ErrorKind` (see ``policy.py`` for the table).
Adapters translate; the limits backend counts and remembers; the router chooses.
A :class:`LimitsUnavailable` from the backend (Redis down) is not a model failure: it ends the
call as a whole, without a circuit or a failover.

Hot-path budget: the per-slot work (catalog facts, override parsing) happens once in
``__init__``; a call does one in-memory circuit lookup, one lease and the adapter call. Nothing is
written to disk unless a circuit opens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime

from hunkwise.errors import ConfigurationError
from hunkwise.gateway.adapters import AnthropicWire, ClientPool, OpenAIWire
from hunkwise.gateway.adapters.base import Adapter
from hunkwise.gateway.errors import AllSlotsFailed, ErrorKind, LimitsUnavailable, ProviderError
from hunkwise.gateway.limits.base import Circuit, Lease, LimitsBackend
from hunkwise.gateway.limits.local import LocalBackend
from hunkwise.gateway.policy import CIRCUIT_KINDS, CONFIG_CIRCUIT_KINDS, RetryPolicy, RouterEvent
from hunkwise.gateway.thinking import SlotProfile, profile_for
from hunkwise.gateway.types import (
    SKIPPED_OPEN_CIRCUIT,
    SKIPPED_SMALLER_CONTEXT,
    Attempt,
    ChatRequest,
    ChatResult,
    Slot,
    StreamEvent,
    Usage,
)

log = logging.getLogger("hunkwise.gateway")

# A reset time the provider gives in the past (clock skew) still pauses the slot this long.
_MIN_CIRCUIT_S = 60.0


class _Run:
    """The bookkeeping of one request: every attempt and every error, in order."""

    __slots__ = ("attempts", "errors", "lowered", "overflow_window", "purpose")

    def __init__(self, purpose: str) -> None:
        self.attempts: list[Attempt] = []
        self.errors: list[ProviderError] = []
        self.overflow_window: int | None = None  # set after a context overflow
        self.purpose = purpose
        # Credentials whose adaptive limit this request already lowered: a request retried after a
        # 1302 is one caller over the limit, not several, so its later 1302s must not lower again.
        self.lowered: set[str] = set()

    def record(
        self,
        slot: Slot,
        cred: str,
        outcome: str,
        at: float,
        *,
        latency_ms: float = 0.0,
        waited_ms: float = 0.0,
        error: ProviderError | None = None,
        message: str = "",
        model: str | None = None,
        usage: Usage | None = None,
    ) -> None:
        """Append the record of one call (or skip) on ``slot``. The one place a failover is
        decided: a record on another slot than the record before it."""
        failover = bool(self.attempts) and self.attempts[-1].slot != slot.name
        self.attempts.append(
            Attempt(
                slot.name,
                slot.provider,
                model or slot.model,
                outcome,
                latency_ms,
                error.status if error else None,
                error.code if error else None,
                error.message if error else message,
                waited_ms,
                at,
                self.purpose,
                cred,
                slot.plan,
                slot.tier,
                usage if usage is not None else Usage(),
                failover,
                slot.simulated,
            )
        )


@dataclass(slots=True)
class _Step:
    """One call about to be made on one slot, and (set by the caller) how it failed."""

    slot: Slot
    profile: SlotProfile
    cred: str
    adapter: Adapter
    waited_ms: float  # queued for a concurrency lease before the call
    started: float  # perf_counter, for the latency
    at: float  # the router's clock, for the attempt's timestamp
    error: ProviderError | None = None

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


class Router:
    """The gateway's one entry point: a chat goes to the first usable slot under limits, retries and circuits,
    failing over in order, so callers never handle a provider's failure themselves.
    """

    def __init__(
        self,
        slots: Sequence[Slot],
        *,
        backend: LimitsBackend | None = None,
        policy: RetryPolicy | None = None,
        clients: ClientPool | None = None,
        clock: Callable[[], float] | None = None,
        on_event: Callable[[RouterEvent], None] | None = None,
        spread: bool = False,
    ) -> None:
        """``spread``: each call starts on whichever usable slot has a free concurrency lease
        first (the first slot when several do), instead of waiting for the first slot; the
        others stay its failover, in order. Many concurrent calls then share Main and Fallback
        like work-stealing workers, within every key's (cluster-wide) cap. Off: Main first,
        always (the Fallback is for failures)."""
        if not slots:
            raise ConfigurationError(
                "no model is configured: set ZAI_API_KEY (or HUNKWISE_MODEL and HUNKWISE_API_KEY)",
                setting="model",
            )
        self._slots = tuple(slots)
        self._profiles: tuple[SlotProfile, ...] = tuple(profile_for(s) for s in self._slots)
        # credential_id hashes the key: compute it once per slot, not once per call.
        self._creds: tuple[str, ...] = tuple(s.credential_id for s in self._slots)
        self._own_clients = clients is None
        self._clients = clients if clients is not None else ClientPool()
        self._adapters: dict[str, Adapter] = {
            "openai": OpenAIWire(self._clients),
            "anthropic": AnthropicWire(self._clients),
        }
        for slot, profile in zip(self._slots, self._profiles, strict=True):
            self._clients.warm(profile.wire, slot)
        self._own_backend = backend is None
        self._backend: LimitsBackend = backend if backend is not None else LocalBackend()
        self._policy = policy or RetryPolicy()
        self._clock = clock or time.time
        self.on_event = on_event
        self._spread = spread and len(self._slots) > 1

    @property
    def slots(self) -> tuple[Slot, ...]:
        """The slots in failover order, for callers that size work for them (the review engine's budget)."""
        return self._slots

    @property
    def backend(self) -> LimitsBackend:
        """The limits backend in use, so status commands can show open circuits and limits."""
        return self._backend

    async def open_circuits(self) -> list[Circuit]:
        """Circuits open now, for status output: why a slot is being skipped."""
        return await self._backend.circuits(self._clock())

    # -- shared steps ------------------------------------------------------------------------------
    def _emit(self, event: RouterEvent) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:  # a broken progress display must not break a review
            log.exception("router on_event hook failed")

    async def _usable(self, slot: Slot, cred: str, run: _Run) -> bool:
        """Whether to call ``slot`` now; records why not when skipping it."""
        if run.overflow_window is not None and slot.context_window <= run.overflow_window:
            message = f"context window {slot.context_window} is not larger than {run.overflow_window}"
            run.record(slot, cred, SKIPPED_SMALLER_CONTEXT, self._clock(), message=message)
            return False
        return not await self._circuit_open(slot, cred, run)

    async def _circuit_open(self, slot: Slot, cred: str, run: _Run) -> bool:
        """Whether ``slot``'s circuit is open now; records the skip when it is."""
        now = self._clock()
        circuit = await self._backend.circuit(cred, slot.model, now)
        if circuit is None:
            return False
        kind = ErrorKind(circuit.kind)
        message = f"circuit open until {_fmt_epoch(circuit.until)} ({kind.value}: {circuit.reason})"
        run.record(slot, cred, SKIPPED_OPEN_CIRCUIT, now, message=message)
        run.errors.append(
            ProviderError(
                kind,
                message,
                provider=slot.provider,
                model=slot.model,
                slot=slot.name,
                reset_at=_dt(circuit.until),
            )
        )
        self._emit(RouterEvent("skip", slot.label, kind.value, message, until=circuit.until))
        return True

    async def _decide(
        self, slot: Slot, cred: str, err: ProviderError, retry: int, run: _Run, last: bool
    ) -> float | None:
        """After a failed call: the delay before retrying the same slot, or ``None`` to move on."""
        kind = err.kind
        if kind is ErrorKind.CONCURRENCY and slot.adaptive_concurrency and cred not in run.lowered:
            run.lowered.add(cred)
            await self._backend.report_concurrency_error(cred)
        if kind in CIRCUIT_KINDS:
            now = self._clock()
            until = err.reset_at.timestamp() if err.reset_at else now + self._policy.circuit_default_s(kind)
            until = max(until, now + _MIN_CIRCUIT_S)
            await self._backend.open_circuit(Circuit(cred, slot.model, until, kind.value, err.message))
            self._emit(RouterEvent("circuit_open", slot.label, kind.value, err.message, until=until))
        elif kind in CONFIG_CIRCUIT_KINDS:
            # No reset time and no minimum: the operator chose how soon a fixed key is noticed.
            until = self._clock() + self._policy.configuration_circuit_s
            await self._backend.open_circuit(Circuit(cred, slot.model, until, kind.value, err.message))
            log.warning(
                "%s: configuration error (%s), slot skipped until %s: %s",
                slot.label,
                kind.value,
                _fmt_epoch(until),
                err.message,
            )
            self._emit(RouterEvent("circuit_open", slot.label, kind.value, err.message, until=until))
            self._emit(RouterEvent("config_error", slot.label, kind.value, err.message))
            if not last:
                self._emit(RouterEvent("failover", slot.label, kind.value, err.message))
            return None
        elif kind is ErrorKind.CONTEXT_OVERFLOW:
            run.overflow_window = max(run.overflow_window or 0, slot.context_window)
        elif retry < self._policy.retries_for(kind):
            delay = self._policy.backoff.delay(retry)
            self._emit(RouterEvent("retry", slot.label, kind.value, err.message, delay_s=delay))
            return delay
        if kind.is_configuration:
            log.warning("%s: configuration error (%s): %s", slot.label, kind.value, err.message)
            self._emit(RouterEvent("config_error", slot.label, kind.value, err.message))
        if not last:
            self._emit(RouterEvent("failover", slot.label, kind.value, err.message))
        return None

    async def _steps(self, run: _Run) -> AsyncIterator[_Step]:
        """The per-slot loop both entry points share: skip unusable slots, take a concurrency
        lease, hand the caller one call to make (a :class:`_Step`), then record its failure and
        decide: retry the same slot after a delay, or move on. The lease is released when the
        caller is done with the step, including when it stops early (an answer, a cancellation):
        iterate under ``aclosing`` (or close it in a ``finally``)."""
        order: list[int] = list(range(len(self._slots)))
        ready: tuple[int, Lease] | None = None
        if self._spread:
            order, ready = await self._first_free(run)
        for position, index in enumerate(order):
            slot, profile, cred = self._slots[index], self._profiles[index], self._creds[index]
            if not self._spread and not await self._usable(slot, cred, run):
                continue
            adapter = self._adapters[profile.wire]
            retry = 0
            while True:
                if ready is not None and ready[0] == index:
                    lease, ready = ready[1], None
                else:
                    lease = await self._lease(index)
                # Queued behind the lease or retrying: another call may have opened the circuit
                # meanwhile (a spent quota): look again rather than call a key known to be spent.
                if retry or lease.waited_ms:
                    try:
                        spent = await self._circuit_open(slot, cred, run)
                    except BaseException:
                        await lease.release()
                        raise
                    if spent:
                        await lease.release()
                        break
                step = _Step(
                    slot, profile, cred, adapter, lease.waited_ms, time.perf_counter(), self._clock()
                )
                try:
                    yield step
                finally:
                    await lease.release()
                if step.error is None:
                    return
                self._record_failure(step, step.error, run)
                delay = await self._decide(
                    slot, cred, step.error, retry, run, last=position == len(order) - 1
                )
                if delay is None:
                    break
                retry += 1
                await asyncio.sleep(delay)

    async def _lease(self, index: int) -> Lease:
        """A concurrency lease on slot ``index``'s key (waits for a free one)."""
        slot = self._slots[index]
        return await self._backend.acquire(
            self._creds[index], slot.max_concurrent, adaptive=slot.adaptive_concurrency
        )

    async def _first_free(self, run: _Run) -> tuple[list[int], tuple[int, Lease] | None]:
        """Spread mode: the usable slots, the one whose lease came first at their head (with that
        lease). Every usable slot's lease is asked for at once; the first granted wins (the
        earliest slot when several are granted together) and the other requests are withdrawn,
        or released if they were granted meanwhile, so no lease is held that is not used."""
        usable = [
            i for i, (slot, cred) in enumerate(zip(self._slots, self._creds, strict=True))
            if await self._usable(slot, cred, run)
        ]  # fmt: skip
        if len(usable) < 2:
            return usable, None
        asks = {i: asyncio.create_task(self._lease(i)) for i in usable}
        cancelled = False
        try:
            await asyncio.wait(asks.values(), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            cancelled = True
        for task in asks.values():
            if not task.done():
                task.cancel()
        await asyncio.gather(*asks.values(), return_exceptions=True)
        granted = [i for i in usable if not asks[i].cancelled() and asks[i].exception() is None]
        winner = None if cancelled or not granted else granted[0]
        for i in granted:
            if i != winner:
                await asks[i].result().release()
        if cancelled:
            raise asyncio.CancelledError
        if winner is None:  # every request failed (the limits backend): the first failure says why
            raise next(exc for i in usable if (exc := asks[i].exception()) is not None)
        first = [winner] + [i for i in usable if i != winner]
        return first, (winner, asks[winner].result())

    @staticmethod
    def _record_failure(step: _Step, err: ProviderError, run: _Run) -> None:
        run.record(
            step.slot,
            step.cred,
            err.kind.value,
            step.at,
            latency_ms=step.elapsed_ms(),
            waited_ms=step.waited_ms,
            error=err,
        )
        run.errors.append(err)

    async def _answered(self, step: _Step, result: ChatResult, run: _Run) -> ChatResult:
        run.record(
            step.slot,
            step.cred,
            "ok",
            step.at,
            latency_ms=step.elapsed_ms(),
            waited_ms=step.waited_ms,
            model=result.model,
            usage=result.usage,
        )
        result.attempts = run.attempts
        return result

    async def _report_success(self, step: _Step) -> None:
        """Count a success towards raising a lowered adaptive limit. Called after the lease is
        released where possible: with a Redis backend it is a round trip that would otherwise
        lengthen the slot's hold time and delay the next waiter."""
        if step.slot.adaptive_concurrency:
            try:
                await self._backend.report_success(step.cred)
            except LimitsUnavailable as exc:
                # The answer is paid for and in hand; a lost success count only delays raising the
                # adaptive limit. Every other backend call lets LimitsUnavailable through, unchanged:
                # it is no ProviderError, so no circuit opens and no fallback slot is tried (the
                # fallback's call would bypass the cluster limit just the same).
                log.warning("%s: answer kept, success not counted: %s", step.slot.label, exc)

    # -- entry points ------------------------------------------------------------------------------
    async def chat(self, request: ChatRequest) -> ChatResult:
        """One chat with the whole policy; every attempt is recorded on the result, so
        usage and failovers are accounted once.
        """
        run = _Run(request.purpose)
        answer: ChatResult | None = None
        answered: _Step | None = None
        steps = self._steps(run)
        try:  # not ``aclosing``: the same guarantee, ~1.5 us cheaper per call on the hot path
            async for step in steps:
                try:
                    result = await step.adapter.chat(step.slot, request, step.profile)
                except ProviderError as err:
                    step.error = err
                    continue
                # No early return: letting the loop resume ends the step generator normally
                # (lease released, no GeneratorExit thrown in), which is cheaper.
                answer = await self._answered(step, result, run)
                answered = step
        finally:
            await steps.aclose()  # releases the lease when the call was cancelled or raised
        if answer is not None and answered is not None:
            await self._report_success(answered)
            return answer
        raise AllSlotsFailed(run.errors, run.attempts)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream the answer; failover happens only before the first piece of text arrives."""
        run = _Run(request.purpose)
        done: tuple[_Step, StreamEvent] | None = None
        async with aclosing(self._steps(run)) as steps:
            async for step in steps:
                emitted = False
                try:
                    async with aclosing(step.adapter.stream(step.slot, request, step.profile)) as events:
                        async for event in events:
                            if event.kind == "done" and event.result is not None:
                                await self._answered(step, event.result, run)
                                done = (step, event)
                                break
                            emitted = True
                            yield event
                except ProviderError as err:
                    if emitted:  # the caller already has part of this answer: no silent switch
                        self._record_failure(step, err, run)
                        raise AllSlotsFailed(run.errors, run.attempts) from err
                    step.error = err
                if done is not None:
                    break
        if done is None:
            raise AllSlotsFailed(run.errors, run.attempts)
        # The lease is released by now (the steps closed): count the success, then finish.
        await self._report_success(done[0])
        yield done[1]

    async def aclose(self) -> None:
        """Close what the router made itself (clients, backend) and nothing it was
        given, so a shared pool outlives one router.
        """
        if self._own_clients:
            await self._clients.aclose()
        if self._own_backend:
            await self._backend.aclose()

    async def __aenter__(self) -> Router:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _fmt_epoch(epoch: float) -> str:
    return _dt(epoch).strftime("%Y-%m-%d %H:%M:%S UTC")
