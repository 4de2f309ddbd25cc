"""resolve_config: flags > env > repo file > user file > defaults, per setting; zero-config; files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hunkwise.config.paths import find_repo_config
from hunkwise.config.problems import ConfigFileError
from hunkwise.config.resolve import NoModelConfigured, ResolvedConfig
from hunkwise.config.resolve import resolve_config as _resolve_config
from hunkwise.config.settings import Settings
from hunkwise.errors import ConfigurationError


def resolve_config(flags: dict | None = None, *, env: dict[str, str], **kw: object) -> ResolvedConfig:
    """The settings a process would read from ``env``, then the resolution."""
    return _resolve_config(flags, settings=Settings.from_env(env), **kw)  # type: ignore[arg-type]


KEY = "zai-key-0123456789"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "src" / "pkg").mkdir(parents=True)
    return root


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def env_with(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment whose user config file is tmp_path/user.toml (absent unless a test writes it)."""
    return {"HUNKWISE_HOME": str(tmp_path), "ZAI_API_KEY": KEY, **extra}


USER = """
profile = "team"
[profiles.team.main]
card = "glm-5.1"
plan = "coding"
tier = "pro"
temperature = 0.1
max_output_tokens = 1000
api_key_env = "ZAI_CODING_KEY"
[profiles.team.fallback]
card = "gpt-5-mini"
api_key_env = "OPENAI_API_KEY"
[profiles.solo.main]
card = "glm-4.5"
[models."glm-5.1"]
input_price = 1.2
[tiers.lite]
prompts_5h = 100
"""

REPO = """
[profiles.team.main]
tier = "max"
temperature = 0.2
[models."glm-5.1"]
output_price = 4.0
"""


def test_precedence_flags_over_env_over_repo_over_user_over_defaults(tmp_path: Path, repo: Path) -> None:
    write(tmp_path / "config.toml", USER)
    write(repo / ".hunkwise.toml", REPO, 0o644)
    env = env_with(
        tmp_path,
        ZAI_CODING_KEY="coding-key-000001",
        OPENAI_API_KEY="sk-000000001",
        HUNKWISE_TEMPERATURE="0.3",
    )
    cfg = resolve_config({"max_concurrent": 7}, env=env, cwd=repo / "src" / "pkg")
    main, fallback = cfg.slots
    assert main.model == "glm-5.1" and main.plan == "coding"  # user file
    assert main.tier == "max"  # repo beats user
    assert main.temperature == 0.3  # env beats repo and user
    assert main.max_concurrent == 7  # flag beats the tier's 30
    assert main.max_output_tokens == 1000  # user file, untouched by higher layers
    assert main.timeout_s == 120.0  # default
    assert main.api_key.reveal() == "coding-key-000001"
    assert (fallback.model, fallback.provider) == ("gpt-5-mini", "openai")
    assert (
        cfg.sources["main.tier"].startswith("repo:") and "profiles.team.main.tier" in cfg.sources["main.tier"]
    )
    assert cfg.sources["main.temperature"] == "env: HUNKWISE_TEMPERATURE"
    assert cfg.sources["main.max_concurrent_requests"] == "flag: --max-concurrent"
    assert cfg.sources["main.model"].startswith("user:")
    assert cfg.sources["profile"].startswith("user file")
    assert cfg.profile == "team" and cfg.fixed_mode is True
    # catalog overrides from both files; repo values win field by field
    assert (main.input_price, main.output_price) == (1.2, 4.0)
    assert cfg.catalog.tiers["lite"].prompts_5h == 100


def test_flag_beats_env_for_the_same_setting(tmp_path: Path) -> None:
    env = env_with(tmp_path, HUNKWISE_PLAN="coding", HUNKWISE_TIER="lite")
    cfg = resolve_config({"tier": "max"}, env=env, cwd=tmp_path)
    assert (cfg.main.tier, cfg.main.max_concurrent) == ("max", 30)


def test_profile_flag_and_env_select_profiles(tmp_path: Path, repo: Path) -> None:
    write(tmp_path / "config.toml", USER)
    env = env_with(tmp_path)
    assert resolve_config(env=env, cwd=repo, profile="solo").main.model == "glm-4.5"
    assert resolve_config(env={**env, "HUNKWISE_PROFILE": "solo"}, cwd=repo).main.model == "glm-4.5"
    with pytest.raises(ConfigurationError, match=r"profile 'nope' .*defined profiles: solo, team"):
        resolve_config(env=env, cwd=repo, profile="nope")


