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


def rsa_key_pair(bits: int = 2048) -> tuple[str, str]:
    """A fresh RSA key pair as PEM text ``(private, public)``: a GitHub App's key, made in the test
    (no key file is committed)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@dataclass
class FakeGitHubApp:
    """GitHub's side of one GitHub App (docs.github.com: "Generating a JSON Web Token (JWT) for a
    GitHub App", "Create an installation access token for an app"): ``POST
    /app/installations/{id}/access_tokens`` verifies the JWT with the App's PUBLIC key (RS256,
    ``iss`` the App ID, ``exp`` not past and at most 10 minutes ahead, ``iat`` not in the future)
    and issues a token with an ``expires_at``; every other request must carry a token it issued
    that has not expired (else 401, as GitHub answers). Its clock is injectable, like the client's."""

    app_id: int
    public_key: str
    # installation id -> its account login; suspended installations answer 403, unknown ones 404
    installations: dict[int, str] = field(default_factory=dict)
    suspended: set[int] = field(default_factory=set)
    token_ttl_s: float = 3600.0
    clock: Any = None  # () -> epoch seconds; None: time.time
    issued: dict[str, tuple[int, float]] = field(default_factory=dict)  # token -> (installation, expires)
    refused: list[str] = field(default_factory=list)  # why each request was refused, in order
    minted: int = 0  # tokens issued so far (each one new, even after ``issued`` is cleared)
    slug: str = "hunkwise-acme"  # GET /app's slug: the App's bot is ``<slug>[bot]``
    # installation id -> its account's type (GET /app/installations/{id}); default "User"
    account_types: dict[int, str] = field(default_factory=dict)
    down: bool = False  # GET /app/installations/{id} answers 503 (GitHub unavailable)

    def now(self) -> float:
        import time

        return float(self.clock()) if self.clock is not None else time.time()

    def _refuse(self, status: int, message: str) -> httpx.Response:
        self.refused.append(message)
        return httpx.Response(status, json={"message": message})

    def app_info(self, request: httpx.Request) -> httpx.Response:
        """``GET /app`` as the App (its JWT): the App's id and slug."""
        refused = self._jwt_refused(request)
        if refused is not None:
            return refused
        return httpx.Response(200, json={"id": self.app_id, "slug": self.slug, "name": self.slug})

    def installation_info(self, request: httpx.Request, installation_id: int) -> httpx.Response:
        """``GET /app/installations/{id}`` as the App (its JWT; docs.github.com "Get an
        installation for the authenticated app"): the installation's account, ``suspended_at``
        (None unless suspended) and ``repository_selection``; 404 for one it does not have."""
        refused = self._jwt_refused(request)
        if refused is not None:
            return refused
        if self.down:
            return self._refuse(503, "Service Unavailable")
        if installation_id not in self.installations:
            return self._refuse(404, "Not Found")
        suspended = installation_id in self.suspended
        account = {
            "login": self.installations[installation_id],
            "type": self.account_types.get(installation_id, "User"),
        }
        return httpx.Response(
            200,
            json={
                "id": installation_id,
                "app_id": self.app_id,
                "account": account,
                "repository_selection": "selected",
                "suspended_at": "2026-01-01T00:00:00Z" if suspended else None,
                "suspended_by": {"login": account["login"]} if suspended else None,
            },
        )

    def exchange(self, request: httpx.Request, installation_id: int) -> httpx.Response:
        refused = self._jwt_refused(request)
        if refused is not None:
            return refused
        now = self.now()
        if installation_id not in self.installations:
            return self._refuse(404, "Not Found")
        if installation_id in self.suspended:
            return self._refuse(403, "This installation has been suspended")
        return self._mint(installation_id, now)

    def _jwt_refused(self, request: httpx.Request) -> httpx.Response | None:
        """GitHub's 401 for a request whose App JWT is not valid now, else None."""
        import jwt

        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return self._refuse(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                auth.removeprefix("Bearer "),
                self.public_key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "require": ["iat", "exp", "iss"]},
            )
        except jwt.PyJWTError as exc:
            return self._refuse(401, f"A JSON web token could not be decoded ({type(exc).__name__})")
        now = self.now()
        if str(claims["iss"]) != str(self.app_id):
            return self._refuse(401, "'Issuer' claim ('iss') must be an Integer")
        if claims["exp"] <= now:
            return self._refuse(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the future "
                "time at which the assertion expires",
            )
        if claims["exp"] > now + 600:
            return self._refuse(401, "'Expiration time' claim ('exp') is too far in the future")
        if claims["iat"] > now + 60:
            return self._refuse(
                401,
                "'Issued at' claim ('iat') must be an Integer representing the time that the "
                "assertion was issued",
            )
        return None

    def _mint(self, installation_id: int, now: float) -> httpx.Response:
        from datetime import UTC, datetime

        self.minted += 1
        token = f"ghs_fake{self.minted:04d}i{installation_id}"
        expires = now + self.token_ttl_s
        self.issued[token] = (installation_id, expires)
        stamp = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return httpx.Response(
            201,
            json={"token": token, "expires_at": stamp, "repository_selection": "selected", "permissions": {}},
        )

    def check(self, request: httpx.Request) -> httpx.Response | None:
        """None when the request carries a live installation token, else GitHub's 401."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ").removeprefix("token ")
        found = self.issued.get(token)
        if found is None:
            return self._refuse(401, "Bad credentials")
        if found[1] <= self.now():
            return self._refuse(401, "Bad credentials (the installation token has expired)")
        return None

    def tokens_used(self, requests: list[httpx.Request]) -> list[str]:
        """The tokens the requests (other than the token exchange) were sent with, in order."""
        return [
            r.headers.get("authorization", "").removeprefix("Bearer ")
            for r in requests
            if not r.url.path.startswith("/app/")
        ]


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
    # Review comments (GET /pulls/{n}/comments), as the REST API shows them: ``line`` /
    # ``start_line`` / ``side`` / ``start_side``, ``in_reply_to_id`` on replies.
    review_comments: list[dict[str, Any]] = field(default_factory=list)
    resolved: set[int] = field(default_factory=set)  # first comment ids of resolved threads
    refuse_lines: set[int] = field(default_factory=set)  # lines GitHub "cannot place" (422)
    edits: list[dict[str, Any]] = field(default_factory=list)  # PUT review / PATCH comment bodies
    graphql_status: int = 200  # e.g. 403: a token GraphQL refuses
    _next_id: int = 5000
    # -- merge status, commands, feedback (docs.github.com/rest: checks/runs, commits/statuses,
    # collaborators, pulls/comments replies, issues/comments, the reactions rollup on comments)
    checks_allowed: bool = True  # False: a user token (POST /check-runs answers 403)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)  # POST /statuses/{sha}, in order
    permissions: dict[str, str] = field(default_factory=dict)  # login -> admin|write|read (else 404)
    issue_comments: list[dict[str, Any]] = field(default_factory=list)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)  # GET /pulls/N as JSON
    # A GitHub App: every request needs one of its installation tokens (None: any token passes)
    app: FakeGitHubApp | None = None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def posts(self) -> list[dict[str, Any]]:
        """The bodies of the REST POSTs (the GraphQL queries are reads; merge statuses are
        apart: :meth:`status_history`; an App's token exchanges are not posts)."""
        return [
            json.loads(r.content)
            for r in self.requests
            if r.method == "POST"
            and not r.url.path.endswith("/graphql")
            and not is_status(r)
            and not r.url.path.startswith("/app/")  # a GitHub App's token exchange
        ]

    def status_history(self) -> list[tuple[str, str]]:
        """Every merge status shown, in order: ``(state, description)``; a check run's state is
        its conclusion once completed, ``pending`` before."""
        out = []
        for r in self.requests:
            if r.method not in ("POST", "PATCH") or not is_status(r):
                continue
            body = json.loads(r.content)
            if "/check-runs" in r.url.path:
                out.append((body.get("conclusion") or "pending", body["output"]["title"]))
            else:
                out.append((body["state"], body["description"]))
        return out

    def react(self, comment_id: int, content: str) -> None:
        """Someone reacts to a review comment (GitHub sends no webhook for this: hunkwise reads
        the ``reactions`` rollup of the comment listing)."""
        for c in self.review_comments:
            if c["id"] == comment_id:
                rollup = c.setdefault("reactions", {"total_count": 0, "+1": 0, "-1": 0})
                rollup[content] = rollup.get(content, 0) + 1
                rollup["total_count"] += 1

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
            if parent is None or parent.get("in_reply_to_id"):
                return httpx.Response(404, json={"message": "Not Found"})
            reply = self.reply(parent["id"], json.loads(request.content)["body"], self.user or self.app_bot)
            return httpx.Response(201, json=reply)
        found = re.search(r"/pulls/([0-9]+)$", path)
        if found and method == "GET" and not request.headers.get("accept", "").endswith(".diff"):
            pull = self.pulls.get(int(found.group(1)))
            if pull is not None:
                return httpx.Response(200, json=pull)
        if re.search(r"/issues/[0-9]+/comments$", path) and method == "POST":
            comment = {
                "id": 7000 + len(self.issue_comments),
                "body": json.loads(request.content)["body"],
                "user": self.user or self.app_bot,
            }
            self.issue_comments.append(comment)
            return httpx.Response(201, json=comment)
        return None

    # -- what a user does on the pull request ------------------------------------------------------
    def reply(self, comment_id: int, body: str, user: dict[str, Any] | None = None) -> dict[str, Any]:
        """Someone (the pull request's author by default) answers in a review thread."""
        root = next(c for c in self.review_comments if c["id"] == comment_id)
        self._next_id += 1
        reply = {
            **root,
            "id": self._next_id,
            "body": body,
            "user": dict(user or AUTHOR),
            "in_reply_to_id": root["id"],
            "reactions": {"total_count": 0, "+1": 0, "-1": 0},
        }
        self.review_comments.append(reply)
        return reply

    def resolve(self, comment_id: int) -> None:
        """The author resolves the thread that starts with ``comment_id``."""
        self.resolved.add(comment_id)

    def own_threads(self) -> list[dict[str, Any]]:
        """The first comments of the threads the token's user (or app bot) started."""
        me = (self.user or self.app_bot)["id"]
        return [c for c in self.review_comments if c["user"]["id"] == me and not c.get("in_reply_to_id")]

    def _create_comments(
        self, review: dict[str, Any], comments: list[dict[str, Any]]
    ) -> httpx.Response | None:
        """Validate like GitHub (``line`` and ``side`` required; ``start_line`` before ``line``,
        with ``start_side``) and add the comments; a 422 answer when one is refused."""
        for c in comments:
            line, start = c.get("line"), c.get("start_line")
            problem = None
            if not isinstance(line, int) or c.get("side") not in ("LEFT", "RIGHT") or not c.get("path"):
                problem = "line, side and path are required"
            elif start is not None and (
                not isinstance(start, int) or start >= line or not c.get("start_side")
            ):
                problem = "start_line must precede line, with start_side"
            elif line in self.refuse_lines or (start in self.refuse_lines):
                problem = "Line could not be resolved"
            if problem:
                return httpx.Response(422, json={"message": "Unprocessable Entity", "errors": [problem]})
        for c in comments:
            self._next_id += 1
            self.review_comments.append(
                {
                    "id": self._next_id,
                    "pull_request_review_id": review["id"],
                    "pull_number": review["pull_number"],
                    "path": c["path"],
                    "line": c["line"],
                    "start_line": c.get("start_line"),
                    "side": c["side"],
                    "start_side": c.get("start_side"),
                    "body": c["body"],
                    "commit_id": review["commit_id"],
                    "in_reply_to_id": None,
                    "user": review["user"],
                    "html_url": f"https://github.com/x/pull/1#discussion_r{self._next_id}",
                    "reactions": {"total_count": 0, "+1": 0, "-1": 0},
                }
            )
        return None

    def _graphql(self, request: httpx.Request) -> httpx.Response:
        """``reviewThreads`` of a pull request: one thread per first comment, ``isResolved``."""
        if self.graphql_status != 200:
            return httpx.Response(
                self.graphql_status, json={"message": "Resource not accessible by integration"}
            )
        query = json.loads(request.content)
        if "reviewThreads" not in query.get("query", ""):
            return httpx.Response(
                200, json={"errors": [{"message": "fake GitHub answers reviewThreads only"}]}
            )
        number = query.get("variables", {}).get("number")
        nodes = [
            {"isResolved": c["id"] in self.resolved, "comments": {"nodes": [{"databaseId": c["id"]}]}}
            for c in self.review_comments
            if not c.get("in_reply_to_id") and c.get("pull_number", number) == number
        ]
        threads = {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": nodes}
        return httpx.Response(200, json={"data": {"repository": {"pullRequest": {"reviewThreads": threads}}}})

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        accept = request.headers.get("accept", "")
        if self.app is not None:
            exchange = re.search(r"/app/installations/([0-9]+)/access_tokens$", path)
            if exchange and request.method == "POST":
                return self.app.exchange(request, int(exchange.group(1)))
            if path.endswith("/app") and request.method == "GET":
                return self.app.app_info(request)
            info = re.search(r"/app/installations/([0-9]+)$", path)
            if info and request.method == "GET":
                return self.app.installation_info(request, int(info.group(1)))
            if (refused := self.app.check(request)) is not None:
                return refused
        if (answered := self._conversation(request)) is not None:
            return answered
        if path.endswith("/user") and request.method == "GET":
            if self.user is None:
                return httpx.Response(403, json={"message": "Resource not accessible by integration"})
            return httpx.Response(200, json=self.user)
        if path.endswith("/graphql") and request.method == "POST":
            return self._graphql(request)
        pull = re.search(r"/pulls/([0-9]+)/", path)
        number = int(pull.group(1)) if pull else None
        if path.endswith("/reviews") and request.method == "GET":
            return httpx.Response(
                200, json=[r for r in self.reviews if r.get("pull_number", number) == number]
            )
        if path.endswith("/reviews") and request.method == "POST":
            if self.fail_posts:
                return httpx.Response(self.fail_posts.pop(0), json={"message": "try later"})
            body = json.loads(request.content)
            if body.get("event") == "COMMENT" and not body.get("body"):
                return httpx.Response(
                    422, json={"message": "Unprocessable Entity", "errors": ["body is required"]}
                )
            review = {
                "id": 1000 + len(self.reviews),
                "body": body["body"],
                "commit_id": body["commit_id"],
                "html_url": f"https://github.com/x/pull/1#review-{len(self.reviews)}",
                "user": self.user if self.user is not None else self.app_bot,
                "pull_number": number,  # the fake's bookkeeping: reviews belong to one pull request
            }
            if (refused := self._create_comments(review, body.get("comments") or [])) is not None:
                return refused
            self.reviews.append(review)
            return httpx.Response(200, json=review)
        if (found := re.search(r"/reviews/([0-9]+)$", path)) and request.method == "PUT":
            review = next((r for r in self.reviews if r["id"] == int(found.group(1))), None)
            if review is None:
                return httpx.Response(404, json={"message": "Not Found"})
            review["body"] = json.loads(request.content)["body"]
            self.edits.append({"review": review["id"], "body": review["body"]})
            return httpx.Response(200, json=review)
        if path.endswith("/comments") and number is not None and request.method == "GET":
            return httpx.Response(
                200, json=[c for c in self.review_comments if c.get("pull_number", number) == number]
            )
        if (found := re.search(r"/pulls/comments/([0-9]+)$", path)) and request.method == "PATCH":
            comment = next((c for c in self.review_comments if c["id"] == int(found.group(1))), None)
            if comment is None:
                return httpx.Response(404, json={"message": "Not Found"})
            comment["body"] = json.loads(request.content)["body"]
            self.edits.append({"comment": comment["id"], "body": comment["body"]})
            return httpx.Response(200, json=comment)
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
    edits: list[dict[str, Any]] = field(default_factory=list)  # PUT note bodies
    head_sha: str = "h" * 40  # diff_refs.head_sha of the merge request's current version
    _next_id: int = 900
    # -- merge status, commands, feedback (docs.gitlab.com/api: commits#set-the-pipeline-status-
    # of-a-commit, members#get-a-member-of-a-group-or-project-including-inherited-and-invited-
    # members, discussions, emoji_reactions)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    members: dict[int, int] = field(default_factory=dict)  # user id -> access level (else 404)
    awards: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # note id -> award emoji
    merge_requests: dict[int, dict[str, Any]] = field(default_factory=dict)  # GET .../merge_requests/:iid

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- what a user does on the merge request -----------------------------------------------------
    def reply(self, discussion_id: str, body: str, author: dict[str, Any] | None = None) -> dict[str, Any]:
        discussion = next(d for d in self.discussions if d["id"] == discussion_id)
        self._next_id += 1
        note = {
            "id": self._next_id,
            "body": body,
            "author": dict(author or GITLAB_AUTHOR),
            "resolvable": True,
            "resolved": discussion["notes"][0]["resolved"],
            "type": "DiffNote",
        }
        discussion["notes"].append(note)
        return note

    def resolve(self, discussion_id: str, resolved: bool = True) -> None:
        """As ``PUT .../discussions/:id?resolved=true`` does: every note of the thread."""
        discussion = next(d for d in self.discussions if d["id"] == discussion_id)
        for note in discussion["notes"]:
            note["resolved"] = resolved

    def own_discussions(self) -> list[dict[str, Any]]:
        return [d for d in self.discussions if d["notes"][0]["author"]["id"] == self.user["id"]]

    def status_history(self) -> list[tuple[str, str]]:
        return [(s["state"], s["description"]) for s in self.statuses]

    def award(self, note_id: int, name: str) -> None:
        """Someone awards an emoji (``thumbsup``/``thumbsdown``) to a note."""
        self.awards.setdefault(note_id, []).append(
            {"id": len(self.awards) + 1, "name": name, "user": GITLAB_AUTHOR}
        )

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
        if (found := re.search(r"/discussions/([0-9A-Za-z]+)$", path)) and method == "GET":
            for d in self.discussions:
                if d["id"] == found.group(1):
                    return httpx.Response(200, json=d)
            return httpx.Response(404, json={"message": "404 Not found"})
        if (found := re.search(r"/notes/([0-9]+)/award_emoji$", path)) and method == "GET":
            awards = self.awards.get(int(found.group(1)), [])
            return httpx.Response(200, json=awards, headers={"x-next-page": ""})
        if (found := re.search(r"/merge_requests/([0-9]+)$", path)) and method == "GET":
            mr = self.merge_requests.get(int(found.group(1)))
            if mr is not None:
                return httpx.Response(200, json=mr)
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
            refs = {"base_sha": "b" * 40, "start_sha": "s" * 40, "head_sha": self.head_sha}
            return httpx.Response(200, json={"changes": gitlab_changes(self.diff), "diff_refs": refs})
        if path.endswith("/notes") and request.method == "GET":
            return httpx.Response(200, json=self.notes, headers={"x-next-page": ""})
        if path.endswith("/discussions") and request.method == "GET":
            return httpx.Response(200, json=self.discussions, headers={"x-next-page": ""})
        if (found := re.search(r"/discussions/([0-9a-f]+)/notes$", path)) and request.method == "POST":
            note = self.reply(found.group(1), json.loads(request.content)["body"], self.user)
            return httpx.Response(201, json=note)
        if (found := re.search(r"/discussions/([0-9a-f]+)$", path)) and request.method == "PUT":
            discussion = next((d for d in self.discussions if d["id"] == found.group(1)), None)
            if discussion is None:
                return httpx.Response(404, json={"message": "404 Not found"})
            self.resolve(discussion["id"], request.url.params.get("resolved") == "true")
            return httpx.Response(200, json=discussion)
        if (found := re.search(r"/notes/([0-9]+)$", path)) and request.method == "PUT":
            note = next((n for n in self.notes if n["id"] == int(found.group(1))), None)
            if note is None:
                return httpx.Response(404, json={"message": "404 Note Not Found"})
            note["body"] = json.loads(request.content)["body"]
            self.edits.append({"note": note["id"], "body": note["body"]})
            return httpx.Response(200, json=note)
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
            self._next_id += 1
            position = body["position"]
            self.discussions.append(
                {
                    "id": f"{len(self.discussions) + 1:040x}",
                    "individual_note": False,
                    "notes": [
                        {
                            "id": self._next_id,
                            "type": "DiffNote",
                            "body": body["body"],
                            "author": self.user,
                            "position": position,
                            "resolvable": True,
                            "resolved": False,
                        }
                    ],
                }
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

            do_GET = do_POST = do_PUT = do_PATCH = _serve

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
