"""Journey: one env file for the server (and its workers), and ``config show`` to compare.

The operator writes every setting of the fixed-mode journey into ``hunkwise.env`` instead of the
environment, starts ``hunkwise serve --env-file hunkwise.env`` from a shell whose environment has
none of them, and the server runs in fixed mode on the simulator: a webhook review is served by
the file's model. One variable is also set in the shell with another value: the shell wins, and
``hunkwise config show`` (the same file) names the source of every line, secrets masked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from journeykit import (
    CODING_KEY,
    DEV_KEY,
    Server,
    Simulator,
    clean_env,
    deliver,
    explain,
    github_event,
    run_cli,
    server_env,
)
from test_fixed_mode import fixed_env

pytestmark = pytest.mark.journey


def _write_env_file(path: Path, settings: dict[str, str]) -> None:
    lines = ["# hunkwise: shared by the API server and its workers"]
    lines += [f'{name}="{value}"' for name, value in sorted(settings.items())]
    path.write_text("\n".join(lines) + "\n")


def test_serve_reads_the_env_file_and_config_show_names_every_source(
    journey_dir: Path, fake_github: Any, simulator: Simulator
) -> None:
    home = journey_dir / "env-file-home"
    full = server_env(home, fake_github.url, fixed_env(simulator))
    from_file = {
        k: v for k, v in full.items() if k.startswith(("HUNKWISE_", "ZAI_")) and k != "HUNKWISE_HOME"
    }
    workdir = journey_dir / "env-file-service"
    workdir.mkdir()
    env_file = workdir / "hunkwise.env"
    _write_env_file(env_file, from_file | {"HUNKWISE_MAX_BODY_BYTES": "2000000"})
    shell = clean_env(home, {"HUNKWISE_MAX_BODY_BYTES": "3000000"})  # the shell overrides one line
    assert not any(k in shell for k in from_file), "the shell must not carry the file's settings"

    server = Server(
        shell, workdir, args=["--env-file", str(env_file)], admin_token=from_file["HUNKWISE_ADMIN_TOKEN"]
    )
    try:
        assert httpx.get(f"{server.url}/readyz", timeout=10).json()["mode"] == "fixed"
        with server.client() as admin:
            slug = "codertocat"  # the owner of the recorded pull request
            created = admin.post("/api/orgs", json={"slug": slug})
            assert created.status_code == 201, created.text  # the admin token came from the file
        with server.client(created.json()["token"]) as org:
            shown = org.get(f"/api/orgs/{slug}/byok").json()
            assert (shown["main"]["model"], shown["main"]["plan"]) == ("glm-5.1", "coding")
            before = simulator.key_requests(CODING_KEY)
            event = github_event("pull_request.opened", fake_github.url)
            resp = deliver(server, event, delivery=f"journey-env-file-{slug}")
            assert resp.status_code == 202, resp.text
            job = server.wait_job(org, int(resp.json()["job_id"]))
            assert job["status"] == "done", job
            assert simulator.key_requests(CODING_KEY) > before  # the file's key served the review
    finally:
        server.stop()

    shown = run_cli(["config", "show", "--env-file", str(env_file), "--json"], shell, cwd=workdir)
    assert shown.returncode == 0, explain(shown)
    for secret in (
        from_file["HUNKWISE_ADMIN_TOKEN"],
        CODING_KEY,
        DEV_KEY,
        from_file["HUNKWISE_GITHUB_TOKEN"],
    ):
        assert secret not in shown.stdout
    report = json.loads(shown.stdout)
    rows = {r["setting"]: r for r in report["settings"]}
    assert rows["HUNKWISE_MAX_BODY_BYTES"] == {
        "setting": "HUNKWISE_MAX_BODY_BYTES",
        "value": 3000000,
        "source": "env",
    }
    assert rows["HUNKWISE_DATABASE_URL"]["source"] == f".env ({env_file})"
    assert rows["HUNKWISE_ADMIN_TOKEN"]["value"] == "••••" + from_file["HUNKWISE_ADMIN_TOKEN"][-4:]
    slots = {r["setting"]: r for r in report["slots"]}
    assert slots["main.model"]["value"] == "glm-5.1"
    assert slots["main.model"]["source"] == f".env ({env_file}): HUNKWISE_MODEL"
    assert slots["fallback.api_key"]["value"] == "••••" + DEV_KEY[-4:]

    # A typo in the file is one line naming the file and the line, and the server does not start.
    broken = workdir / "broken.env"
    broken.write_text(env_file.read_text() + "HUNKWISE_QUEUE_URL amqp://oops\n")
    failed = run_cli(["serve", "--port", "1", "--env-file", str(broken)], shell, cwd=workdir)
    assert failed.returncode == 2, explain(failed)
    assert f"{broken} line {len(from_file) + 3}: cannot parse" in failed.stderr
    assert "Traceback" not in failed.stderr
