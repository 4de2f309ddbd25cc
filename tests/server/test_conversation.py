"""The pull-request conversation through the real app (embedded workers), the simulator as the
organization's model over loopback HTTP, and the GitHub/GitLab fakes over loopback HTTP: the
merge status, ``@hunkwise`` commands and feedback demotion (docs/conversation.md)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from srvkit import admin_headers
from test_webhooks import DATA, SECRET, deliver, load, wait_review

from platform_fakes import HUNKWISE_USER, FakeGitHub, FakeGitLab, ServedFake
from simkeys import CODING_LITE_KEY, DEV_KEY

REPO = "Codertocat/Hello-World"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
CONFIG_PY = "".join(f"line {n}\n" for n in range(1, 30))


@pytest.fixture
def github() -> Iterator[ServedFake]:
    fake = FakeGitHub(files_ref=HEAD, files={"src/inventory/config.py": CONFIG_PY})
    fake.permissions = {"Codertocat": "write", "reader": "read"}
    served = ServedFake(fake)
    yield served
    served.close()


def make_server(
    make_client: Callable[..., TestClient], github: ServedFake, byok: dict, **env: str
) -> TestClient:
    client = make_client(
        HUNKWISE_GITHUB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
        GITHUB_API_URL=github.url,
        HUNKWISE_GITHUB_TOKEN="ghp_conversation_test_token",
        **env,
    )
    assert client.put("/api/orgs/codertocat/byok", json=byok, headers=admin_headers()).status_code == 200
    return client


@pytest.fixture
def server(make_client: Callable[..., TestClient], sim: Any, github: ServedFake) -> TestClient:
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    return make_server(make_client, github, byok, HUNKWISE_FEEDBACK_MIN_SAMPLES="2")


def fake_of(served: ServedFake) -> FakeGitHub:
    return served.fake  # type: ignore[return-value]


def opened(server: TestClient, github: ServedFake) -> dict:
    resp = deliver(server, load("pull_request.opened.payload.json", github.url))
    assert resp.status_code == 202, resp.text
    return wait_review(server, resp.json()["job_id"])


def comment_payload(
    github: ServedFake, body: str, *, reply_to: int | None, user: dict | None = None
) -> bytes:
    """A signed ``pull_request_review_comment`` (``reply_to``: the thread's first comment) or an
    ``issue_comment`` on the pull request (``reply_to`` None), from GitHub's own examples."""
    if reply_to is None:
        data = json.loads(load("issue_comment.created.payload.json", github.url))
        data["issue"]["number"] = 2
        data["issue"]["pull_request"] = {"url": f"{github.url}/repos/{REPO}/pulls/2"}
    else:
        data = json.loads(load("pull_request_review_comment.created.payload.json", github.url))
        data["comment"]["in_reply_to_id"] = reply_to
        data["comment"]["id"] = 600000 + reply_to
    data["comment"]["body"] = body
    if user is not None:
        data["comment"]["user"] = user
    return json.dumps(data).encode()


def event_of(reply_to: int | None) -> str:
    return "issue_comment" if reply_to is None else "pull_request_review_comment"


def say(server: TestClient, github: ServedFake, body: str, *, reply_to: int | None = None, **kw: Any) -> Any:
    payload = comment_payload(github, body, reply_to=reply_to, **kw)
    return deliver(server, payload, event=event_of(reply_to), delivery=f"c-{time.monotonic_ns()}")


def wait_job(client: TestClient, job_id: int) -> dict:
    return wait_review(client, job_id)


def replies(fake: FakeGitHub, root: int) -> list[dict]:
    return [c for c in fake.review_comments if c.get("in_reply_to_id") == root]


# -- the merge status ---------------------------------------------------------------------------------
def test_opened_review_shows_pending_then_a_final_check_run(server: TestClient, github: ServedFake) -> None:
    review = opened(server, github)
    assert review["status"] == "done", review["error"]
    fake = fake_of(github)
    assert [s for s, _ in fake.status_history()] == ["pending", "success"]
    [run] = fake.check_runs
    assert run["head_sha"] == HEAD and run["status"] == "completed" and run["conclusion"] == "success"
    assert "1 critical" in run["output"]["title"]


def test_fail_on_and_a_user_token_fail_the_commit_status(
    make_client: Callable[..., TestClient], sim: Any, github: ServedFake
) -> None:
    fake_of(github).checks_allowed = False  # a personal access token: commit statuses instead
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    server = make_server(make_client, github, byok, HUNKWISE_STATUS_FAIL_ON="high")
    assert opened(server, github)["status"] == "done"
    statuses = fake_of(github).statuses
    assert [(s["state"], s["context"], s["sha"]) for s in statuses] == [
        ("pending", "hunkwise", HEAD),
        ("failure", "hunkwise", HEAD),
    ]
    assert "fails on high" in statuses[-1]["description"]


def test_a_failed_review_fails_the_status_with_its_reason(
    make_client: Callable[..., TestClient], sim_factory: Callable[..., Any], github: ServedFake
) -> None:
    """The key's plan expired (Z.AI 1309): nothing was reviewed, the status is a failure that
    says why, never green; the review job is dead with the same reason."""
    from hunkwise.sim import KeyConfig

    sim = sim_factory(keys=[KeyConfig(key=CODING_LITE_KEY, kind="coding", tier="lite", force_error="1309")])
    byok = {"main": {"card": "glm-5.1", "plan": "coding", "tier": "lite", "base_url": sim.zai_coding_url,
                     "api_key": CODING_LITE_KEY}}  # fmt: skip
    server = make_server(make_client, github, byok)
    review = opened(server, github)
    assert review["status"] == "failed"
    fake = fake_of(github)
    assert fake.posts == []  # nothing reviewed, nothing posted
    states = fake.status_history()
    assert states[0][0] == "pending" and states[-1][0] == "failure"
    assert "incomplete (quota)" in states[-1][1] and "success" not in [s for s, _ in states]


# -- commands ----------------------------------------------------------------------------------------
def test_explain_in_a_thread_answers_once_with_the_code(
    server: TestClient, github: ServedFake, sim: Any
) -> None:
    assert opened(server, github)["status"] == "done"
    fake = fake_of(github)
    root = next(c for c in fake.review_comments if c["path"] == "src/inventory/config.py")
    calls_before = sim.key_stats(DEV_KEY)["ok"]
    resp = say(server, github, "@hunkwise explain", reply_to=root["id"])
    assert resp.status_code == 202 and resp.json()["status"] == "queued", resp.text
    job = wait_job(server, resp.json()["job_id"])
    assert job["status"] == "done", job["error"]
    [answer] = replies(fake, root["id"])
    assert answer["body"].startswith("[simulator] About **")
    assert f"at `src/inventory/config.py:{root['line']}`" in answer["body"]
    assert f"`line {root['line']}`" in answer["body"]  # the code around the finding reached the model
    assert "<!-- hunkwise:reply:" in answer["body"]
    assert sim.key_stats(DEV_KEY)["ok"] == calls_before + 1  # one call, through the org's key
    # the same comment delivered again: one job, one answer
    again = deliver(
        server,
        comment_payload(github, "@hunkwise explain", reply_to=root["id"]),
        event="pull_request_review_comment",
        delivery="again",
    )
    assert again.json()["duplicate"] is True and len(replies(fake, root["id"])) == 1
    # our own answer comes back as a webhook: never answered
    own = say(server, github, answer["body"], reply_to=root["id"], user=dict(HUNKWISE_USER))
    assert own.json()["status"] == "ignored" and "own" in own.json()["reason"]
    assert len(replies(fake, root["id"])) == 1


def test_a_question_on_the_pull_request_is_answered_in_its_conversation(
    server: TestClient, github: ServedFake
) -> None:
    resp = say(server, github, "Hey @HunkWise, is this safe to merge?")
    assert resp.json()["status"] == "queued", resp.text
    assert wait_job(server, resp.json()["job_id"])["status"] == "done"
    [answer] = fake_of(github).issue_comments
    assert "is this safe to merge?" in answer["body"] and "(the pull request)" in answer["body"]


def test_non_collaborator_bot_and_plain_issue_are_ignored(
    server: TestClient, github: ServedFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hunkwise.webhooks")
    stranger = {"login": "drive-by", "id": 999, "type": "User"}
    resp = say(server, github, "@hunkwise review", user=stranger)
    assert resp.json()["status"] == "ignored" and "may not command" in resp.json()["reason"]
    assert any("command ignored" in r.message and "drive-by" in r.message for r in caplog.records)
    reader = {"login": "reader", "id": 998, "type": "User"}
    assert "permission read" in say(server, github, "@hunkwise review", user=reader).json()["reason"]
    app_bot = {"login": "someone[bot]", "id": 997, "type": "Bot"}
    assert "bot" in say(server, github, "@hunkwise review", user=app_bot).json()["reason"]
    plain = load("issue_comment.created.payload.json", github.url).replace(
        b"You are totally right!", b"@hunkwise review"
    )
    resp = deliver(server, plain, event="issue_comment", delivery="plain")
    assert resp.json()["status"] == "ignored" and "not on a pull request" in resp.json()["reason"]
    no_command = say(server, github, "thanks, email me at x@hunkwise.dev")
    assert no_command.json()["status"] == "ignored"
    listed = server.get("/api/reviews", headers=admin_headers()).json()
    assert listed == [] and fake_of(github).issue_comments == []


def test_review_command_enqueues_a_review_of_the_head(server: TestClient, github: ServedFake) -> None:
    fake = fake_of(github)
    fake.pulls[2] = json.loads(load("pull_request.opened.payload.json", github.url))["pull_request"]
    resp = say(server, github, "@hunkwise review")
    assert resp.json()["status"] == "queued", resp.text
    review = wait_review(server, resp.json()["job_id"])
    assert review["status"] == "done" and review["repository"] == REPO
    assert len(fake.posts) == 1 and fake.posts[0]["commit_id"] == HEAD


def test_commands_are_rate_limited_per_pull_request(
    make_client: Callable[..., TestClient], sim: Any, github: ServedFake
) -> None:
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    server = make_server(make_client, github, byok, HUNKWISE_COMMANDS_PER_HOUR="2", HUNKWISE_JOB_WORKERS="0")
    said = [say(server, github, f"@hunkwise question {n}?").json() for n in range(3)]
    assert [s["status"] for s in said] == ["queued", "queued", "ignored"]
    assert "rate limited" in said[2]["reason"]


def test_two_servers_on_one_database_share_the_command_limit(
    make_client: Callable[..., TestClient], sim: Any, github: ServedFake
) -> None:
    """Two server processes behind one address (here two apps on one store): the limit is the
    pull request's, not each process's (it was a counter in each process's memory)."""
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    env = {"HUNKWISE_COMMANDS_PER_HOUR": "2", "HUNKWISE_JOB_WORKERS": "0"}
    first = make_server(make_client, github, byok, **env)
    second = make_client(  # the same SQLite file (make_client's), the organization already there
        HUNKWISE_GITHUB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
        GITHUB_API_URL=github.url,
        HUNKWISE_GITHUB_TOKEN="ghp_conversation_test_token",
        **env,
    )
    said = [
        say(server, github, f"@hunkwise question {n}?").json()
        for n, server in enumerate([first, second, first])
    ]
    assert [s["status"] for s in said] == ["queued", "queued", "ignored"], said
    assert "rate limited" in said[2]["reason"]
    assert say(second, github, "@hunkwise one more?").json()["status"] == "ignored"


def test_ignore_suppresses_the_threads_fingerprint(server: TestClient, github: ServedFake) -> None:
    from hunkwise.store.posted_findings import PullRef, suppressed

    fake = fake_of(github)
    fp = "0123456789abcdef.eval-on-user-input"
    fake.review_comments.append(  # a finding comment as hunkwise posts it, with its fingerprint
        {
            "id": 4711, "path": "src/inventory/config.py", "line": 10, "commit_id": HEAD,
            "body": f"🛑 **CRITICAL** · security · **eval on user input**\n<!-- hunkwise:fp:{fp} -->",
            "user": dict(HUNKWISE_USER), "reactions": {"total_count": 0, "+1": 0, "-1": 0},
        }
    )  # fmt: skip
    resp = say(server, github, "@hunkwise ignore repo", reply_to=4711)
    assert wait_job(server, resp.json()["job_id"])["status"] == "done"
    engine = server.app.state.runtime.engine  # type: ignore[attr-defined]
    assert suppressed(engine, PullRef("github", REPO, 99)) == [fp]  # repository-wide: any PR
    [answer] = replies(fake, 4711)
    assert "will not be posted again on any pull request of" in answer["body"]


# -- feedback ------------------------------------------------------------------------------------------
def with_new_file(diff: str, name: str) -> str:
    """The pull request's diff plus a new file whose one line the simulator flags (eval: security)."""
    return diff + (
        f"diff --git a/{name} b/{name}\nnew file mode 100644\nindex 0000000..1111111\n"
        f"--- /dev/null\n+++ b/{name}\n@@ -0,0 +1,2 @@\n+def run(expr):\n+    return eval(expr)\n"
    )


def test_thumbs_down_demotes_a_category_on_the_next_review(server: TestClient, github: ServedFake) -> None:
    assert opened(server, github)["status"] == "done"
    fake = fake_of(github)
    security = [c for c in fake.review_comments if "· security ·" in c["body"]]
    assert len(security) >= 2
    for c in fake.review_comments:  # security disliked; the rest liked (their path stays above it)
        fake.react(c["id"], "-1" if c in security else "+1")
    # a resolved thread is recorded too (pull_request_review_thread webhook) once hunkwise knows it
    thread = json.loads((DATA / "pull_request_review_thread.resolved.payload.json").read_bytes())
    other = next(c for c in fake.review_comments if c not in security)
    thread["thread"]["comments"][0]["id"] = other["id"]
    resolved = deliver(server, json.dumps(thread).encode(), event="pull_request_review_thread", delivery="t1")
    assert resolved.json()["recorded"] == 0  # reactions and comments are learned at the next review
    # the next push adds a new security finding: reactions are read first; security is demoted
    original, posted_before = fake.diff, len(fake.posts)
    fake.diff = with_new_file(original, "src/inventory/extra.py")
    push = json.loads(load("pull_request.synchronize.payload.json", github.url))
    push["pull_request"]["head"]["sha"] = "d" * 40
    resp = deliver(server, json.dumps(push).encode(), delivery="push-2")
    assert wait_review(server, resp.json()["job_id"])["status"] == "done"
    assert len(fake.posts) == posted_before  # nothing new inline: the one new finding is demoted
    summary = fake.edits[-1]["body"]  # the one summary, edited in place, says so and why
    assert "demoted to this summary" in summary and "src/inventory/extra.py:2" in summary
    assert "category security: 0 of 2 accepted" in summary
    rates = server.get("/api/orgs/codertocat/feedback", headers=admin_headers()).json()
    security_rate = next(r for r in rates["rates"] if r["kind"] == "category" and r["value"] == "security")
    assert security_rate["demoted"] is True and security_rate["acceptance"] == 0.0
    # the resolution arrives again: now recorded against the comment hunkwise knows
    again = deliver(server, json.dumps(thread).encode(), event="pull_request_review_thread", delivery="t2")
    assert again.json()["recorded"] == 1
    # reversible: un-demote through the API; at the next push the demoted finding (never posted
    # inline) and a new one are posted inline
    undo = server.post(
        "/api/orgs/codertocat/feedback/undemote",
        json={"repository": REPO, "kind": "category", "value": "security"},
        headers=admin_headers(),
    )
    assert undo.status_code == 200 and undo.json()["changed"] is True
    fake.diff = with_new_file(fake.diff, "src/inventory/more.py")
    push["pull_request"]["head"]["sha"] = "e" * 40
    resp = deliver(server, json.dumps(push).encode(), delivery="push-3")
    assert wait_review(server, resp.json()["job_id"])["status"] == "done"
    new = [c for c in fake.posts[-1].get("comments") or [] if "· security ·" in c["body"]]
    assert sorted(c["path"] for c in new) == ["src/inventory/extra.py", "src/inventory/more.py"]


# -- GitLab ----------------------------------------------------------------------------------------------
@pytest.fixture
def gitlab() -> Iterator[ServedFake]:
    fake = FakeGitLab(files_ref="c" * 40, files={"src/inventory/config.py": CONFIG_PY})
    fake.head_sha = "c" * 40
    fake.members = {18: 30, 19: 20}  # mr-author: Developer; a Reporter
    served = ServedFake(fake)
    yield served
    served.close()


def gitlab_server(make_client: Callable[..., TestClient], sim: Any, gitlab: ServedFake) -> TestClient:
    client = make_client(
        HUNKWISE_GITLAB_WEBHOOK_SECRET=SECRET,
        HUNKWISE_GITLAB_API_URL=f"{gitlab.url}/api/v4",
        HUNKWISE_GITLAB_TOKEN="glpat_conversation",
        HUNKWISE_ALLOW_PRIVATE_BASE_URLS="127.0.0.1",
    )
    byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
    assert client.put("/api/orgs/acme/byok", json=byok, headers=admin_headers()).status_code == 200
    return client


def gitlab_post(client: TestClient, event: dict, kind: str) -> Any:
    headers = {"X-Gitlab-Event": kind, "X-Gitlab-Token": SECRET, "Content-Type": "application/json"}
    return client.post("/webhooks/gitlab", content=json.dumps(event).encode(), headers=headers)


def note_event(gitlab: ServedFake, body: str, *, discussion: str | None, user: dict) -> dict:
    """A GitLab note event on merge request !3 (docs.gitlab.com webhook_events#comment-events)."""
    return {
        "object_kind": "note",
        "event_type": "note",
        "user": user,
        "project": {"id": 42, "path_with_namespace": "acme/api", "web_url": f"{gitlab.url}/acme/api"},
        "object_attributes": {
            "id": 9000 + len(body), "note": body, "noteable_type": "MergeRequest",
            "discussion_id": discussion, "type": "DiffNote" if discussion else None,
        },
        "merge_request": {"iid": 3, "id": 1003},
    }  # fmt: skip


def test_gitlab_status_explain_and_membership(
    make_client: Callable[..., TestClient], sim: Any, gitlab: ServedFake
) -> None:
    client = gitlab_server(make_client, sim, gitlab)
    fake: FakeGitLab = gitlab.fake  # type: ignore[assignment]
    mr = {
        "object_kind": "merge_request",
        "project": {"id": 42, "path_with_namespace": "acme/api", "web_url": f"{gitlab.url}/acme/api"},
        "object_attributes": {"iid": 3, "action": "open", "last_commit": {"id": "c" * 40}, "draft": False},
    }
    resp = gitlab_post(client, mr, "Merge Request Hook")
    assert wait_review(client, resp.json()["job_id"])["status"] == "done"
    assert [s for s, _ in fake.status_history()] == ["running", "success"]
    assert fake.statuses[-1]["name"] == "hunkwise" and fake.statuses[-1]["sha"] == "c" * 40
    discussion = next(
        d for d in fake.discussions if d["notes"][0]["position"]["new_path"] == "src/inventory/config.py"
    )
    author = {"id": 18, "username": "mr-author", "name": "MR Author"}
    resp = gitlab_post(
        client, note_event(gitlab, "@hunkwise explain", discussion=discussion["id"], user=author), "Note Hook"
    )
    assert resp.json()["status"] == "queued", resp.text
    assert wait_job(client, resp.json()["job_id"])["status"] == "done"
    answers = discussion["notes"][1:]
    assert len(answers) == 1 and answers[0]["body"].startswith("[simulator] About **")
    assert "`line " in answers[0]["body"]  # the file at the head commit reached the model
    reporter = {"id": 19, "username": "reporter"}
    denied = gitlab_post(
        client, note_event(gitlab, "@hunkwise review", discussion=None, user=reporter), "Note Hook"
    )
    assert denied.json()["status"] == "ignored" and "access level 20" in denied.json()["reason"]
    own = gitlab_post(
        client, note_event(gitlab, "@hunkwise review", discussion=None, user=dict(fake.user)), "Note Hook"
    )
    assert own.json()["status"] == "ignored" and "own" in own.json()["reason"]
    issue_note = note_event(gitlab, "@hunkwise review", discussion=None, user=author)
    issue_note["object_attributes"]["noteable_type"] = "Issue"
    assert "not a merge request" in gitlab_post(client, issue_note, "Note Hook").json()["reason"]


def test_console_feedback_page_shows_and_undoes_a_demotion(server: TestClient) -> None:
    from webkit import page_csrf, sign_in

    from hunkwise.store import feedback as store

    engine = server.app.state.runtime.engine  # type: ignore[attr-defined]
    store.record(
        engine,
        [
            store.CommentFeedback("codertocat", "github", REPO, 2, str(n), "style", f"docs/x{n}.md", down=1)
            for n in range(3)
        ],
    )
    made = server.post("/api/orgs/codertocat/tokens", json={"label": "t"}, headers=admin_headers())
    sign_in(server, made.json()["token"], "/console/feedback")
    shown = server.get("/console/feedback")
    assert shown.status_code == 200 and "demoted" in shown.text and ">style<" in shown.text
    csrf = page_csrf(server, "/console/feedback")
    form = {"csrf": csrf, "action": "undemote", "repository": REPO, "kind": "category", "value": "style"}
    assert server.post("/console/feedback", data=form, follow_redirects=False).status_code == 303
    after = server.get("/console/feedback").text
    assert "kept inline" in after
    api = server.get("/api/orgs/codertocat/feedback", headers=admin_headers()).json()
    style = next(r for r in api["rates"] if r["value"] == "style")
    assert style["demoted"] is False and style["overridden"] is True and style["samples"] == 3


def test_rerunning_the_check_run_reviews_the_head_again(server: TestClient, github: ServedFake) -> None:
    """GitHub's *Re-run* on the hunkwise check run (only people with write access see it)."""
    assert opened(server, github)["status"] == "done"
    fake = fake_of(github)
    fake.pulls[2] = json.loads(load("pull_request.opened.payload.json", github.url))["pull_request"]
    rerun = json.loads(load("check_run.rerequested.payload.json", github.url))
    rerun["repository"] = json.loads(load("pull_request.opened.payload.json", github.url))["repository"]
    rerun["check_run"] |= {"name": "hunkwise", "head_sha": HEAD, "pull_requests": [{"number": 2}]}
    resp = deliver(server, json.dumps(rerun).encode(), event="check_run", delivery="rerun-1")
    assert resp.json()["status"] == "queued", resp.text
    assert wait_review(server, resp.json()["job_id"])["status"] == "done"
    assert [s for s, _ in fake.status_history()] == ["pending", "success", "pending", "success"]
    other = json.loads(json.dumps(rerun))
    other["check_run"]["name"] = "ci"
    ignored = deliver(server, json.dumps(other).encode(), event="check_run", delivery="rerun-2")
    assert ignored.json()["status"] == "ignored" and "not ours" in ignored.json()["reason"]
