"""The one schema of the config files, through the real loader: what each problem says."""

from __future__ import annotations

from pathlib import Path

import pytest

from hunkwise.config.files import ConfigFiles, parse_config_text
from hunkwise.config.problems import ConfigFileError
from hunkwise.config.review_settings import DEFAULT_MAX_COST_USD, cost_ceiling, review_config
from hunkwise.config.settings import Settings
from hunkwise.errors import ConfigurationError

PATH = Path("/repo/.hunkwise.toml")


def problems(text: str, kind: str = "repo") -> list[str]:
    with pytest.raises(ConfigFileError) as info:
        parse_config_text(text, PATH, kind)
    return [p.message for p in info.value.problems]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a union type (str | dict): pydantic's member tags never reach the message
        (
            "[main]\nthinking = 3\n",
            "thinking = 3 in [main] of {p}: expected off, low, medium, high, auto, or a JSON",
        ),
        # a bad item of a list: the whole list as written
        ('[review]\nignore = ["ok/**", 3]\n', 'ignore = ["ok/**", 3] in [review] of {p}: expected a list of'),
        ("main = 3\n", "main = 3 at the top level of {p}: expected a table: [main] with model settings"),
        ("rules = [1]\n", "rules = [1] at the top level of {p}: expected an array of tables"),
        ('[review]\nmax_cost = "free"\n', 'max_cost = "free" in [review] of {p}: expected an amount in USD'),
        ("[[rules]]\ntext = 'x'\n[[rules]]\ntext = 'y'\nnme = 'z'\n", "unknown key `nme` in [[rules]] #2"),
        ("[plans.gold]\nx = 1\n", "unknown plan `gold` in [plans] of {p}; known: developer, coding"),
        ('[profiles."my team".main]\nmodle = "x"\n', 'unknown key `modle` in [profiles."my team".main]'),
        (
            "[peak_hours]\npeak_multiplyer = 1\n",
            "unknown key `peak_multiplyer` in [peak_hours] of {p}; did you",
        ),
        (
            "[peak_hours]\npeak_multiplier = 0\n",
            "peak_multiplier = 0 in [peak_hours] of {p}: input should be",
        ),
    ],
)
def test_problem_messages(text: str, message: str) -> None:
    [got] = problems(text)
    assert got.startswith(message.format(p=PATH)), got


def test_a_promotion_at_1x_is_a_peak_hours_override() -> None:
    from datetime import UTC, datetime

    from hunkwise.catalog.loader import load_catalog

    config = parse_config_text("[peak_hours]\npeak_multiplier = 1\noff_peak_multiplier = 1\n", PATH)
    catalog = load_catalog().with_overrides(config.overrides())
    peak = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)  # 15:00 in Beijing
    assert catalog.peak_hours.multiplier("glm-5.1", peak) == 1
    assert load_catalog().peak_hours.multiplier("glm-5.1", peak) == 3  # the shared catalog is untouched


def test_a_pasted_key_in_api_key_env_is_masked() -> None:
    [got] = problems('[main]\napi_key_env = "sk-live-abcdefgh12345"\n')
    assert "••••2345" in got and "abcdefgh" not in got and "not the key itself" in got


def test_schema_override_and_key_problems_come_together() -> None:
    got = problems('[main]\nmodle = 1\napi_key = "zai-literal-0001"\n[tiers.lite]\nprompts5h = 3\n')
    assert len(got) == 3
    assert any("api_key in [main]" in g and "must not contain a key" in g for g in got)
    assert any("did you mean `prompts_5h`?" in g for g in got)
    assert not any("zai-literal-0001" in g for g in got)


def test_the_user_file_may_hold_a_key_and_the_same_review_sections(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[main]\napi_key = "zai-literal-0001"\n[review]\nmax_cost = "off"\n')
    path.chmod(0o644)
    config = parse_config_text(path.read_text(), path, "user")
    assert any("chmod 600" in n for n in config.notes)
    ceiling = review_config(ConfigFiles([config]), settings=Settings.from_env({})).max_cost
    assert ceiling.usd is None and ceiling.source == f"max_cost in [review] of {path}"


def test_blank_values_mean_not_set_as_in_the_environment() -> None:
    config = parse_config_text('[main]\nmodel = ""\ntier = " "\n', PATH)
    assert config.data.main is not None and config.data.main.provided() == {}


@pytest.mark.parametrize(
    ("flag", "env", "usd", "source"),
    [
        (None, {}, 9.0, f"max_cost in [review] of {PATH}"),
        (None, {"HUNKWISE_MAX_COST": "$3.5"}, 3.5, "HUNKWISE_MAX_COST"),
        ("1", {"HUNKWISE_MAX_COST": "3.5"}, 1.0, "--max-cost"),
        ("off", {}, None, "--max-cost"),
        (None, {"HUNKWISE_MAX_COST": "Off"}, None, "HUNKWISE_MAX_COST"),
    ],
)
def test_cost_ceiling_precedence(
    flag: str | None, env: dict[str, str], usd: float | None, source: str
) -> None:
    ceiling = cost_ceiling(
        flag,
        settings=Settings.from_env(env),
        files=ConfigFiles([parse_config_text("[review]\nmax_cost = 9\n", PATH)]),
    )
    assert (ceiling.usd, ceiling.source) == (usd, source)


def test_a_refusal_says_how_to_raise_it() -> None:
    ceiling = cost_ceiling(None, settings=Settings.from_env({}))
    assert (ceiling.usd, ceiling.source) == (DEFAULT_MAX_COST_USD, "default")
    text = ceiling.refusal(25.113, 812)
    assert text.startswith(
        "estimated cost $25.11 for 812 request(s) is above the cost ceiling of $2.00 (default)"
    )
    assert "--max-cost 25.12 " in text and "HUNKWISE_MAX_COST=25.12" in text and "max_cost = 25.12" in text
    with pytest.raises(ConfigurationError, match=r"HUNKWISE_MAX_COST = '0' is not valid: 0 would stop"):
        cost_ceiling(None, settings=Settings.from_env({"HUNKWISE_MAX_COST": "0"}))
