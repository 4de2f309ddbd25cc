"""The ``hunkwise worker`` process: Dramatiq worker threads feeding one asyncio event loop.

Lifecycle:

- start: the store must be PostgreSQL (every worker and the server share it); the broker and the
  database are checked before consuming, so a typo fails in the first second, not at the first job.
- run: ``concurrency`` jobs at once; a sweeper (one per cluster at a time, by a PostgreSQL advisory
  lock) re-publishes jobs that are due but may have no message (the server died between the insert
  and the publish; the broker dead-lettered a message while the database was down).
- SIGTERM/SIGINT: stop taking messages, let running jobs finish for ``grace_s``, then hand the
  rest back (row released with its attempt refunded, message re-published), and exit 0.
- SIGKILL: nothing runs; RabbitMQ redelivers the unacknowledged messages, and the next worker
  takes the job over at once: the process held a PostgreSQL advisory lock for its whole life
  (:mod:`hunkwise.store.presence`), which ended with its database session. Were the lock not
  visibly free (the machine vanished, the session lingers), the lease expiring still frees it.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text

from hunkwise.errors import Backoff, ConfigurationError
from hunkwise.jobs.distributed.broker import ACTOR_NAME, Publisher, QueueSettings, declare_actor, make_broker
from hunkwise.jobs.distributed.runner import JobRunner
from hunkwise.jobs.metrics import CONTENT_TYPE, JobMetrics
from hunkwise.jobs.mode import describe
from hunkwise.jobs.retry import JOB_BACKOFF
from hunkwise.store.presence import Presence, hold, registered

if TYPE_CHECKING:
    from hunkwise.jobs.runtime import Runtime

log = logging.getLogger("hunkwise.worker")

SWEEP_LOCK_KEY = 0x70617463  # "patc": one sweeper per database at a time


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    concurrency: int = 4
    lease_s: float = 30.0
    grace_s: float = 30.0
    backoff: Backoff = JOB_BACKOFF
    sweep_s: float = 30.0
    stale_s: float = 60.0
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None


def require_postgres(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        raise ConfigurationError(
            "distributed workers share the job store, so it must be PostgreSQL: set "
            "HUNKWISE_DATABASE_URL=postgresql+psycopg://user@host:5432/db on the server and every "
            f"worker (the store is {engine.dialect.name} now)",
            setting="HUNKWISE_DATABASE_URL",
        )


def describe_limits(backend: Any) -> str:
    """The limits backend for the start-up line (a Redis password is masked)."""
    from hunkwise.gateway import RedisBackend

    if isinstance(backend, RedisBackend):
        return f"Redis {backend.url} namespace {backend.namespace}, shared by every worker"
    return "per process (HUNKWISE_LIMITS_URL unset)"


def check(engine: Engine, publisher: Publisher, *, quiet: bool = False) -> dict[str, Any]:
    """Readiness: the database answers and the broker answers (raises with a readable reason).
    ``quiet``: at start-up, the broker libraries' own error logs are held back."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise ConfigurationError(f"the database is unreachable ({type(exc).__name__})") from None
    depth = publisher.check(quiet=quiet)
    return {"database": engine.dialect.name, "broker": publisher.settings.kind, "queue": depth}


def new_owner() -> str:
    """A fresh lease owner for this process, registered for presence (its lock is taken in
    :meth:`WorkerProcess.run` before any job is claimed under it)."""
    return registered(f"{os.uname().nodename}-{os.getpid()}-{secrets.token_hex(3)}")


def hold_presence(engine: Engine, first_owner: str) -> Presence:
    """Take this worker's presence lock (a readable error when the database refuses)."""
    owners = iter([first_owner])
    try:
        return hold(engine, lambda: next(owners, None) or new_owner())
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(
            f"the database refused the worker's presence lock ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no detail'})",
            setting="HUNKWISE_DATABASE_URL",
        ) from None


