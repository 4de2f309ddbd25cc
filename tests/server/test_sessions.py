"""Console sessions over HTTP: sign-out ends the session on the server, the cookie is opaque, and
wrong tokens are throttled per client address and overall, on the sign-in form and the API."""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import logging
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from srvkit import ADMIN, admin_headers, bearer
from webkit import CSRF_FIELD, create_org, page_csrf, sign_in

from hunkwise.store.db import session_scope


def _login(client: TestClient, token: str, **headers: str):
    form = client.get("/login")
    csrf = CSRF_FIELD.search(form.text).group(1)  # type: ignore[union-attr]
    return client.post("/login", data={"token": token, "csrf": csrf}, headers=headers, follow_redirects=False)


def test_a_cookie_copied_before_sign_out_no_longer_works(client: TestClient) -> None:
    sign_in(client, create_org(client))
    stolen = client.cookies.get("hunkwise_session")
    assert stolen and client.get("/console/models", follow_redirects=False).status_code == 200
    out = client.post("/logout", data={"csrf": page_csrf(client)}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.clear()
    client.cookies.set("hunkwise_session", stolen)  # replayed by whoever kept a copy
    replay = client.get("/console/models", follow_redirects=False)
    assert replay.status_code == 303 and replay.headers["location"].startswith("/login")
    api = client.put("/console/api/byok", json={"main": {"card": "glm-5.1"}}, headers={"X-CSRF-Token": "x"})
    assert api.status_code == 401


def test_the_cookie_is_opaque_and_the_database_cannot_replay_it(client: TestClient) -> None:
    token = create_org(client, "acme-corp")
    sign_in(client, token)
    value = client.cookies.get("hunkwise_session")
    assert value
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    readable = [value]
    for part in re.split(r"[.:|]", value):
        with contextlib.suppress(binascii.Error, ValueError):
            readable.append(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("latin-1"))
    for text in readable:
        for secret in ("acme", token, token_hash, token_hash[:16], "admin", '"o"', '"t"'):
            assert secret not in text, (secret, text)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value), value  # one random id, nothing else
    from hunkwise.store.tables import ConsoleSession

    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with session_scope(engine) as s:
        stored = [tuple(str(v) for v in row) for row in s.execute(select(ConsoleSession.__table__))]
    assert stored and not any(value in cell for row in stored for cell in row)
    client.cookies.clear()
    client.cookies.set("hunkwise_session", hashlib.sha256(value.encode()).hexdigest())  # the stored hash
    assert client.get("/console/models", follow_redirects=False).status_code == 303


def test_signing_in_again_replaces_the_previous_session(client: TestClient) -> None:
    token = create_org(client)
    sign_in(client, token)
    first = client.cookies.get("hunkwise_session")
    sign_in(client, token)
    second = client.cookies.get("hunkwise_session")
    assert first and first != second
    client.cookies.clear()
    client.cookies.set("hunkwise_session", first)
    assert client.get("/console/models", follow_redirects=False).status_code == 303


# Wrong tokens are counted in windows aligned to the epoch (hunkwise.store.signin): a test that
# straddled the end of the default 300 s window saw its count start again (a 401 among the 429s,
# once in a loaded suite run). A ten-year window puts the next boundary out of reach.
WINDOW_S = 10 * 365 * 86_400


@pytest.fixture
def make_client(make_client: Callable[..., TestClient]) -> Callable[..., TestClient]:
    return functools.partial(make_client, settings={"signin_window_s": WINDOW_S})


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def test_sixty_wrong_tokens_then_the_right_one_is_refused_with_retry_after(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = create_org(client)
    caplog.set_level(logging.WARNING, logger="hunkwise.server")
    answers = [_login(client, f"hw_org_wrong{i:03d}").status_code for i in range(60)]
    assert answers[:10] == [401] * 10 and set(answers[10:]) == {429}
    refused = _login(client, token)
    assert refused.status_code == 429 and "hunkwise_session" not in refused.headers.get("set-cookie", "")
    assert 300 < int(refused.headers["retry-after"]) <= WINDOW_S  # the long window is in force
    assert "Too many wrong tokens from your address" in refused.text
    bursts = [r for r in caplog.records if "sign-in throttled" in r.getMessage()]
    assert len(bursts) == 1 and "testclient" in bursts[0].getMessage()
    assert token not in caplog.text and "hw_org_wrong" not in caplog.text
    # The API path shares the counter: the same client is locked out there too, right token or not.
    api = client.get("/api/orgs/acme/byok", headers=bearer(token))
    assert api.status_code == 429 and api.headers["retry-after"].isdigit()


def test_wrong_bearer_tokens_lock_the_api_too(client: TestClient) -> None:
    token = create_org(client)
    answers = [client.get("/api/orgs", headers=bearer(f"guess-{i}")).status_code for i in range(12)]
    assert answers == [401] * 10 + [429] * 2
    for headers in (bearer(token), admin_headers()):
        resp = client.get("/api/orgs/acme", headers=headers)
        assert resp.status_code == 429 and int(resp.headers["retry-after"]) >= 1
        assert "too many wrong tokens" in resp.json()["detail"]
    assert client.get("/api/orgs/acme").status_code == 401  # no token: nothing to throttle


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(HUNKWISE_SIGNIN_MAX_FAILURES="3")
    codes = [
        _login(client, "hw_org_wrong", **{"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(5)
    ]
    assert codes == [401, 401, 401, 429, 429]  # one client, whatever it claims to be


def test_behind_a_trusted_proxy_clients_are_counted_apart_and_together(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(
        HUNKWISE_TRUSTED_PROXIES="*",
        HUNKWISE_SIGNIN_MAX_FAILURES="3",
        HUNKWISE_SIGNIN_MAX_FAILURES_GLOBAL="7",
    )
    caplog.set_level(logging.WARNING, logger="hunkwise.server")

    def attempt(address: str, token: str = "hw_org_wrong") -> int:
        return _login(client, token, **{"X-Forwarded-For": address}).status_code

    assert [attempt("203.0.113.1") for _ in range(4)] == [401, 401, 401, 429]
    assert attempt("203.0.113.2") == 401  # another client behind the same proxy
    # IPv6 clients count per /64: hopping addresses inside one block does not reset the count.
    assert [attempt(f"2001:db8:1:2::{i}") for i in range(1, 5)] == [401, 401, 401, 429]
    assert attempt("203.0.113.3") == 429  # 3 + 1 + 3 = 7 failures in all: everyone waits now
    assert attempt("198.51.100.9", ADMIN) == 429
    messages = [r.getMessage() for r in caplog.records if "sign-in throttled" in r.getMessage()]
    assert len(messages) == 3
    assert "from 203.0.113.1" in messages[0] and "2001:db8:1:2::/64" in messages[1]
    assert "every client" in messages[2]


def test_trusted_proxy_setting_is_validated(make_client: Callable[..., TestClient]) -> None:
    from hunkwise.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"HUNKWISE_TRUSTED_PROXIES: 'proxy\.lan'"):
        make_client(HUNKWISE_TRUSTED_PROXIES="10.0.0.1,proxy.lan")
    with pytest.raises(ConfigurationError, match="HUNKWISE_SIGNIN_MAX_FAILURES must be at least 1"):
        make_client(HUNKWISE_SIGNIN_MAX_FAILURES="0")
