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
from hunkwise.store.github_installations import installation_for_org
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

    def client(self, owner: str, installation_id: int | None = None) -> GitHubClient:
        """A client for repositories of ``owner``: in App mode with ``installation_id``'s tokens
        (or, when None, those of the owner's organization's active installation, looked up on
        the first request)."""
        if self.app is None:
            return GitHubClient(
                self._token, self.api_url, transport=self._new_transport(), bot_login=self._bot_login
            )
        if installation_id is not None:
            provider = self.app.provider(installation_id)
        else:

            async def find() -> int:
                return await self._installation_of(owner)

            provider = self.app.provider(find)
        return GitHubClient(
            provider, self.api_url, transport=self._new_transport(), bot_login=self._bot_login
        )

    def for_event(self, event: PullRequestEvent) -> GitHubClient:
        """The client of a pull request job (``ReviewDeps.github``)."""
        return self.client(event.owner, event.installation_id)

    async def _installation_of(self, owner: str) -> int:
        org = normalize_slug(owner)
        found = await asyncio.to_thread(installation_for_org, self._engine, org)
        if found is None:
            raise PlatformAuthError(
                f"GitHub App mode: no active installation of the App on {owner!r} is known here; install "
                "the App on that account (or unsuspend it) so GitHub sends the installation event",
                status=None,
            )
        return found


__all__ = ["GitHubClients"]
