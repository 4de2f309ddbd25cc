"""``/metrics`` of a server in the default (embedded) mode: it runs the jobs, so it counts their
model calls too; the dead-letter API works the same without a broker."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from distkit import ADMIN, PAYLOAD, SECRET, admin
from fastapi.testclient import TestClient

from hunkwise.platforms.github_webhooks import sign
from platform_fakes import FakeGitHub, ServedFake
from simkeys import DEV_KEY


def test_embedded_server_metrics_count_jobs_and_model_calls(tmp_path: Path, sim) -> None:
    from hunkwise.config.settings import Settings
    from hunkwise.server.app import create_app

    github = ServedFake(FakeGitHub())
    env = {
        "HUNKWISE_HOME": os.environ["HUNKWISE_HOME"],
        "HUNKWISE_ADMIN_TOKEN": ADMIN,
        "HUNKWISE_DATABASE_URL": f"sqlite:///{tmp_path / 'server.db'}",
        "HUNKWISE_GITHUB_WEBHOOK_SECRET": SECRET,
        "HUNKWISE_ALLOW_PRIVATE_BASE_URLS": "127.0.0.1",
        "GITHUB_API_URL": github.url,
        "HUNKWISE_GITHUB_TOKEN": "ghp_embedded_metrics_token",
    }
    try:
        with TestClient(create_app(Settings.from_env(env))) as client:
            byok = {"main": {"card": "glm-5.1", "base_url": sim.zai_developer_url, "api_key": DEV_KEY}}
            assert client.put("/api/orgs/codertocat/byok", json=byok, headers=admin()).status_code == 200
            before = client.get("/metrics").text
            assert 'hunkwise_jobs{status="done"} 0.0' in before
            assert "hunkwise_queue_depth" not in before  # no broker in this mode
            body = PAYLOAD.read_bytes().replace(b"https://api.github.com", github.url.encode())
            headers = {
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": "embedded-1",
                "X-Hub-Signature-256": sign(SECRET, body),
                "Content-Type": "application/json",
            }
            job_id = client.post("/webhooks/github", content=body, headers=headers).json()["job_id"]
            for _ in range(600):
                if client.get(f"/api/reviews/{job_id}", headers=admin()).json()["status"] == "done":
                    break
                time.sleep(0.05)
            # The job row is done before the engine's after-job hook counts its model calls (read
            # from the ledger in a thread): wait for the hook's figure, not for the row (a loaded
            # machine ran them apart).
            for _ in range(600):
                text = client.get("/metrics").text
                if 'hunkwise_model_calls_total{model="glm-5.1",outcome="ok"}' in text:
                    break
                time.sleep(0.05)
            assert 'hunkwise_jobs{status="done"} 1.0' in text
            assert 'hunkwise_model_calls_total{model="glm-5.1",outcome="ok"}' in text
            calls = sum(float(v) for v in re.findall(r"^hunkwise_model_calls_total\{.*\} (\S+)$", text, re.M))
            waits = re.search(r"^hunkwise_slot_wait_seconds_count (\S+)$", text, re.M)
            assert calls >= 1 and waits is not None and float(waits.group(1)) == calls  # one per call
            # The pool runs the workers' job engine, hooks included: every attempt is counted.
            assert 'hunkwise_jobs_processed_total{outcome="done"} 1.0' in text
            assert "hunkwise_job_duration_seconds_count 1.0" in text
            assert "hunkwise_jobs_in_progress 0.0" in text
            assert client.get("/api/jobs/dead", headers=admin()).json() == []
            conflict = client.post(f"/api/jobs/{job_id}/retry", headers=admin())
            assert conflict.status_code == 409 and "only a dead" in json.loads(conflict.text)["detail"]
            assert client.post("/api/jobs/999/retry", headers=admin()).status_code == 404
            assert client.get("/api/jobs/dead").status_code == 401
    finally:
        github.close()
