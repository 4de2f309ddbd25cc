"""Azure DevOps: the service hook's authentication and classification, the diff built from
iterations and items, and the client's requests against the fake (tests/azure_devops_fake.py)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from azure_devops_fake import AUTHOR, BASE_SHA, HEAD_SHA, ME, PAT, PROJECT, REPO, REPO_ID, FakeAzureDevOps
from hunkwise.gateway import Secret
from hunkwise.platforms import azure_devops_events as az
from hunkwise.platforms.azure_devops import MAX_DIFF_FILES, AzureDevOpsClient, AzureDevOpsPullRequest
from hunkwise.platforms.azure_devops_diff import FileChange, kind_of, render
from hunkwise.platforms.identity import IdentityError
from hunkwise.platforms.pull_request import FetchedDiff
from hunkwise.platforms.review_post import InlineComment, PlatformAuthError, ReviewPost, marker
from hunkwise.platforms.status import CommitState
from hunkwise.review.diff import parse_diff
from hunkwise.review.filters import FilterConfig, FilterResult, filter_files
from platform_fakes import SAMPLE

DATA = Path(__file__).parents[1] / "data" / "azure-devops"
ROOT = "https://dev.azure.com/fabrikam"


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- authentication -------------------------------------------------------------------------------
def test_basic_auth_checks_the_password_and_the_user_name_only_when_configured() -> None:
    assert az.verify_basic_auth(None, "s3cret", auth("anyone", "s3cret"))
    assert az.verify_basic_auth("hooks", "s3cret", auth("hooks", "s3cret"))
    assert not az.verify_basic_auth("hooks", "s3cret", auth("other", "s3cret"))
    assert not az.verify_basic_auth(None, "s3cret", auth("anyone", "wrong"))
    assert not az.verify_basic_auth(None, "", auth("anyone", ""))  # nothing configured: nothing accepted
    for header in (None, "", "Bearer s3cret", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()):
        assert not az.verify_basic_auth(None, "s3cret", header)


# -- classification -------------------------------------------------------------------------------
def test_created_and_updated_are_reviewed_with_the_project_as_organization() -> None:
    created = az.classify(load("git.pullrequest.created.json"), api_url=ROOT)
    assert created.kind == "review" and created.event is not None
    event = created.event
    assert (event.owner, event.repository, event.number, event.head_sha) == (
        "Fabrikam",
        "Fabrikam/api",
        7,
        HEAD_SHA,
    )
    assert event.action == "opened" and event.repository_id == REPO_ID
    assert event.dedupe_key == f"azure_devops:Fabrikam/api#7@{HEAD_SHA}"
    assert az.AzurePullRequestEvent.from_payload(event.as_payload()) == event
    updated = az.classify(load("git.pullrequest.updated.json"), api_url=ROOT)
    assert updated.kind == "review" and updated.event is not None and updated.event.action == "synchronize"


def test_other_events_drafts_and_closed_pull_requests_are_ignored_with_a_reason() -> None:
    push = {"eventType": "git.push", "resource": {}}
    assert az.classify(push, api_url=ROOT).reason == "event 'git.push' is not reviewed"
    completed = load("git.pullrequest.updated.json")
    completed["resource"]["status"] = "completed"
    assert "'completed' is not reviewed" in az.classify(completed, api_url=ROOT).reason
    draft = load("git.pullrequest.created.json")
    draft["resource"]["isDraft"] = True
    decision = az.classify(draft, api_url=ROOT)
    assert decision.kind == "ignore" and "draft" in decision.reason
    spaced = load("git.pullrequest.created.json")
    spaced["resource"]["repository"]["project"]["name"] = "Fabrikam Fiber"  # valid in Azure
    decision = az.classify(spaced, api_url=ROOT)
    assert (
        decision.kind == "review" and decision.event is not None and decision.event.owner == "Fabrikam Fiber"
    )


@pytest.mark.parametrize(
    ("where", "url"),
    [
        ("repository", "https://evil.example/fabrikam/_apis/git/repositories/x"),
        ("repository", "https://dev.azure.com/contoso/_apis/git/repositories/x"),
        ("account", "https://dev.azure.com/contoso/"),
    ],
)
def test_a_delivery_from_another_organization_or_host_is_refused(where: str, url: str) -> None:
    payload = load("git.pullrequest.created.json")
    if where == "repository":
        payload["resource"]["repository"]["url"] = url
    else:
        payload["resourceContainers"]["account"]["baseUrl"] = url
    with pytest.raises(az.AzurePayloadError, match="not under the configured Azure DevOps organization"):
        az.classify(payload, api_url=ROOT)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("repository", "project", "name"), "../other", "resource.repository.project.name"),
        (("repository", "name"), "api/../../x", "resource.repository.name"),
        (("repository", "id"), "not-a-guid", "resource.repository.id"),
        (("pullRequestId",), "7; drop", "resource.pullRequestId"),
        (
            ("lastMergeSourceCommit", "commitId"),
            "00000000-0000-0000-0000-000000000000",
            "resource.lastMergeSourceCommit.commitId",
        ),
    ],
)
def test_identities_are_validated_naming_the_field(path: tuple[str, ...], value: str, field: str) -> None:
    payload = load("git.pullrequest.created.json")
    target = payload["resource"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(IdentityError) as caught:
        az.classify(payload, api_url=ROOT)
    assert caught.value.field == field


def test_a_stored_event_is_checked_again_when_read_back() -> None:
    event = az.classify(load("git.pullrequest.created.json"), api_url=ROOT).event
    assert event is not None
    tampered = event.as_payload() | {"owner": "victim"}
    with pytest.raises(IdentityError, match="is not the project"):
        az.AzurePullRequestEvent.from_payload(tampered)


def test_the_organization_is_read_from_the_configured_root() -> None:
    assert az.organization_of("https://dev.azure.com/fabrikam") == "fabrikam"
    assert az.organization_of("https://fabrikam.visualstudio.com") == "fabrikam"
    assert az.organization_of("https://tfs.example.com/tfs/DefaultCollection") == "DefaultCollection"
    with pytest.raises(IdentityError, match="does not name an Azure DevOps organization"):
        az.organization_of("https://dev.azure.com/")


# -- the diff ---------------------------------------------------------------------------------------
def test_the_rendered_diff_has_the_sample_diffs_new_lines() -> None:
    fake = FakeAzureDevOps.with_diff(SAMPLE)
    base, head = fake.commits[BASE_SHA], fake.commits[HEAD_SHA]
    changes = [
        FileChange("add" if p not in base else "edit", p, p, base.get(p), head[p])  # type: ignore[arg-type]
        for p in sorted(head)
    ]
    ours = {f.path: f.changed_lines() for f in parse_diff(render(changes))}
    theirs = {f.path: f.changed_lines() for f in parse_diff(SAMPLE)}
    assert ours == theirs and sum(map(len, ours.values())) > 20


def test_unreadable_and_deleted_files_are_listed_not_dropped() -> None:
    text = render(
        [
            FileChange("edit", "logo.png", "logo.png", unreadable=True),
            FileChange("delete", "old.py", "old.py"),
            FileChange("rename", "new name.py", "old name.py", "a\n", "a\nb\n"),
        ]
    )
    files = parse_diff(text)
    result = filter_files(files)
    assert {(s.path, s.rule) for s in result.skipped} == {("logo.png", "binary"), ("old.py", "deleted")}
    [kept] = result.kept
    assert kept.path == "new name.py" and kept.old_path == "old name.py" and kept.changed_lines() == [2]
    assert kind_of("edit, rename") == "rename" and kind_of("delete, sourceRename") == "delete"
    assert kind_of("lock") is None


# -- the client against the fake -------------------------------------------------------------------
def client(fake: FakeAzureDevOps, token: str = PAT) -> AzureDevOpsClient:
    return AzureDevOpsClient(Secret(token), ROOT, transport=fake.transport())


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_the_diff_is_read_from_the_iteration_at_the_head_with_basic_auth_and_api_version() -> None:
    fake = FakeAzureDevOps.with_diff(SAMPLE)

    async def go() -> FetchedDiff:
        async with client(fake) as c:
            return await c.pull_request_diff(PROJECT, REPO, 7, HEAD_SHA)

    fetched = run(go())
    text = fetched.text
    assert fetched.refs == {"base_sha": BASE_SHA, "head_sha": HEAD_SHA, "iteration": "1"}
    assert fetched.unread == {}
    assert {f.path for f in parse_diff(text)} == {
        "src/inventory/config.py",
        "src/inventory/pricing.py",
        "tests/test_pricing.py",
    }
    token = base64.b64encode(f":{PAT}".encode()).decode()
    assert all(r.headers["authorization"] == f"Basic {token}" for r in fake.requests)
    assert all(r.url.params["api-version"] == "7.1" for r in fake.requests)
    paths = [r.url.path for r in fake.requests]
    assert paths[0] == "/fabrikam/Fabrikam/_apis/git/repositories/api/pullRequests/7/iterations"
    assert paths[1].endswith("/pullRequests/7/iterations/1/changes")
    items = [r for r in fake.requests if r.url.path.endswith("/items")]
    assert {r.url.params["versionDescriptor.versionType"] for r in items} == {"commit"}
    assert {r.headers["accept"] for r in items} == {"application/octet-stream"}
    assert len(items) == 5  # two edits read twice, one addition read at the head only


def _filtered(fetched: FetchedDiff) -> FilterResult:
    """The files the review keeps and skips, as the job's review options filter them."""
    return filter_files(parse_diff(fetched.text), FilterConfig(unread=tuple(fetched.unread.items())))


