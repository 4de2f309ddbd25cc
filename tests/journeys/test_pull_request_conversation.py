"""Journey: a pull request's conversation over several pushes, on GitHub and on GitLab.

A real ``hunkwise serve`` (fixed mode: the simulator's Developer API through ``ZAI_BASE_URL``)
receives signed webhooks for a scripted pull request (tests/scripted_pr.py) and posts to the
project's fake GitHub and fake GitLab over loopback HTTP. Between pushes the author resolves one
thread and answers "won't fix" on another. The pull request ends with every finding posted once,
one summary edited on each push, the resolved thread still resolved, and committable fixes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from journeykit import DEV_KEY, WEBHOOK_SECRET, Server, Simulator, deliver, github_event, server_env

from platform_fakes import FakeGitHub, FakeGitLab, ServedFake
from scripted_pr import VERSIONS, act, duplicates, head, pr_diff, summaries, threads

pytestmark = pytest.mark.journey
PUSHES = 3


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, ServedFake]]:
    served = {
        "github": ServedFake(FakeGitHub(diff=pr_diff(VERSIONS[0]))),
        "gitlab": ServedFake(FakeGitLab(diff=pr_diff(VERSIONS[0]))),
    }
    yield served
    for s in served.values():
        s.close()


@pytest.fixture(scope="module")
def server(journey_dir: Path, simulator: Simulator, fakes: dict[str, ServedFake]) -> Iterator[Server]:
    extra = {
        "HUNKWISE_MODEL": "glm-5.1",
        "HUNKWISE_PLAN": "developer",
        "HUNKWISE_API_KEY": DEV_KEY,
        "ZAI_BASE_URL": simulator.base_url,
        "HUNKWISE_GITLAB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "HUNKWISE_GITLAB_TOKEN": "glpat_journey_fake_token",
        "HUNKWISE_GITLAB_API_URL": f"{fakes['gitlab'].url}/api/v4",
    }
    srv = Server(server_env(journey_dir / "server-home", fakes["github"].url, extra), journey_dir)
    yield srv
    srv.stop()


def _push(server: Server, platform: str, served: ServedFake, push: int) -> dict[str, Any]:
    fake = served.fake
    fake.diff = pr_diff(VERSIONS[push])
    if platform == "github":
        event = github_event(
            "pull_request.synchronize", served.url, action="opened" if push == 0 else "synchronize"
        )
        event["pull_request"]["head"]["sha"] = head(push)
        resp = deliver(server, event, delivery=f"conversation-{push}")
    else:
        assert isinstance(fake, FakeGitLab)
        fake.head_sha = head(push)
        attrs: dict[str, Any] = {
            "iid": 3,
            "action": "open" if push == 0 else "update",
            "last_commit": {"id": head(push)},
        }
        if push:
            attrs["oldrev"] = head(push - 1)
        event = {
            "object_kind": "merge_request",
            "project": {"id": 42, "path_with_namespace": "acme/api", "web_url": f"{served.url}/acme/api"},
            "object_attributes": attrs,
        }
        headers = {"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": WEBHOOK_SECRET}
        resp = httpx.post(
            f"{server.url}/webhooks/gitlab", content=json.dumps(event), headers=headers, timeout=30
        )
    assert resp.status_code == 202, resp.text
    with server.client() as api:
        return server.wait_job(api, resp.json()["job_id"])


@pytest.mark.parametrize("platform", ["github", "gitlab"])
def test_later_pushes_post_only_new_findings_edit_one_summary_and_keep_resolved_threads(
    server: Server, fakes: dict[str, ServedFake], platform: str
) -> None:
    served = fakes[platform]
    fake = served.fake
    posted: list[int] = []
    for push in range(PUSHES):
        before = len(threads(fake))
        job = _push(server, platform, served, push)
        assert job["status"] == "done", job
        posted.append(len(threads(fake)) - before)
        act(fake, push)  # resolve the bare-except thread; then "won't fix" on util.py's TODO
    fps = [fp for fp, _ in threads(fake)]
    assert posted[0] == 2 and posted[1:] == [1, 1]  # only what each push added
    assert duplicates(fps) == 0
    [summary] = summaries(fake)
    assert len(fake.edits) == PUSHES - 1 and f"`{head(PUSHES - 1)[:12]}`" in summary
    assert "**2** resolved or won't fix earlier (not reopened)" in summary
    assert "### Walkthrough" in summary and "### Coverage" in summary and "`glm-5.1`" in summary
    # the resolved thread is still resolved and nothing was posted on it again
    if isinstance(fake, FakeGitHub):
        assert len(fake.resolved) == 1
        assert any("```suggestion\n" in root["body"] for _, root in threads(fake))
    else:
        assert sum(1 for d in fake.discussions if d["notes"][0]["resolved"]) == 1
        assert any("```suggestion:-0+0\n" in root["body"] for _, root in threads(fake))
