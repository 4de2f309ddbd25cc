"""The identity rules accept the names that exist on GitHub and GitLab (legacy, Enterprise and
nested ones included) and refuse everything that could move a URL path, saying which field and why."""

from __future__ import annotations

import httpx
import pytest
import respx

from hunkwise.gateway.types import Secret
from hunkwise.platforms import identity
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.identity import IdentityError
from hunkwise.platforms.review_post import PlatformError


@pytest.mark.parametrize(
    "login",
    [
        "octocat",
        "Codertocat",
        "a",
        "0",
        "a-b-123",
        "a" * 39,
        "mona-cat_octo",  # Enterprise Managed Users: handle_shortcode
        "legacy-",  # some old accounts end in a hyphen
        "old--name",
    ],
)
def test_real_github_logins_are_accepted(login: str) -> None:
    assert identity.github_owner(login) == login


@pytest.mark.parametrize(
    "login", ["", "-a", "_a", "a" * 40, "a.b", "a/b", "a b", "%2e%2e", "ａ", "a\x00", "a\n", "..", "a\\b"]
)
def test_other_github_logins_are_refused(login: str) -> None:
    with pytest.raises(IdentityError, match=r"^repository\.owner\.login .* (is not a GitHub login|is empty)"):
        identity.github_owner(login, "repository.owner.login")


@pytest.mark.parametrize("name", ["Hello-World", ".github", "a", "x" * 100, "my.repo", "_private", "..."])
def test_real_github_repository_names_are_accepted(name: str) -> None:
    assert identity.github_repo_name(name) == name
    assert identity.github_repository(f"octo/{name}") == ("octo", name)


@pytest.mark.parametrize(
    "name", [".", "..", "", "x" * 101, "a/b", "a%2Fb", "a b", "a\u2024\u2024", "\uff0e\uff0e"]
)
def test_other_github_repository_names_are_refused(name: str) -> None:
    with pytest.raises(
        IdentityError, match=r"^repository\.name .* (is not a GitHub repository name|is empty)"
    ):
        identity.github_repo_name(name, "repository.name")


@pytest.mark.parametrize("value", ["octo", "octo/a/b", "/octo/a", "octo/", 7, None])
def test_a_github_repository_is_exactly_owner_slash_name(value: object) -> None:
    with pytest.raises(IdentityError):
        identity.github_repository(value, "repository")


@pytest.mark.parametrize(
    "path",
    [
        "gitlab-org/gitlab",
        "Acme/sub/api",
        "group/sub.group/_project",
        "user/.dotfiles",  # GitLab routes an existing path starting with '.'
        "a/b",
        "/".join(["g"] * identity.GITLAB_MAX_DEPTH),
        "g/" + "p" * 255,
    ],
)
def test_real_gitlab_paths_are_accepted(path: str) -> None:
    assert identity.gitlab_path(path) == path
    assert identity.gitlab_project(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "solo",
        "g/../p",
        "g/./p",
        "g//p",
        "/g/p",
        "g/p/",
        "g/-p",
        "g/p.",
        "g/p.git",
        "g/p.atom",
        "g/%2e%2e/p",
        "g%2Fp",
        "g/p q",
        "g/p\\..\\q",
        "g/\u3002\u3002",
        "/".join(["g"] * (identity.GITLAB_MAX_DEPTH + 1)),
        "g/" + "p" * 256,
    ],
)
def test_other_gitlab_paths_are_refused(path: str) -> None:
    with pytest.raises(IdentityError, match=r"^project\.path_with_namespace .* is not a GitLab project path"):
        identity.gitlab_path(path, "project.path_with_namespace")


def test_numbers_ids_and_commits() -> None:
    assert identity.positive_int(7, "number") == 7
    for bad in (0, -1, True, 7.0, "7", None, identity.MAX_NUMBER + 1):
        with pytest.raises(IdentityError, match=r"^number .* is not a whole number from 1"):
            identity.positive_int(bad, "number")
    assert identity.gitlab_project(2**40) == 2**40
    assert identity.commit_sha("A" * 40) == "a" * 40
    assert identity.commit_sha("b" * 64) == "b" * 64, "SHA-256 repositories"
    for bad in ("a" * 39, "a" * 41, "a" * 63, "g" * 40, "../../../etc/passwd", "a" * 40 + "\n", 1):
        with pytest.raises(IdentityError, match="head"):
            identity.commit_sha(bad, "head")


def test_a_refused_value_is_shown_escaped_and_cut_short() -> None:
    with pytest.raises(IdentityError) as caught:
        identity.github_repo_name("a\n\x00" + "." * 10_000, "repository.name")
    message = str(caught.value)
    assert caught.value.field == "repository.name"
    assert "\\n\\x00" in message and "\n" not in message and "10003 characters" in message
    assert len(message) < 300


@pytest.mark.parametrize("segment", ["", ".", ".."])
def test_api_path_refuses_what_quoting_cannot_neutralise(segment: str) -> None:
    with pytest.raises(IdentityError, match="URL path segment"):
        identity.api_path("repos", segment, "x")
    assert identity.api_path("projects", "a/b", 3) == "projects/a%2Fb/3"
    assert identity.api_path("repos", "%2e%2e", "a\\b") == "repos/%252e%252e/a%5Cb"


@respx.mock
async def test_a_next_page_on_another_host_is_not_followed() -> None:
    """Pagination links come from the API's answer; the token never follows one off the host."""
    evil = respx.get("https://evil.example/steal").mock(return_value=httpx.Response(200, json=[]))
    respx.get("https://api.github.com/repos/acme/api/pulls/7/reviews").mock(
        return_value=httpx.Response(
            200, json=[], headers={"Link": '<https://evil.example/steal>; rel="next"'}
        )
    )
    async with GitHubClient(Secret("ghp_token")) as gh:
        with pytest.raises(PlatformError, match="next page on another host"):
            await gh.list_reviews("acme/api", 7)
    assert not evil.called


@respx.mock
async def test_the_client_refuses_a_repository_it_was_handed_unvalidated() -> None:
    route = respx.route().mock(return_value=httpx.Response(200, text=""))
    async with GitHubClient(Secret("ghp_token"), "https://ghe.example/api/v3") as gh:
        with pytest.raises(IdentityError, match="repository"):
            await gh.pull_diff("acme/../../repos/beta/secret", 7)
        with pytest.raises(IdentityError, match="head commit"):
            await gh.compare_diff("acme/api", "a" * 40, "../x")
    assert not route.called
