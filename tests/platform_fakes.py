"""Fake GitHub and GitLab REST APIs at the HTTP level (httpx.MockTransport): they keep state
(reviews, notes, discussions) and record every request, so tests assert the exact requests sent."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

SAMPLE = (Path(__file__).parents[1] / "examples" / "sample.diff").read_text()
# Who the fakes' tokens are, and a pull request author who types a hunkwise marker by hand.
HUNKWISE_USER = {"id": 4242, "login": "hunkwise-reviewer", "type": "User"}
APP_BOT = {"id": 4343, "login": "hunkwise-acme[bot]", "type": "Bot"}
AUTHOR = {"id": 17, "login": "pr-author", "type": "User"}
GITLAB_USER = {"id": 77, "username": "project_42_bot"}
GITLAB_AUTHOR = {"id": 18, "username": "mr-author"}


def is_status(request: httpx.Request) -> bool:
    """A merge status request (check runs, commit statuses), which most assertions set aside."""
    return "/check-runs" in request.url.path or "/statuses/" in request.url.path


@dataclass
class FakeGitHub:
    diff: str = SAMPLE
    compare_diff: str | None = None  # None: compare reports "diverged"
    reviews: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    fail_posts: list[int] = field(default_factory=list)  # statuses to answer the next POSTs with
    diff_status: int = 200
    # the token's user (GET /user), the author of what it posts; None: an installation token
    # (GET /user answers 403) posting as ``app_bot``
    user: dict[str, Any] | None = field(default_factory=lambda: dict(HUNKWISE_USER))
    app_bot: dict[str, Any] = field(default_factory=lambda: dict(APP_BOT))
    # the repository's files at ``files_ref`` (GET .../contents/{path}?ref=, raw media type)
    files: dict[str, str] = field(default_factory=dict)
    files_ref: str = "c" * 40
    files_status: int = 200
    # -- the conversation (docs.github.com/rest: checks/runs, commits/statuses, collaborators,
    # pulls/comments, issues/comments, reactions rollup on comments)
    checks_allowed: bool = True  # False: a user token (POST /check-runs answers 403)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)  # POST /statuses/{sha}, in order
    permissions: dict[str, str] = field(default_factory=dict)  # login -> admin|write|read (else 404)
    review_comments: list[dict[str, Any]] = field(default_factory=list)  # inline comments + replies
    issue_comments: list[dict[str, Any]] = field(default_factory=list)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)  # GET /pulls/N as JSON

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def posts(self) -> list[dict[str, Any]]:
        """The reviews posted (each POST .../reviews body)."""
        return [
            json.loads(r.content)
            for r in self.requests
            if r.method == "POST" and r.url.path.endswith("/reviews")
        ]

    def status_history(self) -> list[tuple[str, str]]:
        """Every merge status shown, in order: ``(state, description)``; a check run's state is
        its conclusion once completed, ``pending`` before."""
        out = []
        for r in self.requests:
            if r.method not in ("POST", "PATCH"):
                continue
            if "/check-runs" in r.url.path:
                body = json.loads(r.content)
                state = body.get("conclusion") or "pending"
                out.append((state, body["output"]["title"]))
            elif "/statuses/" in r.url.path:
                body = json.loads(r.content)
                out.append((body["state"], body["description"]))
        return out

    def react(self, comment_id: int, content: str) -> None:
        """Someone reacts to a review comment (GitHub sends no webhook for this)."""
        for c in self.review_comments:
            if c["id"] == comment_id:
                c["reactions"][content] = c["reactions"].get(content, 0) + 1
                c["reactions"]["total_count"] += 1

    def _user(self) -> dict[str, Any]:
        return self.user if self.user is not None else self.app_bot

    def _comment(self, body: str, path: str, line: int, reply_to: int | None) -> dict[str, Any]:
        comment = {
            "id": 5000 + len(self.review_comments),
            "body": body,
            "path": path,
            "line": line,
            "user": self._user(),
            "reactions": {"total_count": 0, "+1": 0, "-1": 0},
        }
        if reply_to is not None:
            comment["in_reply_to_id"] = reply_to
        self.review_comments.append(comment)
        return comment

    def _conversation(self, request: httpx.Request) -> httpx.Response | None:
        path, method = request.url.path, request.method
        if method == "GET" and (found := re.search(r"/commits/([0-9a-f]+)/check-runs$", path)):
            runs = [r for r in self.check_runs if r["head_sha"] == found.group(1)]
            name = request.url.params.get("check_name")
            runs = [r for r in runs if name is None or r["name"] == name]
            return httpx.Response(200, json={"total_count": len(runs), "check_runs": runs[::-1]})
        if path.endswith("/check-runs") and method == "POST":
            if not self.checks_allowed:
                return httpx.Response(403, json={"message": "You must authenticate via a GitHub App."})
            body = json.loads(request.content)
            run = {"id": 9000 + len(self.check_runs), **body}
            self.check_runs.append(run)
            return httpx.Response(201, json=run)
        if (found := re.search(r"/check-runs/([0-9]+)$", path)) and method == "PATCH":
            for run in self.check_runs:
                if run["id"] == int(found.group(1)):
                    run.update(json.loads(request.content))
                    return httpx.Response(200, json=run)
            return httpx.Response(404, json={"message": "Not Found"})
        if (found := re.search(r"/statuses/([0-9a-f]+)$", path)) and method == "POST":
            status = {"sha": found.group(1), **json.loads(request.content)}
            self.statuses.append(status)
            return httpx.Response(201, json=status)
        if (found := re.search(r"/collaborators/([^/]+)/permission$", path)) and method == "GET":
            login = found.group(1)
            if login not in self.permissions:
                return httpx.Response(404, json={"message": "Not Found"})
            level = self.permissions[login]
            return httpx.Response(
                200, json={"permission": level, "role_name": level, "user": {"login": login}}
            )
        if (found := re.search(r"/pulls/comments/([0-9]+)$", path)) and method == "GET":
            for c in self.review_comments:
                if c["id"] == int(found.group(1)):
                    return httpx.Response(200, json=c)
            return httpx.Response(404, json={"message": "Not Found"})
        if (found := re.search(r"/pulls/[0-9]+/comments/([0-9]+)/replies$", path)) and method == "POST":
            parent = next((c for c in self.review_comments if c["id"] == int(found.group(1))), None)
            if parent is None or "in_reply_to_id" in parent:
                return httpx.Response(404, json={"message": "Not Found"})
            body = json.loads(request.content)["body"]
            reply = self._comment(body, parent["path"], parent["line"], parent["id"])
            reply["commit_id"] = parent.get("commit_id")
            return httpx.Response(201, json=reply)
        found = re.search(r"/pulls/([0-9]+)$", path)
        if found and method == "GET" and not request.headers.get("accept", "").endswith(".diff"):
            pull = self.pulls.get(int(found.group(1)))
            if pull is not None:
                return httpx.Response(200, json=pull)
        if re.search(r"/pulls/[0-9]+/comments$", path) and method == "GET":
            return httpx.Response(200, json=self.review_comments)
        if re.search(r"/issues/[0-9]+/comments$", path) and method == "POST":
            comment = {
                "id": 7000 + len(self.issue_comments),
                "body": json.loads(request.content)["body"],
                "user": self._user(),
            }
            self.issue_comments.append(comment)
            return httpx.Response(201, json=comment)
        return None

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        accept = request.headers.get("accept", "")
        if (answered := self._conversation(request)) is not None:
            return answered
        if path.endswith("/user") and request.method == "GET":
            if self.user is None:
                return httpx.Response(403, json={"message": "Resource not accessible by integration"})
            return httpx.Response(200, json=self.user)
        if path.endswith("/reviews") and request.method == "GET":
            return httpx.Response(200, json=self.reviews)
        if path.endswith("/reviews") and request.method == "POST":
            if self.fail_posts:
                return httpx.Response(self.fail_posts.pop(0), json={"message": "try later"})
            body = json.loads(request.content)
            review = {
                "id": 1000 + len(self.reviews),
                "body": body["body"],
                "commit_id": body["commit_id"],
                "html_url": f"https://github.com/x/pull/1#review-{len(self.reviews)}",
                "user": self.user if self.user is not None else self.app_bot,
            }
            self.reviews.append(review)
            for c in body.get("comments") or []:  # each inline comment becomes a review comment
                self._comment(c["body"], c["path"], c["line"], None)["commit_id"] = body["commit_id"]
            return httpx.Response(200, json=review)
        if "/contents/" in path and request.method == "GET":
            if self.files_status != 200:
                return httpx.Response(self.files_status, json={"message": "try later"})
            name = path.split("/contents/", 1)[1]
            if (
                "raw" not in accept
                or request.url.params.get("ref") != self.files_ref
                or name not in self.files
            ):
                return httpx.Response(404, json={"message": "Not Found"})
            return httpx.Response(200, text=self.files[name])
        if "/compare/" in path:
            if self.compare_diff is None:
                return httpx.Response(200, json={"status": "diverged"})
            if accept.endswith(".diff"):
                return httpx.Response(200, text=self.compare_diff)
            return httpx.Response(200, json={"status": "ahead"})
        if "/pulls/" in path and accept.endswith(".diff"):
            if self.diff_status != 200:
                return httpx.Response(self.diff_status, json={"message": "Not Found"})
            return httpx.Response(200, text=self.diff)
        return httpx.Response(404, json={"message": f"fake GitHub has no {request.method} {path}"})


def gitlab_changes(diff: str) -> list[dict[str, Any]]:
    """Split a git diff into the changes API's per-file entries."""
    out: list[dict[str, Any]] = []
    for block in diff.split("diff --git ")[1:]:
        header, _, rest = block.partition("\n@@")
        paths = header.splitlines()[0].split(" ")
        old, new = paths[0][2:], paths[1][2:]
        out.append(
            {
                "old_path": old,
                "new_path": new,
                "diff": "@@" + rest,
                "new_file": "new file mode" in header,
                "deleted_file": False,
                "renamed_file": old != new,
            }
        )
    return out


