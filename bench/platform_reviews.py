"""What one review costs on each platform: API requests, model calls and what lands on the pull request.

Drives the real review job (the worker pool on a SQLite store, ``jobs/review_job.py``'s
REVIEW_KINDS) against each platform's fake (tests/platform_fakes.py FakeGitHub/FakeGitLab,
tests/bitbucket_fake.py, tests/azure_devops_fake.py, tests/gitea_fake.py; each platform's real
client over the fake's transport) with the in-process simulator as the model over loopback HTTP
(the normal provider path, fixed mode on the Developer API). Per platform, three steps:

1. ``first``: the first review of examples/sample.diff (three files, four findings), or with
   ``--files N`` a synthetic diff of N new files with two findings each;
2. ``redelivery``: the same head's webhook again, enqueued as the server does (its dedupe key:
   one job per head, so no new job);
3. ``rerun``: a new job on the same head (``@hunkwise review``, a reopened pull request): the
   review runs again and must post nothing new;
4. ``push``: a second push adding one file with one finding.

Printed per step: the platform API requests split into reads (GET, and GitHub's GraphQL
queries) and writes (POST, PUT, PATCH, DELETE; the commit status or check run writes counted
among them and shown apart), the model calls, the inline comments and summaries on
the pull request afterwards and the wall time; then a GitHub App line (100 jobs over a simulated
3 hours: installation-token requests made) and the peak RSS.

    .venv/bin/python bench/platform_reviews.py [--json] [--platforms github,gitlab,...] [--files 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the platform fakes

DEV_KEY = "bench-platform-dev-key-0001"
PLATFORMS = ("github", "gitlab", "bitbucket", "azure_devops", "gitea")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATUS_PATHS = ("/statuses", "/check-runs")  # commit statuses and check runs (the merge status)


def is_write(request: Any) -> bool:
    """POST/PUT/PATCH/DELETE, except a GitHub GraphQL query (a POST that reads threads)."""
    return request.method in WRITES and not request.url.path.endswith("/graphql")


def is_status_write(request: Any) -> bool:
    return is_write(request) and any(part in request.url.path for part in STATUS_PATHS)


NEW_FILE = "src/inventory/loader.py"
# The second push's new file: one finding (eval) for the simulator's fixed rules.
_NEW_FILE_TEXT = ["def load(expr):", "    return eval(expr)"]


def heads(step: int) -> str:
    """The head commit after push ``step`` (0: the first)."""
    return f"{step + 1:x}".ljust(40, "d")


def pushed_diff(diff: str) -> str:
    """``diff`` plus one new file (the second push)."""
    added = [f"diff --git a/{NEW_FILE} b/{NEW_FILE}", "new file mode 100644", "--- /dev/null"]
    added += [f"+++ b/{NEW_FILE}", f"@@ -0,0 +1,{len(_NEW_FILE_TEXT)} @@"]
    return diff + "\n".join(added + [f"+{line}" for line in _NEW_FILE_TEXT]) + "\n"


def synthetic_diff(files: int) -> str:
    """A pull request of ``files`` new modules, each 30 lines with two findings (an ``eval`` and
    a bare ``except``) for the simulator's fixed rules."""
    out = []
    for n in range(files):
        body = [f'"""Module {n}."""', "", "import logging", "", "log = logging.getLogger(__name__)", ""]
        body += ["", f"def parse_{n}(text):", "    try:", "        return int(text)", "    except:"]
        body += ["        return 0", "", "", f"def run_{n}(expr):", "    return eval(expr)", ""]
        body += [f"VALUE_{n}_{i} = {i}" for i in range(30 - len(body))]
        path = f"src/pkg/module_{n:02d}.py"
        out += [f"diff --git a/{path} b/{path}", "new file mode 100644", "--- /dev/null", f"+++ b/{path}"]
        out += [f"@@ -0,0 +1,{len(body)} @@", *[f"+{line}" for line in body]]
    return "\n".join(out) + "\n"


@dataclass
class Target:
    """One platform: its fake, the review job kind and event, how a push changes the fake, and
    what hunkwise left on the pull request."""

    name: str
    kind: str
    org: str
    fake: Any
    event: Callable[[str, int], Any]  # (head, step) -> the job's event
    push: Callable[[str, str], None]  # (diff, head): the pull request now is this
    on_pr: Callable[[], tuple[int, int]]  # (inline comments, summaries) posted by hunkwise


def _summaries(bodies: list[str]) -> int:
    from hunkwise.platforms.review_post import markers_in

    return sum(1 for b in bodies if any(kind == "summary" for kind, _ in markers_in(b)))


def _inline(bodies: list[str]) -> int:
    from hunkwise.platforms.review_post import markers_in

    return sum(1 for b in bodies if any(kind == "fp" for kind, _ in markers_in(b)))


