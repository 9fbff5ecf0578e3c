"""The readout where the data lives: one sufficient-statistics query for any SQL engine.

A team whose assignments and events sit in a warehouse or a Spark lake should not download
two billion rows to read an experiment. As GrowthBook, Eppo and tea-tasting do, the
aggregation runs in the engine and only per-cell statistics come back: one row per arm x day
x segment values, a few hundred rows whatever the table's size.

The query is built as a SQL expression tree with `sqlglot <https://sqlglot.com>`_ and
rendered for each engine (:data:`DIALECTS`), never by string replacement: identifiers are
quoted by the dialect's own rules, types and functions spelled as the engine spells them
(``DOUBLE`` is ``FLOAT64`` in BigQuery, ``VAR_SAMP`` is ``VARIANCE`` in Spark). sqlglot is
the library tea-tasting renders its queries with and Ibis compiles through; it is pure
Python with no dependency, where Ibis would bring a dataframe layer (and a backend package
per engine) to emit the same text. The query holds no value of the user's: the table and
column names are identifiers, and the only literals are the engine's own constants (0, 1),
the mapping's JSON, a string literal escaped by the dialect's rules, a capped metric's
bounds, finite floats checked by :class:`abcore.capping.Capping` and rendered as numbers, and
a quantile metric's level and interval constant, numbers (:mod:`abcore.warehouse_quantile`).

**Capping.** A metric's :class:`~abcore.capping.Capping` is applied as in the file path:
a one-row CTE holds the bounds (an exact percentile of every arm's units at once, linear
interpolation as DuckDB's ``quantile_cont``: ``PERCENTILE_CONT`` or Spark's
``PERCENTILE``), the units' values are clipped before the cells, and the cells carry the
bounds (``<metric>__cap``, ``<metric>__floor``) into ``Aggregates.caps`` / ``floors``.
Trino has approximate percentiles only, so a percentile capping there is refused with a
sentence (fixed amounts work everywhere).

**Precision.** Per cell the query asks for means and the engines' native sample variances
and covariances (``VAR_SAMP`` / ``COVAR_SAMP``, computed by stable one-pass updates in
DuckDB, Spark, PostgreSQL, BigQuery, Snowflake and Trino), not sums of squares: the textbook
``sum_sq - sum**2 / n`` loses every digit of the variance once the mean dwarfs the spread
(a timestamp in milliseconds: mean 1.7e12, sd 100). :func:`read_output` turns the cells
into sums of ``value - shift`` around each metric's overall mean (:mod:`abcore.suffstats`),
which add up across cells without that loss.

**The bridge.** The query's output is also an upload: run :func:`stats_query`'s text in the
warehouse console, save the result as CSV or Parquet, and :func:`analyze_output` (or the
Results page) gives the same readout as the rows would. The output names its own mapping in
its ``abcore_mapping`` column.

>>> from abcore.model import Mapping, MetricMapping
>>> m = Mapping(variant="arm", unit="user id", metrics=(MetricMapping("revenue", "continuous"),))
>>> print(stats_query(m, ("shop", "events"), dialect="bigquery").splitlines()[0])
WITH `__ab_rows` AS (
>>> "VAR_SAMP(" in stats_query(m, "t", dialect="postgres")
True
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sqlglot import exp

from abcore import config
from abcore.analysis import analyze_aggregates, instrumentation_checks
from abcore.capping import Capping
from abcore.compare import resolve_options
from abcore.errors import InputError
from abcore.ingest.compute import check_arms, check_metrics
from abcore.model import (
    MOMENT_N,
    Aggregates,
    Instrumentation,
    Mapping,
    MetricMapping,
    canonical_stats,
    stat_column,
)
from abcore.sql import rollup_stats_sql
from abcore.warehouse_quantile import (
    quantile_columns,
    quantile_ctes,
    quantile_joins,
    read_summaries,
)

__all__ = [
    "DIALECTS",
    "DIALECT_NAMES",
    "MAPPING_COLUMN",
    "analyze_connection",
    "analyze_output",
    "analyze_spark",
    "read_output",
    "stats_query",
]

DIALECTS = ("duckdb", "spark", "bigquery", "snowflake", "trino", "postgres")
"""Engines the query is rendered for (sqlglot's dialect names)."""

DIALECT_NAMES = {
    "duckdb": "DuckDB",
    "spark": "Spark SQL / Databricks",
    "bigquery": "BigQuery",
    "snowflake": "Snowflake",
    "trino": "Trino / Presto / Athena",
    "postgres": "PostgreSQL / Redshift",
}

MAPPING_COLUMN = "abcore_mapping"
"""The output column holding the mapping's JSON: an output file names its own roles."""

_KEY_PREFIX = "segment__"
_NO_VARIANT = ("rows_missing_variant", "rows_missing_variant_unit")
_ARM_CHECKS = ("arm_rows", "arm_rows_missing_unit")
_UNIT_CHECKS = (
    "units",
    "units_in_multiple_arms",
    "units_with_several_rows",
    "duplicate_unit_rows",
    "duplicate_unit_day_rows",
)


# --- the query -----------------------------------------------------------------------------


def _id(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=_id(name), table=_id(table) if table else None)


def _num(value: int) -> exp.Literal:
    return exp.Literal.number(value)


def _double(e: exp.Expression) -> exp.Expression:
    return exp.cast(e, exp.DataType.build("double"))


def _text(e: exp.Expression) -> exp.Expression:
    return exp.cast(e, exp.DataType.build("varchar"))


def _alias(e: exp.Expression, name: str) -> exp.Alias:
    return exp.alias_(e, _id(name))


def _count_if(cond: exp.Expression) -> exp.Expression:
    """``SUM(CASE WHEN cond THEN 1 ELSE 0 END)``: every engine has it (COUNT_IF is not
    PostgreSQL, FILTER is not BigQuery), and it is 0, not NULL, on no rows of a group."""
    return exp.Coalesce(
        this=exp.Sum(this=exp.case().when(cond, _num(1)).else_(_num(0))), expressions=[_num(0)]
    )


def _when(cond: exp.Expression, value: exp.Expression) -> exp.Expression:
    return exp.case().when(cond, value)


def _table(table: str | Sequence[str]) -> exp.Table:
    """A table name, or its parts (catalog, schema, table) each quoted on its own."""
    parts = [table] if isinstance(table, str) else list(table)
    if not parts or len(parts) > 3 or not all(isinstance(p, str) and p for p in parts):
        raise ValueError(f"table must be a name or 1 to 3 name parts, got {table!r}.")
    this, db, catalog = [*reversed(parts), None, None][:3]
    return exp.Table(
        this=_id(this), db=_id(db) if db else None, catalog=_id(catalog) if catalog else None
    )


def _check_mapping(mapping: Mapping) -> None:
    if mapping.variant is None:
        raise ValueError("mapping.variant must name the variant column.")
    if mapping.is_aggregated:
        raise ValueError(
            "the warehouse query reads unit-level rows (one per unit, or per unit and day); "
            "an aggregated table can be uploaded as it is."
        )
    if not mapping.metrics:
        raise ValueError("mapping.metrics must hold at least one metric.")
    if mapping.aggregate_units and not mapping.unit:
        raise ValueError("mapping.aggregate_units needs mapping.unit.")


def _check_capping(mapping: Mapping, dialect: str | None) -> None:
    exact = [m.name for m in mapping.metrics if m.capping is not None and m.capping.percentile]
    if exact and dialect in _NO_EXACT_PERCENTILE:
        raise ValueError(
            f"{DIALECT_NAMES[dialect]} has approximate percentiles only, so the percentile "
            f"capping of {', '.join(repr(n) for n in exact)} would not be the file's: cap at "
            "fixed amounts (absolute bounds) there, or run the query in another engine."
        )


_NO_BOOLEAN_TO_FLOAT = ("postgres", "bigquery")
"""Engines with no cast from a boolean to a floating type (an integer cast they have)."""


def _yes_no(column: str, dialect: str | None) -> exp.Expression:
    """A yes/no metric as a number. Where a BOOLEAN column cannot be cast to DOUBLE, it goes
    through an integer first; that cast would round a stray fraction (0.5) instead of letting
    the out-of-range check count it, the price of reading booleans there."""
    if dialect in _NO_BOOLEAN_TO_FLOAT:
        return _double(exp.cast(_col(column), exp.DataType.build("int")))
    return _double(_col(column))


def _raw_rows(
    mapping: Mapping, table: str | Sequence[str], dialect: str | None = None
) -> exp.Select:
    """The columns the readout reads, renamed and typed: ``__ab_variant``, ``__ab_day``,
    ``__ab_seg<j>``, ``__ab_unit``, ``__ab_y<i>`` and (pairs) ``__ab_x<i>``."""
    cols = [_alias(_text(_col(str(mapping.variant))), "__ab_variant")]
    if mapping.timestamp:
        day_type = "varchar" if mapping.day_label else "date"
        day = exp.cast(_col(mapping.timestamp), exp.DataType.build(day_type))
        cols.append(_alias(day, "__ab_day"))
    for j, s in enumerate(mapping.segments):
        cols.append(_alias(_text(_col(s)), f"__ab_seg{j}"))
    if mapping.unit:
        cols.append(_alias(_col(mapping.unit), "__ab_unit"))
    for i, m in enumerate(mapping.metrics):
        y = str(m.numerator if m.metric_kind.pair else m.column)
        value = _yes_no(y, dialect) if m.metric_kind.zero_one else _double(_col(y))
        cols.append(_alias(value, f"__ab_y{i}"))
        x = m.denominator if m.metric_kind.pair else m.covariate
        if x is not None:
            cols.append(_alias(_double(_col(x)), f"__ab_x{i}"))
        for j, c in enumerate(m.covariates):
            cols.append(_alias(_double(_col(c)), f"__ab_c{i}_{j}"))
    return exp.select(*cols).from_(_table(table))


def _units_rolled(mapping: Mapping) -> exp.Select:
    """Unit-day rows added up per unit: the unit's first day, amounts summed, a conversion if
    any row converted, the covariate as the unit's value (as :func:`abcore.sql._unit_rollup`)."""
    cols: list[exp.Expression] = [_col("__ab_variant")]
    if mapping.timestamp:
        cols.append(_alias(exp.Min(this=_col("__ab_day")), "__ab_day"))
    cols += [
        _alias(exp.Min(this=_col(f"__ab_seg{j}")), f"__ab_seg{j}")
        for j in range(len(mapping.segments))
    ]
    for i, m in enumerate(mapping.metrics):
        agg = exp.Max if m.metric_kind.unit_rollup == "max" else exp.Sum
        cols.append(_alias(agg(this=_col(f"__ab_y{i}")), f"__ab_y{i}"))
        if m.is_pair:
            agg = exp.Sum if m.metric_kind.pair else exp.Max
            cols.append(_alias(agg(this=_col(f"__ab_x{i}")), f"__ab_x{i}"))
        for j in range(len(m.covariates)):
            cols.append(_alias(exp.Max(this=_col(f"__ab_c{i}_{j}")), f"__ab_c{i}_{j}"))
    return (
        exp.select(*cols)
        .from_("__ab_rows")
        .where(exp.and_(_col("__ab_variant").is_(exp.null()).not_(), _unit_present()))
        .group_by(_col("__ab_variant"), _col("__ab_unit"))
    )


def _unit_present() -> exp.Expression:
    return _col("__ab_unit").is_(exp.null()).not_()


def _cell_keys(mapping: Mapping) -> list[tuple[str, str]]:
    """(inner name, output name) of the cell keys."""
    keys = [("__ab_variant", "variant")]
    if mapping.timestamp:
        keys.append(("__ab_day", "day"))
    keys += [(f"__ab_seg{j}", f"{_KEY_PREFIX}{s}") for j, s in enumerate(mapping.segments)]
    return keys


def _shifted(m: MetricMapping) -> tuple[bool, bool]:
    """Whether the metric's value (y) and its covariate or denominator (x) are read around a
    shift: every amount is; a conversion (0/1) and a count of successes or trials are not,
    their sums are read as such."""
    kind = m.metric_kind
    return kind.shifted, m.is_pair and (m.covariate is not None or kind.shifted)


def _shifts(mapping: Mapping, source: str) -> exp.Select | None:
    """One row: each shifted column's mean over the rows (units), the shift its cells'
    statistics are taken around. Any constant near the values would do; the mean is one
    that a few outliers cannot push far from the bulk."""
    cols = []
    for i, m in enumerate(mapping.metrics):
        for side, on in zip("yx", _shifted(m), strict=True):
            if on:
                cols.append(_alias(exp.Avg(this=_col(f"__ab_{side}{i}")), f"__ab_k{side}{i}"))
        for j in range(len(m.covariates)):  # a covariate is an amount: always shifted
            cols.append(_alias(exp.Avg(this=_col(f"__ab_c{i}_{j}")), f"__ab_kc{i}_{j}"))
    if not cols:
        return None
    select = exp.select(*cols).from_(source)
    if source == "__ab_rows":
        select = select.where(_col("__ab_variant").is_(exp.null()).not_())
    return select


def _value(i: int, side: str, shifted: bool) -> exp.Expression:
    """A row's value, minus its shift when it has one."""
    value = _col(f"__ab_{side}{i}")
    return exp.Sub(this=value, expression=_col(f"__ab_k{side}{i}")) if shifted else value


def _metric_moments(mapping: Mapping) -> list[exp.Expression]:
    """Per metric and cell: counts, sums of conversions, and of the shifted values their
    means, native sample variances and covariances (complete pairs only for pairs), with
    the shifts themselves."""
    cols: list[exp.Expression] = []
    for i, m in enumerate(mapping.metrics):
        q = lambda stat, name=m.name: stat_column(name, stat)  # noqa: E731
        shift_y, shift_x = _shifted(m)
        y = _value(i, "y", shift_y)
        if not m.metric_kind.pair:
            cols.append(_alias(exp.Count(this=y.copy()), q("n")))
            if not shift_y:
                cols.append(_alias(exp.Sum(this=y.copy()), q("sum")))
                cols.append(_alias(exp.Sum(this=exp.Mul(this=y.copy(), expression=y)), q("sum_sq")))
            else:
                cols.append(_alias(exp.Min(this=_col(f"__ab_ky{i}")), q("shift")))
                cols.append(_alias(exp.Avg(this=y.copy()), q("mean")))
                cols.append(_alias(exp.Variance(this=y.copy()), q("var")))
        if m.is_pair:
            x = _value(i, "x", shift_x)
            both = exp.and_(
                _col(f"__ab_y{i}").is_(exp.null()).not_(), _col(f"__ab_x{i}").is_(exp.null()).not_()
            )
            py, px = _when(both, y.copy()), _when(both, x.copy())
            if m.metric_kind.pair and shift_y:
                cols.append(_alias(exp.Min(this=_col(f"__ab_ky{i}")), q("shift_y")))
            if shift_x:
                cols.append(_alias(exp.Min(this=_col(f"__ab_kx{i}")), q("shift_x")))
            cols += [
                _alias(exp.Count(this=py), q("pair_n")),
                _alias(exp.Avg(this=py.copy()), q("mean_y")),
                _alias(exp.Variance(this=py.copy()), q("var_y")),
                _alias(exp.Avg(this=px), q("mean_x")),
                _alias(exp.Variance(this=px.copy()), q("var_x")),
                _alias(exp.CovarSamp(this=y.copy(), expression=x.copy()), q("cov_xy")),
            ]
        cols += _regression_moments(i, m)
    return cols


def _regression_moments(i: int, m: MetricMapping) -> list[exp.Expression]:
    """A regression-adjusted metric's moments per cell, over the rows where every variable
    is present: ``mom_n``, the means ``mom_mean<j>`` (of the value around its shift) and the
    native sample covariances ``mom_cov<a>_<b>``; :func:`_cell_sums` turns them back into the
    sums of :func:`abcore.model.moment_fields`."""
    if not m.moments:
        return []
    q = lambda stat: stat_column(m.name, stat)  # noqa: E731
    shift_y, shift_x = _shifted(m)
    own = [_value(i, "y", shift_y)]
    if m.metric_kind.pair:
        own.append(_value(i, "x", shift_x))
    names = [f"__ab_y{i}", *([f"__ab_x{i}"] if m.metric_kind.pair else [])]
    names += [f"__ab_c{i}_{j}" for j in range(len(m.covariates))]
    values = own + [
        exp.Sub(this=_col(n), expression=_col(f"__ab_k{n[5:]}")) for n in names[len(own) :]
    ]
    complete = exp.and_(*(_col(n).is_(exp.null()).not_() for n in names))
    v = [_when(complete.copy(), e.copy()) for e in values]
    cols = [_alias(exp.Count(this=v[0].copy()), q(MOMENT_N))]
    cols += [
        _alias(exp.Min(this=_col(f"__ab_kc{i}_{j}")), q(f"mom_shift{j}"))
        for j in range(len(m.covariates))
    ]
    cols += [_alias(exp.Avg(this=v[j].copy()), q(f"mom_mean{j}")) for j in range(len(v))]
    cols += [
        _alias(exp.CovarSamp(this=v[a].copy(), expression=v[b].copy()), q(f"mom_cov{a}_{b}"))
        for a in range(len(v))
        for b in range(a, len(v))
    ]
    return cols


# --- capping (abcore.capping) ----------------------------------------------------------------

_NO_EXACT_PERCENTILE = ("trino",)
"""Engines with approximate percentiles only (``approx_percentile``): a percentile capping
there would not be the file's, so it is refused with a sentence."""


def _capped(mapping: Mapping) -> list[tuple[int, Capping]]:
    return [(i, m.capping) for i, m in enumerate(mapping.metrics) if m.capping is not None]


def _unit_source(mapping: Mapping) -> str:
    """The units' rows before capping: unit-day rows rolled up per unit, or the rows."""
    return "__ab_units" if mapping.aggregate_units else "__ab_rows"


def _value_source(mapping: Mapping) -> str:
    """Where the cells read the values: the capped rows when any metric is capped."""
    return "__ab_capped" if _capped(mapping) else _unit_source(mapping)


def _percentile(values: exp.Expression, fraction: float, dialect: str | None) -> exp.Expression:
    """The exact percentile with linear interpolation (DuckDB's ``quantile_cont``), as each
    engine spells it: Spark's ``PERCENTILE`` (its ``PERCENTILE_APPROX`` is an estimate),
    BigQuery's analytic ``PERCENTILE_CONT(x, p) OVER ()``, the ordered-set aggregate
    ``PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY x)`` elsewhere."""
    p = exp.Literal.number(repr(float(fraction)))
    if dialect in (None, "duckdb"):
        return exp.Anonymous(this="QUANTILE_CONT", expressions=[values, p])
    if dialect == "spark":
        return exp.Anonymous(this="PERCENTILE", expressions=[values, p])
    if dialect == "bigquery":
        return exp.Window(this=exp.PercentileCont(this=values, expression=p), over="OVER")
    order = exp.Order(expressions=[exp.Ordered(this=values, nulls_first=False)])
    return exp.WithinGroup(this=exp.PercentileCont(this=p), expression=order)


def _caps(mapping: Mapping, dialect: str | None) -> exp.Select:
    """One row: each capped metric's bounds (``__ab_cap<i>`` upper, ``__ab_lo<i>`` lower),
    a percentile over every arm's units at once, over the non-zero values with
    ``ignore_zeros`` (the percentile functions skip NULLs), as :func:`abcore.sql._caps_cte`."""
    cols: list[exp.Expression] = []
    for i, capping in _capped(mapping):
        y = _col(f"__ab_y{i}")
        values = _when(exp.NEQ(this=y, expression=_num(0)), y.copy()) if capping.ignore_zeros else y
        for name, bound in ((f"__ab_cap{i}", capping.upper), (f"__ab_lo{i}", capping.lower)):
            if bound is None:
                continue
            if capping.percentile:
                value = _percentile(values.copy(), bound / 100, dialect)
            else:
                value = _double(exp.Literal.number(repr(float(bound))))
            cols.append(_alias(value, name))
    select = exp.select(*cols)
    if not any(c.percentile for _, c in _capped(mapping)):
        return select
    source = _unit_source(mapping)
    select = select.from_(source)
    if source == "__ab_rows":
        select = select.where(_col("__ab_variant").is_(exp.null()).not_())
    return select.limit(1) if dialect == "bigquery" else select


def _clip(i: int, capping: Capping) -> exp.Expression:
    """A unit's value clipped into its bounds (a CASE: a missing value stays missing, a bound
    that came to NULL clips nothing, a zero stays zero with ``ignore_zeros``)."""
    y = _col(f"__ab_y{i}")
    case = exp.case()
    if capping.ignore_zeros:
        case = case.when(exp.EQ(this=y.copy(), expression=_num(0)), y.copy())
    if capping.upper is not None:
        case = case.when(y.copy() > _col(f"__ab_cap{i}"), _col(f"__ab_cap{i}"))
    if capping.lower is not None:
        case = case.when(y.copy() < _col(f"__ab_lo{i}"), _col(f"__ab_lo{i}"))
    return case.else_(y.copy())


def _capped_rows(mapping: Mapping) -> exp.Select:
    """The units' rows with each capped metric clipped (and its bounds passed on, so the
    cells can report them); the rows without a variant are left out, as the caps were."""
    capped = dict(_capped(mapping))
    cols: list[exp.Expression] = [_col(inner) for inner, _ in _cell_keys(mapping)]
    for i, m in enumerate(mapping.metrics):
        if i in capped:
            cols.append(_alias(_clip(i, capped[i]), f"__ab_y{i}"))
            cols += [_col(b) for b in _bound_names(i, capped[i])]
        else:
            cols.append(_col(f"__ab_y{i}"))
        if m.is_pair:
            cols.append(_col(f"__ab_x{i}"))
        cols += [_col(f"__ab_c{i}_{j}") for j in range(len(m.covariates))]
    source = _unit_source(mapping)
    select = exp.select(*cols).from_(source).join("__ab_caps", join_type="cross")
    if source == "__ab_rows":
        select = select.where(_col("__ab_variant").is_(exp.null()).not_())
    return select


def _bound_names(i: int, capping: Capping) -> list[str]:
    pairs = ((f"__ab_cap{i}", capping.upper), (f"__ab_lo{i}", capping.lower))
    return [name for name, bound in pairs if bound is not None]


def _bound_columns(mapping: Mapping) -> list[exp.Expression]:
    """Per capped metric and cell: the bounds it was clipped at, ``<m>__cap`` and
    ``<m>__floor`` (one value on every cell)."""
    cols: list[exp.Expression] = []
    for i, capping in _capped(mapping):
        for name in _bound_names(i, capping):
            stat = "cap" if name.startswith("__ab_cap") else "floor"
            cols.append(
                _alias(exp.Min(this=_col(name)), stat_column(mapping.metrics[i].name, stat))
            )
    return cols


def _cells(mapping: Mapping) -> exp.Select:
    keys = _cell_keys(mapping)
    cols = [_alias(_col(inner), outer) for inner, outer in keys]
    cols += [_alias(exp.Count(this=exp.Star()), "n"), *_metric_moments(mapping)]
    cols += _bound_columns(mapping)
    source = _value_source(mapping)
    select = exp.select(*cols).from_(source)
    if _shifts(mapping, source) is not None:
        select = select.join("__ab_shifts", join_type="cross")
    select = select.group_by(*(_col(inner) for inner, _ in keys))
    if mapping.aggregate_units:
        return select
    return select.where(_col("__ab_variant").is_(exp.null()).not_())


def _arm_checks(mapping: Mapping) -> exp.Select:
    """Per arm (NULL: rows without a variant), on the raw rows: rows, rows without a unit,
    and per metric the rows missing it and those outside its range (as
    :func:`abcore.sql.value_checks_sql`)."""
    cols: list[exp.Expression] = [
        _alias(_col("__ab_variant"), "variant"),
        _alias(exp.Count(this=exp.Star()), "arm_rows"),
    ]
    if mapping.unit:
        cols.append(_alias(_count_if(_col("__ab_unit").is_(exp.null())), "arm_rows_missing_unit"))
    for i, m in enumerate(mapping.metrics):
        y = _col(f"__ab_y{i}")
        if m.metric_kind.pair:
            x = _col(f"__ab_x{i}")
            missing = exp.or_(y.is_(exp.null()), x.is_(exp.null()))
            if m.metric_kind.range_check == "out_of_range":
                check = "out_of_range", exp.or_(y < 0, y > x.copy())
            else:
                check = "negative", exp.or_(y.copy() < 0, x.copy() < 0)
        else:
            missing = y.is_(exp.null())
            if m.metric_kind.range_check == "out_of_range":
                check = "out_of_range", exp.not_(y.copy().isin(_num(0), _num(1)))
            else:
                check = "negative", y.copy() < 0
        cols.append(_alias(_count_if(missing), stat_column(m.name, "missing")))
        cols.append(_alias(_count_if(check[1]), stat_column(m.name, check[0])))
    return exp.select(*cols).from_("__ab_rows").group_by(_col("__ab_variant"))


def _unit_checks(mapping: Mapping) -> exp.Select:
    """One row: units, units in several arms, units with several rows, the rows beyond each
    unit's first (and beyond each unit-day's first): :func:`abcore.sql.unit_checks_sql`."""
    where = exp.and_(_col("__ab_variant").is_(exp.null()).not_(), _unit_present())
    per_day = mapping.timestamp is not None
    inner_keys = [_col("__ab_unit")] + ([_col("__ab_day")] if per_day else [])
    unit_days = (
        exp.select(
            _col("__ab_unit"),
            _alias(exp.Count(this=exp.Star()), "__ab_k"),
            _alias(exp.Min(this=_col("__ab_variant")), "__ab_lo"),
            _alias(exp.Max(this=_col("__ab_variant")), "__ab_hi"),
        )
        .from_("__ab_rows")
        .where(where)
        .group_by(*inner_keys)
    )
    units = (
        exp.select(
            _alias(exp.Sum(this=_col("__ab_k")), "__ab_n"),
            _alias(exp.Count(this=exp.Star()), "__ab_days"),
            _alias(exp.Min(this=_col("__ab_lo")), "__ab_lo"),
            _alias(exp.Max(this=_col("__ab_hi")), "__ab_hi"),
        )
        .from_(unit_days.subquery("__ab_unit_days"))
        .group_by(_col("__ab_unit"))
    )
    total = exp.Sum(this=_col("__ab_n"))
    cols = [
        _alias(exp.Count(this=exp.Star()), "units"),
        _alias(
            _count_if(exp.NEQ(this=_col("__ab_lo"), expression=_col("__ab_hi"))), _UNIT_CHECKS[1]
        ),
        _alias(_count_if(_col("__ab_n") > 1), "units_with_several_rows"),
        _alias(
            exp.Coalesce(this=total - exp.Count(this=exp.Star()), expressions=[_num(0)]),
            "duplicate_unit_rows",
        ),
    ]
    if per_day:
        extra = total.copy() - exp.Sum(this=_col("__ab_days"))
        cols.append(_alias(exp.Coalesce(this=extra, expressions=[_num(0)]), _UNIT_CHECKS[4]))
    return exp.select(*cols).from_(units.subquery("__ab_units_checked"))


def stats_expression(
    mapping: Mapping, table: str | Sequence[str], dialect: str | None = None
) -> exp.Select:
    """The query of :func:`stats_query` as a sqlglot tree (to inspect, or to render with
    options of one's own); ``dialect`` only picks how a yes/no metric is cast."""
    _check_mapping(mapping)
    _check_capping(mapping, dialect)
    ctes = [("__ab_rows", _raw_rows(mapping, table, dialect))]
    if mapping.aggregate_units:
        ctes.append(("__ab_units", _units_rolled(mapping)))
    if _capped(mapping):
        ctes += [("__ab_caps", _caps(mapping, dialect)), ("__ab_capped", _capped_rows(mapping))]
    shifts = _shifts(mapping, _value_source(mapping))
    if shifts is not None:
        ctes.append(("__ab_shifts", shifts))
    ctes += [("__ab_cells", _cells(mapping)), ("__ab_checks", _arm_checks(mapping))]
    ctes += quantile_ctes(mapping, "__ab_units" if mapping.aggregate_units else "__ab_rows")
    ctes.append(("__ab_no_variant", _no_variant(mapping)))
    if mapping.unit:
        ctes.append(("__ab_unit_checks", _unit_checks(mapping)))
    cols: list[exp.Expression] = [exp.Column(this=exp.Star(), table=_id("__ab_cells"))]
    cols += [_col(name, "__ab_checks") for name in _arm_check_columns(mapping)]
    cols += quantile_columns(mapping)
    cols += [_col(name, "__ab_no_variant") for name in _NO_VARIANT[: 1 + bool(mapping.unit)]]
    if mapping.unit:
        names = _UNIT_CHECKS if mapping.timestamp else _UNIT_CHECKS[:4]
        cols += [_col(name, "__ab_unit_checks") for name in names]
    doc = json.dumps(_mapping_doc(mapping), sort_keys=True)
    cols.append(_alias(exp.Literal.string(doc), MAPPING_COLUMN))
    join = exp.EQ(this=_col("variant", "__ab_cells"), expression=_col("variant", "__ab_checks"))
    select = exp.select(*cols).from_("__ab_cells").join("__ab_checks", on=join, join_type="left")
    for name, on in quantile_joins(mapping, "__ab_cells"):
        select = select.join(name, on=on, join_type="left")
    select = select.join("__ab_no_variant", join_type="cross")
    if mapping.unit:
        select = select.join("__ab_unit_checks", join_type="cross")
    order = [_col(outer, "__ab_cells") for _, outer in _cell_keys(mapping)]
    select = select.order_by(*order)
    for name, query in ctes:
        select = select.with_(_id(name), as_=query)
    return select


def _no_variant(mapping: Mapping) -> exp.Select:
    """One row: the rows without a variant (and among them those without a unit)."""
    sources = ["arm_rows", "arm_rows_missing_unit"][: 1 + bool(mapping.unit)]
    cols = [
        _alias(exp.Coalesce(this=exp.Sum(this=_col(src)), expressions=[_num(0)]), name)
        for src, name in zip(sources, _NO_VARIANT, strict=False)
    ]
    return exp.select(*cols).from_("__ab_checks").where(_col("variant").is_(exp.null()))


def _arm_check_columns(mapping: Mapping) -> list[str]:
    names = ["arm_rows"] + (["arm_rows_missing_unit"] if mapping.unit else [])
    for m in mapping.metrics:
        check = m.metric_kind.range_check
        names += [stat_column(m.name, "missing"), stat_column(m.name, check)]
    return names


def _mapping_doc(mapping: Mapping) -> dict[str, Any]:
    doc = mapping.to_dict()
    doc.pop("notes", None)
    return doc


def stats_query(
    mapping: Mapping, table: str | Sequence[str], *, dialect: str = "duckdb", pretty: bool = True
) -> str:
    """The sufficient-statistics query of ``mapping`` over ``table``, in ``dialect``.

    The result has one row per arm x day x segment values (``variant``, ``day``,
    ``segment__<column>``) with ``n`` (rows, or units with ``mapping.aggregate_units``) and
    per metric: binary ``<m>__n``, ``__sum``, ``__sum_sq``; continuous ``__n``, ``__mean``,
    ``__var``; pairs (ratios, counts, CUPED) ``__pair_n``, ``__mean_y``, ``__var_y``,
    ``__mean_x``, ``__var_x``, ``__cov_xy``; capped metrics ``__cap`` / ``__floor`` (the
    bounds their values were clipped at). Each row also carries its arm's value checks
    (``arm_rows``, ``<m>__missing``...), the table's unit checks (``units``,
    ``units_in_multiple_arms``...) and ``abcore_mapping``. :func:`read_output` reads it.

    Args:
        mapping: the roles of the table's columns (unit-level rows).
        table: the table's name, or its parts: ``("project", "dataset", "table")``.
        dialect: one of :data:`DIALECTS`.
        pretty: one clause per line.

    Where an engine lacks a function the query uses a portable spelling: ``COUNT_IF`` /
    ``FILTER (WHERE ...)`` are ``SUM(CASE WHEN ... THEN 1 ELSE 0 END)``; ``count(DISTINCT
    arm)`` per unit is ``MIN(arm) <> MAX(arm)``; DuckDB's ``GROUPING SETS`` roll-up is done
    on the returned cells by :func:`read_output`.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {list(DIALECTS)}, got {dialect!r}.")
    tree = stats_expression(mapping, table, dialect)
    return tree.sql(dialect=dialect, identify=True, pretty=pretty)


# --- reading the output --------------------------------------------------------------------


def read_output(frame: pd.DataFrame) -> tuple[Aggregates, Instrumentation]:
    """The readout's inputs from the query's output: the sufficient statistics per arm, day
    and segment (rolled up from the cells), and the instrumentation counts.

    Raises:
        InputError: the frame is not the output of :func:`stats_query`, or its arms cannot
            be compared (as for a file).
    """
    mapping = _output_mapping(frame)
    arms = frame[frame["variant"].notna()]
    cells, shifts = _cell_sums(arms, mapping)
    by = ("variant",) + (("day",) if mapping.timestamp else ())
    by += ("segments",) if mapping.segments else ()
    con = duckdb.connect()  # private to this call: the cells of one readout
    try:
        con.register("__ab_output_cells", cells)
        sql, params = rollup_stats_sql("__ab_output_cells", mapping, by=by)
        stats = con.execute(sql, params).df()
    finally:
        con.close()
    try:
        stats = read_summaries(arms, stats, mapping)
    except ValueError as exc:
        raise InputError(f"The query's output cannot be read: {exc}") from None
    overall = stats[stats["level"] == "overall"]
    mapping = check_arms(mapping, [str(v) for v in overall["variant"]], overall)
    check_metrics(mapping, overall)
    stats = stats.drop(columns=["__ab_day_order"], errors="ignore")
    caps, floors = _output_bounds(arms, mapping, "cap"), _output_bounds(arms, mapping, "floor")
    aggregates = Aggregates(canonical_stats(stats, mapping), mapping, caps, shifts, floors)
    return aggregates, _instrumentation(frame, arms, mapping)


def _output_bounds(arms: pd.DataFrame, mapping: Mapping, stat: str) -> dict[str, float]:
    """The value each capped metric was clipped at (``cap``: from above, ``floor``: from
    below), one constant on every cell; a bound that came to nothing is left out."""
    out = {}
    for m in mapping.metrics:
        name = stat_column(m.name, stat)
        if m.capping is not None and name in arms.columns:
            values = _num_col(arms, name)
            values = values[np.isfinite(values)]
            if values.size:
                out[m.name] = float(values[0])
    return out


def _output_mapping(frame: pd.DataFrame) -> Mapping:
    if MAPPING_COLUMN not in frame.columns or "variant" not in frame.columns or frame.empty:
        raise InputError(
            "This is not the output of abcore's warehouse query: it needs the columns "
            f"'variant' and '{MAPPING_COLUMN}', and at least one row. Run the query shown "
            "under 'Run this in your warehouse' and upload its whole result."
        )
    docs = frame[MAPPING_COLUMN].dropna().unique()
    if len(docs) != 1:
        raise InputError(
            f"The '{MAPPING_COLUMN}' column holds {len(docs)} different mappings: upload the "
            "result of one query, not several pasted together."
        )
    try:
        return Mapping.from_dict(json.loads(str(docs[0])))
    except (ValueError, TypeError, KeyError) as error:
        raise InputError(
            f"The '{MAPPING_COLUMN}' column does not hold a mapping abcore can read ({error}). "
            "Upload the query's result unchanged."
        ) from None


def _num_col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        raise InputError(
            f"The query's output lacks the column '{name}'. Upload its whole result, with "
            "the header row."
        )
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _shift(frame: pd.DataFrame, name: str) -> float:
    """A metric's shift: one constant on every row (0 where the query took none)."""
    if name not in frame.columns:
        return 0.0
    values = _num_col(frame, name)
    values = values[np.isfinite(values)]
    return float(values[0]) if values.size else 0.0


def _moments(n: np.ndarray, mean: np.ndarray, var: np.ndarray) -> tuple:
    """Sums of the shifted values and of their squares from a cell's count, mean (of the
    shifted values) and sample variance: ``n mean`` and ``(n - 1) var + n mean**2``."""
    dev = np.where(n > 0, np.nan_to_num(mean), 0.0)
    m2 = np.where(n > 1, np.nan_to_num(var) * (n - 1), 0.0)
    return n * dev, m2 + n * dev * dev, dev


def _cell_sums(arms: pd.DataFrame, mapping: Mapping) -> tuple[pd.DataFrame, dict]:
    """The cells in the shape of :func:`abcore.sql.finest_stats_sql`'s: sums of the values
    minus each metric's shift, which add up across cells since the shift is one constant."""
    cells = pd.DataFrame({"__ab_variant": arms["variant"].astype(str).to_numpy()})
    if mapping.timestamp:
        day = arms["day"]
        cells["__ab_day"] = (
            day.astype(str).to_numpy() if mapping.day_label else pd.to_datetime(day).dt.date
        )
    for j, s in enumerate(mapping.segments):
        values = arms[f"{_KEY_PREFIX}{s}"] if f"{_KEY_PREFIX}{s}" in arms.columns else None
        if values is None:
            _num_col(arms, f"{_KEY_PREFIX}{s}")  # raises the missing column's sentence
        cells[f"__ab_seg{j}"] = values.astype(object).where(values.notna(), None).to_numpy()
    cells["__ab_count"] = _num_col(arms, "n")
    shifts: dict[str, tuple[float, ...]] = {}
    for m in mapping.metrics:
        q = lambda stat, name=m.name: stat_column(name, stat)  # noqa: E731
        shift_y = 0.0
        if not m.metric_kind.pair:
            n = _num_col(arms, q("n"))
            cells[q("n")] = n
            if not _shifted(m)[0]:
                cells[q("sum")] = _num_col(arms, q("sum"))
                cells[q("sum_sq")] = _num_col(arms, q("sum_sq"))
            else:
                shift_y = _shift(arms, q("shift"))
                mean, var = _num_col(arms, q("mean")), _num_col(arms, q("var"))
                cells[q("sum")], cells[q("sum_sq")], _ = _moments(n, mean, var)
        shift_x = 0.0
        if m.is_pair:
            n = _num_col(arms, q("pair_n"))
            if m.metric_kind.pair:
                shift_y = _shift(arms, q("shift_y"))
            shift_x = _shift(arms, q("shift_x"))
            sy, syy, dy = _moments(n, _num_col(arms, q("mean_y")), _num_col(arms, q("var_y")))
            sx, sxx, dx = _moments(n, _num_col(arms, q("mean_x")), _num_col(arms, q("var_x")))
            cov = np.where(n > 1, np.nan_to_num(_num_col(arms, q("cov_xy"))) * (n - 1), 0.0)
            cells[q("pair_n")] = n
            cells[q("sum_y")], cells[q("sum_y_sq")] = sy, syy
            cells[q("sum_x")], cells[q("sum_x_sq")] = sx, sxx
            cells[q("sum_xy")] = cov + n * dy * dx
        covariates: tuple[float, ...] = ()
        if m.moments:
            _moment_sums(cells, arms, m)
            covariates = tuple(_shift(arms, q(f"mom_shift{j}")) for j in range(len(m.covariates)))
        if shift_y or shift_x or any(covariates):
            shifts[m.name] = (shift_y, shift_x, *covariates)
    return cells, shifts


def _moment_sums(cells: pd.DataFrame, arms: pd.DataFrame, m: MetricMapping) -> None:
    """Sums and cross-products of :func:`abcore.model.moment_fields` from a cell's count,
    means and covariances: ``n mean`` and ``(n - 1) cov + n mean_a mean_b``."""
    q = lambda stat: stat_column(m.name, stat)  # noqa: E731
    n = _num_col(arms, q(MOMENT_N))
    k = m.moments
    means = [
        np.where(n > 0, np.nan_to_num(_num_col(arms, q(f"mom_mean{j}"))), 0.0) for j in range(k)
    ]
    cells[q(MOMENT_N)] = n
    for j in range(k):
        cells[q(f"mom_s{j}")] = n * means[j]
    for a in range(k):
        for b in range(a, k):
            cov = np.where(n > 1, np.nan_to_num(_num_col(arms, q(f"mom_cov{a}_{b}"))), 0.0)
            cells[q(f"mom_c{a}_{b}")] = cov * (n - 1) + n * means[a] * means[b]


def _instrumentation(frame: pd.DataFrame, arms: pd.DataFrame, mapping: Mapping) -> Instrumentation:
    per_arm = arms.drop_duplicates("variant")
    variants = per_arm["variant"].astype(str).tolist()

    def by_arm(name: str) -> dict[str, int]:
        return dict(zip(variants, _num_col(per_arm, name).astype(int).tolist(), strict=True))

    rows_per_arm = by_arm("arm_rows")
    missing_variant = int(_num_col(frame, "rows_missing_variant")[0])
    fields: dict[str, Any] = {
        "rows": sum(rows_per_arm.values()) + missing_variant,
        "rows_per_arm": rows_per_arm,
        "rows_missing_variant": missing_variant,
        "missing": {m.name: by_arm(stat_column(m.name, "missing")) for m in mapping.metrics},
        "out_of_range": {},
        "negative": {},
    }
    for m in mapping.metrics:
        check = m.metric_kind.range_check
        fields[check][m.name] = sum(by_arm(stat_column(m.name, check)).values())
    if mapping.unit:
        # rows without a variant count among the rows without a unit too, as in a file's
        fields["rows_missing_unit"] = sum(by_arm("arm_rows_missing_unit").values()) + int(
            _num_col(frame, _NO_VARIANT[1])[0]
        )
        names = _UNIT_CHECKS if mapping.timestamp else _UNIT_CHECKS[:4]
        fields.update({name: int(_num_col(frame, name)[0]) for name in names})
        fields["units_checked"] = fields["units"]
    return Instrumentation(**fields)


# --- entry points --------------------------------------------------------------------------


def _readout(frame: pd.DataFrame, plan: Any, options: Any, expected_shares: Any) -> Any:
    aggregates, instrumentation = read_output(frame)
    opts = resolve_options(
        options,
        plan,
        None,
        correction=config.CORRECTION,
        relative_method=config.RELATIVE_CI,
        cuped=True,
    )
    return analyze_aggregates(
        aggregates,
        expected_shares=expected_shares,
        plan=plan,
        checks=instrumentation_checks(instrumentation),
        options=opts,
    )


def analyze_output(
    source: pd.DataFrame | str | Path,
    *,
    plan: Any = None,
    options: Any = None,
    expected_shares: Any = None,
) -> Any:
    """The readout (:class:`abcore.Analysis`) from the output of :func:`stats_query`: a
    DataFrame, or the CSV / Parquet file a warehouse console saved."""
    frame = source if isinstance(source, pd.DataFrame) else _read_file(Path(source))
    return _readout(frame, plan, options, expected_shares)


def _read_file(path: Path) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        reader = "read_parquet" if path.suffix.lower() in (".parquet", ".pq") else "read_csv"
        return con.execute(f"SELECT * FROM {reader}($path)", {"path": str(path)}).df()
    except duckdb.Error as error:
        raise InputError(f"Could not read '{path.name}' ({error}).") from None
    finally:
        con.close()


def analyze_connection(
    connection: Any,
    table: str | Sequence[str],
    mapping: Mapping,
    *,
    dialect: str,
    plan: Any = None,
    options: Any = None,
    expected_shares: Any = None,
) -> Any:
    """Run the query on a DB-API 2.0 connection (psycopg, the Snowflake, BigQuery or Trino
    connectors, DuckDB...) and read the readout from the cells it returns: only those few
    rows leave the database."""
    cursor = connection.cursor()
    try:
        cursor.execute(stats_query(mapping, table, dialect=dialect))
        rows = cursor.fetchall()
        columns = [d[0] for d in cursor.description]
    finally:
        close = getattr(cursor, "close", None)
        if close is not None:
            close()
    return _readout(pd.DataFrame(rows, columns=columns), plan, options, expected_shares)


def analyze_spark(
    spark: Any,
    table: str | Sequence[str],
    mapping: Mapping,
    *,
    plan: Any = None,
    options: Any = None,
    expected_shares: Any = None,
) -> Any:
    """Run the query in a Spark session (a table or temporary view name) and read the
    readout from the cells it collects to the driver."""
    frame = spark.sql(stats_query(mapping, table, dialect="spark")).toPandas()
    return _readout(frame, plan, options, expected_shares)