def test_binary_large_and_capped_files_become_skipped_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A binary file is skipped as git would (``binary``); a text file past the per-review file
    cap is in the diff, skipped as ``unread`` with why, never taken for a binary one."""
    fake = FakeAzureDevOps(commits={BASE_SHA: {}})
    fake.push(HEAD_SHA, {"a.py": "x = 1\n", "b.bin": b"\x89PNG\0\0data", "c.py": "y = 2\n"})
    monkeypatch.setattr("hunkwise.platforms.azure_devops.MAX_DIFF_FILES", 2)

    async def go() -> FetchedDiff:
        async with client(fake) as c:
            return await c.pull_request_diff(PROJECT, REPO, 7, HEAD_SHA)

    fetched = run(go())
    assert fetched.unread == {"c.py": "past the 2 files a review reads"}
    result = _filtered(fetched)
    assert [f.path for f in result.kept] == ["a.py"]
    assert {(s.path, s.rule) for s in result.skipped} == {("b.bin", "binary"), ("c.py", "unread")}
    assert "not read from the platform: past the 2 files" in next(
        s.detail for s in result.skipped if s.path == "c.py"
    )
    assert MAX_DIFF_FILES == 300


def test_a_change_too_large_to_list_whole_is_refused_not_reviewed_in_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the listing's page cap the rest of the files would be left out of the review and of
    its coverage: the change is refused, naming why, before any file is read."""
    from hunkwise.errors import PermanentError

    fake = FakeAzureDevOps(commits={BASE_SHA: {}})
    fake.push(HEAD_SHA, {"a.py": "a = 1\n", "b.py": "b = 2\n", "c.py": "c = 3\n"})
    monkeypatch.setattr("hunkwise.platforms.azure_devops.CHANGES_PAGE", 1)
    monkeypatch.setattr("hunkwise.platforms.azure_devops.MAX_PAGES", 2)

    async def go() -> None:
        async with client(fake) as c:
            await c.pull_request_diff(PROJECT, REPO, 7, HEAD_SHA)

    with pytest.raises(PermanentError, match="changes more than 2 files"):
        run(go())
    assert not [r for r in fake.requests if r.url.path.endswith("/items")]