def test_switching_provider_drops_the_lower_layers_connection_settings(tmp_path: Path, repo: Path) -> None:
    write(tmp_path / "config.toml", USER)
    env = env_with(tmp_path, ZAI_CODING_KEY="coding-key-000001", OPENAI_API_KEY="sk-000000001")
    cfg = resolve_config({"model": "gpt-5"}, env=env, cwd=repo)
    assert (cfg.main.provider, cfg.main.plan, cfg.main.tier, cfg.main.max_concurrent) == (
        "openai",
        None,
        None,
        None,
    )
    assert cfg.main.api_key.reveal() == "sk-000000001"
    assert any("switch the provider from zai to openai" in n for n in cfg.notes)


def test_zero_config_with_only_zai_key(tmp_path: Path) -> None:
    cfg = resolve_config(env=env_with(tmp_path), cwd=tmp_path)
    assert len(cfg.slots) == 1
    s = cfg.main
    assert (s.provider, s.model, s.plan, s.base_url, s.max_concurrent) == (
        "zai",
        "glm-5.1",
        "developer",
        "https://api.z.ai/api/paas/v4",
        None,
    )
    assert cfg.fixed_mode is False
    assert any("zero-config" in n and "Developer API" in n for n in cfg.notes)


def test_zero_config_openai_key_becomes_the_fallback_and_says_so(tmp_path: Path) -> None:
    cfg = resolve_config(env=env_with(tmp_path, OPENAI_API_KEY="sk-000000001"), cwd=tmp_path)
    assert [s.model for s in cfg.slots] == ["glm-5.1", "gpt-5-mini"]
    assert any(n.startswith("fallback: GPT-5 mini") and "OPENAI_API_KEY" in n for n in cfg.notes)
    anthropic = resolve_config(env=env_with(tmp_path, ANTHROPIC_API_KEY="sk-ant-0000001"), cwd=tmp_path)
    assert anthropic.slots[1].model == "claude-haiku-4-5"
    off = resolve_config(
        env=env_with(tmp_path, OPENAI_API_KEY="sk-000000001", HUNKWISE_FALLBACK_MODEL="none"), cwd=tmp_path
    )
    assert len(off.slots) == 1 and any("disabled" in n for n in off.notes)


def test_zero_config_base_urls_from_env(tmp_path: Path) -> None:
    env = env_with(
        tmp_path,
        ZAI_BASE_URL="http://127.0.0.1:7001/api/paas/v4",
        OPENAI_API_KEY="sk-000000001",
        OPENAI_BASE_URL="http://127.0.0.1:7001/v1",
        HUNKWISE_PLAN="coding",
    )
    cfg = resolve_config(env=env, cwd=tmp_path)
    assert cfg.main.base_url == "http://127.0.0.1:7001/api/coding/paas/v4"
    assert cfg.slots[1].base_url == "http://127.0.0.1:7001/v1"


def test_fixed_mode_fallback_slot_from_env(tmp_path: Path) -> None:
    env = env_with(
        tmp_path,
        HUNKWISE_MODEL="glm-5.1",
        HUNKWISE_PLAN="coding",
        HUNKWISE_TIER="lite",
        HUNKWISE_API_KEY="coding-key-000002",
        HUNKWISE_THINKING='{"thinking": {"type": "disabled"}}',
        HUNKWISE_FALLBACK_PROVIDER="zai",
        HUNKWISE_FALLBACK_PLAN="developer",
    )
    cfg = resolve_config(env=env, cwd=tmp_path)
    main, fallback = cfg.slots
    assert main.api_key.reveal() == "coding-key-000002" and main.thinking == {
        "thinking": {"type": "disabled"}
    }
    assert (fallback.model, fallback.plan, fallback.api_key.reveal()) == ("glm-5.1", "developer", KEY)
    assert cfg.fixed_mode


