"""The cluster limits backend: per-credential concurrency, adaptive limits and circuits in Redis.

Several worker processes (or machines) that share one API key must together stay under the
provider's concurrency cap; per-process limiters let N processes run N x the cap and draw 1302s.
Here every slot is a *lease* in Redis: a ticket in a sorted set scored by its expiry, extended by
a heartbeat while held, so a SIGKILLed holder's slot frees by itself within ``lease_ttl_s``.
Waiters queue as tickets ordered by arrival; a Lua script (``redis_lua``) grants atomically to
the head of the queue while live holders < the effective limit, so order is FIFO across
processes and the limit is never exceeded. A grant is announced on a pub/sub channel, which
wakes exactly the granted waiter (the message is the grant: no second round trip); a jittered poll
every ``lease_ttl_s / 10`` (at most 2 s) is the safety net for a missed
message or an expired lease (expiry publishes nothing).

When Redis goes away every touch point (acquire and waiting, release, heartbeat, circuits, the
adaptive limit) raises one :class:`LimitsUnavailable` naming the redacted URL, what failed and the
fix; never the redis client's exception, and never a silent fallback to per-process limits.
Releases during an outage only log (the lease TTL frees the slot), and the listener and heartbeat
keep retrying, so once Redis is back new calls work without restarting the process.

Circuits are read on every call (before queueing, and again after a wait, while the granted slot
is already held), so each process keeps a *mirror* of them: a circuit opened or closed anywhere
is published on a second channel and applied locally, and the mirror is reloaded from Redis
whenever the subscription (re)starts and on every heartbeat (bounding what a missed message, or
a peer too old to publish, can hide). Reading a circuit is then a dictionary lookup instead of a
round trip inside the slot's hold time; while the subscription is down, reads go to Redis.

Keys hold credential ids hashed once more (ids are already key fingerprints, never keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import itertools
import json
import logging
import random
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from hunkwise.errors import ConfigurationError
from hunkwise.gateway.errors import LimitsUnavailable
from hunkwise.gateway.limits import redis_lua
from hunkwise.gateway.limits.base import Circuit, Lease
from hunkwise.gateway.limits.limiter import ADAPTIVE_RAISE_AFTER, NO_LEASE

_CLOSE_WAIT_S = 2.0  # how long aclose() waits for the listener and heartbeat to stop
log = logging.getLogger("hunkwise.gateway.limits")

# Unused per-credential state disappears after a day; an active credential refreshes it.
_IDLE_TTL_MS = 24 * 3600 * 1000


def _tag(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def redact_url(url: str) -> str:
    """``redis://user:secret@host`` -> ``redis://user:***@host``: a URL may carry a password."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://***@{host}"


class _RedisLease:
    __slots__ = ("_backend", "_keys", "_limit", "_released", "_ticket", "waited_ms")

    def __init__(
        self, backend: RedisBackend, keys: list[str], ticket: str, limit: int, waited_ms: float
    ) -> None:
        self._backend = backend
        self._keys = keys
        self._ticket = ticket
        self._limit = limit
        self._released = False
        self.waited_ms = waited_ms

    async def release(self) -> None:
        if self._released:  # idempotent: a second release must not free someone else's slot
            return
        self._released = True
        self._backend._held.pop(self._ticket, None)
        # Shielded: a release interrupted by cancellation still gives the slot back.
        await self._backend._leave_shielded(self._keys, self._ticket, self._limit)


