"""Journey: a developer behind a corporate proxy (docs/proxies.md).

The network only lets traffic out through an authenticating proxy (proxy.py on loopback, started
here) and re-signs TLS with the company's own CA. The developer sets ``HTTPS_PROXY`` /
``HTTP_PROXY`` with the proxy's credentials in the URL and ``HUNKWISE_CA_BUNDLE`` to the company
CA, and runs the installed ``hunkwise test`` against the simulator (base URL + key). It names
the proxy it went through with the credentials masked, the proxy's own log shows it carried the
calls, ``hunkwise config show`` lists the proxy settings with their source, and a proxy that is
down is diagnosed as the proxy, not the provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from journeykit import DEV_KEY, Simulator, clean_env, explain, free_port, run_cli

from netkit import ProxyServer, TlsFront

pytestmark = pytest.mark.journey


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Simulator]:
    server = Simulator(clean_env(tmp_path / "sim-home"), tmp_path)
    yield server
    server.stop()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[ProxyServer]:
    server = ProxyServer(tmp_path / "proxy", basic_auth="dev:corp-s3cret").start()
    yield server
    server.stop()


def test_hunkwise_test_behind_an_authenticating_proxy_with_a_company_ca(
    tmp_path: Path, sim: Simulator, proxy: ProxyServer
) -> None:
    sim_port = urlsplit(sim.base_url).port or 0
    with_creds = f"http://dev:corp-s3cret@127.0.0.1:{proxy.port}"
    front = TlsFront(sim_port, tmp_path)  # the provider over https, signed by the "company" CA
    try:
        https_url = f"https://localhost:{front.port}/api/paas/v4"
        env = clean_env(
            tmp_path / "home",
            {
                "ZAI_API_KEY": DEV_KEY,
                "ZAI_BASE_URL": https_url,
                "HTTPS_PROXY": with_creds,
                "HUNKWISE_CA_BUNDLE": str(front.ca_file),
            },
        )
        result = run_cli(["test"], env)
        assert result.returncode == 0, explain(result)
        assert "✓ main: zai/glm-5.1 (developer): OK" in result.stdout, explain(result)
        assert f"(via proxy http://***@127.0.0.1:{proxy.port})" in result.stdout, explain(result)
        assert f"HUNKWISE_CA_BUNDLE={front.ca_file}" in result.stdout
        assert front.handshakes >= 1
        assert proxy.wait_for(f"CONNECT localhost:{front.port}"), proxy.access_log()

        # Plain http through the same proxy is forwarded (HTTP_PROXY), also with the credentials.
        plain = dict(
            env, ZAI_BASE_URL=sim.developer_url.replace("127.0.0.1", "localhost"), HTTP_PROXY=with_creds
        )
        result = run_cli(["test"], plain)
        assert result.returncode == 0, explain(result)
        assert proxy.wait_for(f"POST localhost:{sim_port}/api/paas/v4/chat/completions"), proxy.access_log()

        # The settings as `config show` lists them: masked, with their source.
        shown = run_cli(["config", "show"], env)
        assert shown.returncode == 0, explain(shown)
        assert f"http://***@127.0.0.1:{proxy.port}" in shown.stdout and "HTTPS_PROXY" in shown.stdout
        assert str(front.ca_file) in shown.stdout

        # Without the credentials the proxy answers 407: the proxy's refusal, not the provider's.
        no_creds = dict(env, HTTPS_PROXY=f"http://127.0.0.1:{proxy.port}")
        result = run_cli(["test"], no_creds)
        assert result.returncode == 1, explain(result)
        assert "the proxy failed" in result.stdout and "407" in result.stdout, explain(result)
        assert "user:password@proxy:3128" in result.stdout

        # A proxy that is not running: named, with what to check.
        dead = dict(env, HTTPS_PROXY=f"http://dev:corp-s3cret@127.0.0.1:{free_port()}")
        result = run_cli(["test"], dead)
        assert result.returncode == 1, explain(result)
        assert "cannot connect to the proxy http://***@127.0.0.1:" in result.stdout, explain(result)
        assert "NO_PROXY" in result.stdout
        for output in (result.stdout, result.stderr, shown.stdout):
            assert "corp-s3cret" not in output
    finally:
        front.close()
