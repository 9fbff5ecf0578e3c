"""The domain model: what the engine passes between its steps, free of DuckDB and SQL.

* :class:`Mapping` / :class:`MetricMapping`: which column plays which role (the user-editable
  output of schema detection, the only input of the SQL generators).
* :class:`MetricKind` / :data:`KINDS`: what each kind of metric needs and how it is tested.
* :class:`Aggregates`: the sufficient statistics per arm, day and segment that a scan, a
  warehouse query, an aggregated upload or a share link produce; every readout starts here.
* :class:`Instrumentation`: the counts behind the instrumentation checks.
* :class:`PrepStep`: one data-preparation step and the rows it removed (the readout keeps
  them, so the report and a link say what was excluded).
* :class:`Check`: one validity check, typed by what it does to the decision (a *gate* that
  blocks any reading, a *maturity* condition that makes the test keep running, or *info*).
* :class:`ReadoutOptions`: how effects are tested (alpha, correction, relative interval,
  CUPED), stored on the analysis and handed to the decision, so the table and the verdict
  always read the same numbers.

Nothing here touches a database: the readers (:mod:`abcore.ingest`) and the query builders
(:mod:`abcore.sql`) depend on this module, never the other way round.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from abcore import config, quantile, stats
from abcore._checks import check_scalar, check_shares
from abcore.capping import Capping
from abcore.quantile import QuantileSummary
from abcore.suffstats import MomentStatistic, PairStatistic, SampleMean

__all__ = [
    "CHECK_KINDS",
    "FILTER_OPS",
    "GROUP_COLUMNS",
    "KINDS",
    "METRIC_KINDS",
    "MOMENT_N",
    "PAIR_FIELDS",
    "PAIR_KINDS",
    "PREP_KINDS",
    "SHAPES",
    "STAT_FIELDS",
    "Aggregates",
    "Check",
    "Instrumentation",
    "Mapping",
    "MetricKind",
    "MetricMapping",
    "PrepStep",
    "ReadoutOptions",
    "moment_fields",
    "stat_column",
]

SHAPES = ("unit", "aggregated", "daily")
"""unit: one row per unit (or unit-day); aggregated: per-arm rows of sums; daily: with a date."""
LEVELS = ("overall", "day", "segment")
GROUP_COLUMNS = ("level", "variant", "day", "segment", "segment_value", "n")
"""Leading columns of every sufficient-statistics result, before the per-metric columns."""
STAT_FIELDS = ("n", "sum", "sum_sq")
"""Per-metric columns of binary and continuous metrics (rows where the metric is present)."""
PAIR_FIELDS = ("pair_n", "sum_y", "sum_y_sq", "sum_x", "sum_x_sq", "sum_xy")
"""Per-metric columns of ratio, proportion-of-counts and CUPED metrics (complete pairs only):
``y`` is the numerator (or the metric), ``x`` the denominator (or the covariate)."""
MOMENT_N = "mom_n"
"""Per-metric count of the rows complete in every variable of a regression-adjusted metric."""


def moment_fields(k: int) -> tuple[str, ...]:
    """Per-metric columns of a regression-adjusted metric with ``k`` variables (the metric,
    or a ratio's numerator and denominator, then its covariates), over the rows where all
    are present: ``mom_n``, the sums ``mom_s<i>`` and the cross-products ``mom_c<i>_<j>``
    (``i <= j``) of :class:`~abcore.suffstats.MomentStatistic`.

    >>> moment_fields(2)
    ('mom_n', 'mom_s0', 'mom_s1', 'mom_c0_0', 'mom_c0_1', 'mom_c1_1')
    """
    sums = tuple(f"mom_s{i}" for i in range(k))
    cross = tuple(f"mom_c{i}_{j}" for i in range(k) for j in range(i, k))
    return (MOMENT_N, *sums, *cross)


SEP = "__"


@dataclass(frozen=True)
class MetricKind:
    """What a kind of metric is, declared once: the columns it is mapped from, the
    sufficient statistics its cells carry, how they are read, and its test.

    The SQL (:mod:`abcore.sql`, :mod:`abcore.warehouse`), the aggregates and the comparison
    (:func:`abcore.compare.compare_stats`) read these properties instead of naming kinds, so
    a kind is added here, in :data:`KINDS`, and nowhere else (its detection and its label on
    the pages aside). A covariate (CUPED) is not a kind: one covariate adds pair statistics
    to a ``"sample"`` kind; several (or any on a ratio) add the moments of
    :func:`moment_fields`, tested by :mod:`abcore.regression`. A kind whose test needs
    other statistics (a quantile's sketch) declares new ``fields`` and a new ``statistic``.

    Attributes:
        name: the ``MetricMapping.kind`` string.
        description: one line for pickers and help text.
        pair: mapped as ``numerator`` / ``denominator``; its cells carry
            :data:`PAIR_FIELDS` over complete pairs (else :data:`STAT_FIELDS`, plus
            :data:`PAIR_FIELDS` with a covariate).
        statistic: what its test reads: ``"sample"`` a :class:`SampleMean` of units,
            ``"trials"`` a :class:`SampleMean` of trials built from the pair sums (successes
            out of trials), ``"pair"`` a :class:`PairStatistic`, ``"quantile"`` a
            :class:`~abcore.quantile.QuantileSummary` (:meth:`Aggregates.quantile`).
        zero_one: each value is 0 or 1 (a conversion): read as yes/no, rolled up per unit
            by ``max`` (converted on any row), checked against 0/1, its sum is its own sum
            of squares.
        shifted: its values are amounts whose sums are taken around a shift (see
            :class:`Aggregates`); conversions and counts are read as such.
        cappable: winsorizing at a percentile applies (an amount per unit).
        range_check: the instrumentation check on its values: ``"out_of_range"`` (outside
            0/1, or successes above trials) or ``"negative"``.
        test: the fixed-horizon test, ``test(control, treatment, **kwargs)`` with the
            :func:`abcore.stats.compare_samples` keywords (alpha, alternative,
            relative_method).
        summary_fields: per-cell statistics that are not sums (a quantile's bounded summary,
            :data:`abcore.quantile.SUMMARY_FIELDS`): computed per level by their own query,
            they do not add across days, so such a kind has no daily (cumulative) effects.
            Its cells also carry :data:`STAT_FIELDS` (the mean, the value checks).

    >>> KINDS["proportion_of_counts"].statistic, KINDS["ratio"].fields == PAIR_FIELDS
    ('trials', True)
    """

    name: str
    description: str
    pair: bool
    statistic: str
    zero_one: bool
    shifted: bool
    cappable: bool
    range_check: str
    test: Callable[..., Any]
    summary_fields: tuple[str, ...] = ()

    @property
    def adds_up(self) -> bool:
        """Whether its cells' statistics add across days and segments (sums only)."""
        return not self.summary_fields

    @property
    def fields(self) -> tuple[str, ...]:
        """The per-metric statistics of a cell (without the metric prefix)."""
        return PAIR_FIELDS if self.pair else STAT_FIELDS

    @property
    def unit_rollup(self) -> str:
        """How a unit's rows add up to the unit's value: a conversion if any row converted
        (``max``), else the sum."""
        return "max" if self.zero_one else "sum"


KINDS: dict[str, MetricKind] = {
    k.name: k
    for k in (
        MetricKind(
            "binary",
            "yes/no per unit (a conversion): pooled two-proportion z-test",
            pair=False,
            statistic="sample",
            zero_one=True,
            shifted=False,
            cappable=False,
            range_check="out_of_range",
            test=functools.partial(stats.compare_samples, binary=True),
        ),
        MetricKind(
            "continuous",
            "any number per unit (revenue, load time): Welch's t-test",
            pair=False,
            statistic="sample",
            zero_one=False,
            shifted=True,
            cappable=True,
            range_check="negative",
            test=functools.partial(stats.compare_samples, binary=False),
        ),
        MetricKind(
            "ratio",
            "sum of a numerator over sum of a denominator per unit: delta method",
            pair=True,
            statistic="pair",
            zero_one=False,
            shifted=True,
            cappable=False,
            range_check="negative",
            test=stats.compare_ratios,
        ),
        MetricKind(
            "proportion_of_counts",
            "successes out of trials in count data: pooled z-test on the trials",
            pair=True,
            statistic="trials",
            zero_one=False,
            shifted=False,
            cappable=False,
            range_check="out_of_range",
            test=functools.partial(stats.compare_samples, binary=True),
        ),
        MetricKind(
            "quantile",
            "a quantile (p50, p90, p99) of a number per unit: outer-CI delta method",
            pair=False,
            statistic="quantile",
            zero_one=False,
            shifted=True,
            cappable=False,
            range_check="negative",
            test=quantile.compare_quantiles,
            summary_fields=quantile.SUMMARY_FIELDS,
        ),
    )
}
"""Every metric kind, by name (see :class:`MetricKind`)."""
METRIC_KINDS = tuple(KINDS)
PAIR_KINDS = tuple(name for name, k in KINDS.items() if k.pair)


def stat_column(metric: str, stat: str) -> str:
    """Name of a per-metric result column, e.g. ``revenue__sum_sq``."""
    return f"{metric}{SEP}{stat}"


@dataclass(frozen=True)
class MetricMapping:
    """One metric: which column(s) hold it and what kind of number it is.

    Kinds:
        ``binary``: 0/1 or TRUE/FALSE per unit (a conversion).
        ``continuous``: any number per unit (revenue, load time).
        ``ratio``: ``numerator`` / ``denominator`` summed over units (clicks / sessions),
            analysed with the delta method on the per-unit pairs.
        ``proportion_of_counts``: ``numerator`` successes out of ``denominator`` trials summed
            over rows, e.g. Enrollments / Clicks in daily count data; the trials are the units.
        ``quantile``: the ``quantile`` level (0.9: p90) of a number per unit (load time,
            order value), compared by :func:`abcore.quantile.compare_quantiles`; unit-level
            rows only, no covariates.

    ``column`` defaults to ``name`` for binary and continuous metrics. ``covariate`` (a
    pre-period column of the same unit) enables CUPED. ``covariates`` (several pre-period
    columns, CUPAC predictions, a segment's 0/1 dummies) enable regression adjustment
    (:func:`abcore.regression.compare_regression`); one covariate, given either way, is
    stored as ``covariate`` and reads exactly as before. On a ratio metric ``covariate`` is
    the pre-period numerator (its denominator taken as 1) and ``covariates`` is
    ``(pre-period numerator, pre-period denominator)``: CUPED on the ratio by the delta
    method (:func:`abcore.regression.compare_ratio_cuped`). The ``*_column`` fields serve the
    aggregated shapes: ``sum_column`` + ``sum_sq_column``, or ``mean_column`` +
    ``sd_column`` / ``variance_column``; a binary metric needs only ``sum_column``
    (conversions) or ``mean_column`` (the rate).

    >>> MetricMapping("revenue", "continuous").column
    'revenue'
    """

    name: str
    kind: str
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    covariate: str | None = None
    covariates: tuple[str, ...] = ()
    sum_column: str | None = None
    sum_sq_column: str | None = None
    mean_column: str | None = None
    sd_column: str | None = None
    variance_column: str | None = None
    capping: Capping | None = None
    quantile: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name must be a non-empty string, got {self.name!r}.")
        check_scalar(self.kind, "kind", in_=tuple(KINDS))
        self._normalise_covariates()
        self._check_capping()
        self._check_quantile()
        if self.metric_kind.pair:
            if not self.numerator or not self.denominator:
                raise ValueError(
                    f"metric {self.name!r}: a {self.kind} metric needs numerator and denominator."
                )
            if self.adjusters and self.metric_kind.statistic != "pair":
                raise ValueError(
                    f"metric {self.name!r}: covariates are supported for binary, continuous "
                    "and ratio metrics only."
                )
            if len(self.adjusters) > 2:
                raise ValueError(
                    f"metric {self.name!r}: covariates of a ratio metric must be its "
                    "pre-period numerator and denominator (2 columns), got "
                    f"{len(self.adjusters)}."
                )
        elif self.column is None:
            object.__setattr__(self, "column", self.name)

    def _check_capping(self) -> None:
        """A capping given as a dict (a link, a mapping's JSON) becomes a :class:`Capping`;
        only a kind marked ``cappable`` takes one (:mod:`abcore.capping` says why a ratio
        does not)."""
        if self.capping is None:
            return
        try:
            capping = Capping.from_dict(self.capping)
        except TypeError as error:
            raise ValueError(f"metric {self.name!r}: capping cannot be read ({error}).") from None
        except ValueError as error:
            raise ValueError(f"metric {self.name!r}: {error}") from None
        if not self.metric_kind.cappable:
            raise ValueError(
                f"metric {self.name!r}: capping applies to continuous metrics only, not to a "
                f"{self.kind} metric (a conversion is already 0 or 1; a ratio's numerator and "
                "denominator capped apart would change what the ratio means)."
            )
        object.__setattr__(self, "capping", capping)

    def _check_quantile(self) -> None:
        """A quantile metric names its level (0 < q < 1) and has no covariates; no other
        kind has a level."""
        if self.metric_kind.statistic != "quantile":
            if self.quantile is not None:
                raise ValueError(
                    f"metric {self.name!r}: quantile is for quantile metrics only, got "
                    f"{self.quantile!r} on a {self.kind} metric."
                )
            return
        q = self.quantile
        if isinstance(q, bool) or not isinstance(q, int | float) or not 0 < q < 1:
            raise ValueError(
                f"metric {self.name!r}: quantile must be a level strictly between 0 and 1 "
                f"(0.9 for p90), got {q!r}."
            )
        object.__setattr__(self, "quantile", float(q))
        if self.adjusters:
            raise ValueError(
                f"metric {self.name!r}: covariates are not supported on a quantile metric."
            )

    def _normalise_covariates(self) -> None:
        """One list of covariates, however given: ``covariate`` first, no repeats; a single
        one on a binary or continuous metric stays ``covariate`` (pair statistics, as
        before), several (or any on a ratio) go to ``covariates``."""
        given = self.covariates
        if isinstance(given, str):
            raise ValueError(
                f"metric {self.name!r}: covariates must be a list of column names, got the "
                f"string {given!r}."
            )
        names = [self.covariate, *tuple(given or ())]
        for c in names:
            if c is not None and (not isinstance(c, str) or not c.strip()):
                raise ValueError(
                    f"metric {self.name!r}: covariates must be column names, got {c!r}."
                )
        merged = tuple(dict.fromkeys(c for c in names if c is not None))
        if len(merged) > config.MAX_COVARIATES:
            raise ValueError(
                f"metric {self.name!r}: covariates must be at most {config.MAX_COVARIATES} "
                f"columns, got {len(merged)}."
            )
        if len(merged) == 1 and not KINDS[self.kind].pair:
            object.__setattr__(self, "covariate", merged[0])
            object.__setattr__(self, "covariates", ())
        else:
            object.__setattr__(self, "covariate", None)
            object.__setattr__(self, "covariates", merged)

    @property
    def metric_kind(self) -> MetricKind:
        """What this metric's kind needs and how it is tested (:data:`KINDS`)."""
        return KINDS[self.kind]

    @property
    def adjusters(self) -> tuple[str, ...]:
        """Every covariate of the metric (``covariate`` or ``covariates``)."""
        return (self.covariate,) if self.covariate is not None else self.covariates

    @property
    def moments(self) -> int:
        """How many variables its moment statistics have (0: none): the metric (a ratio's
        numerator and denominator) and its ``covariates``."""
        if not self.covariates:
            return 0
        return (2 if self.metric_kind.pair else 1) + len(self.covariates)

    @property
    def is_pair(self) -> bool:
        """Whether the metric carries pair statistics (ratio, counts or CUPED)."""
        return self.metric_kind.pair or self.covariate is not None

    @property
    def summary_fields(self) -> tuple[str, ...]:
        """Names of its non-additive statistics in a result row (a quantile's summary)."""
        return self.metric_kind.summary_fields

    @property
    def stat_fields(self) -> tuple[str, ...]:
        """Names of this metric's statistics in a result row (without the metric prefix)."""
        fields = self.metric_kind.fields
        fields += PAIR_FIELDS if self.covariate is not None else ()
        return fields + (moment_fields(self.moments) if self.moments else ())

    @property
    def unit_columns(self) -> tuple[str, ...]:
        """Columns read from unit-level rows."""
        if self.metric_kind.pair:
            return (str(self.numerator), str(self.denominator), *self.covariates)
        return tuple(c for c in (self.column, *self.adjusters) if c is not None)

    @property
    def aggregate_columns(self) -> tuple[str, ...]:
        """Columns read from aggregated rows."""
        if self.metric_kind.pair:
            return (str(self.numerator), str(self.denominator))
        names = (
            self.sum_column,
            self.sum_sq_column,
            self.mean_column,
            self.sd_column,
            self.variance_column,
        )
        return tuple(c for c in names if c is not None)

    def to_dict(self) -> dict[str, Any]:
        """Fields that are set (a compact form for share links): a mapping without
        ``covariates`` writes none, so its link reads as before."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        if self.capping is not None:
            out["capping"] = self.capping.to_dict()
        if self.covariates:
            out["covariates"] = list(self.covariates)
        else:
            out.pop("covariates", None)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricMapping:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Mapping:
    """Which column plays which role, and the shape of the file.

    Edit with ``dataclasses.replace(mapping, control="b")``; lists are accepted and stored as
    tuples. ``notes`` explain the choices schema detection made (they do not take part in
    equality); ``guessed`` names the roles among them that were a guess with nothing in the
    file to back it (``"variant"``, ``"control"``, ``"n_column"``), so a page can ask the
    user to confirm them without reading the sentences. The other findings are typed too, for
    the same reason: ``arm_proxies`` are columns that restate the arm (``landing_page`` is
    ``new_page`` exactly for the treatment), never offered as segments; ``empty_days`` are
    the days on which some count column is empty (those metrics are read over the other
    days); ``id_columns`` are columns that tell several experiments or metrics apart in one
    file, each of which must be filtered to one value (:class:`PrepStep` ``"filter"``)
    before the file can be read. These describe how detection got to the mapping, not the
    mapping, so :meth:`to_dict` leaves them out. ``day_label`` marks a text date column
    without a year ("Sat, Oct 11"): it is used as a label, ordered by its first appearance
    in the file. ``aggregate_units`` sums the rows of each unit first (unit-day rows,
    duplicated rows): detection sets it only when some unit has more than one row, so the
    usual one-row-per-unit file skips that step.

    >>> m = Mapping(variant="version", control="gate_30", metrics=[MetricMapping("r", "binary")])
    >>> Mapping.from_dict(m.to_dict()) == m
    True
    """

    shape: str = "unit"
    variant: str | None = None
    control: str | None = None
    unit: str | None = None
    timestamp: str | None = None
    metrics: tuple[MetricMapping, ...] = ()
    segments: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    n_column: str | None = None
    day_label: bool = False
    aggregate_units: bool = False
    notes: tuple[str, ...] = field(default=(), compare=False)
    guessed: tuple[str, ...] = field(default=(), compare=False)
    arm_proxies: tuple[str, ...] = field(default=(), compare=False)
    empty_days: tuple[str, ...] = field(default=(), compare=False)
    id_columns: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        check_scalar(self.shape, "shape", in_=SHAPES)
        metrics = tuple(
            MetricMapping.from_dict(m) if isinstance(m, dict) else m for m in self.metrics
        )
        for m in metrics:
            if not isinstance(m, MetricMapping):
                raise ValueError(f"metrics must hold MetricMapping objects, got {m!r}.")
        names = [m.name for m in metrics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"metrics must have unique names; repeated: {', '.join(dupes)}.")
        object.__setattr__(self, "metrics", metrics)
        for name in ("segments", "covariates", "notes", *_FINDINGS):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ValueError(f"{name} must be a list of strings, got the string {value!r}.")
            object.__setattr__(self, name, tuple(value))
        if self.control is not None and not isinstance(self.control, str):
            object.__setattr__(self, "control", str(self.control))

    def metric(self, name: str) -> MetricMapping:
        """The metric called ``name``."""
        for m in self.metrics:
            if m.name == name:
                return m
        known = ", ".join(repr(m.name) for m in self.metrics) or "none"
        raise ValueError(f"metric must be one of {known}, got {name!r}.")

    @property
    def is_aggregated(self) -> bool:
        return self.shape != "unit"

    def columns_used(self) -> tuple[str, ...]:
        """Every column the mapping reads, in order, without repeats."""
        cols: list[str | None] = [self.variant, self.timestamp]
        if self.is_aggregated:
            cols.append(self.n_column)
            for m in self.metrics:
                cols.extend(m.aggregate_columns)
        else:
            cols.append(self.unit)
            for m in self.metrics:
                cols.extend(m.unit_columns)
        cols.extend(self.segments)
        return tuple(dict.fromkeys(c for c in cols if c is not None))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (metrics as compact dicts)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in _FINDINGS:
                continue
            value = getattr(self, f.name)
            if f.name == "metrics":
                value = [m.to_dict() for m in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mapping:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


_FINDINGS = ("guessed", "arm_proxies", "empty_days", "id_columns")
"""Mapping fields that describe detection's findings, not the mapping (not serialised)."""


PREP_KINDS = (
    "filter",
    "date_window",
    "duplicate_rows",
    "mixed_units",
    "repeat_units",
    "arm_mismatch",
)
"""Data preparation steps (:class:`PrepStep`), applied in the order given."""


FILTER_OPS = ("in", "=", "!=", "<", "<=", ">", ">=", "is_missing", "not_missing")
"""Operators of a row filter (:class:`PrepStep` ``"filter"``): a closed list, never SQL text."""
_OP_WORDS = {"=": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


@dataclass(frozen=True)
class PrepStep:
    """One data-preparation step, as asked and, once applied, with the rows it removed.

    The steps run in DuckDB before the statistics (:func:`abcore.ingest.prepare`), and the
    readout keeps them (``Analysis.preparation``) so the report and a share link say what was
    excluded, not just the numbers after it.

    Kinds (``column``, ``values``, ``op`` and ``unit`` as each needs):

    - ``"filter"``: keep the rows where ``column`` ``op`` ``values``: ``"in"`` (the default:
      one of ``values``; one experiment of a file that holds several, one country...),
      ``"="``, ``"!="``, ``"<"``, ``"<="``, ``">"``, ``">="`` (one value), ``"is_missing"``,
      ``"not_missing"`` (none). Several filters are several steps, so they combine with AND;
    - ``"date_window"``: ``values = (first_day, last_day)``, ISO dates, either ``None`` for
      open, both included. With ``unit``, keep the units whose first row (by ``column``, a
      date or timestamp) falls in the window, with all their rows; without (per-day totals,
      no unit), keep the rows whose ``column`` falls in it. Units, because a window says
      who is in the experiment: windowing rows would keep the later rows of units first
      exposed before it (entered under other conditions) and cut the rows after it from
      the units it keeps (a conversion on the next day lost for some units only); the
      Decision page's "exclude days" drops the units first exposed on them the same way;
    - ``"duplicate_rows"``: keep one row of rows equal in every column;
    - ``"mixed_units"``: drop every row of the units (``column``) seen in more than one arm;
    - ``"repeat_units"``: keep each unit's (``column``) first row, by the timestamp when
      the mapping has one (the course's cleaning of ``ab_data.csv`` keeps one row per user);
    - ``"arm_mismatch"``: drop the rows whose ``column`` disagrees with the arm, where that
      column restates the arm (``landing_page`` is ``new_page`` for the treatment): the
      value it takes on most of the arm's rows is taken as the arm's.

    ``rows_removed`` (and ``units_removed`` for the unit steps) are ``None`` until the step
    has run. Values are stored as text or numbers, so the step is JSON-ready
    (:meth:`to_dict`, :meth:`from_dict`).

    >>> PrepStep("filter", "country", ["DE", "FR"]).values
    ('DE', 'FR')
    >>> step = PrepStep("mixed_units", "user_id", rows_removed=4)
    >>> PrepStep.from_dict(step.to_dict()) == step, step.to_dict()
    (True, {'kind': 'mixed_units', 'column': 'user_id', 'rows_removed': 4})
    >>> PrepStep("filter", "total ads", [10], op=">=", rows_removed=7).sentence()
    "Kept the rows where 'total ads' ≥ 10: 7 rows removed."
    """

    kind: str
    column: str | None = None
    values: tuple[Any, ...] = ()
    rows_removed: int | None = None
    units_removed: int | None = None
    op: str | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        check_scalar(self.kind, "kind", in_=PREP_KINDS)
        if self.kind != "duplicate_rows" and (not isinstance(self.column, str) or not self.column):
            raise ValueError(
                f"column must name a column for a {self.kind} step, got {self.column!r}."
            )
        if isinstance(self.values, str | bytes):
            raise ValueError(f"values must be a list, got the string {self.values!r}.")
        values = tuple(_json_value(v) for v in self.values)
        for name in ("rows_removed", "units_removed"):
            count = getattr(self, name)
            if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
                raise ValueError(f"{name} must be a whole number or None, got {count!r}.")
            if count is not None and count < 0:
                raise ValueError(f"{name} must not be negative, got {count!r}.")
        if self.kind == "filter":
            object.__setattr__(self, "op", self.op or "in")
            _check_filter(self.op, values)
        elif self.op is not None:
            raise ValueError(f"op applies to a filter step only, got {self.op!r} for {self.kind}.")
        if self.kind == "date_window":
            _check_window(values)
        if self.unit is not None and (
            self.kind != "date_window" or not isinstance(self.unit, str) or not self.unit
        ):
            raise ValueError(
                f"unit must name the unit column of a date_window step, got {self.unit!r}."
            )
        object.__setattr__(self, "values", values)

    def sentence(self) -> str:
        """What the step did, for the readout, the report and a link."""
        removed = (
            "" if self.rows_removed is None else f": {_plural(self.rows_removed, 'row')} removed"
        )
        units = (
            f" ({_plural(self.units_removed, 'unit')})" if self.units_removed is not None else ""
        )
        col = f"'{self.column}'"
        if self.kind == "filter":
            what = f"Kept the rows where {col} {_filter_text(str(self.op), self.values)}"
        elif self.kind == "date_window" and self.unit:
            what = (
                f"Kept the units ('{self.unit}') first seen {_window_text(self.values)} (by "
                f"{col}), with all their rows"
            )
        elif self.kind == "date_window":
            what = f"Kept the rows where {col} is {_window_text(self.values)}"
        else:
            what = {
                "duplicate_rows": "Dropped duplicate rows (kept one of rows equal in every column)",
                "mixed_units": f"Excluded the units ({col}) seen in more than one arm",
                "repeat_units": f"Kept the first row of each unit ({col})",
                "arm_mismatch": f"Dropped the rows where {col} disagrees with the arm",
            }[self.kind]
        return f"{what}{removed}{units}."

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields that are set (a filter's ``op`` always)."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if v is not None and v != ()}
        if self.values:
            out["values"] = list(self.values)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrepStep:
        """Inverse of :meth:`to_dict`; unknown keys are ignored. A dict from outside (a
        link) is checked field by field first (:func:`abcore.limits.check_prep_steps`)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _check_filter(op: Any, values: tuple[Any, ...]) -> None:
    if op not in FILTER_OPS:
        raise ValueError(f"op must be one of {', '.join(FILTER_OPS)}, got {op!r}.")
    if op == "in" and not values:
        raise ValueError("values must hold at least one value to keep for a filter step.")
    if op in _OP_WORDS and len(values) != 1:
        raise ValueError(f"values must hold one value for a filter with {op}, got {values!r}.")
    if op in ("is_missing", "not_missing") and values:
        raise ValueError(f"values must be empty for a filter with {op}, got {values!r}.")
    if any(v is None for v in values):
        raise ValueError("values of a filter cannot be missing: use the is_missing filter.")


def _check_window(values: tuple[Any, ...]) -> None:
    if len(values) != 2 or values == (None, None):
        raise ValueError(
            "values must be (first_day, last_day) for a date_window step, either None for "
            f"open, got {values!r}."
        )
    days = []
    for v in values:
        try:
            days.append(None if v is None else dt.date.fromisoformat(str(v)))
        except ValueError:
            raise ValueError(
                f"values of a date_window must be dates (YYYY-MM-DD), got {v!r}."
            ) from None
    if None not in days and days[0] > days[1]:
        raise ValueError(
            f"values: the date window starts on {values[0]}, after it ends on {values[1]}; "
            "pick a first day on or before the last."
        )


def _filter_text(op: str, values: tuple[Any, ...]) -> str:
    if op == "in":
        return f"is {' or '.join(repr(v) for v in values)}"
    if op == "is_missing":
        return "is missing"
    if op == "not_missing":
        return "is not missing"
    kept = " (missing values kept)" if op == "!=" else ""
    return f"{_OP_WORDS[op]} {values[0]!r}{kept}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _window_text(values: tuple[Any, ...]) -> str:
    first, last = values
    if first is None:
        return f"on or before {last}"
    if last is None:
        return f"on or after {first}"
    return f"from {first} to {last}"


CHECK_KINDS = ("gate", "maturity", "horizon", "info")
"""What a check does to the decision: a failed *gate* (sample ratio, assignment, impossible
values, pre-period imbalance) means the numbers cannot be read; a *maturity* check not
passed (a fading novelty effect) means keep running; a *horizon* check not passed (the
planned duration, size, reading before the end) means keep running under a fixed-horizon
plan, while a peeking-safe plan may stop before it for a clear win or harm; *info* is shown
and never changes the verdict."""


@dataclass(frozen=True)
class Check:
    """One validity check as the decision and the page show it.

    The decision reads ``kind`` and ``status``, never the name, so a renamed or a new check
    cannot silently stop blocking a launch; ``topic`` ("srm", "balance", or empty) lets a page
    place a check beside its own section, again without reading the name.
    """

    name: str
    status: str  # "pass" | "warn" | "fail"
    message: str
    kind: str = "gate"
    topic: str = ""

    def __post_init__(self) -> None:
        check_scalar(self.status, "status", in_=("pass", "warn", "fail"))
        check_scalar(self.kind, "kind", in_=CHECK_KINDS)

    @property
    def blocks(self) -> bool:
        """A failed gate: the experiment cannot be read until its cause is fixed."""
        return self.kind == "gate" and self.status == "fail"

    @property
    def immature(self) -> bool:
        """A maturity or horizon condition not met yet: the test should keep running
        (unless, for a horizon, a peeking-safe method stops it early)."""
        return self.kind in ("maturity", "horizon") and self.status != "pass"


@dataclass(frozen=True)
class ReadoutOptions:
    """How every effect of a readout is tested; one object for the table, the daily and
    segment breakdowns and the decision, so they cannot disagree.

    Attributes:
        alpha: significance level of the tests and intervals.
        correction: multiple-testing correction across the comparisons of a family
            ("holm", "bonferroni", "bh" or "none"); the decision splits its alpha over the
            success metrics with it.
        relative_method: interval of the relative effect ("fieller", "log" or "delta").
        cuped: use the pre-period covariate of a metric when it has one.
        strata: a segment column to post-stratify the overall effects by (a pre-experiment
            attribute: country, platform at sign-up): OLS with its values' dummies
            (:func:`abcore.regression.strata_moments`), with the metric's covariates when
            ``cuped`` is on. Binary and continuous metrics; the daily and segment
            breakdowns stay unstratified (their cells are not split by the segment).
        method: how peeking is handled (:data:`abcore.config.SEQUENTIAL_METHODS`):
            ``"fixed"`` reads every interval and p-value at the fixed horizon;
            ``"always_valid"`` turns them into a confidence sequence and an always-valid
            p-value; ``"group_sequential"`` into the current look's boundary (see
            :class:`abcore.peeking.PeekingRule`). The plan chooses it.
        planned_n: planned units of control plus one treatment arm: the information
            fraction's denominator for group-sequential looks and the default N*.
        tuning_n: N* of the always-valid sequence (default ``planned_n``).
        looks, spending, rho: the group-sequential design.
        earlier_looks: the looks made before this readout, as shares of its units
            (increasing, in (0, 1)): a group-sequential boundary is computed over them and
            the current look (:class:`abcore.peeking.PeekingRule`). Empty: the planned
            looks before the current one. :func:`abcore.analysis.analyze_aggregates` sets
            them to the ends of the earlier days in the data, since the lift over time
            shows every day.
    """

    alpha: float = config.ALPHA
    correction: str = config.CORRECTION
    relative_method: str = config.RELATIVE_CI
    cuped: bool = True
    strata: str | None = None
    method: str = config.SEQUENTIAL_METHOD
    planned_n: int | None = None
    tuning_n: int | None = None
    looks: int = config.GS_LOOKS
    spending: str = config.SPENDING
    rho: float = config.SPENDING_RHO
    earlier_looks: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "earlier_looks", check_shares(self.earlier_looks, "earlier_looks"))
        check_scalar(self.alpha, "alpha", gt=0, lt=1)
        check_scalar(self.correction, "correction", in_=config.CORRECTIONS)
        check_scalar(self.relative_method, "relative_method", in_=config.RELATIVE_CI_METHODS)
        if not isinstance(self.cuped, bool | np.bool_):
            raise ValueError(f"cuped must be True or False, got {self.cuped!r}.")
        object.__setattr__(self, "cuped", bool(self.cuped))
        if self.strata is not None and (not isinstance(self.strata, str) or not self.strata):
            raise ValueError(f"strata must be a segment column's name, got {self.strata!r}.")
        check_scalar(self.method, "method", in_=config.SEQUENTIAL_METHODS)
        check_scalar(self.looks, "looks", ge=1, le=config.SEQUENTIAL_MAX_LOOKS)
        check_scalar(self.spending, "spending", in_=config.SPENDING_FUNCTIONS)
        check_scalar(self.rho, "rho", gt=0)
        for name in ("planned_n", "tuning_n"):
            if getattr(self, name) is not None:
                check_scalar(getattr(self, name), name, gt=0)
        if self.method != "fixed" and self.planned_n is None and self.tuning_n is None:
            raise ValueError(
                f"planned_n must be given for the {self.method} method: it is the planned "
                "units of control plus one arm (pass a plan, which knows it)."
            )


@dataclass(frozen=True)
class Instrumentation:
    """Counts the validity page turns into checks; ``None`` where a role is not mapped.

    ``missing`` is per metric and arm; ``out_of_range`` counts binary values outside 0/1 (or
    successes above trials); ``negative`` counts negative continuous or ratio values.
    ``units_checked`` is how many units the unit checks looked at: all of them (``units``),
    or, for a large file read in place that showed no repeat, a hash sample of them
    (``config.UNIT_CHECK_SAMPLE``); a repeat found there has every id counted exactly.
    """

    rows: int
    rows_per_arm: dict[str, int]
    rows_missing_variant: int
    rows_missing_unit: int | None = None
    units: int | None = None
    units_in_multiple_arms: int | None = None
    units_with_several_rows: int | None = None
    duplicate_unit_rows: int | None = None
    duplicate_unit_day_rows: int | None = None
    units_checked: int | None = None
    missing: dict[str, dict[str, int]] = field(default_factory=dict)
    out_of_range: dict[str, int] = field(default_factory=dict)
    negative: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _count_columns(mapping: Mapping) -> list[str]:
    cols = ["n"]
    for m in mapping.metrics:
        counts = ("n", "pair_n", MOMENT_N)
        cols += [stat_column(m.name, f) for f in counts if f in m.stat_fields]
    return cols


def canonical_stats(frame: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    """Fixed dtypes, so a frame from DuckDB and one rebuilt from JSON compare equal."""
    frame = frame.reset_index(drop=True).copy()
    for col in ("level", "variant", "segment", "segment_value"):
        frame[col] = frame[col].astype("str").where(frame[col].notna(), None).astype("str")
    if mapping.timestamp and not mapping.day_label:
        frame["day"] = pd.to_datetime(frame["day"]).astype("datetime64[ns]")
    else:
        frame["day"] = frame["day"].astype("str").where(frame["day"].notna(), None).astype("str")
    counts = _count_columns(mapping)
    for col in frame.columns[5:]:
        values = pd.to_numeric(frame[col]).astype("float64")
        if col in counts and np.all(np.mod(values.fillna(0), 1) == 0):
            values = values.fillna(0).astype("int64")
        frame[col] = values
    return frame


@dataclass(frozen=True, eq=False)
class Aggregates:
    """Sufficient statistics of every metric per arm, day and segment.

    ``frame`` has one row per group: ``level`` ("overall", "day", "segment"), ``variant``,
    ``day``, ``segment`` (the segment column), ``segment_value``, ``n`` and the per-metric
    columns of :attr:`MetricMapping.stat_fields` (``revenue__sum``...). ``caps`` holds the
    value each capped metric was cut at from above (its upper bound), ``floors`` the value
    it was cut at from below (a lower bound; :class:`abcore.capping.Capping`); the
    metric's ``capping`` in the mapping says how they were set. ``shifts`` holds, per
    metric, the constants its sums were taken around (``(shift_y, shift_x)``, then one per
    entry of its ``covariates``: the sums are of ``value - shift``, see
    :mod:`abcore.suffstats`); a metric not in it has sums of raw values. Only these numbers
    travel onwards, so the object is small, JSON-ready (:meth:`to_dict`) and fit for a share
    link.
    """

    frame: pd.DataFrame
    mapping: Mapping
    caps: dict[str, float] = field(default_factory=dict)
    shifts: dict[str, tuple[float, ...]] = field(default_factory=dict)
    floors: dict[str, float] = field(default_factory=dict)

    @property
    def control(self) -> str:
        return str(self.mapping.control)

    @cached_property
    def variants(self) -> tuple[str, ...]:
        """Arms, control first."""
        arms = [str(v) for v in self.rows("overall")["variant"]]
        return (self.control, *[a for a in arms if a != self.control])

    @property
    def treatments(self) -> tuple[str, ...]:
        return self.variants[1:]

    @cached_property
    def days(self) -> tuple[Any, ...]:
        """Days of the daily level in order (dates, or labels in file order)."""
        return tuple(dict.fromkeys(self.rows("day")["day"]))

    def rows(self, level: str = "overall") -> pd.DataFrame:
        """The rows of one level."""
        if level not in ("overall", "day", "segment"):
            raise ValueError(f"level must be one of 'overall', 'day', 'segment', got {level!r}.")
        return self.frame[self.frame["level"] == level]

    def _key(self, variant: Any, day: Any, segment: str | None, value: Any) -> tuple[Any, ...]:
        """Where a row sits in :attr:`_lookup`: level, arm, and the day or segment value."""
        if day is not None:
            return ("day", str(variant), str(day) if self.mapping.day_label else pd.Timestamp(day))
        if segment is not None:
            return ("segment", str(variant), segment, str(value))
        return ("overall", str(variant))

    @cached_property
    def _lookup(self) -> dict[tuple[Any, ...], dict[str, Any]]:
        """Every row by its key, built once: the effects, daily and segment breakdowns look
        rows up hundreds of times (a boolean mask over the frame per lookup cost 0.15 s).

        The rows of units without a date or a segment value are left out: no day or value
        names them, so a lookup never finds them (the overall level counts them).
        """
        out: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in self.frame.to_dict("records"):
            level, day, segment, value = (
                row[k] for k in ("level", "day", "segment", "segment_value")
            )
            if (level == "day" and pd.isna(day)) or (level == "segment" and pd.isna(value)):
                continue
            key = self._key(
                row["variant"],
                day if level == "day" else None,
                segment if level == "segment" else None,
                value,
            )
            out.setdefault(key, row)
        return out

    def _row(
        self, variant: str, day: Any = None, segment: str | None = None, value: Any = None
    ) -> dict[str, Any]:
        found = self._lookup.get(self._key(variant, day, segment, value))
        if found is None:
            where = f" on day {day}" if day is not None else ""
            where += f" in {segment}={value}" if segment is not None else ""
            raise ValueError(
                f"variant must be one of {list(self.variants)}{where}, got {variant!r}."
            )
        return found

    def counts(
        self, *, day: Any = None, segment: str | None = None, value: Any = None
    ) -> dict[str, int]:
        """Units per arm (``n``), control first: the input of the sample-ratio check."""
        out = {}
        for v in self.variants:
            try:
                out[v] = int(self._row(v, day, segment, value)["n"])
            except ValueError:
                out[v] = 0
        return out

    def sample_mean(
        self,
        metric: str,
        variant: str,
        *,
        day: Any = None,
        segment: str | None = None,
        value: Any = None,
    ) -> SampleMean:
        """Count, sum and sum of squares of a binary, continuous or proportion-of-counts metric.

        A proportion of counts is a binary outcome per trial: ``n`` = trials (the
        denominator's total), ``sum`` = ``sum_sq`` = successes.
        """
        m = self.mapping.metric(metric)
        r = self._row(variant, day, segment, value)
        if m.metric_kind.statistic == "trials":
            successes = float(r[stat_column(metric, "sum_y")])
            return SampleMean(round(float(r[stat_column(metric, "sum_x")])), successes, successes)
        if m.metric_kind.statistic == "pair":
            raise ValueError(f"metric {metric!r} is a {m.kind}: use pair() for its statistics.")
        n = int(r[stat_column(metric, "n")])
        if n == 0:  # no value in this cell (a day whose counts are empty): nothing to add up
            return SampleMean(0, 0.0, 0.0, self.shifts.get(metric, (0.0, 0.0))[0])
        return SampleMean(
            n,
            float(r[stat_column(metric, "sum")]),
            float(r[stat_column(metric, "sum_sq")]),
            self.shifts.get(metric, (0.0, 0.0))[0],
        )

    def pair(
        self,
        metric: str,
        variant: str,
        *,
        day: Any = None,
        segment: str | None = None,
        value: Any = None,
    ) -> PairStatistic:
        """Numerator/denominator (ratio, counts) or metric/covariate (CUPED) statistics."""
        m = self.mapping.metric(metric)
        if not m.is_pair:
            raise ValueError(
                f"metric {metric!r} has no covariate or denominator: use sample_mean()."
            )
        r = self._row(variant, day, segment, value)
        n, *sums = (
            r[stat_column(metric, f)]
            for f in ("pair_n", "sum_y", "sum_y_sq", "sum_x", "sum_x_sq", "sum_xy")
        )
        return PairStatistic(
            int(n), *(float(s) for s in sums), *self.shifts.get(metric, (0.0, 0.0))[:2]
        )

    def moments(
        self,
        metric: str,
        variant: str,
        *,
        day: Any = None,
        segment: str | None = None,
        value: Any = None,
    ) -> MomentStatistic:
        """Moments of a metric with ``covariates`` (see :func:`moment_fields`): of
        ``(y, x_1, ..., x_p)``, or of a ratio's ``(numerator, denominator, covariate
        numerator, covariate denominator)`` (a column of ones when it has one covariate).
        Each is read around its shift (``shifts[metric]``: the value's, the denominator's,
        then each covariate's)."""
        m = self.mapping.metric(metric)
        k = m.moments
        if not k:
            raise ValueError(f"metric {metric!r} has no covariates: use stat().")
        r = self._row(variant, day, segment, value)
        n = float(r[stat_column(metric, MOMENT_N)])
        sums = np.array([float(r[stat_column(metric, f"mom_s{i}")]) for i in range(k)])
        cross = np.empty((k, k))
        for i in range(k):
            for j in range(i, k):
                cross[i, j] = cross[j, i] = float(r[stat_column(metric, f"mom_c{i}_{j}")])
        own = 2 if m.metric_kind.pair else 1
        given = tuple(self.shifts.get(metric, ())) + (0.0,) * (2 + k)
        shifts = np.array([*given[:own], *given[2 : 2 + k - own]], dtype=float)
        out = MomentStatistic(n, sums, cross, shifts)
        if m.metric_kind.pair and k == 3:  # the covariate's denominator: 1 on every unit
            ones = np.append(sums, n)
            cross4 = np.zeros((4, 4))
            cross4[:3, :3] = cross
            cross4[3, :3] = cross4[:3, 3] = sums
            cross4[3, 3] = n
            out = MomentStatistic(n, ones, cross4, np.append(shifts, 0.0))
        return out

    def quantile(
        self, metric: str, variant: str, *, segment: str | None = None, value: Any = None
    ) -> QuantileSummary:
        """The bounded summary of a quantile metric in one arm (overall or in a segment; a
        quantile has no daily cells: its summaries do not add up). ValueError where the cell
        has no summary (a day; a segment of a warehouse query's output, which carries the
        arms' only)."""
        m = self.mapping.metric(metric)
        if m.quantile is None:
            raise ValueError(f"metric {metric!r} is a {m.kind}: use stat() for its statistics.")
        r = self._row(variant, None, segment, value)
        n, n_star, q_value, lower, upper = (r.get(stat_column(metric, f)) for f in m.summary_fields)
        if n is None or pd.isna(n):
            raise ValueError(f"metric {metric!r} has no quantile summary in this cell.")
        if int(n) == 0:
            return QuantileSummary(m.quantile, 0, 0, math.nan, math.nan, math.nan)
        return QuantileSummary(
            m.quantile, int(n), int(n_star), float(q_value), float(lower), float(upper)
        )

    def stat(
        self,
        metric: str,
        variant: str,
        *,
        day: Any = None,
        segment: str | None = None,
        value: Any = None,
    ) -> SampleMean | PairStatistic:
        """The natural statistic of a metric: a PairStatistic for ratios, else a SampleMean."""
        if self.mapping.metric(metric).metric_kind.statistic == "pair":
            return self.pair(metric, variant, day=day, segment=segment, value=value)
        return self.sample_mean(metric, variant, day=day, segment=segment, value=value)

    def arms(
        self, metric: str, *, day: Any = None, segment: str | None = None, value: Any = None
    ) -> dict[str, SampleMean | PairStatistic]:
        """:meth:`stat` of every arm, control first."""
        return {
            v: self.stat(metric, v, day=day, segment=segment, value=value) for v in self.variants
        }

    def to_dict(self) -> dict[str, Any]:
        """A compact JSON-ready dict: the mapping (without notes), caps, columns and rows."""
        mapping = self.mapping.to_dict()
        mapping.pop("notes", None)
        rows = [[_json_value(v) for v in row] for row in self.frame.itertuples(index=False)]
        out = {
            "mapping": mapping,
            "caps": self.caps,
            "columns": list(self.frame.columns),
            "rows": rows,
        }
        if self.shifts:
            out["shifts"] = {m: list(s) for m, s in self.shifts.items()}
        if self.floors:
            out["floors"] = self.floors
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Aggregates:
        """Inverse of :meth:`to_dict`."""
        mapping = Mapping.from_dict(data["mapping"])
        frame = pd.DataFrame(data["rows"], columns=data["columns"])
        for col in frame.columns[5:]:
            frame[col] = pd.to_numeric(frame[col]).astype("float64")
        shifts = {m: tuple(float(v) for v in s) for m, s in data.get("shifts", {}).items()}
        caps, floors = dict(data.get("caps", {})), dict(data.get("floors", {}))
        return cls(canonical_stats(frame, mapping), mapping, caps, shifts, floors)


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value
