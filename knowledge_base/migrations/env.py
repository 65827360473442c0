"""Alembic environment: the union of the four declarative bases, on the caller's connection.

:func:`knowledge_base.db.upgrade` passes an open connection in ``config.attributes``; the
``copilot db`` commands do the same. Offline (``--sql``) mode renders the DDL for the URL given
as ``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context

from knowledge_base.db import all_metadata

config = context.config
target_metadata = all_metadata()


def run_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from knowledge_base.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            _run(conn)
        engine.dispose()
    else:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
