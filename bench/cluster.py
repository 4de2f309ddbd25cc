"""Cluster benchmark: 4 worker processes share one per-key cap, against a provider that enforces it.

The simulator runs in its own process with service time L = 200 ms and a coding key whose
concurrency cap is c (a request beyond c is refused at once with 1302, like Z.AI). Four worker
processes take 40 review jobs of 5 model calls each from a shared list (an index in shared
memory) and run each job's calls concurrently, up to ``--jobs-per-worker`` jobs at a time, so
demand always exceeds the cap. Three systems run the same workload in the same run:

* ``ours``: ``Router`` + ``RedisBackend``: one cluster-wide, FIFO, leased limit of c;
* ``baseline``: ``Router`` + a per-process ``LocalBackend`` of c (what the peers do: 4 processes
  x c in flight together), with the router's default retries on 1302;
* ``litellm``: LiteLLM's ``Router`` with ``max_parallel_requests = c`` in each process, pointed
  at the simulator's Z.AI endpoint as an OpenAI-compatible model (when litellm is installed:
  ``pip install -e '.[bench]'``).

``max_in_flight`` is the peak number of chat requests inside the provider at once, counted by an
ASGI wrapper around the simulator (refused requests included while being refused);
``rejections_1302`` comes from the simulator's own stats; ``makespan_ratio`` = makespan /
(ceil(200 / c) x L), where makespan runs from the moment all workers are ready (imports and
connections done, and one call made through each system, as a long-running worker has: the
SDK's first call pays one-off costs of ~70 ms; the simulator's counters are reset after it) to
the last answer. Peak RSS is the largest worker's. ``floor`` is the same
200 calls from one process through the bare SDK behind an ``asyncio.Semaphore(c)``: the best
any limiter can do on this machine, so a ratio reads against it (HTTP + simulator CPU included).

Short measurements are repeated (``--repeat``; by default 3 times when the ideal makespan is at
most 10 s, i.e. c >= 5; once with ``--quick``), interleaved system after system, in a rotated
order on each run, so a burst of load from elsewhere on the machine hits every system alike.
A row reports the run with the median makespan, and the worst ``max_in_flight``,
``rejections_1302`` and ``failed_calls`` seen in any run (a promise must hold in every run);
``runs`` lists each run's figures.

    .venv/bin/python bench/cluster.py [--quick] [--json] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import resource
import sys
import time
import uuid
from typing import Any

KEY = "bench-coding-key-0001"
LATENCY_MS = 200.0
WORKERS = 4
JOBS = 40
CALLS_PER_JOB = 5
SYSTEMS = ("ours", "baseline", "litellm")
# Fresh interpreters (no inherited event loop or sockets), forked from a server that has already
# imported the heavy modules, so a measurement does not wait for 4 cold imports.
_SPAWN = mp.get_context("forkserver")
_PRELOAD = ["hunkwise.gateway", "hunkwise.sim", "openai", "httpx", "redis.asyncio"]


# -- the provider (its own process) ---------------------------------------------------------------
class _InFlight:
    """ASGI wrapper counting chat requests inside the simulator, the refused ones included."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.now = 0
        self.peak = 0

    @property
    def state(self) -> Any:  # SimulatorServer.stop() reaches for app.state
        return self.app.state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


def _provider(cap: int, conn: Any) -> None:
    from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer

    key = KeyConfig(key=KEY, kind="coding", tier="max", concurrency=cap, quota_5h=10**6, quota_week=10**7)
    server = SimulatorServer(SimConfig(keys=[key], latency_ms=LATENCY_MS))
    counter = _InFlight(server.app)
    server.app = counter
    server.start()
    conn.send(server.zai_coding_url)
    while True:
        command = conn.recv()
        if command == "stats":
            conn.send({"key": server.key_stats(KEY), "peak": counter.peak, "now": counter.now})
        elif command == "reset":
            server.reset()
            counter.peak = 0
            conn.send(True)
        else:
            server.stop()
            conn.send(True)
            return


# -- a worker (its own process) ---------------------------------------------------------------------
def _worker(system: str, cap: int, url: str, opts: dict[str, Any], shared: dict[str, Any]) -> None:
    try:
        out = asyncio.run(_work(system, cap, url, opts, shared))
    except Exception as exc:  # report, don't hang the parent on a barrier
        out = {"error": f"{type(exc).__name__}: {exc}"}
        with contextlib.suppress(Exception):
            shared["warmed"].abort()
            shared["ready"].abort()
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shared["results"].put(out)


