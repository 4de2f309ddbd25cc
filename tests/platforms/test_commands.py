"""``@hunkwise`` commands: which deliveries carry one, what it says, who is never answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hunkwise.platforms.commands import Command, classify_github, classify_gitlab, parse_command
from hunkwise.platforms.github_webhooks import WebhookPayloadError
from hunkwise.platforms.identity import IdentityError

DATA = Path(__file__).parents[1] / "data" / "github-webhooks"
API = "https://api.github.com"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("@hunkwise review", Command("review", "")),
        ("@HunkWise Review please", Command("review", "please")),
        ("@hunkwise ignore repo", Command("ignore", "repo")),
        ("@hunkwise ignore", Command("ignore", "")),
        ("@hunkwise explain", Command("explain", "explain")),
        ("@hunkwise", Command("explain", "")),
        ("hey @hunkwise why is eval bad?", Command("ask", "why is eval bad?")),
        ("> @hunkwise review\nthanks", None),  # a quoted command is not repeated
        ("mail me at me@hunkwise.dev", None),
        ("@hunkwise-fan review", None),  # another login
        ("no mention here", None),
        ("", None),
    ],
)
def test_parse_command(body: str, expected: Command | None) -> None:
    assert parse_command(body, "hunkwise") == expected


def test_ignore_repo_is_repository_wide() -> None:
    assert Command("ignore", "repo").repository_wide and not Command("ignore", "").repository_wide
    assert not Command("review", "repo").repository_wide


def comment(event: str, body: str, **changes: object) -> dict:
    name = "issue_comment.created" if event == "issue_comment" else "pull_request_review_comment.created"
    data = json.loads((DATA / f"{name}.payload.json").read_text())
    data["comment"]["body"] = body
    if event == "issue_comment":
        data["issue"]["pull_request"] = {"url": f"{API}/repos/Codertocat/Hello-World/pulls/1"}
    for key, value in changes.items():
        data[key] = value
    return data


def test_github_comment_on_a_pull_request_is_a_command() -> None:
    got = classify_github(
        "issue_comment", comment("issue_comment", "@hunkwise review"), handle="hunkwise", api_url=API
    )
    assert got.kind == "command" and got.command == Command("review", "")
    assert (
        got.event is not None and got.event.repository == "Codertocat/Hello-World" and got.event.number == 1
    )
    assert got.event.thread is None and got.event.author == "Codertocat"
    thread = comment("pull_request_review_comment", "@hunkwise explain")
    thread["comment"]["in_reply_to_id"] = 77
    got = classify_github("pull_request_review_comment", thread, handle="hunkwise", api_url=API)
    assert got.event is not None and got.event.thread == "77" and got.event.number == 2


def test_github_what_is_never_a_command() -> None:
    def kind(event: str, data: dict, **kw: object) -> str:
        return classify_github(event, data, handle="hunkwise", api_url=API, **kw).reason  # type: ignore[arg-type]

    plain = json.loads((DATA / "issue_comment.created.payload.json").read_text())
    plain["comment"]["body"] = "@hunkwise review"
    assert "not on a pull request" in kind("issue_comment", plain)
    assert "action edited" in kind(
        "issue_comment", comment("issue_comment", "@hunkwise review", action="edited")
    )
    bot = comment("issue_comment", "@hunkwise review")
    bot["comment"]["user"] = {"login": "hunkwise-acme[bot]", "id": 5, "type": "Bot"}
    assert "own" in kind("issue_comment", bot)
    ours = comment("issue_comment", "answer\n<!-- hunkwise:reply:c1 --> @hunkwise review")
    assert "own" in kind("issue_comment", ours)
    login = comment("issue_comment", "@hunkwise review")
    assert "own" in kind("issue_comment", login, bot_login="codertocat")
    assert "no @hunkwise command" in kind("issue_comment", comment("issue_comment", "LGTM"))
    assert "carries no command" in kind("pull_request", comment("issue_comment", "@hunkwise review"))


def test_github_untrusted_identities_are_refused() -> None:
    evil = comment("issue_comment", "@hunkwise review")
    evil["repository"]["full_name"] = "Codertocat/../../beta"
    with pytest.raises(IdentityError):
        classify_github("issue_comment", evil, handle="hunkwise", api_url=API)
    foreign = comment("issue_comment", "@hunkwise review")
    with pytest.raises(WebhookPayloadError, match="configured GitHub API host"):
        classify_github("issue_comment", foreign, handle="hunkwise", api_url="https://ghe.example/api/v3")


def note(body: str, **attrs: object) -> dict:
    return {
        "object_kind": "note",
        "user": {"id": 18, "username": "dev"},
        "project": {"id": 42, "path_with_namespace": "acme/api"},
        "object_attributes": {
            "id": 5,
            "note": body,
            "noteable_type": "MergeRequest",
            "discussion_id": "abc123",
            **attrs,
        },
        "merge_request": {"iid": 3},
    }


def test_gitlab_notes() -> None:
    got = classify_gitlab(note("@hunkwise why?"), handle="hunkwise", api_url="https://gitlab.com/api/v4")
    assert got.kind == "command" and got.command == Command("ask", "why?")
    assert got.event is not None and got.event.project_id == 42 and got.event.thread == "abc123"
    issue = classify_gitlab(note("@hunkwise review", noteable_type="Issue"), handle="hunkwise", api_url="x")
    assert "not a merge request" in issue.reason
    own = classify_gitlab(note("@hunkwise review"), handle="hunkwise", api_url="x", own_user_id=18)
    assert "own" in own.reason
    bad = note("@hunkwise review")
    bad["project"]["path_with_namespace"] = "acme/../beta"
    with pytest.raises(IdentityError):
        classify_gitlab(bad, handle="hunkwise", api_url="x")
