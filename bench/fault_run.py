"""Fault run: distributed review workers under injected provider faults and a SIGKILLed worker.

Everything real except GitHub: the simulator (fault injection at ``--fault-rate``, default 20%,
every fault kind: 5xx, 1305/1312, connection resets, hangs, truncated streams), PostgreSQL (a
fresh database), RabbitMQ (a fresh queue), the server app in-process receiving signed webhooks,
and ``--workers`` ``hunkwise worker`` processes. A small fake GitHub (in-process, loopback HTTP)
serves one diff per pull request and records every review POST. Once a third of the jobs are done,
the worker holding a running job is SIGKILLed.

Promises checked (exit 1 when one is broken): every job ends ``done`` or dead-lettered with a
reason; none is lost; no pull request receives two reviews; usage is recorded once per job.

    .venv/bin/python bench/fault_run.py [--jobs 40] [--workers 3] [--fault-rate 0.2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "fault-run-admin-token-0123456789abcdef"
SECRET = "fault-run-webhook-secret"
SIM_KEY = "fault-run-developer-key-0001"
REPO = "codertocat/hello-world"
# The token's user, the author of every review it posts: hunkwise trusts a review's fingerprint
# only when it wrote the review (GET /user), as on GitHub, so the fake must say who wrote what.
BOT_USER = {"id": 4242, "login": "hunkwise-bot", "type": "User"}


class FakeGitHub:
    """Just enough of the GitHub REST API for the review job: the PR diff, the reviews list
    (read for idempotency fingerprints), the review comments (none: no finding was posted on an
    earlier push) and review POSTs, per pull request."""

    def __init__(self, diff: str) -> None:
        self.diff = diff
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self.posts: Counter[int] = Counter()
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts == ["user"]:
                    self._json(200, BOT_USER)
                    return
                # repos/{owner}/{repo}/pulls/{n}[/reviews]
                if len(parts) >= 5 and parts[3] == "pulls":
                    number = int(parts[4])
                    if len(parts) == 6 and parts[5] == "reviews":
                        with outer.lock:
                            self._json(200, outer.reviews.get(number, []))
                        return
                    if len(parts) == 6 and parts[5] == "comments":
                        self._json(200, [])
                        return
                    if self.headers.get("accept", "").endswith(".diff"):
                        self._send(200, outer.diff.encode(), "text/plain")
                        return
                if "compare" in parts:
                    self._json(200, {"status": "diverged"})
                    return
                self._json(404, {"message": f"no {self.path}"})

            def do_POST(self) -> None:
                parts = self.path.split("?")[0].strip("/").split("/")
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                if len(parts) >= 4 and parts[3] in ("check-runs", "statuses"):
                    self._json(201, {"id": 1, **body})  # the merge status: not a review post
                    return
                number = int(parts[4])
                with outer.lock:
                    outer.posts[number] += 1
                    reviews = outer.reviews.setdefault(number, [])
                    review = {"id": 1000 + number * 10 + len(reviews), "body": body.get("body", "")}
                    review["user"] = dict(BOT_USER)
                    review.update(commit_id=body.get("commit_id"), html_url=f"https://x/pull/{number}")
                    reviews.append(review)
                self._json(200, review)

            def _json(self, code: int, data: Any) -> None:
                self._send(code, json.dumps(data).encode(), "application/json")

            def _send(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def payload(number: int, api_url: str) -> dict[str, Any]:
    """A pull_request webhook as the (fake) GitHub at ``api_url`` sends it: the server only
    accepts pull requests on the GitHub API it is configured for."""
    sha = uuid.uuid5(uuid.NAMESPACE_URL, f"pr-{number}").hex + "00000000"
    return {
        "action": "opened",
        "number": number,
        "pull_request": {
            "number": number,
            "draft": False,
            "url": f"{api_url}/repos/{REPO}/pulls/{number}",
            "html_url": f"https://github.com/{REPO}/pull/{number}",
            "head": {"sha": sha},
            "base": {"sha": "b" * 40},
        },
        "repository": {"full_name": REPO, "name": REPO.split("/")[1], "owner": {"login": REPO.split("/")[0]}},
    }


def rss_kib(pid: int) -> int:
    """Peak resident set (VmHWM) of a live process, KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from hunkwise.config.settings import Settings
    from hunkwise.platforms.github_webhooks import sign
    from hunkwise.server.app import create_app
    from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer
    from hunkwise.store.db import upgrade

    db_name = f"hunkwise_fault_{uuid.uuid4().hex[:10]}"
    queue = args.queue or f"hw-fault-{uuid.uuid4().hex[:8]}"
    admin_engine = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{db_name}"')
    db_url = make_url(args.postgres).set(database=db_name).render_as_string(hide_password=False)
    upgrade(db_url)
    sim = SimulatorServer(
        SimConfig(
            keys=(KeyConfig(key=SIM_KEY, kind="developer"),),
            latency_ms=args.latency_ms,
            fault_rate=args.fault_rate,
            hang_seconds=2.0,
            seed=args.seed,
        )
    ).start()
    github = FakeGitHub((ROOT / "examples" / "sample.diff").read_text())
    home = tempfile.mkdtemp(prefix="hunkwise-fault-")
    env = {
        **os.environ,
        "HUNKWISE_HOME": home,
        "HUNKWISE_ADMIN_TOKEN": ADMIN,
        "HUNKWISE_DATABASE_URL": db_url,
        "HUNKWISE_QUEUE_URL": args.amqp,
        "HUNKWISE_QUEUE_NAME": queue,
        "HUNKWISE_GITHUB_WEBHOOK_SECRET": SECRET,
        "HUNKWISE_ALLOW_PRIVATE_BASE_URLS": "127.0.0.1",
        "GITHUB_API_URL": github.url,
        "HUNKWISE_GITHUB_TOKEN": "ghp_fault_run_token",
    }
    workers: list[subprocess.Popen[bytes]] = []
    peak_rss: dict[int, int] = {}
    logs = Path(home)
    client = TestClient(create_app(Settings.from_env(env)))
    client.__enter__()
    started = time.monotonic()
    killed: int | None = None
    killed_jobs: list[int] = []
    killed_at = recovered_s = taken_over_s = None
    sim_stats: dict[str, Any] = {}
    try:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": SIM_KEY}}
        assert client.put("/api/orgs/codertocat/byok", json=byok, headers=headers).status_code == 200
        for i in range(args.workers):
            cmd = [sys.executable, "-m", "hunkwise", "worker", "--concurrency", str(args.concurrency)]
            cmd += ["--lease", str(args.lease), "--backoff", "0.5", "--sweep", "5"]
            cmd += ["--metrics-port", str(free_port())]
            with (logs / f"worker-{i}.log").open("wb") as out:
                workers.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT))
        for n in range(1, args.jobs + 1):
            body = json.dumps(payload(n, github.url)).encode()
            response = client.post(
                "/webhooks/github",
                content=body,
                headers={
                    "X-GitHub-Event": "pull_request",
                    "X-GitHub-Delivery": f"fault-{n}",
                    "X-Hub-Signature-256": sign(SECRET, body),
                    "Content-Type": "application/json",
                },
            )
            assert response.status_code == 202, response.text
        engine = create_engine(db_url)
        deadline = time.monotonic() + args.deadline_s
        while time.monotonic() < deadline:
            for w in workers:
                if w.poll() is None:
                    peak_rss[w.pid] = max(peak_rss.get(w.pid, 0), rss_kib(w.pid))
            with engine.connect() as conn:
                counts = dict(
                    conn.execute(text("SELECT status, count(*) FROM review_jobs GROUP BY status")).all()
                )
                if killed is None and counts.get("done", 0) >= args.jobs // 3:
                    running = conn.execute(
                        text("SELECT id, lease_owner FROM review_jobs WHERE status = 'running'")
                    ).all()
                    for w in workers:
                        mine = [job for job, owner in running if owner and f"-{w.pid}-" in owner]
                        if mine:
                            w.send_signal(signal.SIGKILL)
                            w.wait(10)
                            killed, killed_jobs, killed_at = w.pid, mine, time.monotonic()
                            print(f"fault run: SIGKILLed worker {w.pid} mid-job {mine}", file=sys.stderr)
                            break
                if killed_jobs and taken_over_s is None:
                    still_held = conn.scalar(
                        text(
                            "SELECT count(*) FROM review_jobs WHERE id = ANY(:ids)"
                            " AND status = 'running' AND lease_owner LIKE :dead"
                        ),
                        {"ids": killed_jobs, "dead": f"%-{killed}-%"},
                    )
                    if still_held == 0:
                        assert killed_at is not None
                        taken_over_s = round(time.monotonic() - killed_at, 1)
                if killed_jobs and recovered_s is None:
                    ended = conn.scalar(
                        text(
                            "SELECT count(*) FROM review_jobs"
                            " WHERE id = ANY(:ids) AND status IN ('done', 'failed')"
                        ),
                        {"ids": killed_jobs},
                    )
                    if ended == len(killed_jobs):
                        assert killed_at is not None
                        recovered_s = round(time.monotonic() - killed_at, 1)
            if counts.get("done", 0) + counts.get("failed", 0) == args.jobs:
                break
            time.sleep(0.2)
        makespan = time.monotonic() - started
        sim_stats = sim.stats()
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, status, attempts, error FROM review_jobs")).all()
            runs = conn.scalar(text("SELECT count(*) FROM review_runs"))
            dup_runs = conn.scalar(
                text(
                    "SELECT count(*) FROM (SELECT idempotency_key FROM review_runs "
                    "GROUP BY idempotency_key HAVING count(*) > 1) d"
                )
            )
        engine.dispose()
    finally:
        for w in workers:
            if w.poll() is None:
                peak_rss[w.pid] = max(peak_rss.get(w.pid, 0), rss_kib(w.pid))
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(40)
            except subprocess.TimeoutExpired:
                w.kill()
        client.__exit__(None, None, None)
        client.app.state.runtime.engine.dispose()
        sim.stop()
        github.close()
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        admin_engine.dispose()
        drop_queue(args.amqp, queue)

    status = Counter(r.status for r in rows)
    dead = [r for r in rows if r.status == "failed"]
    without_reason = [r.id for r in dead if not (r.error or "").strip()]
    lost = [r.id for r in rows if r.status not in ("done", "failed")] + [None] * (args.jobs - len(rows))
    duplicates = {n: c for n, c in github.posts.items() if c > 1}
    return {
        "jobs": args.jobs,
        "workers": args.workers,
        "fault_rate": args.fault_rate,
        "killed_worker": killed is not None,
        "lease_s": args.lease,
        # SIGKILL -> no job is held by the dead worker any more (taken over, or ended), and ->
        # every job it held ended (done or dead; retries with backoff included), to 0.2 s.
        "killed_jobs_taken_over_s": taken_over_s,
        "killed_jobs_recovered_s": recovered_s,
        "done": status.get("done", 0),
        "dead": len(dead),
        "dead_without_reason": len(without_reason),
        "dead_reasons": Counter((r.error or "")[:80] for r in dead).most_common(5),
        "lost": len(lost),
        "reviews_posted": sum(github.posts.values()),
        "duplicate_posts": sum(c - 1 for c in duplicates.values()),
        "usage_runs": int(runs or 0),
        "duplicate_usage_runs": int(dup_runs or 0),
        "attempts": dict(sorted(Counter(r.attempts for r in rows).items())),
        "makespan_s": round(makespan, 1),
        "peak_rss_mib_worker_max": round(max(peak_rss.values(), default=0) / 1024, 1),
        "peak_rss_mib_bench": round(_self_rss_kib() / 1024, 1),
        "model_requests": {
            k: sim_stats.get("keys", {}).get(SIM_KEY, {}).get(k) for k in ("requests", "ok", "errors")
        },
    }


def _self_rss_kib() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def ok(result: dict[str, Any]) -> bool:
    return (
        result["lost"] == 0
        and result["dead_without_reason"] == 0
        and result["duplicate_posts"] == 0
        and result["duplicate_usage_runs"] == 0
        and result["done"] + result["dead"] == result["jobs"]
        and result["reviews_posted"] == result["done"]
    )


def drop_queue(amqp_url: str, queue: str) -> None:
    """Delete the run's queue and the delay and dead-letter queues Dramatiq made beside it."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel.queue_delete(name)
    finally:
        connection.close()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2, help="jobs at once per worker")
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lease", type=float, default=30.0, help="worker job lease, seconds")
    parser.add_argument("--deadline-s", type=float, default=300.0)
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a server to create (and drop) the run's database on",
    )
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument(
        "--queue", default=None, help="queue name (default: hw-fault-<random>; deleted after)"
    )
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = run(args)
    result["ok"] = ok(result)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
