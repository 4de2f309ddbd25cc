"""A key pasted into ``api_key_env`` (or ``--api-key-env``, ``HUNKWISE_API_KEY_ENV``) is never
echoed back in the error that rejects it."""

from __future__ import annotations

import pytest

from hunkwise.config.spec import parse_spec
from hunkwise.errors import ConfigurationError

KEYS = [
    "0123456789abcdef0123456789abcdef.AbCdEfGhIjKlMnOp",  # a Z.AI-shaped key
    "sk-proj-AAAAbbbbCCCCddddEEEEffff0000",
    "short-1",
]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize(
    "names", [None, {"api_key_env": "--api-key-env"}, {"api_key_env": "HUNKWISE_API_KEY_ENV"}]
)
def test_a_key_in_api_key_env_is_not_echoed(key: str, names: dict[str, str] | None) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_spec({"card": "glm-5.1", "api_key_env": key}, names=names, where="in .hunkwise.toml")
    message = str(info.value)
    assert key not in message and repr(key) not in message
    assert key[:8] not in message  # not even a prefix of it
    assert "NAME of an environment variable" in message
    setting = (names or {}).get("api_key_env", "api_key_env")
    assert message.startswith(f"{setting} = ") and "in .hunkwise.toml" in message


def test_other_settings_still_show_their_value() -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_spec({"card": "glm-5.1", "tier": "platinum"})
    assert "'platinum'" in str(info.value)
