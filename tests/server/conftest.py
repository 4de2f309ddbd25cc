"""Server fixtures: an app over a fresh SQLite store (per test, a copy of the session's migrated
file: the app's start-up finds it current) with its own master key file.

``make_client(**env)`` builds the app from an environment (admin token set), like the server's
start-up does, and returns a TestClient speaking HTTP to it in-process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from srvkit import ADMIN


@pytest.fixture
def make_client(sqlite_db_url: Callable[..., str]) -> Iterator[Callable[..., TestClient]]:
    from hunkwise.config.settings import Settings
    from hunkwise.server.app import create_app

    clients: list[TestClient] = []
    store: list[str] = []  # the test's one SQLite store, migrated when the first app is made

    def make(ssrf_policy: object = None, settings: Mapping[str, Any] | None = None, **env: str) -> TestClient:
        """A server app; ``env`` is its environment, ``settings`` fields that have no variable
        (:meth:`Settings.from_env` overrides). Every app a test makes uses the same migrated
        SQLite store, as servers on one database do (a second app used to copy a fresh store
        over the first one's file while it was open)."""
        if not store:
            store.append(sqlite_db_url("server.db"))
        base = {
            "HUNKWISE_HOME": os.environ["HUNKWISE_HOME"],
            "HUNKWISE_ADMIN_TOKEN": ADMIN,
            "HUNKWISE_DATABASE_URL": store[0],
        }
        base.update(env)
        app = create_app(Settings.from_env(base, **(settings or {})), ssrf_policy=ssrf_policy)  # type: ignore[arg-type]
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
        client.app.state.runtime.engine.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
