"""The console's Usage page keeps simulated calls (an offline review recorded in the same database)
out of real usage by default, and shows them labelled, apart from the totals, when asked."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from srvkit import ADMIN
from typer.testing import CliRunner
from webkit import sign_in

from call_records import call_record
from hunkwise.cli.app import app as cli_app
from hunkwise.store.ledger import record_run
from hunkwise.store.records import RunRecord

SIM_CODING = "zai|http://127.0.0.1:40404/api/coding/paas/v4|5151515151515151"


@pytest.fixture
def console(make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client()
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    real = call_record(
        slot="main", provider="openai", model="gpt-5-mini", outcome="ok",
        input_tokens=1200, output_tokens=300, cost_usd=0.0009,
    )  # fmt: skip
    simulated = call_record(
        slot="main", provider="zai", model="glm-5.1", outcome="ok", input_tokens=5000, output_tokens=1000,
        cost_usd=0.75, credential_id=SIM_CODING, plan="coding", tier="lite", simulated=True,
    )  # fmt: skip
    record_run(engine, RunRecord(source="local"), [real])
    record_run(engine, RunRecord(source="offline", simulated=True), [simulated] * 3)
    sign_in(client, ADMIN)  # the admin without an organization sees the whole ledger
    return client


def _fact(html: str, name: str) -> str:
    found = re.search(rf'id="{name}">([^<]*)<', html)
    assert found, name
    return found.group(1)


def test_usage_page_leaves_simulated_calls_out_by_default(console: TestClient) -> None:
    html = console.get("/console/usage").text
    assert _fact(html, "total-calls") == "1"
    assert _fact(html, "total-cost") == "$0.0009"
    assert _fact(html, "total-tokens") == "1.5k"
    assert "glm-5.1" not in html and "(simulated)" not in html
    assert "Coding Plan quota windows" not in html  # the only Coding Plan key was the simulator's
    assert "3 simulated call(s) from offline reviews are not shown" in html
    assert 'href="/console/usage?days=14&amp;include_simulated=true"' in html


def test_usage_page_shows_simulated_calls_labelled_when_asked(console: TestClient) -> None:
    html = console.get("/console/usage", params={"include_simulated": "true"}).text
    assert _fact(html, "total-calls") == "1" and _fact(html, "total-cost") == "$0.0009"
    assert "glm-5.1 (simulated)" in html  # its own series and table rows
    table = html.split('id="usage-table"')[1]
    assert '<tr class="simulated"><td>' in table and "<td>glm-5.1 (simulated)</td>" in table
    assert "$2.25 (simulated)" in table and "<td>gpt-5-mini</td>" in table
    assert (
        "Including 3 simulated call(s) from offline reviews ($2.25 at catalog prices, no money spent)" in html
    )
    assert re.search(r"key 51515151 <span class=\"badge\">simulated</span>", html)
    assert (
        "include_simulated=true" in html.split('aria-label="Period"')[1].split("</nav>")[0]
    )  # kept by the period links


def test_a_bad_toggle_value_is_a_422_naming_it(console: TestClient) -> None:
    resp = console.get("/console/usage", params={"include_simulated": "maybe"})
    assert resp.status_code == 422
    assert "include_simulated" in resp.text


def test_an_offline_review_sharing_the_servers_database_is_not_usage(
    make_client: Callable[..., TestClient], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI and the server on one database: ``review --offline`` records its calls there, and
    the console must not count them as spend."""
    client = make_client()
    monkeypatch.chdir(tmp_path)
    sample = Path(__file__).parents[2] / "examples" / "sample.diff"
    database = {"HUNKWISE_DATABASE_URL": str(client.app.state.runtime.engine.url)}  # type: ignore[attr-defined]
    result = CliRunner().invoke(cli_app, ["review", "--offline", "--diff", str(sample), "-q"], env=database)
    assert result.exit_code == 0, result.output
    sign_in(client, ADMIN)

    html = client.get("/console/usage").text
    assert _fact(html, "total-calls") == "0" and _fact(html, "total-cost") == "$0"
    assert "glm-5.1" not in html
    assert "1 simulated call(s) from offline reviews are not shown" in html
    shown = client.get("/console/usage?include_simulated=1").text
    assert "glm-5.1 (simulated)" in shown and _fact(shown, "total-calls") == "0"
