"""Errors the review layer raises for bad input.

They carry a message fit to print as one line (what is wrong, how to fix it). The CLI maps them to
exit code 2; the server maps them to a failed job with that message. The review layer cannot
import the CLI's ``UsageError`` (imports flow downward), hence its own small tree.
"""

from __future__ import annotations


class ReviewInputError(ValueError):
    """The change, the rules file or an option cannot be used as given."""


class CostLimitExceeded(ReviewInputError):
    """The plan's estimated cost is above ``--max-cost``; nothing was sent."""

    def __init__(self, estimated_usd: float, limit_usd: float, chunks: int) -> None:
        self.estimated_usd = estimated_usd
        self.limit_usd = limit_usd
        self.chunks = chunks
        super().__init__(
            f"estimated cost ${estimated_usd:.4f} for {chunks} request(s) is above --max-cost "
            f"${limit_usd:.4f}; nothing was sent. Raise --max-cost, narrow the change (--base/--head), "
            "or ignore files in .hunkwise.toml [review] ignore"
        )
