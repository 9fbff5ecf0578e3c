"""The registry's tables as SQLAlchemy 2 models (the schema at the newest migration).

Only what a readout is rebuilt from is stored, never raw rows: the experiment's document
(plan, column mapping, options, exclusions, notes) as JSON, the frozen plan of its
registration, amendments with their diff, snapshots of the aggregated cells (the sufficient
statistics, as :func:`abcore.share.results_to_dict` serialises them) with a fingerprint of
the data they came from, and decision records. The migrations in ``migrations/versions``
create exactly these tables; ``tests/test_registry_migrations.py`` checks they agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "STATUSES",
    "AmendmentRow",
    "Base",
    "DecisionRow",
    "ExperimentRow",
    "RegistrationRow",
    "SnapshotRow",
]

STATUSES = ("draft", "registered", "running", "decided", "archived")
"""An experiment's life: drafted, its plan registered (frozen), results coming in, a
decision recorded, put away."""
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names fixed by convention, so a migration can name what it drops on SQLite and
PostgreSQL alike."""


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every engine (SQLite keeps no zone: it is stored
    as UTC and read back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware (UTC).")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ExperimentRow(Base):
    """One experiment: who owns it, in which workspace, its status and its document.

    ``version`` grows by one at every save: a save names the version it read, and one that
    does not match changes nothing (optimistic concurrency). ``verdict`` repeats the latest
    decision's verdict (migration 0002) so the list needs no join.
    """

    __tablename__ = "experiments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    verdict: Mapped[str | None] = mapped_column(String(40), nullable=True)

    __table_args__ = (Index("ix_experiments_workspace_status", "workspace", "status"),)


class RegistrationRow(Base):
    """The plan as frozen at registration (pre-registration): one per experiment."""

    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), unique=True
    )
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    registered_by: Mapped[str] = mapped_column(String(200))
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))


class AmendmentRow(Base):
    """A change to a registered plan: when, by whom, why, and its diff."""

    __tablename__ = "amendments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    amended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    amended_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    plan_before: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan_after: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class SnapshotRow(Base):
    """One readout's aggregated cells and the fingerprint of the data behind them."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    taken_by: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(40))
    results: Mapped[dict[str, Any]] = mapped_column(JSON)
    file_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    first_day: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_day: Mapped[str | None] = mapped_column(String(40), nullable=True)


class DecisionRow(Base):
    """A decision record: the verdict, its reasons, who made it, when and why."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str] = mapped_column(String(200))
    verdict: Mapped[str] = mapped_column(String(40))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    rationale: Mapped[str] = mapped_column(Text)
    snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("snapshots.id", ondelete="SET NULL"), nullable=True
    )
