"""GitHub App mode at the client: the App's JWT as GitHub checks it, installation tokens cached
until shortly before they expire and rotated on a fast-forwarded clock, one refresh for
concurrent callers, and GitHub's refusals said as what to fix. The fake GitHub verifies the JWT
with the App's public key and refuses expired tokens (tests/platform_fakes.py)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from hunkwise.config.settings import Settings
from hunkwise.errors import ConfigurationError
from hunkwise.gateway import Secret
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.github_app import JWT_BACKDATE_S, REFRESH_MARGIN_S, GitHubApp
from hunkwise.platforms.review_post import PlatformAuthError, PlatformNotFound, PlatformUnavailable
from platform_fakes import FakeGitHub, FakeGitHubApp, rsa_key_pair

API = "https://api.github.com"
APP_ID = 424242
INSTALLATION = 77001
T0 = 1_800_000_000.0


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return rsa_key_pair()


class Clock:
    """The one clock of a test, shared by hunkwise's App and the fake GitHub: moved by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _world(keys: tuple[str, str], clock: Clock, *, app_id: int = APP_ID) -> tuple[FakeGitHub, GitHubApp]:
    fake = FakeGitHub(user=None)
    fake.app = FakeGitHubApp(APP_ID, keys[1], installations={INSTALLATION: "acme"}, clock=clock)
    app = GitHubApp(app_id, Secret(keys[0]), API, transport=fake.transport(), clock=clock)
    return fake, app


