"""Code context (issue 13 item 4): the enclosing function or class from the head revision, in the
packing budget, never a review target; and the sources it is read from."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hunkwise.catalog.findings_contract import iter_added_lines
from hunkwise.cli.app import app
from hunkwise.platforms.local_git import GitHead
from hunkwise.review.context import DirectoryHead, MappingHead, enclosing_blocks, file_context
from hunkwise.review.diff import parse_diff
from hunkwise.review.packing import CONTEXT_MARKER, Budget, plan_review

PY = textwrap.dedent(
    '''\
    import os


    class Store:
        """Keeps rows."""

        def __init__(self):
            self.rows = {}

        def put(self, key, value):
            if key in self.rows:
                raise KeyError(key)
            self.rows[key] = value
            return value

        def get(self, key):
            return self.rows[key]
    '''
)
GO = textwrap.dedent(
    """\
    package store

    type Store struct{ rows map[string]int }

    func (s *Store) Put(k string, v int) error {
    \tif _, ok := s.rows[k]; ok {
    \t\treturn errExists
    \t}
    \ts.rows[k] = v
    \treturn nil
    }
    """
)
JAVA = textwrap.dedent(
    """\
    package acme;

    public class Store {
        private final Map<String, Integer> rows = new HashMap<>();

        public int put(String k, int v) {
            if (rows.containsKey(k)) {
                throw new IllegalStateException(k);
            }
            rows.put(k, v);
            return v;
        }
    }
    """
)
TS = textwrap.dedent(
    """\
    export class Store {
      private rows = new Map<string, number>();

      put(k: string, v: number): number {
        if (this.rows.has(k)) {
          throw new Error(k);
        }
        this.rows.set(k, v);
        return v;
      }
    }

    export const twice = (n: number) => {
      const m = n * 2;
      return m;
    };
    """
)
JS = textwrap.dedent(
    """\
    export class Store {
      rows = new Map();

      put(k, v) {
        if (this.rows.has(k)) throw new Error(k);
        this.rows.set(k, v);
        return v;
      }
    }
    """
)
KOTLIN = textwrap.dedent(
    """\
    class Store {
        private val rows = mutableMapOf<String, Int>()

        fun put(k: String, v: Int): Int {
            require(k !in rows) { k }
            rows[k] = v
            return v
        }
    }
    """
)


@pytest.mark.parametrize(
    ("language", "path", "text", "line", "expected"),
    [
        ("python", "store.py", PY, 13, [(10, 14)]),  # put(), not the class
        ("python", "store.py", PY, 5, [(4, 17)]),  # the class docstring: the class
        ("python", "store.py", PY, 1, []),  # module level: no enclosing definition
        ("go", "store.go", GO, 9, [(5, 11)]),
        ("java", "Store.java", JAVA, 10, [(6, 12)]),
        ("typescript", "store.ts", TS, 8, [(4, 10)]),
        ("typescript", "store.ts", TS, 14, [(13, 16)]),  # an arrow function
        ("javascript", "store.js", JS, 6, [(4, 8)]),
        ("kotlin", "Store.kt", KOTLIN, 6, [(4, 8)]),  # no grammar here: the indentation heuristic
    ],
)
def test_the_innermost_definition_encloses_a_change(
    language: str, path: str, text: str, line: int, expected: list[tuple[int, int]]
) -> None:
    assert enclosing_blocks(language, path, text, [line]) == expected


def test_a_huge_definition_is_cut_around_the_change() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(400))
    text = f"def big():\n{body}\n    return x0\n"
    [(lo, hi)] = enclosing_blocks("python", "big.py", text, [300])
    assert hi - lo + 1 == 150 and lo <= 300 <= hi


def _diff(path: str, base: str, head: str) -> str:
    import difflib

    lines = difflib.unified_diff(base.splitlines(True), head.splitlines(True), f"a/{path}", f"b/{path}", n=1)
    return f"diff --git a/{path} b/{path}\n" + "".join(lines)


HEAD = PY.replace("        self.rows[key] = value\n", "        self.rows[key] = value\n        log(key)\n")
CHANGE = _diff("store.py", PY, HEAD)


def test_function_context_is_the_enclosing_method_without_the_lines_the_diff_shows() -> None:
    [file] = parse_diff(CHANGE)
    assert file.changed_lines() == [14]
    context = file_context(file, "python", HEAD, "function")
    assert context is not None
    shown = {n for run in context.runs for n, _ in run}
    assert shown == {10, 11, 12}  # put() is 10-15; the diff shows 13-15
    assert file_context(file, "python", HEAD, "hunk") is None
    whole = file_context(file, "python", HEAD, "file")
    assert whole is not None and whole.lines == len(HEAD.splitlines()) - 3


def test_a_head_file_from_another_revision_gives_no_context() -> None:
    [file] = parse_diff(CHANGE)
    assert file_context(file, "python", PY, "function") is None  # the base, not the head
    assert file_context(file, "python", HEAD.replace("log(key)", "log(k)"), "file") is None


def _plan(diff: str, head: dict[str, str] | None, context: str, tokens: int = 50_000):
    return plan_review(
        parse_diff(diff),
        Budget.fixed(tokens),
        context=context,
        head=MappingHead(head or {}),  # type: ignore[arg-type]
    )


def test_context_rides_with_its_change_and_is_never_a_review_target() -> None:
    plan = _plan(CHANGE, {"store.py": HEAD}, "function")
    [chunk] = plan.chunks
    assert CONTEXT_MARKER in chunk.text
    after = chunk.text.split(CONTEXT_MARKER)[1]
    assert "   10   " in after and "def put(self, key, value):" in after
    assert [(p, n) for p, n, _ in iter_added_lines(chunk.text)] == [("store.py", 14)]
    assert plan.coverage_check(parse_diff(CHANGE), check_text=True) == 1
    assert (plan.context, plan.context_lines, plan.context_lines_left_out) == ("function", 3, 0)
    bare = _plan(CHANGE, {"store.py": HEAD}, "hunk")
    assert (
        CONTEXT_MARKER not in bare.chunks[0].text and chunk.estimated_tokens > bare.chunks[0].estimated_tokens
    )


def test_the_diff_comes_first_when_a_request_is_full() -> None:
    bare = _plan(CHANGE, None, "hunk")
    tight = bare.chunks[0].estimated_tokens + 2  # room for the diff, not for its context
    plan = _plan(CHANGE, {"store.py": HEAD}, "function", tokens=tight)
    assert [c.assigned for c in plan.chunks] == [c.assigned for c in bare.chunks]
    assert plan.context_lines == 0 and plan.context_lines_left_out == 3
    assert CONTEXT_MARKER not in plan.chunks[0].text


def test_none_leaves_out_the_diffs_unchanged_lines() -> None:
    plan = _plan(CHANGE, None, "none")
    [chunk] = plan.chunks
    assert "self.rows[key] = value" not in chunk.text and "log(key)" in chunk.text
    assert plan.coverage_check(parse_diff(CHANGE), check_text=True) == 1


def test_a_directory_source_never_reads_outside_its_root(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "a.py").write_text("x = 1\n")
    (tmp_path / "secret.txt").write_text("key\n")
    head = DirectoryHead(tmp_path / "repo")
    assert head.read("a.py") == "x = 1\n"
    for bad in ("../secret.txt", "/etc/passwd", "a.py/../../secret.txt", "missing.py"):
        assert head.read(bad) is None, bad


# A function long enough for the review's own diff context (5 lines) not to show all of it.
LONG = "def long():\n" + "".join(f"    v{i} = {i}\n" for i in range(1, 31)) + "    return v1\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    (root / "store.py").write_text(PY)
    (root / "long.py").write_text(LONG)
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "feature")
    (root / "store.py").write_text(HEAD)
    (root / "long.py").write_text(LONG.replace("    v19 = 19\n", "    v19 = 19\n    v19 += 1\n"))
    git(root, "commit", "-qam", "log puts")
    monkeypatch.chdir(root)
    return root


def test_git_head_reads_the_reviewed_revision_and_the_index(repo: Path) -> None:
    sha = git(repo, "rev-parse", "HEAD").strip()
    assert GitHead(repo, sha).read("store.py") == HEAD
    assert GitHead(repo, "main").read("store.py") == PY
    (repo / "store.py").write_text(HEAD + "# staged\n")
    git(repo, "add", "store.py")
    assert GitHead(repo, "").read("store.py") == HEAD + "# staged\n"
    for bad in ("missing.py", "/etc/passwd", "../x", ""):
        assert GitHead(repo, sha).read(bad) is None


def test_review_with_function_context_end_to_end(repo: Path) -> None:
    env = {"HUNKWISE_HOME": str(repo.parent / "home")}
    dry = CliRunner().invoke(app, ["review", "--offline", "--dry-run", "--context", "function"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "Code context (function): 22 line(s) of enclosing definitions" in dry.stdout
    (repo / ".hunkwise.toml").write_text('[review]\ncontext = "function"\n')
    result = CliRunner().invoke(app, ["review", "--offline", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # long() is lines 1-33 and the diff shows 16-26 (git -U5): 33 - 11 = 22 lines of context;
    # store.py's put() is inside its hunk.
    assert doc["plan"]["context"] == {"mode": "function", "lines": 22, "left_out": 0}
    assert doc["summary"]["lines_reviewed"] == 2 and doc["summary"]["complete"]
    hunk = json.loads(
        CliRunner()
        .invoke(app, ["review", "--offline", "--format", "json", "--context", "hunk"], env=env)
        .stdout
    )
    assert hunk["plan"]["context"]["lines"] == 0
    assert hunk["usage"]["input_tokens"] < doc["usage"]["input_tokens"]  # the context is paid for


def test_a_bad_context_mode_is_a_usage_error(repo: Path) -> None:
    result = CliRunner().invoke(app, ["review", "--offline", "--context", "everything"])
    assert result.exit_code == 2 and "--context must be one of none, hunk, function, file" in result.output
    (repo / ".hunkwise.toml").write_text('[review]\ncontext = "all"\n')
    bad = CliRunner().invoke(app, ["review", "--offline"], env={"HUNKWISE_HOME": str(repo.parent / "h")})
    assert bad.exit_code == 2 and "context" in bad.output and "Traceback" not in bad.output


def test_context_is_added_run_by_run_while_it_fits_and_the_rest_is_counted() -> None:
    funcs = [
        f"def f{k}():\n" + "".join(f"    a{k}_{i} = {i}\n" for i in range(30)) + "    return 0\n"
        for k in (1, 2)
    ]
    base = "\n\n".join(funcs)
    head = base.replace("    a1_15 = 15\n", "    a1_15 = 15\n    one = 1\n").replace(
        "    a2_15 = 15\n", "    a2_15 = 15\n    two = 2\n"
    )
    diff = _diff("two.py", base, head)
    roomy = _plan(diff, {"two.py": head}, "function")
    assert len(roomy.chunks) == 1 and roomy.context_lines_left_out == 0
    assert "def f1():" in roomy.chunks[0].text and "def f2():" in roomy.chunks[0].text
    # Room for the diff and one function's context, not both: one run goes, the other is counted.
    tight = _plan(diff, {"two.py": head}, "function", tokens=int(roomy.chunks[0].estimated_tokens * 0.6))
    assert [c.assigned for c in tight.chunks] == [c.assigned for c in roomy.chunks]
    assert tight.context_lines + tight.context_lines_left_out == roomy.context_lines
    assert tight.context_lines > 0 and tight.context_lines_left_out > 0
    assert tight.coverage_check(parse_diff(diff), check_text=True) == 2
