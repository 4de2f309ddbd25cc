"""The save-time SSRF policy: https for catalog hosts, 6to4 addresses, endpoint origins."""

from __future__ import annotations

import pytest

from hunkwise.config.ssrf import SsrfPolicy, blocked_reason, endpoint_origin, format_origin
from hunkwise.errors import ConfigurationError


def _never(host: str, port: int) -> list[str]:
    raise AssertionError(f"no DNS lookup expected for {host}")


def test_catalog_hosts_need_https_allow_listed_hosts_may_use_http() -> None:
    policy = SsrfPolicy(allowed_hosts=frozenset({"ollama.lan"}), resolver=_never)
    assert policy.check("https://api.z.ai/api/paas/v4") == []
    for url in ("http://api.z.ai/api/paas/v4", "http://api.openai.com/v1", "HTTP://API.ANTHROPIC.COM"):
        with pytest.raises(ConfigurationError, match="must use https"):
            policy.check(url)
    assert policy.check("http://ollama.lan:11434/v1") == []


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::1", "metadata"),  # 6to4 of 169.254.169.254
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("2002:808:808::1", "6to4"),  # 6to4 of a public address: the whole range is refused
    ],
)
def test_6to4_addresses_are_blocked(address: str, reason: str) -> None:
    assert reason in (blocked_reason(address) or "")
    policy = SsrfPolicy(resolver=lambda host, port: [address])
    with pytest.raises(ConfigurationError, match="not allowed"):
        policy.check("https://six-to-four.example/v1")
    with pytest.raises(ConfigurationError, match="not allowed"):
        policy.check(f"https://[{address}]/v1")


def test_endpoint_origin_is_scheme_host_and_port() -> None:
    assert endpoint_origin("https://API.z.ai/api/paas/v4") == ("https", "api.z.ai", 443)
    assert endpoint_origin("https://api.z.ai:443/x") == endpoint_origin("https://api.z.ai/y")
    assert endpoint_origin("http://api.z.ai/x") != endpoint_origin("https://api.z.ai/x")
    assert endpoint_origin("https://api.z.ai:8443/x") != endpoint_origin("https://api.z.ai/x")
    assert format_origin(endpoint_origin("http://[::1]:8080/v1")) == "http://[::1]:8080"
    assert format_origin(endpoint_origin("https://api.z.ai:443/v1")) == "https://api.z.ai"
