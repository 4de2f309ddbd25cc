"""Match a review's findings to a case's expected issues, one to one.

A finding and an issue *may* match when they are on the same path and their line ranges overlap
once each is widened by the tolerance (default 3 lines: models cite a line or two off, and an
issue spanning a block is often reported at its first or last line). With ``--judge``, a pair
must also be accepted by the judge model (:mod:`hunkwise.evaluation.judge`).

Among the pairs that may match, the matching is an optimal assignment (the Hungarian method),
not a greedy pass. Greedy by best overlap can lose a true positive: finding A overlaps issues 1
and 2, finding B overlaps only issue 1; if A-1 is the better overlap, greedy takes it and leaves B
unmatched, while A-2 and B-1 find both issues. The assignment maximises first the number of
matched pairs (each pair weighs ``_BIG``) and only then how well they overlap, so ties in count
are broken the way a reader would pair them. Cases hold a handful of issues and findings, so the
O(n^3) method costs nothing measurable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

DEFAULT_TOLERANCE = 3
_BIG = 1_000_000_000


class Located(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def start_line(self) -> int: ...

    @property
    def end_line(self) -> int: ...


def distance(a: Located, b: Located) -> int:
    """How many lines apart two ranges are: 0 when they overlap, 1 for neighbouring lines."""
    return max(0, max(a.start_line, b.start_line) - min(a.end_line, b.end_line))


def overlap(a: Located, b: Located) -> int:
    """Lines two ranges share."""
    return max(0, min(a.end_line, b.end_line) - max(a.start_line, b.start_line) + 1)


def within(finding: Located, issue: Located, tolerance: int) -> bool:
    """Same path, and the ranges at most ``tolerance`` lines apart (overlapping once each is
    widened by the tolerance)."""
    return finding.path == issue.path and distance(finding, issue) <= tolerance


@dataclass(frozen=True, slots=True)
class Matching:
    """``pairs``: (finding index, issue index) matched one to one."""

    pairs: tuple[tuple[int, int], ...]
    findings: int
    issues: int

    @property
    def true_positives(self) -> int:
        return len(self.pairs)

    @property
    def false_positives(self) -> int:
        return self.findings - len(self.pairs)

    @property
    def false_negatives(self) -> int:
        return self.issues - len(self.pairs)


def match(
    findings: Sequence[Located],
    issues: Sequence[Located],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    accept: Callable[[int, int], bool] | None = None,
) -> Matching:
    """The one-to-one matching with the most pairs, then the closest ranges. ``accept(i, j)``,
    when given, must also say yes for finding ``i`` and issue ``j`` to be paired (the judge)."""
    if tolerance < 0:
        raise ValueError("the tolerance is a number of lines, 0 or more")
    n, m = len(findings), len(issues)
    weights = [[0] * m for _ in range(n)]
    for i, f in enumerate(findings):
        for j, e in enumerate(issues):
            if within(f, e, tolerance) and (accept is None or accept(i, j)):
                # Closer is better: shared lines count up, the distance down; always > 0 in total.
                closeness = overlap(f, e) - distance(f, e) + tolerance + 1
                weights[i][j] = _BIG + closeness
    chosen = _assignment(weights, n, m)
    pairs = tuple(sorted((i, j) for i, j in chosen if weights[i][j] > 0))
    return Matching(pairs, n, m)


def _assignment(weights: list[list[int]], n: int, m: int) -> list[tuple[int, int]]:
    """Maximum-weight assignment on the padded square matrix (Hungarian method with potentials,
    minimising ``top - weight``); returns the (row, column) pairs inside the real matrix."""
    size = max(n, m)
    if size == 0:
        return []
    top = max((w for row in weights for w in row), default=0)

    def cost(i: int, j: int) -> int:
        return top - (weights[i][j] if i < n and j < m else 0)

    inf = float("inf")
    u = [0.0] * (size + 1)
    v = [0.0] * (size + 1)
    p = [0] * (size + 1)  # p[j]: the row assigned to column j (1-based; 0 = none)
    way = [0] * (size + 1)
    for i in range(1, size + 1):
        p[0] = i
        j0 = 0
        minv = [inf] * (size + 1)
        used = [False] * (size + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], inf, 0
            for j in range(1, size + 1):
                if not used[j]:
                    cur = cost(i0 - 1, j - 1) - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(size + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    return [(p[j] - 1, j - 1) for j in range(1, size + 1) if p[j] and p[j] - 1 < n and j - 1 < m]
