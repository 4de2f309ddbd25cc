"""A repository path that really starts with ``a/`` or ``b/`` is not mistaken for a diff prefix:
the model's path is matched exactly first, and a finding always names the assigned path."""

from __future__ import annotations

from hunkwise.review.findings import ModelFinding, anchor_findings


def mf(path: str, line: int) -> ModelFinding:
    return ModelFinding.model_validate(
        {
            "path": path,
            "start_line": line,
            "end_line": line,
            "severity": "high",
            "category": "bug",
            "title": "t",
        }
    )


def _paths(findings: list[ModelFinding], assigned: dict[str, list[int]]) -> list[tuple[str, int]]:
    return [(f.path, f.start_line) for f in anchor_findings(findings, assigned, snap=0).kept]


def test_a_b_directory_alone_keeps_its_name() -> None:
    assigned = {"b/util.py": [3]}
    assert _paths([mf("b/util.py", 3)], assigned) == [("b/util.py", 3)]
    assert _paths([mf("b/b/util.py", 3)], assigned) == [("b/util.py", 3)]  # diff-prefixed by the model
    assert _paths([mf("a/b/util.py", 3)], assigned) == [("b/util.py", 3)]
    assert _paths([mf("util.py", 3)], assigned) == [("b/util.py", 3)]  # a unique suffix, as before


def test_b_directory_next_to_a_same_named_root_file() -> None:
    assigned = {"b/util.py": [3], "util.py": [10]}
    found = _paths(
        [mf("b/util.py", 3), mf("util.py", 10), mf("a/util.py", 10), mf("b/b/util.py", 3)], assigned
    )
    assert found == [("b/util.py", 3), ("util.py", 10), ("util.py", 10), ("b/util.py", 3)]
    # the exact path wins over a stripped one: line 10 is not on b/util.py, so it is dropped
    assert anchor_findings([mf("b/util.py", 10)], assigned, snap=0).dropped_unanchored == 1


def test_plain_diff_prefixes_still_resolve() -> None:
    assigned = {"src/x.py": [5]}
    assert (
        _paths([mf("a/src/x.py", 5), mf("b/src/x.py", 5), mf("`./src/x.py`", 5)], assigned)
        == [("src/x.py", 5)] * 3
    )
