"""The query that computes quantile metrics' summaries (:mod:`abcore.quantile`) in DuckDB.

A quantile is no sum, so it cannot be rolled up from the cells of
:func:`abcore.sql.sufficient_stats_sql`: this second query groups the unit rows by arm and
by each segment (``GROUPING SETS``, no daily level: daily quantiles do not add up to the
cumulative ones) and asks ``quantile_cont`` for the quantile and the bounds of the outer
interval at every size of ``config.QUANTILE_NSTAR_GRID``, in one list per cell;
:func:`summary_frame` keeps the bounds of the cell's size. Exact order statistics, one sort
per cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from abcore.model import Mapping, MetricMapping, stat_column
from abcore.quantile import grid_levels, pick_bounds
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

__all__ = ["quantile_metrics", "quantile_stats_sql", "summary_frame"]

_LEVELS = "q_levels"


def quantile_metrics(mapping: Mapping) -> list[tuple[int, MetricMapping]]:
    """The mapping's quantile metrics with their position (the ``__ab_y{i}`` they read)."""
    return [(i, m) for i, m in enumerate(mapping.metrics) if m.summary_fields]


def quantile_stats_sql(
    table: str | Sequence[str], mapping: Mapping, *, by: Iterable[str] = ("variant",)
) -> tuple[str, list[Any]]:
    """SQL and parameters for the quantile metrics' cells: ``level`` ("overall" or
    "segment"), ``variant``, ``day`` (NULL), ``segment``, ``segment_value``, then per
    quantile metric ``<metric>__q_n`` (units with a value) and ``<metric>__q_levels`` (the
    values at :func:`abcore.quantile.grid_levels`). Units are summed over their rows first
    when ``mapping.aggregate_units``, as for the sums.

    >>> m = Mapping(variant="arm", unit="u", segments=["country"],
    ...             metrics=[MetricMapping("p90", "quantile", column="ms", quantile=0.9)])
    >>> sql, params = quantile_stats_sql("t", m, by=("variant", "segments"))
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
        levels = ", ".join(repr(v) for v in grid_levels(float(m.quantile or 0.5)))
        cols += [
            f"count(__ab_y{i}) AS {quote_ident(stat_column(m.name, 'q_n'))}",
            f"quantile_cont(__ab_y{i}, [{levels}]) AS {quote_ident(stat_column(m.name, _LEVELS))}",
        ]
    sets_sql = ", ".join("(" + ", ".join(s) + ")" for s in sets)
    sql = (
        f"SELECT {', '.join(cols)}\nFROM {source} AS __ab_rows\nGROUP BY GROUPING SETS ({sets_sql})"
    )
    return sql, params.values


def summary_frame(result: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    """The query's output as the summary columns of :data:`abcore.quantile.SUMMARY_FIELDS`
    (the grid's list replaced by the bounds at each cell's size), keyed like the sums."""
    out = result[["level", "variant", "segment", "segment_value"]].copy()
    for _, m in quantile_metrics(mapping):
        col = stat_column(m.name, "q_n")
        picked = []
        for n, levels in zip(result[col], result[stat_column(m.name, _LEVELS)], strict=True):
            n = 0 if n is None or pd.isna(n) else int(n)
            n_star, lower, upper = pick_bounds(n, levels)
            value = float(levels[0]) if n and levels is not None else float("nan")
            picked.append((n, n_star, value, lower, upper))
        names = [stat_column(m.name, f) for f in m.summary_fields]
        out[names] = pd.DataFrame(picked, index=out.index, dtype="float64")
    return out


def merge_summaries(frame: pd.DataFrame, summaries: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (the sums' result) with the summary columns added on its overall and
    segment rows (NaN on the daily rows)."""

    def key(row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in row
        )

    cols = ["level", "variant", "segment", "segment_value"]
    by_key = {
        key(r[:4]): r[4:]
        for r in summaries[cols + list(summaries.columns[4:])].itertuples(index=False)
    }
    names = list(summaries.columns[4:])
    rows = [by_key.get(key(r)) for r in frame[cols].itertuples(index=False)]
    filled = [list(r) if r is not None else [float("nan")] * len(names) for r in rows]
    out = frame.copy()
    out[names] = pd.DataFrame(filled, index=frame.index, columns=names, dtype="float64")
    return out
