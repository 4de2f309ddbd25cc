"""The one GitHub client factory (jobs/github_clients.py): personal-token mode sends the token;
App mode sends the installation's token, found from the job's installation id or, for a job
that names none (a command, a re-run), from the organization's active installation in the store;
no installation is a configuration error that says what to do."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from hunkwise.config.settings import Settings
from hunkwise.jobs.github_clients import GitHubClients
from hunkwise.platforms.review_post import PlatformAuthError
from hunkwise.store import github_installations as installations
from platform_fakes import FakeGitHub, FakeGitHubApp, rsa_key_pair

APP_ID = 5150
INSTALLATION = 88


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return rsa_key_pair()


def app_settings(keys: tuple[str, str]) -> Settings:
    return Settings.from_env(
        {
            "HUNKWISE_GITHUB_APP_ID": str(APP_ID),
            "HUNKWISE_GITHUB_APP_PRIVATE_KEY": keys[0],
            "HUNKWISE_GITHUB_TOKEN": "ghp_not_for_app_mode",
        }
    )


async def test_token_mode_sends_the_personal_token(engine: Engine) -> None:
    fake = FakeGitHub()
    clients = GitHubClients(
        Settings.from_env({"HUNKWISE_GITHUB_TOKEN": "ghp_personal"}), engine, transport=fake.transport()
    )
    assert clients.mode == "token" and clients.app is None
    async with clients.client("acme", INSTALLATION) as gh:
        await gh.list_reviews("acme/api", 1)
    assert fake.requests[-1].headers["authorization"] == "Bearer ghp_personal"


async def test_app_mode_finds_the_organizations_installation(engine: Engine, keys: tuple[str, str]) -> None:
    fake = FakeGitHub(user=None)
    fake.app = FakeGitHubApp(APP_ID, keys[1], installations={INSTALLATION: "Acme"})
    clients = GitHubClients(app_settings(keys), engine, transport=fake.transport())
    assert clients.mode == "app"
    async with clients.client("Acme") as gh:  # no installation id: a command's job
        with pytest.raises(PlatformAuthError, match="no active installation of the App on 'Acme'"):
            await gh.list_reviews("Acme/api", 1)
    assert fake.requests == []  # nothing was sent without a token
    installations.save_installation(
        engine, INSTALLATION, org="acme", account_login="Acme", account_type="Organization",
        repository_selection="all", suspended=False,
    )  # fmt: skip
    async with clients.client("Acme") as gh:
        await gh.list_reviews("Acme/api", 1)
    [token] = fake.app.issued
    assert token.endswith(f"i{INSTALLATION}")
    assert fake.requests[-1].headers["authorization"] == f"Bearer {token}"
    assert "ghp_not_for_app_mode" not in str([r.headers for r in fake.requests])


def _save(engine: Engine, installation: int, login: str, **kw: object) -> None:
    installations.save_installation(
        engine, installation, org=login.lower(), account_login=login, account_type="Organization",
        repository_selection="selected", suspended=bool(kw.get("suspended", False)),
        repositories=list(kw.get("repositories", ["Acme/api"])),  # type: ignore[call-overload]
    )  # fmt: skip


async def test_a_jobs_installation_is_checked_again_when_it_runs(
    engine: Engine, keys: tuple[str, str]
) -> None:
    """The worker side of the webhook's gate: a job's stored installation id must be one the store
    knows, active, on the repository owner's account, and the repository must not be turned off;
    otherwise no token is asked for (the job may have waited while an owner changed that)."""
    from hunkwise.platforms.github_webhooks import PullRequestEvent

    fake = FakeGitHub(user=None)
    fake.app = FakeGitHubApp(APP_ID, keys[1], installations={INSTALLATION: "Acme", 99: "Other"})
    clients = GitHubClients(app_settings(keys), engine, transport=fake.transport())
    _save(engine, INSTALLATION, "Acme")
    _save(engine, 99, "Other", repositories=["Other/web"])

    def event(owner: str, installation: int | None) -> PullRequestEvent:
        return PullRequestEvent(
            action="opened", owner=owner, repository=f"{owner}/api", number=1, head_sha="a" * 40,
            base_sha="b" * 40, draft=False, installation_id=installation, api_url=clients.api_url,
        )  # fmt: skip

    async def refused(ev: PullRequestEvent, why: str) -> None:
        async with clients.for_event(ev) as gh:
            with pytest.raises(PlatformAuthError, match=why):
                await gh.list_reviews(ev.repository, 1)

    # installation 99 is Other's: never used for Acme's repository (job payload vs owner)
    await refused(event("Acme", 99), "repository owner 'Acme' is not the installation's account 'Other'")
    await refused(event("Acme", 4242), "installation 4242 is not known here")
    installations.set_repository_enabled(engine, "acme", "Acme/api", False)
    await refused(event("Acme", INSTALLATION), "reviews of Acme/api are turned off")
    await refused(event("Acme", None), "reviews of Acme/api are turned off")  # a command's job
    installations.set_repository_enabled(engine, "acme", "Acme/api", True)
    installations.set_suspended(engine, INSTALLATION, True)
    await refused(event("Acme", INSTALLATION), f"installation {INSTALLATION} is suspended")
    assert fake.app.minted == 0 and fake.requests == []  # no token was asked for, nothing sent
    installations.set_suspended(engine, INSTALLATION, False)
    async with clients.for_event(event("Acme", INSTALLATION)) as gh:
        await gh.list_reviews("Acme/api", 1)
    assert fake.app.minted == 1