def target(name: str, diff: str) -> tuple[Target, Any]:
    """The platform's :class:`Target` and the client factory the review job opens it with."""
    from hunkwise.gateway import Secret
    from hunkwise.jobs import review_job as rj

    if name == "github":
        from hunkwise.platforms.github import GitHubClient
        from hunkwise.platforms.github_webhooks import PullRequestEvent
        from platform_fakes import FakeGitHub

        gh = FakeGitHub(diff=diff)

        def gh_push(d: str, h: str) -> None:
            gh.diff, gh.files_ref = d, h
            gh.pulls[7] = {"number": 7, "head": {"sha": h}}

        return Target(
            name,
            rj.GITHUB_KIND,
            "acme",
            gh,
            lambda h, step: PullRequestEvent(
                action="opened" if step == 0 else "synchronize",
                owner="acme",
                repository="acme/api",
                number=7,
                head_sha=h,
                base_sha="a" * 40,
                draft=False,
                installation_id=None,
                api_url="https://api.github.com",
            ),
            gh_push,
            lambda: (
                _inline([c["body"] for c in gh.review_comments]),
                _summaries([r["body"] for r in gh.reviews] + [c["body"] for c in gh.issue_comments]),
            ),
        ), lambda ev: GitHubClient(Secret("ghp_bench"), ev.api_url, transport=gh.transport())
    if name == "gitlab":
        from hunkwise.platforms.gitlab import GitLabClient, MergeRequestEvent
        from platform_fakes import FakeGitLab

        gl = FakeGitLab(diff=diff)

        def gl_push(d: str, h: str) -> None:
            gl.diff, gl.head_sha, gl.files_ref = d, h, h
            gl.merge_requests[3] = {"iid": 3, "sha": h}

        return Target(
            name,
            rj.GITLAB_KIND,
            "acme",
            gl,
            lambda h, step: MergeRequestEvent(
                action="open" if step == 0 else "update",
                owner="acme",
                project_id=42,
                project_path="acme/api",
                iid=3,
                head_sha=h,
                draft=False,
                api_url="https://gitlab.example.com/api/v4",
            ),
            gl_push,
            lambda: (
                _inline([d["notes"][0]["body"] for d in gl.discussions]),
                _summaries([n["body"] for n in gl.notes]),
            ),
        ), lambda ev: GitLabClient(Secret("glpat_bench"), ev.api_url, transport=gl.transport())
    if name == "bitbucket":
        from bitbucket_fake import TOKEN, TOKEN_USER, FakeBitbucket
        from hunkwise.platforms.bitbucket import BitbucketClient
        from hunkwise.platforms.bitbucket_webhooks import BitbucketPullRequestEvent

        bb = FakeBitbucket(diff=diff)
        api = "https://api.bitbucket.org/2.0"

        def bb_push(d: str, h: str) -> None:
            bb.diff = d
            if bb.commits[0] != h:
                bb.commits.insert(0, h)

        return Target(
            name,
            rj.BITBUCKET_KIND,
            "acme",
            bb,
            lambda h, step: BitbucketPullRequestEvent(
                action="opened" if step == 0 else "updated",
                owner="acme",
                repository="acme/api",
                number=7,
                head_sha=h[:12],  # Bitbucket's webhooks abbreviate the head
                draft=False,
                api_url=api,
                html_url="https://bitbucket.org/acme/api/pull-requests/7",
            ),
            bb_push,
            lambda: (
                _inline([c["content"]["raw"] for c in bb.inline_comments()]),
                _summaries([c["content"]["raw"] for c in bb.top_comments()]),
            ),
        ), lambda ev: BitbucketClient(
            Secret(TOKEN), api, bot_uuid=TOKEN_USER["uuid"], transport=bb.transport()
        )
    if name == "azure_devops":
        from azure_devops_fake import BASE_SHA, PAT, PROJECT, REPO, REPO_ID, FakeAzureDevOps, files_from_diff
        from hunkwise.platforms.azure_devops import AzureDevOpsClient
        from hunkwise.platforms.azure_devops_events import AzurePullRequestEvent

        az = FakeAzureDevOps()
        az.commits[BASE_SHA] = dict(files_from_diff(diff)[0])

        def az_push(d: str, h: str) -> None:
            if not az.iterations or az.iterations[-1]["sourceRefCommit"]["commitId"] != h:
                az.push(h, dict(files_from_diff(d)[1]))

        def az_bodies(threads: list[dict[str, Any]]) -> list[str]:
            return [t["comments"][0]["content"] for t in threads]

        return Target(
            name,
            rj.AZURE_DEVOPS_KIND,
            PROJECT.lower(),
            az,
            lambda h, step: AzurePullRequestEvent(
                action="opened" if step == 0 else "updated",
                owner=PROJECT,
                project=PROJECT,
                repository_name=REPO,
                repository_id=REPO_ID,
                number=7,
                head_sha=h,
            ),
            az_push,
            lambda: (_inline(az_bodies(az.inline_threads())), _summaries(az_bodies(az.summary_threads()))),
        ), lambda ev: AzureDevOpsClient(
            Secret(PAT), "https://dev.azure.com/fabrikam", transport=az.transport()
        )
    if name == "gitea":
        from gitea_fake import TOKEN as GITEA_TOKEN
        from gitea_fake import FakeGitea
        from hunkwise.platforms.gitea import GiteaClient
        from hunkwise.platforms.gitea_webhooks import GiteaPullRequestEvent

        gt = FakeGitea(diffs={7: diff})
        api = "https://gitea.example.com/api/v1"

        def gt_push(d: str, h: str) -> None:
            gt.diffs[7], gt.files_ref = d, h
            gt.heads[7] = h

        return Target(
            name,
            rj.GITEA_KIND,
            "acme",
            gt,
            lambda h, step: GiteaPullRequestEvent(
                action="opened" if step == 0 else "synchronized",
                owner="acme",
                repository="acme/api",
                number=7,
                head_sha=h,
                draft=False,
                api_url=api,
            ),
            gt_push,
            lambda: (
                _inline([c["body"] for c in gt.comments]),
                _summaries([r["body"] for r in gt.reviews] + [c["body"] for c in gt.issue_comments]),
            ),
        ), lambda ev: GiteaClient(Secret(GITEA_TOKEN), api, transport=gt.transport())
    raise SystemExit(f"unknown platform {name!r}: choose from {', '.join(PLATFORMS)}")


