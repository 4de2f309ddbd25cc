"""The one "what gets posted" decision, the committable suggestions, and the summary's parts."""

from __future__ import annotations

from hunkwise.jobs.conversation import PostingInputs, Prior, decide, merge_prior
from hunkwise.jobs.posting import build_post, comment_body, committable
from hunkwise.platforms.review_post import PriorThread, markers_in
from hunkwise.review.findings import Finding
from hunkwise.review.fingerprint import fingerprint
from hunkwise.review.report import ReviewReport, SkippedLines

CODE = {
    "app/db.py": {
        10: "    try:",
        11: "        run()",
        12: "    except:",
        13: "        pass",
        20: "x = 1  # TODO",
    },
    "app/auth/token.py": {3: "SECRET = 'x'"},
}


def _f(
    path: str, line: int, title: str, *, end: int | None = None, category: str = "bug", **kw: object
) -> Finding:
    return Finding(path, line, end or line, kw.pop("severity", "medium"), category, title, **kw)  # type: ignore[arg-type]


BARE = _f("app/db.py", 12, "Bare except swallows errors", category="error_handling")
TODO = _f("app/db.py", 20, "Unresolved TODO", category="maintainability", severity="low")
TOKEN = _f("app/auth/token.py", 3, "Hard-coded secret", category="security", severity="critical")


def test_new_findings_are_posted_earlier_ones_never_twice_closed_ones_never_reopened() -> None:
    prior = [
        Prior(fingerprint(BARE, CODE), "open"),
        Prior(fingerprint(TODO, CODE), "wont_fix"),
    ]
    plan = decide([BARE, TODO, TOKEN], CODE, PostingInputs(prior=prior))
    assert [p.finding for p in plan.post] == [TOKEN]
    assert [p.finding for p in plan.still_open] == [BARE]
    assert [p.finding for p in plan.closed] == [TODO] and plan.closed[0].prior is prior[1]
    assert plan.still_open_count == 1 and plan.not_found_again == []


def test_suppressed_and_demoted_are_not_posted_and_ignoring_a_posted_finding_closes_it() -> None:
    def demote(f: Finding) -> str | None:
        return "security: 10% accepted" if f.category == "security" else None

    todo = Prior(fingerprint(TODO, CODE))
    inputs = PostingInputs(
        prior=[todo], suppressed=[fingerprint(BARE, CODE), fingerprint(TODO, CODE)], demote=demote
    )
    plan = decide([BARE, TODO, TOKEN], CODE, inputs)
    assert plan.post == [] and plan.still_open == []
    assert [(p.finding, p.prior) for p in plan.suppressed] == [(BARE, None), (TODO, todo)]
    assert [(p.finding, p.reason) for p in plan.demoted] == [(TOKEN, "security: 10% accepted")]
    # an ignored finding the review no longer finds is not "open" either
    assert decide([], CODE, inputs).not_found_again == []
    # a demoted finding posted before stays "still open" (it was posted), never reposted
    shown = decide([TOKEN], CODE, PostingInputs(prior=[Prior(fingerprint(TOKEN, CODE))], demote=demote))
    assert [p.finding for p in shown.still_open] == [TOKEN] and shown.post == []


def test_an_earlier_finding_not_found_again_is_open_only_when_the_review_was_incremental() -> None:
    gone = [Prior(fingerprint(TOKEN, CODE), where="app/auth/token.py:3")]
    assert decide([BARE], CODE, PostingInputs(prior=gone)).not_found_again == gone
    incremental = decide([BARE], CODE, PostingInputs(prior=gone, incremental=True))
    assert incremental.open_elsewhere == gone and incremental.still_open_count == 1


def test_merge_prior_keeps_the_most_closed_state_and_skips_forged_markers() -> None:
    fp = fingerprint(BARE, CODE).text
    threads = [PriorThread(fp, resolved=True, where="app/db.py:12"), PriorThread("not-a-fingerprint -->")]
    merged = merge_prior(threads, [(fp, "wont_fix", "app/db.py", "Bare except")])
    assert [(p.fingerprint.text, p.state, p.where, p.title) for p in merged] == [
        (fp, "wont_fix", "app/db.py:12", "Bare except")
    ]