@dataclass
class FakeGitLab:
    diff: str = SAMPLE
    notes: list[dict[str, Any]] = field(default_factory=list)
    discussions: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    refuse_lines: set[int] = field(default_factory=set)
    user: dict[str, Any] = field(default_factory=lambda: dict(GITLAB_USER))  # the token's user
    # the projects the token can see: id -> path_with_namespace (GET /projects/:id)
    projects: dict[int, str] = field(default_factory=lambda: {42: "acme/api"})
    fail_projects: list[int] = field(default_factory=list)  # statuses for the next GET /projects/:id
    # the repository's files at ``files_ref`` (GET /projects/:id/repository/files/:path/raw?ref=)
    files: dict[str, str] = field(default_factory=dict)
    files_ref: str = "c" * 40
    # -- the conversation (docs.gitlab.com/api: commits#set-the-pipeline-status-of-a-commit,
    # members#get-a-member-of-a-group-or-project-including-inherited-and-invited-members,
    # discussions, emoji_reactions)
    diff_refs: dict[str, str] = field(
        default_factory=lambda: {"base_sha": "b" * 40, "start_sha": "s" * 40, "head_sha": "h" * 40}
    )
    statuses: list[dict[str, Any]] = field(default_factory=list)
    members: dict[int, int] = field(default_factory=dict)  # user id -> access level (else 404)
    awards: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # note id -> award emoji

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def status_history(self) -> list[tuple[str, str]]:
        return [(s["state"], s["description"]) for s in self.statuses]

    def award(self, note_id: int, name: str) -> None:
        self.awards.setdefault(note_id, []).append(
            {"id": len(self.awards) + 1, "name": name, "user": GITLAB_AUTHOR}
        )

    def _note(self, body: str, author: dict[str, Any] | None = None) -> dict[str, Any]:
        count = len(self.notes) + sum(len(d["notes"]) for d in self.discussions)
        return {
            "id": 300 + count,
            "body": body,
            "author": author or self.user,
            "resolvable": True,
            "resolved": False,
        }

    def _conversation(self, request: httpx.Request) -> httpx.Response | None:
        path, method = request.url.path, request.method
        if (found := re.search(r"/statuses/([0-9a-f]+)$", path)) and method == "POST":
            body = json.loads(request.content)
            last = next((s for s in reversed(self.statuses) if s["sha"] == found.group(1)), None)
            if last is not None and last["state"] == body["state"]:
                return httpx.Response(
                    400, json={"message": f"Cannot transition status via :run from :{body['state']}"}
                )
            status = {"sha": found.group(1), **body}
            self.statuses.append(status)
            return httpx.Response(201, json=status)
        if (found := re.search(r"/members/all/([0-9]+)$", path)) and method == "GET":
            uid = int(found.group(1))
            if uid not in self.members:
                return httpx.Response(404, json={"message": "404 Not found"})
            return httpx.Response(200, json={"id": uid, "access_level": self.members[uid]})
        if (found := re.search(r"/discussions/([0-9A-Za-z]+)/notes$", path)) and method == "POST":
            for d in self.discussions:
                if d["id"] == found.group(1):
                    note = self._note(json.loads(request.content)["body"])
                    d["notes"].append(note)
                    return httpx.Response(201, json=note)
            return httpx.Response(404, json={"message": "404 Not found"})
        if (found := re.search(r"/discussions/([0-9A-Za-z]+)$", path)) and method == "GET":
            for d in self.discussions:
                if d["id"] == found.group(1):
                    return httpx.Response(200, json=d)
            return httpx.Response(404, json={"message": "404 Not found"})
        if (found := re.search(r"/notes/([0-9]+)/award_emoji$", path)) and method == "GET":
            return httpx.Response(
                200, json=self.awards.get(int(found.group(1)), []), headers={"x-next-page": ""}
            )
        return None

    def merge_request_reads(self, project: int | str) -> list[httpx.Request]:
        """The requests about a merge request of ``project`` (its id or its encoded path)."""
        marker = f"/projects/{project}/merge_requests/"
        return [r for r in self.requests if marker in r.url.raw_path.decode()]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if (answered := self._conversation(request)) is not None:
            return answered
        if path.endswith("/user") and request.method == "GET":
            return httpx.Response(200, json=self.user)
        if (found := re.search(r"/projects/([0-9]+)$", path)) and request.method == "GET":
            project_id = int(found.group(1))
            if self.fail_projects:
                return httpx.Response(self.fail_projects.pop(0), json={"message": "try later"})
            if project_id not in self.projects:
                return httpx.Response(404, json={"message": "404 Project Not Found"})
            full_path = self.projects[project_id]
            return httpx.Response(
                200,
                json={"id": project_id, "path_with_namespace": full_path, "path": full_path.split("/")[-1]},
            )
        raw = request.url.raw_path.decode().split("?")[0]
        if (found := re.search(r"/repository/files/([^/]+)/raw$", raw)) and request.method == "GET":
            name = unquote(found.group(1))
            if request.url.params.get("ref") != self.files_ref or name not in self.files:
                return httpx.Response(404, json={"message": "404 File Not Found"})
            return httpx.Response(200, text=self.files[name])
        if path.endswith("/changes"):
            refs = dict(self.diff_refs)
            return httpx.Response(200, json={"changes": gitlab_changes(self.diff), "diff_refs": refs})
        if path.endswith("/notes") and request.method == "GET":
            return httpx.Response(200, json=self.notes, headers={"x-next-page": ""})
        if path.endswith("/discussions") and request.method == "GET":
            return httpx.Response(200, json=self.discussions, headers={"x-next-page": ""})
        if path.endswith("/notes"):
            note = self._note(json.loads(request.content)["body"])
            self.notes.append(note)
            return httpx.Response(201, json=note)
        if path.endswith("/discussions"):
            body = json.loads(request.content)
            if body["position"]["new_line"] in self.refuse_lines:
                return httpx.Response(
                    400, json={"message": '400 Bad request - Note {:line_code=>["can\'t be blank"]}'}
                )
            note = self._note(body["body"]) | {"position": body["position"]}
            self.discussions.append({"id": f"d{len(self.discussions)}", "notes": [note]})
            return httpx.Response(201, json=self.discussions[-1])
        return httpx.Response(404, json={"message": "404 Not Found"})


class ServedFake:
    """Serve a fake's ``handle(httpx.Request) -> httpx.Response`` over real loopback HTTP, for
    code that builds its own client from a URL (the server's embedded workers)."""

    def __init__(self, fake: FakeGitHub | FakeGitLab) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        outer = self
        self.fake = fake

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = httpx.Request(
                    self.command, f"{outer.url}{self.path}", headers=dict(self.headers.items()), content=body
                )
                response = outer.fake.handle(request)
                content = response.content
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PATCH = do_PUT = _serve

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # serve_forever's poll interval is how long shutdown() waits (0.5 s by default, paid by
        # every test that stops a fake; the loopback servers in other tests use 0.05 s too).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
