"""The query that computes quantile metrics' summaries (:mod:`abcore.quantile`) in DuckDB.

A quantile is no sum, so it cannot be rolled up from the cells of
:func:`abcore.sql.sufficient_stats_sql`. This second query groups the unit rows by arm and by
each segment (``GROUPING SETS``; no daily level: daily quantiles do not add up to the
cumulative ones) and asks ``quantile_cont`` for every level the cells need: each cell's
quantile and its outer interval's ``q -/+ z sqrt(q (1 - q) / n)`` at the cell's own units
(known from the sums, :func:`cell_levels`), in one list per metric (one sort per cell);
:func:`summary_frame` picks each cell's own three. Exact order statistics at ``n_star = n``,
the same as numpy's and as the warehouse query's (:mod:`abcore.warehouse_quantile`, which
ranks the values with window functions and takes its levels from :func:`levels_sql`). The
ranking was tried here too: 6.5 s more than the sums on 2 million rows, against 0.8 s for
``quantile_cont``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from abcore.model import Mapping, MetricMapping, stat_column
from abcore.quantile import SUMMARY_FIELDS, bound_levels, bound_z
from abcore.sql import (
    _key_columns,
    _level_columns,
    _Params,
    _require_variant,
    _resolve_by,
    _unit_rollup,
    _unit_values,
    quote_ident,
    table_ref,
)

__all__ = [
    "LEVEL_COUNT",
    "cell_levels",
    "levels_sql",
    "merge_summaries",
    "quantile_metrics",
    "quantile_stats_sql",
    "summary_frame",
]

LEVEL_COUNT = 3
"""Levels per quantile metric: the quantile, the lower bound, the upper bound."""
_LIST = "q_levels"


def quantile_metrics(mapping: Mapping) -> list[tuple[int, MetricMapping]]:
    """The mapping's quantile metrics with their position (the ``__ab_y{i}`` they read)."""
    return [(i, m) for i, m in enumerate(mapping.metrics) if m.summary_fields]


def levels_sql(q: float, n: str) -> list[str]:
    """SQL for the three levels of a quantile ``q`` in a cell of ``n`` units (a column or
    an expression): ``q``, then the outer interval's bounds clipped to [0, 1]. Plain SQL
    that every engine reads (sqlglot renders it for the warehouse).

    >>> levels_sql(0.5, "n")[0]
    '0.5'
    """
    q_text = repr(float(q))
    half = f"{bound_z()!r} * SQRT({q_text} * (1 - {q_text}) / {n})"
    low, high = f"{q_text} - {half}", f"{q_text} + {half}"
    return [
        q_text,
        f"CASE WHEN {low} < 0 THEN 0 ELSE {low} END",
        f"CASE WHEN {high} > 1 THEN 1 ELSE {high} END",
    ]


def cell_levels(frame: pd.DataFrame, mapping: Mapping) -> dict[str, list[float]]:
    """Per quantile metric, every level its cells need, sorted: each overall and segment
    cell's quantile and outer bounds at the cell's own units (``<metric>__n`` of the sums'
    ``frame``), so one ``quantile_cont`` call per cell returns them all."""
    rows = frame[frame["level"] != "day"]
    out = {}
    for _, m in quantile_metrics(mapping):
        q = float(m.quantile or 0.5)
        n = pd.to_numeric(rows[stat_column(m.name, "n")]).fillna(0).to_numpy(float)
        low, high = bound_levels(q, np.maximum(n[n > 0], 1))
        levels = np.concatenate([[q], np.clip(low, 0, 1), np.clip(high, 0, 1)])
        out[m.name] = sorted({float(v) for v in levels})
    return out


