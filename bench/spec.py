"""What every job computes, as plain constants (no heavy imports, so a child's baseline
memory holds only the libraries its own job needs)."""

from __future__ import annotations

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
CURVE_POINTS = 200
AA_SIMULATIONS = 1_000
AA_ROWS = 50_000
