"""Measure review quality: run the review engine over cases with known issues and score it.

A room of its own above ``review`` (it drives the engine and the gateway, and reads configuration
through ``config``), below the CLI that parses ``hunkwise eval``. See docs/eval.md.
"""

from __future__ import annotations

from hunkwise.evaluation.dataset import Case, Dataset, DatasetError, ExpectedIssue, load_dataset
from hunkwise.evaluation.matching import DEFAULT_TOLERANCE, Matching, match
from hunkwise.evaluation.runner import ConfigUnderTest, EvalResult, config_digest, evaluate

__all__ = [
    "DEFAULT_TOLERANCE",
    "Case",
    "ConfigUnderTest",
    "Dataset",
    "DatasetError",
    "EvalResult",
    "ExpectedIssue",
    "Matching",
    "config_digest",
    "evaluate",
    "load_dataset",
    "match",
]
