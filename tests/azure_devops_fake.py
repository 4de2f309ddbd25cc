"""A fake Azure DevOps Services REST API (7.1) at the HTTP level, for the client, the job and the
served journey: stateful (commits, iterations, threads, statuses), recording every request.

Written from the public REST reference (learn.microsoft.com/rest/api/azure/devops/git): the
organization root ``/{organization}``; a personal access token as basic authentication with an
empty user name (anything else: 401 with an empty body, as Azure answers); ``api-version``
required on every call (Azure answers 400 without it); listings as ``{"count", "value"}``;
iteration changes paged with ``$top``/``$skip`` and ``nextSkip``/``nextTop``; ``items`` answering
the raw bytes with ``Accept: application/octet-stream`` and 404 for a path not at that commit;
threads with ``comments``, ``status`` and ``threadContext`` (``rightFileStart``/``rightFileEnd``);
statuses with ``context.name``/``genre``. A thread on a file the pull request does not change,
or past the end of the new file, is refused with 400 and a message (the fake's stand-in for the
service's refusal of a thread context it cannot place).

Usable as an ``httpx.MockTransport`` (:meth:`FakeAzureDevOps.transport`) or served over loopback
HTTP by ``platform_fakes.ServedFake`` (its ``handle``).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

ORG = "fabrikam"
PROJECT = "Fabrikam"
REPO = "api"
REPO_ID = "3411ebc1-d5aa-464f-9615-0b527bc66719"
PROJECT_ID = "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c"
PAT = "azure-pat-for-tests"
ME = {
    "id": "d6245f20-2af8-44f4-9451-8107cb2767db",
    "displayName": "hunkwise",
    "uniqueName": "hunkwise@fabrikam",
}
AUTHOR = {"id": "54d125f7-69f7-4191-904f-c5b96b6261c8", "displayName": "Jamal Hartnett"}
BASE_SHA = "a" * 40
HEAD_SHA = "b" * 40


def files_from_diff(diff: str) -> tuple[dict[str, str], dict[str, str]]:
    """The files before and after a unified diff (``examples/sample.diff``), lines the diff does
    not show filled with placeholder lines, so a diff of the two gives the same new-file lines."""
    base: dict[str, list[str]] = {}
    head: dict[str, list[str]] = {}
    path, old_path = "", ""
    for line in diff.splitlines():
        if line.startswith("--- "):
            old_path = "" if line == "--- /dev/null" else line[6:]
        elif line.startswith("+++ "):
            path = line[6:]
            if old_path:
                base.setdefault(old_path, [])
            head.setdefault(path, [])
        elif m := re.match(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@", line):
            old_start, new_start = int(m.group(1)), int(m.group(2))
            while old_path and len(base[old_path]) < old_start - 1:
                base[old_path].append(f"# line {len(base[old_path]) + 1}")
            while len(head[path]) < new_start - 1:
                head[path].append(f"# line {len(head[path]) + 1}")
        elif line[:1] in (" ", "-", "+") and path:
            if line[:1] in (" ", "-") and old_path:
                base[old_path].append(line[1:])
            if line[:1] in (" ", "+"):
                head[path].append(line[1:])
    return {p: "\n".join(v) + "\n" for p, v in base.items()}, {
        p: "\n".join(v) + "\n" for p, v in head.items()
    }


def basic(token: str) -> str:
    return "Basic " + base64.b64encode(f":{token}".encode()).decode()


@dataclass
class FakeAzureDevOps:
    token: str = PAT
    commits: dict[str, dict[str, str | bytes]] = field(default_factory=dict)  # sha -> path -> content
    iterations: list[dict[str, Any]] = field(default_factory=list)
    threads: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    fail_posts: list[int] = field(default_factory=list)  # statuses for the next POST .../threads
    sign_in_page: bool = False  # answer every request with 203 and HTML (a revoked token)
    number: int = 7
    _next: int = 100
    _tracking: dict[str, int] = field(default_factory=dict)  # path -> changeTrackingId

    # -- set-up -----------------------------------------------------------------------------------
    @classmethod
    def with_diff(cls, diff: str, **kwargs: Any) -> FakeAzureDevOps:
        """A pull request whose first iteration (head :data:`HEAD_SHA`) is ``diff`` over :data:`BASE_SHA`."""
        base, head = files_from_diff(diff)
        fake = cls(**kwargs)
        fake.commits[BASE_SHA] = dict(base)
        fake.push(HEAD_SHA, dict(head))
        return fake

    def push(self, sha: str, files: dict[str, str | bytes]) -> None:
        """A new source commit: a new iteration of the pull request."""
        self.commits[sha] = files
        self.iterations.append(
            {
                "id": len(self.iterations) + 1,
                "sourceRefCommit": {"commitId": sha},
                "targetRefCommit": {"commitId": BASE_SHA},
                "commonRefCommit": {"commitId": BASE_SHA},
            }
        )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- what tests look at -----------------------------------------------------------------------
    def own_threads(self) -> list[dict[str, Any]]:
        return [t for t in self.threads if t["comments"][0]["author"]["id"] == ME["id"]]

    def inline_threads(self) -> list[dict[str, Any]]:
        return [t for t in self.own_threads() if t.get("threadContext")]

    def summary_threads(self) -> list[dict[str, Any]]:
        return [t for t in self.own_threads() if not t.get("threadContext")]

    def status_history(self) -> list[str]:
        return [s["state"] for s in self.statuses]

    def reply(self, thread_id: int, content: str, author: dict[str, Any] | None = None) -> None:
        thread = next(t for t in self.threads if t["id"] == thread_id)
        thread["comments"].append(self._comment(content, author or AUTHOR, parent=1))

    def set_thread_status(self, thread_id: int, status: str) -> None:
        next(t for t in self.threads if t["id"] == thread_id)["status"] = status

    def add_thread(self, content: str, author: dict[str, Any], context: dict[str, Any] | None = None) -> None:
        """A thread someone else wrote (e.g. a hand-typed hunkwise marker)."""
        self._next += 1
        thread: dict[str, Any] = {"id": self._next, "status": "active", "isDeleted": False}
        thread["comments"] = [self._comment(content, author)]
        if context:
            thread["threadContext"] = context
        self.threads.append(thread)

    # -- the API ------------------------------------------------------------------------------------
    def _comment(self, content: str, author: dict[str, Any], parent: int = 0) -> dict[str, Any]:
        self._next += 1
        return {
            "id": 1 if parent == 0 else self._next,
            "parentCommentId": parent,
            "author": dict(author),
            "content": content,
            "commentType": "text",
            "isDeleted": False,
        }

    def _changes(self, iteration: dict[str, Any]) -> list[dict[str, Any]]:
        base = self.commits[iteration["commonRefCommit"]["commitId"]]
        head = self.commits[iteration["sourceRefCommit"]["commitId"]]
        entries = []
        for path in sorted(set(base) | set(head)):
            if path in head and path not in base:
                kind = "add"
            elif path not in head:
                kind = "delete"
            elif base[path] != head[path]:
                kind = "edit"
            else:
                continue
            tracking = self._tracking.setdefault(path, len(self._tracking) + 1)  # stable across iterations
            entries.append(
                {
                    "changeTrackingId": tracking,
                    "changeId": tracking,
                    "item": {"path": "/" + path},
                    "changeType": kind,
                }
            )
        return entries

    def _refuse_thread(self, body: dict[str, Any]) -> str | None:
        """Why a thread cannot be placed: its iteration context names no iteration or another
        file's tracking id, its file is not changed, or its lines are past the end of the file."""
        context = body.get("threadContext")
        if not context:
            return None
        path = str(context.get("filePath", "")).lstrip("/")
        iteration = self.iterations[-1]
        if (pr_context := body.get("pullRequestThreadContext")) is not None:
            compared = pr_context.get("iterationContext", {})
            number = compared.get("secondComparingIteration")
            if not isinstance(number, int) or not 1 <= compared.get("firstComparingIteration", 0) <= number:
                return "The iteration context is not valid."
            if number > len(self.iterations):
                return f"Iteration {number} does not exist."
            iteration = self.iterations[number - 1]
            tracking = {
                e["item"]["path"].lstrip("/"): e["changeTrackingId"] for e in self._changes(iteration)
            }
            if tracking.get(path) != pr_context.get("changeTrackingId"):
                return "The change tracking id does not match the file."
        changed = {e["item"]["path"].lstrip("/") for e in self._changes(iteration)}
        if path not in changed:
            return f"The file path '/{path}' is not part of the pull request's changes."
        text = self.commits[iteration["sourceRefCommit"]["commitId"]].get(path, "")
        lines = len(text.splitlines()) if isinstance(text, str) else 0
        end = int(context.get("rightFileEnd", {}).get("line", 0))
        if not 1 <= int(context.get("rightFileStart", {}).get("line", 0)) <= end <= lines:
            return f"The thread context is outside the file '/{path}' ({lines} lines)."
        return None

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != basic(self.token):
            return httpx.Response(401, content=b"")
        if self.sign_in_page:
            return httpx.Response(203, content=b"<html>Sign in</html>", headers={"content-type": "text/html"})
        if not request.url.params.get("api-version"):
            return httpx.Response(400, json={"message": "VS800075: The project requires an api-version"})
        path = unquote(request.url.path)
        prefix = f"/{ORG}/"
        if not path.lower().startswith(prefix):
            return httpx.Response(404, json={"message": "organization not found"})
        rest = path[len(prefix) :]
        if rest == "_apis/connectionData" and request.method == "GET":
            return httpx.Response(200, json={"authenticatedUser": ME, "authorizedUser": ME})
        m = re.fullmatch(r"([^/]+)/_apis/git/repositories/([^/]+)(/.*)?", rest)
        if not m or m.group(1).lower() != PROJECT.lower():
            return httpx.Response(
                404, json={"message": f"TF200016: The following project does not exist: {rest}"}
            )
        if m.group(2).lower() not in (REPO, REPO_ID):
            return httpx.Response(404, json={"message": "TF401019: The Git repository does not exist"})
        return self._repository(request, m.group(3) or "")

    def _repository(self, request: httpx.Request, tail: str) -> httpx.Response:
        method, params = request.method, request.url.params
        if tail == "" and method == "GET":
            return httpx.Response(
                200, json={"id": REPO_ID, "name": REPO, "project": {"id": PROJECT_ID, "name": PROJECT}}
            )
        if tail == "/items" and method == "GET":
            files = self.commits.get(params.get("versionDescriptor.version", ""), {})
            content = files.get(params.get("path", "").lstrip("/"))
            if content is None:
                return httpx.Response(404, json={"message": "TF401174: The item could not be found"})
            return httpx.Response(200, content=content.encode() if isinstance(content, str) else content)
        m = re.fullmatch(r"/pullRequests/(\d+)(/.*)", tail, flags=re.IGNORECASE)
        if not m or int(m.group(1)) != self.number:
            return httpx.Response(404, json={"message": "TF401180: The requested pull request was not found"})
        sub = m.group(2)
        if sub == "/iterations" and method == "GET":
            return httpx.Response(200, json={"count": len(self.iterations), "value": self.iterations})
        if (it := re.fullmatch(r"/iterations/(\d+)/changes", sub)) and method == "GET":
            entries = self._changes(self.iterations[int(it.group(1)) - 1])
            top, skip = int(params.get("$top", 100)), int(params.get("$skip", 0))
            page = entries[skip : skip + top]
            more = skip + top < len(entries)
            return httpx.Response(
                200,
                json={
                    "changeEntries": page,
                    "nextSkip": skip + top if more else 0,
                    "nextTop": top if more else 0,
                },
            )
        if sub == "/threads" and method == "GET":
            return httpx.Response(200, json={"count": len(self.threads), "value": self.threads})
        if sub == "/threads" and method == "POST":
            if self.fail_posts:
                return httpx.Response(self.fail_posts.pop(0), json={"message": "failure for the test"})
            body = json.loads(request.content)
            if (refusal := self._refuse_thread(body)) is not None:
                return httpx.Response(
                    400, json={"message": refusal, "typeKey": "InvalidArgumentValueException"}
                )
            self._next += 1
            thread = {"id": self._next, "isDeleted": False, "status": body.get("status", "unknown")}
            thread["comments"] = [self._comment(c["content"], ME) for c in body.get("comments", [])[:1]]
            for key in ("threadContext", "pullRequestThreadContext"):
                if body.get(key):
                    thread[key] = body[key]
            self.threads.append(thread)
            return httpx.Response(200, json=thread)
        if (c := re.fullmatch(r"/threads/(\d+)/comments/(\d+)", sub)) and method == "PATCH":
            thread = next((t for t in self.threads if t["id"] == int(c.group(1))), None)
            comment = next(
                (x for x in (thread or {}).get("comments", []) if x["id"] == int(c.group(2))), None
            )
            if comment is None:
                return httpx.Response(404, json={"message": "TF401181: The comment could not be found"})
            if comment["author"]["id"] != ME["id"]:
                return httpx.Response(403, json={"message": "Only the author can edit a comment"})
            comment["content"] = json.loads(request.content)["content"]
            return httpx.Response(200, json=comment)
        if sub == "/statuses" and method == "POST":
            body = json.loads(request.content)
            if not body.get("context", {}).get("name"):
                return httpx.Response(400, json={"message": "Context.Name is required"})
            self.statuses.append(body | {"id": len(self.statuses) + 1})
            return httpx.Response(200, json=self.statuses[-1])
        return httpx.Response(404, json={"message": f"no route {method} {sub}"})