class WorkerProcess:
    def __init__(self, runtime: Runtime, queue: QueueSettings, options: WorkerOptions) -> None:
        from dramatiq.middleware import Middleware

        from hunkwise.jobs.command_job import command_handlers
        from hunkwise.jobs.embedded import review_deps
        from hunkwise.jobs.review_job import StatusHooks, make_handlers

        self.engine: Engine = runtime.engine
        require_postgres(self.engine)
        self.mode = describe(runtime.fixed)
        self.options = options
        self.owner = new_owner()
        self.presence: Presence | None = None
        self.metrics = JobMetrics()
        # Per-key limits and circuits must hold across the cluster: the runtime's backend is Redis
        # when HUNKWISE_LIMITS_URL is set (docs/cluster.md), else one local backend per process.
        self.deps = review_deps(runtime)
        if type(self.deps.backend).__name__ == "LocalBackend":
            log.warning(
                "HUNKWISE_LIMITS_URL is not set: per-key concurrency limits and circuits hold in "
                "this process only; set it to a Redis URL so they hold across workers (docs/cluster.md)"
            )
        backend = self.deps.backend

        class CloseBackend(Middleware):  # its after_worker_shutdown runs before the loop stops
            def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
                from dramatiq.asyncio import get_event_loop_thread

                loop_thread = get_event_loop_thread()
                if backend is not None and loop_thread is not None:
                    try:
                        loop_thread.run_coroutine(backend.aclose())
                    except Exception:
                        log.exception("closing the limits backend failed")

        self.broker = make_broker(queue, worker=True, on_loop=(CloseBackend(),))
        self.runner: JobRunner | None = None

        async def hunkwise_review(job_id: int) -> None:
            assert self.runner is not None
            await self.runner.process(job_id)

        hunkwise_review.__name__ = ACTOR_NAME
        declare_actor(self.broker, queue, hunkwise_review)
        self.publisher = Publisher(queue, self.broker)
        self.runner = JobRunner(
            self.engine,
            make_handlers(self.deps) | command_handlers(self.deps, runtime.settings.bot_handle),
            lambda job_id, delay: self.publisher.publish(job_id, delay_s=delay),
            owner=self.owner,
            lease_s=options.lease_s,
            backoff=options.backoff,
            metrics=self.metrics,
            may_claim=lambda: self.presence is not None and self.presence.held,
            hooks=(StatusHooks(self.deps),),
        )
        self.metrics.add_shared(self.engine, self.publisher.depth)
        self._stop = threading.Event()
        self._ready = False
        self.worker: Any = None

    # --- running ---------------------------------------------------------------------------------

    def run(self) -> int:
        import dramatiq

        check(self.engine, self.publisher, quiet=True)
        assert self.runner is not None
        self.presence = hold_presence(self.engine, self.owner)
        # A hash collision with a live worker's key makes ``hold`` pick another owner string.
        self.owner = self.runner.owner = self.presence.owner
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        http = self._serve_http() if self.options.metrics_port is not None else None
        self.worker = dramatiq.Worker(
            self.broker, worker_threads=self.options.concurrency, worker_timeout=500
        )
        # One message per worker thread, not Dramatiq's two: a waiting job stays "ready" on the
        # broker, where an idle worker elsewhere can take it and the sweeper can see it.
        self.worker.queue_prefetch = self.options.concurrency
        self.worker.start()
        self._ready = True
        sweeper = threading.Thread(target=self._sweep_loop, name="hunkwise-sweeper", daemon=True)
        sweeper.start()
        log.info(
            "worker %s consuming queue %s on %s (concurrency %s, lease %.0f s); mode: %s; limits: %s",
            self.owner,
            self.publisher.settings.queue_name,
            self.publisher.settings.shown,
            self.options.concurrency,
            self.options.lease_s,
            self.mode,
            describe_limits(self.deps.backend),
        )
        self._stop.wait()
        self._ready = False
        self._shutdown()
        if http is not None:
            http.shutdown()
        return 0

    def _shutdown(self) -> None:
        from dramatiq.asyncio import get_event_loop_thread

        assert self.runner is not None
        runner = self.runner
        log.info(
            "stopping: finishing %s running job(s) within %.0f s", len(runner.inflight), self.options.grace_s
        )

        def hand_back() -> None:
            loop_thread = get_event_loop_thread()
            if loop_thread is not None and runner.inflight:
                log.info("grace period over: handing back job(s) %s", runner.inflight)
                loop_thread.loop.call_soon_threadsafe(runner.hand_back_all)

        timer = threading.Timer(self.options.grace_s, hand_back)
        timer.daemon = True
        timer.start()
        self.worker.stop(timeout=int((self.options.grace_s + 30) * 1000))
        timer.cancel()
        self.broker.close()
        if self.presence is not None:
            self.presence.close()  # last: the jobs are finished or handed back by now
        log.info("worker %s stopped", self.owner)

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.options.sweep_s):
            try:
                n = self.sweep()
                if n:
                    log.warning("sweeper re-published %s stranded job(s)", n)
            except Exception as exc:
                log.warning("sweeping stranded jobs failed: %s", type(exc).__name__)

    def sweep(self) -> int:
        """Publish due jobs that may have no message; only while the main queue is empty, so a
        long backlog is not flooded with duplicates (a duplicate is harmless, but not free).
        Workers prefetch one message per thread, so an empty main queue means every waiting job's
        message, if it has one, is in a worker's hands (its job running) or delayed (not due)."""
        from hunkwise.store.jobs import stranded

        if self.publisher.depth()["ready"]:
            return 0
        with self.engine.begin() as conn:
            if not conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK_KEY}):
                return 0
            ids = stranded(self.engine, idle_s=self.options.stale_s)
            for job_id in ids:
                self.publisher.publish(job_id)
        return len(ids)

    # --- health and metrics ----------------------------------------------------------------------

    def _serve_http(self) -> ThreadingHTTPServer:
        process = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, process.metrics.render(), CONTENT_TYPE)
                elif path == "/healthz":
                    self._send(200, b'{"status": "ok"}\n', "application/json")
                elif path == "/readyz":
                    self._ready()
                else:
                    self._send(404, b'{"detail": "not found"}\n', "application/json")

            def _ready(self) -> None:
                import json

                if not process._ready:
                    self._send(503, b'{"detail": "starting or stopping"}\n', "application/json")
                    return
                if process.presence is None or not process.presence.held:
                    detail = b'{"detail": "presence lock lost; reconnecting to the database"}\n'
                    self._send(503, detail, "application/json")
                    return
                try:
                    body = check(process.engine, process.publisher)
                except ConfigurationError as exc:
                    self._send(503, json.dumps({"detail": str(exc)}).encode() + b"\n", "application/json")
                    return
                body["inflight"] = len(process.runner.inflight) if process.runner else 0
                self._send(200, json.dumps(body).encode() + b"\n", "application/json")

            def _send(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer((self.options.metrics_host, self.options.metrics_port or 0), Handler)
        threading.Thread(target=server.serve_forever, name="hunkwise-metrics", daemon=True).start()
        log.info("health and metrics on http://%s:%s/metrics", *server.server_address[:2])
        return server
