"""Added latency of ``Router.chat`` over the bare ``openai`` SDK, against the simulator.

Both paths send the same body to the same zero-latency simulator over real loopback HTTP, one
call of each interleaved per round, so machine noise hits both equally. The difference of the
medians is what the gateway costs per call (catalog-free hot path, limiter lease, circuit
lookup, error translation wrapper, attempt records).

    .venv/bin/python bench/gateway_overhead.py [--calls 400] [--limit 1] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


KEY = "bench-dev-key-0001"
# The simulator runs in its own process: in this one, its thread would share the GIL with the
# client and every call would pay thread-switch intervals that have nothing to do with either path.
_SERVE = f"""
import sys
from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer
server = SimulatorServer(SimConfig(keys=[KeyConfig(key={KEY!r}, kind="developer")])).start()
print(server.zai_developer_url, flush=True)
sys.stdin.read()
server.stop()
"""


def run(calls: int, limit: int | None) -> dict[str, Any]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url:
            raise SystemExit("the simulator did not start (see the error above)")
        result = asyncio.run(_measure(url, calls, limit))
        result["router_bookkeeping_us"] = _bookkeeping_us()
        return result
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=15)


async def _measure(url: str, calls: int, limit: int | None) -> dict[str, Any]:
    import openai

    from hunkwise.gateway import ChatRequest, Router, Secret, Slot

    key = KEY
    slot = Slot(
        name="main",
        provider="zai",
        base_url=url,
        model="glm-5.1",
        api_key=Secret(key),
        max_concurrent=limit,
        thinking="medium",
        input_price=1.4,
        output_price=4.4,
    )
    bare = openai.AsyncOpenAI(api_key=key, base_url=url, max_retries=0, timeout=30)
    router = Router([slot])
    messages = [{"role": "user", "content": "Review this change: x = 1"}]
    request = ChatRequest.of("Review this change: x = 1")

    async def sdk_call() -> None:
        await bare.chat.completions.create(
            model="glm-5.1", messages=messages, extra_body={"thinking": {"type": "enabled"}}, timeout=30
        )

    async def router_call() -> None:
        await router.chat(request)

    for _ in range(20):  # warm both connection pools and code paths
        await sdk_call()
        await router_call()
    sdk_ms: list[float] = []
    router_ms: list[float] = []
    for i in range(calls):
        order = (sdk_call, router_call) if i % 2 == 0 else (router_call, sdk_call)
        for fn in order:
            started = time.perf_counter()
            await fn()
            elapsed = (time.perf_counter() - started) * 1000
            (sdk_ms if fn is sdk_call else router_ms).append(elapsed)
    await router.aclose()
    await bare.close()

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "p50_ms": round(statistics.median(values), 3),
            "p99_ms": round(_pct(values, 0.99), 3),
            "calls_per_s": round(1000 / statistics.fmean(values), 1),
        }

    sdk, rt = summary(sdk_ms), summary(router_ms)
    return {
        "calls": calls,
        "max_concurrent": limit,
        "bare_sdk": sdk,
        "router": rt,
        "overhead_p50_ms": round(rt["p50_ms"] - sdk["p50_ms"], 3),
        "overhead_p99_ms": round(rt["p99_ms"] - sdk["p99_ms"], 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _bookkeeping_us(calls: int = 20_000) -> float:
    """The router's own per-call work (circuit lookup, lease, body building, attempt records),
    with the adapter's network call replaced by an immediate answer: the floor the HTTP numbers
    above cannot resolve on a loaded machine."""
    from hunkwise.gateway import ChatRequest, ChatResult, Router, Secret, Slot, Usage
    from hunkwise.gateway.thinking import build_body, messages_for

    class _Instant:
        async def chat(self, slot: Slot, request: ChatRequest, profile: object) -> ChatResult:
            build_body(slot, request, profile)  # type: ignore[arg-type]
            messages_for("openai", request)
            return ChatResult("ok", slot.model, slot.provider, slot.name, Usage(calls=1), [])

    async def go() -> float:
        slot = Slot(
            name="main",
            provider="zai",
            base_url="http://127.0.0.1:9/api/paas/v4",
            model="glm-5.1",
            api_key=Secret(KEY),
            max_concurrent=1,
        )
        router = Router([slot])
        router._adapters["openai"] = _Instant()  # type: ignore[assignment]
        request = ChatRequest.of("x")
        for _ in range(1000):
            await router.chat(request)
        started = time.perf_counter()
        for _ in range(calls):
            await router.chat(request)
        return (time.perf_counter() - started) / calls * 1e6

    return round(asyncio.run(go()), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="measured calls per path (default 400)")
    parser.add_argument("--limit", type=int, default=1, help="router max_concurrent (0 = no limiter)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.calls < 10:
        parser.error("--calls must be at least 10")
    result = run(args.calls, args.limit or None)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    print(f"gateway overhead: {args.calls} calls per path, interleaved, simulator at zero latency")
    print(f"{'path':<12}{'p50 ms':>10}{'p99 ms':>10}{'calls/s':>10}")
    for name, key in (("bare SDK", "bare_sdk"), ("Router", "router")):
        row = result[key]
        print(f"{name:<12}{row['p50_ms']:>10.3f}{row['p99_ms']:>10.3f}{row['calls_per_s']:>10.1f}")
    print(f"{'overhead':<12}{result['overhead_p50_ms']:>10.3f}{result['overhead_p99_ms']:>10.3f}")
    print(f"router bookkeeping without network: {result['router_bookkeeping_us']:.1f} us per call")
    print(f"peak RSS: {result['peak_rss_mb']} MB (client process; the simulator runs in its own)")


if __name__ == "__main__":
    main()
