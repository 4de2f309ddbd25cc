"""A scripted pull request of five pushes, driven through the real review server (embedded
workers, the simulator as the model, a fake GitHub or GitLab over loopback HTTP), for the
conversation tests and ``bench/conversation_pushes.py``.

The pushes do what real ones do to earlier findings: move them (lines added above), keep them
(unchanged code), fix them (the line goes away) and add new ones. Between pushes the author acts
on the threads: after push 1 they resolve the bare-``except`` thread, after push 2 they answer
"won't fix" on the TODO thread. Every push is reviewed as a whole pull request (GitHub: the
compare API reports a force-push, so there is no incremental diff; GitLab: always), which is the
case where a reviewer without memory repeats itself.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from hunkwise.platforms.github_webhooks import sign
from hunkwise.platforms.review_post import marker_values, markers_in
from hunkwise.review.fingerprint import Fingerprint, same_finding
from platform_fakes import FakeGitHub, FakeGitLab, ServedFake

WEBHOOK_SECRET = "scripted-pr-webhook-secret"
ADMIN = "scripted-pr-admin-token-0123456789abcdef"
DATA = Path(__file__).parent / "data" / "github-webhooks"
GITLAB_PROJECT = {"id": 42, "path_with_namespace": "acme/api"}

_SERVICE_V1 = """import os


def load(path):
    try:
        return open(path).read()
    except:
        return None


def run(expr):
    return eval(expr)
"""
_HEADER = '''"""Service helpers."""
import logging

log = logging.getLogger(__name__)
'''
_UTIL_V2 = """def cached(fn):
    # TODO: bound the cache size
    store = {}
    return fn
"""
_UTIL_V3 = (
    _UTIL_V2
    + """

def parse(text):
    try:
        return int(text)
    except:
        return 0
"""
)
_SERVICE_V3 = (_HEADER + _SERVICE_V1).replace("return eval(expr)", "return ast.literal_eval(expr)")
_SETTINGS_V4 = 'REGION = "eu-west-1"\nACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"\n'
_SERVICE_V5 = _SERVICE_V3.replace("log = logging", "# FIXME: structured logging\nlog = logging")

# What the pull request's files are after each push.
VERSIONS: list[dict[str, str]] = [
    {"app/service.py": _SERVICE_V1},
    {"app/service.py": _HEADER + _SERVICE_V1, "app/util.py": _UTIL_V2},
    {"app/service.py": _SERVICE_V3, "app/util.py": _UTIL_V3},
    {"app/service.py": _SERVICE_V3, "app/util.py": _UTIL_V3, "app/settings.py": _SETTINGS_V4},
    {"app/service.py": _SERVICE_V5, "app/util.py": _UTIL_V3, "app/settings.py": _SETTINGS_V4},
]


def pr_diff(files: dict[str, str]) -> str:
    """The pull request's diff: every file new on this branch."""
    out = []
    for path, text in sorted(files.items()):
        lines = text.splitlines()
        out += [f"diff --git a/{path} b/{path}", "new file mode 100644", "--- /dev/null", f"+++ b/{path}"]
        out.append(f"@@ -0,0 +1,{len(lines)} @@")
        out += [f"+{line}" for line in lines]
    return "\n".join(out) + "\n"


def head(push: int) -> str:
    return f"{push + 1:x}".rjust(40, "a")


def server_env(platform: str, fake_url: str, sim_url: str, dev_key: str) -> dict[str, str]:
    """Fixed mode on the simulator's Developer API, and the platform's webhook secret, token and
    API root (the fake's)."""
    env = {
        "HUNKWISE_ADMIN_TOKEN": ADMIN,
        "HUNKWISE_ALLOW_PRIVATE_BASE_URLS": "127.0.0.1",
        "HUNKWISE_MODEL": "glm-5.1",
        "ZAI_API_KEY": dev_key,
        "ZAI_BASE_URL": sim_url,
    }
    if platform == "github":
        env |= {
            "HUNKWISE_GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "HUNKWISE_GITHUB_TOKEN": "ghp_scripted_pr_token",
            "HUNKWISE_GITHUB_API_URL": fake_url,
        }
    else:
        env |= {
            "HUNKWISE_GITLAB_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "HUNKWISE_GITLAB_TOKEN": "glpat_scripted_pr_token",
            "HUNKWISE_GITLAB_API_URL": f"{fake_url}/api/v4",
        }
    return env


