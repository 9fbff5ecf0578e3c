"""What the registry returns: frozen records, built from rows, that a page reads and never
writes back (a change goes through :class:`abcore.registry.Registry` with the version read).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

from abcore.model import Aggregates, Check, Mapping
from abcore.plan import ExperimentPlan
from abcore.registry.diff import PlanChange, changed_after_launch
from abcore.registry.errors import RegistryError
from abcore.share import results_from_dict

__all__ = [
    "Amendment",
    "DataFingerprint",
    "Decision",
    "Experiment",
    "Registration",
    "Snapshot",
    "TimelineEntry",
]


@dataclass(frozen=True)
class Experiment:
    """One saved experiment and its document (the plan, the column mapping, the readout's
    options, exclusions and notes), as JSON-ready dicts.

    ``version`` is what a save names to prove it read the latest record; ``verdict`` is the
    latest decision's, None before one is recorded.
    """

    id: str
    workspace: str
    name: str
    owner: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    plan: dict[str, Any]
    mapping: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    exclusions: tuple[Any, ...] = ()
    notes: str = ""
    verdict: str | None = None

    def experiment_plan(self) -> ExperimentPlan:
        """The plan as the pages edit it."""
        return ExperimentPlan.from_dict(self.plan)

    def column_mapping(self) -> Mapping | None:
        """The column mapping of the data, None before a file was mapped."""
        return None if self.mapping is None else Mapping.from_dict(self.mapping)

    @property
    def document(self) -> dict[str, Any]:
        """What a save writes: everything but the bookkeeping."""
        return {
            "plan": self.plan,
            "mapping": self.mapping,
            "options": self.options,
            "exclusions": list(self.exclusions),
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Registration:
    """The plan frozen before launch (pre-registration) and its fingerprint
    (:meth:`abcore.plan.ExperimentPlan.fingerprint`)."""

    experiment_id: str
    registered_at: dt.datetime
    registered_by: str
    plan: dict[str, Any]
    fingerprint: str


@dataclass(frozen=True)
class Amendment:
    """A dated change of a registered plan, with its diff (:func:`abcore.registry.plan_diff`)."""

    experiment_id: str
    amended_at: dt.datetime
    amended_by: str
    reason: str
    plan_before: dict[str, Any]
    plan_after: dict[str, Any]
    changes: tuple[PlanChange, ...]

    @property
    def text(self) -> str:
        """``changed after launch: power 80% → 90%``."""
        return changed_after_launch(self.changes)


@dataclass(frozen=True)
class DataFingerprint:
    """Which data a snapshot was read from: a hash of the file (or of the warehouse query),
    its rows and its first and last day, so a later readout of other data shows it is other.

    >>> fp = DataFingerprint.of_bytes(b"abc", rows=1)  # SHA-256 of "abc": FIPS 180-2's vector
    >>> fp.file_hash[:16], fp.rows
    ('ba7816bf8f01cfea', 1)
    """

    file_hash: str | None = None
    rows: int | None = None
    first_day: str | None = None
    last_day: str | None = None

    @classmethod
    def of_bytes(
        cls,
        content: bytes,
        *,
        rows: int | None = None,
        first_day: Any = None,
        last_day: Any = None,
    ) -> DataFingerprint:
        """The fingerprint of an uploaded file's bytes (SHA-256)."""
        return cls(
            hashlib.sha256(content).hexdigest(),
            rows,
            None if first_day is None else str(first_day)[:40],
            None if last_day is None else str(last_day)[:40],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "file_hash": self.file_hash,
            "rows": self.rows,
            "first_day": self.first_day,
            "last_day": self.last_day,
        }

    @classmethod
    def from_dict(cls, data: MappingABC[str, Any]) -> DataFingerprint:
        rows = data.get("rows")
        return cls(data.get("file_hash"), None if rows is None else int(rows),
                   data.get("first_day"), data.get("last_day"))  # fmt: skip


@dataclass(frozen=True)
class Snapshot:
    """A readout's aggregated cells, dated: enough to reopen the readout without the file.

    ``results`` is :func:`abcore.share.results_to_dict`'s dict, the one a results link packs,
    plus under ``"checks"`` the checks only the rows could give (instrumentation:
    :attr:`abcore.analysis.Analysis.input_checks`), so the reopened readout and its decision
    are the ones the file gave.
    """

    id: int
    experiment_id: str
    taken_at: dt.datetime
    taken_by: str
    source: str
    results: dict[str, Any]
    fingerprint: DataFingerprint

    @property
    def checks(self) -> tuple[Check, ...]:
        """The row-level checks saved with the cells, for ``analyze_aggregates(checks=...)``."""
        return tuple(Check(**c) for c in self.results.get("checks", ()))

    def readout(self) -> tuple[Aggregates, dict[str, Any]]:
        """The aggregates and options, for :func:`abcore.analysis.analyze_aggregates`."""
        try:
            return results_from_dict(self.results)
        except (KeyError, TypeError, ValueError) as exc:
            raise RegistryError(
                f"The snapshot of {self.taken_at:%Y-%m-%d %H:%M} UTC cannot be read back "
                f"({exc}); upload the file again to read it."
            ) from exc


@dataclass(frozen=True)
class Decision:
    """A decision record: the verdict, its reasons, who, when and the rationale."""

    id: int
    experiment_id: str
    decided_at: dt.datetime
    decided_by: str
    verdict: str
    reasons: tuple[str, ...]
    rationale: str
    snapshot_id: int | None = None


@dataclass(frozen=True)
class TimelineEntry:
    """One dated event of an experiment's life, as the timeline lists it.

    ``kind`` is ``created``, ``registered``, ``amended``, ``snapshot`` or ``decided``.
    """

    at: dt.datetime
    kind: str
    by: str
    summary: str
