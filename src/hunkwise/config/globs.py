"""Globs of the config files (``ignore``, ``include``, a rule's ``paths``), gitignore-like.

``*`` and ``?`` stay within one path segment, ``**`` crosses segments, a pattern without ``/``
matches the file name at any depth (``*.snap``), a trailing ``/`` matches a directory at any depth
(``fixtures/``), a leading ``/`` anchors to the repository root, any other pattern with ``/`` is
matched against the whole path.

They live in ``config`` because the file schema validates every pattern when the file is read
(a bad glob fails naming its key, before any work); the review filters match with the same code.
"""

from __future__ import annotations

import re
from functools import lru_cache


def _translate(pattern: str) -> str:
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                if pattern.startswith("**/", i):
                    out.append("(?:.*/)?")
                    i += 3
                else:
                    out.append(".*")
                    i += 2
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find(
                "]", i + 2 if pattern.startswith("[!", i) or pattern.startswith("[^", i) else i + 1
            )
            if j < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:].replace("\\", "\\\\")
                else:
                    body = body.replace("\\", "\\\\")
                out.append(f"[{body}]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compile one gitignore-like glob (see the module docstring) to a full-path regex."""
    p = pattern.strip()
    if not p:
        raise ValueError("empty glob pattern")
    if p.endswith("/"):
        prefix = "" if p.startswith("/") else "(?:.*/)?"
        return re.compile(prefix + _translate(p.lstrip("/").rstrip("/")) + "/.*")
    if p.startswith("/"):
        return re.compile(_translate(p[1:]))
    if "/" not in p:
        return re.compile("(?:.*/)?" + _translate(p))
    return re.compile(_translate(p))


def glob_match(pattern: str, path: str) -> bool:
    return compile_glob(pattern).fullmatch(path) is not None