def test_a_head_without_its_iteration_yet_is_a_transient_error() -> None:
    from hunkwise.errors import TransientError

    fake = FakeAzureDevOps.with_diff(SAMPLE)

    async def go() -> None:
        async with client(fake) as c:
            await c.pull_request_diff(PROJECT, REPO, 7, "c" * 40)

    with pytest.raises(TransientError, match="no iteration at cccccccccccc yet"):
        run(go())


def test_a_refused_token_and_a_sign_in_page_are_auth_errors_naming_the_fix() -> None:
    fake = FakeAzureDevOps.with_diff(SAMPLE)

    async def go(c: AzureDevOpsClient) -> None:
        async with c:
            await c.verify_repository(PROJECT, REPO, REPO_ID)

    with pytest.raises(PlatformAuthError, match=r"401 unauthorized.*invalid, expired"):
        run(go(client(fake, "wrong")))
    fake.sign_in_page = True
    with pytest.raises(PlatformAuthError, match="203 \\(a sign-in page"):
        run(go(client(fake)))


def test_the_repository_id_must_be_the_named_repository() -> None:
    fake = FakeAzureDevOps.with_diff(SAMPLE)

    async def go(repo_id: str) -> None:
        async with client(fake) as c:
            await c.verify_repository(PROJECT, REPO, repo_id)

    run(go(REPO_ID))
    with pytest.raises(IdentityError, match="is not repository 'api' of project 'Fabrikam'"):
        run(go("0f0f0f0f-0000-4000-8000-000000000000"))


