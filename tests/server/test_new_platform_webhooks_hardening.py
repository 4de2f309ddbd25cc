"""The Bitbucket, Azure DevOps and Gitea webhook routes side by side: the same refusal for a
delivery without valid credentials (401 naming the header and the server setting), and no 500
for any authenticated body, however malformed (wrong types, huge numbers, unicode)."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_webhooks import jobs

from hunkwise.platforms import bitbucket_webhooks as bb
from hunkwise.platforms import gitea_webhooks as gt

DATA = Path(__file__).parents[1] / "data"
SECRET = "shared-secret-for-hardening-tests"
ROOT = "https://dev.azure.com/fabrikam"
GITEA = "https://gitea.example.com"


def _basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"azure:{password}".encode()).decode()


# route, settings, a documented delivery, headers for a body (given the secret)
ROUTES: dict[str, tuple[str, dict[str, str], Path, Callable[[bytes, str], dict[str, str]]]] = {
    "bitbucket": (
        "/webhooks/bitbucket",
        {"HUNKWISE_BITBUCKET_WEBHOOK_SECRET": SECRET},
        DATA / "bitbucket" / "pullrequest_created.json",
        lambda body, secret: {
            "X-Event-Key": "pullrequest:created",
            bb.SIGNATURE_HEADER: bb.sign(secret, body),
        },
    ),
    "gitea": (
        "/webhooks/gitea",
        {"HUNKWISE_GITEA_WEBHOOK_SECRET": SECRET, "HUNKWISE_GITEA_URL": GITEA},
        DATA / "gitea" / "pull_request.opened.json",
        lambda body, secret: {"X-Gitea-Event": "pull_request", "X-Gitea-Signature": gt.sign(secret, body)},
    ),
    "azure": (
        "/webhooks/azure-devops",
        {"HUNKWISE_AZURE_DEVOPS_WEBHOOK_PASSWORD": SECRET, "HUNKWISE_AZURE_DEVOPS_URL": ROOT},
        DATA / "azure-devops" / "git.pullrequest.created.json",
        lambda body, secret: {"Authorization": _basic(secret)},
    ),
}
SETTING = {
    "bitbucket": "HUNKWISE_BITBUCKET_WEBHOOK_SECRET",
    "gitea": "HUNKWISE_GITEA_WEBHOOK_SECRET",
    "azure": "HUNKWISE_AZURE_DEVOPS_WEBHOOK_PASSWORD",
}
HEADER = {"bitbucket": "X-Hub-Signature", "gitea": "X-Gitea-Signature", "azure": "basic authentication"}


@pytest.fixture(params=list(ROUTES))
def route(request: pytest.FixtureRequest, make_client: Callable[..., TestClient]) -> tuple[str, TestClient]:
    """One route's name and a server configured for it alone (one app per test: the apps would
    share one SQLite file)."""
    name: str = request.param
    return name, make_client(**ROUTES[name][1])


def _post(client: TestClient, name: str, body: bytes, secret: str = SECRET) -> Any:
    path, _, _, headers = ROUTES[name]
    return client.post(
        path, content=body, headers={"Content-Type": "application/json", **headers(body, secret)}
    )


def test_a_delivery_without_valid_credentials_is_401_naming_the_header_and_the_setting(
    route: tuple[str, TestClient],
) -> None:
    name, client = route
    body = ROUTES[name][2].read_bytes()
    resp = _post(client, name, body, secret="not-the-secret")
    assert resp.status_code == 401
    detail = resp.json()["detail"]
    assert HEADER[name] in detail and SETTING[name] in detail, detail
    assert jobs(client) == []


def test_azure_with_the_right_password_and_no_organization_says_what_to_set(
    make_client: Callable[..., TestClient],
) -> None:
    # Was 401 "missing or invalid basic authentication": the operator checked a password that was
    # right. Gitea answers the same situation with 400 naming HUNKWISE_GITEA_URL.
    client = make_client(HUNKWISE_AZURE_DEVOPS_WEBHOOK_PASSWORD=SECRET)
    resp = _post(client, "azure", ROUTES["azure"][2].read_bytes())
    assert resp.status_code == 400 and "HUNKWISE_AZURE_DEVOPS_URL" in resp.json()["detail"]
    # ... and an unauthenticated caller still learns nothing about the configuration
    assert _post(client, "azure", b"{}", secret="wrong").status_code == 401


# The odd values a field is replaced with, by kind: every field gets one of each kind (a null or
# boolean, a number, a string, a container), and within a kind the value rotates from field to
# field, so each value below is tried on hundreds of fields. Trying all 14 on every field of the
# documented deliveries was 6,900 requests (21 s of one test worker); each field still meets
# every kind of wrong type, which is what a parser trips on.
WEIRD: tuple[tuple[Any, ...], ...] = (
    (None, True),
    (0, -1, 2**70, 1e300, 1.5),
    ("", "é\u202e\u0000", "x" * 5000),
    ([], {}, [1], {"a": 1}),
)


def _mutations(value: Any, depth: int = 0, turn: list[int] | None = None) -> Iterator[Any]:
    """``value`` with one field at a time replaced by one odd value of each kind, down to
    depth 3."""
    turn = [0] if turn is None else turn
    if not isinstance(value, dict) or depth > 3:
        return
    for key in value:
        for kind in WEIRD:
            changed = copy.deepcopy(value)
            changed[key] = kind[turn[0] % len(kind)]
            yield changed
        turn[0] += 1
        for sub in _mutations(value[key], depth + 1, turn):
            changed = copy.deepcopy(value)
            changed[key] = sub
            yield changed


def test_every_odd_value_is_tried() -> None:
    """The rotation reaches every value of every kind on each route's delivery (a delivery with
    too few fields would leave some untried)."""
    for name, (_, _, path, _) in ROUTES.items():
        base = json.loads(path.read_text())
        tried = {json.dumps(leaf) for body in _mutations(base) for leaf in _leaves(body, base)}
        wanted = {json.dumps(v) for kind in WEIRD for v in kind}
        assert wanted <= tried, (name, wanted - tried)


def _leaves(changed: Any, base: Any) -> Iterator[Any]:
    """The values in ``changed`` that differ from ``base`` (the one replaced field)."""
    if isinstance(changed, dict) and isinstance(base, dict) and changed.keys() == base.keys():
        for key in changed:
            if changed[key] != base[key]:
                yield from _leaves(changed[key], base[key])
        return
    yield changed


def test_no_authenticated_body_is_a_server_error(route: tuple[str, TestClient]) -> None:
    name, client = route
    base = json.loads(ROUTES[name][2].read_text())
    bodies = [b"", b"not json", b"[]", b"null", b'"x"', b"1e999", b'{"a":' * 50, b"\xff\xfe"]
    bodies += [json.dumps(m).encode() for m in _mutations(base)]
    seen: set[int] = set()
    for body in bodies:
        resp = _post(client, name, body)
        seen.add(resp.status_code)
        assert resp.status_code in (202, 400, 422), (resp.status_code, body[:200], resp.text[:300])
    assert 400 in seen and 422 in seen
