"""The input rules every way of configuring a slot shares: an API key, a base URL's text, bounds.

A value that breaks one of these can never work, but it used to be accepted and fail later, far
from where it was typed: a key with a pasted smart quote was saved, then crashed the request when
the HTTP client tried to put it in the ``Authorization`` header. These rules run where the value
enters (``SlotSpec`` / ``SlotInput`` for the JSON API, the console, flags, environment and TOML;
:func:`hunkwise.config.spec.key_from_text` for a key read from a variable or decrypted from a
stored row) and again when a stored configuration is used, so a row saved before a rule existed
fails as a configuration error naming the setting, never as a crash.

Each ``*_problem`` function returns a sentence saying what is wrong and how to fix it, or None;
callers prefix the setting's name as the user wrote it. A key is never quoted back.
"""

from __future__ import annotations

import unicodedata

# An API key is sent as an HTTP header value: printable ASCII, no spaces. 4096 characters holds
# any provider key and a JWT from an identity-aware proxy; anything longer is a paste gone wrong.
MAX_API_KEY_CHARS = 4096
# Browsers and proxies commonly cap URLs near 2 KB; a base URL is a scheme, a host and a short path.
MAX_BASE_URL_CHARS = 2048
# A concurrency cap above this is not a cap: no provider plan allows it (the catalog's largest
# tier, Coding Max, allows 30). 0 still means "no cap".
MAX_CONCURRENT_REQUESTS = 1000
# For a model the catalog does not know; a catalog model is bounded by its card's own maximum.
MAX_OUTPUT_TOKENS = 1_000_000
# Larger than any model's window today by an order of magnitude.
MAX_CONTEXT_WINDOW = 10_000_000


def _describe(ch: str) -> str:
    """A character named so a person can find it, without quoting anything around it."""
    names = {" ": "a space", "\t": "a tab", "\n": "a line break (LF)", "\r": "a line break (CR)"}
    if ch in names:
        return names[ch]
    code = f"U+{ord(ch):04X}"
    name = unicodedata.name(ch, "")
    if unicodedata.category(ch).startswith("C") or not name:
        return f"an invisible character ({code}{' ' + name if name else ''})"
    return f"{ch!r} ({code} {name})"


def api_key_problem(key: str) -> str | None:
    """Why ``key`` (surrounding whitespace already stripped) cannot be sent as a key, or None.

    Only the offending character and its position are named, never the key.
    """
    if len(key) > MAX_API_KEY_CHARS:
        return (
            f"the API key is {len(key):,} characters long; keys are at most {MAX_API_KEY_CHARS:,} "
            "(did the paste include more than the key?)"
        )
    if key[:7].lower() == "bearer ":
        return 'the API key starts with "Bearer ": paste the key alone; hunkwise adds the prefix itself'
    for position, ch in enumerate(key, 1):
        if "!" <= ch <= "~":
            continue
        what = _describe(ch)
        hint = (
            "an API key has no spaces or line breaks: paste only the key"
            if ch.isspace()
            else "API keys are printable ASCII only (they travel in an HTTP header): retype the "
            "key or copy it again from the provider's page (editors turn quotes into smart quotes)"
        )
        return f"the API key contains {what} at character {position}: {hint}"
    return None


def url_text_problem(url: str) -> str | None:
    """Why the *text* of a base URL (surrounding whitespace already stripped) cannot be a URL.

    Scheme, host, credentials and endpoint paths are checked by
    :func:`hunkwise.config.urls.validate_base_url`; this catches what a URL parser would silently
    drop or mangle (a line break, a space) and absurd lengths.
    """
    if len(url) > MAX_BASE_URL_CHARS:
        return f"the base URL is {len(url):,} characters long; at most {MAX_BASE_URL_CHARS:,} are allowed"
    for position, ch in enumerate(url, 1):
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp"):
            return (
                f"the base URL contains {_describe(ch)} at character {position}: a URL has no "
                "spaces, line breaks or control characters (encode a space in a path as %20)"
            )
    return None


__all__ = [
    "MAX_API_KEY_CHARS",
    "MAX_BASE_URL_CHARS",
    "MAX_CONCURRENT_REQUESTS",
    "MAX_CONTEXT_WINDOW",
    "MAX_OUTPUT_TOKENS",
    "api_key_problem",
    "url_text_problem",
]