def post(key: str, comments: list[InlineComment], head: str = HEAD_SHA) -> ReviewPost:
    summary = f"## hunkwise review\n\n{marker('summary', 'pr')}{marker('review', key)}"
    return ReviewPost(key=key, head_sha=head, summary=summary, comments=comments)


def finding(path: str, line: int, fp: str) -> InlineComment:
    return InlineComment(path, line, line, f"**issue** {marker('fp', fp)}", fp)


def test_posting_threads_summary_once_then_editing_it_in_place() -> None:
    fake = FakeAzureDevOps.with_diff(SAMPLE)
    # someone typed a hunkwise marker by hand: it is not ours, so nothing is skipped for it
    fake.add_thread(f"copy {marker('fp', 'fp-1')}", AUTHOR)
    first = post("k1", [finding("src/inventory/pricing.py", 14, "fp-1"), finding("README.md", 3, "fp-2")])

    async def go(p: ReviewPost) -> Any:
        async with client(fake) as c:
            return await c.post_review(PROJECT, REPO, 7, p, iteration=1)

    result = run(go(first))
    assert result.posted and result.inline == 1 and result.folded == 1  # README.md is not in the pull request
    [inline] = fake.inline_threads()
    assert inline["status"] == "active"
    tracking = fake._changes(fake.iterations[0])[1]["changeTrackingId"]  # pricing.py's
    assert inline["pullRequestThreadContext"] == {
        "changeTrackingId": tracking,
        "iterationContext": {"firstComparingIteration": 1, "secondComparingIteration": 1},
    }
    assert inline["threadContext"] == {
        "filePath": "/src/inventory/pricing.py",
        "rightFileStart": {"line": 14, "offset": 1},
        "rightFileEnd": {"line": 14, "offset": 1},
    }
    [summary] = fake.summary_threads()
    assert summary["status"] == "unknown"  # a plain comment: never blocks "comment resolution"
    assert "could not be placed inline" in summary["comments"][0]["content"]
    # the same review again: nothing new
    again = run(go(first))
    assert not again.posted and len(fake.own_threads()) == 2
    # the next head: the finding already there is skipped, the summary edited in place
    second = post(
        "k2", [finding("src/inventory/pricing.py", 14, "fp-1"), finding("src/inventory/config.py", 9, "fp-3")]
    )
    result = run(go(second))
    assert result.inline == 1 and len(fake.summary_threads()) == 1 and len(fake.inline_threads()) == 2
    assert marker("review", "k2") in fake.summary_threads()[0]["comments"][0]["content"]
    patches = [r for r in fake.requests if r.method == "PATCH"]
    assert len(patches) == 1 and patches[0].url.path.endswith(f"/threads/{summary['id']}/comments/1")


def test_prior_threads_read_status_and_replies_of_own_threads_only() -> None:
    fake = FakeAzureDevOps.with_diff(SAMPLE)
    comments = [finding("src/inventory/pricing.py", n, f"fp-{n}") for n in (12, 14, 17, 18)]

    async def go() -> Any:
        async with client(fake) as c:
            await c.post_review(PROJECT, REPO, 7, post("k1", comments))
            ids = [t["id"] for t in fake.inline_threads()]
            fake.set_thread_status(ids[0], "fixed")
            fake.set_thread_status(ids[1], "wontFix")
            fake.reply(ids[2], "won't fix, this is intended")
            fake.reply(ids[3], "won't fix", author=ME)  # our own words never close a thread
            return await c.prior_threads(PROJECT, REPO, 7)

    prior = {t.fingerprint: (t.resolved, t.wont_fix, t.where) for t in run(go())}
    assert prior == {
        "fp-12": (True, False, "src/inventory/pricing.py:12"),
        "fp-14": (False, True, "src/inventory/pricing.py:14"),
        "fp-17": (False, True, "src/inventory/pricing.py:17"),
        "fp-18": (False, False, "src/inventory/pricing.py:18"),
    }


