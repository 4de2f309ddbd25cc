"""A BYOK row stored before today's input rules (a key with a smart quote, a runaway concurrency)
fails its review job at once, permanently, naming the setting: not a crash retried as transient."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from test_review_job import enqueue, pool_for, pr_event, wait_for

from hunkwise.config.settings import Settings
from hunkwise.config.spec import SlotEntry, SlotSpec
from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.gateway.types import Secret
from hunkwise.jobs.resolver import SlotResolver
from hunkwise.jobs.review_job import ReviewDeps
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.gitlab import GitLabClient
from hunkwise.store.byok_slots import save_byok
from hunkwise.store.secrets import load_secret_box
from hunkwise.store.tables import ByokSlot, Organization
from platform_fakes import FakeGitHub
from simkeys import DEV_KEY

SMART_KEY = DEV_KEY[:4] + "\u201d" + DEV_KEY[4:]


@pytest.mark.parametrize(
    ("spec_change", "key", "needle"),
    [
        ({}, SMART_KEY, "main.api_key = (hidden) is not valid: the API key contains"),
        ({"max_concurrent_requests": 10**9}, None, "main.max_concurrent_requests"),
        ({"thinking": '{"stream": true}'}, None, 'may not set "stream"'),
    ],
)
async def test_a_stored_row_that_breaks_a_rule_fails_the_job_permanently(
    engine: Engine, sim: Any, spec_change: dict[str, Any], key: str | None, needle: str
) -> None:
    box = load_secret_box(Settings.from_env(), create=True)
    policy = SsrfPolicy(allowed_hosts=frozenset({"127.0.0.1"}))
    good = SlotSpec(provider="openai_compatible", base_url=sim.zai_developer_url, model="glm-5.1")
    save_byok(engine, "acme", {"main": SlotEntry(good, Secret(DEV_KEY))}, box=box, policy=policy)
    with engine.begin() as conn:  # what an older version could have stored
        org_id = conn.scalar(select(Organization.id).where(Organization.slug == "acme"))
        values: dict[str, Any] = {"spec": {**good.model_dump(exclude_none=True), **spec_change}}
        if key is not None:
            values["key_ciphertext"] = box.encrypt(key, org_id=org_id, role="main")
        conn.execute(update(ByokSlot).where(ByokSlot.org_id == org_id).values(**values))
    gh = FakeGitHub()
    deps = ReviewDeps(
        engine=engine,
        slots_for_org=SlotResolver(engine, box=box, policy=policy, fixed=None).slots_for,
        github=lambda ev: GitHubClient(Secret("ghp_test"), ev.api_url, transport=gh.transport()),
        gitlab=lambda ev: GitLabClient(Secret("glpat_test"), ev.api_url),
    )
    before = len(sim.requests())
    pool = pool_for(engine, deps)
    job = enqueue(engine, pr_event(), max_attempts=3)
    pool.start()
    try:
        done = await wait_for(engine, job.id)
    finally:
        await pool.stop()
    assert done.status == "failed" and done.attempts == 1, done
    assert "model configuration of organization 'acme' is not usable" in (done.error or "")
    assert needle in (done.error or ""), done.error
    assert SMART_KEY not in (done.error or "")
    assert len(sim.requests()) == before and gh.posts == []  # nothing was sent anywhere