def deliver(client: TestClient, platform: str, fake_url: str, push: int) -> int:
    """The webhook of push ``push`` (0: opened); returns the job id."""
    if platform == "github":
        raw = (DATA / "pull_request.synchronize.payload.json").read_text()
        event = json.loads(raw.replace("https://api.github.com", fake_url))
        event["action"] = "opened" if push == 0 else "synchronize"
        event["pull_request"]["head"]["sha"] = head(push)
        event["before"], event["after"] = (head(push - 1) if push else "0" * 40), head(push)
        body = json.dumps(event).encode()
        headers = {
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": f"push-{push}",
            "X-Hub-Signature-256": sign(WEBHOOK_SECRET, body),
            "Content-Type": "application/json",
        }
        resp = client.post("/webhooks/github", content=body, headers=headers)
    else:
        attrs: dict[str, Any] = {"iid": 3, "action": "open" if push == 0 else "update", "draft": False}
        attrs["last_commit"] = {"id": head(push)}
        if push:
            attrs["oldrev"] = head(push - 1)
        event = {
            "object_kind": "merge_request",
            "project": {**GITLAB_PROJECT, "web_url": f"{fake_url}/acme/api"},
            "object_attributes": attrs,
        }
        headers = {"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": WEBHOOK_SECRET}
        resp = client.post("/webhooks/gitlab", content=json.dumps(event).encode(), headers=headers)
    assert resp.status_code == 202, resp.text
    return int(resp.json()["job_id"])


def wait_review(client: TestClient, job_id: int, deadline_s: float = 90) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        got = client.get(f"/api/reviews/{job_id}", headers=headers).json()
        if got["status"] in ("done", "failed"):
            return dict(got)
        time.sleep(0.05)
    raise AssertionError(f"review {job_id} did not finish")


# -- what is on the pull request ----------------------------------------------------------------------
def threads(fake: FakeGitHub | FakeGitLab) -> list[tuple[str, dict[str, Any]]]:
    """hunkwise's inline threads: ``(fingerprint, first comment or note)``, oldest first."""
    if isinstance(fake, FakeGitHub):
        roots = fake.own_threads()
    else:
        roots = [d["notes"][0] for d in fake.own_discussions()]
    return [(marker_values(r["body"], "fp")[0], r) for r in roots]


def summaries(fake: FakeGitHub | FakeGitLab) -> list[str]:
    """The bodies of every summary hunkwise wrote (one per pull request is the promise)."""
    bodies = (
        [r["body"] for r in fake.reviews] if isinstance(fake, FakeGitHub) else [n["body"] for n in fake.notes]
    )
    return [b for b in bodies if any(kind == "summary" for kind, _ in markers_in(b))]


def duplicates(fps: list[str]) -> int:
    """Posted comments that are the same finding as an earlier posted one."""
    seen: list[Fingerprint] = []
    dup = 0
    for text in fps:
        fp = Fingerprint.parse(text)
        if any(same_finding(fp, s) for s in seen):
            dup += 1
        else:
            seen.append(fp)
    return dup


def act(fake: FakeGitHub | FakeGitLab, push: int) -> None:
    """The author, after push ``push``: resolves the bare-except thread (after 0), answers
    "won't fix" on the TODO thread of util.py (after 1)."""
    for _, root in threads(fake):
        title = root["body"]
        if push == 0 and "Bare except" in title:
            _reply(fake, root, "Intentional: load() must never raise here.")
            _resolve(fake, root)
        if push == 1 and "TODO" in title and _path(root) == "app/util.py":
            _reply(fake, root, "Won't fix: the cache is bounded by the caller.")


def _example_thread(fake: FakeGitHub | FakeGitLab) -> list[str]:
    """The first thread whose comment carries a committable suggestion, as its comment bodies."""
    for _, root in threads(fake):
        if "```suggestion" not in root["body"]:
            continue
        if isinstance(fake, FakeGitHub):
            replies = [c["body"] for c in fake.review_comments if c.get("in_reply_to_id") == root["id"]]
        else:
            notes = next(d["notes"] for d in fake.discussions if d["notes"][0] is root)
            replies = [n["body"] for n in notes[1:]]
        return [root["body"], *replies]
    return []


