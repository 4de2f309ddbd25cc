"""The review engine end to end against real servers: the simulator over loopback HTTP, and a
tiny in-test OpenAI-compatible server for answers the simulator never gives (prose, bad JSON)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hunkwise.config.review_settings import CostCeiling
from hunkwise.gateway import Router
from hunkwise.gateway.types import Secret, Slot
from hunkwise.review.engine import ChunkOutcome, ReviewOptions, run_review
from hunkwise.review.errors import CostLimitExceeded, ReviewInputError
from hunkwise.review.tokens import TokenEstimator
from hunkwise.review.verification import VerifyOptions
from hunkwise.sim import KeyConfig
from rulesfile import repo_rules
from simkeys import DEV_KEY

SAMPLE = (Path(__file__).parents[2] / "examples" / "sample.diff").read_bytes()
EXPECTED = {
    ("src/inventory/config.py", 10, "critical", "security"),
    ("src/inventory/pricing.py", 12, "low", "maintainability"),
    ("src/inventory/pricing.py", 13, "high", "security"),
    ("src/inventory/pricing.py", 19, "medium", "error_handling"),
}


def zai_slot(
    base_url: str, key: str = DEV_KEY, *, name: str = "main", plan: str = "developer", **kw: object
) -> Slot:
    fields: dict = {
        "model": "glm-5.1",
        "input_price": 1.4,
        "output_price": 4.4,
        "context_window": 200_000,
    } | kw
    return Slot(name=name, provider="zai", base_url=base_url, api_key=Secret(key), plan=plan, **fields)  # type: ignore[arg-type]


class Recorder:
    def __init__(self) -> None:
        self.started: tuple[int, float] | None = None
        self.done: list[ChunkOutcome] = []

    def review_started(self, chunks: int, estimated_cost_usd: float) -> None:
        self.started = (chunks, estimated_cost_usd)

    def chunk_done(self, outcome: ChunkOutcome) -> None:
        self.done.append(outcome)


async def test_sample_diff_findings_on_the_right_lines(sim) -> None:
    progress = Recorder()
    estimator = TokenEstimator()
    async with Router([zai_slot(sim.zai_developer_url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions(estimator=estimator), progress=progress)
    got = {(f.path, f.start_line, f.severity, f.category) for f in report.findings}
    assert got == EXPECTED
    assert all(f.model == "glm-5.1" for f in report.findings)
    assert report.complete and report.exit_code() == 0 and report.exit_code("high") == 1
    assert report.files_reviewed == 3 and report.lines_reviewed == 4 + 20 + 12
    assert report.usage.calls == 1 and report.usage.input_tokens > 0 and report.usage.cost_usd > 0
    assert sim.key_stats(DEV_KEY)["ok"] == 1
    assert progress.started is not None and progress.started[0] == 1
    assert [o.ok for o in progress.done] == [True]
    assert report.calibration["glm-5.1"][2] == 1  # one sample from the reported prompt_tokens
    assert report.code["src/inventory/pricing.py"][13].strip().startswith("return Decimal(eval(")


async def test_dry_run_and_max_cost_make_no_model_call(sim) -> None:
    async with Router([zai_slot(sim.zai_developer_url)]) as router:
        dry = await run_review(SAMPLE, router, ReviewOptions(dry_run=True))
        assert dry.dry_run and len(dry.plan) == 1 and dry.findings == []
        assert dry.estimated_cost_usd > 0 and dry.plan[0].estimated_input_tokens > dry.plan[0].lines
        tiny = CostCeiling(0.00001, source="--max-cost")
        with pytest.raises(CostLimitExceeded, match=r"above the cost ceiling of \$0\.0000 \(--max-cost\)"):
            await run_review(SAMPLE, router, ReviewOptions(max_cost=tiny))
        over = await run_review(SAMPLE, router, ReviewOptions(dry_run=True, max_cost=tiny))
        assert over.over_max_cost and over.to_json()["plan"]["over_max_cost"] is True  # shown, not stopped
        ok = await run_review(SAMPLE, router, ReviewOptions(dry_run=True, max_cost=CostCeiling(1.0)))
        assert ok.estimated_cost_usd <= 1.0 and not ok.over_max_cost
    assert sim.stats()["keys"][DEV_KEY]["ok"] == 0
    assert sim.requests() == []


async def test_admit_sees_the_dry_runs_estimate_before_any_call_and_can_stop_the_review(sim) -> None:
    """The hook a server reserves its monthly budget with: after the ceiling, before the first
    request, never on a dry run; raising stops the review with nothing sent."""
    asked: list[float] = []

    class Refused(Exception):
        pass

    async def refuse(report) -> None:  # type: ignore[no-untyped-def]
        asked.append(report.estimated_cost_usd)
        raise Refused

    async with Router([zai_slot(sim.zai_developer_url)]) as router:
        dry = await run_review(SAMPLE, router, ReviewOptions(dry_run=True, admit=refuse))
        assert asked == []  # a dry run is never admitted: it sends nothing
        tiny = CostCeiling(0.00001)
        with pytest.raises(CostLimitExceeded):  # the ceiling is checked first
            await run_review(SAMPLE, router, ReviewOptions(max_cost=tiny, admit=refuse))
        assert asked == []
        with pytest.raises(Refused):
            await run_review(SAMPLE, router, ReviewOptions(admit=refuse))
        assert asked == [dry.estimated_cost_usd]  # the same estimate the dry run shows
        assert sim.requests() == []

        async def admit(report) -> None:  # type: ignore[no-untyped-def]
            asked.append(report.estimated_cost_usd)

        done = await run_review(SAMPLE, router, ReviewOptions(admit=admit))
    assert len(asked) == 2 and done.findings and sim.stats()["keys"][DEV_KEY]["ok"] == 1


async def test_filters_and_limits_from_rules(sim) -> None:
    rules = repo_rules('[review]\nignore = ["tests/**"]\n[[rules]]\npaths=["src/**"]\ntext="No eval."\n')
    async with Router([zai_slot(sim.zai_developer_url)]) as router:
        report = await run_review(
            SAMPLE, router, ReviewOptions(rules=rules, min_severity="medium", max_findings=2)
        )
    assert [(f.start_line, f.severity) for f in report.findings] == [(10, "critical"), (13, "high")]
    assert (report.below_min_severity, report.over_max_findings) == (1, 1)
    assert [(s.path, s.lines, s.rule) for s in report.skipped] == [
        ("tests/test_pricing.py", 12, "ignore:glob:tests/**")
    ]
    assert report.lines_reviewed == 24
    body = sim.requests()[0]
    assert "No eval." in json.dumps(body)  # the repository rule reached the prompt


def many_files_diff(n: int, lines: int = 40) -> str:
    parts = []
    for i in range(n):
        body = "".join(
            f"+value_{j} = compute({j})  # step {j} of the pipeline for module {i}\n" for j in range(lines)
        )
        body += "+result = eval(user_input)\n"
        parts.append(
            f"diff --git a/pkg/mod_{i}.py b/pkg/mod_{i}.py\nnew file mode 100644\n--- /dev/null\n"
            f"+++ b/pkg/mod_{i}.py\n@@ -0,0 +1,{lines + 1} @@\n{body}"
        )
    return "".join(parts)


async def test_many_chunks_run_concurrently_and_cover_every_line(sim) -> None:
    slot = zai_slot(sim.zai_developer_url, context_window=9_000, max_output_tokens=1_000)
    progress = Recorder()
    async with Router([slot]) as router:
        report = await run_review(
            many_files_diff(24), router, ReviewOptions(max_workers=4), progress=progress
        )
    assert len(report.plan) > 3
    assert report.usage.calls == len(report.plan) == len(progress.done)
    assert report.lines_reviewed == 24 * 41 and report.files_reviewed == 24
    assert len(report.findings) == 24  # one eval per file, each anchored to line 41
    assert {f.start_line for f in report.findings} == {41}
    assert sim.key_stats(DEV_KEY)["ok"] == len(report.plan)


async def test_failover_visible_in_report(sim_factory) -> None:
    server = sim_factory(
        keys=[KeyConfig(key="spent-coding-key", kind="coding", tier="lite", quota_5h=0),
              KeyConfig(key=DEV_KEY, kind="developer")]
    )  # fmt: skip
    slots = [
        zai_slot(server.zai_coding_url, "spent-coding-key", plan="coding", max_concurrent=1),
        zai_slot(server.zai_developer_url, name="fallback", model="glm-5"),
    ]
    async with Router(slots) as router:
        report = await run_review(SAMPLE, router, ReviewOptions())
    assert report.complete and report.failovers >= 1
    assert set(report.models()) == {"glm-5"}
    assert {f.model for f in report.findings} == {"glm-5"}
    outcomes = [a.outcome for a in report.calls]
    assert outcomes[0] == "quota_window" and outcomes[-1] == "ok"
    assert report.to_json()["usage"]["failovers"] >= 1


async def test_all_slots_failing_reports_a_failed_chunk(sim) -> None:
    async with Router([zai_slot(sim.zai_developer_url, "not-a-valid-key")]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions())
    assert not report.complete and report.exit_code() == 3
    [failed] = report.failed_chunks
    assert failed.reason == "all_slots_failed" and "auth" in failed.detail
    assert failed.lines == 36 and report.lines_reviewed == 0
    assert "not-a-valid-key" not in json.dumps(report.to_json())


# --- a server that answers what the simulator never would -------------------------------------
class FakeOpenAI:
    """A real HTTP server speaking just enough of POST /v1/chat/completions; answers are taken
    from ``answers`` in order (the last one repeats)."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                content = outer.answers[min(len(outer.bodies), len(outer.answers)) - 1]
                payload = json.dumps({
                    "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 1200, "completion_tokens": 50, "total_tokens": 1250},
                }).encode()  # fmt: skip
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_openai() -> Iterator:
    servers: list[FakeOpenAI] = []

    def make(answers: list[str]) -> FakeOpenAI:
        servers.append(FakeOpenAI(answers))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def fake_slot(url: str) -> Slot:
    return Slot(name="main", provider="openai_compatible", base_url=url, model="fake-reviewer",
                api_key=Secret("fake-key-123456"), input_price=1.0, output_price=2.0)  # fmt: skip


