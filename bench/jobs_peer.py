"""The peer: tea-tasting (e10v/tea-tasting) on the same file and metrics, DuckDB through Ibis.

tea-tasting reads an Ibis table, so DuckDB aggregates the file (one ``GROUP BY variant`` with
counts, means, sample variances and covariances) and tea-tasting tests the per-arm
aggregates in Python, as abcore does. It computes less than ``analyze``: the four metrics
overall only (no sample-ratio test, no daily breakdown, no unit check, no segments, no value
checks).

Where the methods agree the p-values match ``analyze``'s (``tests/test_bench_smoke.py``):
Welch's t for ``page_load_ms`` and the delta method for the ratio (``use_t=False``: abcore
tests a ratio with the normal distribution, tea-tasting's default is Student's t). Two
defaults differ: ``converted`` is a Welch t-test on 0/1 values here, a pooled two-proportion
z-test in abcore; CUPED's coefficient comes from both arms together (total variance and
covariance) here, from the within-arm pooled ones in abcore. Both estimate the same effect;
the p-values differ in the third digit on small files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import tea_tasting as tt

from bench import spec


def table(con: Any, path: str) -> Any:
    """An Ibis table over ``read_parquet`` / ``read_csv`` of the file (a view, no copy)."""
    if path.endswith(".parquet"):
        return con.read_parquet(path)
    return con.read_csv(path)


def experiment() -> tt.Experiment:
    """The four metrics of the ``analyze`` job, in tea-tasting's terms."""
    numer, denom = spec.RATIO[1], spec.RATIO[2]
    return tt.Experiment(
        {
            "converted": tt.Mean("converted"),
            "revenue": tt.Mean("revenue", covariate=spec.COVARIATES["revenue"]),
            spec.RATIO[0]: tt.RatioOfMeans(numer, denom, use_t=False),
            "page_load_ms": tt.Mean("page_load_ms"),
        },
        variant=spec.VARIANT,
    )


def run_tea_tasting(path: str) -> dict[str, Any]:
    """``Experiment.analyze`` over an Ibis DuckDB table, with abcore's threads, memory limit
    and spill folder."""
    settings: dict[str, Any] = {"threads": spec.THREADS, "memory_limit": spec.memory_limit()}
    if spec.temp_directory():
        Path(spec.temp_directory()).mkdir(parents=True, exist_ok=True)
        settings["temp_directory"] = spec.temp_directory()
    con = ibis.duckdb.connect(**settings)
    try:
        result = experiment().analyze(table(con, path), control=spec.CONTROL)
    finally:
        con.disconnect()
    return {
        "p_values": {name: float(r.pvalue) for name, r in result.items()},
        "effects": {name: float(r.effect_size) for name, r in result.items()},
        "versions": {"tea_tasting": tt.__version__, "ibis": ibis.__version__},
    }
