"""Feedback rows and acceptance rates (store/feedback.py): read twice never counts twice; a
category or path below the threshold with enough samples is demoted; an override undoes it."""

from __future__ import annotations

from sqlalchemy import Engine

from hunkwise.store import feedback as store


def item(n: int, category: str = "style", path: str = "docs/a.md", up: int = 0, down: int = 0, **kw: object):
    return store.CommentFeedback(
        "acme", "github", "acme/api", 7, str(n), category, path, up=up, down=down, **kw
    )  # type: ignore[arg-type]


def test_path_pattern() -> None:
    assert store.path_pattern("src/legacy/a.py") == "src/legacy/**"
    assert store.path_pattern("setup.py") == "*"


def test_reading_again_replaces_and_never_double_counts(engine: Engine) -> None:
    assert store.record(engine, [item(1, down=1), item(2, up=1)]) == 2
    assert store.record(engine, [item(1, down=1), item(2, up=1)]) == 0
    [cat, path] = [
        r for r in store.rates(engine, threshold=0.3, min_samples=1) if r.value in ("style", "docs/**")
    ]
    assert (cat.accepted, cat.rejected, cat.comments) == (1, 1, 2) and cat.acceptance == 0.5
    assert path.kind == "path" and path.samples == 2


def test_demotion_needs_enough_samples_and_is_reversible(engine: Engine) -> None:
    store.record(
        engine, [item(n, down=1, path=f"src/x{n}.py") for n in range(3)] + [item(9, category="bug", up=2)]
    )
    assert store.demoted(engine, org="acme", repository="acme/api", threshold=0.3, min_samples=4) == {}
    demoted = store.demoted(engine, org="acme", repository="acme/api", threshold=0.3, min_samples=3)
    assert set(demoted) == {("category", "style"), ("path", "src/**")}
    assert demoted[("category", "style")].rejected == 3
    assert store.undemote(engine, org="acme", repository="acme/api", kind="category", value="style") is True
    assert store.undemote(engine, org="acme", repository="acme/api", kind="category", value="style") is False
    left = store.demoted(engine, org="acme", repository="acme/api", threshold=0.3, min_samples=3)
    assert set(left) == {("path", "src/**")}
    assert store.redemote(engine, org="acme", repository="acme/api", kind="category", value="style") is True
    assert store.demoted(engine, org="acme", repository="acme/api", threshold=0.3, min_samples=3)


def test_a_resolved_thread_counts_as_accepted(engine: Engine) -> None:
    store.record(engine, [item(1), item(2)])
    assert store.set_resolved(engine, "github", "acme/api", ["1", "404"], True) == 1
    store.record(engine, [item(1)])  # a later read without a resolution keeps it
    [style] = [r for r in store.rates(engine, threshold=0.3, min_samples=1) if r.value == "style"]
    assert (style.accepted, style.rejected) == (1, 0)
