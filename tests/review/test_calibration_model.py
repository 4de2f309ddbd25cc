"""Calibration is keyed by the configured model of the slot that answered, the id the planner
reads ratios by, not by the model id the provider returned (often a dated snapshot)."""

from __future__ import annotations

from pathlib import Path

from hunkwise.gateway.types import ChatRequest, ChatResult, Secret, Slot, Usage
from hunkwise.review.engine import ReviewOptions, run_review
from hunkwise.review.tokens import TokenEstimator

SAMPLE = (Path(__file__).parents[2] / "examples" / "sample.diff").read_bytes()


def _slot(name: str, model: str) -> Slot:
    return Slot(
        name=name,
        provider="openai_compatible",
        base_url="http://127.0.0.1:9/v1",
        model=model,
        api_key=Secret("fake-key-123456"),
        context_window=200_000,
    )


class SnapshotRouter:
    """Answers from the fallback slot with a dated snapshot id the configuration never names."""

    def __init__(self) -> None:
        self._slots = (_slot("main", "reviewer-large"), _slot("fallback", "reviewer-small"))

    @property
    def slots(self) -> tuple[Slot, ...]:
        return self._slots

    async def chat(self, request: ChatRequest) -> ChatResult:
        chars = sum(len(m.content) for m in request.messages)
        return ChatResult(
            content='{"findings": []}',
            model="reviewer-small-2026-01-15",
            provider="openai_compatible",
            slot="fallback",
            usage=Usage(calls=1, input_tokens=max(1, chars // 2), output_tokens=5),
            attempts=[],
        )


async def test_calibration_uses_the_answering_slots_configured_model() -> None:
    estimator = TokenEstimator()
    report = await run_review(SAMPLE, SnapshotRouter(), ReviewOptions(estimator=estimator))
    assert report.complete
    assert set(report.calibration) == {"reviewer-small"}
    assert report.calibration["reviewer-small"][2] >= 1
    # the planner reads ratios by slot.model: the sample is there, not under the snapshot id
    assert estimator.ratio("reviewer-small") != estimator.default_ratio
    assert estimator.ratio("reviewer-large") == estimator.default_ratio
