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

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def posts(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.method == "POST"]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        accept = request.headers.get("accept", "")
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

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def merge_request_reads(self, project: int | str) -> list[httpx.Request]:
        """The requests about a merge request of ``project`` (its id or its encoded path)."""
        marker = f"/projects/{project}/merge_requests/"
        return [r for r in self.requests if marker in r.url.raw_path.decode()]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
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
            refs = {"base_sha": "b" * 40, "start_sha": "s" * 40, "head_sha": "h" * 40}
            return httpx.Response(200, json={"changes": gitlab_changes(self.diff), "diff_refs": refs})
        if path.endswith("/notes") and request.method == "GET":
            return httpx.Response(200, json=self.notes, headers={"x-next-page": ""})
        if path.endswith("/discussions") and request.method == "GET":
            return httpx.Response(200, json=self.discussions, headers={"x-next-page": ""})
        if path.endswith("/notes"):
            note = {
                "id": len(self.notes) + 1,
                "body": json.loads(request.content)["body"],
                "author": self.user,
            }
            self.notes.append(note)
            return httpx.Response(201, json=note)
        if path.endswith("/discussions"):
            body = json.loads(request.content)
            if body["position"]["new_line"] in self.refuse_lines:
                return httpx.Response(
                    400, json={"message": '400 Bad request - Note {:line_code=>["can\'t be blank"]}'}
                )
            self.discussions.append(
                {"id": str(len(self.discussions)), "notes": [{"body": body["body"], "author": self.user}]}
            )
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

            do_GET = do_POST = _serve

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
