"""The BYOK input rules hold on the CLI's paths too: environment, flags and ``.hunkwise.toml`` give
the same one-line error (exit 2 from ``hunkwise test``) as the server's 422, never a crash at
request time, and never the key itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hunkwise.cli.app import app
from hunkwise.config.resolve import resolve_config
from hunkwise.config.settings import Settings
from hunkwise.errors import ConfigurationError

SMART_KEY = "zai-key\u201c0123456789"


@pytest.fixture(autouse=True)
def _outside_any_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _error(env: dict[str, str], cwd: Path) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        resolve_config(settings=Settings.from_env(env), cwd=cwd)
    return caught.value


@pytest.mark.parametrize(
    ("env", "setting", "needle"),
    [
        ({"HUNKWISE_MODEL": "glm-5.1", "HUNKWISE_API_KEY": SMART_KEY}, "HUNKWISE_API_KEY", "U+201C"),
        ({"ZAI_API_KEY": SMART_KEY}, "ZAI_API_KEY", "U+201C"),
        ({"ZAI_API_KEY": "zai-key\t0123"}, "ZAI_API_KEY", "a tab at character 8"),
        (
            {"HUNKWISE_MODEL": "glm-5.1", "HUNKWISE_API_KEY_ENV": "MY_KEY", "MY_KEY": "my key 0123"},
            "MY_KEY",
            "a space",
        ),
        ({"ZAI_API_KEY": "k-0123", "ZAI_BASE_URL": "https://api.z.ai/api\n/paas/v4"}, "ZAI_BASE_URL", "LF"),
        (
            {"ZAI_API_KEY": "k-0123", "HUNKWISE_BASE_URL": "https://x.example/" + "a" * 2100},
            "HUNKWISE_BASE_URL",
            "2,048",
        ),
        (
            {"ZAI_API_KEY": "k-0123", "HUNKWISE_MAX_CONCURRENT": "1000000000"},
            "HUNKWISE_MAX_CONCURRENT",
            "1 to 1,000",
        ),
        (
            {"ZAI_API_KEY": "k-0123", "HUNKWISE_MAX_OUTPUT_TOKENS": str(10**12)},
            "HUNKWISE_MAX_OUTPUT_TOKENS",
            "1,000,000",
        ),
        (
            {"ZAI_API_KEY": "k-0123", "HUNKWISE_MAX_OUTPUT_TOKENS": "40000"},
            "HUNKWISE_MAX_OUTPUT_TOKENS",
            "32,768",
        ),
        ({"ZAI_API_KEY": "k-0123", "HUNKWISE_THINKING": '{"stream": true}'}, "HUNKWISE_THINKING", '"stream"'),
    ],
)
def test_environment_gets_the_same_rules(
    tmp_path: Path, env: dict[str, str], setting: str, needle: str
) -> None:
    err = _error({"HUNKWISE_HOME": str(tmp_path), **env}, tmp_path)
    assert err.setting == setting and needle in str(err), str(err)
    assert SMART_KEY not in str(err) and "0123456789" not in str(err)


def test_a_repository_file_gets_the_same_rules(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    config = tmp_path / ".hunkwise.toml"
    config.write_text(
        '[main]\nprovider = "openai_compatible"\nmodel = "m"\nbase_url = "https://x.example/v1\\r\\nX: 1"\n'
    )
    err = _error({"HUNKWISE_HOME": str(tmp_path / "home"), "OPENAI_API_KEY": "k-0123"}, tmp_path)
    assert err.setting == "main.base_url" and str(config) in str(err) and "line break (CR)" in str(err)
    config.write_text('[main]\ncard = "glm-5.1"\nthinking = {openaiCompatible = {model = "glm-4.5"}}\n')
    err = _error({"HUNKWISE_HOME": str(tmp_path / "home"), "ZAI_API_KEY": "k-0123"}, tmp_path)
    assert err.setting is not None and err.setting.startswith("main.thinking") and '"model"' in str(err)


def test_hunkwise_test_exits_2_with_one_line_and_sends_nothing(tmp_path: Path) -> None:
    env = {"HUNKWISE_HOME": str(tmp_path), "HUNKWISE_MODEL": "glm-5.1", "HUNKWISE_API_KEY": SMART_KEY}
    result = CliRunner().invoke(app, ["test"], env=env)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "HUNKWISE_API_KEY" in lines[0] and "U+201C" in lines[0]
    assert "Traceback" not in result.output and SMART_KEY not in result.output


def test_the_rules_name_the_problem_without_the_key() -> None:
    from hunkwise.config.validation import api_key_problem, url_text_problem

    assert api_key_problem("sk-proj-ABC_def.123~") is None
    assert api_key_problem("k" * 4096) is None
    message = api_key_problem("sk-secret-part\u00a0more-secret") or ""
    assert "U+00A0 NO-BREAK SPACE" in message and "at character 15" in message
    assert "secret" not in message
    assert url_text_problem("https://bücher.example/v1") is None  # an international name is a URL
    assert "U+0000" in (url_text_problem("https://x.example/\x00") or "")
