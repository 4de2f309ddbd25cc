"""Deterministic token counting that behaves like a real BPE tokenizer, not like ``len/4``.

The review engine calibrates its own estimate from the ``prompt_tokens`` a provider reports, so
the simulator must report counts that (a) are stable for the same text, (b) grow with the text,
and (c) differ from the naive chars/4 guess the way real tokenizers do: code, with its
punctuation and indentation, costs about one token per 3.3 characters (measured on this
repository's Python), English prose one per 3.7-3.9.

The rule, applied to every piece matched by ``_PIECE``:

* a word (letters, digits, underscore): one token per started 8 characters (common words are one token);
* a run of spaces or tabs: one token per started 4 characters, but a single space before a word
  is free (BPE merges it into the word);
* a newline run: one token;
* a run of other characters (punctuation, operators): one token per started 2 characters.

Each chat message adds 4 tokens of framing and each reply 3 (the OpenAI chat convention).

Named like :mod:`hunkwise.review.tokens` on purpose: the simulator's modules are named after the
real thing they stand in for; this one counts the tokens that one estimates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_PIECE = re.compile(r"\w+|[ \t]+|\n+|[^\w\s]+|\s")
MESSAGE_OVERHEAD = 4
REPLY_OVERHEAD = 3


def count_tokens(text: str) -> int:
    tokens = 0
    previous_blank = False
    for match in _PIECE.finditer(text):
        piece = match.group()
        first = piece[0]
        if first == "_" or first.isalnum():
            tokens += -(-len(piece) // 8)
            previous_blank = False
        elif first in " \t":
            previous_blank = piece == " "
            tokens += 0 if piece == " " else -(-len(piece) // 4)
        elif first == "\n":
            tokens += 1
            previous_blank = False
        else:
            tokens += -(-len(piece) // 2)
            previous_blank = False
    # A trailing lone space was treated as free; charge it so no text is ever free.
    return tokens + (1 if previous_blank else 0)


def count_messages(texts: Iterable[str]) -> int:
    """Prompt tokens for a chat: every message's text plus framing."""
    return sum(count_tokens(t) + MESSAGE_OVERHEAD for t in texts) + REPLY_OVERHEAD
