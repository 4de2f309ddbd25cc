"""A broker that refuses us or cannot be reached is one line naming the cause and the fix (exit 2)
for ``hunkwise worker``, ``worker --check`` and ``serve``: never "unreachable" for a refused
password, never the client libraries' ERROR logs and traceback."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from distkit import PYTHON, Cluster, free_port

pytestmark = pytest.mark.timeout(120)

FIX_URL = "check the host and port in HUNKWISE_QUEUE_URL and that"
CASES = [
    (
        "amqp://guest:wrong-pw@127.0.0.1:5672/",
        "RabbitMQ at amqp://guest:***@127.0.0.1:5672/ refused the credentials (ACCESS_REFUSED): "
        "check HUNKWISE_QUEUE_URL's user and password",
    ),
    (
        "amqp://guest:guest@127.0.0.1:5672/no-such-vhost",
        "RabbitMQ at amqp://guest:***@127.0.0.1:5672/no-such-vhost refused the virtual host "
        "'no-such-vhost' (NOT_ALLOWED - vhost no-such-vhost not found): the virtual host is the path of "
        "HUNKWISE_QUEUE_URL (%2F for the default '/')",
    ),
    (
        "amqp://guest:guest@127.0.0.1:1/",
        f"RabbitMQ at amqp://guest:***@127.0.0.1:1/ is unreachable (connection refused): {FIX_URL} RabbitMQ",
    ),
    (
        "redis://127.0.0.1:1/0",
        f"Redis at redis://127.0.0.1:1/0 is unreachable (connection refused): {FIX_URL} Redis",
    ),
]


def _run(cluster: Cluster, url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**cluster.env, "HUNKWISE_QUEUE_URL": url}
    cmd = [PYTHON, "-m", "hunkwise", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def _one_error_line(proc: subprocess.CompletedProcess[str], expected: str) -> None:
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {expected}"), proc.stderr
    assert " ERROR " not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "wrong-pw" not in proc.stderr + proc.stdout


@pytest.mark.parametrize(("url", "expected"), CASES, ids=["password", "vhost", "refused", "redis"])
def test_worker_and_its_check_say_what_the_broker_did(
    make_cluster: Callable[..., Cluster], url: str, expected: str
) -> None:
    cluster = make_cluster()
    _one_error_line(_run(cluster, url, "worker", "--check"), expected)
    _one_error_line(_run(cluster, url, "worker", "--metrics-port", str(free_port())), expected)


def test_serve_checks_the_broker_before_opening_its_port(make_cluster: Callable[..., Cluster]) -> None:
    cluster = make_cluster()
    proc = _run(cluster, CASES[0][0], "serve", "--port", str(free_port()))
    _one_error_line(proc, CASES[0][1])
    assert "hunkwise server on" not in proc.stderr  # it never started listening
