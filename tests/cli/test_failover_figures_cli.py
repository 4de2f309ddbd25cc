"""A failover is counted once, by the router, on the call record; the text report, the JSON
report, ``hunkwise usage --json``, the ledger's run rows and the live progress line all show that
count. Reviews against the simulator: the main's Coding Plan key has spent its 5-hour window
(1308), so the first review fails over to the fallback on every request and the next one skips
the main (its circuit is open) and fails over just the same."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

import simkeys
from hunkwise.cli.app import app
from hunkwise.cli.review_progress import ReviewProgress
from hunkwise.config.settings import Settings
from hunkwise.gateway import Router
from hunkwise.gateway.limits.local import LocalBackend
from hunkwise.gateway.types import Secret, Slot
from hunkwise.review.engine import ReviewOptions, run_review
from hunkwise.sim import KeyConfig
from hunkwise.store import database_url, open_store
from hunkwise.store.db import use_session
from hunkwise.store.tables import ReviewRun

SAMPLE = Path(__file__).parents[2] / "examples" / "sample.diff"
SPENT = "spent-coding-plan-key-0001"


def _spent_main_sim(sim_factory: Any) -> Any:
    return sim_factory(
        keys=[KeyConfig(key=SPENT, kind="coding", tier="lite", quota_5h=0),
              KeyConfig(key=simkeys.OPENAI_KEY, kind="openai")]
    )  # fmt: skip


def test_text_json_usage_and_run_rows_show_one_failover_count(sim_factory: Any, tmp_path: Path) -> None:
    server = _spent_main_sim(sim_factory)
    env = {
        "HUNKWISE_MODEL": "glm-5.1", "HUNKWISE_PLAN": "coding", "HUNKWISE_TIER": "lite",
        "HUNKWISE_API_KEY": SPENT, "ZAI_BASE_URL": server.base_url,
        "OPENAI_API_KEY": simkeys.OPENAI_KEY, "OPENAI_BASE_URL": server.openai_url, "COLUMNS": "200",
    }  # fmt: skip
    runner = CliRunner()
    as_json = runner.invoke(app, ["review", "--diff", str(SAMPLE), "-f", "json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)
    failovers = doc["usage"]["failovers"]
    assert failovers == len(doc["plan"]["chunks"]) >= 1  # every request failed over once
    assert list(doc["usage"]["models"]) == ["gpt-5-mini"]

    as_text = runner.invoke(app, ["review", "--diff", str(SAMPLE)], env=env)  # the main is skipped now
    assert as_text.exit_code == 0, as_text.output
    shown = re.search(r"Failovers\W+(\d+)", as_text.stdout)
    assert shown is not None, as_text.stdout
    assert int(shown.group(1)) == failovers

    engine = open_store(database_url(Settings.from_env()))
    try:
        with use_session(engine) as session:
            rows = list(session.scalars(select(ReviewRun.failovers).order_by(ReviewRun.id)))
    finally:
        engine.dispose()
    assert rows == [failovers, failovers]
    usage = runner.invoke(app, ["usage", "--json"], env={})
    assert usage.exit_code == 0, usage.output
    ledger = json.loads(usage.stdout)
    assert ledger["runs"] == 2 and ledger["total"]["failovers"] == 2 * failovers
    assert sum(r["failovers"] for r in ledger["rows"]) == 2 * failovers  # the same, by model


async def test_the_progress_line_counts_what_the_report_counts(sim_factory: Any) -> None:
    server = _spent_main_sim(sim_factory)
    slots = [
        Slot("main", "zai", server.zai_coding_url, "glm-5.1", Secret(SPENT), plan="coding", tier="lite"),
        Slot("fallback", "openai", server.openai_url, "gpt-5-mini", Secret(simkeys.OPENAI_KEY)),
    ]
    backend = LocalBackend()  # shared: the second review finds the main's circuit open
    try:
        for _ in range(2):  # a failover on the 1308 answer, then one skipping the open circuit
            progress = ReviewProgress(Console(file=io.StringIO(), width=200))
            async with Router(slots, backend=backend, on_event=progress.on_event) as router:
                report = await run_review(SAMPLE.read_bytes(), router, ReviewOptions(), progress=progress)
            progress.stop()
            assert report.failovers >= 1
            assert progress.failovers == report.failovers
    finally:
        await backend.aclose()
