"""Posted fingerprints and suppressions per pull request, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine

from hunkwise.store.posted_findings import (
    DatabaseSuppressions,
    PostedRecord,
    PullRef,
    posted,
    record_posted,
    set_state,
    suppress,
    suppressed,
    unsuppress,
)

PR = PullRef("github", "acme/api", 7)
FP1 = "0123456789abcdef.bare-except"
FP2 = "fedcba9876543210.unresolved-todo"


def test_record_is_idempotent_and_keeps_a_closed_state(engine: Engine) -> None:
    assert record_posted(engine, PR, [PostedRecord(FP1, path="a.py"), PostedRecord(FP2)]) == 2
    assert set_state(engine, PR, FP1, "wont_fix")
    assert record_posted(engine, PR, [PostedRecord(FP1)]) == 0  # a re-post never reopens
    got = {r.fingerprint: r.state for r in posted(engine, PR)}
    assert got == {FP1: "wont_fix", FP2: "open"}
    assert posted(engine, PullRef("github", "acme/api", 8)) == []
    assert not set_state(engine, PR, "0000000000000000.x", "resolved")


def test_suppressions_per_pr_and_per_repository_are_reversible(engine: Engine) -> None:
    other = PullRef("github", "acme/api", 9)
    assert suppress(engine, org="acme", pr=PR, fingerprint=FP1, created_by="pr-author")
    assert not suppress(engine, org="acme", pr=PR, fingerprint=FP1)
    assert suppress(engine, org="acme", pr=PR, fingerprint=FP2, repository_wide=True)
    assert suppressed(engine, PR) == [FP1, FP2]
    assert DatabaseSuppressions(engine).suppressed(other) == [FP2]
    assert unsuppress(engine, pr=PR, fingerprint=FP2, repository_wide=True)
    assert suppressed(engine, other) == []
