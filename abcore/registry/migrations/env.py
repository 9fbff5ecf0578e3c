"""Alembic's environment for the registry: run on a connection the registry hands over.

The registry builds its :class:`alembic.config.Config` in code
(:func:`abcore.registry.store.alembic_config`) and puts an open connection in
``config.attributes["connection"]``, so no ``alembic.ini`` is read and the migrations run in
the same transaction handling as the app. The version table has a name of its own, so a
team's PostgreSQL database that already uses Alembic for something else is not confused.
"""

from __future__ import annotations

from alembic import context

from abcore.registry.schema import Base

VERSION_TABLE = "abcore_alembic_version"

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "The registry's migrations run through abcore.registry.upgrade(url), which passes "
        "them a connection; they are not meant for the alembic command line."
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
