"""GitLab: token check, merge request event parsing, changes -> diff, and client errors."""

from __future__ import annotations

import json

import httpx
import pytest

from hunkwise.config.settings import Settings
from hunkwise.gateway.types import Secret
from hunkwise.platforms.gitlab import (
    GitLabClient,
    GitLabPayloadError,
    changes_to_diff,
    classify,
    configured_api_url,
    verify_token,
)
from hunkwise.platforms.review_post import PlatformAuthError, PlatformNotFound, PlatformRateLimited
from hunkwise.review.diff import parse_diff

TOKEN = "glpat-canary-TOKEN-1234"
ACME = "https://git.acme.io/api/v4"


def mr_event(action: str = "open", **attrs: object) -> dict:
    return {
        "object_kind": "merge_request",
        "project": {
            "id": 42,
            "path_with_namespace": "Acme/sub/api",
            "web_url": "https://git.acme.io/Acme/sub/api",
        },
        "object_attributes": {"iid": 3, "action": action, "last_commit": {"id": "f" * 40}} | attrs,
    }


def test_token_check() -> None:
    assert verify_token("s3cret", "s3cret")
    assert not verify_token("s3cret", "s3cre")
    assert not verify_token("s3cret", None)
    assert not verify_token("", "")


def test_classify_merge_request_events() -> None:
    decision = classify("Merge Request Hook", mr_event(), api_url=ACME)
    assert decision.kind == "review" and decision.event is not None
    e = decision.event
    assert (e.owner, e.project_id, e.project_path, e.iid) == ("Acme", 42, "Acme/sub/api", 3)
    assert e.api_url == "https://git.acme.io/api/v4" and e.head_sha == "f" * 40
    assert classify(None, mr_event("reopen"), api_url=ACME).kind == "review"
    assert classify(None, mr_event("update", oldrev="e" * 40), api_url=ACME).kind == "review"
    assert classify(None, mr_event("update"), api_url=ACME).kind == "ignore", "an update without new commits"
    assert classify(None, mr_event("merge"), api_url=ACME).kind == "ignore"
    assert classify(None, mr_event(draft=True), api_url=ACME).kind == "ignore"
    assert classify(None, mr_event(work_in_progress=True), api_url=ACME).kind == "ignore"
    assert classify("Push Hook", {"object_kind": "push"}).kind == "ignore"
    from hunkwise.platforms.gitlab import MergeRequestEvent

    assert MergeRequestEvent.from_payload(json.loads(json.dumps(e.as_payload()))) == e
    broken = mr_event()
    del broken["object_attributes"]["last_commit"]
    with pytest.raises(GitLabPayloadError, match="last_commit"):
        classify(None, broken, api_url=ACME)


def test_the_api_base_is_configured_never_read_from_the_payload() -> None:
    assert configured_api_url(Settings.from_env({}).gitlab_api_url) == "https://gitlab.com/api/v4"
    assert (
        configured_api_url(Settings.from_env({"CI_API_V4_URL": "https://a/api/v4"}).gitlab_api_url)
        == "https://a/api/v4"
    )
    env = {"CI_API_V4_URL": "https://a/api/v4", "HUNKWISE_GITLAB_API_URL": "https://b/api/v4/"}
    assert configured_api_url(Settings.from_env(env).gitlab_api_url) == "https://b/api/v4"
    with pytest.raises(GitLabPayloadError, match=r"git\.acme\.io.*configured GitLab host 'gitlab\.com'"):
        classify(None, mr_event())  # the default base: gitlab.com
    evil = mr_event()
    evil["project"]["web_url"] = "https://evil.example/Acme/sub/api"
    with pytest.raises(GitLabPayloadError, match=r"evil\.example"):
        classify(None, evil, api_url=ACME)
    del evil["project"]["web_url"]
    event = classify(None, evil, api_url=ACME + "/").event
    assert event is not None and event.api_url == ACME


def test_changes_become_a_parsable_diff() -> None:
    changes = [
        {"old_path": "a.py", "new_path": "a.py", "diff": "@@ -1,2 +1,3 @@\n x = 1\n+y = 2\n z = 3\n"},
        {"old_path": "new.py", "new_path": "new.py", "new_file": True, "diff": "@@ -0,0 +1 @@\n+print(1)\n"},
        {"old_path": "gone.py", "new_path": "gone.py", "deleted_file": True, "diff": "@@ -1 +0,0 @@\n-x\n"},
    ]
    files = parse_diff(changes_to_diff(changes))
    assert [f.path for f in files][:2] == ["a.py", "new.py"]
    added = {(f.path, ln.new_no) for f in files for h in f.hunks for ln in h.lines if ln.kind == "+"}
    assert added == {("a.py", 2), ("new.py", 1)}


async def test_project_path_is_url_encoded_and_token_header_sent() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        refs = {"base_sha": "b", "start_sha": "s", "head_sha": "h"}
        return httpx.Response(200, json={"changes": [], "diff_refs": refs})

    async with GitLabClient(
        Secret(TOKEN), "https://git.acme.io/api/v4", transport=httpx.MockTransport(handle)
    ) as gl:
        diff, refs = await gl.merge_request_diff("Acme/sub/api", 3)
    assert diff == "" and refs == {"base_sha": "b", "start_sha": "s", "head_sha": "h"}
    assert seen[0].url.raw_path == b"/api/v4/projects/Acme%2Fsub%2Fapi/merge_requests/3/changes"
    assert seen[0].headers["PRIVATE-TOKEN"] == TOKEN


@pytest.mark.parametrize(
    ("status", "error"), [(401, PlatformAuthError), (404, PlatformNotFound), (429, PlatformRateLimited)]
)
async def test_errors_never_show_the_token(status: int, error: type) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(status, json={"message": "nope"}))
    async with GitLabClient(Secret(TOKEN), transport=transport) as gl:
        with pytest.raises(error) as info:
            await gl.merge_request_diff(42, 3)
    assert TOKEN not in str(info.value)
