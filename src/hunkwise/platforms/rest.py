"""What the GitHub and GitLab clients share: one request, its failures translated once, one
pagination loop.

A failed request becomes a :class:`~hunkwise.platforms.review_post.PlatformError` whose class
(and so whose family: configuration, transient or permanent) comes from hunkwise's one HTTP
classifier (:func:`hunkwise.errors.classify_status`, :func:`~hunkwise.errors.classify_transport`),
the same the model gateway's adapters start from. A client adds only its platform's own words:
the hint for a refused token, GitHub's 403 that is a rate limit, where the next page is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

import httpx

from hunkwise.errors import (
    HttpFailure,
    ProxyRefused,
    TransientError,
    causes,
    classify_status,
    classify_transport,
    describe_transport,
    retry_after,
)
from hunkwise.gateway import Secret
from hunkwise.platforms import identity
from hunkwise.platforms.review_post import (
    PlatformAuthError,
    PlatformError,
    PlatformNotFound,
    PlatformProxyRefused,
    PlatformRateLimited,
    PlatformRejected,
    PlatformUnavailable,
)

MAX_FILE_BYTES = 2_000_000  # a larger file is not read for code context (review/context.py)
MAX_PAGES = 50  # 5,000 items is far beyond any real pull request; stops a runaway next-page chain
PER_PAGE = 100


def proxy_refusal(exc: BaseException, where: str) -> PlatformProxyRefused | None:
    """``exc`` as the permanent error it is when the outbound proxy refused to carry the request
    (its credentials or its rules must change); None when it is anything else."""
    refused = next((c for c in causes(exc) if isinstance(c, ProxyRefused)), None)
    return None if refused is None else PlatformProxyRefused(f"{where}: {refused}", status=refused.status)


class RestClient(ABC):
    """An httpx client on one API root with one token; the GitHub and GitLab clients subclass it.
    The token is a :class:`~hunkwise.gateway.types.Secret`, revealed once, into a header."""

    platform: ClassVar[str]  # "GitHub": how messages name the other side
    default_api_url: ClassVar[str]
    url_hint: ClassVar[str]  # what to check when the API cannot be reached
    not_found_hint: ClassVar[str]
    # The first page's query (the platform's page-size parameter); None: the platform's default.
    first_page: ClassVar[Mapping[str, Any] | None] = {"per_page": PER_PAGE}

    def __init__(
        self,
        token: Secret | None,
        api_url: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.api_url = (api_url or self.default_api_url).rstrip("/")
        # Every request URL is this root joined with a path of validated, quoted segments.
        self._root = httpx.URL(self.api_url + "/")
        self._has_token = token is not None
        self._me: int | None = None  # the token's own user id (GET /user), looked up once
        self._me_known = False
        headers = {"User-Agent": "hunkwise", **self._headers(token)}
        self._http = httpx.AsyncClient(headers=headers, timeout=timeout_s, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _url(self, *segments: str | int) -> httpx.URL:
        return self._root.join(identity.api_path(*segments))

    async def own_user_id(self) -> int | None:
        """The numeric id of the token's user (``GET /user``, once per client): only what it
        wrote is hunkwise's (anyone can type a marker into a comment). GitHub overrides it (an
        installation token may not ask)."""
        if not self._me_known:
            data = (await self._request("GET", self._url("user"))).json()
            user_id = data.get("id") if isinstance(data, dict) else None
            self._me = user_id if isinstance(user_id, int) else None
            self._me_known = True
        return self._me

    # -- what a platform says on top of the shared classification ---------------------------------
    @abstractmethod
    def _headers(self, token: Secret | None) -> dict[str, str]:
        """The platform's request headers, the token's included."""

    @abstractmethod
    def _auth_hint(self, status: int) -> str:
        """What to fix when the API refuses the token (401) or its permissions (403)."""

    def _failure(self, response: httpx.Response, detail: str) -> HttpFailure:
        """The meaning of a failed response; a platform refines the shared one here."""
        return classify_status(response.status_code)

    def _retry_after(self, response: httpx.Response) -> float | None:
        """Seconds a rate-limited response asks us to wait, if it says."""
        return retry_after(response.headers)

    @staticmethod
    def _detail(response: httpx.Response) -> str:
        """The error text of an answer (``message``, then ``error``; GitHub's ``errors`` list)."""
        try:
            data = response.json()
        except ValueError:
            return response.reason_phrase or str(response.status_code)
        if not isinstance(data, dict):
            return response.reason_phrase
        text = str(data.get("message") or data.get("error") or response.reason_phrase)
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            text += ": " + "; ".join(
                str(e.get("message", e) if isinstance(e, dict) else e) for e in errors[:3]
            )
        return text[:300]

    # -- plumbing ---------------------------------------------------------------------------------
    async def _file_text(
        self, url: httpx.URL, ref: str | None, headers: dict[str, str] | None = None
    ) -> str | None:
        """A file's raw content at ``ref`` as text, for code context: ``None`` when the platform
        has no such file there, or it is binary or larger than :data:`MAX_FILE_BYTES`. ``ref``
        None: the commit is in ``url`` already (Bitbucket's ``src/{commit}/{path}``)."""
        params = {"ref": ref} if ref is not None else None
        try:
            response = await self._request("GET", url, params=params, headers=headers or {})
        except PlatformNotFound:
            return None
        data = response.content
        if len(data) > MAX_FILE_BYTES or b"\0" in data[:8000]:
            return None
        return data.decode("utf-8", errors="replace")

    async def _request(self, method: str, url: httpx.URL, **kwargs: Any) -> httpx.Response:
        where = f"{self.platform} {method} {request_path(url)}"
        try:
            response = await self._http.request(method, url, **kwargs)
        except Exception as exc:
            if (refused := proxy_refusal(exc, where)) is not None:
                raise refused from exc
            failure = classify_transport(exc)
            if failure is None:
                raise
            if failure is HttpFailure.TIMEOUT:
                raise PlatformUnavailable(
                    f"{self.platform} did not answer {method} {request_path(url)} in time"
                ) from exc
            if failure is HttpFailure.TRUNCATED:
                raise PlatformUnavailable(f"{where}: the answer was cut short; retry later") from exc
            reason = describe_transport(exc, self.api_url)
            raise PlatformUnavailable(
                f"cannot reach {self.platform} at {self.api_url} ({reason}); {self.url_hint}"
            ) from exc
        if response.is_success:
            return response
        raise self._error(where, response)

    def _error(self, where: str, response: httpx.Response) -> PlatformError:
        status = response.status_code
        detail = self._detail(response)
        failure = self._failure(response, detail)
        if failure is HttpFailure.RATE_LIMITED:
            after = self._retry_after(response)
            wait = f" for {after:.0f}s" if after is not None else ""
            return PlatformRateLimited(
                f"{where}: rate limited{wait} ({detail})", status=status, retry_after_s=after
            )
        if failure is HttpFailure.AUTH:
            said = "unauthorized" if status == 401 else "forbidden"
            return PlatformAuthError(
                f"{where}: {status} {said} ({detail}); {self._auth_hint(status)}", status=status
            )
        if failure is HttpFailure.NOT_FOUND:
            return PlatformNotFound(f"{where}: 404 not found; {self.not_found_hint}", status=status)
        if failure is HttpFailure.REJECTED:
            return PlatformRejected(f"{where}: {status} rejected ({detail})", status=status)
        if failure.family is TransientError:  # 5xx, 529, 408
            return PlatformUnavailable(f"{where}: {self.platform} answered {status}", status=status)
        return PlatformError(f"{where}: unexpected {status} ({detail})", status=status)

    @abstractmethod
    def _next_page(
        self, response: httpx.Response, url: httpx.URL, params: dict[str, Any] | None
    ) -> tuple[httpx.URL, dict[str, Any] | None] | None:
        """Where the page after ``response`` is (URL and query), or ``None`` after the last."""

    def _page_items(self, data: object) -> list[Any] | None:
        """The items of one page's JSON answer, or None when it is not a listing. A JSON array by
        default; Bitbucket and Azure DevOps wrap theirs in an object."""
        return data if isinstance(data, list) else None

    async def _paginate(
        self, url: httpx.URL, *, until: Callable[[list[dict[str, Any]]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a listing, page after page (at most :data:`MAX_PAGES`), the one loop of
        every client. ``until``: stop after the page where it holds for the items read so far."""
        items: list[dict[str, Any]] = []
        first = dict(self.first_page) if self.first_page is not None else None
        page: tuple[httpx.URL, dict[str, Any] | None] | None = (url, first)
        for _ in range(MAX_PAGES):
            if page is None:
                break
            response = await self._request("GET", page[0], params=page[1])
            values = self._page_items(response.json())
            if values is None:
                raise PlatformError(
                    f"{self.platform} answered GET {request_path(url)} with an unexpected shape"
                )
            items.extend(values)
            if until is not None and until(items):
                break
            page = self._next_page(response, url, page[1])
        return items


def answered_id(response: httpx.Response) -> int | str | None:
    """The ``id`` of what a write created or edited, None when the answer does not say (not JSON,
    not an object). The write succeeded (a 2xx): failing it over its answer would make a retry
    post again, and the id is only reported; the next read finds the comment by its marker."""
    try:
        data = response.json()
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, int | str) and not isinstance(value, bool) else None


def request_path(url: httpx.URL) -> str:
    """The request path as sent (a GitLab project path stays one ``%2F``-encoded segment), no query."""
    return url.raw_path.decode("ascii").split("?", 1)[0]
