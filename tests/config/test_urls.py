from __future__ import annotations

import pytest

from hunkwise.config.urls import is_loopback_host, swap_path, validate_base_url
from hunkwise.errors import ConfigurationError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.z.ai/api/paas/v4/", "https://api.z.ai/api/paas/v4"),
        ("  HTTPS://API.Z.AI/api/coding/paas/v4//  ", "https://api.z.ai/api/coding/paas/v4"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("http://localhost:11434/v1/", "http://localhost:11434/v1"),
        ("http://[::1]:9000/v1", "http://[::1]:9000/v1"),
        ("https://proxy.example.com", "https://proxy.example.com"),
    ],
)
def test_valid_urls_are_normalised(url: str, expected: str) -> None:
    assert validate_base_url(url) == expected


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://api.z.ai/api/paas/v4/chat/completions", "remove the endpoint path"),
        ("https://api.anthropic.com/v1/messages", "remove the endpoint path"),
        ("ftp://api.z.ai/api/paas/v4", "must start with https://"),
        ("api.z.ai/api/paas/v4", "must start with https://"),
        ("http://api.example.com/v1", "plain http"),
        ("http://10.0.0.5:8000/v1", "plain http"),
        ("https://user:secret@api.example.com/v1", "credentials"),
        ("https://", "no host name"),
        ("https://api.example.com:99999/v1", "invalid port"),
        ("", "is empty"),
    ],
)
def test_bad_urls_are_refused_with_the_fix(url: str, words: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        validate_base_url(url, setting="HUNKWISE_BASE_URL")
    assert words in str(info.value)
    assert info.value.setting == "HUNKWISE_BASE_URL"
    assert "secret" not in str(info.value)  # a password in a URL is never echoed back


def test_endpoint_path_error_suggests_the_base() -> None:
    with pytest.raises(ConfigurationError, match=r"use 'https://api.z.ai/api/paas/v4'"):
        validate_base_url("https://api.z.ai/api/paas/v4/chat/completions")


def test_plain_http_to_a_remote_host_can_be_allowed_explicitly() -> None:
    assert validate_base_url("http://gpu-box.lan:8000/v1", allow_http=True) == "http://gpu-box.lan:8000/v1"


def test_loopback_detection() -> None:
    assert is_loopback_host("127.0.0.2") and is_loopback_host("::1") and is_loopback_host("app.localhost")
    assert not is_loopback_host("10.0.0.1") and not is_loopback_host("example.com")


def test_swap_path_keeps_host_and_prefix() -> None:
    assert (
        swap_path("http://127.0.0.1:9/zai/api/paas/v4", "/api/paas/v4", "/api/coding/paas/v4")
        == "http://127.0.0.1:9/zai/api/coding/paas/v4"
    )
    assert swap_path("http://127.0.0.1:9", "", "/api/paas/v4") == "http://127.0.0.1:9/api/paas/v4"
