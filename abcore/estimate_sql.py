"""The queries behind planning from a file (:mod:`abcore.estimate`), as pure generators.

Under the rules of :mod:`abcore.sql`: identifiers quoted (:func:`abcore.sql.quote_ident`),
values (the arm) as ``$n`` parameters, nothing here touches a database. A unit's rows are
rolled up as the readout rolls them (a conversion on any row, amounts summed, a covariate
taken as the unit's value), so a plan made from a file reads the metric the analysis will.

>>> from abcore.model import Mapping, MetricMapping
>>> m = Mapping(unit="user_id", metrics=[MetricMapping("converted", "binary")])
>>> sql, params = unit_moments_sql("t", m, "group", "control")
>>> "covar_samp" in sql and "GROUP BY __ab_unit" in sql, params
(True, ['control'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from abcore.model import Mapping, MetricMapping
from abcore.sql import quote_ident, table_ref

__all__ = [
    "aggregate_curve_sql",
    "aggregate_sums_sql",
    "metric_variables",
    "unit_curve_sql",
    "unit_moments_sql",
]


def _d(column: str) -> str:
    return f"CAST({quote_ident(column)} AS DOUBLE)"


def metric_variables(m: MetricMapping) -> tuple[tuple[str, str], ...]:
    """``(column, rollup)`` of each variable of a unit-level metric, in the order the moments
    are read: the metric (a pair's numerator, then its denominator), then its covariates.

    >>> metric_variables(MetricMapping("r", "ratio", numerator="clicks", denominator="views"))
    (('clicks', 'sum'), ('views', 'sum'))
    """
    if m.metric_kind.pair:
        head = ((str(m.numerator), "sum"), (str(m.denominator), "sum"))
    else:
        head = ((str(m.column), m.metric_kind.unit_rollup),)
    return head + tuple((c, "max") for c in m.adjusters)


def day_expr(column: str, *, label: bool) -> str:
    """A row's day: its date, or its text as a label (dates without a year)."""
    q = quote_ident(column)
    return f"CAST({q} AS VARCHAR)" if label else f"CAST({q} AS DATE)"


def _arm_filter(variant: str | None, arm: str | None, params: list[Any]) -> list[str]:
    if arm is None:
        return []
    params.append(str(arm))
    return [f"CAST({quote_ident(str(variant))} AS VARCHAR) = ${len(params)}"]


def _where(conditions: Sequence[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def unit_moments_sql(
    table: str | Sequence[str], mapping: Mapping, variant: str | None, arm: str | None
) -> tuple[str, list[Any]]:
    """Per metric, over the units (rows of one unit rolled into one) of ``arm`` (every row
    when None): the count of units complete in every variable, each variable's mean and
    every pair's sample covariance (DuckDB's ``avg`` and ``covar_samp`` update their moments
    row by row, so no sum of squares loses precision to a large mean). One row; columns
    ``units``, ``m<i>_n``, ``m<i>_mean<j>`` and ``m<i>_cov<a>_<b>`` (``a <= b``).
    """
    params: list[Any] = []
    unit = quote_ident(mapping.unit) if mapping.unit else None
    values, rolled, summary = [], [], ["count(*) AS units"]
    for i, m in enumerate(mapping.metrics):
        variables = metric_variables(m)
        names = [f"__ab_v{i}_{j}" for j in range(len(variables))]
        for name, (column, rollup) in zip(names, variables, strict=True):
            values.append(f"{_d(column)} AS {name}")
            rolled.append(f"{rollup}({name}) AS {name}")
        complete = " AND ".join(f"{n} IS NOT NULL" for n in names)
        summary.append(f"count(*) FILTER (WHERE {complete}) AS m{i}_n")
        summary += [
            f"avg({n}) FILTER (WHERE {complete}) AS m{i}_mean{j}" for j, n in enumerate(names)
        ]
        summary += [
            f"covar_samp({names[a]}, {names[b]}) FILTER (WHERE {complete}) AS m{i}_cov{a}_{b}"
            for a in range(len(names))
            for b in range(a, len(names))
        ]
    conditions = _arm_filter(variant, arm, params)
    if unit is None:
        raw = f"SELECT {', '.join(values)} FROM {table_ref(table)}{_where(conditions)}"
        units = "SELECT * FROM __ab_raw"
    else:
        conditions.append(f"{unit} IS NOT NULL")
        raw = (
            f"SELECT {unit} AS __ab_unit, {', '.join(values)} FROM {table_ref(table)}"
            f"{_where(conditions)}"
        )
        units = f"SELECT {', '.join(rolled)} FROM __ab_raw GROUP BY __ab_unit"
    sql = (
        f"WITH __ab_raw AS ({raw}), __ab_units AS ({units}) "
        f"SELECT {', '.join(summary)} FROM __ab_units"
    )
    return sql, params


def unit_curve_sql(
    table: str | Sequence[str], mapping: Mapping, *, label: bool, limit: int
) -> tuple[str, list[Any]]:
    """New units by the day each was first seen, over every row (all arms: the traffic), in
    day order (file order for labels): columns ``day`` and ``n``, at most ``limit`` days.

    Each unit counts once, on its first day, so the running total is the unique units seen
    so far: with repeat visitors it grows more slowly than the rows do.
    """
    day = day_expr(str(mapping.timestamp), label=label)
    order = "min(__ab_row)" if label else "day"
    conditions = [f"{day} IS NOT NULL"]
    row = ", rowid AS __ab_row" if label else ""
    if mapping.unit:
        unit = quote_ident(mapping.unit)
        conditions.append(f"{unit} IS NOT NULL")
        first = "arg_min(__ab_day, __ab_row)" if label else "min(__ab_day)"
        keep = ", min(__ab_row) AS __ab_row" if label else ""
        source = (
            f"SELECT {first} AS __ab_day{keep} FROM (SELECT {unit} AS __ab_unit, {day} AS "
            f"__ab_day{row} FROM {table_ref(table)}{_where(conditions)}) GROUP BY __ab_unit"
        )
    else:
        source = f"SELECT {day} AS __ab_day{row} FROM {table_ref(table)}{_where(conditions)}"
    sql = (
        f"SELECT __ab_day AS day, count(*) AS n FROM ({source}) GROUP BY __ab_day "
        f"ORDER BY {order} LIMIT {int(limit)}"
    )
    return sql, []


def _aggregate_pair(m: MetricMapping, n: str) -> tuple[str, str, str]:
    """(count, sum, sum of squares) of an aggregated binary or continuous metric's rows."""
    s = ss = None
    if m.sum_column is not None:
        s = _d(m.sum_column)
        ss = _d(m.sum_sq_column) if m.sum_sq_column else (s if m.metric_kind.zero_one else None)
    elif m.mean_column is not None:
        mean = _d(m.mean_column)
        s = f"({n} * {mean})"
        if m.sd_column is not None:
            ss = f"({_d(m.sd_column)} * {_d(m.sd_column)} * ({n} - 1) + {n} * {mean} * {mean})"
        elif m.variance_column is not None:
            ss = f"({_d(m.variance_column)} * ({n} - 1) + {n} * {mean} * {mean})"
        elif m.metric_kind.zero_one:
            ss = s
    if s is None or ss is None:
        raise ValueError(
            f"metric {m.name!r}: an aggregated {m.kind} metric needs sum_column and "
            "sum_sq_column, or mean_column and sd_column/variance_column (a yes/no metric: "
            "sum_column or mean_column alone)."
        )
    return n, s, ss


def aggregate_sums_sql(
    table: str | Sequence[str], mapping: Mapping, variant: str | None, arm: str | None
) -> tuple[str, list[Any]]:
    """Per metric of rows of totals, over the rows of ``arm`` (every row when None): for a
    pair (successes out of trials) the sums of both over rows holding both, columns
    ``m<i>_y``/``m<i>_x``; otherwise the units, sum and sum of squares over rows holding
    the metric, ``m<i>_n``/``m<i>_s``/``m<i>_ss``. One row."""
    params: list[Any] = []
    n = _d(mapping.n_column) if mapping.n_column else None
    items = []
    for i, m in enumerate(mapping.metrics):
        if m.metric_kind.pair:
            y, x = _d(str(m.numerator)), _d(str(m.denominator))
            both = f"{y} IS NOT NULL AND {x} IS NOT NULL"
            items += [
                f"sum({y}) FILTER (WHERE {both}) AS m{i}_y",
                f"sum({x}) FILTER (WHERE {both}) AS m{i}_x",
            ]
            continue
        if n is None:
            raise ValueError(f"metric {m.name!r}: an aggregated {m.kind} metric needs n_column.")
        count, s, ss = _aggregate_pair(m, n)
        present = f"{s} IS NOT NULL AND {ss} IS NOT NULL AND {count} IS NOT NULL"
        items += [
            f"sum({count}) FILTER (WHERE {present}) AS m{i}_n",
            f"sum({s}) FILTER (WHERE {present}) AS m{i}_s",
            f"sum({ss}) FILTER (WHERE {present}) AS m{i}_ss",
        ]
    conditions = _arm_filter(variant, arm, params)
    return f"SELECT {', '.join(items)} FROM {table_ref(table)}{_where(conditions)}", params


def aggregate_curve_sql(
    table: str | Sequence[str], timestamp: str, count: str, *, label: bool, limit: int
) -> tuple[str, list[Any]]:
    """The ``count`` column added up per day, every arm (day order, file order for labels):
    columns ``day`` and ``n``, at most ``limit`` days. Totals carry no ids, so a unit that
    comes back on several days counts on each."""
    day = day_expr(timestamp, label=label)
    order = "min(rowid)" if label else "day"
    q = _d(count)
    return (
        f"SELECT {day} AS day, sum({q}) AS n FROM {table_ref(table)} WHERE {day} IS NOT NULL "
        f"AND {q} IS NOT NULL GROUP BY {day} ORDER BY {order} LIMIT {int(limit)}",
        [],
    )