def test_no_slot_at_all_explains_how_to_configure(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_config(env={"HUNKWISE_HOME": str(tmp_path)}, cwd=tmp_path)
    text = str(info.value)
    assert isinstance(info.value, NoModelConfigured)  # each command adds what it offers instead
    assert "ZAI_API_KEY" in text and "HUNKWISE_MODEL" in text and "profile" in text
    assert "--offline" not in text  # review has that flag; chat and test do not


@pytest.mark.parametrize(
    ("var", "value", "words"),
    [
        ("HUNKWISE_MAX_CONCURRENT", "abc", "whole number"),
        ("HUNKWISE_TIER", "ultra", "one of lite, pro, max"),
        ("HUNKWISE_PLAN", "gold", "one of developer, coding"),
        ("HUNKWISE_PROVIDER", "mistral", "one of zai, openai_compatible, openai, anthropic"),
        ("HUNKWISE_TEMPERATURE", "warm", "a number from 0 to 2"),
        ("HUNKWISE_TIMEOUT", "0", "> 0"),
        ("HUNKWISE_FALLBACK_MAX_OUTPUT_TOKENS", "-5", "whole number"),
        ("HUNKWISE_BASE_URL", "https://api.z.ai/api/paas/v4/chat/completions", "remove the endpoint path"),
        ("HUNKWISE_THINKING", "{oops", "line 1, column 2"),
        ("HUNKWISE_MODEL", "glm-9", "not in the catalog"),
    ],
)
def test_bad_env_values_name_the_variable(tmp_path: Path, var: str, value: str, words: str) -> None:
    env = env_with(tmp_path, **{var: value})
    if var.startswith("HUNKWISE_FALLBACK_"):
        env["HUNKWISE_FALLBACK_MODEL"] = "glm-4.5"
    with pytest.raises(ConfigurationError) as info:
        resolve_config(env=env, cwd=tmp_path)
    assert info.value.setting == var, str(info.value)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_literal_key_in_the_repo_file_is_refused(tmp_path: Path, repo: Path) -> None:
    write(repo / ".hunkwise.toml", '[main]\ncard = "glm-5.1"\napi_key = "zai-literal-0001"\n', 0o644)
    with pytest.raises(ConfigurationError, match="must not contain a key") as info:
        resolve_config(env=env_with(tmp_path), cwd=repo)
    assert "zai-literal-0001" not in str(info.value)


def test_literal_key_in_the_user_file_needs_mode_0600(tmp_path: Path) -> None:
    path = write(tmp_path / "config.toml", '[main]\ncard = "glm-5.1"\napi_key = "zai-literal-0001"\n', 0o644)
    cfg = resolve_config(env=env_with(tmp_path), cwd=tmp_path)
    assert cfg.main.api_key.reveal() == "zai-literal-0001"
    assert any("chmod 600" in n for n in cfg.notes)
    path.chmod(0o600)
    assert not any("chmod" in n for n in resolve_config(env=env_with(tmp_path), cwd=tmp_path).notes)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[main\n", "{path} is not valid TOML"),
        ('colour = "red"\n', "unknown key `colour` at the top level of {path}; allowed here: fallback, main"),
        ("[colours]\nx = 1\n", "unknown section [colours] in {path}; allowed: fallback, main"),
        ('[main]\nmodle = "glm-5.1"\n', "unknown key `modle` in [main] of {path}; did you mean `model`?"),
        ('[main]\ntier = "gold"\n', 'tier = "gold" in [main] of {path}: expected one of lite, pro, max'),
        ('[models."glm-9"]\ninput_price = 1\n', "unknown model id `glm-9` in [models] of {path}"),
        ('[models."glm-5.1"]\ninput_price = "x"\n', 'input_price = "x" in [models."glm-5.1"] of {path}'),
        ('[models."glm-5.1"]\ninput_prise = 1\n', "did you mean `input_price`?"),
        ('[tiers.lite]\nid = "x"\n', "unknown key `id` in [tiers.lite]"),
        ("[profiles.x.primary]\n", "unknown key `primary` in [profiles.x] of {path}; allowed here: fallback"),
        ('[profiles.x.main]\nplan = "gold"\n', 'plan = "gold" in [profiles.x.main] of {path}: expected'),
        ("profiles = 3\n", "profiles = 3 at the top level of {path}: expected tables like [profiles.team"),
        ('[main]\napi_key_env = "sk-abc-1234"\n', "api_key_env = ••••1234 in [main]"),
    ],
)  # fmt: skip
def test_bad_files_name_the_file_and_setting(tmp_path: Path, repo: Path, text: str, words: str) -> None:
    path = write(repo / ".hunkwise.toml", text)
    with pytest.raises(ConfigFileError) as info:
        resolve_config(env=env_with(tmp_path), cwd=repo)
    [problem] = info.value.problems
    assert words.format(path=path) in problem.message
    assert "sk-abc-1234" not in problem.message


