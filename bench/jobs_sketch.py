"""A sketch, not abcore code: what a single-pass ``analyze`` of a file could cost.

One DuckDB ``GROUP BY`` straight over the file at the finest grain (arm x day x segment
values: a few hundred groups) computes every statistic abcore computes for the four metrics
plus the per-arm missing / negative / out-of-range counts; the overall, daily and segment
levels are then sums of those rows, done in pandas on the small result. No table copy, no
GROUPING SETS, no per-unit checks (see bench/README.md for what that leaves out).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench import spec
from bench.jobs_floor import connect, reader


def _cast(column: str) -> str:
    return f'CAST("{column}" AS DOUBLE)'


def _single(name: str) -> list[str]:
    y = _cast(name)
    return [
        f"count({y}) AS {name}__n",
        f"sum({y}) AS {name}__sum",
        f"sum({y} * {y}) AS {name}__sum_sq",
        f"count(*) FILTER (WHERE {y} IS NULL) AS {name}__missing",
    ]


def _pair(name: str, y_col: str, x_col: str) -> list[str]:
    y, x = _cast(y_col), _cast(x_col)
    ok = f"({y} IS NOT NULL AND {x} IS NOT NULL)"
    py, px = f"CASE WHEN {ok} THEN {y} END", f"CASE WHEN {ok} THEN {x} END"
    return [
        f"count({py}) AS {name}__pair_n",
        f"sum({py}) AS {name}__sum_y",
        f"sum(({py}) * ({py})) AS {name}__sum_y_sq",
        f"sum({px}) AS {name}__sum_x",
        f"sum(({px}) * ({px})) AS {name}__sum_x_sq",
        f"sum(({py}) * ({px})) AS {name}__sum_xy",
    ]


def one_pass_sql(path: str) -> str:
    """The single ``GROUP BY`` at the finest grain, straight on the file."""
    name, numerator, denominator = spec.RATIO
    cuped_metric, covariate = next(iter(spec.COVARIATES.items()))
    items = ["count(*) AS n"]
    items += _single("converted")
    items.append(f"count(*) FILTER (WHERE {_cast('converted')} NOT IN (0, 1)) AS converted__oor")
    items += _single(cuped_metric) + _pair(cuped_metric, cuped_metric, covariate)
    items.append(f"count(*) FILTER (WHERE {_cast(cuped_metric)} < 0) AS {cuped_metric}__neg")
    items += _pair(name, numerator, denominator)
    items += [
        f'count(*) FILTER (WHERE "{numerator}" IS NULL OR "{denominator}" IS NULL) '
        f"AS {name}__missing",
        f'count(*) FILTER (WHERE "{numerator}" < 0 OR "{denominator}" < 0) AS {name}__neg',
    ]
    items += _single("page_load_ms")
    items.append(f"count(*) FILTER (WHERE {_cast('page_load_ms')} < 0) AS page_load_ms__neg")
    keys = [
        f'CAST("{spec.VARIANT}" AS VARCHAR) AS variant',
        f'CAST("{spec.TIMESTAMP}" AS DATE) AS day',
        *(f'CAST("{s}" AS VARCHAR) AS "{s}"' for s in spec.SEGMENTS),
    ]
    return f"SELECT {', '.join(keys + items)} FROM {reader(path)} GROUP BY ALL"


def run_one_pass(path: str) -> dict[str, Any]:
    """The sketch above plus its roll-ups to the overall, daily and segment levels."""
    with connect() as con:
        finest: pd.DataFrame = con.execute(one_pass_sql(path)).df()
    stats = finest.drop(columns=["day", *spec.SEGMENTS])
    overall = stats.groupby("variant").sum()
    daily = finest.drop(columns=list(spec.SEGMENTS)).groupby(["variant", "day"]).sum()
    daily = daily.groupby(level=0).cumsum()
    segments = [
        finest.drop(columns=["day", *(o for o in spec.SEGMENTS if o != s)])
        .groupby(["variant", s])
        .sum()
        for s in spec.SEGMENTS
    ]
    return {
        "finest_groups": len(finest),
        "overall_rows": len(overall),
        "daily_rows": len(daily),
        "segment_rows": sum(len(s) for s in segments),
    }
