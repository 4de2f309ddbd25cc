"""Outbound calls through a real proxy (proxy.py on loopback), with and without the SSRF guard.

The provider is the simulator; an ``https`` provider is the simulator behind a TLS front whose
certificate comes from a throwaway CA, trusted only through the network's CA bundle. Whether the
proxy carried a request is read from the proxy's own access log, so a client that went direct
would fail the assertion. No external DNS: where the guard must resolve a name, the policy's
resolver is injected (the proxy itself resolves ``localhost``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

import simkeys
from hunkwise.config.outbound import platform_transport, sdk_transports
from hunkwise.config.proxies import Network, ProxyUrl, parse_no_proxy
from hunkwise.config.settings import Settings
from hunkwise.config.ssrf import ALLOW_ENV, SsrfPolicy
from hunkwise.errors import Backoff, ConfigurationError, ProxyRefused, TransientError
from hunkwise.gateway import (
    AllSlotsFailed,
    ChatRequest,
    ClientPool,
    ErrorKind,
    RetryPolicy,
    Router,
    Secret,
    Slot,
)
from hunkwise.jobs.retry import dead_reason, retry_delay
from hunkwise.platforms.github import GitHubClient
from hunkwise.platforms.review_post import PlatformProxyRefused, PlatformUnavailable
from netkit import ProxyServer, TlsFront, free_port
from platform_fakes import FakeGitHub, ServedFake

# One worker runs this module, so the proxies are started once (pytest-xdist --dist loadgroup).
pytestmark = pytest.mark.xdist_group("proxy-network")

NO_RETRY = RetryPolicy(
    rate_retries=0, transient_retries=0, backoff=Backoff(base_s=0.01, max_s=0.01, jitter=0.5)
)
PUBLIC = "93.184.216.34"  # what the injected resolver says a checked, allowed target is


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyServer]:
    server = ProxyServer(tmp_path_factory.mktemp("proxy")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def auth_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyServer]:
    server = ProxyServer(tmp_path_factory.mktemp("auth-proxy"), basic_auth="alice:s3cret").start()
    yield server
    server.stop()


@pytest.fixture
def front(sim: Any, tmp_path: Path) -> Iterator[TlsFront]:
    server = TlsFront(urlsplit(sim.base_url).port or 0, tmp_path)
    yield server
    server.close()


class Resolver:
    """The policy's resolver, scripted: ``host -> addresses``; logs each lookup."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.answers:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return self.answers[host]


def _slot(base_url: str) -> Slot:
    return Slot(
        name="main",
        provider="zai",
        base_url=base_url,
        model="glm-5.1",
        api_key=Secret(simkeys.DEV_KEY),
        plan="developer",
        timeout_s=5.0,
    )


def _plain(sim: Any) -> str:
    """The simulator's Developer API on ``localhost`` (a name the proxy resolves itself)."""
    return f"http://localhost:{urlsplit(sim.base_url).port}/api/paas/v4"


async def _chat(slot: Slot, network: Network, policy: SsrfPolicy | None = None) -> Any:
    factory = sdk_transports(network, policy)
    assert factory is not None
    pool = ClientPool(transport_factory=factory)
    try:
        async with Router([slot], clients=pool, policy=NO_RETRY) as router:
            return await router.chat(ChatRequest.of("hello"))
    finally:
        await pool.aclose()


async def _failure(slot: Slot, network: Network, policy: SsrfPolicy | None = None) -> Any:
    with pytest.raises(AllSlotsFailed) as info:
        await _chat(slot, network, policy)
    [err] = info.value.errors
    return err


# -- provider calls ---------------------------------------------------------------------------------
async def test_a_provider_call_is_forwarded_by_the_http_proxy(sim: Any, proxy: ProxyServer) -> None:
    port = urlsplit(sim.base_url).port
    result = await _chat(_slot(_plain(sim)), Network(http_proxy=ProxyUrl(proxy.url)))
    assert result.content
    carried = proxy.wait_for(f"localhost:{port}/api/paas/v4/chat/completions")
    assert carried and carried[-1].startswith("POST"), proxy.access_log()


async def test_https_goes_through_a_connect_tunnel_and_tls_trusts_the_ca_bundle(
    sim: Any, proxy: ProxyServer, front: TlsFront
) -> None:
    network = Network(
        https_proxy=ProxyUrl(proxy.url), ca_bundle=front.ca_file, ca_bundle_env="HUNKWISE_CA_BUNDLE"
    )
    slot = _slot(f"https://localhost:{front.port}/api/paas/v4")
    before = len(sim.requests())
    result = await _chat(slot, network)
    assert result.content
    assert front.handshakes >= 1  # TLS ended at the target, through the tunnel
    assert len(sim.requests()) == before + 1
    assert proxy.wait_for(f"CONNECT localhost:{front.port}"), proxy.access_log()


