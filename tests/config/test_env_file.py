"""The services' env file: parsed strictly, below the process environment, and traceable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hunkwise.cli.app import app
from hunkwise.config.env_file import EnvFile, merged_environment, read_env_file, service_env_file
from hunkwise.config.resolve import resolve_config
from hunkwise.config.settings import Settings
from hunkwise.errors import ConfigurationError


def _file(tmp_path: Path, text: str, name: str = ".env") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_names_values_comments_export_and_quotes_literally(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "# shared by the API and the workers\n\nexport HUNKWISE_JOB_WORKERS=3\n"
        "HUNKWISE_ADMIN_TOKEN='pa$$word ${HOME}'\nHUNKWISE_QUEUE_NAME=\"reviews\"  # inline comment\n",
    )
    read = read_env_file(path)
    assert read.path == path
    assert dict(read.values) == {
        "HUNKWISE_JOB_WORKERS": "3",
        "HUNKWISE_ADMIN_TOKEN": "pa$$word ${HOME}",  # no expansion: a secret arrives as written
        "HUNKWISE_QUEUE_NAME": "reviews",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "HUNKWISE_DEV=1\nHUNKWISE_QUEUE_URL amqp://x\n",
            "line 2: cannot parse 'HUNKWISE_QUEUE_URL amqp://x'",
        ),
        (
            "HUNKWISE_DEV=1\nHUNKWISE_MODEL\n",
            "line 2: HUNKWISE_MODEL has no value; write HUNKWISE_MODEL=value",
        ),
        ("HUNKWISE-MODEL=glm\n", "line 1: 'HUNKWISE-MODEL' is not a variable name"),
    ],
)
def test_a_bad_line_is_an_error_naming_the_file_and_the_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ConfigurationError) as info:
        read_env_file(path)
    assert f"{path} {expected}" in str(info.value)
    assert info.value.setting == "--env-file"


def test_missing_directory_and_binary_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist; pass an existing file"):
        read_env_file(tmp_path / "nope.env")
    with pytest.raises(ConfigurationError, match="is a directory"):
        read_env_file(tmp_path)
    binary = tmp_path / "bin.env"
    binary.write_bytes(b"A=\xff\xfe\n")
    with pytest.raises(ConfigurationError, match="is not UTF-8 text"):
        read_env_file(binary)


def test_the_service_file_is_the_flag_else_dot_env_here_else_none(tmp_path: Path) -> None:
    assert service_env_file(None, tmp_path) == EnvFile()
    here = _file(tmp_path, "HUNKWISE_DEV=1\n")
    assert service_env_file(None, tmp_path).path == here
    other = _file(tmp_path, "HUNKWISE_DEV=0\n", "other.env")
    assert service_env_file(other, tmp_path).values == {"HUNKWISE_DEV": "0"}
    with pytest.raises(ConfigurationError):
        service_env_file(tmp_path / "missing.env", tmp_path)


def test_the_process_environment_wins_unless_it_is_blank() -> None:
    env_file = EnvFile(Path("/srv/.env"), {"A": "file", "B": "file", "C": "file"})
    merged = merged_environment({"A": "process", "B": "  ", "D": "process"}, env_file)
    assert merged == {"A": "process", "B": "file", "C": "file", "D": "process"}


def test_settings_say_where_each_variable_came_from_and_blame_the_file() -> None:
    env_file = EnvFile(Path("/srv/hunkwise.env"), {"HUNKWISE_JOB_WORKERS": "5", "HUNKWISE_DEV": "1"})
    settings = Settings.from_env({"HUNKWISE_JOB_WORKERS": "3"}, env_file=env_file)
    assert (settings.job_workers, settings.dev) == (3, True)
    assert settings.source_of("HUNKWISE_JOB_WORKERS") == "env"
    assert settings.source_of("HUNKWISE_DEV") == ".env (/srv/hunkwise.env)"
    assert settings.source_of("HUNKWISE_QUEUE_URL") == "default"
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({}, env_file=EnvFile(Path("/srv/hunkwise.env"), {"HUNKWISE_JOB_WORKERS": "many"}))
    assert str(info.value).endswith("(set in /srv/hunkwise.env)")
    with pytest.raises(ConfigurationError) as info:  # the process's bad value is not the file's fault
        Settings.from_env({"HUNKWISE_JOB_WORKERS": "many"}, env_file=env_file)
    assert "hunkwise.env" not in str(info.value)


def test_slot_sources_name_the_env_file(tmp_path: Path) -> None:
    env_file = EnvFile(tmp_path / ".env", {"HUNKWISE_MODEL": "glm-5.1", "ZAI_API_KEY": "zk-file-key-0001"})
    settings = Settings.from_env({"HUNKWISE_PLAN": "developer"}, env_file=env_file)
    resolved = resolve_config({}, settings=settings, cwd=tmp_path)
    assert resolved.sources["main.model"] == f".env ({tmp_path / '.env'}): HUNKWISE_MODEL"
    assert resolved.sources["main.plan"] == "env: HUNKWISE_PLAN"
    assert resolved.main.api_key.reveal() == "zk-file-key-0001"


def test_config_show_masks_secrets_and_lists_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _file(tmp_path, "HUNKWISE_ADMIN_TOKEN=admin-token-abcd-9876\nHUNKWISE_JOB_WORKERS=4\n")
    env = {"HUNKWISE_HOME": str(tmp_path / "home"), "HUNKWISE_DEV": "1"}
    result = CliRunner().invoke(app, ["config", "show", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert "admin-token-abcd" not in result.output
    report = json.loads(result.output)
    rows = {r["setting"]: (r["value"], r["source"]) for r in report["settings"]}
    dot_env = f".env ({tmp_path / '.env'})"
    assert rows["HUNKWISE_ADMIN_TOKEN"] == ("••••9876", dot_env)
    assert rows["HUNKWISE_JOB_WORKERS"] == (4, dot_env)
    assert rows["HUNKWISE_DEV"] == (True, "env")
    assert "HUNKWISE_QUEUE_URL" not in rows  # defaults only with --all
    everything = json.loads(CliRunner().invoke(app, ["config", "show", "--json", "--all"], env=env).output)
    assert ("HUNKWISE_QUEUE_URL", None, "default") in {
        (r["setting"], r["value"], r["source"]) for r in everything["settings"]
    }


def test_worker_reads_its_env_file(tmp_path: Path) -> None:
    env_file = _file(tmp_path, "HUNKWISE_JOB_WORKERS=lots\n", "worker.env")
    result = CliRunner().invoke(app, ["worker", "--check", "--env-file", str(env_file)], env={})
    # CliRunner bypasses main(), which prints this as one line and exits 2 (the journeys run that).
    assert isinstance(result.exception, ConfigurationError), result.output
    assert str(result.exception).endswith(f"(set in {env_file})")
