"""Webhook signatures and pull_request parsing on GitHub's own example payloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hunkwise.config.settings import Settings
from hunkwise.platforms.github_webhooks import (
    WebhookPayloadError,
    classify,
    configured_api_url,
    parse_json,
    sign,
    verify_signature,
)
from hunkwise.platforms.identity import IdentityError

DATA = Path(__file__).parent.parent / "data" / "github-webhooks"


def payload(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def test_signature_good_bad_missing() -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    header = sign("s3cret", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify_signature("s3cret", body, header)
    assert not verify_signature("other", body, header)
    assert not verify_signature("s3cret", body + b" ", header)
    assert not verify_signature("s3cret", body, None)
    assert not verify_signature("s3cret", body, header.replace("sha256=", "sha1="))
    assert not verify_signature("", body, sign("", body)), "no configured secret accepts nothing"


def test_opened_payload_becomes_an_event() -> None:
    decision = classify("pull_request", payload("pull_request.opened.payload.json"))
    assert decision.kind == "review"
    event = decision.event
    assert event is not None
    assert (event.owner, event.repository, event.number) == ("Codertocat", "Codertocat/Hello-World", 2)
    assert event.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert event.base_sha == "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
    assert event.installation_id == 1
    assert event.api_url == "https://api.github.com"
    assert event.dedupe_key == "github:Codertocat/Hello-World#2@ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    from hunkwise.platforms.github_webhooks import PullRequestEvent

    assert PullRequestEvent.from_payload(json.loads(json.dumps(event.as_payload()))) == event


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("pull_request.synchronize.payload.json", "review"),
        ("pull_request.reopened.payload.json", "review"),
        ("pull_request.ready_for_review.with-installation.payload.json", "review"),
        ("pull_request.closed.payload.json", "ignore"),
        ("pull_request.labeled.payload.json", "ignore"),
        ("pull_request.converted_to_draft.payload.json", "ignore"),
    ],
)
def test_actions(name: str, kind: str) -> None:
    assert classify("pull_request", payload(name)).kind == kind


def test_synchronize_carries_before() -> None:
    event = classify("pull_request", payload("pull_request.synchronize.payload.json")).event
    assert event is not None and event.before_sha == "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"


def test_draft_is_skipped() -> None:
    data = payload("pull_request.opened.payload.json")
    data["pull_request"]["draft"] = True
    decision = classify("pull_request", data)
    assert decision.kind == "ignore" and "draft" in decision.reason


def test_ping_and_other_events() -> None:
    assert classify("ping", payload("ping.payload.json")).kind == "ping"
    assert classify("push", {}).kind == "ignore"
    assert classify(None, {}).kind == "ignore"


def test_enterprise_api_url() -> None:
    data = payload("pull_request.opened.payload.json")
    data["pull_request"]["url"] = "https://ghe.example.com/api/v3/repos/a/b/pulls/2"
    event = classify("pull_request", data, api_url="https://ghe.example.com/api/v3/").event
    assert event is not None and event.api_url == "https://ghe.example.com/api/v3"
    assert configured_api_url(Settings.from_env({}).github_api_url) == "https://api.github.com"
    assert (
        configured_api_url(Settings.from_env({"GITHUB_API_URL": "https://a/api/v3"}).github_api_url)
        == "https://a/api/v3"
    )
    env = {"GITHUB_API_URL": "https://a/api/v3", "HUNKWISE_GITHUB_API_URL": "https://b/api/v3/"}
    assert configured_api_url(Settings.from_env(env).github_api_url) == "https://b/api/v3"


def test_the_api_root_is_never_taken_from_the_payload() -> None:
    data = payload("pull_request.opened.payload.json")
    data["pull_request"]["url"] = "https://evil.example/repos/Codertocat/Hello-World/pulls/2"
    with pytest.raises(WebhookPayloadError, match=r"evil\.example.*configured GitHub API host"):
        classify("pull_request", data)
    with pytest.raises(WebhookPayloadError, match="configured GitHub API host"):
        classify(
            "pull_request", payload("pull_request.opened.payload.json"), api_url="https://ghe.corp/api/v3"
        )
    del data["pull_request"]["url"]
    event = classify("pull_request", data, api_url="https://ghe.corp/api/v3").event
    assert event is not None and event.api_url == "https://ghe.corp/api/v3"


def test_the_org_comes_from_the_repository_full_name() -> None:
    data = payload("pull_request.opened.payload.json")
    data["repository"]["full_name"] = "attacker/Hello-World"  # owner.login still "Codertocat"
    with pytest.raises(
        IdentityError, match=r"full_name 'attacker/Hello-World' must be repository\.owner\.login"
    ):
        classify("pull_request", data)
    data["repository"]["owner"]["login"] = "Attacker"  # case differs: the same account
    event = classify("pull_request", data).event
    assert event is not None and event.owner == "attacker"


def test_bad_payloads_name_the_field() -> None:
    with pytest.raises(WebhookPayloadError, match="not valid JSON"):
        parse_json(b"{nope")
    with pytest.raises(WebhookPayloadError, match="JSON object"):
        parse_json(b"[1]")
    data = payload("pull_request.opened.payload.json")
    del data["pull_request"]["head"]["sha"]
    with pytest.raises(WebhookPayloadError, match=r"pull_request\.head\.sha"):
        classify("pull_request", data)