async def _caller(system: str, cap: int, url: str, opts: dict[str, Any]) -> tuple[Any, Any]:
    """``(call(prompt) -> bool, close())`` for one system."""
    if system == "litellm":
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.telemetry = False
        params = {"model": "openai/glm-5.1", "api_base": url, "api_key": KEY, "max_parallel_requests": cap}
        router = litellm.Router(model_list=[{"model_name": "glm", "litellm_params": params}])

        async def call_litellm(prompt: str) -> bool:
            try:
                await router.acompletion(model="glm", messages=[{"role": "user", "content": prompt}])
                return True
            except Exception:
                return False

        async def close_litellm() -> None:
            return None

        return call_litellm, close_litellm

    from hunkwise.gateway import (
        AllSlotsFailed,
        ChatRequest,
        LocalBackend,
        RedisBackend,
        Router,
        Secret,
        Slot,
    )

    slot = Slot(
        name="main",
        provider="zai",
        base_url=url,
        model="glm-5.1",
        api_key=Secret(KEY),
        max_concurrent=cap,
        timeout_s=60.0,
    )
    if system == "ours":
        backend: Any = RedisBackend(opts["redis_url"], namespace=opts["namespace"])
        # A long-running worker has its Redis pool open; open it now (one connection per call
        # in flight). ``in_flight`` is a plain read; circuits are served from a local mirror and
        # would open nothing.
        await asyncio.gather(*(backend.in_flight("bench-warm-up") for _ in range(2 * cap + 8)))
        await (await backend.acquire("bench-warm-up", 1)).release()  # subscribe now
    else:
        backend = LocalBackend()
    router = Router([slot], backend=backend)

    async def call_router(prompt: str) -> bool:
        try:
            result = await router.chat(ChatRequest.of(prompt))
        except AllSlotsFailed:
            return False
        opts["call_ms"].extend(a.latency_ms for a in result.attempts if a.outcome == "ok")
        return True

    async def close_router() -> None:
        await router.aclose()
        await backend.aclose()

    return call_router, close_router


async def _work(
    system: str, cap: int, url: str, opts: dict[str, Any], shared: dict[str, Any]
) -> dict[str, Any]:
    opts = {**opts, "call_ms": []}
    call, close = await _caller(system, cap, url, opts)
    # One call first (a long-running worker is past its first call), then wait for the others;
    # the parent resets the simulator's counters in between, so warm-ups are not measured.
    await call("warm-up: review this hunk")
    opts["call_ms"].clear()
    await asyncio.to_thread(shared["warmed"].wait)
    await asyncio.to_thread(shared["ready"].wait)  # every worker set up: the clock starts
    ok = failed = 0
    next_job, lock = shared["next_job"], shared["lock"]

    def take() -> int | None:
        with lock:
            if next_job.value >= JOBS:
                return None
            next_job.value += 1
            return next_job.value - 1

    async def run_jobs() -> None:
        nonlocal ok, failed
        while (job := take()) is not None:
            done = await asyncio.gather(
                *(call(f"job {job} chunk {i}: review this hunk") for i in range(CALLS_PER_JOB))
            )
            ok += sum(done)
            failed += len(done) - sum(done)

    await asyncio.gather(*(run_jobs() for _ in range(opts["jobs_per_worker"])))
    end = time.time()
    await close()
    calls = opts["call_ms"]
    return {"ok": ok, "failed": failed, "end": end, "call_ms": sum(calls) / len(calls) if calls else None}


