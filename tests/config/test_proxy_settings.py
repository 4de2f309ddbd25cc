"""Proxy and CA settings as read from the environment (hunkwise.config.proxies via Settings): the
standard routing rules, the precedence of the spellings, the errors, and credentials masked."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from hunkwise.cli.config_show import settings_rows
from hunkwise.config.outbound import platform_transport, sdk_transports
from hunkwise.config.settings import Settings
from hunkwise.errors import ConfigurationError


def network(**env: str):
    return Settings.from_env(env).network


def test_https_and_http_targets_use_their_own_proxy_and_all_proxy_is_the_fallback() -> None:
    net = network(HTTPS_PROXY="http://secure.corp:3128", ALL_PROXY="http://any.corp:8080")
    assert str(net.proxy_for("https://api.z.ai/api/paas/v4")) == "http://secure.corp:3128"
    assert str(net.proxy_for("http://gitlab.corp/api/v4")) == "http://any.corp:8080"
    assert network().proxy_for("https://api.z.ai/") is None


def test_lowercase_wins_over_uppercase_and_a_bare_host_port_is_http() -> None:
    net = network(https_proxy="lower.corp:3128", HTTPS_PROXY="http://upper.corp:3128")
    assert str(net.proxy_for("https://api.openai.com/v1")) == "http://lower.corp:3128"
    assert net.describe()[0] == "https_proxy=http://lower.corp:3128"


@pytest.mark.parametrize(
    ("no_proxy", "url", "direct"),
    [
        ("corp.example", "https://git.corp.example/api", True),
        (".corp.example", "https://corp.example/api", True),
        ("*.corp.example", "https://a.b.corp.example/", True),
        ("corp.example", "https://notcorp.example/", False),
        ("localhost:8080", "http://localhost:8080/", True),
        ("localhost:8080", "http://localhost:9090/", False),
        ("10.0.0.0/8", "http://10.20.30.40:8000/v1", True),
        ("10.0.0.0/8", "http://11.0.0.1/v1", False),
        ("192.168.1.5", "https://192.168.1.5/", True),
        ("[::1]", "http://[::1]:8000/", True),
        ("corp.example.", "https://git.corp.example/api", True),  # a fully qualified name
        ("Corp.Example:443 , other", "https://GIT.corp.example./", True),
        ("*", "https://api.z.ai/", True),
        (" , ", "https://api.z.ai/", False),
    ],
)
def test_no_proxy_follows_the_usual_rules(no_proxy: str, url: str, direct: bool) -> None:
    net = network(HTTPS_PROXY="http://p.corp:3128", HTTP_PROXY="http://p.corp:3128", NO_PROXY=no_proxy)
    assert (net.proxy_for(url) is None) is direct


@pytest.mark.parametrize(
    ("env", "words"),
    [
        (
            {"HTTPS_PROXY": "socks5://p.corp:1080"},
            "HTTPS_PROXY = 'socks5://p.corp:1080': only http:// and https://",
        ),
        ({"http_proxy": "http://p.corp:port"}, "http_proxy = 'http://p.corp:port': the port is not a number"),
        ({"HTTPS_PROXY": "http://:3128"}, "names no host"),
        ({"NO_PROXY": "host:abc"}, "NO_PROXY: 'host:abc' has a port that is not a number"),
        (
            {"HUNKWISE_CA_BUNDLE": "/nonexistent/ca.pem"},
            "HUNKWISE_CA_BUNDLE = '/nonexistent/ca.pem': no such file",
        ),
    ],
)
def test_a_bad_value_is_an_error_naming_its_variable(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env(env)
    assert words in str(info.value)


def test_a_ca_bundle_without_certificates_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({"SSL_CERT_FILE": str(bogus)})
    assert info.value.setting == "SSL_CERT_FILE" and "holds no PEM certificate" in str(info.value)


def test_the_hunkwise_ca_bundle_wins_over_ssl_cert_file(tmp_path: Path) -> None:
    ours, system = tmp_path / "ours.pem", tmp_path / "system.pem"
    trustme.CA().cert_pem.write_to_path(str(ours))
    trustme.CA().cert_pem.write_to_path(str(system))
    net = network(HUNKWISE_CA_BUNDLE=str(ours), SSL_CERT_FILE=str(system))
    assert (net.ca_bundle, net.ca_bundle_env) == (ours, "HUNKWISE_CA_BUNDLE")
    context = net.ssl_context()
    assert context is not None and len(context.get_ca_certs()) == 1
    assert network(SSL_CERT_FILE=str(system)).ca_bundle_env == "SSL_CERT_FILE"


def test_nothing_configured_keeps_the_libraries_defaults() -> None:
    net = network()
    assert not net.configured
    assert sdk_transports(net) is None
    assert platform_transport(net, "https://api.github.com") is None


def test_credentials_are_masked_wherever_the_settings_are_shown() -> None:
    settings = Settings.from_env(
        {"HTTPS_PROXY": "http://alice:s3cret@proxy.corp:3128", "no_proxy": "localhost,.corp"}
    )
    rows = {r["setting"]: r for r in settings_rows(settings)}
    assert rows["HTTPS_PROXY"]["value"] == "http://***@proxy.corp:3128"
    assert rows["HTTPS_PROXY"]["source"] == "env"
    assert rows["no_proxy"]["value"] == "localhost,.corp"
    shown = repr(settings) + str(settings.network.describe()) + str(settings.model_dump())
    assert "s3cret" not in shown and "alice" not in shown
    # ...while the client still gets them.
    proxy = settings.network.proxy_for("https://api.z.ai/")
    assert proxy is not None and proxy.url == "http://alice:s3cret@proxy.corp:3128"


@pytest.mark.parametrize("secret", ["pa/ss", "pa#ss", "pa?ss", "p@ss/w"])
def test_a_password_with_an_unencoded_special_character_is_never_shown(secret: str) -> None:
    """``/``, ``?`` or ``#`` in a password not percent-encoded ends the URL's authority early, so
    the URL parser sees no credentials; the error must still mask them and say how to fix it."""
    from hunkwise.config.proxies import masked_url

    url = f"http://alice:{secret}@proxy.corp:3128"
    assert secret not in masked_url(url) and "alice" not in masked_url(url)
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({"HTTPS_PROXY": url})
    message = str(info.value)
    assert secret not in message and "alice" not in message
    assert "percent-encode" in message and info.value.setting == "HTTPS_PROXY"
