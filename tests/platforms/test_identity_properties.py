"""Property tests: whatever owner, repository or project path a delivery (or a ``--pr`` URL)
carries, either validation refuses it, or every request the real clients send lands inside that
organization's own repository: ``/repos/{owner}/{repo}/...`` on GitHub, ``/projects/{id or
encoded path}/...`` on GitLab, no dot segment, nothing decoded into an extra segment.

The strings mix valid names with what moves a URL path: ``..``, ``%2e%2e``, ``%2F``, ``/``, ``\\``,
unicode dots (U+2024, U+FF0E, U+3002), whitespace, NUL, and very long names. The requests are
the ones the clients really send, recorded by the HTTP-level fakes.
"""

from __future__ import annotations

import asyncio
import copy
import json
import posixpath
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import httpx
import hypothesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hunkwise.cli.review_remote import RemoteError, target_from_url
from hunkwise.config.settings import Settings
from hunkwise.gateway.types import Secret
from hunkwise.platforms import identity
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.github_webhooks import WebhookPayloadError, parse_pull_request
from hunkwise.platforms.gitlab import GitLabClient, GitLabPayloadError, classify
from hunkwise.platforms.identity import IdentityError
from hunkwise.platforms.review_post import InlineComment, ReviewPost, marker
from platform_fakes import FakeGitHub, FakeGitLab

GITHUB_API = "https://ghe.example.com/api/v3"  # a root with a path: joining must keep it
GITLAB_API = "https://gitlab.example.com/api/v4"
OPENED = json.loads(
    (Path(__file__).parents[1] / "data" / "github-webhooks" / "pull_request.opened.payload.json").read_text()
)
HEAD = "c" * 40
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NASTY = [
    "..",
    ".",
    "%2e%2e",
    "%2E%2E",
    "%2e",
    "%2F",
    "%2f",
    "%252F",
    "%5C",
    "%00",
    "/",
    "\\",
    "\u2024",  # one dot leader
    "\u2025",  # two dot leader
    "\uff0e",  # fullwidth full stop
    "\u3002",  # ideographic full stop
    " ",
    "\t",
    "\n",
    "\x00",
    "?",
    "#",
    ";",
    ":",
    "@",
    "..%2F",
    "..\\",
]
valid_part = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,12}", fullmatch=True)
nasty = st.sampled_from(NASTY)
# what a URL parser or a server may take for a dot segment, on its own: the likeliest escapes
dotty = st.sampled_from(
    [
        "..",
        ".",
        "%2e%2e",
        "%2E%2E",
        ".%2e",
        "%2e.",
        "...",
        " ..",
        ".. ",
        "\u2024\u2024",
        "\uff0e\uff0e",
        "\u3002",
    ]
)
mixed_part = st.lists(
    st.one_of(nasty, nasty, dotty, valid_part, st.text(max_size=4)), min_size=1, max_size=6
).map("".join)
long_part = st.builds(
    lambda c, n: c * n, st.sampled_from(["a", ".", "-", "_", "é", "%2e"]), st.integers(30, 400)
)
names = st.one_of(valid_part, dotty, nasty, mixed_part, long_part)
owners = st.one_of(valid_part, valid_part, names)
paths = (
    st.lists(st.one_of(valid_part, valid_part, dotty, mixed_part, long_part), min_size=1, max_size=5).map(
        "/".join
    )
    | mixed_part
)


def _post() -> ReviewPost:
    return ReviewPost(
        key="k@cccccccccccc",
        head_sha=HEAD,
        summary="summary\n" + marker("review", "k@cccccccccccc"),
        comments=[InlineComment("src/a.py", 3, 3, "body" + marker("finding", "f1"), "f1")],
    )


def _segments(request: httpx.Request, root: str) -> list[str]:
    """The request's raw path below the API root, split into its (still encoded) segments, after
    checking that no segment is a dot segment or decodes into more than one segment."""
    raw = request.url.raw_path.decode("ascii").split("?", 1)[0]
    prefix = httpx.URL(root).raw_path.decode("ascii").rstrip("/") + "/"
    assert raw.startswith(prefix), raw
    segments = raw[len(prefix) :].split("/")
    for segment in segments:
        assert segment not in ("", ".", "..") and unquote(segment) not in (".", ".."), raw
    assert posixpath.normpath(raw) == raw, "nothing for a server to normalise away"
    return segments


# -- the validators ----------------------------------------------------------------------------------
@PROPERTY
@given(value=names)
def test_an_accepted_name_is_one_url_segment_as_is(value: str) -> None:
    for check in (identity.github_owner, identity.github_repo_name):
        try:
            accepted = check(value)
        except IdentityError as exc:
            assert len(str(exc)) < 400, "a refused value is shown cut short"
            continue
        assert accepted == value and value.isascii() and value not in (".", "..")
        assert quote(value, safe="") == value, "quoting leaves a valid name alone"


@PROPERTY
@given(value=paths)
def test_an_accepted_gitlab_path_has_no_dot_or_empty_segment(value: str) -> None:
    try:
        accepted = identity.gitlab_path(value)
    except IdentityError:
        return
    assert accepted.isascii() and all(s not in ("", ".", "..") for s in accepted.split("/"))
    assert unquote(quote(accepted, safe="")) == accepted and "%" not in accepted


