"""A fake Gitea/Forgejo REST API (``/api/v1``), stateful, at the HTTP level.

Written from Gitea's API as its source defines it (``routers/api/v1/repo/pull_review.go``,
``issue_comment.go``, ``status.go``, ``pull.go``; ``modules/structs`` for the shapes) and its
swagger at ``/api/swagger``; Forgejo serves the same. What it models, because hunkwise depends on it:

- ``Authorization: token <t>``: a missing or wrong token is a 401, before anything else;
- ``POST .../pulls/{index}/reviews`` adds each comment to the token user's *pending* review
  (created on the first comment), then submits that pending review; with ``fail_submit`` the
  answer is an error after the comments were added, and they stay pending, to be submitted with
  the user's next review, as Gitea does;
- a comment on a line outside the diff is accepted, with an empty ``diff_hunk`` (Gitea's
  ``CutDiffAroundLine`` answers ``""``), so a test can see a comment that would have no code;
- a pending review is visible to its author only; only its author may delete a review or edit a
  comment (403 otherwise);
- listings page with ``page``/``limit`` and say ``X-Total-Count`` (reviews page, default size
  ``page_size``; an issue's comments come whole, as Gitea sends them);
- ``GET .../pulls/{index}.diff`` the diff as text; ``GET .../raw/{path}?ref=`` a file;
- ``GET .../issues/comments/{id}/reactions``: the reactions on any comment, review comments too.

It records every request; :class:`platform_fakes.ServedFake` serves it over loopback HTTP.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from platform_fakes import SAMPLE

TOKEN = "gitea_token_for_tests"
BOT = {"id": 4242, "login": "hunkwise-bot", "username": "hunkwise-bot", "full_name": "hunkwise"}
AUTHOR = {"id": 17, "login": "pr-author", "username": "pr-author", "full_name": "PR Author"}
HEAD = "c" * 40
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_NOT_FOUND = {"message": "The target couldn't be found.", "errors": []}


def hunk_around(diff: str, path: str, line: int) -> str:
    """The hunk of ``path`` holding new-file ``line`` (header and lines), or ``""`` as Gitea's
    ``CutDiffAroundLine`` answers for a line outside every hunk."""
    current, out, keep = None, [], False
    for text in diff.splitlines():
        if text.startswith("diff --git "):
            current, keep = None, False
        elif text.startswith("+++ "):
            current = text[6:] if text.startswith("+++ b/") else None
        elif current == path and (found := _HUNK.match(text)):
            first, count = int(found.group(1)), int(found.group(2) or 1)
            keep = first <= line < first + count
            if keep:
                out = [text]
        elif keep and current == path:
            out.append(text)
    return "\n".join(out)


@dataclass
class FakeGitea:
    token: str = TOKEN
    user: dict[str, Any] = field(default_factory=lambda: dict(BOT))  # the token's user
    repository: str = "acme/api"  # the one repository the token can see
    diffs: dict[int, str] = field(default_factory=lambda: {7: SAMPLE})  # pull request index -> diff
    heads: dict[int, str] = field(
        default_factory=dict
    )  # index -> head.sha of GET .../pulls/{index} (else 404)
    files: dict[str, str] = field(default_factory=dict)  # path -> text at ``files_ref``
    files_ref: str = HEAD
    page_size: int = 30  # Gitea's default page size (setting API.DEFAULT_PAGING_NUM)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)  # review (code) comments
    issue_comments: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # comment id -> reactions
    fail_reviews: list[int] = field(default_factory=list)  # statuses for the next POST .../reviews
    fail_submit: list[int] = field(default_factory=list)  # ... answered after the comments were added
    requests: list[httpx.Request] = field(default_factory=list)
    _next_id: int = 100

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- what tests read --------------------------------------------------------------------------
    def writes(self) -> list[httpx.Request]:
        """Every POST, PATCH and DELETE except commit statuses, in order."""
        return [
            r
            for r in self.requests
            if r.method in ("POST", "PATCH", "DELETE") and "/statuses/" not in r.url.path
        ]

    def status_history(self) -> list[tuple[str, str]]:
        return [(s["status"], s["description"]) for s in self.statuses]

    def submitted(self) -> list[dict[str, Any]]:
        """The code comments of submitted reviews (what people see on the pull request)."""
        shown = {r["id"] for r in self.reviews if r["state"] != "PENDING"}
        return [c for c in self.comments if c["pull_request_review_id"] in shown]

    # -- what people do on the pull request ------------------------------------------------------
    def reply(self, comment_id: int, body: str, user: dict[str, Any] | None = None) -> dict[str, Any]:
        """Someone answers in the thread of a code comment (Gitea files the reply in the same review)."""
        root = next(c for c in self.comments if c["id"] == comment_id)
        return self._comment(
            root["pull_request_review_id"], root["path"], root["position"], body, user or AUTHOR
        )

    def resolve(self, comment_id: int, user: dict[str, Any] | None = None) -> None:
        """*Resolve conversation* on a code comment's thread."""
        for c in self.comments:
            if c["id"] == comment_id:
                c["resolver"] = dict(user or AUTHOR)

    def react(self, comment_id: int, content: str, user: dict[str, Any] | None = None) -> None:
        """Someone reacts to a comment (``+1``, ``-1``, ``laugh``, ...): Gitea sends no webhook."""
        self.reactions.setdefault(comment_id, []).append({"user": dict(user or AUTHOR), "content": content})

    def say(self, body: str, user: dict[str, Any] | None = None) -> dict[str, Any]:
        """An issue comment on the pull request, by someone (the author by default)."""
        self._next_id += 1
        comment = {"id": self._next_id, "body": body, "user": dict(user or AUTHOR), "html_url": ""}
        self.issue_comments.append(comment)
        return comment

    # -- plumbing ---------------------------------------------------------------------------------
    def _comment(
        self, review_id: int, path: str, line: int, body: str, user: dict[str, Any], index: int = 7
    ) -> dict[str, Any]:
        self._next_id += 1
        comment = {
            "id": self._next_id,
            "body": body,
            "user": dict(user),
            "resolver": None,
            "pull_request_review_id": review_id,
            "path": path,
            "commit_id": HEAD,
            "original_commit_id": HEAD,
            "diff_hunk": hunk_around(self.diffs.get(index, ""), path, line),
            "position": line,
            "original_position": 0,
            "html_url": f"https://gitea.example/{self.repository}/pulls/{index}#issuecomment-{self._next_id}",
        }
        self.comments.append(comment)
        return comment

    def _pending(self, index: int) -> dict[str, Any]:
        """The token user's current pending review (``GetCurrentReview``), created when absent."""
        for r in self.reviews:
            if r["state"] == "PENDING" and r["user"]["id"] == self.user["id"] and r["index"] == index:
                return r
        self._next_id += 1
        review = {
            "id": self._next_id,
            "user": dict(self.user),
            "state": "PENDING",
            "body": "",
            "commit_id": "",
            "stale": False,
            "official": False,
            "dismissed": False,
            "comments_count": 0,
            "index": index,  # the fake's bookkeeping: the pull request it belongs to
        }
        self.reviews.append(review)
        return review

    def _page(self, items: list[dict[str, Any]], request: httpx.Request) -> httpx.Response:
        page = max(1, int(request.url.params.get("page") or 1))
        limit = min(50, max(1, int(request.url.params.get("limit") or self.page_size)))
        shown = [
            {k: v for k, v in i.items() if k != "index"} for i in items[(page - 1) * limit : page * limit]
        ]
        return httpx.Response(200, json=shown, headers={"X-Total-Count": str(len(items))})

    def _visible_reviews(self, index: int) -> list[dict[str, Any]]:
        me = self.user["id"]
        return [
            r
            for r in self.reviews
            if r["index"] == index and (r["state"] != "PENDING" or r["user"]["id"] == me)
        ]

    def _create_review(self, index: int, request: httpx.Request) -> httpx.Response:
        if self.fail_reviews:
            return httpx.Response(self.fail_reviews.pop(0), json={"message": "try later"})
        body = json.loads(request.content)
        comments = body.get("comments") or []
        event = body.get("event")
        if event == "COMMENT" and not str(body.get("body") or "").strip() and not comments:
            return httpx.Response(422, json={"message": "review event COMMENT requires a body or a comment"})
        pending = self._pending(index)
        for c in comments:
            line = c.get("new_position") or -int(c.get("old_position") or 0)
            self._comment(pending["id"], c["path"], line, c["body"], self.user, index)
        if self.fail_submit:
            return httpx.Response(self.fail_submit.pop(0), json={"message": "SubmitReview failed"})
        pending.update(
            state=event if event in ("COMMENT", "APPROVED", "REQUEST_CHANGES") else "PENDING",
            body=body.get("body") or "",
            commit_id=body.get("commit_id") or HEAD,
            comments_count=sum(1 for c in self.comments if c["pull_request_review_id"] == pending["id"]),
        )
        return httpx.Response(200, json={k: v for k, v in pending.items() if k != "index"})

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"token {self.token}":
            return httpx.Response(401, json={"message": "token is required", "url": "/api/swagger"})
        path = unquote(request.url.raw_path.decode().split("?", 1)[0])
        if not path.startswith("/api/v1/"):
            return httpx.Response(404, json=_NOT_FOUND)
        path, method = path[len("/api/v1") :], request.method
        if path == "/user" and method == "GET":
            return httpx.Response(200, json=self.user)
        prefix = f"/repos/{self.repository}/"
        if not path.startswith(prefix):
            return httpx.Response(404, json=_NOT_FOUND)
        rest = path[len(prefix) :]
        if (found := re.fullmatch(r"pulls/(\d+)\.diff", rest)) and method == "GET":
            diff = self.diffs.get(int(found.group(1)))
            return (
                httpx.Response(200, text=diff) if diff is not None else httpx.Response(404, json=_NOT_FOUND)
            )
        if (found := re.fullmatch(r"pulls/(\d+)", rest)) and method == "GET":
            index = int(found.group(1))
            if index not in self.diffs or index not in self.heads:
                return httpx.Response(404, json=_NOT_FOUND)
            return httpx.Response(
                200, json={"number": index, "state": "open", "head": {"sha": self.heads[index]}}
            )
        if rest.startswith("raw/") and method == "GET":
            name = rest[len("raw/") :]
            if request.url.params.get("ref") != self.files_ref or name not in self.files:
                return httpx.Response(404, json=_NOT_FOUND)
            return httpx.Response(200, text=self.files[name])
        if (found := re.fullmatch(r"pulls/(\d+)/reviews", rest)) and (
            index := int(found.group(1))
        ) in self.diffs:
            if method == "GET":
                return self._page(self._visible_reviews(index), request)
            if method == "POST":
                return self._create_review(index, request)
        if found := re.fullmatch(r"pulls/(\d+)/reviews/(\d+)(/comments)?", rest):
            review = next(
                (r for r in self._visible_reviews(int(found.group(1))) if r["id"] == int(found.group(2))),
                None,
            )
            if review is None:
                return httpx.Response(404, json=_NOT_FOUND)
            if method == "GET" and found.group(3):
                return httpx.Response(
                    200, json=[c for c in self.comments if c["pull_request_review_id"] == review["id"]]
                )
            if method == "DELETE" and not found.group(3):
                if review["user"]["id"] != self.user["id"]:
                    return httpx.Response(403, json={"message": "Forbidden"})
                self.reviews.remove(review)
                self.comments = [c for c in self.comments if c["pull_request_review_id"] != review["id"]]
                return httpx.Response(204)
        if (found := re.fullmatch(r"issues/(\d+)/comments", rest)) and int(found.group(1)) in self.diffs:
            if method == "GET":
                return httpx.Response(
                    200, json=self.issue_comments, headers={"X-Total-Count": str(len(self.issue_comments))}
                )
            if method == "POST":
                return httpx.Response(201, json=self.say(json.loads(request.content)["body"], self.user))
        if (found := re.fullmatch(r"issues/comments/(\d+)/reactions", rest)) and method == "GET":
            cid = int(found.group(1))
            if not any(c["id"] == cid for c in self.comments + self.issue_comments):
                return httpx.Response(404, json=_NOT_FOUND)
            return httpx.Response(200, json=self.reactions.get(cid, []))
        if (found := re.fullmatch(r"issues/comments/(\d+)", rest)) and method == "PATCH":
            comment = next((c for c in self.issue_comments if c["id"] == int(found.group(1))), None)
            if comment is None:
                return httpx.Response(404, json=_NOT_FOUND)
            if comment["user"]["id"] != self.user["id"]:
                return httpx.Response(403, json={"message": "Forbidden"})
            comment["body"] = json.loads(request.content)["body"]
            return httpx.Response(200, json=comment)
        if (found := re.fullmatch(r"statuses/([0-9a-f]{40}|[0-9a-f]{64})", rest)) and method == "POST":
            body = json.loads(request.content)
            if body.get("state") not in ("pending", "success", "error", "failure", "warning"):
                return httpx.Response(422, json={"message": f"invalid state {body.get('state')!r}"})
            self._next_id += 1
            status = {
                "id": self._next_id,
                "status": body["state"],  # Gitea answers the state as "status"
                "context": body.get("context", ""),
                "description": body.get("description", ""),
                "target_url": body.get("target_url", ""),
                "sha": found.group(1),
                "creator": dict(self.user),
            }
            self.statuses.append(status)
            return httpx.Response(201, json=status)
        return httpx.Response(404, json=_NOT_FOUND)
