"""Cheap, calibrated token estimates for planning requests.

Why not a real tokenizer: tiktoken downloads its vocabularies on first use (fails offline), and
GLM/Claude tokenizers differ from OpenAI's anyway. A characters-per-token ratio per model is
cheap and, once calibrated from the ``prompt_tokens`` providers report, accurate to a few
percent. Estimates round *up* and the default ratio is deliberately low (more tokens per
character than typical code), so an uncalibrated plan errs towards smaller chunks, never
towards a context overflow.

Arithmetic is done in integer milli-characters per token so that "fits" is exact: a text of
``capacity(t)`` characters is estimated at no more than ``t`` tokens, with no float rounding.

Named like :mod:`hunkwise.sim.tokens` on purpose: the simulator's modules are named after the real
thing they stand in for; that one counts the tokens this one estimates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

DEFAULT_CHARS_PER_TOKEN = 3.5
MIN_CHARS_PER_TOKEN = 1.5
MAX_CHARS_PER_TOKEN = 6.0
_MIN_SAMPLE_TOKENS = 200  # smaller prompts are dominated by per-message overhead: ignore them
_RESTORED_WEIGHT = 8  # a restored ratio counts as this many observations


def _key(model: str | None) -> str:
    return (model or "").strip().lower()


def _clamp(ratio: float) -> float:
    return min(MAX_CHARS_PER_TOKEN, max(MIN_CHARS_PER_TOKEN, ratio))


class TokenEstimator:
    """Per-model characters-per-token ratios with a bounded moving-average calibration."""

    def __init__(self, default_ratio: float = DEFAULT_CHARS_PER_TOKEN) -> None:
        if not math.isfinite(default_ratio) or default_ratio <= 0:
            raise ValueError(f"default_ratio must be a positive number, got {default_ratio!r}")
        self.default_ratio = _clamp(default_ratio)
        self._ratios: dict[str, float] = {}
        self._samples: dict[str, int] = {}

    # -- reading -------------------------------------------------------------------------------
    def ratio(self, model: str | None = None) -> float:
        """The model's calibrated characters-per-token, or the deliberately low default until it has been
        calibrated.
        """
        return self._ratios.get(_key(model), self.default_ratio)

    def ratio_for(self, models: Iterable[str | None]) -> float:
        """The most conservative (smallest) ratio among models: a chunk sized with it fits
        every one of them."""
        ratios = [self.ratio(m) for m in models]
        return min(ratios) if ratios else self.default_ratio

    def estimate(self, text: str, model: str | None = None) -> int:
        """Tokens for a text on a model, rounded up so plans err towards smaller chunks."""
        return self.estimate_chars(len(text), self.ratio(model))

    @staticmethod
    def estimate_chars(chars: int, ratio: float) -> int:
        """Tokens for ``chars`` characters at ``ratio``, rounded up."""
        milli = max(1, int(ratio * 1000))
        return -(-chars * 1000 // milli)

    @staticmethod
    def capacity(tokens: int, ratio: float) -> int:
        """The most characters whose estimate is at most ``tokens`` (inverse of the above)."""
        milli = max(1, int(ratio * 1000))
        return max(0, tokens) * milli // 1000

    # -- learning ------------------------------------------------------------------------------
    def calibrate(self, model: str, text_chars: int, reported_prompt_tokens: int) -> float:
        """Fold one observation (the prompt's characters and the provider's ``prompt_tokens``)
        into the model's ratio; returns the new ratio.

        The average moves fast while few samples exist and settles to a 10% step, and the
        observed ratio is clamped, so one odd response (a cached prompt billed oddly, a proxy
        that reports nonsense) cannot swing the planner.
        """
        key = _key(model)
        if not key or text_chars <= 0 or reported_prompt_tokens < _MIN_SAMPLE_TOKENS:
            return self.ratio(model)
        observed = _clamp(text_chars / reported_prompt_tokens)
        n = self._samples.get(key, 0)
        alpha = max(0.1, 1.0 / (n + 1))
        old = self._ratios.get(key, self.default_ratio)
        new = _clamp(old + alpha * (observed - old))
        self._ratios[key] = new
        self._samples[key] = n + 1
        return new

    # -- persistence ---------------------------------------------------------------------------
    def ratios(self) -> dict[str, float]:
        """Calibrated ratios by model id, for the usage store to persist."""
        return {k: round(v, 4) for k, v in sorted(self._ratios.items())}

    @classmethod
    def from_ratios(
        cls, ratios: Mapping[str, float], default_ratio: float = DEFAULT_CHARS_PER_TOKEN
    ) -> TokenEstimator:
        """Restore persisted ratios; values that are not finite positive numbers are ignored
        (a damaged store must not break planning), others are clamped to the sane range."""
        est = cls(default_ratio)
        for model, value in ratios.items():
            key = _key(model)
            if not key or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if not math.isfinite(value) or value <= 0:
                continue
            est._ratios[key] = _clamp(float(value))
            est._samples[key] = _RESTORED_WEIGHT
        return est