@pytest.mark.parametrize(
    ("state", "azure"),
    [("pending", "pending"), ("success", "succeeded"), ("neutral", "error"), ("failure", "failed")],
)
def test_the_status_is_a_pull_request_status_on_the_reviewed_iteration(state: str, azure: str) -> None:
    fake = FakeAzureDevOps.with_diff(SAMPLE)
    event = az.classify(load("git.pullrequest.created.json"), api_url=ROOT).event
    assert event is not None

    async def go() -> None:
        async with client(fake) as c:
            await AzureDevOpsPullRequest(c, event).set_status(
                CommitState(state, "why", target_url="https://h/r/1")
            )  # type: ignore[arg-type]

    run(go())
    [status] = fake.statuses
    assert status["state"] == azure and status["iterationId"] == 1 and status["targetUrl"] == "https://h/r/1"
    assert status["context"] == {"name": "hunkwise", "genre": "ai-review"} and status["description"] == "why"


# -- settings -------------------------------------------------------------------------------------
def test_the_settings_check_the_root_and_config_show_masks_the_secrets() -> None:
    from pydantic import ValidationError

    from hunkwise.cli.config_show import settings_rows
    from hunkwise.config.settings import Settings

    env = {
        "HUNKWISE_AZURE_DEVOPS_URL": "https://dev.azure.com/fabrikam/",
        "HUNKWISE_AZURE_DEVOPS_TOKEN": "pat-0123456789abcdef",
        "HUNKWISE_AZURE_DEVOPS_WEBHOOK_PASSWORD": "hook-password-0123",
    }
    settings = Settings.from_env(env)
    assert settings.azure_devops_url == "https://dev.azure.com/fabrikam"
    shown = {r["setting"]: r["value"] for r in settings_rows(settings)}
    assert "pat-0123456789abcdef" not in str(shown) and "hook-password-0123" not in str(shown)
    assert str(shown["HUNKWISE_AZURE_DEVOPS_TOKEN"]).endswith("cdef")
    assert str(shown["HUNKWISE_AZURE_DEVOPS_WEBHOOK_PASSWORD"]).endswith("0123")
    for bad in ("https://dev.azure.com", "dev.azure.com/fabrikam"):
        with pytest.raises(ValidationError, match="HUNKWISE_AZURE_DEVOPS_URL"):
            Settings.from_env({"HUNKWISE_AZURE_DEVOPS_URL": bad})


def test_a_client_on_a_root_naming_no_organization_is_refused() -> None:
    with pytest.raises(IdentityError, match="HUNKWISE_AZURE_DEVOPS_URL"):
        AzureDevOpsClient(Secret(PAT), "https://example.com")
    assert AzureDevOpsClient(Secret(PAT), "http://127.0.0.1:8080/fabrikam").organization == "fabrikam"


def test_lines_are_numbered_as_git_numbers_them() -> None:
    from hunkwise.platforms.azure_devops_diff import lines_of

    text = "a\r\nb\fstill b\u2028still b\nc"
    assert lines_of(text) == ["a", "b\fstill b\u2028still b", "c"]
    [file] = parse_diff(render([FileChange("edit", "x.py", "x.py", "one\fx\ntwo\n", "one\fx\ntwo\nthree\n")]))
    assert file.changed_lines() == [3]


