"""The Bitbucket settings: read once by Settings, the uuid checked at start-up, the token and
the webhook secret masked by ``hunkwise config show``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from hunkwise.cli.app import app
from hunkwise.config.settings import Settings

UUID = "5f0c9d3e-1b2a-4c5d-8e7f-0a1b2c3d4e5f"


def test_settings_read_the_bitbucket_variables() -> None:
    s = Settings.from_env(
        {
            "HUNKWISE_BITBUCKET_TOKEN": " bb-token ",
            "HUNKWISE_BITBUCKET_USERNAME": " bot@example.com ",
            "HUNKWISE_BITBUCKET_API_URL": "https://bb.example/2.0/",
            "HUNKWISE_BITBUCKET_BOT_UUID": UUID,
            "HUNKWISE_BITBUCKET_WEBHOOK_SECRET": " kept as written ",
        }
    )
    assert s.bitbucket_token is not None and s.bitbucket_token.reveal() == "bb-token"
    assert s.bitbucket_username == "bot@example.com"
    assert s.bitbucket_bot_uuid == "{" + UUID + "}", "braces added: comments carry them"
    assert s.bitbucket_webhook_secret is not None
    assert s.bitbucket_webhook_secret.get_secret_value() == " kept as written "
    assert Settings.from_env({}).bitbucket_token is None


@pytest.mark.parametrize("value", ["nope", "{5f0c9d3e}", UUID + "0"])
def test_a_bot_uuid_that_is_not_one_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ValidationError, match="HUNKWISE_BITBUCKET_BOT_UUID"):
        Settings.from_env({"HUNKWISE_BITBUCKET_BOT_UUID": value})


def test_config_show_masks_the_token_and_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {
        "HUNKWISE_HOME": str(tmp_path / "home"),
        "HUNKWISE_BITBUCKET_TOKEN": "bb-access-token-7777",
        "HUNKWISE_BITBUCKET_WEBHOOK_SECRET": "bb-webhook-secret-8888",
        "HUNKWISE_BITBUCKET_BOT_UUID": "{" + UUID + "}",
    }
    result = CliRunner().invoke(app, ["config", "show", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert "bb-access-token" not in result.output and "bb-webhook-secret" not in result.output
    rows = {r["setting"]: r["value"] for r in json.loads(result.output)["settings"]}
    assert rows["HUNKWISE_BITBUCKET_TOKEN"] == "••••7777"
    assert rows["HUNKWISE_BITBUCKET_WEBHOOK_SECRET"] == "••••8888"
    assert rows["HUNKWISE_BITBUCKET_BOT_UUID"] == "{" + UUID + "}"


@pytest.mark.parametrize(
    "value",
    ["api.bitbucket.org/2.0", "ftp://api.bitbucket.org/2.0", "https://api.bitbucket.org/2.0?x=1", "https://"],
)
def test_an_api_url_that_is_not_one_is_refused_at_start_up_naming_the_variable(value: str) -> None:
    # Was accepted: every delivery was then refused as "not on the configured Bitbucket host ''"
    # and every job failed on a URL httpx cannot send; Gitea's and Azure's URLs are checked here.
    from hunkwise.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"HUNKWISE_BITBUCKET_API_URL": value})
    assert caught.value.setting == "HUNKWISE_BITBUCKET_API_URL"
    assert "https://api.bitbucket.org/2.0" in str(caught.value)
    ok = Settings.from_env({"HUNKWISE_BITBUCKET_API_URL": "http://127.0.0.1:8080/2.0/"})
    assert ok.bitbucket_api_url == "http://127.0.0.1:8080/2.0"
