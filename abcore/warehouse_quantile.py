"""Quantile metrics in the warehouse query (:mod:`abcore.warehouse`): each arm's quantile and
its outer interval (:mod:`abcore.quantile`) from exact order statistics, in any engine.

Engines spell quantiles differently (``quantile_cont`` in DuckDB, ``PERCENTILE_CONT ...
WITHIN GROUP`` in PostgreSQL and Snowflake, ``percentile_approx`` in Spark, no aggregate at
all in BigQuery), and the outer interval's levels depend on each arm's units, which a
``PERCENTILE_CONT`` argument cannot. So the query ranks the values instead (``ROW_NUMBER``
and ``COUNT`` over the arm: window functions every engine has), computes the three levels
from the arm's units (the quantile, and ``q -/+ z sqrt(q (1 - q) / n)`` clipped to [0, 1])
and returns, per level, the position ``h = (n - 1) p`` and the values ranked ``floor(h) + 1``
and ``floor(h) + 2``; :func:`read_summaries` interpolates between them as ``quantile_cont``
and numpy's linear method do. The bounds are the exact ones (``n_star = n``).

Per arm only: the output's rows are cells (arm x day x segment values), so the quantile of
a day or of a segment has no row to travel on; a quantile's segment breakdown needs the
rows (a file), and the readout leaves it out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlglot import exp

from abcore.model import Mapping, MetricMapping, stat_column
from abcore.quantile import SUMMARY_FIELDS, interpolate
from abcore.quantile_sql import LEVEL_COUNT, levels_sql

__all__ = ["quantile_columns", "quantile_ctes", "quantile_joins", "read_summaries"]


def _metrics(mapping: Mapping) -> list[tuple[int, MetricMapping]]:
    return [(i, m) for i, m in enumerate(mapping.metrics) if m.summary_fields]


def _id(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _output_names(m: MetricMapping) -> list[str]:
    names = [stat_column(m.name, "q_n")]
    for k in range(LEVEL_COUNT):
        names += [stat_column(m.name, f"q_h{k}"), stat_column(m.name, f"q_a{k}")]
        names.append(stat_column(m.name, f"q_b{k}"))
    return names


def quantile_ctes(mapping: Mapping, source: str) -> list[tuple[str, exp.Select]]:
    """The CTEs of each quantile metric over ``source`` (the rows, or the units rolled up):
    the ranked values, their levels' positions, and one row per arm (``__ab_qs<i>``)."""
    out: list[tuple[str, exp.Select]] = []
    for i, m in _metrics(mapping):
        ranked = (
            exp.select(
                "__ab_variant AS __ab_v",
                f"__ab_y{i} AS __ab_x",
                f"ROW_NUMBER() OVER (PARTITION BY __ab_variant ORDER BY __ab_y{i}) AS __ab_r",
                "CAST(COUNT(*) OVER (PARTITION BY __ab_variant) AS DOUBLE) AS __ab_n",
            )
            .from_(source)
            .where(f"__ab_y{i} IS NOT NULL AND __ab_variant IS NOT NULL")
        )
        levels = levels_sql(float(m.quantile or 0.5), "__ab_n")
        positioned = exp.select(
            "__ab_v",
            "__ab_x",
            "__ab_r",
            "__ab_n",
            *(f"(__ab_n - 1) * ({p}) AS __ab_h{k}" for k, p in enumerate(levels)),
        ).from_(f"__ab_qr{i}")
        names = _output_names(m)
        cols: list[exp.Expression] = [
            exp.alias_(exp.column("__ab_v"), _id("variant")),
            exp.alias_(exp.maybe_parse("MAX(__ab_n)"), _id(names[0])),
        ]
        for k in range(LEVEL_COUNT):
            h, a, b = names[1 + 3 * k : 4 + 3 * k]
            cols.append(exp.alias_(exp.maybe_parse(f"MAX(__ab_h{k})"), _id(h)))
            for offset, name in ((1, a), (2, b)):
                pick = f"MAX(CASE WHEN __ab_r = FLOOR(__ab_h{k}) + {offset} THEN __ab_x END)"
                cols.append(exp.alias_(exp.maybe_parse(pick), _id(name)))
        per_arm = exp.select(*cols).from_(f"__ab_qp{i}").group_by("__ab_v")
        out += [(f"__ab_qr{i}", ranked), (f"__ab_qp{i}", positioned), (f"__ab_qs{i}", per_arm)]
    return out


def quantile_joins(mapping: Mapping, cells: str) -> list[tuple[str, exp.Expression]]:
    """``(cte, condition)`` of each per-arm CTE joined (left) onto the cells by arm."""
    return [
        (
            f"__ab_qs{i}",
            exp.EQ(
                this=exp.column(_id("variant"), table=_id(cells)),
                expression=exp.column(_id("variant"), table=_id(f"__ab_qs{i}")),
            ),
        )
        for i, _ in _metrics(mapping)
    ]


def quantile_columns(mapping: Mapping) -> list[exp.Column]:
    """The output columns of the per-arm CTEs (repeated on each cell row of the arm)."""
    return [
        exp.column(_id(name), table=_id(f"__ab_qs{i}"))
        for i, m in _metrics(mapping)
        for name in _output_names(m)
    ]


def read_summaries(arms: pd.DataFrame, stats: pd.DataFrame, mapping: Mapping) -> pd.DataFrame:
    """``stats`` (the rolled-up sums) with each quantile metric's summary on its overall
    rows: the values interpolated at each level's position (NaN elsewhere: no summary)."""
    out = stats.copy()
    for _, m in _metrics(mapping):
        names = _output_names(m)
        missing = [n for n in names if n not in arms.columns]
        if missing:
            raise ValueError(
                f"the query's output lacks the column '{missing[0]}' of quantile metric "
                f"{m.name!r}: upload its whole result."
            )
        first = arms.groupby(arms["variant"].astype(str), sort=False)[names].first()
        first = first.apply(pd.to_numeric, errors="coerce")
        fields = [stat_column(m.name, f) for f in SUMMARY_FIELDS]
        for f in fields:
            out[f] = np.nan
        for arm, row in first.iterrows():
            values = [
                float(interpolate(*(float(row[n]) for n in names[1 + 3 * k : 4 + 3 * k])))
                for k in range(LEVEL_COUNT)
            ]
            n = float(row[names[0]])
            mask = (out["level"] == "overall") & (out["variant"].astype(str) == arm)
            out.loc[mask, fields] = [n, n, *values]
    return out
