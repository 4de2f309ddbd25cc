"""Matching findings to expected issues, and the figures computed from it, on cases small enough
to count by hand."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hunkwise.evaluation.matching import distance, match, within
from hunkwise.evaluation.scoring import Counts, Score, f1_of, percentile


@dataclass(frozen=True)
class R:
    """A located range: a finding or an issue, as far as matching is concerned."""

    path: str
    start_line: int
    end_line: int


def test_tolerance_is_the_number_of_lines_apart() -> None:
    issue = R("a.py", 10, 12)
    assert distance(R("a.py", 11, 11), issue) == 0  # inside
    assert distance(R("a.py", 15, 15), issue) == 3
    assert within(R("a.py", 15, 15), issue, 3) and within(R("a.py", 7, 7), issue, 3)
    assert not within(R("a.py", 16, 16), issue, 3) and not within(R("a.py", 6, 6), issue, 3)
    assert not within(R("b.py", 11, 11), issue, 3)  # same lines, another file
    assert within(R("a.py", 13, 13), issue, 1) and not within(R("a.py", 14, 14), issue, 1)
    assert within(R("a.py", 12, 12), issue, 0) and not within(R("a.py", 13, 13), issue, 0)


def test_one_to_one_two_findings_on_one_issue_is_one_true_positive() -> None:
    m = match([R("a.py", 5, 5), R("a.py", 6, 6)], [R("a.py", 5, 6)], tolerance=3)
    assert (m.true_positives, m.false_positives, m.false_negatives) == (1, 1, 0)


def test_the_assignment_finds_the_most_pairs_where_greedy_would_not() -> None:
    # Finding 0 overlaps issue 0 fully (the best overlap) and issue 1 within the tolerance;
    # finding 1 reaches only issue 0. Greedy by best overlap pairs 0-0 and leaves finding 1 alone.
    findings = [R("a.py", 10, 10), R("a.py", 7, 7)]
    issues = [R("a.py", 10, 10), R("a.py", 13, 13)]
    m = match(findings, issues, tolerance=3)
    assert m.pairs == ((0, 1), (1, 0))
    assert (m.true_positives, m.false_positives, m.false_negatives) == (2, 0, 0)


def test_among_equal_counts_the_closest_ranges_are_paired() -> None:
    findings = [R("a.py", 20, 20), R("a.py", 10, 10)]
    issues = [R("a.py", 11, 11), R("a.py", 21, 21)]
    assert match(findings, issues, tolerance=3).pairs == ((0, 1), (1, 0))
    # Two findings both in reach of both issues: each takes the one it sits on.
    findings = [R("a.py", 12, 12), R("a.py", 10, 10)]
    issues = [R("a.py", 10, 10), R("a.py", 12, 12)]
    assert match(findings, issues, tolerance=3).pairs == ((0, 1), (1, 0))


def test_accept_restricts_the_pairs_as_the_judge_does() -> None:
    findings = [R("a.py", 10, 10), R("a.py", 30, 30)]
    issues = [R("a.py", 10, 10), R("a.py", 31, 31)]
    m = match(findings, issues, tolerance=3, accept=lambda i, j: (i, j) != (0, 0))
    assert m.pairs == ((1, 1),)
    assert (m.true_positives, m.false_positives, m.false_negatives) == (1, 1, 1)


def test_empty_sides() -> None:
    assert match([], [], tolerance=3).pairs == ()
    clean = match([R("a.py", 1, 1), R("b.py", 2, 2)], [], tolerance=3)
    assert (clean.true_positives, clean.false_positives, clean.false_negatives) == (0, 2, 0)
    silent = match([], [R("a.py", 1, 1)], tolerance=3)
    assert (silent.true_positives, silent.false_positives, silent.false_negatives) == (0, 0, 1)
    with pytest.raises(ValueError, match="0 or more"):
        match([], [], tolerance=-1)


def test_a_larger_case_against_brute_force() -> None:
    """The assignment's pair count equals the best any one-to-one pairing reaches."""
    import itertools
    import random

    rng = random.Random(7)
    for _ in range(200):
        findings = [R("a.py", s, s + rng.randint(0, 2)) for s in rng.sample(range(1, 40), rng.randint(0, 6))]
        issues = [R("a.py", s, s + rng.randint(0, 3)) for s in rng.sample(range(1, 40), rng.randint(0, 5))]
        m = match(findings, issues, tolerance=3)
        best = 0
        n, m_ = len(findings), len(issues)
        for perm in itertools.permutations(range(max(n, m_))):  # finding i -> issue perm[i]
            pairs = sum(within(findings[i], issues[perm[i]], 3) for i in range(n) if perm[i] < m_)
            best = max(best, pairs)
        assert m.true_positives == best, (findings, issues, m.pairs)
        assert len({i for i, _ in m.pairs}) == len({j for _, j in m.pairs}) == len(m.pairs)
        assert all(within(findings[i], issues[j], 3) for i, j in m.pairs)


def test_micro_averaged_figures() -> None:
    counts = Counts()
    counts.add(1, 1, 0)  # case 1: one hit, one noise
    counts.add(2, 0, 1)  # case 2: two hits, one miss
    counts.add(0, 3, 0)  # a clean case with three findings
    assert (counts.tp, counts.fp, counts.fn) == (3, 4, 1)
    assert counts.precision == pytest.approx(3 / 7)
    assert counts.recall == pytest.approx(3 / 4)
    assert counts.f1 == pytest.approx(2 * (3 / 7) * (3 / 4) / (3 / 7 + 3 / 4))
    assert counts.as_dict() == {
        "precision": 0.4286,
        "recall": 0.75,
        "f1": 0.5455,
        "true_positives": 3,
        "false_positives": 4,
        "false_negatives": 1,
    }


def test_undefined_figures_are_none_not_zero() -> None:
    nothing_found = Counts(tp=0, fp=0, fn=2)
    assert nothing_found.precision is None and nothing_found.recall == 0.0 and nothing_found.f1 is None
    nothing_expected = Counts(tp=0, fp=2, fn=0)
    assert nothing_expected.precision == 0.0 and nothing_expected.recall is None
    assert f1_of(0.0, 0.0) == 0.0


def test_percentiles_by_nearest_rank() -> None:
    values = [0.4, 0.1, 0.3, 0.2, 1.5]
    assert percentile(values, 0.5) == 0.3
    assert percentile(values, 0.95) == 1.5
    assert percentile([2.0], 0.95) == 2.0
    assert percentile([], 0.5) is None
    assert percentile([float(i) for i in range(1, 101)], 0.95) == 95.0


def test_cost_per_true_positive_and_findings_per_case() -> None:
    score = Score(counts=Counts(tp=4, fp=2, fn=1), cases=3, findings=6, cost_usd=0.02)
    assert score.cost_per_true_positive == pytest.approx(0.005)
    assert score.findings_per_case == 2.0
    assert Score(counts=Counts(tp=0, fp=1, fn=1), cost_usd=0.02).cost_per_true_positive is None
    doc = score.as_dict()
    assert doc["cost_per_true_positive_usd"] == 0.005 and doc["judged"] is None
