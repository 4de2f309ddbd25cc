"""The Gitea/Forgejo settings: the instance URL is checked with an error that says what to set,
and the token and webhook secret are masked wherever settings are shown."""

from __future__ import annotations

import pytest

from hunkwise.cli.config_show import settings_rows
from hunkwise.config.settings import Settings
from hunkwise.errors import ConfigurationError
from hunkwise.platforms.gitea_webhooks import api_root


def test_the_instance_url_is_its_web_address() -> None:
    settings = Settings.from_env({"HUNKWISE_GITEA_URL": " https://codeberg.org/ "})
    assert settings.gitea_url == "https://codeberg.org"
    assert api_root(settings.gitea_url) == "https://codeberg.org/api/v1"
    below = Settings.from_env({"HUNKWISE_GITEA_URL": "https://example.com/git"})
    assert api_root(below.gitea_url or "") == "https://example.com/git/api/v1"
    assert Settings.from_env({"HUNKWISE_GITEA_URL": "  "}).gitea_url is None


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("codeberg.org", "expected http(s)://HOST[/PATH]"),
        ("ftp://gitea.example.com", "expected http(s)://HOST[/PATH]"),
        ("https://gitea.example.com/?token=x", "expected http(s)://HOST[/PATH]"),
        ("https://gitea.example.com/api/v1", "'https://gitea.example.com'): hunkwise adds /api/v1"),
    ],
)
def test_a_wrong_instance_url_names_the_variable_and_the_fix(value: str, said: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"HUNKWISE_GITEA_URL": value})
    assert caught.value.setting == "HUNKWISE_GITEA_URL" and said in str(caught.value)


def test_token_and_secret_are_masked_in_config_show() -> None:
    settings = Settings.from_env(
        {
            "HUNKWISE_GITEA_URL": "https://gitea.example.com",
            "HUNKWISE_GITEA_TOKEN": "gitea-token-abcd1234",
            "HUNKWISE_GITEA_WEBHOOK_SECRET": "hook-secret-wxyz",
        }
    )
    rows = {r["setting"]: r for r in settings_rows(settings)}
    assert rows["HUNKWISE_GITEA_URL"]["value"] == "https://gitea.example.com"
    assert rows["HUNKWISE_GITEA_TOKEN"]["value"].endswith("1234")
    assert "gitea-token" not in rows["HUNKWISE_GITEA_TOKEN"]["value"]
    assert rows["HUNKWISE_GITEA_WEBHOOK_SECRET"]["value"].endswith("wxyz")
    assert "hook-secret" not in rows["HUNKWISE_GITEA_WEBHOOK_SECRET"]["value"]
    assert {rows[k]["source"] for k in rows if "GITEA" in k} == {"env"}
