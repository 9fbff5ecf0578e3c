"""What every job computes, as plain constants (no heavy imports, so a child's baseline
memory holds only the libraries its own job needs)."""

from __future__ import annotations

import os

VARIANT, UNIT, TIMESTAMP = "variant", "user_id", "first_exposure"
CONTROL, TREATMENT = "control", "treatment"
SEGMENTS = ("platform", "device")
COLUMNS = ("converted", "revenue", "pre_revenue", "clicks", "sessions", "page_load_ms")
"""Every numeric column the four metrics read."""
RATIO = ("clicks_per_session", "clicks", "sessions")
"""The ratio metric: name, numerator, denominator."""
COVARIATES = {"revenue": "pre_revenue"}
"""CUPED: metric -> pre-period covariate."""
THREADS = 2
"""DuckDB threads for the floors; abcore.config.DUCKDB_THREADS for analyze (also 2)."""
MEMORY_LIMIT = "2GB"
"""DuckDB memory limit for the floors, as abcore.config.DUCKDB_MEMORY_LIMIT."""
MEMORY_LIMIT_ENV = "BENCH_MEMORY_LIMIT"
"""Set by ``python -m bench.run --memory-limit``: every job's DuckDB limit (default above)."""
TEMP_DIR_ENV = "BENCH_TEMP_DIR"
"""Set by :mod:`bench.tasks` for each child: where that job's DuckDB spills (watched)."""

CURVE_POINTS = 200
AA_SIMULATIONS = 1_000
AA_ROWS = 50_000


def memory_limit() -> str:
    """The DuckDB memory limit of every job in this child: ``--memory-limit`` or the
    engine's default."""
    return os.environ.get(MEMORY_LIMIT_ENV) or MEMORY_LIMIT


def temp_directory() -> str | None:
    """Where this child's DuckDB spills beyond its memory limit (None outside bench.tasks)."""
    return os.environ.get(TEMP_DIR_ENV) or None