async def test_garbage_answer_gets_one_repair_then_the_chunk_fails(fake_openai) -> None:
    server = fake_openai(["I looked at the change and it seems fine to me!"])
    async with Router([fake_slot(server.url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions())
    assert len(server.bodies) == 2  # the review, then exactly one repair request
    repair = server.bodies[1]["messages"]
    assert repair[-2]["role"] == "assistant" and "seems fine" in repair[-2]["content"]
    assert "no JSON object or array found" in repair[-1]["content"]
    [failed] = report.failed_chunks
    assert failed.reason == "invalid_output" and report.exit_code() == 3
    assert [c.purpose for c in report.calls] == ["review", "repair"]
    assert report.usage.calls == 2


async def test_repair_that_works_saves_the_chunk(fake_openai) -> None:
    good = json.dumps(
        {
            "findings": [
                {
                    "path": "src/inventory/pricing.py",
                    "start_line": 21,
                    "end_line": 21,
                    "severity": "high",
                    "category": "bug",
                    "title": "Rounding",
                }
            ]
        }
    )
    server = fake_openai(['```json\n{"findings": [{"path": "a.py"\n```', f"Here you go: {good}"])
    async with Router([fake_slot(server.url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions())
    assert report.complete and len(server.bodies) == 2
    [f] = report.findings
    assert (f.path, f.start_line, f.model) == ("src/inventory/pricing.py", 21, "fake-reviewer")


async def test_unanchored_findings_are_dropped_and_counted(fake_openai) -> None:
    answer = json.dumps({"findings": [
        {"path": "src/inventory/pricing.py", "start_line": 4, "end_line": 4, "severity": "low",
         "category": "style", "title": "blank line"},  # a context line next to line 3: snapped
        {"path": "src/inventory/config.py", "start_line": 1, "end_line": 1, "severity": "low",
         "category": "docs", "title": "outside the change"},
        {"path": "README.md", "start_line": 1, "end_line": 1, "severity": "low", "category": "docs",
         "title": "not in the diff"},
    ]})  # fmt: skip
    server = fake_openai([answer])
    async with Router([fake_slot(server.url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions())
    assert [(f.path, f.start_line) for f in report.findings] == [("src/inventory/pricing.py", 3)]
    assert report.dropped_unanchored == 2


async def test_empty_and_unreadable_diffs(sim) -> None:
    async with Router([zai_slot(sim.zai_developer_url)]) as router:
        empty = await run_review(b"", router, ReviewOptions())
        assert empty.plan == [] and empty.usage.calls == 0 and empty.complete
        with pytest.raises(ReviewInputError, match="the diff cannot be read"):
            await run_review(b"diff --git a/x b/x\n@@ -1 +1 @@\n", router, ReviewOptions())
    assert sim.requests() == []


# --- answers that used to lose findings silently (issue 11, item 7) ----------------------------
def _sample_finding(line: int, title: str) -> dict[str, object]:
    return {"path": "src/inventory/pricing.py", "start_line": line, "end_line": line, "severity": "high",
            "category": "security", "title": title}  # fmt: skip


async def test_json_after_prose_with_code_is_read_without_a_repair(fake_openai) -> None:
    answer = (
        "The loader is wrapped in `useEffect(() => { load(); }, []);` and resets with `setItems([]);`.\n"
        + json.dumps({"findings": [_sample_finding(13, "eval on a price string")]})
    )
    server = fake_openai([answer])
    async with Router([fake_slot(server.url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions())
    assert len(server.bodies) == 1 and report.complete
    assert [(f.path, f.start_line) for f in report.findings] == [("src/inventory/pricing.py", 13)]


async def test_near_json_costs_no_repair_request(fake_openai) -> None:
    near = (
        "Found one:\n```json\n{findings: [{path: 'src/inventory/pricing.py', line: 13, "
        "message: 'eval on a price string', severity: 'high', category: 'security',},]} // done\n```"
    )
    server = fake_openai([near])
    async with Router([fake_slot(server.url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions())
    assert len(server.bodies) == 1  # read as near-JSON: no second call
    assert report.complete and [(f.start_line, f.severity) for f in report.findings] == [(13, "high")]


async def test_finding_like_text_that_cannot_be_read_gets_the_repair_request(fake_openai) -> None:
    unreadable = (
        "Looks fine overall (`[]` is the default).\n"
        '{"path": "src/inventory/pricing.py", "line": 13, "message": "eval on a price string", "see": [}'
    )
    repaired = json.dumps({"findings": [_sample_finding(13, "eval on a price string")]})
    server = fake_openai([unreadable, repaired])
    async with Router([fake_slot(server.url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions())
    assert len(server.bodies) == 2  # never an empty review: the model was asked again
    assert "look like findings" in server.bodies[1]["messages"][-1]["content"]
    assert report.complete and [f.start_line for f in report.findings] == [13]


async def test_a_cut_off_answer_keeps_its_complete_findings_and_fails_the_chunk(fake_openai) -> None:
    full = json.dumps({"findings": [_sample_finding(13, "eval"), _sample_finding(19, "bare except"),
                                    _sample_finding(12, "third one")]})  # fmt: skip
    cut = full[: full.index('"third one"') - 20]
    server = fake_openai([cut, cut])  # the repair is cut off as well
    async with Router([fake_slot(server.url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions())
    assert len(server.bodies) == 2 and "incomplete" in server.bodies[1]["messages"][-1]["content"]
    [failed] = report.failed_chunks
    assert failed.reason == "invalid_output" and "finding(s) read from the answers are kept" in failed.detail
    assert not report.complete and report.exit_code() == 3  # the lines count as not reviewed
    assert sorted(f.start_line for f in report.findings) == [13, 19]  # twins merged, none lost


async def test_a_cut_off_answer_and_its_repair_are_merged(fake_openai) -> None:
    full = json.dumps({"findings": [_sample_finding(13, "eval"), _sample_finding(19, "bare except")]})
    cut = full[: full.index('"bare except"') - 20]
    repaired = json.dumps({"findings": [_sample_finding(19, "bare except")]})
    server = fake_openai([cut, repaired])
    async with Router([fake_slot(server.url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions())
    assert report.complete and len(server.bodies) == 2
    assert sorted(f.start_line for f in report.findings) == [13, 19]


# --- the verification pass (issue 13 item 5) ----------------------------------------------------
async def test_verification_drops_what_it_scores_under_min_score(sim) -> None:
    async with Router([zai_slot(sim.zai_developer_url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions(verify=VerifyOptions(enabled=True)))
    # The simulator's verifier scores by severity: critical 9, high 8, medium 6, low 3.
    assert {(f.start_line, f.severity, f.verification_score) for f in report.findings} == {
        (10, "critical", 9),
        (13, "high", 8),
        (19, "medium", 6),
    }
    assert report.below_min_score == 1 and report.low_score == [] and report.unverified == 0
    assert report.duplicates_merged == 0  # what the pass drops is counted once, as its own
    assert [c.purpose for c in report.calls] == ["review", "verify"]
    verification = report.verification_usage()
    assert verification["calls"] == 1 and verification["input_tokens"] > 0 and verification["cost_usd"] > 0
    assert report.usage.calls == 2  # the total includes the pass; the JSON shows its share apart
    assert report.to_json()["usage"]["verification"] == verification
    assert "1 under the verification's min_score" in report.not_shown()


async def test_verification_batches_go_together_and_scores_land_on_their_findings(sim) -> None:
    async with Router([zai_slot(sim.zai_developer_url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions(verify=VerifyOptions(enabled=True, batch=1)))
    assert [c.purpose for c in report.calls].count("verify") == 4  # one per finding
    expected = {"critical": 9, "high": 8, "medium": 6}
    assert {(f.severity, f.verification_score) for f in report.findings} == set(expected.items())


async def test_verification_can_move_low_scores_to_the_summary(sim) -> None:
    verify = VerifyOptions(enabled=True, min_score=7, action="summary")
    async with Router([zai_slot(sim.zai_developer_url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions(verify=verify))
    assert {f.severity for f in report.findings} == {"critical", "high"}
    assert [(f.start_line, f.verification_score) for f in report.low_score] == [(12, 2), (19, 6)]
    assert all(f.verification_reason.startswith("[simulator]") for f in report.low_score)
    assert [f["start_line"] for f in report.to_json()["summary"]["low_score"]] == [12, 19]


async def test_what_a_floor_hides_is_never_verified_and_max_findings_comes_last(sim) -> None:
    rules = repo_rules('[review]\nmin_severity = "medium"\nmax_findings = 1\n')
    options = ReviewOptions(rules=rules, verify=VerifyOptions(enabled=True, min_score=7))
    async with Router([zai_slot(sim.zai_developer_url)]) as router:
        report = await run_review(SAMPLE, router, options)
    verify_prompt = next(m for m in sim.requests() if "verifier" in m["body"]["messages"][0]["content"])
    asked = verify_prompt["body"]["messages"][1]["content"]
    assert asked.count("### Candidate") == 3 and "Unresolved TODO" not in asked  # the low TODO was floored
    assert report.below_min_severity == 1 and report.below_min_score == 1  # medium scores 6
    # Of critical (9) and high (8), max_findings = 1 shows the critical; the high is held back.
    assert [f.severity for f in report.findings] == ["critical"]
    assert [f.severity for f in report.held_back] == ["high"]


async def test_an_unreadable_verification_keeps_every_finding(fake_openai) -> None:
    review = json.dumps(
        {"findings": [_sample_finding(13, "eval on a price"), _sample_finding(19, "bare except")]}
    )
    server = fake_openai([review, "I think they are all fine."])
    async with Router([fake_slot(server.url)]) as router:
        report = await run_review(SAMPLE, router, ReviewOptions(verify=VerifyOptions(enabled=True)))
    assert len(server.bodies) == 2 and "Candidate 2" in server.bodies[1]["messages"][-1]["content"]
    assert sorted(f.start_line for f in report.findings) == [13, 19]  # fails open
    assert report.unverified == 2 and report.below_min_score == 0 and report.complete
    assert all(f.verification_score is None for f in report.findings)


async def test_a_verification_over_the_cost_ceiling_is_not_run(sim) -> None:
    options = ReviewOptions(verify=VerifyOptions(enabled=True), expected_output_tokens=1)
    async with Router([zai_slot(sim.zai_developer_url)]) as router:
        first = await run_review(SAMPLE, router, options)
        spent = sum(c.usage.cost_usd for c in first.calls if c.purpose == "review")
        ceiling = max(spent, first.estimated_cost_usd) * 1.000001
        pass_estimate = first.verification_usage()["cost_usd"]
        assert ceiling < spent + pass_estimate  # the set-up: the review fits, review + pass does not
        options.max_cost = CostCeiling(ceiling, source="test")
        second = await run_review(SAMPLE, router, options)
    assert [c.purpose for c in second.calls] == ["review"]
    assert second.verification_skipped.startswith("not run: its estimated $")
    assert "the cost ceiling of" in second.verification_skipped
    assert len(second.findings) == 4  # nothing was dropped by a pass that did not run
