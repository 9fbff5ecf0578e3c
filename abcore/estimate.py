"""Plan from your own data: a metric's baseline and spread, CUPED's correlation and how
unique units accumulate, estimated from a pre-period file or a past experiment.

A plan typed from memory is often off by a factor in the variance, and a duration from a
constant daily rate is too short whenever users come back: a user seen on Monday and again
on Tuesday is one unit, not two, so unique units grow more slowly than daily traffic
suggests (GrowthBook issue #3138 asks for exactly this curve). The file is loaded and its
roles detected by :mod:`abcore.ingest` (``load``, ``detect_schema``); :func:`estimate` reads
it in DuckDB, so only a handful of moments and a bounded curve come back.

>>> import pandas as pd
>>> from abcore import ingest
>>> con = ingest.connect()
>>> frame = pd.DataFrame({"user": [1, 1, 2, 3], "day": pd.to_datetime(
...     ["2026-01-01", "2026-01-02", "2026-01-02", "2026-01-04"]), "converted": [0, 1, 0, 0]})
>>> ds = ingest.load(con, frame)
>>> mapping = Mapping(unit="user", timestamp="day", metrics=[MetricMapping("converted", "binary")])
>>> est = estimate(con, ds, mapping)
>>> round(est.metric("converted").baseline, 4), est.curve.units
(0.3333, (1, 2, 2, 3))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from abcore import config, planning
from abcore.detect_sql import date_misfits_sql
from abcore.errors import InputError
from abcore.estimate_sql import (
    aggregate_curve_sql,
    aggregate_sums_sql,
    metric_variables,
    unit_curve_sql,
    unit_moments_sql,
)
from abcore.ingest import Dataset
from abcore.ingest._run import _run_data, _with_table
from abcore.model import Mapping, MetricMapping
from abcore.plan import ExperimentPlan

__all__ = [
    "ADOPTABLE",
    "MetricEstimate",
    "PlanEstimates",
    "UnitCurve",
    "estimate",
    "plan_with_estimates",
]

ADOPTABLE = ("baseline", "sd", "correlation", "daily_units")
"""The plan's values an estimate can replace (:func:`plan_with_estimates`)."""


@dataclass(frozen=True)
class MetricEstimate:
    """What the file says about one metric, in the plan's terms.

    ``type`` is the plan's (:data:`abcore.plan.METRIC_TYPES`): a count of successes out of
    trials is planned as a conversion of the trials. ``baseline`` is the rate or mean (a
    ratio's is sum over sum); ``sd`` the spread of one unit's value (for a ratio, the square
    root of ``variance``, its delta-method variance per unit, so ``sd**2 / n`` is the
    variance of the ratio); ``n`` the units (trials) it was read over. ``correlation`` is
    CUPED's: between the metric and its covariate (the multiple correlation with several),
    so a plan expects ``correlation**2`` of the variance removed. ``note`` says why a
    value is missing.
    """

    name: str
    type: str
    baseline: float | None
    sd: float | None
    n: int
    numerator: str | None = None
    denominator: str | None = None
    variance: float | None = None
    covariates: tuple[str, ...] = ()
    correlation: float | None = None
    note: str | None = None

    @property
    def variance_reduction(self) -> float | None:
        return None if self.correlation is None else self.correlation**2


@dataclass(frozen=True)
class UnitCurve:
    """Unique units seen by each day since the file's first (day 1), at most
    ``config.ESTIMATE_CURVE_POINTS`` days, each with its exact count.

    ``days_in_file`` is the span of the file's days; ``growth_per_day`` the new units a day
    over its last ``config.ESTIMATE_GROWTH_DAYS`` days, carried forward past the file.
    ``unique`` is False when the file holds totals (no unit ids): a unit that comes back
    counts again. ``column`` names what was counted.
    """

    days: tuple[int, ...]
    units: tuple[int, ...]
    days_in_file: int
    growth_per_day: float
    unique: bool
    column: str
    first_day: str
    last_day: str

    @property
    def total(self) -> int:
        return self.units[-1]

    @property
    def mean_daily(self) -> float:
        """Units a day over the whole file (what a constant rate would assume)."""
        return self.total / self.days_in_file

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"day": self.days, "units": self.units})

    def duration(
        self, plan: ExperimentPlan, sizing: planning.PlanSizing | None = None
    ) -> planning.CurveDuration:
        """Days the plan needs on this traffic (:func:`abcore.planning.duration_from_curve`)."""
        return planning.duration_from_curve(
            plan,
            self.days,
            self.units,
            growth_per_day=self.growth_per_day,
            days_in_file=self.days_in_file,
            sizing=sizing,
        )