def test_the_jwt_is_what_github_asks_for(keys: tuple[str, str]) -> None:
    import jwt

    clock = Clock()
    _, app = _world(keys, clock)
    claims = jwt.decode(
        app.jwt(), keys[1], algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims["iss"] == str(APP_ID)
    assert claims["iat"] == int(T0) - JWT_BACKDATE_S
    assert 0 < claims["exp"] - T0 <= 600  # GitHub: no more than 10 minutes into the future


async def test_tokens_rotate_on_a_fast_forwarded_clock(keys: tuple[str, str]) -> None:
    clock = Clock()
    fake, app = _world(keys, clock)
    async with GitHubClient(app.provider(INSTALLATION), API, transport=fake.transport()) as gh:
        await gh.list_reviews("acme/widgets", 1)
        await gh.list_reviews("acme/widgets", 1)
        first = fake.app.tokens_used(fake.requests)  # type: ignore[union-attr]
        assert len(set(first)) == 1 and first[0].startswith("ghs_")
        assert app.exchanges == 1  # cached: one exchange for two requests
        token_a = first[0]

        clock.now = T0 + 3600 - REFRESH_MARGIN_S + 1  # inside the margin before A's expiry
        await gh.list_reviews("acme/widgets", 1)
        token_b = fake.app.tokens_used(fake.requests)[-1]  # type: ignore[union-attr]
        assert token_b != token_a
        assert app.exchanges == 2

    clock.now = T0 + 3600 + 1  # A has expired at GitHub: the fake refuses it like GitHub does
    async with GitHubClient(Secret(token_a), API, transport=fake.transport()) as stale:
        with pytest.raises(PlatformAuthError) as refused:
            await stale.list_reviews("acme/widgets", 1)
    assert refused.value.status == 401
    assert fake.app.refused[-1].startswith("Bad credentials")  # type: ignore[union-attr]


async def test_concurrent_callers_share_one_refresh(keys: tuple[str, str]) -> None:
    clock = Clock()
    fake, app = _world(keys, clock)
    tokens = await asyncio.gather(*(app.installation_token(INSTALLATION) for _ in range(8)))
    assert len({t.reveal() for t in tokens}) == 1
    assert app.exchanges == 1
    exchanges = [r for r in fake.requests if r.url.path.endswith("/access_tokens")]
    assert len(exchanges) == 1


async def test_a_token_github_refuses_is_replaced_once(keys: tuple[str, str]) -> None:
    clock = Clock()
    fake, app = _world(keys, clock)
    async with GitHubClient(app.provider(INSTALLATION), API, transport=fake.transport()) as gh:
        await gh.list_reviews("acme/widgets", 1)
        fake.app.issued.clear()  # type: ignore[union-attr]  # GitHub revoked every token it issued
        await gh.list_reviews("acme/widgets", 1)
    assert app.exchanges == 2
    used = fake.app.tokens_used(fake.requests)  # type: ignore[union-attr]
    assert used[0] == used[1] != used[2]  # the refused request was sent again with a new token


async def test_a_wrong_key_is_a_401_naming_the_settings(keys: tuple[str, str]) -> None:
    clock = Clock()
    other_private, _ = rsa_key_pair()
    fake, _ = _world(keys, clock)
    wrong = GitHubApp(APP_ID, Secret(other_private), API, transport=fake.transport(), clock=clock)
    with pytest.raises(PlatformAuthError) as caught:
        await wrong.installation_token(INSTALLATION)
    message = str(caught.value)
    assert caught.value.status == 401
    assert "HUNKWISE_GITHUB_APP_ID" in message and "HUNKWISE_GITHUB_APP_PRIVATE_KEY" in message
    assert other_private.splitlines()[1] not in message  # the key never appears
    assert "could not be decoded" in fake.app.refused[-1]  # type: ignore[union-attr]


async def test_a_wrong_app_id_is_a_401(keys: tuple[str, str]) -> None:
    clock = Clock()
    fake, app = _world(keys, clock, app_id=APP_ID + 1)
    with pytest.raises(PlatformAuthError, match="HUNKWISE_GITHUB_APP_ID"):
        await app.installation_token(INSTALLATION)
    assert "Issuer" in fake.app.refused[-1]  # type: ignore[union-attr]


async def test_a_jwt_from_a_clock_far_behind_is_refused_as_expired(keys: tuple[str, str]) -> None:
    clock = Clock()
    fake, _ = _world(keys, clock)
    behind = GitHubApp(APP_ID, Secret(keys[0]), API, transport=fake.transport(), clock=lambda: T0 - 900)
    with pytest.raises(PlatformAuthError, match="clock"):
        await behind.installation_token(INSTALLATION)
    assert "Expiration time" in fake.app.refused[-1]  # type: ignore[union-attr]


async def test_suspended_and_deleted_installations_say_so(keys: tuple[str, str]) -> None:
    clock = Clock()
    fake, app = _world(keys, clock)
    fake.app.suspended.add(INSTALLATION)  # type: ignore[union-attr]
    with pytest.raises(PlatformAuthError, match="suspended") as suspended:
        await app.installation_token(INSTALLATION)
    assert suspended.value.status == 403
    with pytest.raises(PlatformNotFound, match="uninstalled"):
        await app.installation_token(INSTALLATION + 1)


async def test_github_says_what_an_installation_is(keys: tuple[str, str]) -> None:
    """``GET /app/installations/{id}`` as the App (its JWT, checked by the fake): the account,
    ``suspended_at`` as a flag, None for a 404; no installation token is minted for it."""
    clock = Clock()
    fake, app = _world(keys, clock)
    assert fake.app is not None
    fake.app.account_types[INSTALLATION] = "Organization"
    facts = await app.installation(INSTALLATION)
    assert facts is not None
    assert (facts.id, facts.account_login, facts.account_type) == (INSTALLATION, "acme", "Organization")
    assert facts.suspended is False and facts.repository_selection == "selected"
    fake.app.suspended.add(INSTALLATION)
    suspended = await app.installation(INSTALLATION)
    assert suspended is not None and suspended.suspended is True
    assert await app.installation(INSTALLATION + 1) is None
    assert fake.app.refused == ["Not Found"] and app.exchanges == 0
    assert [r.url.path for r in fake.requests] == [f"/app/installations/{INSTALLATION}"] * 2 + [
        f"/app/installations/{INSTALLATION + 1}"
    ]


async def test_an_unreachable_github_is_unavailable_not_a_404(keys: tuple[str, str]) -> None:
    """A 5xx and a refused connection are :class:`PlatformUnavailable` (the webhook route fails
    the delivery so it can be redelivered), never "no such installation"."""
    clock = Clock()
    fake, app = _world(keys, clock)
    assert fake.app is not None
    fake.app.down = True
    with pytest.raises(PlatformUnavailable, match="503"):
        await app.installation(INSTALLATION)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = GitHubApp(APP_ID, Secret(keys[0]), f"http://127.0.0.1:{port}", clock=clock, timeout_s=5)
    with pytest.raises(PlatformUnavailable, match="cannot reach GitHub"):
        await closed.installation(INSTALLATION)


def test_settings_read_the_key_from_a_file_and_refuse_what_is_not_one(
    keys: tuple[str, str], tmp_path: Path
) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text(keys[0])
    settings = Settings.from_env(
        {"HUNKWISE_GITHUB_APP_ID": "42", "HUNKWISE_GITHUB_APP_PRIVATE_KEY": str(pem)}
    )
    assert settings.github_app is not None and settings.github_app[0] == 42
    assert settings.github_app[1].reveal() == keys[0].strip()
    assert keys[0].splitlines()[1] not in repr(settings)
    with pytest.raises(ConfigurationError, match="HUNKWISE_GITHUB_APP_PRIVATE_KEY") as public:
        Settings.from_env({"HUNKWISE_GITHUB_APP_ID": "42", "HUNKWISE_GITHUB_APP_PRIVATE_KEY": keys[1]})
    assert "RSA private key" in str(public.value)
    with pytest.raises(ConfigurationError, match="cannot read"):
        Settings.from_env(
            {"HUNKWISE_GITHUB_APP_ID": "42", "HUNKWISE_GITHUB_APP_PRIVATE_KEY": str(tmp_path / "no.pem")}
        )
    with pytest.raises(ConfigurationError, match="needs both"):
        Settings.from_env({"HUNKWISE_GITHUB_APP_PRIVATE_KEY": keys[0]})


def test_config_show_masks_the_key(keys: tuple[str, str]) -> None:
    from hunkwise.cli.config_show import settings_rows

    settings = Settings.from_env({"HUNKWISE_GITHUB_APP_ID": "42", "HUNKWISE_GITHUB_APP_PRIVATE_KEY": keys[0]})
    rows = {r["setting"]: r["value"] for r in settings_rows(settings)}
    assert rows["HUNKWISE_GITHUB_APP_ID"] == 42
    shown = rows["HUNKWISE_GITHUB_APP_PRIVATE_KEY"]
    assert shown.startswith("••••") and "PRIVATE" not in shown and len(shown) <= 8


def test_a_key_pasted_without_its_pem_lines_is_refused_without_being_echoed(keys: tuple[str, str]) -> None:
    """A value with no ``-----BEGIN`` line is taken for a file's path; when it is really key
    material (the PEM's body alone, or the PEM base64-encoded as some secret stores keep it) the
    error must not print it back into a terminal or a log."""
    import base64

    body = "".join(keys[0].splitlines()[1:-1])
    for value in (body, base64.b64encode(keys[0].encode()).decode()):
        with pytest.raises(ConfigurationError) as info:
            Settings.from_env({"HUNKWISE_GITHUB_APP_ID": "42", "HUNKWISE_GITHUB_APP_PRIVATE_KEY": value})
        message = str(info.value)
        assert value[:16] not in message and value[-16:] not in message
        assert "HUNKWISE_GITHUB_APP_PRIVATE_KEY" in message and "-----BEGIN" in message


async def test_without_a_bot_login_only_this_apps_bot_is_trusted(keys: tuple[str, str]) -> None:
    """In App mode without ``HUNKWISE_GITHUB_BOT_LOGIN`` the App's own bot (``<slug>[bot]``, the
    slug from ``GET /app``) is hunkwise: a review with a hunkwise marker by any other App's bot
    (a workflow's ``github-actions[bot]``, another App) is not trusted, else a pull request's
    author could post a marker naming the head and have the push skipped as already reviewed."""
    clock = Clock()
    fake, app = _world(keys, clock)
    fake.app.slug = "hunkwise-acme"  # type: ignore[union-attr]
    marker = "<!-- hunkwise:review:" + "a" * 40 + " -->"

    def review(login: str) -> dict[str, object]:
        return {
            "user": {"id": 1, "login": login, "type": "Bot"},
            "body": marker,
            "performed_via_github_app": {},
        }

    async with GitHubClient(app.provider(INSTALLATION), API, transport=fake.transport()) as gh:
        assert not await gh.is_own(review("github-actions[bot]"))
        assert not await gh.is_own(review("someone-elses-app[bot]"))
        assert await gh.is_own(review("hunkwise-acme[bot]"))
        assert await gh.is_own(review("Hunkwise-Acme[bot]"))
    asked = [r for r in fake.requests if r.url.path == "/app"]
    assert len(asked) == 1  # once per App, not per review
