"""The migration chain is one line, and walking it down and up again loses no row.

Migrations written on parallel branches each started from the same parent; a second head would
make ``upgrade head`` fail on every installation. And on SQLite a batch migration rebuilds its
table: with foreign keys on, dropping ``organizations`` or ``org_tokens`` cascades to the rows
that point at them, so a harmless-looking downgrade could delete every token and stored key.
"""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from hunkwise.store.db import _alembic_config, current_revision, head_revision, make_engine, upgrade
from hunkwise.store.orgs import create_org

_COUNTED = ("organizations", "org_tokens", "review_runs", "model_calls")


def test_the_chain_has_one_head_and_no_gaps() -> None:
    script = ScriptDirectory.from_config(_alembic_config())
    assert script.get_heads() == [head_revision()]
    revisions = list(script.walk_revisions())  # head first; raises on a missing parent
    assert revisions[-1].down_revision is None
    assert len({r.revision for r in revisions}) == len(revisions)


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in _COUNTED}


def test_down_to_the_first_server_schema_and_back_keeps_every_row(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        for slug in ("acme", "beta"):
            create_org(engine, slug, slug.title())
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO review_runs (created_at, idempotency_key, source, status, files_reviewed, "
                    "lines_reviewed, findings_critical, findings_high, findings_medium, findings_low, "
                    "failed_chunks, skipped_lines, calls, input_tokens, output_tokens, reasoning_tokens, "
                    "cost_usd, failovers, duration_ms) VALUES (CURRENT_TIMESTAMP, 'run-1', 'local', "
                    "'done', 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0.1, 0, 0)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO model_calls (run_id, created_at, slot, provider, model, purpose, outcome, "
                    "input_tokens, output_tokens, reasoning_tokens, cached_tokens, cost_usd, latency_ms, "
                    "waited_ms, failover) SELECT id, CURRENT_TIMESTAMP, 'main', 'zai', 'glm-5.1', 'review', "
                    "'ok', 10, 5, 0, 0, 0.1, 1.0, 0.0, false FROM review_runs"
                )
            )
        before = _counts(engine)
        assert before == {"organizations": 2, "org_tokens": 2, "review_runs": 1, "model_calls": 1}

        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0003_jobs")
        assert current_revision(engine) == "0003_jobs"
        assert _counts(engine) == before

        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert _counts(engine) == before
    finally:
        engine.dispose()
