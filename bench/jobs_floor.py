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
    """A connection with the same threads, memory limit and spill folder as abcore's
    (``abcore.ingest.connect`` as the analyze job calls it)."""
    settings = {"threads": spec.THREADS, "memory_limit": spec.memory_limit()}
    if spec.temp_directory():
        settings["temp_directory"] = spec.temp_directory()
    return duckdb.connect(":memory:", config=settings)


def _sums() -> list[str]:
    """Count, sum and sum of squares of every metric column, plus the two cross-products
    CUPED and the ratio need."""
    items = ["count(*) AS n"]
    for c in spec.COLUMNS:
        items += [f'sum("{c}") AS {c}_sum', f'sum("{c}" * "{c}") AS {c}_sum_sq']
    return [
        *items,
        'sum("revenue" * "pre_revenue") AS revenue_pre_xy',
        'sum("clicks" * "sessions") AS clicks_sessions_xy',
    ]


def bare_scan_sql(path: str) -> str:
    """The sums per arm: the least any analysis of the file must do."""
    return f'SELECT "{spec.VARIANT}", {", ".join(_sums())} FROM {reader(path)} GROUP BY 1'


def run_bare_scan(path: str) -> dict[str, Any]:
    with connect() as con:
        rows = con.execute(bare_scan_sql(path)).fetchall()
    return {"groups": len(rows)}


def columns_scan_sql(path: str) -> str:
    """The bare scan's sums over every column the readout reads: grouped by arm x day x the
    two segments (the daily and segment breakdowns) and with a count of unit-id hashes (the
    unit check's sample). What one pass for this readout costs in DuckDB, with nothing of
    abcore: the second floor, next to the bare scan, which reads the metric columns only."""
    items = [*_sums(), f'count_if(hash("{spec.UNIT}") % 100 = 0) AS sampled_units']
    keys = [f'"{spec.VARIANT}"', f'CAST("{spec.TIMESTAMP}" AS DATE)']
    keys += [f'"{s}"' for s in spec.SEGMENTS]
    return f"SELECT {', '.join(keys + items)} FROM {reader(path)} GROUP BY ALL"


def run_columns_scan(path: str) -> dict[str, Any]:
    with connect() as con:
        rows = con.execute(columns_scan_sql(path)).fetchall()
    return {"groups": len(rows)}