@dataclass(frozen=True)
class PlanEstimates:
    """Estimates for a plan from one file: per metric, and the accumulation curve.

    ``arm`` is the arm the metrics were read in (None: every row); the curve always counts
    every arm, since all of them were eligible traffic. ``notes`` are sentences for the
    person (what was assumed, what is missing and what to type instead).
    """

    source: str
    arm: str | None
    metrics: tuple[MetricEstimate, ...]
    curve: UnitCurve | None
    notes: tuple[str, ...] = ()

    def metric(self, name: str) -> MetricEstimate:
        for m in self.metrics:
            if m.name == name:
                return m
        known = ", ".join(repr(m.name) for m in self.metrics) or "none"
        raise ValueError(f"metric must be one of {known}, got {name!r}.")

    def to_dicts(self) -> list[dict[str, Any]]:
        """One row per metric, as the page's table and an export show them."""
        return [
            {
                "metric": m.name,
                "type": m.type,
                "baseline": m.baseline,
                "sd": m.sd,
                "n": m.n,
                "correlation": m.correlation,
                "note": m.note,
            }
            for m in self.metrics
        ]


def estimate(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    mapping: Mapping,
    *,
    arm: str | None = None,
    count_column: str | None = None,
) -> PlanEstimates:
    """Estimate each metric's baseline and spread, its CUPED correlation, and the curve of
    unique units by day, from a loaded file.

    Args:
        con: the session's connection.
        dataset: the file (:func:`abcore.ingest.load`).
        mapping: its roles (:func:`abcore.ingest.detect_schema`, possibly edited); a
            variant is optional (a pre-period file has none).
        arm: read the metrics in this arm only (a past experiment's control: the
            treatment moved them); None reads every row.
        count_column: for rows of totals, the column whose daily sums are the units of
            the curve (default ``mapping.n_column``).

    Raises:
        InputError: a column the mapping names is missing, ``arm`` without a variant or not
            one of its values, no metric, or no unit in the arm.
    """
    _check(dataset, mapping, arm, count_column)
    return _with_table(con, dataset, lambda: _estimate(con, dataset, mapping, arm, count_column))


def _check(dataset: Dataset, mapping: Mapping, arm: str | None, count_column: str | None) -> None:
    if not isinstance(mapping, Mapping):
        raise ValueError(f"mapping must be a Mapping, got {type(mapping).__name__}.")
    if not mapping.metrics:
        raise InputError("No metric is chosen: pick the column(s) holding the metric to plan for.")
    if arm is not None and not mapping.variant:
        raise InputError(
            "arm needs the variant column (the one naming each row's arm): choose it, or read "
            "every row."
        )
    names = set(dataset.types)
    used = list(mapping.columns_used())
    used += [count_column] if count_column else []
    missing = [c for c in used if c not in names]
    if missing:
        shown = ", ".join(f"'{c}'" for c in missing)
        raise InputError(
            f"Column {shown} is not in this file. The columns are "
            f"{', '.join(repr(n) for n in dataset.names[:20])}."
        )


