"""The dataset loader of ``hunkwise eval``: both layouts, and one clear line naming the file and
field for a bad case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hunkwise.evaluation.dataset import DatasetError, load_dataset

DATA = Path(__file__).parent / "data"


def test_the_test_dataset_reads_as_four_cases() -> None:
    dataset = load_dataset(DATA)
    assert [c.id for c in dataset] == [
        "go-clean-greeting",
        "js-hardcoded-key",
        "py-clean-todo",
        "py-eval-expression",
    ]
    by_id = {c.id: c for c in dataset}
    assert by_id["go-clean-greeting"].clean and not by_id["js-hardcoded-key"].clean
    key_case = by_id["js-hardcoded-key"]
    assert [(e.path, e.start_line, e.severity, e.category) for e in key_case.expected] == [
        ("web/users.js", 3, "critical", "security"),
        ("web/users.js", 7, "medium", "error_handling"),
    ]
    assert set(key_case.head) == {"web/users.js"} and "fetchUser" in key_case.head["web/users.js"]
    assert key_case.language == "javascript" and key_case.diff.startswith("diff --git")


def test_one_case_directory_is_a_dataset_of_one() -> None:
    assert [c.id for c in load_dataset(DATA / "py-clean-todo")] == ["py-clean-todo"]


def test_the_bundled_layout_is_read_from_its_cases_directory(tmp_path: Path) -> None:
    """``hunkwise eval eval`` (the folder that holds cases/, sources/ and tools/) reads eval/cases."""
    shutil.copytree(DATA, tmp_path / "cases")
    (tmp_path / "tools").mkdir()
    (tmp_path / "README.md").write_text("how to add a case\n")
    assert [c.id for c in load_dataset(tmp_path)] == [c.id for c in load_dataset(DATA)]


def test_jsonl_reads_the_same_cases(tmp_path: Path) -> None:
    lines = []
    for case in load_dataset(DATA):
        doc = {
            "id": case.id,
            "language": case.language,
            "expected": [e.as_dict() for e in case.expected],
            "diff": case.diff,
        }
        if case.head:
            doc["head"] = dict(case.head)
        lines.append(json.dumps(doc))
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    from_jsonl = load_dataset(path)
    from_dirs = load_dataset(DATA)
    assert [c.digest for c in from_jsonl] == [c.digest for c in from_dirs]


def test_the_digest_follows_what_is_reviewed_and_scored(tmp_path: Path) -> None:
    shutil.copytree(DATA / "py-clean-todo", tmp_path / "py-clean-todo")
    before = load_dataset(tmp_path).cases[0].digest
    case_file = tmp_path / "py-clean-todo" / "case.json"
    doc = json.loads(case_file.read_text())
    doc["title"] = "a new title changes nothing reviewed"
    case_file.write_text(json.dumps(doc))
    assert load_dataset(tmp_path).cases[0].digest == before
    doc["expected"] = [
        {"path": "src/greet.py", "start_line": 6, "end_line": 6, "severity": "low", "description": "x"}
    ]
    case_file.write_text(json.dumps(doc))
    assert load_dataset(tmp_path).cases[0].digest != before


def _broken(tmp_path: Path, edit: dict[str, object] | None = None, drop: str | None = None) -> Path:
    root = tmp_path / "cases"
    shutil.copytree(DATA / "js-hardcoded-key", root / "js-hardcoded-key")
    case_file = root / "js-hardcoded-key" / "case.json"
    doc = json.loads(case_file.read_text())
    if drop:
        doc.pop(drop)
    for dotted, value in (edit or {}).items():
        target = doc
        *parents, last = dotted.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    case_file.write_text(json.dumps(doc))
    return root


@pytest.mark.parametrize(
    ("edit", "drop", "expected"),
    [
        (None, "language", "field 'language' is missing"),
        ({"expected.1.severity": "urgent"}, None, "field 'expected[1].severity': must be one of critical"),
        ({"expected.0.start_line": "three"}, None, "field 'expected[0].start_line'"),
        ({"expected.0.end_line": 1}, None, "end_line 1 is before start_line 3"),
        (
            {"expected.0.path": "web/other.js"},
            None,
            "'expected[0].path': 'web/other.js' is not a file the diff",
        ),
        ({"expected.0.colour": "red"}, None, "field 'expected[0].colour'"),
        ({"id": "another-id"}, None, "field 'id' is 'another-id' but the directory is 'js-hardcoded-key'"),
    ],
)
def test_a_malformed_case_names_its_file_and_field(
    tmp_path: Path, edit: dict[str, object] | None, drop: str | None, expected: str
) -> None:
    root = _broken(tmp_path, edit, drop)
    with pytest.raises(DatasetError) as caught:
        load_dataset(root)
    message = str(caught.value)
    assert str(root / "js-hardcoded-key" / "case.json") in message
    assert expected in message
    assert "\n" not in message


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="has no cases"):
        load_dataset(tmp_path / "empty")
    root = _broken(tmp_path)
    (root / "js-hardcoded-key" / "change.diff").unlink()
    with pytest.raises(DatasetError, match=r"change\.diff: missing"):
        load_dataset(root)
    (root / "js-hardcoded-key" / "change.diff").write_text("this is not a diff\n")
    with pytest.raises(DatasetError, match=r"change\.diff"):
        load_dataset(root)
    (root / "js-hardcoded-key" / "case.json").write_text("{not json")
    with pytest.raises(DatasetError, match=r"case\.json: not valid JSON"):
        load_dataset(root)
    shutil.rmtree(root / "js-hardcoded-key")
    (root / "stray").mkdir()
    with pytest.raises(DatasetError, match=r"stray/case\.json: missing"):
        load_dataset(root)


def test_jsonl_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    good = {
        "id": "a",
        "language": "python",
        "expected": [],
        "diff": (DATA / "py-clean-todo" / "change.diff").read_text(),
    }
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "b", "diff": None}) + "\n")
    with pytest.raises(DatasetError, match=r"cases\.jsonl line 2: field 'diff' is missing"):
        load_dataset(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(DatasetError, match=r"line 2: id 'a' is already used by .*line 1"):
        load_dataset(path)
    path.write_text("[1, 2]\n")
    with pytest.raises(DatasetError, match="line 1: a case must be a JSON object"):
        load_dataset(path)
    path.write_text(json.dumps({**good, "head": {"x.py": 3}}) + "\n")
    with pytest.raises(DatasetError, match="line 1: field 'head'"):
        load_dataset(path)
