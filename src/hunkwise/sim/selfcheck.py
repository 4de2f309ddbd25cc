"""``hunkwise sim --self-check``: start a private simulator and drive it with the official SDKs.

Each check returns ``(name, passed, detail)``; the caller prints them. The checks double as a
living example of pointing unmodified ``openai`` / ``anthropic`` clients at the simulator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from hunkwise.sim.config import KeyConfig, SimConfig
from hunkwise.sim.server import SimulatorServer

DEV, LITE, OA, AN = (
    "selfcheck-dev-0001",
    "selfcheck-lite-0001",
    "selfcheck-openai-0001",
    "selfcheck-anthropic-0001",
)
LATENCY_MS = 0  # the ordinary checks need no service time
HOLD_MS = 3_000  # the concurrency check's service time: the second request surely overlaps the first

_DIFF_PROMPT = """Please review this change and answer with the findings JSON.

FILE: app/handler.py (python)
@@ -1,2 +1,4 @@
     1   def handle(expr):
     2 +     return eval(expr)
     3 + # TODO: validate input
"""


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def _run(name: str, fn: Callable[[], str]) -> Check:
    try:
        return Check(name, True, fn())
    except Exception as exc:  # a failed check is reported, never raised
        return Check(name, False, f"{type(exc).__name__}: {exc}"[:300])


def run_self_check() -> list[Check]:
    import anthropic
    import openai

    cfg = SimConfig(
        keys=[
            KeyConfig(key=DEV, kind="developer"),
            KeyConfig(key=LITE, kind="coding", tier="lite"),
            KeyConfig(key=OA, kind="openai"),
            KeyConfig(key=AN, kind="anthropic"),
        ],
        latency_ms=LATENCY_MS,
    )
    with SimulatorServer(cfg) as sim:
        dev = openai.OpenAI(api_key=DEV, base_url=sim.zai_developer_url, max_retries=0, timeout=10)
        msgs = [{"role": "user", "content": "Say hello."}]

        def completion_with_thinking() -> str:
            r = dev.chat.completions.create(
                model="glm-5.1", messages=msgs, extra_body={"thinking": {"type": "enabled"}}
            )
            reasoning = getattr(r.choices[0].message, "reasoning_content", None)
            assert reasoning, "no reasoning_content in the answer"
            assert r.usage and r.usage.completion_tokens > 0
            return f"glm-5.1: {r.usage.prompt_tokens} in / {r.usage.completion_tokens} out (incl. reasoning)"

        def stream() -> str:
            chunks = list(dev.chat.completions.create(model="glm-5.1", messages=msgs, stream=True))
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert text and chunks[-1].usage is not None, "stream lacks content or final usage"
            return f"{len(chunks)} chunks, usage in the last one"

        def key_endpoint_mismatch() -> str:
            codes = []
            for key, url in ((LITE, sim.zai_developer_url), (DEV, sim.zai_coding_url)):
                client = openai.OpenAI(api_key=key, base_url=url, max_retries=0, timeout=10)
                try:
                    client.chat.completions.create(model="glm-5.1", messages=msgs)
                except openai.AuthenticationError as exc:
                    codes.append(str(exc.status_code))
                    continue
                raise AssertionError(f"{url} accepted the other plan's key")
            return "401 both ways (coding key on developer endpoint and the reverse)"

        def concurrency_1302() -> str:
            # A private simulator with a long service time, so the first request is certainly still
            # in flight when the second arrives, however loaded the machine is.
            slow_cfg = SimConfig(keys=[KeyConfig(key=LITE, kind="coding", tier="lite")], latency_ms=HOLD_MS)
            with SimulatorServer(slow_cfg) as slow:
                held = openai.OpenAI(api_key=LITE, base_url=slow.zai_coding_url, max_retries=0, timeout=30)
                first: list[object] = []
                worker = threading.Thread(
                    target=lambda: first.append(held.chat.completions.create(model="glm-5.1", messages=msgs))
                )
                worker.start()
                while slow.key_stats(LITE)["in_flight"] < 1 and worker.is_alive():
                    pass  # the first request is admitted within milliseconds; no sleep needed
                try:
                    held.chat.completions.create(model="glm-5.1", messages=msgs)
                    raise AssertionError("a second concurrent request on a Lite key was accepted")
                except openai.RateLimitError as exc:
                    code = (exc.body or {}).get("code") if isinstance(exc.body, dict) else None
                    assert code == "1302", f"expected code 1302, got {code!r}"
                finally:
                    worker.join()
                assert first, "the first request failed"
            return "second request on a Lite key -> HTTP 429, code 1302"

        def anthropic_endpoint() -> str:
            client = anthropic.Anthropic(api_key=AN, base_url=sim.anthropic_url, max_retries=0, timeout=10)
            m = client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=4000,
                messages=msgs,
                thinking={"type": "enabled", "budget_tokens": 2000},
            )
            kinds = [b.type for b in m.content]
            assert kinds == ["thinking", "text"], kinds
            with client.messages.stream(model="claude-haiku-4-5", max_tokens=200, messages=msgs) as s:
                text = s.get_final_text()
            assert "[simulator]" in text
            return f"messages.create blocks {kinds}; messages.stream ok"

        def review_answer() -> str:
            import json

            r = dev.chat.completions.create(
                model="glm-5.1",
                messages=[{"role": "user", "content": _DIFF_PROMPT}],
                response_format={"type": "json_object"},
            )
            findings = json.loads(r.choices[0].message.content or "{}")["findings"]
            got = sorted((f["start_line"], f["category"]) for f in findings)
            assert got == [(2, "security"), (3, "maintainability")], got
            return "eval() on line 2, TODO on line 3"

        return [
            _run("completion with thinking", completion_with_thinking),
            _run("streaming (SSE)", stream),
            _run("401 on key/endpoint mismatch", key_endpoint_mismatch),
            _run("1302 on a Lite key", concurrency_1302),
            _run("Anthropic /v1/messages", anthropic_endpoint),
            _run("review findings JSON", review_answer),
        ]
