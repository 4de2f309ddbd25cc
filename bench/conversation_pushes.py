"""Comments on a pull request of five pushes: hunkwise against a naive re-review of every push.

Drives the real review server in-process (``create_app()`` with embedded workers, fixed mode on
the simulator's Developer API) through its webhooks, with the project's fake GitHub and fake
GitLab (tests/platform_fakes.py) served over loopback HTTP. The pull request is scripted
(tests/scripted_pr.py): five pushes that move, keep, fix and add findings; between them the author
resolves one thread and answers "won't fix" on another. Every push is reviewed as a whole pull
request (a force-push on GitHub; always on GitLab), the case where a reviewer without memory
repeats itself.

Printed per platform: the comments a naive reviewer posts (every finding of every push) and how
many of them repeat an earlier one, the comments hunkwise posted and its repeats (the goal: 0),
the number of summaries (the goal: 1) and their edits, per push; then the peak RSS.

    .venv/bin/python bench/conversation_pushes.py [--json] [--platforms github,gitlab]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the fakes and the scripted pull request

DEV_KEY = "bench-conversation-dev-key-0001"


def run(platforms: list[str]) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from hunkwise.config.settings import Settings
    from hunkwise.server.app import create_app
    from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer
    from platform_fakes import ServedFake
    from scripted_pr import make_fake, run_pushes, server_env

    results = []
    with SimulatorServer(SimConfig(keys=[KeyConfig(key=DEV_KEY, kind="developer")])) as sim:
        for platform in platforms:
            home = Path(tempfile.mkdtemp(prefix=f"hunkwise-conv-{platform}-"))
            served = ServedFake(make_fake(platform))
            env = server_env(platform, served.url, sim.base_url, DEV_KEY) | {
                "HUNKWISE_HOME": str(home),
                "HUNKWISE_DATABASE_URL": f"sqlite:///{home / 'server.db'}",
            }
            try:
                with TestClient(create_app(Settings.from_env(env))) as client:
                    outcome = run_pushes(client, platform, served)
                    results.append(
                        outcome.figures() | {"summary": outcome.summary, "thread": outcome.example_thread}
                    )
            finally:
                served.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"results": results, "peak_rss_mb": round(peak_kb / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--platforms", default="github,gitlab")
    parser.add_argument(
        "--show",
        action="store_true",
        help="print each platform's summary and a thread as they read at the end",
    )
    args = parser.parse_args()
    for name in ("HUNKWISE_MODEL", "ZAI_API_KEY", "HUNKWISE_QUEUE_URL", "HUNKWISE_SECRET_KEY"):
        os.environ.pop(name, None)
    out = run([p.strip() for p in args.platforms.split(",") if p.strip()])
    if args.json:
        print(json.dumps(out, indent=2))
        return
    if args.show:
        for r in out["results"]:
            print(f"===== {r['platform']}: the summary after push {r['pushes']} =====\n{r['summary']}\n")
            print(
                f"===== {r['platform']}: a thread =====\n" + "\n----- reply -----\n".join(r["thread"]) + "\n"
            )
    for r in out["results"]:
        print(f"{r['platform']}: {r['pushes']} pushes")
        for who, key in (("naive re-review", "naive"), ("hunkwise       ", "hunkwise")):
            print(f"  {who}: {r[key + '_comments']} comments, {r[key + '_duplicates']} repeat an earlier one")
        print(f"  summaries: {r['summaries']} (edited {r['summary_edits']} times)")
        for p in r["per_push"]:
            print(f"    push {p['push'] + 1}: found {p['findings']}, posted {p['posted']}")
    print(f"peak RSS: {out['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