async def test_without_the_ca_bundle_the_targets_certificate_is_refused(
    proxy: ProxyServer, front: TlsFront
) -> None:
    err = await _failure(
        _slot(f"https://localhost:{front.port}/api/paas/v4"), Network(https_proxy=ProxyUrl(proxy.url))
    )
    assert err.kind is ErrorKind.NETWORK
    assert "certificate" in err.message.lower()
    assert front.handshakes == 0


async def test_the_guard_checks_the_target_then_tunnels_through_the_proxy(
    sim: Any, proxy: ProxyServer, front: TlsFront
) -> None:
    resolver = Resolver({"localhost": [PUBLIC]})
    network = Network(https_proxy=ProxyUrl(proxy.url), ca_bundle=front.ca_file, ca_bundle_env="SSL_CERT_FILE")
    result = await _chat(
        _slot(f"https://localhost:{front.port}/api/paas/v4"), network, SsrfPolicy(resolver=resolver)
    )
    assert result.content
    assert resolver.lookups == ["localhost"]  # the target was checked; the proxy's address was not
    assert proxy.wait_for(f"CONNECT localhost:{front.port}")


@pytest.mark.parametrize(
    ("host", "answers", "words"),
    [
        (
            "metadata.example.test",
            {"metadata.example.test": ["169.254.169.254"]},
            "resolves to 169.254.169.254",
        ),
        ("internal.example.test", {"internal.example.test": ["10.0.0.5"]}, "resolves to 10.0.0.5"),
        ("10.0.0.1", {}, "10.0.0.1 is"),
        ("nowhere.example.test", {}, "cannot be resolved on this machine"),
    ],
)
async def test_a_blocked_target_is_refused_before_the_proxy_sees_anything(
    sim: Any, proxy: ProxyServer, host: str, answers: dict[str, list[str]], words: str
) -> None:
    network = Network(https_proxy=ProxyUrl(proxy.url), http_proxy=ProxyUrl(proxy.url))
    err = await _failure(_slot(f"https://{host}:8443/v1"), network, SsrfPolicy(resolver=Resolver(answers)))
    assert err.kind is ErrorKind.NETWORK
    assert "SSRF policy" in err.message and words in err.message and ALLOW_ENV in err.message
    # A request the proxy does carry, sent after the refused one, is in its log: the refused one is not.
    port = urlsplit(sim.base_url).port
    carried = len(proxy.wait_for(f"localhost:{port}", timeout=0))
    await _chat(_slot(_plain(sim)), network, SsrfPolicy(allowed_hosts=frozenset({"localhost"})))
    assert len(proxy.wait_for(f"localhost:{port}", count=carried + 1)) == carried + 1
    assert not [line for line in proxy.access_log() if host in line], proxy.access_log()


async def test_no_proxy_goes_direct(sim: Any, proxy: ProxyServer) -> None:
    port = urlsplit(sim.base_url).port
    everything, entries = parse_no_proxy("NO_PROXY", f"example.com, localhost:{port}")
    network = Network(http_proxy=ProxyUrl(proxy.url), no_proxy_all=everything, no_proxy=entries)
    direct = len(proxy.wait_for(f"localhost:{port}", timeout=0))
    before = len(sim.requests())
    assert (await _chat(_slot(_plain(sim)), network)).content
    assert len(sim.requests()) == before + 1
    # 127.0.0.1 is not excepted: this one is proxied, and logged after the direct one would be.
    proxied = len(proxy.wait_for(f"127.0.0.1:{port}", timeout=0))
    assert (await _chat(_slot(f"http://127.0.0.1:{port}/api/paas/v4"), network)).content
    assert len(proxy.wait_for(f"127.0.0.1:{port}", count=proxied + 1)) == proxied + 1
    assert len(proxy.wait_for(f"localhost:{port}", timeout=0)) == direct


