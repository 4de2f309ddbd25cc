"""The shared fixtures work: the session simulator answers, is reset per test, and the factory
starts dedicated servers."""

from __future__ import annotations

import httpx
import openai

from simkeys import CODING_LITE_KEY, DEV_KEY


def test_sim_fixture_serves_standard_keys_and_resets(sim) -> None:
    client = openai.OpenAI(api_key=DEV_KEY, base_url=sim.zai_developer_url, max_retries=0)
    reply = client.chat.completions.create(model="glm-5.1", messages=[{"role": "user", "content": "hi"}])
    assert "[simulator]" in (reply.choices[0].message.content or "")
    assert sim.key_stats(DEV_KEY)["ok"] == 1
    sim.reset()
    assert sim.key_stats(DEV_KEY)["ok"] == 0
    assert sim.requests() == []


def test_sim_factory_applies_overrides(sim_factory) -> None:
    server = sim_factory(concurrency=3, quota_5h=7)
    limits = server.key_stats(CODING_LITE_KEY)["limits"]
    assert limits["concurrency"] == 3
    assert limits["quota_5h"] == 7
    assert httpx.get(server.base_url + "/_sim/stats").status_code == 200
