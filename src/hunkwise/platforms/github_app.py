"""GitHub App authentication: the App's JWT, and installation access tokens cached until
shortly before they expire.

A GitHub App signs a short JSON Web Token with its private key (RS256; ``iss`` the App ID,
``iat`` backdated 60 s against clock drift, ``exp`` at most 10 minutes ahead: GitHub's
"Generating a JSON Web Token (JWT) for a GitHub App") and trades it for an installation's access
token (``POST /app/installations/{id}/access_tokens``, valid one hour, ``expires_at`` in the
answer). Every API call for an installation's repositories then uses that token.

:class:`GitHubApp` holds one cache per process: a token is reused until
:data:`REFRESH_MARGIN_S` before its ``expires_at`` and then replaced; callers that need the same
installation's token at once share one request (one :class:`asyncio.Lock` per installation). The
clock is injectable, so a test can fast-forward past expiry. GitHub's refusals become the platform
errors of :mod:`hunkwise.platforms.review_post` with what to fix: a wrong App ID or key (401), a
suspended installation (403), a deleted one (404).

:meth:`GitHubApp.installation` asks GitHub what it knows of one installation (``GET
/app/installations/{id}``, with the JWT): the webhook route believes an ``installation`` delivery
only once GitHub's answer agrees with it (the webhook secret alone is not GitHub's word).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx

from hunkwise.gateway import Secret
from hunkwise.platforms import identity
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.review_post import PlatformAuthError, PlatformError, PlatformNotFound

log = logging.getLogger("hunkwise.platforms.github_app")

JWT_BACKDATE_S = 60  # GitHub: "set this 60 seconds in the past" (clock drift)
JWT_LIFETIME_S = 540  # from iat: 9 minutes, so exp stays under GitHub's 10 minutes from now
REFRESH_MARGIN_S = 300.0  # a token is replaced this long before its expires_at
APP_ID_ENV = "HUNKWISE_GITHUB_APP_ID"
APP_KEY_ENV = "HUNKWISE_GITHUB_APP_PRIVATE_KEY"

Clock = Callable[[], float]
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,99}")  # a GitHub App's slug (its URL name)


@dataclass(frozen=True, slots=True)
class InstallationToken:
    """An installation's access token and when GitHub says it stops working (epoch seconds)."""

    token: Secret
    expires_at: float


@dataclass(frozen=True, slots=True)
class InstallationFacts:
    """What GitHub says of one installation of the App (``GET /app/installations/{id}``): the
    account it is on, whether it is suspended (``suspended_at`` set), its repository selection."""

    id: int
    account_login: str
    account_type: str
    suspended: bool
    repository_selection: str


class _AppApi(GitHubClient):
    """The REST calls made as the App itself (with its JWT): only the token exchange. Its
    refusals name the App's settings, not a personal token."""

    def _auth_hint(self, status: int) -> str:
        if status == 401:
            return (
                f"GitHub refused the App's JWT: check {APP_ID_ENV} (the 'App ID' on the App's settings "
                f"page) and that {APP_KEY_ENV} is a current private key of that App, and that this "
                "machine's clock is right (the JWT is valid for 10 minutes)"
            )
        return (
            "the installation is suspended or the App lacks a permission; see the App's installation settings"
        )

    async def app_info(self, app_jwt: str) -> httpx.Response:
        """``GET /app``, authenticated as the App: its id and slug."""
        return await self._request("GET", self._url("app"), headers={"Authorization": f"Bearer {app_jwt}"})

    async def installation(self, installation_id: int, app_jwt: str) -> httpx.Response:
        """``GET /app/installations/{id}``, authenticated as the App."""
        url = self._url("app", "installations", installation_id)
        return await self._request("GET", url, headers={"Authorization": f"Bearer {app_jwt}"})

    async def access_token(self, installation_id: int, app_jwt: str) -> httpx.Response:
        """``POST /app/installations/{id}/access_tokens``, authenticated as the App."""
        url = self._url("app", "installations", installation_id, "access_tokens")
        return await self._request("POST", url, headers={"Authorization": f"Bearer {app_jwt}"})


