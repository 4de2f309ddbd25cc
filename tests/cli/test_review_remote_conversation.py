"""``review --github`` (GitHub Actions, no database) and ``--pr URL --post`` on later pushes:
what was posted before is read back from hunkwise's own comments, so nothing is posted twice,
a resolved thread is not reopened and the one summary is edited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hunkwise.cli.app import app
from platform_fakes import FakeGitHub, FakeGitLab, ServedFake
from scripted_pr import VERSIONS, head, pr_diff, threads

EVENTS = Path(__file__).parents[1] / "data" / "github-webhooks"
REPO = "Codertocat/Hello-World"


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def served_github() -> Iterator[ServedFake]:
    served = ServedFake(FakeGitHub(diff=pr_diff(VERSIONS[0])))
    yield served
    served.close()


def _actions(served: ServedFake, tmp_path: Path, push: int) -> dict[str, str]:
    event = json.loads((EVENTS / "pull_request.synchronize.payload.json").read_text())
    event["action"] = "opened" if push == 0 else "synchronize"
    event["pull_request"]["head"]["sha"] = head(push)
    path = tmp_path / f"event-{push}.json"
    path.write_text(json.dumps(event))
    return {
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_TOKEN": "ghp_actions_token",
        "GITHUB_API_URL": served.url,
        "GITHUB_REPOSITORY": REPO,
    }


def _review(*args: str, env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["review", *args], env=env)
    assert result.exit_code == 0, result.output


def test_github_actions_later_push_posts_only_new_findings_and_keeps_resolved_threads(
    served_github: ServedFake, tmp_path: Path
) -> None:
    fake = served_github.fake
    assert isinstance(fake, FakeGitHub)
    _review("--github", "--offline", "-q", env=_actions(served_github, tmp_path, 0))
    first = threads(fake)
    bare = next(root for _, root in first if "Bare except" in root["body"])
    fake.resolve(bare["id"])
    fake.diff = pr_diff(VERSIONS[1])  # lines moved down, util.py's TODO added; a force-push
    _review("--github", "--offline", "-q", env=_actions(served_github, tmp_path, 1))
    second = threads(fake)
    new = [root for _, root in second[len(first) :]]
    assert len(new) == 1 and new[0]["path"] == "app/util.py" and "TODO" in new[0]["body"]
    assert len({fp for fp, _ in second}) == len(second)  # no fingerprint posted twice
    assert fake.resolved == {bare["id"]}
    summary = fake.reviews[0]["body"]
    assert fake.edits[-1]["review"] == fake.reviews[0]["id"] and f"`{head(1)[:12]}`" in summary
    assert "**1** resolved or won't fix earlier (not reopened)" in summary
    assert "**1** still open from earlier" in summary


def test_gitlab_pr_url_post_on_a_later_push_posts_only_new_discussions() -> None:
    fake = FakeGitLab(diff=pr_diff(VERSIONS[0]), head_sha=head(0), projects={42: "acme/api"})
    served = ServedFake(fake)
    try:
        url = f"{served.url}/acme/api/-/merge_requests/3"
        env = {"HUNKWISE_GITLAB_TOKEN": "glpat_cli_token"}
        _review("--pr", url, "--post", "--offline", "-q", env=env)
        posted_first = len(fake.discussions)
        bare = next(d for d in fake.discussions if "Bare except" in d["notes"][0]["body"])
        fake.reply(bare["id"], "wontfix")
        fake.diff, fake.head_sha = pr_diff(VERSIONS[2]), head(2)
        _review("--pr", url, "--post", "--offline", "-q", env=env)
    finally:
        served.close()
    fps = [fp for fp, _ in threads(fake)]
    assert posted_first == 2 and len(fps) == len(set(fps)) == 4  # util.py's TODO and bare except
    assert len(fake.notes) == 1 and fake.edits and "won't fix" in fake.notes[0]["body"]