async def test_a_target_in_no_proxy_is_still_held_to_the_ssrf_policy(sim: Any, proxy: ProxyServer) -> None:
    """NO_PROXY sends a target direct, where the guard dials only what the policy allows: an
    organization cannot reach a loopback service by naming a host the operator excepted."""
    everything, entries = parse_no_proxy("NO_PROXY", "localhost,127.0.0.1")
    network = Network(
        https_proxy=ProxyUrl(proxy.url),
        http_proxy=ProxyUrl(proxy.url),
        no_proxy_all=everything,
        no_proxy=entries,
    )
    before, carried = len(sim.requests()), len(proxy.access_log())
    policy = SsrfPolicy(resolver=Resolver({"localhost": ["127.0.0.1"]}))
    err = await _failure(_slot(_plain(sim)), network, policy)
    assert err.kind is ErrorKind.NETWORK and "SSRF policy" in err.message and "127.0.0.1" in err.message
    assert len(sim.requests()) == before and len(proxy.access_log()) == carried


# -- the proxy's own failures -----------------------------------------------------------------------
async def test_an_unreachable_proxy_is_named_as_the_proxy(sim: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    err = await _failure(_slot(_plain(sim)), Network(http_proxy=ProxyUrl(dead)))
    assert err.kind is ErrorKind.NETWORK and err.code == "proxy"
    assert f"cannot connect to the proxy {dead}" in err.message


async def test_a_407_is_the_proxys_refusal_and_credentials_never_show(
    sim: Any, auth_proxy: ProxyServer, front: TlsFront
) -> None:
    slot = _slot(f"https://localhost:{front.port}/api/paas/v4")
    network = Network(
        https_proxy=ProxyUrl(auth_proxy.url), ca_bundle=front.ca_file, ca_bundle_env="SSL_CERT_FILE"
    )
    err = await _failure(slot, network)
    assert err.kind is ErrorKind.NETWORK and err.code == "proxy"
    assert "407" in err.message and "http://user:password@proxy:3128" in err.message
    assert front.handshakes == 0
    # The same proxy with its credentials in the URL carries the call; they are never shown.
    with_creds = ProxyUrl(f"http://alice:s3cret@127.0.0.1:{auth_proxy.port}")
    assert "s3cret" not in str(with_creds) and "s3cret" not in repr(with_creds)
    network = Network(https_proxy=with_creds, ca_bundle=front.ca_file, ca_bundle_env="SSL_CERT_FILE")
    assert (await _chat(slot, network)).content
    assert auth_proxy.wait_for(f"CONNECT localhost:{front.port}")


# -- platform calls ---------------------------------------------------------------------------------
@pytest.fixture
def github() -> Iterator[ServedFake]:
    served = ServedFake(FakeGitHub())
    yield served
    served.close()


async def test_a_platform_call_goes_through_the_proxy(github: ServedFake, proxy: ProxyServer) -> None:
    api = github.url.replace("127.0.0.1", "localhost")
    network = Network(http_proxy=ProxyUrl(proxy.url))
    async with GitHubClient(Secret("ghp_test"), api, transport=platform_transport(network, api)) as client:
        assert await client.own_user_id() is not None
    assert [r for r in github.fake.requests if r.url.path == "/user"]
    assert proxy.wait_for(f"GET {urlsplit(api).netloc}/user"), proxy.access_log()


async def test_a_platform_call_names_an_unreachable_proxy(github: ServedFake) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    network = Network(http_proxy=ProxyUrl(dead))
    async with GitHubClient(
        Secret("ghp_test"), github.url, transport=platform_transport(network, github.url)
    ) as c:
        with pytest.raises(PlatformUnavailable, match=f"cannot connect to the proxy {dead}"):
            await c.own_user_id()
    assert not github.fake.requests


async def test_a_platform_call_through_a_proxy_wanting_credentials_says_so(
    github: ServedFake, auth_proxy: ProxyServer
) -> None:
    network = Network(http_proxy=ProxyUrl(auth_proxy.url))
    transport = platform_transport(network, github.url)
    assert transport is not None
    with pytest.raises(ProxyRefused, match="407") as info:
        await transport.handle_async_request(httpx.Request("GET", github.url + "/user"))
    assert isinstance(info.value, ConfigurationError)
    assert not github.fake.requests


async def test_a_platform_client_refused_by_the_proxy_fails_the_job_at_once(
    github: ServedFake, auth_proxy: ProxyServer
) -> None:
    """A 407 is the proxy's configuration, not an unavailable platform: the job is not retried
    against the same proxy (it was, as PlatformUnavailable, then died with the same message)."""
    network = Network(http_proxy=ProxyUrl(auth_proxy.url))
    async with GitHubClient(
        Secret("ghp_test"), github.url, transport=platform_transport(network, github.url)
    ) as client:
        with pytest.raises(PlatformProxyRefused, match="407") as info:
            await client.own_user_id()
    assert "put them in the proxy URL" in str(info.value) and "GitHub GET /user" in str(info.value)
    assert isinstance(info.value, ConfigurationError) and not isinstance(info.value, TransientError)
    assert retry_delay(info.value, attempts=1, max_attempts=5, backoff=Backoff(30, 600)) is None
    assert dead_reason(info.value, str(info.value), 1, 5).startswith("permanent failure on attempt 1")
    assert not github.fake.requests


async def test_a_forwarded_http_call_refused_with_407_is_the_proxys_refusal(
    sim: Any, auth_proxy: ProxyServer
) -> None:
    before = len(sim.requests())
    err = await _failure(_slot(_plain(sim)), Network(http_proxy=ProxyUrl(auth_proxy.url)))
    assert err.kind is ErrorKind.NETWORK and err.code == "proxy"
    assert "407" in err.message and "put them in the proxy URL" in err.message
    assert len(sim.requests()) == before  # the proxy kept the request


# -- the server's clients, as jobs/runtime.py builds them ------------------------------------------
async def test_byok_clients_and_the_quota_monitor_go_through_the_proxy(sim: Any, proxy: ProxyServer) -> None:
    from hunkwise.config.byok import guarded_clients
    from hunkwise.gateway import QuotaMonitor

    port = urlsplit(sim.base_url).port
    network = Network(http_proxy=ProxyUrl(proxy.url))
    policy = SsrfPolicy(allowed_hosts=frozenset({"localhost"}))  # a self-hosted model, allow-listed
    pool = guarded_clients(policy, network)
    try:
        async with Router([_slot(_plain(sim))], clients=pool, policy=NO_RETRY) as router:
            assert (await router.chat(ChatRequest.of("hello"))).content
    finally:
        await pool.aclose()
    assert proxy.wait_for(f"POST localhost:{port}/api/paas/v4/chat/completions")

    coding = Slot(
        name="main",
        provider="zai",
        base_url=f"http://localhost:{port}/api/coding/paas/v4",
        model="glm-5.1",
        api_key=Secret(simkeys.CODING_LITE_KEY),
        plan="coding",
        tier="lite",
    )
    monitor = QuotaMonitor(transport_factory=sdk_transports(network, policy))
    try:
        result = await monitor.read(coding)
    finally:
        await monitor.aclose()
    assert result.reading is not None, result.diagnosis
    assert proxy.wait_for(f"GET localhost:{port}/api/monitor/usage/quota/limit")


async def test_the_servers_github_clients_go_through_the_proxy(
    github: ServedFake, proxy: ProxyServer
) -> None:
    """The serving and working processes make GitHub clients in one place (jobs/github_clients.py):
    in personal-token mode too, every one goes through the configured proxy."""
    from hunkwise.jobs.github_clients import GitHubClients

    api = github.url.replace("127.0.0.1", "localhost")
    settings = Settings.from_env(
        {"HUNKWISE_GITHUB_TOKEN": "ghp_test", "HUNKWISE_GITHUB_API_URL": api, "HTTP_PROXY": proxy.url}
    )
    clients = GitHubClients(settings, engine=None)  # type: ignore[arg-type]  # token mode reads no store
    async with clients.client("octo") as client:
        await client.list_reviews("octo/repo", 3)
    assert proxy.wait_for(f"GET {urlsplit(api).netloc}/repos/octo/repo/pulls/3/reviews"), proxy.access_log()


async def test_an_https_proxys_own_certificate_is_checked_against_the_ca_bundle(
    github: ServedFake, proxy: ProxyServer, tmp_path: Path
) -> None:
    """An ``https://`` proxy (TLS to the proxy itself, here a TLS front on proxy.py) whose
    certificate a corporate CA signed: the platform clients trust the CA bundle for the proxy's
    certificate too, as the model SDKs' transports do, not only for the target's."""
    tls_proxy = TlsFront(proxy.port, tmp_path)
    try:
        api = github.url.replace("127.0.0.1", "localhost")
        network = Network(
            http_proxy=ProxyUrl(f"https://localhost:{tls_proxy.port}"),
            ca_bundle=tls_proxy.ca_file,
            ca_bundle_env="HUNKWISE_CA_BUNDLE",
        )
        async with GitHubClient(
            Secret("ghp_test"), api, transport=platform_transport(network, api)
        ) as client:
            await client.list_reviews("octo/repo", 5)
        assert tls_proxy.handshakes >= 1  # TLS to the proxy, verified with the bundle
        assert proxy.wait_for(f"GET {urlsplit(api).netloc}/repos/octo/repo/pulls/5/reviews"), (
            proxy.access_log()
        )
    finally:
        tls_proxy.close()
