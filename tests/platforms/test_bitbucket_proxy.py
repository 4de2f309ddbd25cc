"""The Bitbucket client through a real proxy (proxy.py on loopback), as the server builds it
(``platform_transport``): every request, the diff's redirect hop included, is carried by the
proxy, whose own access log says so."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from bitbucket_fake import TOKEN, TOKEN_USER, FakeBitbucket
from hunkwise.config.outbound import platform_transport
from hunkwise.config.proxies import Network, ProxyUrl
from hunkwise.gateway import Secret
from hunkwise.platforms.bitbucket import BitbucketClient
from netkit import ProxyServer
from platform_fakes import ServedFake

pytestmark = pytest.mark.xdist_group("proxy-network")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyServer]:
    server = ProxyServer(tmp_path_factory.mktemp("bitbucket-proxy")).start()
    yield server
    server.stop()


@pytest.fixture
def bitbucket() -> Iterator[ServedFake]:
    served = ServedFake(FakeBitbucket())  # type: ignore[arg-type]
    yield served
    served.close()


async def test_the_diff_and_its_redirect_go_through_the_proxy(
    bitbucket: ServedFake, proxy: ProxyServer
) -> None:
    api = bitbucket.url.replace("127.0.0.1", "localhost") + "/2.0"
    network = Network(http_proxy=ProxyUrl(proxy.url))
    client = BitbucketClient(
        Secret(TOKEN), api, bot_uuid=TOKEN_USER["uuid"], transport=platform_transport(network, api)
    )
    async with client:
        text = await client.diff("acme/api", 7)
    fake: FakeBitbucket = bitbucket.fake  # type: ignore[assignment]
    assert text == fake.diff
    host = urlsplit(api).netloc
    assert proxy.wait_for(f"GET {host}/2.0/repositories/acme/api/pullrequests/7/diff"), proxy.access_log()
    assert proxy.wait_for(f"GET {host}/2.0/repositories/acme/api/diff/"), proxy.access_log()
