"""The pull-request conversation through the real server (embedded workers, the simulator as
the fixed model, a fake GitHub or GitLab over loopback HTTP): a scripted pull request of several
pushes, with the author resolving one thread and answering "won't fix" on another."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from platform_fakes import FakeGitHub, ServedFake
from scripted_pr import make_fake, run_pushes, server_env, threads
from simkeys import DEV_KEY


@pytest.fixture(params=["github", "gitlab"])
def platform(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def served(platform: str) -> Iterator[ServedFake]:
    fake = ServedFake(make_fake(platform))
    yield fake
    fake.close()


@pytest.fixture
def server(make_client: Callable[..., TestClient], sim, platform: str, served: ServedFake) -> TestClient:
    return make_client(**server_env(platform, served.url, sim.base_url, DEV_KEY))


def test_five_pushes_post_no_finding_twice_and_keep_one_summary(
    server: TestClient, served: ServedFake, platform: str
) -> None:
    out = run_pushes(server, platform, served, pushes=5)
    figures = out.figures()
    # a reviewer without memory would repeat itself on every push ...
    assert figures["naive_duplicates"] > 0
    # ... hunkwise posts every finding once, in one summary edited on each later push
    assert figures["hunkwise_duplicates"] == 0
    assert figures["summaries"] == 1 and figures["summary_edits"] == 4
    assert figures["per_push"][0]["posted"] == figures["per_push"][0]["findings"]
    assert all(p["posted"] < p["findings"] for p in figures["per_push"][1:])
    # the resolved thread stayed resolved, nothing reopened it; the summary says so
    assert out.resolved_after == 1
    assert "resolved or won't fix earlier, not reopened" in out.summary
    assert "still open from earlier" in out.summary
    assert "(won't fix)" in out.summary and "(resolved)" in out.summary


def test_open_then_push_posts_only_new_findings_and_edits_the_summary(
    server: TestClient, served: ServedFake, platform: str
) -> None:
    out = run_pushes(server, platform, served, pushes=2)
    first, second = out.pushes
    assert first.posted == first.findings > 0
    # push 2 moved the earlier findings 4 lines down and added util.py's TODO: only that is new
    assert second.posted == 1 and second.summary_edits == 1
    fps = [fp for fp, _ in threads(served.fake)]
    assert len(fps) == len(set(fps)) == first.findings + 1
    assert out.summaries == 1 and "Walkthrough" in out.summary and "### Coverage" in out.summary
    if isinstance(served.fake, FakeGitHub):
        # the new comment came in a short review of its own; the summary is the first review, edited
        assert (
            len(served.fake.reviews) == 2 and served.fake.edits[0]["review"] == served.fake.reviews[0]["id"]
        )