def _estimate(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    mapping: Mapping,
    arm: str | None,
    count_column: str | None,
) -> PlanEstimates:
    notes: list[str] = []
    if mapping.is_aggregated:
        metrics = _aggregate_metrics(con, dataset, mapping, arm)
    else:
        metrics = _unit_metrics(con, dataset, mapping, arm)
        if not mapping.unit:
            notes.append(
                "No unit id column is chosen: each row is taken as one unit. Choose the unit "
                "id if a unit can have several rows."
            )
    if arm is not None and all(m.n == 0 for m in metrics):
        raise InputError(
            f"No row of arm '{arm}' in '{mapping.variant}' holds the metrics: pick another arm "
            "or read every row."
        )
    curve = _curve(con, dataset, mapping, count_column, notes)
    return PlanEstimates(dataset.source, arm, tuple(metrics), curve, tuple(notes))


FEW_UNITS = "fewer than two units hold it: no spread can be estimated"
RATIO_OF_TOTALS = "a ratio's spread needs one row per unit: totals hold only its sums"

# ---- metrics --------------------------------------------------------------------------------


def _unit_metrics(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, mapping: Mapping, arm: str | None
) -> list[MetricEstimate]:
    """Baseline and spread over every unit holding the metric; CUPED's correlation over the
    units that also hold its covariates (a second scan, only when some metric has them):
    users new since the pre-period have no covariate, and reading the baseline over the
    others alone would plan for the returning users only."""
    plain = tuple(dataclasses.replace(m, covariate=None, covariates=()) for m in mapping.metrics)
    out = [
        _from_moments(m, *moments)
        for m, moments in zip(plain, _moments(con, dataset, mapping, plain, arm), strict=True)
    ]
    if not any(m.adjusters for m in mapping.metrics):
        return out
    full = _moments(con, dataset, mapping, mapping.metrics, arm)
    for i, (m, moments) in enumerate(zip(mapping.metrics, full, strict=True)):
        if m.adjusters:
            adjusted = _from_moments(m, *moments)
            out[i] = dataclasses.replace(
                out[i], covariates=m.adjusters, correlation=adjusted.correlation
            )
    return out


