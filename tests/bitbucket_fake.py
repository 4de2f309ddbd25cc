"""A fake Bitbucket Cloud REST API (2.0) at the HTTP level: an ``httpx.MockTransport`` handler,
or served over loopback HTTP by :class:`platform_fakes.ServedFake`. Stateful (comments, build
statuses) and recording every request, written from Atlassian's REST API reference
(developer.atlassian.com/cloud/bitbucket/rest: pullrequests diff/commits/comments, commit
statuses, users, source) and what integrations report of the live API:

- auth: ``Authorization: Bearer <access token>``, or ``Basic`` with the account's e-mail and an
  API token; anything else is 401 in Bitbucket's error shape
  (``{"type": "error", "error": {"message": ...}}``);
- ``GET /user`` answers an account only (basic auth); an access token is not one and is refused
  ("Token is invalid, expired, or not supported for this endpoint");
- ``GET .../pullrequests/{id}/diff`` redirects (302) to the repository's ``diff/{spec}`` resource,
  which answers the text; ``redirect_to`` points that redirect elsewhere;
- pull request objects abbreviate commits to 12 digits; ``.../commits`` lists full ids;
- pages are ``{"values", "pagelen", "page", "next"}`` with ``pagelen`` honoured;
- an inline comment must name a new-file line of the diff (``to``), and ``start_to`` must not be
  after ``to``; otherwise 400, as Bitbucket refuses a position it cannot place;
- ``POST .../commit/{sha}/statuses/build`` keeps one status per key and commit (a later POST
  replaces it); ``key``, ``state`` and ``url`` are required.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from hunkwise.review.diff import parse_diff
from platform_fakes import SAMPLE

TOKEN = "bb_access_token_for_tests"
EMAIL = "reviewer@example.com"
# Who comments are by: the access token's bot user, the API token's account, a human.
TOKEN_USER = {
    "type": "user",
    "display_name": "hunkwise",
    "uuid": "{5f0c9d3e-1b2a-4c5d-8e7f-0a1b2c3d4e5f}",
    "account_id": "712020:token-hunkwise",
    "nickname": "hunkwise",
}
ACCOUNT_USER = {
    "type": "user",
    "display_name": "Review Bot",
    "uuid": "{0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0}",
    "account_id": "557058:review-bot",
    "nickname": "review-bot",
}
HUMAN = {
    "type": "user",
    "display_name": "PR Author",
    "uuid": "{9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d}",
    "account_id": "557058:pr-author",
    "nickname": "pr-author",
}
HEAD = "c0ffee" + "1" * 34  # the pull request's source commit (full)
BASE = "ba5e" + "2" * 36
_ERRORS = {
    401: "Token is invalid, expired, or not supported for this endpoint.",
    404: "Resource not found",
}


def error(status: int, message: str | None = None, **extra: Any) -> httpx.Response:
    return httpx.Response(
        status, json={"type": "error", "error": {"message": message or _ERRORS.get(status, "error"), **extra}}
    )


def new_lines(diff: str) -> dict[str, set[int]]:
    """The new-file lines each path of ``diff`` shows (added and context lines)."""
    return {
        f.path: {ln.new_no for h in f.hunks for ln in h.lines if ln.new_no is not None}
        for f in parse_diff(diff)
    }


@dataclass
class FakeBitbucket:
    diff: str = SAMPLE
    token: str = TOKEN
    username: str | None = None  # set: the token is an API token, sent as basic auth with this e-mail
    repositories: set[str] = field(default_factory=lambda: {"acme/api"})
    number: int = 7
    commits: list[str] = field(default_factory=lambda: [HEAD])  # the pull request's, newest first
    comments: list[dict[str, Any]] = field(default_factory=list)
    statuses: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (sha, key) -> status
    status_log: list[dict[str, Any]] = field(default_factory=list)  # every status POST, in order
    requests: list[httpx.Request] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # path -> text at the head commit
    fail_posts: list[int] = field(default_factory=list)  # statuses to answer the next comment POSTs with
    fail_top_posts: list[int] = field(default_factory=list)  # ... the next top-level (summary) POSTs
    redirect_to: str | None = None  # where the diff redirects (None: the repository's diff resource)
    edits: list[dict[str, Any]] = field(default_factory=list)  # PUT comment bodies
    _next_id: int = 100

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- what tests read ---------------------------------------------------------------------------
    @property
    def me(self) -> dict[str, Any]:
        return ACCOUNT_USER if self.username else TOKEN_USER

    def inline_comments(self) -> list[dict[str, Any]]:
        return [c for c in self.comments if c.get("inline") and not c.get("parent")]

    def top_comments(self) -> list[dict[str, Any]]:
        return [c for c in self.comments if not c.get("inline") and not c.get("parent")]

    def comment_posts(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST" and r.url.path.endswith("/comments")]

    def status_history(self) -> list[tuple[str, str]]:
        return [(s["state"], s["description"]) for s in self.status_log]

    # -- what people do on the pull request ---------------------------------------------------------
    def add_comment(
        self,
        raw: str,
        user: dict[str, Any] | None = None,
        inline: dict[str, Any] | None = None,
        parent: int | None = None,
    ) -> dict[str, Any]:
        self._next_id += 1
        comment: dict[str, Any] = {
            "id": self._next_id,
            "type": "pullrequest_comment",
            "content": {"type": "rendered", "raw": raw, "markup": "markdown", "html": f"<p>{raw}</p>"},
            "user": dict(user or HUMAN),
            "deleted": False,
            "pending": False,
            "resolution": None,
            "created_on": "2026-12-05T09:00:00+00:00",
            "updated_on": "2026-12-05T09:00:00+00:00",
            "pullrequest": {"type": "pullrequest", "id": self.number},
        }
        if inline is not None:
            comment["inline"] = inline
        if parent is not None:
            comment["parent"] = {"id": parent}
        self.comments.append(comment)
        return comment

    def resolve(self, comment_id: int) -> None:
        comment = next(c for c in self.comments if c["id"] == comment_id)
        comment["resolution"] = {
            "type": "comment_resolution",
            "user": HUMAN,
            "created_on": "2026-12-05T10:00:00",
        }

    # -- the API ----------------------------------------------------------------------------------
    def _authorized(self, request: httpx.Request) -> bool:
        header = request.headers.get("authorization", "")
        if self.username:
            import base64

            want = base64.b64encode(f"{self.username}:{self.token}".encode()).decode()
            return header == f"Basic {want}"
        return header == f"Bearer {self.token}"

    def _page(self, request: httpx.Request, items: list[dict[str, Any]]) -> httpx.Response:
        size = min(int(request.url.params.get("pagelen", 10)), 100)
        page = int(request.url.params.get("page", 1))
        values = items[(page - 1) * size : page * size]
        body: dict[str, Any] = {"pagelen": size, "page": page, "size": len(items), "values": values}
        if page * size < len(items):
            body["next"] = str(request.url.copy_merge_params({"page": str(page + 1), "pagelen": str(size)}))
        return httpx.Response(200, json=body)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self._authorized(request):
            return error(401)
        raw = request.url.raw_path.decode().split("?")[0]
        path = unquote(raw)
        method = request.method
        if path.endswith("/2.0/user") and method == "GET":
            return httpx.Response(200, json=self.me) if self.username else error(401)
        found = re.search(r"/2\.0/repositories/([^/]+)/([^/]+)(/.*)?$", path)
        if found is None or f"{found.group(1)}/{found.group(2)}" not in self.repositories:
            return error(404)
        repo, rest = f"{found.group(1)}/{found.group(2)}", found.group(3) or ""
        if (m := re.fullmatch(r"/pullrequests/(\d+)(/.*)?", rest)) is not None:
            if int(m.group(1)) != self.number:
                return error(404, "Pull request not found")
            return self._pull_request(request, repo, m.group(2) or "")
        if rest.startswith("/diff/") and method == "GET":
            return httpx.Response(200, text=self.diff, headers={"content-type": "text/plain"})
        if (m := re.fullmatch(r"/commit/([0-9a-f]+)/statuses/build", rest)) and method == "POST":
            return self._status(request, m.group(1))
        if (m := re.fullmatch(r"/src/([0-9a-f]{40})/(.+)", rest)) and method == "GET":
            if m.group(1) != self.commits[0] or m.group(2) not in self.files:
                return error(404, "No such file")
            return httpx.Response(200, text=self.files[m.group(2)])
        return error(404)

    def _pull_request(self, request: httpx.Request, repo: str, rest: str) -> httpx.Response:
        method = request.method
        if rest == "" and method == "GET":  # the pull request object: its head, abbreviated as Bitbucket does
            source = {
                "branch": {"name": "feature"},
                "commit": {"type": "commit", "hash": self.commits[0][:12]},
            }
            return httpx.Response(200, json={"type": "pullrequest", "id": self.number, "source": source})
        if rest == "/diff" and method == "GET":
            spec = f"{repo}:{self.commits[0][:12]}%0D{BASE[:12]}"
            # Bitbucket answers with its own API host: the one the client asked for (behind
            # ServedFake, the Host header).
            host = request.headers.get("host") or request.url.netloc.decode()
            target = self.redirect_to or f"{request.url.scheme}://{host}/2.0/repositories/{repo}/diff/{spec}"
            return httpx.Response(
                302, headers={"location": f"{target}?from_pullrequest_id={self.number}&topic=true"}
            )
        if rest == "/commits" and method == "GET":
            items = [{"type": "commit", "hash": sha} for sha in self.commits]
            return self._page(request, items)
        if rest == "/comments" and method == "GET":
            return self._page(request, self.comments)
        if rest == "/comments" and method == "POST":
            if self.fail_posts:
                return error(self.fail_posts.pop(0), "Something went wrong")
            body = json.loads(request.content)
            if self.fail_top_posts and body.get("inline") is None:
                return error(self.fail_top_posts.pop(0), "Something went wrong")
            raw = (body.get("content") or {}).get("raw")
            if not isinstance(raw, str) or not raw:
                return error(400, "Bad request", fields={"content": ["This field is required."]})
            inline = body.get("inline")
            if inline is not None:
                refused = self._refuse_inline(inline)
                if refused is not None:
                    return refused
            parent = (body.get("parent") or {}).get("id")
            comment = self.add_comment(raw, self.me, inline, parent)
            return httpx.Response(201, json=comment)
        if (m := re.fullmatch(r"/comments/(\d+)", rest)) and method == "PUT":
            comment = next((c for c in self.comments if c["id"] == int(m.group(1))), None)
            if comment is None:
                return error(404, "Comment not found")
            if comment["user"]["uuid"] != self.me["uuid"]:
                return error(403, "You can only edit your own comments")
            comment["content"]["raw"] = json.loads(request.content)["content"]["raw"]
            self.edits.append({"id": comment["id"], "raw": comment["content"]["raw"]})
            return httpx.Response(200, json=comment)
        return error(404)

    def _refuse_inline(self, inline: dict[str, Any]) -> httpx.Response | None:
        lines = new_lines(self.diff).get(inline.get("path") or "")
        to, start = inline.get("to"), inline.get("start_to")
        if isinstance(start, int) and isinstance(to, int) and start > to:
            return error(
                400, "Bad request", fields={"inline": ['"start_to" must be less than or equal to "to"']}
            )
        if lines is None or to not in lines or (isinstance(start, int) and start not in lines):
            return error(400, "Bad request", fields={"inline": ["The line is not part of the diff."]})
        return None

    def _status(self, request: httpx.Request, sha: str) -> httpx.Response:
        body = json.loads(request.content)
        if sha not in self.commits:
            return error(404, f"Commit not found: {sha}")
        missing = [k for k in ("key", "state", "url") if not body.get(k)]
        if missing or body["state"] not in ("INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED"):
            return error(
                400, "Bad request", fields={k: ["This field is required."] for k in missing or ["state"]}
            )
        status = {"type": "build", "commit": {"hash": sha}, **body}
        self.statuses[(sha, body["key"])] = status
        self.status_log.append(status)
        return httpx.Response(201, json=status)