def test_committable_only_for_a_drop_in_replacement_of_new_side_lines() -> None:
    ok = _f("app/db.py", 12, "t", suggestion="    except Exception:")
    multi = _f("app/db.py", 12, "t", end=13, suggestion="    except Exception:\n        log.exception('x')")
    assert committable(ok, CODE) and committable(multi, CODE)
    not_shown = _f("app/db.py", 14, "t", suggestion="pass")  # line 14 is not in the diff
    same = _f("app/db.py", 12, "t", suggestion="    except:")
    as_diff = _f("app/db.py", 12, "t", suggestion="-    except:\n+    except Exception:")
    elided = _f("app/db.py", 10, "t", end=13, suggestion="    try:\n        ...\n    except Exception:")
    empty = _f("app/db.py", 12, "t", suggestion="  \n")
    for f in (not_shown, same, as_diff, elided, empty):
        assert not committable(f, CODE), f.suggestion


def test_suggestion_blocks_per_platform_and_a_plain_block_otherwise() -> None:
    multi = _f("app/db.py", 12, "t", end=13, suggestion="    except Exception:\n        raise")
    fp = fingerprint(multi, CODE)
    github = comment_body(multi, fp, platform="github", apply=True)
    gitlab = comment_body(multi, fp, platform="gitlab", apply=True)
    plain = comment_body(multi, fp, platform="github", apply=False)
    assert "```suggestion\n    except Exception:\n        raise\n```" in github
    assert "```suggestion:-0+1\n    except Exception:\n        raise\n```" in gitlab
    assert "suggestion" not in plain.replace("Suggested change", "") and "```\n    except Exception:" in plain
    assert ("fp", fp.text) in markers_in(github)
    fenced = _f("docs.py", 1, "t", suggestion='s = """```x```"""')
    code = {"docs.py": {1: "s = 1"}}
    assert "````suggestion\n" in comment_body(
        fenced, fingerprint(fenced, code), apply=committable(fenced, code)
    )


DIFF = """diff --git a/app/db.py b/app/db.py
--- a/app/db.py
+++ b/app/db.py
@@ -9,4 +10,4 @@ def load(path):
     try:
         run()
-    except ValueError:
+    except:
         pass
diff --git a/app/auth/token.py b/app/auth/token.py
new file mode 100644
--- /dev/null
+++ b/app/auth/token.py
@@ -0,0 +1,3 @@
+import os
+
+SECRET = 'x'
"""


def test_build_post_summary_has_walkthrough_coverage_and_the_conversation() -> None:
    report = ReviewReport(
        findings=[BARE, TOKEN],
        files_reviewed=2,
        lines_reviewed=4,
        code=CODE,
        skipped=[SkippedLines.of("package-lock.json", [1, 2, 3], "ignore:lockfile")],
    )
    prior = [Prior(fingerprint(BARE, CODE), "resolved")]
    post = build_post(
        report,
        platform="github",
        repository="acme/api",
        number=7,
        head_sha="a" * 40,
        diff=DIFF,
        inputs=PostingInputs(prior=prior),
    )
    assert [c.path for c in post.comments] == ["app/auth/token.py"]
    s = post.summary
    assert "### Walkthrough" in s and "`app/auth/token.py` | 1 added (+3 -0)" in s
    assert "security-relevant path(s): `app/auth/token.py`" in s
    assert "`app/db.py` | 1 modified (+1 -1); touches `def load(path)`" in s
    assert "**Reviewed:** 4 of 7 changed line(s) (57%)" in s and "3 by `ignore:lockfile`" in s
    assert "**1** resolved or won't fix earlier (not reopened)" in s and "(resolved)" in s
    kinds = {k for k, _ in markers_in(s)}
    assert {"review", "summary", "head"} <= kinds
