"""Journey: an operator runs ``hunkwise serve`` for an Azure DevOps organization, as
docs/azure-devops.md says (the organization root, a personal access token, the service hook's
password); a team (an Azure project) brings its own key; a pull request created in Azure DevOps
is reviewed: threads on its lines, one summary, the ``ai-review/hunkwise`` status.

The server is the installed console script; the model is the simulator behind the normal
provider path; Azure DevOps is the project's fake (tests/azure_devops_fake.py) over loopback HTTP.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from journeykit import DEV_KEY, Server, Simulator, server_env

from azure_devops_fake import HEAD_SHA, PAT, FakeAzureDevOps
from platform_fakes import SAMPLE, ServedFake

pytestmark = pytest.mark.journey

PASSWORD = "azure-hook-password-for-the-journey"
DATA = Path(__file__).parents[1] / "data" / "azure-devops"


@pytest.fixture(scope="module")
def azure() -> Iterator[ServedFake]:
    served = ServedFake(FakeAzureDevOps.with_diff(SAMPLE))  # type: ignore[arg-type]
    yield served
    served.close()


@pytest.fixture(scope="module")
def server(journey_dir: Path, azure: ServedFake) -> Iterator[Server]:
    env = server_env(
        journey_dir / "azure-server-home",
        extra={
            "HUNKWISE_AZURE_DEVOPS_URL": f"{azure.url}/fabrikam",
            "HUNKWISE_AZURE_DEVOPS_TOKEN": PAT,
            "HUNKWISE_AZURE_DEVOPS_WEBHOOK_PASSWORD": PASSWORD,
            "HUNKWISE_AZURE_DEVOPS_WEBHOOK_USERNAME": "azure-devops",
        },
    )
    srv = Server(env, journey_dir)
    yield srv
    srv.stop()


def deliver(server: Server, event: dict[str, Any], password: str = PASSWORD) -> httpx.Response:
    """POST a delivery the way a Web Hooks subscription with basic authentication sends it."""
    token = base64.b64encode(f"azure-devops:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json; charset=utf-8"}
    return httpx.post(
        f"{server.url}/webhooks/azure-devops", content=json.dumps(event), headers=headers, timeout=30
    )


def test_a_created_pull_request_is_reviewed_with_threads_summary_and_status(
    server: Server, simulator: Simulator, azure: ServedFake
) -> None:
    fake: FakeAzureDevOps = azure.fake  # type: ignore[assignment]
    with server.client() as admin:
        assert admin.post("/api/orgs", json={"slug": "fabrikam", "name": "Fabrikam"}).status_code == 201
        byok = {"main": {"card": "glm-5.1", "base_url": simulator.developer_url, "api_key": DEV_KEY}}
        assert admin.put("/api/orgs/fabrikam/byok", json=byok).status_code == 200
        event = json.loads(
            (DATA / "git.pullrequest.created.json").read_text().replace("https://dev.azure.com", azure.url)
        )
        assert deliver(server, event, password="wrong").status_code == 401
        assert fake.requests == []
        resp = deliver(server, event)
        assert resp.status_code == 202 and resp.json()["status"] == "queued", resp.text
        job = server.wait_job(admin, int(resp.json()["job_id"]))
    assert job["status"] == "done", job
    assert job["platform"] == "azure_devops" and job["head_sha"] == HEAD_SHA
    threads = fake.inline_threads()
    assert threads and all(t["status"] == "active" for t in threads)
    assert {t["threadContext"]["filePath"] for t in threads} <= {
        "/src/inventory/config.py",
        "/src/inventory/pricing.py",
        "/tests/test_pricing.py",
    }
    [summary] = fake.summary_threads()
    content = summary["comments"][0]["content"]
    assert "### Coverage" in content and "glm-5.1" in content and "hunkwise:review:" in content
    assert fake.status_history()[0] == "pending" and fake.status_history()[-1] == "succeeded"
    assert fake.statuses[-1]["context"] == {"name": "hunkwise", "genre": "ai-review"}
    assert simulator.key_requests(DEV_KEY) >= 1 and PAT not in server.logs()