def test_a_huge_file_is_read_only_up_to_the_limit_and_listed_as_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hunkwise.platforms.rest import MAX_FILE_BYTES

    fake = FakeAzureDevOps(commits={BASE_SHA: {}})
    fake.push(
        HEAD_SHA, {"big.sql": "x" * (MAX_FILE_BYTES + 5000) + "\n", "a.py": "a = 1\n", "b.py": "b = 2\n"}
    )

    async def go() -> tuple[bytes | None, FetchedDiff]:
        async with client(fake) as c:
            data = await c.item(PROJECT, REPO, "big.sql", HEAD_SHA)
            return data, await c.pull_request_diff(PROJECT, REPO, 7, HEAD_SHA)

    data, fetched = run(go())
    assert data is not None and len(data) == MAX_FILE_BYTES + 1
    assert fetched.unread == {"big.sql": "larger than 2 MB"}
    result = _filtered(fetched)
    assert [f.path for f in result.kept] == ["a.py", "b.py"] and [
        (s.path, s.rule) for s in result.skipped
    ] == [("big.sql", "unread")]
    # a review reads at most MAX_DIFF_BYTES of content: what is past it is listed, not read
    monkeypatch.setattr("hunkwise.platforms.azure_devops.MAX_DIFF_BYTES", 10)
    monkeypatch.setattr("hunkwise.platforms.azure_devops.FILE_READS", 1)
    reads = len(fake.requests)
    fetched = run(go())[1]
    assert set(fetched.unread) == {"big.sql", "b.py"}
    result = _filtered(fetched)
    assert [f.path for f in result.kept] == ["a.py"] and {(s.path, s.rule) for s in result.skipped} == {
        ("big.sql", "unread"),
        ("b.py", "unread"),
    }
    assert len(fake.requests) - reads < 6


def test_a_network_failure_reading_a_file_is_transient() -> None:
    import httpx

    from hunkwise.errors import TransientError

    fake = FakeAzureDevOps.with_diff(SAMPLE)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/items"):
            raise httpx.ConnectError("connection refused", request=request)
        return fake.handle(request)

    async def go() -> None:
        async with AzureDevOpsClient(Secret(PAT), ROOT, transport=httpx.MockTransport(handle)) as c:
            await c.pull_request_diff(PROJECT, REPO, 7, HEAD_SHA)

    with pytest.raises(TransientError, match=r"Azure DevOps GET .*/items failed"):
        run(go())


def test_without_the_tokens_identity_nothing_is_posted() -> None:
    """Which comments are hunkwise's is the token's identity: without it a retry would post
    everything again, so posting stops with the reason, even on a pull request with no thread yet
    (which once let the first review through and failed every later one)."""
    import httpx

    from hunkwise.platforms.review_post import PlatformError

    for others in (["looks good"], []):
        fake = FakeAzureDevOps.with_diff(SAMPLE)
        for text in others:
            fake.add_thread(text, AUTHOR)

        def handle(request: httpx.Request, fake: FakeAzureDevOps = fake) -> httpx.Response:
            if request.url.path.endswith("/connectionData"):
                return httpx.Response(200, json={"authenticatedUser": {}})
            return fake.handle(request)

        async def go() -> None:
            async with AzureDevOpsClient(Secret(PAT), ROOT, transport=httpx.MockTransport(handle)) as c:
                await c.post_review(
                    PROJECT, REPO, 7, post("k1", [finding("src/inventory/pricing.py", 14, "fp-1")])
                )

        with pytest.raises(PlatformError, match="cannot tell its own comments"):
            run(go())
        assert len(fake.threads) == len(others) and not fake.own_threads()


@pytest.mark.parametrize("event_type", [[], {}, ["git.pullrequest.created"], {"a": 1}, 7, None])
def test_an_event_type_that_is_not_a_string_is_ignored_not_a_crash(event_type: object) -> None:
    # A list or an object is unhashable: looking it up among the reviewed events raised
    # TypeError, which the route answered with a 500 (and a traceback in the log).
    payload = load("git.pullrequest.created.json")
    payload["eventType"] = event_type
    decision = az.classify(payload, api_url=ROOT)
    assert decision.kind == "ignore" and "is not reviewed" in decision.reason


def test_a_created_summary_whose_answer_names_no_thread_is_still_posted() -> None:
    # The thread was created (201) but the answer did not name it: _id(None) raised IdentityError,
    # a permanent failure of a review that was posted (its status then "incomplete").
    import httpx

    fake = FakeAzureDevOps.with_diff(SAMPLE)

    def handle(request: httpx.Request) -> httpx.Response:
        answer = fake.handle(request)
        if request.method == "POST" and request.url.path.endswith("/threads"):
            return httpx.Response(answer.status_code, json={"status": "created"})
        return answer

    async def go() -> object:
        async with AzureDevOpsClient(Secret(PAT), ROOT, transport=httpx.MockTransport(handle)) as c:
            return await c.post_review(PROJECT, REPO, 7, post("k1", []))

    result = run(go())
    assert result.posted and result.review_id is None  # type: ignore[attr-defined]
    assert len(fake.own_threads()) == 1
