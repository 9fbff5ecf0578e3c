"""Saved experiments: a registry of plans, registrations, amendments, snapshots of the
aggregated cells and decision records, in SQLite by default or PostgreSQL by URL.

Importing this package opens nothing: :func:`open_registry` reaches the database, creates
it and migrates it (Alembic, migrations inside this package) on first use. No module of
``abcore`` imports the registry, so the calculators and the notebook library work without a
database; only the app's pages do.

>>> from abcore.registry import plan_diff
>>> from abcore.plan import ExperimentPlan
>>> [c.text for c in plan_diff(ExperimentPlan().to_dict(), ExperimentPlan(power=0.9).to_dict())]
['power 80% → 90%']
"""

from __future__ import annotations

from abcore.registry.diff import PlanChange, changed_after_launch, plan_diff
from abcore.registry.errors import (
    ConflictError,
    ExperimentNotFound,
    RegistryError,
    RegistryInputError,
    RegistryUnavailable,
)
from abcore.registry.records import (
    Amendment,
    DataFingerprint,
    Decision,
    Experiment,
    Registration,
    Snapshot,
    TimelineEntry,
)
from abcore.registry.schema import STATUSES
from abcore.registry.store import (
    EXPORT_FORMAT,
    Registry,
    alembic_config,
    database_url,
    open_registry,
    upgrade,
)

__all__ = [
    "EXPORT_FORMAT",
    "STATUSES",
    "Amendment",
    "ConflictError",
    "DataFingerprint",
    "Decision",
    "Experiment",
    "ExperimentNotFound",
    "PlanChange",
    "Registration",
    "Registry",
    "RegistryError",
    "RegistryInputError",
    "RegistryUnavailable",
    "Snapshot",
    "TimelineEntry",
    "alembic_config",
    "changed_after_launch",
    "database_url",
    "open_registry",
    "plan_diff",
    "upgrade",
]