async def _finished(engine: Any, job_id: int, deadline_s: float = 60) -> Any:
    """The job once done or failed (polled every 5 ms, so the wall time is the job's own)."""
    from hunkwise.store import jobs as repo

    for _ in range(int(deadline_s / 0.005)):
        got = repo.get_job(engine, job_id)
        if got is None or got.status in ("done", "failed"):
            return got
        await asyncio.sleep(0.005)
    raise SystemExit(f"job {job_id} did not finish in {deadline_s} s")


async def review_steps(name: str, diff: str, sim: Any, home: Path) -> dict[str, Any]:
    """The three steps on one platform, on a fresh store."""
    from hunkwise.errors import Backoff
    from hunkwise.jobs.pool import WorkerPool
    from hunkwise.jobs.queue import DatabaseQueue
    from hunkwise.jobs.review_job import ReviewDeps, make_handlers
    from hunkwise.store import jobs as repo
    from hunkwise.store.db import open_store
    from simkeys import sim_slot

    t, client = target(name, diff)
    engine = open_store(f"sqlite:///{home / f'{name}.db'}")
    deps = ReviewDeps(
        engine=engine,
        slots_for_org=lambda org: [sim_slot(sim.zai_developer_url, DEV_KEY)],
        github=client if name == "github" else (lambda ev: None),  # type: ignore[arg-type,return-value]
        gitlab=client if name == "gitlab" else (lambda ev: None),  # type: ignore[arg-type,return-value]
        platform_clients={} if name in ("github", "gitlab") else {name: client},
    )
    pool = WorkerPool(
        DatabaseQueue(engine),
        make_handlers(deps),
        poll_s=0.02,
        backoff=Backoff(base_s=0.01, max_s=0.01, factor=1.0),
    )
    steps = []
    pool.start()
    try:
        plan = [("first", diff, 0, ""), ("redelivery", diff, 0, ""), ("rerun", diff, 0, "#rerun")]
        for label, d, push, suffix in [*plan, ("push", pushed_diff(diff), 1, "")]:
            head = heads(push)
            t.push(d, head)
            seen, calls = len(t.fake.requests), sim.key_stats(DEV_KEY)["ok"]
            started = time.perf_counter()
            event = t.event(head, push)
            # The server's key (one job per head, whichever delivery announced it); a rerun
            # (``@hunkwise review``, a reopened pull request) is a new job on the same head.
            job, created = repo.enqueue(
                engine,
                org=t.org,
                kind=t.kind,
                payload=event.as_payload(),
                dedupe_key=event.dedupe_key + suffix,
            )
            pool.notify()
            got = await _finished(engine, job.id)
            wall = time.perf_counter() - started
            if got is None or got.status != "done":
                raise SystemExit(f"{name}: the {label} review did not finish: {got and got.error}")
            made = t.fake.requests[seen:]
            inline, summaries = t.on_pr()
            steps.append(
                {
                    "step": label,
                    "new_job": created,
                    "reads": sum(1 for r in made if not is_write(r)),
                    "writes": sum(1 for r in made if is_write(r)),
                    "status_writes": sum(1 for r in made if is_status_write(r)),
                    "model_calls": sim.key_stats(DEV_KEY)["ok"] - calls,
                    "inline_comments": inline,
                    "summaries": summaries,
                    "wall_ms": round(wall * 1000, 1),
                    "write_paths": [f"{r.method} {r.url.path}" for r in made if is_write(r)],
                    "read_paths": [f"{r.method} {r.url.path}" for r in made if not is_write(r)],
                }
            )
    finally:
        await pool.stop()
        engine.dispose()
    return {"platform": name, "steps": steps}


