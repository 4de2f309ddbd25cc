"""The merge status hunkwise sets on a head commit: one platform-neutral value, two platform shapes.

A :class:`CommitState` is what the jobs layer decided (pending while reviewing, then success,
neutral or failure, with a one-line description that carries the reason when the review was
incomplete). The clients turn it into a GitHub check run (conclusion ``neutral`` exists there),
a GitHub commit status (when the token may not create check runs: only a GitHub App may, so a
personal access token falls back) or a GitLab commit status.

Neither commit-status API has a "neutral" state. Neutral must never read as green, so it maps
to GitHub's ``error`` and GitLab's ``canceled`` (both not green, neither "the code is wrong"):
docs/conversation.md says so.

Pure (no httpx): the jobs layer builds these values without a client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

State = Literal["pending", "success", "neutral", "failure"]
STATUS_NAME = "hunkwise"  # the check run name / status context, one per head commit
MAX_DESCRIPTION = 140  # GitHub commit statuses keep 140 characters; GitLab is laxer


@dataclass(frozen=True, slots=True)
class CommitState:
    """One merge status: ``state``, a one-line ``description`` (the reason when incomplete),
    ``summary`` (markdown, shown in a check run's output) and an optional ``target_url``."""

    state: State
    description: str
    summary: str = ""
    target_url: str | None = None

    @property
    def short(self) -> str:
        """The description cut to what a commit status keeps."""
        text = " ".join(self.description.split())
        return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def github_check_fields(state: CommitState) -> dict[str, object]:
    """A check run's ``status``/``conclusion``/``output`` for ``state``."""
    out: dict[str, object] = {
        "output": {"title": state.short, "summary": state.summary or state.description},
    }
    if state.state == "pending":
        out["status"] = "in_progress"
    else:
        out["status"] = "completed"
        out["conclusion"] = state.state  # success | neutral | failure: GitHub's own words
    if state.target_url:
        out["details_url"] = state.target_url
    return out


def github_commit_state(state: CommitState) -> str:
    """GitHub's commit status ``state`` (``error | failure | pending | success``): neutral is
    ``error``, never ``success``."""
    return {"pending": "pending", "success": "success", "neutral": "error", "failure": "failure"}[state.state]


def gitlab_commit_state(state: CommitState) -> str:
    """GitLab's commit status ``state`` (``pending | running | success | failed | canceled``):
    reviewing is ``running``, neutral is ``canceled``, never ``success``."""
    return {"pending": "running", "success": "success", "neutral": "canceled", "failure": "failed"}[
        state.state
    ]


def gitea_commit_state(state: CommitState) -> str:
    """Gitea's and Forgejo's commit status ``state`` (``pending | success | error | failure |
    warning``): neutral is ``warning``, Gitea's own "not green, not wrong" (a required status
    check passes on ``success`` only)."""
    return {"pending": "pending", "success": "success", "neutral": "warning", "failure": "failure"}[
        state.state
    ]


def azure_devops_state(state: CommitState) -> str:
    """An Azure DevOps pull request status ``state`` (``pending | succeeded | failed | error |
    notApplicable | notSet``): neutral is ``error``, never ``succeeded`` nor ``notApplicable``
    (a branch policy skips a status that is not applicable: it would let the merge through)."""
    return {"pending": "pending", "success": "succeeded", "neutral": "error", "failure": "failed"}[
        state.state
    ]


def bitbucket_commit_state(state: CommitState) -> str:
    """Bitbucket Cloud's build status ``state`` (``INPROGRESS | SUCCESSFUL | FAILED | STOPPED``):
    reviewing is ``INPROGRESS``, neutral is ``STOPPED``, never ``SUCCESSFUL``."""
    return {"pending": "INPROGRESS", "success": "SUCCESSFUL", "neutral": "STOPPED", "failure": "FAILED"}[
        state.state
    ]
