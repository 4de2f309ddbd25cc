"""One chat request through the simulated provider, in the order the real service checks it:
authentication, request shape, model, context window, quota and balance, concurrency; then,
while the request holds its in-flight slot, latency, an injected fault or the answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from hunkwise.catalog.loader import ModelCard
from hunkwise.sim import anthropic_wire, error_responses, faults, openai_wire
from hunkwise.sim.compose import Completion, compose, prefix_hashes, prompt_tokens
from hunkwise.sim.config import KeyKind
from hunkwise.sim.error_responses import Dialect, Failure
from hunkwise.sim.requests import BadRequest, ChatCall, parse_anthropic, parse_json, parse_openai_chat
from hunkwise.sim.state import SimState

LOGGED_RAW_BODY_CHARS = 10_000


@dataclass(frozen=True)
class Route:
    dialect: Dialect
    key_kind: KeyKind
    provider: str  # catalog provider whose cards this endpoint serves
    plan: str | None = None  # Z.AI plan (developer/coding) for the 1311 check


class _ReleasingStream(StreamingResponse):
    """A stream that frees its in-flight slot when the response ends, however it ends (finished,
    client gone, server stopping), so ``in_flight`` never leaks."""

    def __init__(self, content: Iterator[bytes], on_close: Callable[[], None]) -> None:
        super().__init__(content, media_type="text/event-stream", headers={"cache-control": "no-cache"})
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


def _release_before_last(events: list[bytes], release: Callable[[], None]) -> Iterator[bytes]:
    """Free the slot just before the final event goes out: a client that has read the whole
    stream and sends its next request at once must find the slot free (no spurious 1302)."""
    for i, event in enumerate(events):
        if i == len(events) - 1:
            release()
        yield event


def _credentials(request: Request, route: Route) -> str | None:
    if route.dialect == "anthropic" and (key := request.headers.get("x-api-key")):
        return key.strip() or None
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _auth_failure(state: SimState, route: Route, key: str | None) -> Failure | None:
    if key is None:
        return error_responses.auth(route.dialect, "missing")
    configured = state.keys.get(key)
    if configured is None:
        return error_responses.auth(route.dialect, "unknown")
    if configured.kind != route.key_kind:
        zai_kinds = {"developer", "coding"}
        wrong_plan = configured.kind in zai_kinds and route.key_kind in zai_kinds
        return error_responses.auth(route.dialect, "wrong_plan" if wrong_plan else "unknown")
    return None


def _model_failure(
    state: SimState, route: Route, key: str, call: ChatCall
) -> tuple[ModelCard | None, Failure | None]:
    d = route.dialect
    card = state.catalog.card(call.model)
    if card is None or card.provider != route.provider:
        return None, error_responses.model_not_found(d, call.model)
    allowed = state.keys[key].models
    if (allowed is not None and card.id not in allowed) or (route.plan and route.plan not in card.plans):
        return None, error_responses.plan_lacks_model(d, call.model)
    if d == "openai" and card.reasoning_effort:
        if call.max_tokens_field == "max_tokens":
            msg = (
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead."
            )
            return None, error_responses.unsupported(d, msg, "max_tokens")
        if call.temperature is not None and call.temperature != 1:
            msg = (
                f"Unsupported value: 'temperature' does not support {call.temperature:g} with this model. "
                "Only the default (1) value is supported."
            )
            return None, error_responses.unsupported(d, msg, "temperature")
    if call.max_tokens is not None and call.max_tokens > card.max_output_tokens:
        field = call.max_tokens_field or "max_tokens"
        msg = (
            f"{field}: {call.max_tokens} is too large; "
            f"{card.id} supports at most {card.max_output_tokens} output tokens"
        )
        return None, error_responses.bad_request(d, msg, field)
    tokens = prompt_tokens(call)
    if tokens > card.context_window:
        return None, error_responses.context_overflow(d, tokens, card.context_window)
    return card, None


def _cached_tokens(state: SimState, key: str, call: ChatCall) -> tuple[int, list[str]]:
    seen = state.stats[key].seen_prefixes
    hashes = prefix_hashes(call.texts)
    cached = max((tokens for h, tokens in hashes if h in seen), default=0)
    return cached, [h for h, _ in hashes]


def _render(
    state: SimState,
    route: Route,
    call: ChatCall,
    c: Completion,
    model: str,
    release: Callable[[], None],
    truncated: bool,
) -> Response:
    d = route.dialect
    if call.stream:
        if d == "anthropic":
            events = list(anthropic_wire.stream_events(c, model))
        else:
            events = list(openai_wire.stream_chunks(c, model, d, call.include_usage))
        if truncated:  # half the events, then half an event, then the connection ends
            cut = events[: max(1, len(events) // 2)]
            events = [*cut, events[len(cut)][: len(events[len(cut)]) // 2]]
        return _ReleasingStream(_release_before_last(events, release), release)
    body = (
        anthropic_wire.message_body(c, model)
        if d == "anthropic"
        else openai_wire.completion_body(c, model, d)
    )
    release()
    if truncated:
        text = json.dumps(body)
        return Response(text[: len(text) // 2], status_code=200, media_type="application/json")
    return JSONResponse(body)


async def handle_chat(request: Request, state: SimState, route: Route, shutdown: asyncio.Event) -> Response:
    arrived = asyncio.get_running_loop().time()
    raw = await request.body()
    key = _credentials(request, route)
    known = key if key in state.keys else None
    body: Any
    try:
        body = parse_json(raw)
        parse_error = None
    except BadRequest as exc:
        body, parse_error = raw.decode("utf-8", "replace")[:LOGGED_RAW_BODY_CHARS], exc
    state.record(known, request.url.path, body)

    def fail(failure: Failure) -> Response:
        response, name = failure
        if known is not None:
            state.stats[known].error(name)
        return response

    if auth := _auth_failure(state, route, key):
        return fail(auth)
    assert key is not None
    try:
        if parse_error is not None:
            raise parse_error
        call = parse_anthropic(body) if route.dialect == "anthropic" else parse_openai_chat(body)
    except BadRequest as exc:
        return fail(error_responses.bad_request(route.dialect, str(exc), exc.param))
    card, failure = _model_failure(state, route, key, call)
    if failure:
        return fail(failure)
    assert card is not None
    if forced := state.keys[key].force_error:
        return fail(error_responses.forced(forced))
    if denial := state.check_quota(key):
        if denial.reason == "balance":
            return fail(error_responses.balance(route.dialect))
        return fail(error_responses.quota(route.dialect, denial.reason, denial.reset_at))  # type: ignore[arg-type]
    if not state.try_acquire(key):
        return fail(error_responses.concurrency(route.dialect, state.limits[key].concurrency))
    return await _run_admitted(request, state, route, shutdown, key, call, card, arrived)


async def _run_admitted(
    request: Request,
    state: SimState,
    route: Route,
    shutdown: asyncio.Event,
    key: str,
    call: ChatCall,
    card: ModelCard,
    arrived: float,
) -> Response:
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            state.release(key)

    stats = state.stats[key]
    handed_off = False  # a stream releases the slot itself when it ends
    try:
        state.charge(key, card.id)
        fault = faults.draw(state)
        if delay := state.latency_seconds():
            # The latency is a service time counted from the request's arrival, so the time
            # spent reading and checking it is part of it, not added on top (a 200 ms setting
            # measured 209-215 ms per call when the sleep started after the checks).
            await asyncio.sleep(max(0.0, arrived + delay - asyncio.get_running_loop().time()))
        if fault not in (None, "truncated"):
            state.refund(key)
            stats.error(fault)
            if fault == "hang":
                await faults.hang(request, state.config.hang_seconds, shutdown)
                return error_responses.http_fault(route.dialect, "503")
            if fault == "reset":
                faults.reset_connection(request)
                return Response(status_code=500)  # never reaches the client: the socket is gone
            return error_responses.http_fault(route.dialect, fault)
        cached, hashes = _cached_tokens(state, key, call)
        completion = compose(call, card, cached_tokens=cached, show_reasoning=route.dialect != "openai")
        if fault == "truncated":
            state.refund(key)
            stats.error("truncated")
        else:
            stats.ok += 1
            stats.input_tokens += completion.prompt_tokens
            stats.output_tokens += completion.completion_tokens
            stats.seen_prefixes.update(hashes)
            state.bill(
                key,
                card.cost_usd(
                    completion.prompt_tokens, completion.completion_tokens, completion.cached_tokens
                ),
            )
        response = _render(state, route, call, completion, card.id, release, truncated=fault == "truncated")
        handed_off = isinstance(response, _ReleasingStream)
        return response
    finally:
        if not handed_off:
            release()