def test_every_problem_of_every_file_is_one_line(tmp_path: Path, repo: Path) -> None:
    user = write(tmp_path / "config.toml", '[main]\nthinkng = "high"\n')
    path = write(repo / ".hunkwise.toml", '[reviw]\n[main]\nmodle = "x"\nplan = "gold"\n')
    with pytest.raises(ConfigFileError) as info:
        resolve_config(env=env_with(tmp_path), cwd=repo)
    assert [p.message for p in info.value.problems] == [
        f"unknown key `thinkng` in [main] of {user}; did you mean `thinking`?",
        f'plan = "gold" in [main] of {path}: expected one of developer, coding',
        f"unknown key `modle` in [main] of {path}; did you mean `model`?",
        f"unknown section [reviw] in {path}; did you mean [review]?",
    ]
    assert str(info.value).splitlines() == [p.message for p in info.value.problems]


def test_missing_user_config_named_by_env_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="HUNKWISE_CONFIG points to"):
        resolve_config(
            env={"HUNKWISE_CONFIG": str(tmp_path / "missing.toml"), "ZAI_API_KEY": KEY}, cwd=tmp_path
        )


def test_repo_file_search_stops_at_the_git_root(tmp_path: Path, repo: Path) -> None:
    write(tmp_path / ".hunkwise.toml", "[main]\n")  # outside the repository: never read
    assert find_repo_config(repo / "src" / "pkg") is None
    write(repo / ".hunkwise.toml", "[main]\n")
    assert find_repo_config(repo / "src" / "pkg") == (repo / ".hunkwise.toml").resolve()
    outside = tmp_path / "plain"
    outside.mkdir()
    assert find_repo_config(outside) is None


def test_paths_follow_env(tmp_path: Path) -> None:
    env = {"HUNKWISE_HOME": str(tmp_path / "h"), "HUNKWISE_CONFIG": str(tmp_path / "c.toml")}
    settings = Settings.from_env(env)
    assert settings.home == tmp_path / "h" and settings.state_path == tmp_path / "h" / "state.db"
    assert settings.user_config == tmp_path / "c.toml"
    assert Settings.from_env({"HUNKWISE_HOME": str(tmp_path)}).user_config == tmp_path / "config.toml"
    assert Settings.from_env().state_path == Path(os.environ["HUNKWISE_HOME"]) / "state.db"


def test_as_dict_masks_keys(tmp_path: Path) -> None:
    data = resolve_config(env=env_with(tmp_path), cwd=tmp_path).as_dict()
    assert KEY not in repr(data) and data["slots"][0]["api_key"] == "••••6789"


def test_top_level_tables_are_the_base_of_every_profile(tmp_path: Path) -> None:
    write(
        tmp_path / "config.toml",
        '[main]\nthinking = "high"\ntimeout = 30\n'
        '[profiles.fast.main]\ncard = "glm-4.5-air"\nthinking = "off"\n',
    )
    cfg = resolve_config(env=env_with(tmp_path), cwd=tmp_path, profile="fast")
    assert (cfg.main.model, cfg.main.thinking, cfg.main.timeout_s) == ("glm-4.5-air", "off", 30.0)
    plain = resolve_config(env=env_with(tmp_path), cwd=tmp_path)
    assert (plain.main.model, plain.main.thinking) == ("glm-5.1", "high")


def test_fallback_flags_and_unknown_flags(tmp_path: Path) -> None:
    env = env_with(tmp_path, OPENAI_API_KEY="sk-000000001")
    cfg = resolve_config({"fallback_model": "gpt-4.1"}, env=env, cwd=tmp_path)
    assert cfg.slots[1].model == "gpt-4.1" and cfg.sources["fallback.model"] == "flag: --fallback-model"
    with pytest.raises(ConfigurationError, match="unknown option --colour"):
        resolve_config({"colour": "red"}, env=env, cwd=tmp_path)