def _moments(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    mapping: Mapping,
    metrics: tuple[MetricMapping, ...],
    arm: str | None,
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Per metric: units complete in its variables, their means and covariance matrix."""
    query = dataclasses.replace(mapping, metrics=metrics)
    sql, params = unit_moments_sql(dataset.table, query, mapping.variant, arm)
    cursor = _run_data(con, dataset, sql, params)
    names = [d[0] for d in cursor.description]
    row = dict(zip(names, cursor.fetchall()[0], strict=True))
    out = []
    for i, m in enumerate(metrics):
        k = len(metric_variables(m))
        means = np.array([_num(row[f"m{i}_mean{j}"]) for j in range(k)])
        cov = np.full((k, k), np.nan)
        for a in range(k):
            for b in range(a, k):
                cov[a, b] = cov[b, a] = _num(row[f"m{i}_cov{a}_{b}"])
        out.append((int(row[f"m{i}_n"] or 0), means, cov))
    return out


def _missing(m: MetricMapping, type_: str, n: int, note: str) -> MetricEstimate:
    """An estimate whose values could not be read, with the reason."""
    return MetricEstimate(m.name, type_, None, None, n, m.numerator, m.denominator, note=note)


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _from_moments(m: MetricMapping, n: int, means: np.ndarray, cov: np.ndarray) -> MetricEstimate:
    """A metric's estimate from the means and covariances of its variables per unit."""
    kind = m.metric_kind
    if n < 2:
        return _missing(m, _plan_type(m), n, FEW_UNITS)
    if kind.statistic == "trials":
        p = means[0] / means[1] if means[1] > 0 else math.nan
        trials = round(n * means[1])
        return _trials(m, p, trials)
    if kind.pair:
        mu_x = means[1]
        if not mu_x:
            note = f"'{m.denominator}' adds up to zero: the ratio is undefined"
            return _missing(m, "ratio", n, note)
        ratio = means[0] / mu_x
        weights = np.zeros(len(means))
        weights[0], weights[1] = 1 / mu_x, -ratio / mu_x
        variance = float(weights @ cov @ weights)
        baseline, sd = float(ratio), math.sqrt(max(variance, 0.0))
        covariate = _ratio_covariates(m, means)
    else:
        weights = np.zeros(len(means))
        weights[0] = 1.0
        baseline, variance = float(means[0]), float(cov[0, 0])
        sd = math.sqrt(max(variance, 0.0))
        covariate = [np.eye(len(means))[j] for j in range(1, len(means))]
    correlation = _correlation(weights, covariate, cov) if covariate else None
    note = None
    if sd == 0:
        note = "every unit has the same value: no spread to plan with"
    return MetricEstimate(
        m.name,
        _plan_type(m),
        baseline,
        sd,
        n,
        m.numerator,
        m.denominator,
        variance if kind.pair else None,
        m.adjusters,
        correlation,
        note,
    )


def _ratio_covariates(m: MetricMapping, means: np.ndarray) -> list[np.ndarray]:
    """The covariate of a ratio, as weights on its variables: the pre-period numerator
    alone, or the pre-period ratio linearised as the ratio itself is (delta method)."""
    k = len(means)
    if k == 3:
        return [np.eye(k)[2]]
    if k == 4 and means[3]:
        w = np.zeros(k)
        w[2], w[3] = 1 / means[3], -(means[2] / means[3]) / means[3]
        return [w]
    return []


def _correlation(
    outcome: np.ndarray, covariates: list[np.ndarray], cov: np.ndarray
) -> float | None:
    """Correlation of the outcome with its covariate (signed), or with the best linear
    combination of several (the multiple correlation, which CUPED's regression removes)."""
    b = np.column_stack(covariates)
    var_y = float(outcome @ cov @ outcome)
    s = b.T @ cov @ outcome
    m = b.T @ cov @ b
    if not np.all(np.isfinite(m)) or var_y <= 0 or np.any(np.diag(m) <= 0):
        return None
    if len(covariates) == 1:
        return float(np.clip(s[0] / math.sqrt(var_y * m[0, 0]), -1.0, 1.0))
    r2 = float(s @ np.linalg.pinv(m) @ s) / var_y
    return math.sqrt(min(max(r2, 0.0), 1.0))


def _plan_type(m: MetricMapping) -> str:
    kind = m.metric_kind
    if kind.statistic == "trials" or kind.zero_one:
        return "binary"
    return "ratio" if kind.pair else "continuous"


def _trials(m: MetricMapping, p: float, trials: int) -> MetricEstimate:
    """Successes out of trials: each trial is a unit that converts or not."""
    if not math.isfinite(p) or trials < 2:
        return _missing(m, "binary", trials, f"'{m.denominator}' adds up to fewer than 2 trials")
    if not 0 <= p <= 1:
        note = f"'{m.numerator}' exceeds '{m.denominator}': not successes out of trials"
        return _missing(m, "binary", trials, note)
    sd = math.sqrt(p * (1 - p))
    return MetricEstimate(m.name, "binary", float(p), sd, trials, m.numerator, m.denominator)


def _aggregate_metrics(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, mapping: Mapping, arm: str | None
) -> list[MetricEstimate]:
    """Rows of totals: rates and pooled spreads; a ratio of sums per unit cannot be read
    from totals (its variance needs each unit's pair), so it gets a sentence instead."""
    readable = [m for m in mapping.metrics if m.metric_kind.statistic != "pair"]
    sub = Mapping(
        shape=mapping.shape, variant=mapping.variant, n_column=mapping.n_column, metrics=readable
    )
    row: dict[str, Any] = {}
    if readable:
        try:
            sql, params = aggregate_sums_sql(dataset.table, sub, mapping.variant, arm)
        except ValueError as exc:
            raise InputError(f"The column mapping is incomplete: {exc}") from exc
        cursor = _run_data(con, dataset, sql, params)
        names = [d[0] for d in cursor.description]
        row = dict(zip(names, cursor.fetchall()[0], strict=True))
    out = []
    for m in mapping.metrics:
        if m.metric_kind.statistic == "pair":
            out.append(_missing(m, "ratio", 0, RATIO_OF_TOTALS))
            continue
        i = readable.index(m)
        if m.metric_kind.pair:
            y, x = _num(row[f"m{i}_y"]), _num(row[f"m{i}_x"])
            p = y / x if x > 0 else math.nan
            out.append(_trials(m, p, 0 if math.isnan(x) else round(x)))
            continue
        n, s, ss = _num(row[f"m{i}_n"]), _num(row[f"m{i}_s"]), _num(row[f"m{i}_ss"])
        if not n >= 2:
            out.append(_missing(m, _plan_type(m), 0 if math.isnan(n) else int(n), FEW_UNITS))
            continue
        mean = s / n
        if m.metric_kind.zero_one:
            out.append(_trials(m, mean, round(n)))
            continue
        variance = max((ss - s * mean) / (n - 1), 0.0)
        out.append(MetricEstimate(m.name, "continuous", mean, math.sqrt(variance), round(n)))
    return out


# ---- the curve ------------------------------------------------------------------------------


NO_DATES = (
    "The file has no date or timestamp column, so it cannot show how users accumulate day by "
    "day: the duration needs dates in the file, or a typed daily traffic."
)


def _curve(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    mapping: Mapping,
    count_column: str | None,
    notes: list[str],
) -> UnitCurve | None:
    if not mapping.timestamp:
        notes.append(NO_DATES)
        return None
    label = mapping.day_label or _is_label(con, dataset, mapping.timestamp)
    limit = config.ESTIMATE_MAX_DAYS + 1
    if mapping.is_aggregated:
        column = count_column or mapping.n_column
        if column is None:
            notes.append(
                "Rows of totals need the column that counts units (n, users, clicks) to show "
                "how they accumulate: choose it, or type the daily traffic."
            )
            return None
        sql, params = aggregate_curve_sql(
            dataset.table, mapping.timestamp, column, label=label, limit=limit
        )
        unique = False
        notes.append(
            f"The file holds daily totals, not unit ids: the curve adds up '{column}' day by "
            "day, so a unit that comes back on several days counts on each (the real number "
            "of unique units grows more slowly)."
        )
    else:
        sql, params = unit_curve_sql(dataset.table, mapping, label=label, limit=limit)
        column, unique = mapping.unit or "rows", bool(mapping.unit)
    frame = _run_data(con, dataset, sql, params).df()
    if len(frame) > config.ESTIMATE_MAX_DAYS:
        frame = frame.iloc[: config.ESTIMATE_MAX_DAYS]
        notes.append(
            f"The file spans more than {config.ESTIMATE_MAX_DAYS:,} days: the curve reads the "
            "first ones, as long as the longest test a plan may run."
        )
    if frame.empty or frame["n"].fillna(0).sum() <= 0:
        notes.append(
            f"No row has both a day in '{mapping.timestamp}' and a unit: the duration needs "
            "a typed daily traffic."
        )
        return None
    return _bounded_curve(frame, label=label, unique=unique, column=str(column))


def _is_label(con: duckdb.DuckDBPyConnection, dataset: Dataset, column: str) -> bool:
    """Whether a text date column holds labels (no year) rather than dates."""
    if not dataset.types[column].upper().startswith("VARCHAR"):
        return False
    (bad,) = _run_data(con, dataset, date_misfits_sql(dataset.table, column)).fetchall()[0]
    return bool(bad)


def _bounded_curve(frame: pd.DataFrame, *, label: bool, unique: bool, column: str) -> UnitCurve:
    """Running totals by day since the first (calendar days for dates, so a day without
    new units keeps the total; the file's order for labels), kept at every day up to
    ``config.ESTIMATE_CURVE_POINTS`` days and at that many evenly spread days past it."""
    counts = frame["n"].fillna(0).to_numpy(dtype=float)
    if label:
        day_numbers = np.arange(1, len(frame) + 1)
    else:
        dates = pd.to_datetime(frame["day"]).to_numpy()
        day_numbers = ((dates - dates[0]) // np.timedelta64(1, "D")).astype(np.int64) + 1
    running = np.cumsum(counts)
    span = int(day_numbers[-1])
    grid = _grid(span)
    at = np.searchsorted(day_numbers, grid, side="right") - 1
    units = running[at]
    window = min(config.ESTIMATE_GROWTH_DAYS, span - 1)
    if window > 0:
        before = running[np.searchsorted(day_numbers, span - window, side="right") - 1]
        growth = float(running[-1] - before) / window
    else:
        growth = float(running[-1])
    return UnitCurve(
        days=tuple(int(d) for d in grid),
        units=tuple(round(u) for u in units),
        days_in_file=span,
        growth_per_day=growth,
        unique=unique,
        column=column,
        first_day=str(frame["day"].iloc[0])[:10] if not label else str(frame["day"].iloc[0]),
        last_day=str(frame["day"].iloc[-1])[:10] if not label else str(frame["day"].iloc[-1]),
    )


def _grid(last: int, points: int = config.ESTIMATE_CURVE_POINTS) -> np.ndarray:
    """Every day from 1 to ``last``, or ``points`` of them spread evenly (last included).

    >>> _grid(3).tolist(), len(_grid(1000)), int(_grid(1000)[-1])
    ([1, 2, 3], 200, 1000)
    """
    if last <= points:
        return np.arange(1, last + 1)
    return np.unique(np.round(np.linspace(1, last, points)).astype(np.int64))


# ---- into the plan ------------------------------------------------------------------------------


def plan_with_estimates(
    plan: ExperimentPlan,
    metric: MetricEstimate,
    curve: UnitCurve | None = None,
    fields: Iterable[str] = ADOPTABLE,
) -> ExperimentPlan:
    """The plan with the estimates of ``fields`` (:data:`ADOPTABLE`) in place of its own.

    ``baseline`` makes the file's metric the success metric (its name, kind and baseline; a
    ratio is planned as a mean per unit with its delta-method sd, which sizes it the same);
    ``sd`` its spread; ``correlation`` CUPED's expected variance reduction, rho squared (rho
    to two decimals and at most ``config.CUPED_MAX_RHO``, as the Plan page's slider holds
    it); ``daily_units`` the constant daily traffic on which the plan, with the other values
    as they now are, takes as long as it does on the curve. A value the file could not give
    (None) leaves the plan's.

    >>> from abcore.plan import ExperimentPlan
    >>> est = MetricEstimate("converted", "binary", 0.12, 0.325, 290_000, correlation=0.5)
    >>> new = plan_with_estimates(ExperimentPlan(), est, fields=["baseline", "correlation"])
    >>> new.success.baseline, new.variance_reduction
    (0.12, 0.25)
    """
    fields = tuple(fields)
    unknown = [f for f in fields if f not in ADOPTABLE]
    if unknown:
        raise ValueError(f"fields must be among {', '.join(ADOPTABLE)}, got {unknown[0]!r}.")
    success = plan.success
    if success is None:
        raise ValueError("The plan has no success metric: choose one on the Metrics page.")
    spec = success
    if "baseline" in fields and metric.baseline is not None:
        kind = "binary" if metric.type == "binary" else "continuous"
        if kind == "binary":
            sd = None
        else:  # a mean keeps the plan's spread unless it had none (it was a rate)
            sd = spec.sd if spec.type != "binary" and spec.sd else metric.sd
        spec = dataclasses.replace(
            spec, name=metric.name, type=kind, baseline=metric.baseline, sd=sd
        )
    if "sd" in fields and metric.sd and spec.type != "binary":
        spec = dataclasses.replace(spec, sd=metric.sd)
    metrics = tuple(spec if m is success else m for m in plan.metrics)
    out = dataclasses.replace(plan, metrics=metrics)
    if "correlation" in fields and metric.correlation is not None:
        rho = min(round(abs(metric.correlation), 2), config.CUPED_MAX_RHO)
        out = dataclasses.replace(out, variance_reduction=round(rho**2, 6))
    if "daily_units" in fields and curve is not None:
        rate = math.ceil(curve.duration(out).daily_units - 1e-9)
        out = dataclasses.replace(out, daily_units=min(rate, config.PLAN_MAX_DAILY_UNITS))
    return out