# -- one measurement ------------------------------------------------------------------------------
def _measure(system: str, cap: int, url: str, conn: Any, opts: dict[str, Any]) -> dict[str, Any]:
    conn.send("reset")
    conn.recv()
    warmed = _SPAWN.Barrier(WORKERS + 1)
    ready = _SPAWN.Barrier(WORKERS + 1)
    shared = {
        "warmed": warmed,
        "ready": ready,
        "next_job": _SPAWN.Value("i", 0, lock=False),
        "lock": _SPAWN.Lock(),
        "results": _SPAWN.Queue(),
    }
    run_opts = {**opts, "namespace": f"bench-{uuid.uuid4().hex[:10]}"}
    procs = [
        _SPAWN.Process(target=_worker, args=(system, cap, url, run_opts, shared)) for _ in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    with contextlib.suppress(Exception):  # a worker that failed to start reports its error below
        warmed.wait(timeout=120)
        conn.send("reset")
        conn.recv()
        ready.wait(timeout=120)
    start = time.time()
    outs = [shared["results"].get(timeout=opts["timeout_s"]) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
    _drop_namespace(opts["redis_url"], run_opts["namespace"])
    errors = [o["error"] for o in outs if "error" in o]
    if errors:
        return {"error": errors[0]}
    conn.send("stats")
    stats = conn.recv()
    makespan = max(o["end"] for o in outs) - start
    call_ms = _mean([o["call_ms"] for o in outs if o.get("call_ms") is not None])
    ideal = math.ceil(JOBS * CALLS_PER_JOB / cap) * LATENCY_MS / 1000
    return {
        "max_in_flight": stats["peak"],
        "sim_max_admitted": stats["key"]["max_in_flight"],
        "rejections_1302": stats["key"]["errors"].get("1302", 0),
        "failed_calls": sum(o["failed"] for o in outs),
        "ok_calls": sum(o["ok"] for o in outs),
        "makespan_s": round(makespan, 3),
        "makespan_ratio": round(makespan / ideal, 3),
        "worker_peak_rss_mb": round(max(o["rss_mb"] for o in outs), 1),
        "mean_call_ms": call_ms,
        # Makespan over what the provider's observed call time allows: the limiter's own share.
        "ratio_to_observed_calls": round(makespan / (ideal * call_ms / LATENCY_MS), 3) if call_ms else None,
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


async def _floor_run(url: str, cap: int) -> float:
    """One process, the bare SDK, an ``asyncio.Semaphore(cap)``: the best makespan any limiter
    can reach on this machine (no coordination, no router), to read the ratios against."""
    import openai

    client = openai.AsyncOpenAI(api_key=KEY, base_url=url, max_retries=0, timeout=60)
    gate = asyncio.Semaphore(cap)

    async def one(i: int) -> None:
        async with gate:
            await client.chat.completions.create(
                model="glm-5.1", messages=[{"role": "user", "content": f"chunk {i}: review this hunk"}]
            )

    await one(-1)  # connect first, like the workers do
    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(JOBS * CALLS_PER_JOB)))
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


def _floor(cap: int, url: str, conn: Any) -> dict[str, Any]:
    conn.send("reset")
    conn.recv()
    makespan = asyncio.run(_floor_run(url, cap))
    ideal = math.ceil(JOBS * CALLS_PER_JOB / cap) * LATENCY_MS / 1000
    return {"makespan_s": round(makespan, 3), "makespan_ratio": round(makespan / ideal, 3)}


def _drop_namespace(redis_url: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{namespace}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _litellm_available() -> str | None:
    try:
        import importlib.util

        return None if importlib.util.find_spec("litellm") else "litellm is not installed"
    except Exception as exc:  # a broken install counts as missing
        return str(exc)


def _repeats(cap: int, opts: dict[str, Any]) -> int:
    if opts.get("repeat"):
        return int(opts["repeat"])
    ideal_s = math.ceil(JOBS * CALLS_PER_JOB / cap) * LATENCY_MS / 1000
    return 3 if ideal_s <= 10 else 1


def _combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median-makespan run, with the worst promise figures of all runs and every run listed."""
    if any("error" in r for r in runs):
        return next(r for r in runs if "error" in r)
    ordered = sorted(runs, key=lambda r: r["makespan_s"])
    out = dict(ordered[(len(ordered) - 1) // 2])
    if len(runs) > 1:
        for field in ("max_in_flight", "rejections_1302", "failed_calls"):
            if field in out:
                out[field] = max(r[field] for r in runs)
        out["runs"] = [
            {k: r.get(k) for k in ("makespan_ratio", "max_in_flight", "rejections_1302", "failed_calls")}
            for r in runs
        ]
    return out


def run(caps: list[int], opts: dict[str, Any], log: Any) -> dict[str, Any]:
    results = []
    skip_litellm = _litellm_available()
    for cap in caps:
        parent, child = _SPAWN.Pipe()
        provider = _SPAWN.Process(target=_provider, args=(cap, child), daemon=True)
        provider.start()
        url = parent.recv()
        row: dict[str, Any] = {"cap": cap}
        systems = [s for s in opts.get("systems") or SYSTEMS if not (s == "litellm" and skip_litellm)]
        if skip_litellm and "litellm" in (opts.get("systems") or SYSTEMS):
            row["litellm"] = {"skipped": skip_litellm}
        measured: dict[str, list[dict[str, Any]]] = {name: [] for name in ["floor", *systems]}
        try:
            for attempt in range(_repeats(cap, opts)):
                if cap > 1:  # at c = 1 the floor is one call after another: mean call ms / L
                    measured["floor"].append(_floor(cap, url, parent))
                    log(f"cap {cap} run {attempt + 1}: floor: {measured['floor'][-1]}")
                # Rotate the order on each run, so no system always goes first or last.
                shift = attempt % len(systems)
                for system in systems[shift:] + systems[:shift]:
                    log(f"cap {cap} run {attempt + 1}: {system} ...")
                    measured[system].append(_measure(system, cap, url, parent, opts))
                    log(f"cap {cap} run {attempt + 1}: {system}: {measured[system][-1]}")
            for name, runs in measured.items():
                if not runs:
                    continue
                if name == "ours":
                    row.update(_combine(runs))
                else:
                    row[name] = _combine(runs)
        finally:
            parent.send("stop")
            with contextlib.suppress(EOFError):
                parent.recv()
            provider.join(timeout=15)
        results.append(row)
    return {
        "results": results,
        "setup": {
            "workers": WORKERS,
            "jobs": JOBS,
            "calls_per_job": CALLS_PER_JOB,
            "latency_ms": LATENCY_MS,
            "jobs_per_worker": opts["jobs_per_worker"],
            "repeats": {str(cap): _repeats(cap, opts) for cap in caps},
        },
    }


def _ratios(data: dict[str, Any]) -> str:
    """``1.064`` or, over several runs, the median and every run: ``1.064 (1.071, 1.064, 1.052)``."""
    runs = data.get("runs")
    median = f"{data['makespan_ratio']:.3f}"
    if not runs:
        return median
    each = ", ".join(f"{r['makespan_ratio']:.3f}" for r in runs)
    return f"{median} ({each})"


def _table(report: dict[str, Any]) -> str:
    lines = [
        "| cap | system | max in flight | 1302s | failed calls | makespan s | ratio | mean call ms "
        "| worker RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["results"]:
        for name in SYSTEMS:
            data = row if name == "ours" else row.get(name)
            if data is None:
                continue
            if "skipped" in data or "error" in data:
                lines.append(f"| {row['cap']} | {name} | {data.get('skipped') or data.get('error')} |||||")
                continue
            lines.append(
                f"| {row['cap']} | {name} | {data['max_in_flight']} | {data['rejections_1302']} | "
                f"{data['failed_calls']} | {data['makespan_s']:.2f} | {_ratios(data)} | "
                f"{data['mean_call_ms'] or '-'} | {data['worker_peak_rss_mb']:.1f} |"
            )
        floor = row.get("floor")
        if floor is None:
            continue
        lines.append(
            f"| {row['cap']} | floor (1 process, bare SDK, semaphore) | - | - | - | "
            f"{floor['makespan_s']:.2f} | {_ratios(floor)} | - | - |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="caps 1 and 5, one run each (about 2 minutes here)"
    )
    parser.add_argument("--caps", type=lambda s: [int(x) for x in s.split(",")], help="e.g. 1,5,30")
    parser.add_argument("--json", action="store_true", help="print the JSON report only")
    parser.add_argument("--redis", default=os.environ.get("HUNKWISE_LIMITS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--systems", type=lambda s: s.split(","), help="subset, e.g. ours,baseline")
    parser.add_argument("--jobs-per-worker", type=int, default=8)
    parser.add_argument("--repeat", type=int, help="runs per system and cap (default: 3 when c >= 5, else 1)")
    parser.add_argument("--timeout", type=float, default=600.0, help="per measurement, seconds")
    args = parser.parse_args()
    caps = args.caps or ([1, 5] if args.quick else [1, 5, 30])
    _SPAWN.set_forkserver_preload(_PRELOAD)
    if any(c < 1 for c in caps):
        parser.error("--caps: every cap must be at least 1")
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat: at least 1")
    opts = {
        "systems": args.systems,
        "redis_url": args.redis,
        "jobs_per_worker": args.jobs_per_worker,
        "timeout_s": args.timeout,
        "repeat": args.repeat or (1 if args.quick else None),
    }
    try:
        _drop_namespace(args.redis, "bench-never-used")  # fail fast if Redis is down
    except Exception as exc:
        raise SystemExit(f"cannot reach Redis at {args.redis}: {exc} (start it or pass --redis)") from None
    log = (lambda _m: None) if args.json else (lambda m: print(m, file=sys.stderr, flush=True))
    started = time.perf_counter()
    report = run(caps, opts, log)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(_table(report))
        print(f"\nwall time {report['wall_s']} s")


if __name__ == "__main__":
    main()