async def app_tokens(jobs: int = 100, hours: float = 3.0) -> dict[str, Any]:
    """A GitHub App (platforms/github_app.py, the process's one instance) serving ``jobs`` jobs
    spread evenly over ``hours`` of an injected clock, each job asking for the installation's
    token and reading the pull request with it from the fake GitHub (which checks the token was
    issued and has not expired): how many installation tokens the App asked GitHub for."""
    import httpx

    from hunkwise.gateway import Secret
    from hunkwise.platforms.github_app import GitHubApp
    from platform_fakes import FakeGitHub, FakeGitHubApp, rsa_key_pair

    now = [1_800_000_000.0]
    private, public = rsa_key_pair()
    fake = FakeGitHub(user=None)
    fake.app = FakeGitHubApp(1234, public, installations={77: "acme"}, clock=lambda: now[0])
    app = GitHubApp(
        1234, Secret(private), "https://api.github.com", transport=fake.transport(), clock=lambda: now[0]
    )
    fake.pulls[7] = {"number": 7, "head": {"sha": heads(0)}}
    refused = 0
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        for _ in range(jobs):
            token = await app.installation_token(77)
            got = await http.get(
                "https://api.github.com/repos/acme/api/pulls/7",
                headers={"Authorization": f"Bearer {token.reveal()}"},
            )
            refused += got.status_code == 401
            now[0] += hours * 3600 / jobs
    return {
        "jobs": jobs,
        "hours": hours,
        "token_requests": app.exchanges,
        "minted": fake.app.minted,
        "refused": refused,
    }


def run(platforms: list[str], diff: str) -> dict[str, Any]:
    from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer

    started = time.perf_counter()
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="hunkwise-platform-bench-") as home,
        SimulatorServer(SimConfig(keys=[KeyConfig(key=DEV_KEY, kind="developer")])) as sim,
    ):
        for name in platforms:
            results.append(asyncio.run(review_steps(name, diff, sim, Path(home))))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "diff_files": diff.count("diff --git"),
        "results": results,
        "github_app": asyncio.run(app_tokens()),
        "total_s": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--platforms", default=",".join(PLATFORMS), help="comma-separated: " + ",".join(PLATFORMS)
    )
    parser.add_argument(
        "--files",
        type=int,
        default=0,
        help="review a synthetic diff of this many new files (two findings each), not examples/sample.diff",
    )
    args = parser.parse_args()
    if args.files < 0 or args.files > 200:
        parser.error(f"--files {args.files}: give 1-200 (0: examples/sample.diff)")
    for name in ("HUNKWISE_MODEL", "ZAI_API_KEY", "HUNKWISE_QUEUE_URL", "HUNKWISE_SECRET_KEY"):
        os.environ.pop(name, None)
    diff = synthetic_diff(args.files) if args.files else (ROOT / "examples" / "sample.diff").read_text()
    out = run([p.strip() for p in args.platforms.split(",") if p.strip()], diff)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    columns = [("platform", 13), ("step", 11), ("reads", 5), ("writes", 6), ("status", 6)]
    columns += [("model", 5), ("inline", 6), ("summ.", 5), ("wall ms", 8)]
    print(" ".join(f"{name:<{w}}" if i < 2 else f"{name:>{w}}" for i, (name, w) in enumerate(columns)))
    for r in out["results"]:
        for s in r["steps"]:
            values = [r["platform"], s["step"], s["reads"], s["writes"], s["status_writes"]]
            values += [s["model_calls"], s["inline_comments"], s["summaries"], s["wall_ms"]]
            cells = zip(values, columns, strict=True)
            print(" ".join(f"{v:<{w}}" if i < 2 else f"{v:>{w}}" for i, (v, (_, w)) in enumerate(cells)))
    a = out["github_app"]
    print(
        f"GitHub App: {a['jobs']} jobs over {a['hours']:g} simulated hours -> {a['token_requests']} "
        f"installation-token requests ({a['refused']} requests refused for an expired token)"
    )
    print(f"total {out['total_s']} s; peak RSS: {out['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