class GitHubApp:
    """One GitHub App's credentials and its installation tokens, shared by every client of a
    process (the runtime builds one)."""

    def __init__(
        self,
        app_id: int,
        private_key: Secret,
        api_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        transport_factory: Callable[[], httpx.AsyncBaseTransport | None] | None = None,
        clock: Clock = time.time,
        margin_s: float = REFRESH_MARGIN_S,
        timeout_s: float = 30.0,
    ) -> None:
        self.app_id = identity.positive_int(app_id, APP_ID_ENV, maximum=identity.MAX_ID)
        self._key = private_key
        self.api_url = api_url.rstrip("/")
        self._transport = transport  # one for every request (a test's fake), else one per request
        self._transport_factory = transport_factory
        self._clock = clock
        self._margin = margin_s
        self._timeout = timeout_s
        self._tokens: dict[int, InstallationToken] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._bot_login: str | None = None
        self.exchanges = 0  # tokens fetched from GitHub (for logs and tests)

    def jwt(self) -> str:
        """A fresh JWT for the App: RS256, ``iss`` the App ID, ``iat`` 60 s in the past, ``exp``
        nine minutes after ``iat`` (eight ahead of now: under GitHub's ten)."""
        import jwt

        now = int(self._clock())
        claims = {
            "iat": now - JWT_BACKDATE_S,
            "exp": now - JWT_BACKDATE_S + JWT_LIFETIME_S,
            "iss": str(self.app_id),
        }
        return jwt.encode(claims, self._key.reveal(), algorithm="RS256")

    async def installation_token(self, installation_id: int) -> Secret:
        """The installation's token: the cached one while it has more than the margin left,
        else a new one (one request however many callers wait for it)."""
        installation_id = identity.positive_int(installation_id, "installation id", maximum=identity.MAX_ID)
        cached = self._fresh(installation_id)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            cached = self._fresh(installation_id)  # a caller before us may have refreshed it
            if cached is not None:
                return cached
            fetched = await self._exchange(installation_id)
            self._tokens[installation_id] = fetched
            return fetched.token

    def _app_api(self) -> _AppApi:
        """A client for the App's own endpoints (signed with the JWT): the given transport, or a
        new one from the factory (the proxy, the CA bundle)."""
        transport = self._transport
        if transport is None and self._transport_factory is not None:
            transport = self._transport_factory()
        return _AppApi(None, self.api_url, transport=transport, timeout_s=self._timeout)

    async def bot_login(self) -> str:
        """The login of the App's bot, ``<slug>[bot]`` (the slug from ``GET /app``, asked once):
        the author of what hunkwise posts with installation tokens, so that only its markers
        are trusted when ``HUNKWISE_GITHUB_BOT_LOGIN`` is not set."""
        if self._bot_login is None:
            async with self._app_api() as api:
                data = (await api.app_info(self.jwt())).json()
            slug = data.get("slug") if isinstance(data, dict) else None
            if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
                raise PlatformError(
                    f"GitHub's GET /app answered no usable slug ({identity.shown(slug)}); set "
                    "HUNKWISE_GITHUB_BOT_LOGIN to the App's bot login (<app-slug>[bot])"
                )
            self._bot_login = f"{slug}[bot]"
        return self._bot_login

    async def installation(self, installation_id: int) -> InstallationFacts | None:
        """What GitHub says of ``installation_id`` (None: GitHub answered 404, it has no such
        installation of this App: never created, uninstalled, or another App's). Its other
        failures propagate as platform errors: :class:`PlatformUnavailable` (network, 5xx),
        :class:`PlatformRateLimited`, :class:`PlatformAuthError` (the JWT refused: App ID, key or
        clock), :class:`PlatformError` (an answer without a usable account)."""
        installation_id = identity.positive_int(installation_id, "installation id", maximum=identity.MAX_ID)
        async with self._app_api() as api:
            try:
                response = await api.installation(installation_id, self.jwt())
            except PlatformNotFound:
                return None
        data = response.json() if response.content else None
        account = data.get("account") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(account, dict):
            raise PlatformError(
                f"GitHub's GET /app/installations/{installation_id} answered without an account"
            )
        try:
            login = identity.github_owner(account.get("login"), "account.login")
        except identity.IdentityError as exc:
            raise PlatformError(
                f"GitHub's GET /app/installations/{installation_id} answered an unusable account ({exc})"
            ) from None
        kind = account.get("type")
        selection = data.get("repository_selection")
        return InstallationFacts(
            id=installation_id,
            account_login=login,
            account_type=kind if kind in ("Organization", "User", "Enterprise") else "Organization",
            suspended=data.get("suspended_at") is not None,
            repository_selection=selection if selection in ("all", "selected") else "selected",
        )

    def invalidate(self, installation_id: int, token: Secret) -> None:
        """Forget ``token`` (GitHub refused it: revoked, or the clock here is off), so the next
        call fetches another. A newer token already cached is kept."""
        cached = self._tokens.get(installation_id)
        if cached is not None and cached.token.reveal() == token.reveal():
            del self._tokens[installation_id]

    def provider(self, installation: int | Callable[[], Awaitable[int]]) -> InstallationTokens:
        """What a :class:`GitHubClient` asks for its token: one installation's, given now or
        found on the first request (``installation``: an async function)."""
        return InstallationTokens(self, installation)

    def _fresh(self, installation_id: int) -> Secret | None:
        cached = self._tokens.get(installation_id)
        if cached is not None and cached.expires_at - self._margin > self._clock():
            return cached.token
        return None

    async def _exchange(self, installation_id: int) -> InstallationToken:
        async with self._app_api() as api:
            try:
                response = await api.access_token(installation_id, self.jwt())
            except PlatformNotFound:
                raise PlatformNotFound(
                    f"GitHub has no installation {installation_id} of App {self.app_id}: it was uninstalled, "
                    f"or it belongs to another App (check {APP_ID_ENV}); reinstall the App on the account",
                    status=404,
                ) from None
            except PlatformAuthError as exc:
                if exc.status == 403:
                    raise PlatformAuthError(
                        f"GitHub refused a token for installation {installation_id}: the installation is "
                        f"suspended (an owner of the account can unsuspend it in its settings) ({exc})",
                        status=403,
                    ) from None
                raise
        data = response.json() if response.content else {}
        token = data.get("token") if isinstance(data, dict) else None
        expires = data.get("expires_at") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or not isinstance(expires, str):
            raise PlatformError(
                f"GitHub answered the token request of installation {installation_id} without a token"
            )
        try:
            expires_at = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise PlatformError(f"GitHub's expires_at {identity.shown(expires)} is not a time") from None
        self.exchanges += 1
        log.info("GitHub App %s: new token for installation %s", self.app_id, installation_id)
        return InstallationToken(Secret(token), expires_at)


class InstallationTokens:
    """A :class:`~hunkwise.platforms.github.TokenProvider` for one installation of an App."""

    def __init__(self, app: GitHubApp, installation: int | Callable[[], Awaitable[int]]) -> None:
        self._app = app
        self._installation = installation
        self._id: int | None = installation if isinstance(installation, int) else None

    async def installation_id(self) -> int:
        if self._id is None:
            assert not isinstance(self._installation, int)
            self._id = await self._installation()
        return self._id

    async def token(self) -> Secret:
        return await self._app.installation_token(await self.installation_id())

    async def refused(self, token: Secret) -> None:
        self._app.invalidate(await self.installation_id(), token)

    async def bot_login(self) -> str:
        return await self._app.bot_login()


__all__ = ["GitHubApp", "InstallationFacts", "InstallationToken", "InstallationTokens"]
