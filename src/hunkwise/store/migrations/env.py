"""Alembic environment for the hunkwise store.

Normally driven by :func:`hunkwise.store.db.upgrade`, which hands over an open connection that is
already inside a locked transaction. Run by hand (``alembic`` with ``script_location`` pointing
here), it connects to ``HUNKWISE_DATABASE_URL`` or the default SQLite file itself.
"""

from __future__ import annotations

from alembic import context

from hunkwise.store.tables import Base

target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables in later migrations.
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from hunkwise.config.settings import Settings
    from hunkwise.store.db import database_url, make_engine

    engine = make_engine(database_url(Settings.from_env()))
    try:
        with engine.connect() as conn, conn.begin():
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("hunkwise migrations run online only (hunkwise.store.db.upgrade)")
run_migrations_online()
