"""The one way a serving or working process makes a :class:`GitHubClient`: the mode is decided
here, once.

- **Personal-token mode** (``HUNKWISE_GITHUB_TOKEN``, else ``GITHUB_TOKEN``): every client
  sends that token.
- **GitHub App mode** (``HUNKWISE_GITHUB_APP_ID`` and ``HUNKWISE_GITHUB_APP_PRIVATE_KEY``):
  every client sends the token of the installation it works for, from the process's one
  :class:`~hunkwise.platforms.github_app.GitHubApp` (so the cache and its refresh lock are
  shared by every job). A pull request job names its installation (the delivery's
  ``installation.id``, validated when parsed); a job that names none (a command, a re-run, a
  job stored before App mode) uses the active installation of the organization it belongs to.
  Before its first token the client checks the store again (the worker side of the webhook's
  gate): the installation is known, not suspended, on the repository owner's account, and the
  repository is not turned off; a job that waited in the queue meanwhile fails saying why.

The API root is always the configured one, never a payload's: a token goes nowhere else. Every
client (and the App's token requests) goes through the configured proxy and CA bundle.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx

from hunkwise.config.outbound import platform_transport
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.github_app import Clock, GitHubApp
from hunkwise.platforms.github_webhooks import PullRequestEvent, configured_api_url
from hunkwise.platforms.review_post import PlatformAuthError
from hunkwise.store.github_installations import installation_for_org, use_refusal
from hunkwise.store.orgs import normalize_slug

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from hunkwise.config.settings import Settings


class GitHubClients:
    """Makes the GitHub clients of one process (held by :class:`~hunkwise.jobs.runtime.Runtime`)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.api_url = configured_api_url(settings.github_api_url)
        self._token = settings.github_token
        self._bot_login = settings.github_bot_login
        self._engine = engine
        self._network = settings.network
        self._transport = transport  # a test's fake; else each client gets its own (below)
        pair = settings.github_app
        self.app: GitHubApp | None = (
            GitHubApp(pair[0], pair[1], self.api_url, transport_factory=self._new_transport, clock=clock)
            if pair
            else None
        )

    def _new_transport(self) -> httpx.AsyncBaseTransport | None:
        """A transport for one client: the test's, else through the configured proxy with the CA
        bundle (docs/proxies.md), else httpx's default. One per client: a client closes its own."""
        if self._transport is not None:
            return self._transport
        return platform_transport(self._network, self.api_url)

    @property
    def mode(self) -> str:
        """``app`` or ``token``: what the logs and ``/api/health``-style views may say."""
        return "app" if self.app is not None else "token"

    def client(
        self, owner: str, installation_id: int | None = None, repository: str | None = None
    ) -> GitHubClient:
        """A client for repositories of ``owner``: in App mode with ``installation_id``'s tokens
        (or, when None, those of the owner's organization's active installation), checked against
        the store on the first request (:meth:`_installation_of`); ``repository``, when given,
        must not be turned off."""
        if self.app is None:
            return GitHubClient(
                self._token, self.api_url, transport=self._new_transport(), bot_login=self._bot_login
            )

        async def find() -> int:
            return await self._installation_of(owner, installation_id, repository)

        return GitHubClient(
            self.app.provider(find), self.api_url, transport=self._new_transport(), bot_login=self._bot_login
        )

    def for_event(self, event: PullRequestEvent) -> GitHubClient:
        """The client of a pull request job (``ReviewDeps.github``)."""
        return self.client(event.owner, event.installation_id, event.repository)

    async def _installation_of(self, owner: str, installation_id: int | None, repository: str | None) -> int:
        """The installation whose tokens a client for ``owner`` may use: the given one or the
        organization's active one, refused (before any token is asked for) when the store says
        it is unknown, suspended, on another account, or ``repository`` is turned off."""
        if installation_id is None:
            org = normalize_slug(owner)
            installation_id = await asyncio.to_thread(installation_for_org, self._engine, org)
            if installation_id is None:
                raise PlatformAuthError(
                    f"GitHub App mode: no active installation of the App on {owner!r} is known here; "
                    "install the App on that account (or unsuspend it) so GitHub sends the "
                    "installation event",
                    status=None,
                )
        refused = await asyncio.to_thread(use_refusal, self._engine, installation_id, owner, repository)
        if refused is not None:
            raise PlatformAuthError(
                f"GitHub App mode: not using the installation's token: {refused}", status=None
            )
        return installation_id


__all__ = ["GitHubClients"]