def quantile_stats_sql(
    table: str | Sequence[str],
    mapping: Mapping,
    levels: dict[str, list[float]],
    *,
    by: Iterable[str] = ("variant",),
) -> tuple[str, list[Any]]:
    """SQL and parameters for the quantile metrics' cells: ``level`` ("overall" or
    "segment"), ``variant``, ``day`` (NULL), ``segment``, ``segment_value``, then per
    quantile metric ``<metric>__q_n`` (units with a value) and ``<metric>__q_levels`` (its
    values at ``levels[metric]``, from :func:`cell_levels`). Units are summed over their rows
    first when ``mapping.aggregate_units``, as for the sums.

    >>> m = Mapping(variant="arm", unit="u", segments=["country"],
    ...             metrics=[MetricMapping("p90", "quantile", column="ms", quantile=0.9)])
    >>> sql, params = quantile_stats_sql("t", m, {"p90": [0.9]}, by=("variant", "segments"))
    >>> sql.count("quantile_cont"), params
    (1, ['country'])
    """
    metrics = quantile_metrics(mapping)
    if not metrics:
        raise ValueError("mapping has no quantile metric.")
    if mapping.is_aggregated:
        raise ValueError("a quantile metric needs unit-level rows, not an aggregated shape.")
    variant = _require_variant(mapping)
    _, segments = _resolve_by(mapping, by)
    params = _Params()
    keys = _key_columns(mapping, False, segments, False)
    values = _unit_values(mapping)
    where = f"{variant} IS NOT NULL"
    base = table_ref(table)
    if mapping.aggregate_units:
        if not mapping.unit:
            raise ValueError("mapping.aggregate_units needs mapping.unit.")
        unit = quote_ident(mapping.unit)
        rollup = _unit_rollup(mapping, segments, day=False, row=False)
        raw = (
            f"SELECT {', '.join([*keys, f'{unit} AS __ab_unit', *values])} FROM {base} "
            f"WHERE {where} AND {unit} IS NOT NULL"
        )
        source = f"(SELECT {', '.join(rollup)} FROM ({raw}) GROUP BY __ab_variant, __ab_unit)"
    else:
        source = f"(SELECT {', '.join(keys + values)} FROM {base} WHERE {where})"
    sets = [("__ab_variant",), *(("__ab_variant", f"__ab_seg{j}") for j in range(len(segments)))]
    grouped = {k for s in sets for k in s}
    cols = _level_columns(mapping, grouped, segments, params)
    for i, m in metrics:
        wanted = ", ".join(repr(float(v)) for v in levels[m.name])
        cols += [
            f"count(__ab_y{i}) AS {quote_ident(stat_column(m.name, 'q_n'))}",
            f"quantile_cont(__ab_y{i}, [{wanted}]) AS {quote_ident(stat_column(m.name, _LIST))}",
        ]
    sets_sql = ", ".join("(" + ", ".join(s) + ")" for s in sets)
    sql = (
        f"SELECT {', '.join(cols)}\nFROM {source} AS __ab_rows\nGROUP BY GROUPING SETS ({sets_sql})"
    )
    return sql, params.values


def summary_frame(
    result: pd.DataFrame, mapping: Mapping, levels: dict[str, list[float]]
) -> pd.DataFrame:
    """The query's output as the summary columns of :data:`abcore.quantile.SUMMARY_FIELDS`:
    each cell's own three levels looked up in its list (the bounds at the cell's own units,
    ``n_star = n``), keyed like the sums."""
    out = result[["level", "variant", "segment", "segment_value"]].copy()
    for _, m in quantile_metrics(mapping):
        q = float(m.quantile or 0.5)
        index = {v: j for j, v in enumerate(levels[m.name])}
        picked = []
        for n, got in zip(
            result[stat_column(m.name, "q_n")], result[stat_column(m.name, _LIST)], strict=True
        ):
            n = 0 if n is None or pd.isna(n) else int(n)
            if n == 0 or got is None:
                picked.append((n, n, np.nan, np.nan, np.nan))
                continue
            low, high = bound_levels(q, n)
            wanted = (q, float(np.clip(low, 0, 1)), float(np.clip(high, 0, 1)))
            if any(v not in index for v in wanted):  # the sums counted other units
                raise ValueError(
                    f"metric {m.name!r}: the quantile query counted {n:,} units in a cell "
                    "whose sums count another number; read the file again."
                )
            at = [index[v] for v in wanted]
            picked.append((n, n, *(float(got[j]) for j in at)))
        names = [stat_column(m.name, f) for f in SUMMARY_FIELDS]
        out[names] = pd.DataFrame(picked, index=out.index, dtype="float64")
    return out


def merge_summaries(frame: pd.DataFrame, summaries: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (the sums' result) with the summary columns added on its overall and
    segment rows (NaN on the daily rows)."""

    def key(row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(None if v is None or pd.isna(v) else str(v) for v in row)

    cols = ["level", "variant", "segment", "segment_value"]
    names = list(summaries.columns[4:])
    by_key = {key(r[:4]): r[4:] for r in summaries[cols + names].itertuples(index=False)}
    rows = [by_key.get(key(r)) for r in frame[cols].itertuples(index=False)]
    filled = [list(r) if r is not None else [np.nan] * len(names) for r in rows]
    out = frame.copy()
    out[names] = pd.DataFrame(filled, index=frame.index, columns=names, dtype="float64")
    return out
