"""Errors the review layer raises for bad input.

They carry a message fit to print as one line (what is wrong, how to fix it). They are
configuration errors of :mod:`hunkwise.errors` (the input or an option must change): the CLI
maps them to exit code 2; the server maps them to a failed job with that message.

Named like :mod:`hunkwise.errors` and :mod:`hunkwise.gateway.errors` on purpose: each package's
``errors`` holds its branch of the one tree rooted in :mod:`hunkwise.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hunkwise.errors import ConfigurationError

if TYPE_CHECKING:
    from hunkwise.config.review_settings import CostCeiling


class ReviewInputError(ConfigurationError, ValueError):
    """The change, the rules file or an option cannot be used as given."""


class CostLimitExceeded(ReviewInputError):
    """The plan's estimated cost is above the cost ceiling; nothing was sent. The message names
    the estimate, the ceiling and where it came from, and how to raise it."""

    def __init__(self, estimated_usd: float, ceiling: CostCeiling, chunks: int) -> None:
        self.estimated_usd = estimated_usd
        self.ceiling = ceiling
        self.chunks = chunks
        super().__init__(ceiling.refusal(estimated_usd, chunks))
