"""The registry's migrations: from an empty database to the newest schema, and from the
previous schema with data in it; the models and the migrations describe the same tables.

``tests/test_registry_postgres.py`` runs these again on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from abcore.plan import ExperimentPlan
from abcore.registry import alembic_config, open_registry, upgrade
from abcore.registry.schema import Base

VERSION_TABLE = "abcore_alembic_version"


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'data' / 'abcore.sqlite'}"


def revision_of(url: str) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            return MigrationContext.configure(
                con, opts={"version_table": VERSION_TABLE}
            ).get_current_revision()
    finally:
        engine.dispose()


def test_the_migrations_are_found_from_the_checkout():
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == ["0002"]
    assert [r.revision for r in script.walk_revisions()] == ["0002", "0001"]


def test_an_empty_database_migrates_to_tables_equal_to_the_models(db_url):
    open_registry(db_url).close()
    assert revision_of(db_url) == "0002"
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as con:
            context = MigrationContext.configure(
                con, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
    open_registry(db_url).close()  # a second open migrates nothing and fails on nothing
    assert revision_of(db_url) == "0002"


def insert_at_revision_1(url: str) -> None:
    """An experiment with two decisions, written as abcore's first schema stored them."""
    when = dt.datetime(2026, 3, 2, 12, 3, tzinfo=dt.UTC)
    meta = sa.MetaData()
    experiments = sa.Table("experiments", meta, *_columns_v1())
    decisions = sa.Table(
        "decisions",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("experiment_id", sa.String),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.String),
        sa.Column("verdict", sa.String),
        sa.Column("reasons", sa.JSON),
        sa.Column("rationale", sa.Text),
    )
    engine = sa.create_engine(url)
    try:
        with engine.begin() as con:
            for exp_id, status in (("e1", "decided"), ("e2", "draft")):
                con.execute(
                    experiments.insert().values(
                        id=exp_id,
                        workspace="growth",
                        name=f"Experiment {exp_id}",
                        owner="ana",
                        status=status,
                        created_at=when,
                        updated_at=when,
                        version=3,
                        document={"plan": ExperimentPlan(power=0.9).to_dict(), "notes": "old"},
                    )
                )
            for day, verdict in ((2, "keep_running"), (9, "ship")):
                con.execute(
                    decisions.insert().values(
                        experiment_id="e1",
                        decided_at=when.replace(day=day),
                        decided_by="ben",
                        verdict=verdict,
                        reasons=["r"],
                        rationale="",
                    )
                )
    finally:
        engine.dispose()


def _columns_v1() -> list[sa.Column]:
    return [
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("workspace", sa.String),
        sa.Column("name", sa.String),
        sa.Column("owner", sa.String),
        sa.Column("status", sa.String),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer),
        sa.Column("document", sa.JSON),
    ]


def test_a_database_of_the_previous_schema_upgrades_with_its_data(db_url):
    upgrade(db_url, "0001")
    assert revision_of(db_url) == "0001"
    insert_at_revision_1(db_url)
    reg = open_registry(db_url)
    try:
        assert revision_of(db_url) == "0002"
        decided = reg.get("growth", "e1")
        assert (decided.verdict, decided.version, decided.notes) == ("ship", 3, "old")
        assert decided.experiment_plan() == ExperimentPlan(power=0.9)
        assert decided.mapping is None
        assert decided.updated_at == dt.datetime(2026, 3, 2, 12, 3, tzinfo=dt.UTC)
        assert reg.get("growth", "e2").verdict is None
        assert [e.id for e in reg.list("growth", status="decided")] == ["e1"]
        assert [d.verdict for d in reg.decisions("growth", "e1")] == ["keep_running", "ship"]
        # and the old record takes new writes
        saved = reg.update("growth", "e2", expected_version=3, by="ana", notes="new")
        assert saved.version == 4
    finally:
        reg.close()


def test_the_second_revision_downgrades_and_upgrades_again(db_url):
    upgrade(db_url, "0001")
    insert_at_revision_1(db_url)
    upgrade(db_url, "head")
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as con:
            command.downgrade(alembic_config(con), "0001")
        assert "verdict" not in {c["name"] for c in sa.inspect(engine).get_columns("experiments")}
    finally:
        engine.dispose()
    upgrade(db_url, "head")
    reg = open_registry(db_url)
    try:
        assert reg.get("growth", "e1").verdict == "ship"
    finally:
        reg.close()
