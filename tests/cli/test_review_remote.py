"""``hunkwise review --github`` and ``--pr URL [--post]`` end to end: CLI -> fake GitHub/GitLab
REST APIs over real loopback HTTP -> engine -> simulator -> the exact review requests posted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import simkeys
from hunkwise.cli.app import app
from hunkwise.config.settings import Settings
from hunkwise.platforms.review_post import markers_in, review_key
from platform_fakes import FakeGitHub, FakeGitLab, ServedFake

ROOT = Path(__file__).parents[2]
EVENTS = ROOT / "tests" / "data" / "github-webhooks"
OPENED = EVENTS / "pull_request.opened.payload.json"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # pull_request.head.sha in the octokit fixture
REPO = "Codertocat/Hello-World"
TOKEN = "ghp_canary_token_must_never_print_1234"
# The offline simulator's findings on examples/sample.diff (see tests/cli/test_review.py)
EXPECTED = {
    ("src/inventory/config.py", 10),
    ("src/inventory/pricing.py", 12),
    ("src/inventory/pricing.py", 13),
    ("src/inventory/pricing.py", 19),
}


@dataclass
class PullFakeGitHub(FakeGitHub):
    """The shared fake, plus the pull request object (``GET /pulls/N`` as JSON) that ``--pr``
    reads for the head commit."""

    head_sha: str = "a" * 40

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, accept = request.url.path, request.headers.get("accept", "")
        if request.method == "GET" and re.search(r"/pulls/\d+$", path) and not accept.endswith(".diff"):
            self.requests.append(request)
            return httpx.Response(
                200, json={"number": int(path.rsplit("/", 1)[1]), "head": {"sha": self.head_sha}}
            )
        return super().handle(request)


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def github() -> Iterator[tuple[PullFakeGitHub, ServedFake]]:
    fake = PullFakeGitHub()
    served = ServedFake(fake)
    try:
        yield fake, served
    finally:
        served.close()


@pytest.fixture
def gitlab() -> Iterator[tuple[FakeGitLab, ServedFake]]:
    fake = FakeGitLab()
    served = ServedFake(fake)
    try:
        yield fake, served
    finally:
        served.close()


def review(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["review", *args], env=env or {})


def actions_env(served: ServedFake, event: Path = OPENED, **extra: str) -> dict[str, str]:
    return {
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": served.url,
        "GITHUB_REPOSITORY": REPO,
        **extra,
    }


def _calls(fake: FakeGitHub | FakeGitLab) -> list[tuple[str, str]]:
    return [(r.method, r.url.path) for r in fake.requests]


def test_github_actions_posts_one_review_on_the_right_lines(github) -> None:
    fake, served = github
    result = review("--github", "--offline", "-f", "json", env=actions_env(served))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {(f["path"], f["start_line"]) for f in doc["findings"]} == EXPECTED
    assert doc["change"]["platform"] == "github" and doc["change"]["head_sha"] == HEAD
    # the diff came from the API with the diff media type and the token; the local cwd is not a repo
    diff_get = next(r for r in fake.requests if r.url.path == f"/repos/{REPO}/pulls/2")
    assert diff_get.headers["accept"] == "application/vnd.github.v3.diff"
    assert diff_get.headers["authorization"] == f"Bearer {TOKEN}"
    assert len(fake.posts) == 1
    body = fake.posts[0]
    assert body["commit_id"] == HEAD and body["event"] == "COMMENT"
    key = review_key("github", REPO, 2, HEAD)
    assert ("review", key) in markers_in(body["body"])
    assert "## hunkwise review" in body["body"] and "**4 finding(s)**" in body["body"]
    assert {(c["path"], c["line"], c["side"]) for c in body["comments"]} == {
        (p, n, "RIGHT") for p, n in EXPECTED
    }
    assert all(any(k == "fp" for k, _ in markers_in(c["body"])) for c in body["comments"])
    assert "posted the review to github Codertocat/Hello-World#2" in result.stderr
    assert TOKEN not in result.output


def test_github_actions_rerun_posts_nothing_new(github) -> None:
    fake, served = github
    assert review("--github", "--offline", "-q", env=actions_env(served)).exit_code == 0
    again = review("--github", "--offline", env=actions_env(served))
    assert again.exit_code == 0, again.output
    assert len(fake.posts) == 1 and len(fake.reviews) == 1
    assert again.stderr == f"already reviewed {HEAD[:12]} on github {REPO}#2; nothing to do\n"
    assert again.stdout == ""


def test_github_rerun_checks_first_and_calls_no_model(github, sim) -> None:
    fake, served = github
    env = actions_env(served, ZAI_API_KEY=simkeys.DEV_KEY, ZAI_BASE_URL=sim.base_url)
    assert review("--github", "-q", env=env).exit_code == 0
    reviewed = len(sim.requests())
    assert reviewed >= 1 and len(fake.posts) == 1
    before = len(fake.requests)
    again = review("--github", "-f", "json", env=env)
    assert again.exit_code == 0, again.output
    assert "already reviewed" in again.stderr and again.stdout == ""
    assert len(sim.requests()) == reviewed  # no model request: the check came first
    # Only the look-up (our reviews, and who "we" are): no diff fetched, nothing posted.
    assert _calls(fake)[before:] == [("GET", f"/repos/{REPO}/pulls/2/reviews"), ("GET", "/user")]
    no_post = review("--github", "--no-post", "-q", env=env)  # printing only: reviewed as asked
    assert no_post.exit_code == 0 and len(sim.requests()) > reviewed


@pytest.mark.parametrize("event", ["closed", "labeled"])
def test_github_event_that_is_not_reviewed_exits_0_without_a_review(github, sim, event: str) -> None:
    fake, served = github
    path = EVENTS / f"pull_request.{event}.payload.json"
    env = actions_env(served, path, ZAI_API_KEY=simkeys.DEV_KEY, ZAI_BASE_URL=sim.base_url)
    result = review("--github", env=env)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"pull_request action '{event}' is not reviewed (only opened, ")
    assert result.stderr.endswith("; nothing to do\n") and result.stdout == ""
    assert sim.requests() == [] and fake.requests == []


def test_github_no_post_prints_only(github) -> None:
    fake, served = github
    result = review("--github", "--offline", "--no-post", "-f", "markdown", env=actions_env(served))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("## hunkwise review")
    assert [m for m, _ in _calls(fake)] == ["GET"] and fake.posts == []


def test_github_synchronize_with_no_earlier_review_reviews_the_whole_pr(github) -> None:
    fake, served = github
    event = EVENTS / "pull_request.synchronize.payload.json"
    result = review("--github", "--offline", "-q", env=actions_env(served, event))
    assert result.exit_code == 0, result.output
    # looked for a review of this head (none), then for our last reviewed head (incremental),
    # found none, fetched the whole diff
    reviews, diff = ("GET", f"/repos/{REPO}/pulls/2/reviews"), ("GET", f"/repos/{REPO}/pulls/2")
    assert _calls(fake)[:3] == [reviews, reviews, diff]
    assert len(fake.posts) == 1


def test_github_posting_failure_is_exit_3_after_the_report(github) -> None:
    fake, served = github
    fake.fail_posts = [403]
    result = review("--github", "--offline", "-f", "json", env=actions_env(served))
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["findings"]  # the report is still printed
    assert "the review was not posted to github Codertocat/Hello-World#2" in result.stderr
    assert "403 forbidden" in result.stderr and TOKEN not in result.output


def test_github_fail_on_still_posts_then_exits_1(github) -> None:
    fake, served = github
    result = review("--github", "--offline", "-q", "--fail-on", "high", env=actions_env(served))
    assert result.exit_code == 1, result.output
    assert len(fake.posts) == 1


def test_github_dry_run_posts_nothing(github) -> None:
    fake, served = github
    result = review("--github", "--offline", "--dry-run", env=actions_env(served))
    assert result.exit_code == 0, result.output
    assert fake.posts == []


@pytest.mark.parametrize(
    ("event", "env", "message"),
    [
        ("pull_request.opened.payload.json", {"GITHUB_TOKEN": ""}, "--github needs a token"),
        ("ping.payload.json", {"GITHUB_EVENT_NAME": ""}, "is not a pull_request event"),
        ("pull_request.opened.payload.json", {"GITHUB_EVENT_NAME": "push"}, "runs on a 'push' event"),
        ("does-not-exist.json", {}, "cannot read GITHUB_EVENT_PATH"),
        (
            "pull_request.opened.payload.json",
            {"GITHUB_REPOSITORY": "Codertocat/../../repos/beta/secret-repo"},
            "GITHUB_REPOSITORY 'Codertocat/../../repos/beta/secret-repo' is not a GitHub repository",
        ),
    ],
)
def test_github_bad_environment_is_exit_2(github, event: str, env: dict[str, str], message: str) -> None:
    fake, served = github
    result = review("--github", "--offline", env=actions_env(served, EVENTS / event, **env))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert fake.requests == []


def test_github_event_file_not_json(github, tmp_path: Path) -> None:
    _, served = github
    bad = tmp_path / "event.json"
    bad.write_text("{not json")
    result = review("--github", "--offline", env=actions_env(served, bad))
    assert result.exit_code == 2 and "is not a JSON event payload" in result.stderr


def test_github_outside_actions() -> None:
    result = review("--github", "--offline")
    assert result.exit_code == 2 and "GITHUB_EVENT_PATH" in result.stderr


# -- --pr URL ---------------------------------------------------------------------------------------
def test_pr_url_without_post_makes_no_post(github) -> None:
    fake, served = github
    url = "https://github.com/octo/widgets/pull/7"
    result = review("--pr", url, "--api-url", served.url, "--offline", "-f", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {(f["path"], f["start_line"]) for f in doc["findings"]} == EXPECTED
    assert doc["change"]["repository"] == "octo/widgets" and doc["change"]["head_sha"] == fake.head_sha
    assert _calls(fake) == [("GET", "/repos/octo/widgets/pulls/7"), ("GET", "/repos/octo/widgets/pulls/7")]
    assert fake.posts == []


def test_pr_url_with_post_posts_once(github) -> None:
    fake, served = github
    args = (
        "--pr",
        "https://github.com/octo/widgets/pull/7/files",
        "--api-url",
        served.url,
        "--offline",
        "--post",
    )
    env = {"HUNKWISE_GITHUB_TOKEN": TOKEN}
    first, second = review(*args, env=env), review(*args, env=env)
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert len(fake.posts) == 1 and fake.posts[0]["commit_id"] == fake.head_sha
    assert ("review", review_key("github", "octo/widgets", 7, fake.head_sha)) in markers_in(
        fake.posts[0]["body"]
    )
    assert f"already reviewed {fake.head_sha[:12]} on github octo/widgets#7; nothing to do" in second.stderr


def test_pr_post_without_token_is_exit_2(github) -> None:
    fake, served = github
    result = review("--pr", "https://github.com/o/r/pull/1", "--api-url", served.url, "--offline", "--post")
    assert (
        result.exit_code == 2 and "--post needs a token" in result.stderr and "GITHUB_TOKEN" in result.stderr
    )
    assert fake.requests == []


def test_pr_unknown_pull_request_is_exit_2(github) -> None:
    fake, served = github
    fake.diff_status = 404
    result = review("--pr", "https://github.com/o/r/pull/1", "--api-url", served.url, "--offline")
    assert result.exit_code == 2, result.output
    assert "cannot fetch github o/r#1" in result.stderr and "404 not found" in result.stderr


def test_pr_platform_down_is_exit_3() -> None:
    result = review("--pr", "https://github.com/o/r/pull/1", "--api-url", "http://127.0.0.1:9", "--offline")
    assert result.exit_code == 3, result.output
    assert "cannot reach GitHub" in result.stderr and "Traceback" not in result.output


def test_gitlab_mr_url_posts_positioned_discussions_once(gitlab) -> None:
    fake, served = gitlab
    url = "https://gitlab.example.com/group/sub/proj/-/merge_requests/12"
    args = ("--pr", url, "--api-url", served.url, "--offline", "--post", "-q")
    env = {"GITLAB_TOKEN": "glpat-canary-9876"}
    first = review(*args, env=env)
    assert first.exit_code == 0, first.output
    posts = [(r.url.raw_path.decode(), json.loads(r.content)) for r in fake.requests if r.method == "POST"]
    mr = "/projects/group%2Fsub%2Fproj/merge_requests/12"
    discussions = [b for p, b in posts if p == f"{mr}/discussions"]
    assert {(d["position"]["new_path"], d["position"]["new_line"]) for d in discussions} == EXPECTED
    assert all(
        d["position"]["head_sha"] == "h" * 40 and d["position"]["base_sha"] == "b" * 40 for d in discussions
    )
    notes = [b for p, b in posts if p == f"{mr}/notes"]
    assert len(notes) == 1
    assert ("review", review_key("gitlab", "group/sub/proj", 12, "h" * 40)) in markers_in(notes[0]["body"])
    assert all(r.headers["private-token"] == "glpat-canary-9876" for r in fake.requests)
    second = review(*args, env=env)
    assert second.exit_code == 0 and sum(r.method == "POST" for r in fake.requests) == len(posts)
    assert "already reviewed hhhhhhhhhhhh on gitlab group/sub/proj!12; nothing to do" in second.stderr


@pytest.mark.parametrize(
    "url",
    [
        "github.com/o/r/pull/1",
        "https://github.com/o/r/issues/1",
        "https://github.com/o/pull/1",
        "https://gitlab.com/g/p/merge_requests/1",
        "ftp://github.com/o/r/pull/1",
        "not a url",
    ],
)
def test_malformed_pr_url_is_exit_2(url: str) -> None:
    result = review("--pr", url, "--offline")
    assert result.exit_code == 2, result.output
    assert "--pr expects https://github.com/OWNER/REPO/pull/N" in result.stderr
    assert "/-/merge_requests/N" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://github.com/%2e%2e/r/pull/1", "the owner in the URL '%2e%2e' is not a GitHub login"),
        (
            "https://github.com/o/%2e%2e/pull/1",
            "the repository in the URL '%2e%2e' is not a GitHub repository",
        ),
        ("https://github.com/o/../pull/1", "the repository in the URL '..' is not a GitHub repository"),
        ("https://github.com/o/r%2F..%2F..%2Fbeta/pull/1", "the repository in the URL 'r%2F..%2F..%2Fbeta'"),
        ("https://github.com/o/r\\..\\x/pull/1", "the repository in the URL"),
        ("https://github.com/o/r/pull/99999999999", "the pull request number in the URL 99999999999"),
        ("https://gitlab.com/g/../beta/p/-/merge_requests/1", "the project path in the URL 'g/../beta/p'"),
        ("https://gitlab.com/g/%2e%2e/p/-/merge_requests/1", "the project path in the URL 'g/%2e%2e/p'"),
        ("https://gitlab.com/solo/-/merge_requests/1", "expected GROUP[/SUBGROUP...]/PROJECT"),
        ("https://gitlab.com/g/p\u2024\u2024/-/merge_requests/1", "is not a GitLab project path"),
    ],
)
def test_pr_url_with_a_name_that_is_not_one_is_exit_2(url: str, message: str) -> None:
    """The owner, repository or project path of ``--pr`` becomes API URL segments: an encoded,
    dotted or backslashed one is refused, not decoded, before any request."""
    result = review("--pr", url, "--offline", env={"GITHUB_API_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: --pr: ")
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("url", "platform", "repository", "number", "api"),
    [
        ("https://github.com/o/r/pull/3", "github", "o/r", 3, "https://api.github.com"),
        (
            "https://ghe.corp.example/o/r/pull/3#discussion",
            "github",
            "o/r",
            3,
            "https://ghe.corp.example/api/v3",
        ),
        (
            "https://gitlab.com/a/b/c/-/merge_requests/9/diffs",
            "gitlab",
            "a/b/c",
            9,
            "https://gitlab.com/api/v4",
        ),
        (
            "http://git.lan:8080/team/app/-/merge_requests/1",
            "gitlab",
            "team/app",
            1,
            "http://git.lan:8080/api/v4",
        ),
    ],
)
def test_url_shapes_and_api_bases(url: str, platform: str, repository: str, number: int, api: str) -> None:
    from hunkwise.cli.review_remote import target_from_url

    t = target_from_url(url, None, post=False, settings=Settings.from_env({}))
    assert (t.platform, t.repository, t.number, t.api_url, t.token) == (
        platform,
        repository,
        number,
        api,
        None,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--github", "--pr", "https://github.com/o/r/pull/1"), "drop --pr"),
        (("--pr", "https://github.com/o/r/pull/1", "--diff", "x.diff"), "drop --diff"),
        (("--post",), "--post applies to --github or --pr"),
        (("--api-url", "http://x"), "--api-url applies to"),
        (("--pr", "https://github.com/o/r/pull/1", "--no-post"), "drop --no-post"),
        (("--github", "--post"), "posts by default"),
    ],
)
def test_conflicting_options_are_exit_2(args: tuple[str, ...], message: str) -> None:
    result = review(*args, "--offline")
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_github_with_configured_models_posts_and_records_usage(github, sim) -> None:
    fake, served = github
    env = actions_env(served, ZAI_API_KEY=simkeys.DEV_KEY, ZAI_BASE_URL=sim.base_url)
    result = review("--github", "-f", "json", env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["source"] == "llm" and len(doc["findings"]) == 4
    assert len(fake.posts) == 1 and "`glm-5.1` (1 call(s))" in fake.posts[0]["body"]
    assert simkeys.DEV_KEY not in result.output and simkeys.DEV_KEY not in json.dumps(fake.posts)
    usage = CliRunner().invoke(app, ["usage", "--json"], env={})
    assert usage.exit_code == 0 and json.loads(usage.stdout)["runs"] == 1


def test_posting_failure_wins_over_fail_on(github) -> None:
    fake, served = github
    fake.fail_posts = [502]
    result = review("--github", "--offline", "-q", "--fail-on", "high", env=actions_env(served))
    assert result.exit_code == 3, result.output
    assert "GitHub answered 502" in result.stderr


def test_shipped_workflow_is_the_documented_one() -> None:
    import yaml

    shipped = (ROOT / "examples" / "github-workflow.yml").read_text()
    assert shipped.strip() in (ROOT / "docs" / "ci.md").read_text()
    workflow = yaml.safe_load(shipped)
    steps = workflow["jobs"]["review"]["steps"]
    review_step = next(s for s in steps if "hunkwise review --github" in s.get("run", ""))
    assert review_step["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert workflow["permissions"]["pull-requests"] == "write"