class RedisBackend:
    """``RedisBackend("redis://127.0.0.1:6379/0")``: the :class:`LimitsBackend` for a cluster.

    ``lease_ttl_s``: how long a crashed holder keeps its slot; ``heartbeat_s``: how often live
    holders and waiters extend their tickets (must be well below the TTL).
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "hunkwise",
        lease_ttl_s: float = 30.0,
        heartbeat_s: float = 10.0,
    ) -> None:
        if lease_ttl_s <= 0 or heartbeat_s <= 0 or heartbeat_s * 2 > lease_ttl_s:
            raise ConfigurationError(
                f"lease_ttl_s={lease_ttl_s} and heartbeat_s={heartbeat_s}: both must be positive and "
                "the heartbeat at most half the lease TTL, or live leases expire between heartbeats",
                setting="limits",
            )
        if not namespace or any(c in namespace for c in "{} \t\n"):
            raise ConfigurationError(
                f"limits namespace {namespace!r} must be non-empty without spaces or braces",
                setting="limits",
            )
        from redis import asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialWithJitterBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import RedisError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        self.url = redact_url(url)
        # What a lost Redis raises (socket errors and timeouts are OSErrors): mapped to one
        # LimitsUnavailable at every touch point. The password is scrubbed from its reason too.
        self._failures: tuple[type[BaseException], ...] = (RedisError, OSError)
        self._unreachable: tuple[type[BaseException], ...] = (
            RedisConnectionError,
            RedisTimeoutError,
            OSError,
        )
        try:
            self._password = urlsplit(url).password or ""
        except ValueError:
            self._password = ""
        self._down = False  # an outage was reported: log it once, not once per call
        try:
            # A URL-built pool retries nothing: after a Redis restart every pooled connection
            # would fail its first command. Two quick retries on a fresh connection ride that
            # out (and a blip) while an outage still fails within milliseconds. The scripts are
            # idempotent per ticket; LOWER/SUCCESS may count twice on a retry, which is harmless.
            retry = Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), retries=2)
            self._redis: Any = aioredis.from_url(
                url, decode_responses=True, health_check_interval=30, retry=retry
            )
            # The subscriber must not retry: a PubSub that retries reconnects and resubscribes
            # inside redis-py, so the listener would never learn that messages were missed (and
            # would not reload the circuit mirror). Its own client, default (no) retries.
            self._subscriber: Any = aioredis.from_url(url, decode_responses=True, health_check_interval=30)
        except ValueError as exc:
            raise ConfigurationError(
                f"limits URL {self.url!r} is not a Redis URL ({exc}); use redis://host:6379/0",
                setting="limits",
            ) from None
        self.namespace = namespace
        self._lease_ttl_ms = int(lease_ttl_s * 1000)
        self._heartbeat_s = heartbeat_s
        # How often a waiter re-checks on its own; bounds the delay after a holder crashes.
        self._poll_s = max(0.05, min(2.0, lease_ttl_s / 10))
        self._channel = f"{namespace}:limits:granted"
        self._circuit_channel = f"{namespace}:limits:circuits"
        # Circuit key -> open circuit; ``None`` while the subscription that keeps it exact is down.
        self._mirror: dict[str, Circuit] | None = None
        # Bumped on every change to the mirror (a message, a local change, a replacement): a
        # slower reader that started before one must not overwrite it with older state.
        self._mirror_changes = 0
        self._instance = uuid.uuid4().hex[:12]
        self._counter = itertools.count()
        self._scripts = {
            name: self._redis.register_script(getattr(redis_lua, name))
            for name in ("ACQUIRE", "LEAVE", "HEARTBEAT", "LOWER", "SUCCESS")
        }
        self._waiting: dict[str, tuple[list[str], asyncio.Event]] = {}
        self._held: dict[str, tuple[list[str], int]] = {}
        self._limits: dict[str, int] = {}
        self._effective: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._cleanups: set[asyncio.Task[None]] = set()
        self._subscribed: asyncio.Event | None = None
        # Serialises the first enqueue of each acquire: concurrent commands travel on different
        # pooled connections and could reach Redis out of order; this keeps local FIFO exact.
        self._enqueue_lock = asyncio.Lock()
        self._closed = False

    # -- keys --------------------------------------------------------------------------------------
    def _keys(self, credential_id: str) -> list[str]:
        base = f"{self.namespace}:limits:{{{_tag(credential_id)}}}"
        return [f"{base}:holders", f"{base}:queue", f"{base}:waiters", f"{base}:adaptive", f"{base}:seq"]

    def _circuit_key(self, credential_id: str, model: str) -> str:
        return f"{self.namespace}:circuit:{_tag(credential_id + chr(0) + model)}"

    @property
    def _circuit_index(self) -> str:
        return f"{self.namespace}:circuits"

    # -- outages ----------------------------------------------------------------------------------
    def _unavailable(self, action: str, exc: BaseException) -> LimitsUnavailable:
        """The one error a lost Redis becomes (the caller raises it ``from None``)."""
        reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
        if self._password:
            reason = reason.replace(self._password, "***")
        if not self._down:
            self._down = True
            log.warning("limits: Redis at %s is unavailable (%s: %s)", self.url, action, reason)
        return LimitsUnavailable(self.url, action, reason, unreachable=isinstance(exc, self._unreachable))

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            log.warning("limits: Redis at %s is reachable again", self.url)

    # -- background work ---------------------------------------------------------------------------
    async def _ensure_started(self) -> None:
        """Ping, subscribe and start the heartbeat; callers hold ``_enqueue_lock``."""
        if self._tasks:
            return
        if self._closed:
            raise RuntimeError("this RedisBackend is closed")
        await self._ping()
        self._subscribed = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._listen(), name="hunkwise-limits-listen"),
            asyncio.create_task(self._heartbeat(), name="hunkwise-limits-heartbeat"),
        ]
        for task in self._tasks:
            task.add_done_callback(self._task_ended)
        # Grants published before the subscription would otherwise wait for the poll.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 5)

    async def _ready(self) -> None:
        """Started (ping, subscriber, heartbeat), so an unreachable Redis is one clear error
        whichever method the router calls first."""
        if not self._tasks:
            async with self._enqueue_lock:
                await self._ensure_started()

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        """The listener and heartbeat loop until closed; should one end anyway (a bug), say so and
        let the next call start both again instead of running on without them."""
        if self._closed or task not in self._tasks:
            return
        if task.cancelled():  # the event loop is shutting down without aclose(): nothing to report
            for other in self._tasks:
                other.cancel()
            self._tasks = []
            return
        error = task.exception()
        log.error(
            "limits: background task %s ended (%r); restarting on the next call", task.get_name(), error
        )
        for other in self._tasks:
            other.cancel()
        self._tasks = []

    async def _ping(self) -> None:
        try:
            await self._redis.ping()
        except self._failures as exc:
            raise self._unavailable("connect", exc) from None

    async def _listen(self) -> None:
        """Wake the local waiters a grant names; reconnect with backoff if Redis drops us."""
        backoff = 0.1
        lost = False
        while not self._closed:
            pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel, self._circuit_channel)
                # Subscribed first, loaded second: a change made in between arrives as a message
                # after the load and is applied on top of it.
                self._replace_mirror(await self._load_circuits())
                assert self._subscribed is not None
                self._subscribed.set()
                backoff = 0.1
                if lost:
                    lost = False
                    self._recovered()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    if message.get("channel") == self._circuit_channel:
                        self._apply_circuit_message(str(message["data"]))
                        continue
                    for ticket in str(message["data"]).split():
                        waiting = self._waiting.get(ticket)
                        if waiting is not None:
                            waiting[1].set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the poll keeps waiters moving while we reconnect
                self._replace_mirror(None)  # no longer kept exact: read circuits from Redis meanwhile
                if not lost:  # once per outage: retries every few seconds until Redis is back
                    log.warning("limits: pub/sub connection lost (%s); reconnecting", type(exc).__name__)
                lost = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _heartbeat(self) -> None:
        while not self._closed:
            await asyncio.sleep(self._heartbeat_s)
            try:
                await self._beat()
                await self._reload_mirror()
                if self._down:  # an outage was reported: notice its end even when idle
                    # A write, not a PING: a Redis that answers but refuses writes (out of memory,
                    # a read-only replica) is still down for the limits.
                    await self._redis.set(f"{self.namespace}:limits:probe", "1", px=60_000)
                    self._recovered()
            except asyncio.CancelledError:
                raise
            except self._failures as exc:  # Redis is gone: say so once, keep beating until it is back
                self._unavailable("heartbeat", exc)
            except Exception as exc:  # a missed beat is survivable: the TTL is several beats long
                log.warning("limits: heartbeat failed (%s: %s)", type(exc).__name__, exc)

    async def _beat(self) -> None:
        groups: dict[str, tuple[list[str], list[str]]] = {}
        for ticket, (keys, _) in list(self._held.items()):
            groups.setdefault(keys[0], (keys, []))[1].append(ticket)
        for ticket, (keys, _) in list(self._waiting.items()):
            groups.setdefault(keys[0], (keys, []))[1].append(ticket)
        for keys, tickets in groups.values():
            lost = await self._scripts["HEARTBEAT"](
                keys=keys, args=[self._lease_ttl_ms, self._lease_ttl_ms, *tickets]
            )
            for ticket in lost:
                if ticket in self._held:
                    log.warning(
                        "limits: a lease expired before its heartbeat (event loop stalled longer than "
                        "the lease TTL, or Redis restarted empty?); the cluster may briefly exceed the limit"
                    )

    # -- concurrency -------------------------------------------------------------------------------
    async def acquire(self, credential_id: str, limit: int | None, *, adaptive: bool = False) -> Lease:
        """A lease shared by every process: a queued ticket admitted in FIFO order by a Lua script and kept
        alive by the heartbeat, so a crashed holder's slot comes back after the TTL.
        """
        if limit is None:
            return NO_LEASE
        limit = max(1, limit)
        self._limits[credential_id] = limit
        keys = self._keys(credential_id)
        ticket = f"{self._instance}-{next(self._counter)}"
        event = asyncio.Event()
        self._waiting[ticket] = (keys, event)
        args = [ticket, limit, self._lease_ttl_ms, self._lease_ttl_ms, self._channel, _IDLE_TTL_MS]
        started = time.perf_counter()
        try:
            async with self._enqueue_lock:
                await self._ensure_started()
                granted, effective = await self._scripts["ACQUIRE"](keys=keys, args=args)
            self._effective[credential_id] = int(effective)
            first = bool(granted)
            while not granted:
                try:
                    async with asyncio.timeout(self._poll_s * random.uniform(0.8, 1.2)):
                        await event.wait()
                except TimeoutError:
                    # The safety net: a lost message, or a crashed holder's lease that expired
                    # (expiry publishes nothing). The script prunes and grants if it can.
                    granted, effective = await self._scripts["ACQUIRE"](keys=keys, args=args)
                    self._effective[credential_id] = int(effective)
                else:
                    granted = True  # only a grant naming this ticket sets the event
        except BaseException as exc:
            # Whatever state the ticket reached (queued, granted, unknown), withdraw it.
            self._waiting.pop(ticket, None)
            self._spawn_leave(keys, ticket, limit)
            if isinstance(exc, self._failures):
                raise self._unavailable("acquire a concurrency slot", exc) from None
            raise
        self._waiting.pop(ticket, None)
        self._held[ticket] = (keys, limit)
        waited = 0.0 if first else (time.perf_counter() - started) * 1000
        return _RedisLease(self, keys, ticket, limit, waited)

    def _spawn_leave(self, keys: list[str], ticket: str, limit: int) -> asyncio.Task[None]:
        task = asyncio.create_task(self._leave(keys, ticket, limit))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)
        return task

    async def _leave(self, keys: list[str], ticket: str, limit: int) -> None:
        try:
            await self._scripts["LEAVE"](keys=keys, args=[ticket, limit, self._lease_ttl_ms, self._channel])
        except Exception as exc:  # the lease TTL frees the slot anyway; never raise into a finally
            if not self._down:
                log.warning("limits: release failed (%s); the slot frees when its lease expires", exc)

    async def _leave_shielded(self, keys: list[str], ticket: str, limit: int) -> None:
        await asyncio.shield(self._spawn_leave(keys, ticket, limit))

    async def report_concurrency_error(self, credential_id: str) -> None:
        """Lower the key's adaptive limit for the whole cluster, atomically in Redis."""
        limit = self._limits.get(credential_id, "")
        try:
            effective = await self._scripts["LOWER"](keys=self._keys(credential_id), args=[limit])
        except self._failures as exc:
            raise self._unavailable("lower the adaptive limit", exc) from None
        if effective:
            self._effective[credential_id] = int(effective)

    async def report_success(self, credential_id: str) -> None:
        """Count a success towards raising the cluster's adaptive limit; waiters are
        woken through pub/sub when it rises.
        """
        limit = self._limits.get(credential_id, "")
        args = [limit, ADAPTIVE_RAISE_AFTER, self._lease_ttl_ms, self._channel]
        try:
            effective = await self._scripts["SUCCESS"](keys=self._keys(credential_id), args=args)
        except self._failures as exc:
            raise self._unavailable("count a success for the adaptive limit", exc) from None
        if effective:
            self._effective[credential_id] = int(effective)

    def effective_limit(self, credential_id: str) -> int | None:
        """The cluster's effective limit as of this process's last acquire or report."""
        return self._effective.get(credential_id)

    async def shared_effective_limit(self, credential_id: str) -> int | None:
        """The effective limit read from Redis now (what every process will use next)."""
        try:
            value = await self._redis.hget(self._keys(credential_id)[3], "effective")
        except self._failures as exc:
            raise self._unavailable("read the adaptive limit", exc) from None
        if value is not None:
            self._effective[credential_id] = int(value)
        return int(value) if value is not None else None

    async def in_flight(self, credential_id: str) -> int:
        """Live leases of this credential across the cluster (for status pages and tests)."""
        try:
            now_s, now_us = await self._redis.time()
            now_ms = int(now_s) * 1000 + int(now_us) // 1000
            return int(await self._redis.zcount(self._keys(credential_id)[0], f"({now_ms}", "+inf"))
        except self._failures as exc:
            raise self._unavailable("count the leases in flight", exc) from None

    async def queued(self, credential_id: str) -> int:
        """How many calls wait for this key across the cluster, for status and tests."""
        try:
            return int(await self._redis.zcard(self._keys(credential_id)[1]))
        except self._failures as exc:
            raise self._unavailable("count the queued calls", exc) from None

    # -- circuits ----------------------------------------------------------------------------------
    async def open_circuit(self, circuit: Circuit) -> None:
        """Open the circuit for every process sharing this Redis."""
        await self._ready()
        await self._write_circuit(self._circuit_key(circuit.credential_id, circuit.model), circuit)

    async def circuit(self, credential_id: str, model: str, now: float) -> Circuit | None:
        """The open circuit for the pair, from the pub/sub-fed mirror when it is live (no
        round trip on the hot path), else from Redis.
        """
        await self._ready()
        key = self._circuit_key(credential_id, model)
        if self._mirror is not None:
            found = self._mirror.get(key)
        else:
            try:
                found = _parse_circuit(await self._redis.get(key))
            except self._failures as exc:
                raise self._unavailable("read the circuit", exc) from None
        return found if found is not None and found.is_open(now) else None

    async def close_circuit(self, credential_id: str, model: str) -> None:
        """Close the circuit for every process sharing this Redis."""
        await self._ready()
        await self._write_circuit(self._circuit_key(credential_id, model), None)

    async def _write_circuit(self, key: str, circuit: Circuit | None) -> None:
        """Store ``circuit`` (or delete it: ``None``), keep the index, tell every process, and
        apply it to this process's mirror."""
        value = json.dumps(dataclasses.asdict(circuit)) if circuit is not None else None
        before = self._mirror_changes
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                if circuit is not None:
                    pipe.set(key, value, pxat=max(1, int(circuit.until * 1000)))
                    pipe.sadd(self._circuit_index, key)
                else:
                    pipe.delete(key)
                    pipe.srem(self._circuit_index, key)
                pipe.publish(self._circuit_channel, json.dumps({"key": key, "circuit": value}))
                await pipe.execute()
        except self._failures as exc:
            action = "open a circuit" if circuit is not None else "close a circuit"
            raise self._unavailable(action, exc) from None
        self._mirror_set_if_unchanged(before, key, circuit)

    async def _reload_mirror(self) -> None:
        """Replace the mirror with what Redis holds, unless it changed while we were reading
        (the snapshot could be older than that change; the next heartbeat tries again)."""
        if self._mirror is None:
            return
        changes = self._mirror_changes
        loaded = await self._load_circuits()
        if self._mirror is not None and changes == self._mirror_changes:
            self._replace_mirror(loaded)

    def _replace_mirror(self, mirror: dict[str, Circuit] | None) -> None:
        self._mirror_changes += 1
        self._mirror = mirror

    def _mirror_set_if_unchanged(self, before: int, key: str, circuit: Circuit | None) -> None:
        """Our own change, applied at once so this process sees it without waiting for its message
        -- unless a message arrived meanwhile: it may be our own, or a later change from another
        process that ours must not overwrite; either way the message stream has it right."""
        if self._mirror_changes == before:
            self._mirror_set(key, circuit)

    def _mirror_set(self, key: str, circuit: Circuit | None) -> None:
        if self._mirror is None:
            return
        self._mirror_changes += 1
        if circuit is None:
            self._mirror.pop(key, None)
        else:
            self._mirror[key] = circuit

    async def _load_circuits(self) -> dict[str, Circuit]:
        """Every circuit stored now, by key (expired ones included: reads check ``until``)."""
        keys = sorted(await self._redis.smembers(self._circuit_index))
        values = await self._redis.mget(keys) if keys else []
        found = {k: _parse_circuit(v) for k, v in zip(keys, values, strict=True) if v is not None}
        return {k: c for k, c in found.items() if c is not None}

    def _apply_circuit_message(self, data: str) -> None:
        if self._mirror is None:
            return
        try:
            message = json.loads(data)
            key, raw = str(message["key"]), message["circuit"]
        except (ValueError, KeyError, TypeError):
            log.warning("limits: ignoring a malformed circuit message")
            return
        self._mirror_set(key, _parse_circuit(raw) if raw is not None else None)

    async def circuits(self, now: float) -> list[Circuit]:
        """Every circuit open now in the cluster, for status pages."""
        await self._ready()
        try:
            keys = sorted(await self._redis.smembers(self._circuit_index))
            if not keys:
                return []
            values = await self._redis.mget(keys)
            expired = [k for k, v in zip(keys, values, strict=True) if v is None]
            if expired:  # Redis dropped them at their reset time; drop them from the index too
                await self._redis.srem(self._circuit_index, *expired)
        except self._failures as exc:
            raise self._unavailable("list the circuits", exc) from None
        found = (_parse_circuit(v) for v in values)
        return [c for c in found if c is not None and c.is_open(now)]

    # -- lifecycle ---------------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Hand back held slots, stop the heartbeat and listener, and close both connections, so a stopping
        worker frees its slots at once rather than after the TTL.
        """
        if self._closed:
            return
        self._closed = True
        for ticket, (keys, limit) in list(self._held.items()):  # nobody heartbeats them any more
            self._held.pop(ticket, None)
            self._spawn_leave(keys, ticket, limit)
        if self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        # Bounded, then by force: a listener cancelled while redis-py's PubSub is blocked reading
        # can stay "cancelling" for good (seen after a Redis restart: the read's future never
        # resolves and the cancellation is not delivered). Closing the clients closes the
        # PubSub's socket too (the pool disconnects in-use connections), which ends that read.
        pending: set[asyncio.Task[None]] = set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=_CLOSE_WAIT_S)
        await self._redis.aclose()
        await self._subscriber.aclose()
        if pending:
            _, pending = await asyncio.wait(pending, timeout=_CLOSE_WAIT_S)
        if pending:  # never block a stopping worker on it; the process is going away
            log.warning("limits: %d background task(s) did not stop; left behind", len(pending))
        for task in self._tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: no "exception was never retrieved" at shutdown

    def __repr__(self) -> str:
        return f"RedisBackend({self.url!r}, namespace={self.namespace!r})"


def _parse_circuit(raw: str | None) -> Circuit | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return Circuit(
            str(data["credential_id"]),
            str(data["model"]),
            float(data["until"]),
            str(data["kind"]),
            str(data["reason"]),
        )
    except (ValueError, KeyError, TypeError):
        log.warning("limits: ignoring a malformed circuit record")
        return None
