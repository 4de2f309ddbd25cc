"""The per-platform review benchmark (bench/platform_reviews.py) on all five fakes: about 5 s, so
it runs by default, keeping the benchmark from rotting and its promises checked: a redelivered
webhook makes no job, a rerun on the same head posts nothing but its status, a push adds one
comment and edits the one summary, and a GitHub App asks for about one token an hour."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench" / "platform_reviews.py"


def test_each_platform_reviews_once_posts_nothing_twice_and_edits_one_summary() -> None:
    spec = importlib.util.spec_from_file_location("platform_reviews", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclasses look their module up there
    spec.loader.exec_module(bench)
    out = bench.run(list(bench.PLATFORMS), (BENCH.parents[1] / "examples" / "sample.diff").read_text())
    assert [r["platform"] for r in out["results"]] == list(bench.PLATFORMS)
    for r in out["results"]:
        first, redelivery, rerun, push = r["steps"]
        name = r["platform"]
        assert (first["inline_comments"], first["summaries"], first["model_calls"]) == (4, 1, 1), name
        assert first["writes"] > first["status_writes"], name
        assert redelivery["new_job"] is False, name
        assert redelivery["reads"] == redelivery["writes"] == redelivery["model_calls"] == 0, name
        assert rerun["new_job"] is True and rerun["model_calls"] == 1, name
        assert rerun["writes"] == rerun["status_writes"], f"{name}: a rerun posted {rerun['write_paths']}"
        assert (rerun["inline_comments"], rerun["summaries"]) == (4, 1), name
        # one new comment and the summary edited in place: two writes besides the statuses
        assert (push["inline_comments"], push["summaries"]) == (5, 1), name
        assert push["writes"] - push["status_writes"] == 2, f"{name}: {push['write_paths']}"
    app = out["github_app"]
    assert app["jobs"] == 100 and 3 <= app["token_requests"] <= 4 and app["refused"] == 0
    assert out["peak_rss_mb"] > 0
