"""The floor: one DuckDB ``GROUP BY variant`` straight over the file, nothing else."""

from __future__ import annotations

from typing import Any

import duckdb

from bench import spec


def reader(path: str) -> str:
    """``read_csv('...')`` or ``read_parquet('...')`` with the path as a quoted literal."""
    literal = "'" + path.replace("'", "''") + "'"
    return f"read_parquet({literal})" if path.endswith(".parquet") else f"read_csv({literal})"


def connect() -> duckdb.DuckDBPyConnection:
    """A connection with the same threads and memory limit as ``abcore.ingest.connect``."""
    return duckdb.connect(
        ":memory:", config={"threads": spec.THREADS, "memory_limit": spec.MEMORY_LIMIT}
    )


def bare_scan_sql(path: str) -> str:
    """Count, sum and sum of squares of every metric column per arm, plus the two
    cross-products CUPED and the ratio need: the least any analysis of the file must do."""
    items = ["count(*) AS n"]
    for c in spec.COLUMNS:
        items += [f'sum("{c}") AS {c}_sum', f'sum("{c}" * "{c}") AS {c}_sum_sq']
    items += [
        'sum("revenue" * "pre_revenue") AS revenue_pre_xy',
        'sum("clicks" * "sessions") AS clicks_sessions_xy',
    ]
    return f'SELECT "{spec.VARIANT}", {", ".join(items)} FROM {reader(path)} GROUP BY 1'


def run_bare_scan(path: str) -> dict[str, Any]:
    with connect() as con:
        rows = con.execute(bare_scan_sql(path)).fetchall()
    return {"groups": len(rows)}


def unit_check_sql(path: str) -> str:
    """Units, units with several rows and units in more than one arm: one ``GROUP BY`` unit
    (min/max of the arm instead of ``count(DISTINCT arm)``), the least an exact check of
    the assignment costs. It groups by a column with one value per row, so it is a hash
    table as large as the file's units, not a few hundred groups."""
    unit, variant = f'"{spec.UNIT}"', f'"{spec.VARIANT}"'
    return (
        "SELECT count(*) AS units, count(*) FILTER (WHERE k > 1) AS units_with_several_rows, "
        "count(*) FILTER (WHERE lo <> hi) AS units_in_multiple_arms FROM ("
        f"SELECT {unit}, count(*) AS k, min({variant}) AS lo, max({variant}) AS hi "
        f"FROM {reader(path)} WHERE {unit} IS NOT NULL AND {variant} IS NOT NULL "
        f"GROUP BY {unit})"
    )


def run_unit_check(path: str) -> dict[str, Any]:
    with connect() as con:
        units, several, multiple = con.execute(unit_check_sql(path)).fetchall()[0]
    return {"units": units, "units_with_several_rows": several, "units_in_multiple_arms": multiple}
