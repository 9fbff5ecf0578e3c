"""The registry on PostgreSQL: every repository and migration test of SQLite, again.

The tests of ``test_registry.py`` and ``test_registry_migrations.py`` are imported here and
take this module's ``db_url``: a fresh database per test in the throwaway cluster the
warehouse tests start (``engines.postgres``: a unix socket of its own, stopped at the end).
Locally a missing PostgreSQL or psycopg skips them; under ``CI=true`` it fails them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from engines import postgres_cluster  # noqa: F401 (the session's `postgres` fixture)
from test_registry import *  # noqa: F403 (the repository tests, run on this db_url)
from test_registry_migrations import *  # noqa: F403 (the migration tests, likewise)

from abcore.registry import open_registry


@pytest.fixture
def db_url(postgres) -> Iterator[str]:
    """A database of its own for one test, dropped afterwards."""
    name = f"registry_{uuid.uuid4().hex[:12]}"
    with postgres.connect() as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://abcore@/{name}?host={postgres.socket_dir}&port=5432"
    finally:
        with postgres.connect() as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_registry_really_runs_on_postgresql(db_url):
    reg = open_registry(db_url)
    try:
        assert reg.url.startswith("postgresql+psycopg://")
        with reg._engine.connect() as con:
            assert con.dialect.name == "postgresql"
    finally:
        reg.close()
