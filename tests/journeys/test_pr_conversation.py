"""Journey: a team talks with hunkwise on a pull request, and hunkwise learns from it.

A real ``hunkwise serve`` (configured through its environment as docs/conversation.md says: the
handle, the feedback threshold), the organization's key on a ``hunkwise sim`` process behind its
base URL, GitHub the project's fake over loopback HTTP. The team opens a pull request and sees
the ``hunkwise`` check run go from in progress to completed; asks ``@hunkwise explain`` in a
finding's thread and gets one answer there; a drive-by user's command is ignored (the server log
says why); thumbs-down on one category demotes it at the next push (summary only, said so);
``hunkwise feedback`` shows the rate and ``hunkwise feedback undemote`` brings it back inline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from journeykit import DEV_KEY, Server, Simulator, deliver, explain, github_event, run_cli, server_env

pytestmark = pytest.mark.journey

REPO = "Codertocat/Hello-World"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
CONFIG_PY = "".join(f"setting_{n} = {n}\n" for n in range(1, 30))


@pytest.fixture(scope="module")
def github() -> Iterator[Any]:
    from platform_fakes import FakeGitHub, ServedFake

    fake = FakeGitHub(files_ref=HEAD, files={"src/inventory/config.py": CONFIG_PY})
    fake.permissions = {"Codertocat": "write"}
    served = ServedFake(fake)
    yield served
    served.close()


@pytest.fixture(scope="module")
def env(journey_dir: Path, github: Any) -> dict[str, str]:
    return server_env(
        journey_dir / "server-home",
        github.url,
        {"HUNKWISE_FEEDBACK_MIN_SAMPLES": "2", "HUNKWISE_BOT_HANDLE": "hunkwise"},
    )


@pytest.fixture(scope="module")
def server(env: dict[str, str], journey_dir: Path) -> Iterator[Server]:
    srv = Server(env, journey_dir)
    yield srv
    srv.stop()


def with_new_file(diff: str, name: str) -> str:
    """The pull request's diff plus a new file with a line the simulator flags (eval: security)."""
    return diff + (
        f"diff --git a/{name} b/{name}\nnew file mode 100644\nindex 0000000..1111111\n"
        f"--- /dev/null\n+++ b/{name}\n@@ -0,0 +1,2 @@\n+def run(expr):\n+    return eval(expr)\n"
    )


def comment(github: Any, body: str, *, reply_to: int | None, login: str = "Codertocat") -> tuple[str, dict]:
    if reply_to is None:
        event = github_event("issue_comment.created", github.url)
        event["issue"]["number"] = 2
        event["issue"]["pull_request"] = {"url": f"{github.url}/repos/{REPO}/pulls/2"}
        kind = "issue_comment"
    else:
        event = github_event("pull_request_review_comment.created", github.url)
        event["comment"]["in_reply_to_id"] = reply_to
        event["comment"]["id"] = 700000 + reply_to
        kind = "pull_request_review_comment"
    event["comment"]["body"] = body
    event["comment"]["user"] = event["comment"]["user"] | {"login": login, "id": 21031067 + len(login)}
    return kind, event


def test_status_explain_ignore_a_stranger_and_learn_from_thumbs_down(
    server: Server, env: dict[str, str], simulator: Simulator, github: Any, journey_dir: Path
) -> None:
    fake = github.fake
    with server.client() as admin:
        byok = {"main": {"card": "glm-5.1", "base_url": simulator.developer_url, "api_key": DEV_KEY}}
        assert admin.put("/api/orgs/codertocat/byok", json=byok).status_code == 200

        # open: the check run is in progress while reviewing, then completed with the outcome
        resp = deliver(server, github_event("pull_request.opened", github.url), delivery="open")
        assert server.wait_job(admin, resp.json()["job_id"])["status"] == "done"
        assert [s for s, _ in fake.status_history()] == ["pending", "success"]
        assert fake.check_runs[0]["head_sha"] == HEAD and fake.check_runs[0]["conclusion"] == "success"
        inline = len(fake.posts[0]["comments"])

        # @hunkwise explain in a finding's thread: one answer, in that thread, from the org's model
        root = next(c for c in fake.review_comments if c["path"] == "src/inventory/config.py")
        before = simulator.key_requests(DEV_KEY)
        kind, event = comment(github, "@hunkwise explain", reply_to=root["id"])
        asked = deliver(server, event, kind=kind, delivery="explain")
        assert asked.json()["status"] == "queued", asked.text
        assert server.wait_job(admin, asked.json()["job_id"])["status"] == "done"
        [answer] = [c for c in fake.review_comments if c.get("in_reply_to_id") == root["id"]]
        assert f"`setting_{root['line']} = {root['line']}`" in answer["body"]
        assert simulator.key_requests(DEV_KEY) == before + 1
        (journey_dir / "thread.json").write_text(json.dumps({"finding": root, "answer": answer}, indent=2))

        # a drive-by user's command: ignored, and the server log says why
        kind, event = comment(github, "@hunkwise review", reply_to=None, login="drive-by")
        ignored = deliver(server, event, kind=kind, delivery="stranger")
        assert ignored.json()["status"] == "ignored"
        assert "command ignored" in server.logs() and "drive-by" in server.logs()

        # thumbs-down on every security finding, thumbs-up on the rest; the next push brings a
        # new security finding: demoted to the summary, which says why
        security = [c for c in fake.review_comments if "· security ·" in c["body"]]
        for c in fake.review_comments:
            if c.get("in_reply_to_id") is None:
                fake.react(c["id"], "-1" if c in security else "+1")
        posted = len(fake.posts)
        fake.diff = with_new_file(fake.diff, "src/inventory/extra.py")
        push = github_event("pull_request.synchronize", github.url)
        push["pull_request"]["head"]["sha"] = "d" * 40
        pushed = deliver(server, push, delivery="push")
        assert server.wait_job(admin, pushed.json()["job_id"])["status"] == "done"
        assert len(fake.posts) == posted  # nothing new inline
        summary = fake.edits[-1]["body"]
        assert "demoted to this summary" in summary and "category security: 0 of" in summary
        (journey_dir / "demoted-summary.md").write_text(summary)

    # the operator looks at the rates with the CLI, on the server's database, and undoes it
    shown = run_cli(["feedback", "--json"], env)
    assert shown.returncode == 0, explain(shown)
    rates = [json.loads(line) for line in shown.stdout.splitlines()]
    security_rate = next(r for r in rates if r["kind"] == "category" and r["value"] == "security")
    assert security_rate["demoted"] is True and security_rate["acceptance"] == 0.0
    undone = run_cli(["feedback", "undemote", "codertocat", "category", "security", "--repo", REPO], env)
    assert undone.returncode == 0 and "kept inline" in undone.stdout, explain(undone)
    with server.client() as admin:
        push["pull_request"]["head"]["sha"] = "e" * 40
        again = deliver(server, push, delivery="push-again")
        assert server.wait_job(admin, again.json()["job_id"])["status"] == "done"
    inline_now = [c["path"] for c in fake.posts[-1].get("comments") or []]
    assert inline_now == ["src/inventory/extra.py"]  # the demoted finding, now inline
    assert inline
    assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