@PROPERTY
@given(segments=st.lists(st.one_of(names, st.text(max_size=8)), min_size=1, max_size=5))
def test_api_path_keeps_every_segment_one_segment(segments: list[str]) -> None:
    try:
        rel = identity.api_path("repos", *segments)
    except IdentityError:
        assert any(s in ("", ".", "..") for s in segments)
        return
    url = httpx.URL(GITHUB_API + "/").join(rel)
    got = url.raw_path.decode("ascii").split("/")
    assert got[:4] == ["", "api", "v3", "repos"]
    assert [unquote(s) for s in got[4:]] == segments


# -- GitHub: a delivery, then the client's real requests --------------------------------------------
@PROPERTY
@given(login=owners, name=names, full_name=st.one_of(st.none(), st.none(), names, paths))
def test_github_delivery_reaches_only_its_own_repository(
    login: str, name: str, full_name: str | None
) -> None:
    payload = copy.deepcopy(OPENED)
    payload["pull_request"]["url"] = f"{GITHUB_API}/repos/x/y/pulls/2"
    payload["repository"]["owner"]["login"] = login
    payload["repository"]["name"] = name
    payload["repository"]["full_name"] = f"{login}/{name}" if full_name is None else full_name
    try:
        event = parse_pull_request(payload, api_url=GITHUB_API)
    except (IdentityError, WebhookPayloadError):
        hypothesis.event("refused")
        return
    assert event.owner.lower() == login.lower() and event.repository.lower() == f"{login}/{name}".lower()
    fake = FakeGitHub()

    async def run() -> None:
        async with GitHubClient(Secret("t"), event.api_url, transport=fake.transport()) as gh:
            await gh.review_diff(event.repository, event.number, event.head_sha, incremental=True)
            await gh.post_review(event.repository, event.number, _post())

    hypothesis.event("accepted")
    asyncio.run(run())
    owner, repo = event.repository.split("/")
    assert fake.requests
    for request in fake.requests:
        segments = _segments(request, GITHUB_API)
        if segments == ["user"]:
            continue
        assert segments[:4] == ["repos", owner, repo, "pulls"], request.url
        assert segments[4] == str(event.number)


# -- GitLab: a delivery, the project check, then the client's real requests -------------------------
@PROPERTY
@given(
    path=st.one_of(
        paths,
        st.builds("{}/{}".format, valid_part, valid_part),
        st.builds("{}/{}/{}".format, valid_part, st.one_of(dotty, nasty), valid_part),
    ),
    project_id=st.one_of(st.integers(1, 10**6), st.integers(-3, 2**64), st.text(max_size=6)),
    iid=st.one_of(st.integers(1, 10**4), st.integers(-3, 2**33), st.text(max_size=4)),
)
def test_gitlab_delivery_reaches_only_its_own_project(path: str, project_id: object, iid: object) -> None:
    payload = {
        "object_kind": "merge_request",
        "project": {"id": project_id, "path_with_namespace": path},
        "object_attributes": {"iid": iid, "action": "open", "last_commit": {"id": HEAD}},
    }
    try:
        decision = classify("Merge Request Hook", payload, api_url=GITLAB_API)
    except (IdentityError, GitLabPayloadError):
        hypothesis.event("refused")
        return
    event = decision.event
    assert event is not None and event.owner == path.split("/")[0]
    fake = FakeGitLab(projects={event.project_id: event.project_path})
    refs = {"base_sha": "b" * 40, "start_sha": "a" * 40, "head_sha": HEAD}

    async def run() -> None:
        async with GitLabClient(Secret("t"), event.api_url, transport=fake.transport()) as gl:
            await gl.verify_project(event.project_id, event.project_path)
            await gl.merge_request_diff(event.project_id, event.iid)
            await gl.post_review(event.project_id, event.iid, _post(), refs)
            await gl.merge_request_diff(event.project_path, event.iid)  # as ``--pr URL`` addresses it

    hypothesis.event("accepted")
    asyncio.run(run())
    own = {str(event.project_id), quote(event.project_path, safe="")}
    for request in fake.requests:
        segments = _segments(request, GITLAB_API)
        if segments == ["user"]:
            continue
        assert segments[0] == "projects" and segments[1] in own, request.url
        project = unquote(segments[1])
        assert project in (str(event.project_id), event.project_path)
        # GitLab decodes the one segment back into the full path: it must not move once decoded
        assert all(part not in ("", ".", "..") for part in project.split("/")), request.url
        assert project.split("/")[0] == event.owner or project == str(event.project_id)
        assert segments[2:4] in ([], ["merge_requests", str(event.iid)]), request.url


# -- ``--pr URL`` ---------------------------------------------------------------------------------
@PROPERTY
@given(owner=owners, repo=names, gitlab=st.one_of(paths, st.builds("{}/{}".format, valid_part, valid_part)))
def test_pr_url_names_are_refused_or_the_urls_own_segments(owner: str, repo: str, gitlab: str) -> None:
    """Accepted: the repository is valid and is the URL's path text itself, never a decoding of it."""
    for url, platform in (
        (f"https://github.com/{owner}/{repo}/pull/7", "github"),
        (f"https://gitlab.com/{gitlab}/-/merge_requests/7", "gitlab"),
    ):
        try:
            target = target_from_url(url, None, post=False, settings=Settings.from_env({}))
        except RemoteError as exc:
            assert exc.code == 2 and len(str(exc)) < 800
            hypothesis.event(f"{platform} refused")
            continue
        hypothesis.event(f"{platform} accepted")
        assert target.platform == platform
        path = urlsplit(url.strip()).path
        if platform == "github":
            assert path.split("/")[1:3] == list(identity.github_repository(target.repository))
        else:
            assert path.startswith(f"/{identity.gitlab_path(target.repository)}/-/merge_requests/")