def _path(root: dict[str, Any]) -> str:
    return str(root.get("path") or (root.get("position") or {}).get("new_path") or "")


def _resolve(fake: FakeGitHub | FakeGitLab, root: dict[str, Any]) -> None:
    if isinstance(fake, FakeGitHub):
        fake.resolve(root["id"])
    else:
        fake.resolve(next(d["id"] for d in fake.discussions if d["notes"][0] is root))


def _reply(fake: FakeGitHub | FakeGitLab, root: dict[str, Any], body: str) -> None:
    if isinstance(fake, FakeGitHub):
        fake.reply(root["id"], body)
    else:
        fake.reply(next(d["id"] for d in fake.discussions if d["notes"][0] is root), body)


@dataclass
class PushFigures:
    push: int
    findings: int  # what this push's review found (a naive reviewer posts all of them)
    posted: int  # inline comments hunkwise posted for this push
    summary_edits: int  # summary edits so far


@dataclass
class Outcome:
    platform: str
    pushes: list[PushFigures] = field(default_factory=list)
    fingerprints_found: list[list[str]] = field(default_factory=list)  # per push, every finding's
    summary: str = ""  # the summary as it reads after the last push
    summaries: int = 0
    thread_fps: list[str] = field(default_factory=list)
    resolved_after: int = 0  # resolved threads on the PR at the end
    example_thread: list[str] = field(default_factory=list)  # a thread with a committable fix: its bodies

    @property
    def naive_comments(self) -> int:
        return sum(p.findings for p in self.pushes)

    @property
    def naive_duplicates(self) -> int:
        return duplicates([fp for push in self.fingerprints_found for fp in push])

    @property
    def posted(self) -> int:
        return len(self.thread_fps)

    def figures(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "pushes": len(self.pushes),
            "naive_comments": self.naive_comments,
            "naive_duplicates": self.naive_duplicates,
            "hunkwise_comments": self.posted,
            "hunkwise_duplicates": duplicates(self.thread_fps),
            "summaries": self.summaries,
            "summary_edits": self.pushes[-1].summary_edits if self.pushes else 0,
            "per_push": [vars(p) for p in self.pushes],
        }


def make_fake(platform: str) -> FakeGitHub | FakeGitLab:
    return (
        FakeGitHub(diff=pr_diff(VERSIONS[0]))
        if platform == "github"
        else FakeGitLab(diff=pr_diff(VERSIONS[0]))
    )


def run_pushes(client: TestClient, platform: str, served: ServedFake, *, pushes: int = 5) -> Outcome:
    """Push the scripted versions one by one, each reviewed to the end before the next, with the
    author's actions between them."""
    from hunkwise.review.findings import Finding
    from hunkwise.review.fingerprint import fingerprints

    fake = served.fake
    out = Outcome(platform)
    for push in range(pushes):
        fake.diff = pr_diff(VERSIONS[push])
        if isinstance(fake, FakeGitLab):
            fake.head_sha = head(push)
        before = len(threads(fake))
        job = wait_review(client, deliver(client, platform, served.url, push))
        assert job["status"] == "done", job
        keys = ("path", "start_line", "end_line", "severity", "category", "title")
        found = [Finding(**{k: f[k] for k in keys}) for f in job["findings"]]
        files = {p: dict(enumerate(t.splitlines(), 1)) for p, t in VERSIONS[push].items()}
        out.fingerprints_found.append([fp.text for fp in fingerprints(found, files)])
        out.pushes.append(PushFigures(push, len(found), len(threads(fake)) - before, len(fake.edits)))
        act(fake, push)
    out.thread_fps = [fp for fp, _ in threads(fake)]
    out.example_thread = _example_thread(fake)
    found_summaries = summaries(fake)
    out.summaries = len(found_summaries)
    out.summary = found_summaries[-1] if found_summaries else ""
    if isinstance(fake, FakeGitHub):
        out.resolved_after = len(fake.resolved)
    else:
        out.resolved_after = sum(1 for d in fake.discussions if d["notes"][0]["resolved"])
    return out
