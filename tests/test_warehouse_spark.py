"""The warehouse query in Spark: ``warehouse.analyze_spark`` on a table reads as the file does.

PySpark in local mode runs :func:`abcore.warehouse.stats_query`'s Spark SQL (ANSI mode, Spark
4's default) on the demo and on a generated million-row table; every effect, interval,
p-value, daily and segment row, the sample-ratio test, the checks and the verdict must equal
:func:`abcore.analyze` on the same file in DuckDB (``engines.assert_same_readout``). Spark's
native sample variance keeps a mean of 1.7e12 with sd 100 (numpy's two-pass variance and
scipy's Welch test are the reference).

Every Spark test lives in this file: under ``pytest -n 2 --dist loadfile`` one worker starts
the JVM, once (the ``spark`` fixture is session-scoped).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from engines import (
    CAPPED_MAPPING,
    DEMO,
    DEMO_MAPPING,
    DEMO_PLAN,
    PRECISION_MAPPING,
    REGRESSION_MAPPING,
    assert_same_readout,
    duckdb_types,
    file_readout,
    precision_differences,
    precision_frame,
    spark_session,  # noqa: F401 (the session's `spark` fixture)
    welch_reference,
)

from abcore import config, warehouse
from abcore.model import MetricMapping
from abcore.plan import ExperimentPlan
from sample_data.generate import make_experiment

# pyspark 4 warns that pandas 3 is not fully supported, and calls astype(copy=False) in
# toPandas: the readouts compared below are the check that the frames it hands over are right
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

SPARK_TYPES = {
    "VARCHAR": "STRING",
    "BIGINT": "BIGINT",
    "INTEGER": "INT",
    "DOUBLE": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
}
"""DuckDB's inferred type -> the Spark column type holding the same values."""
BIG_ROWS = 1_000_000
BIG_SEED = 20_260_301


def spark_schema(path: Path) -> str:
    """A Spark DDL schema with the types DuckDB infers for the file's columns."""
    return ", ".join(f"`{name}` {SPARK_TYPES[kind]}" for name, kind in duckdb_types(path))


def demo_view(spark: Any) -> Any:
    """The demo CSV as a Spark DataFrame, typed as DuckDB types it."""
    return spark.read.csv(
        str(DEMO), header=True, schema=spark_schema(DEMO), timestampFormat="yyyy-MM-dd HH:mm:ss"
    )


def assert_readout_not_empty(readout: Any) -> None:
    """The comparison covers something: every metric, days, both segment columns, checks."""
    assert sorted(readout.effects["metric"]) == sorted(m.name for m in DEMO_MAPPING.metrics)
    assert readout.daily["day"].nunique() >= 7
    assert set(readout.segments["segment"]) == set(DEMO_MAPPING.segments)
    assert {c.name for c in readout.checks} >= {"Sample ratio", "Units in more than one arm"}


def test_demo_in_spark_reads_as_the_file(spark):
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    # a global temporary view: its name has two parts, each quoted on its own
    demo_view(spark).createOrReplaceGlobalTempView("demo_experiment")
    plan = ExperimentPlan.from_json(DEMO_PLAN.read_text())

    table = ("global_temp", "demo_experiment")
    got = warehouse.analyze_spark(spark, table, DEMO_MAPPING, plan=plan)
    want = file_readout(DEMO, DEMO_MAPPING, plan)

    assert_readout_not_empty(want)
    assert want.recommendation is not None
    assert_same_readout(got, want)


def test_regression_adjustment_in_spark_reads_as_the_file(spark):
    """Several covariates and CUPED on ratios: the moments' means and covariances per cell
    (``covar_samp``) give the file's sums and cross-products."""
    demo_view(spark).createOrReplaceGlobalTempView("demo_regression")
    got = warehouse.analyze_spark(spark, ("global_temp", "demo_regression"), REGRESSION_MAPPING)
    want = file_readout(DEMO, REGRESSION_MAPPING)
    assert set(want.effects["method"]) == {"ols_adjusted", "cuped_delta_ratio"}
    assert_same_readout(got, want)


def test_a_million_rows_in_spark_read_as_the_file(spark, tmp_path, monkeypatch):
    path = tmp_path / "experiment.parquet"
    make_experiment(BIG_ROWS, seed=BIG_SEED).to_parquet(path, index=False)
    frame = spark.read.parquet(str(path))
    want_types = {name: SPARK_TYPES[kind].lower() for name, kind in duckdb_types(path)}
    got_types = {name: kind.replace("timestamp_ntz", "timestamp") for name, kind in frame.dtypes}
    assert got_types == want_types
    frame.createOrReplaceTempView("big_experiment")

    got = warehouse.analyze_spark(spark, "big_experiment", DEMO_MAPPING)
    # the file path checks the ids of a hash sample of units in a large file; the query
    # counts every id: make the file path count every id too, so the checks compare
    monkeypatch.setattr(config, "UNIT_CHECK_SAMPLE", 2 * BIG_ROWS)
    want = file_readout(path, DEMO_MAPPING)

    assert_readout_not_empty(want)
    assert int(want.srm.arms[0].observed) + int(want.srm.arms[1].observed) == BIG_ROWS
    assert_same_readout(got, want)


def test_spark_keeps_the_variance_of_a_large_mean(spark, tmp_path):
    frame = precision_frame()
    path = tmp_path / "precision.parquet"
    frame.to_parquet(path, index=False)
    spark.read.parquet(str(path)).createOrReplaceTempView("precision")

    got = warehouse.analyze_spark(spark, "precision", PRECISION_MAPPING)

    assert precision_differences(got, welch_reference(frame), ("control", "treatment")) == []


def test_capping_in_spark_reads_as_the_file(spark):
    """Per-metric capping through Spark's exact ``PERCENTILE`` (not ``PERCENTILE_APPROX``):
    the same bounds and the same readout as the file's ``quantile_cont``."""
    demo_view(spark).createOrReplaceGlobalTempView("demo_capped")
    got = warehouse.analyze_spark(spark, ("global_temp", "demo_capped"), CAPPED_MAPPING)
    want = file_readout(DEMO, CAPPED_MAPPING)
    assert set(want.aggregates.floors) == {"page_load_ms", "sessions", "clicks"}
    assert got.aggregates.caps == pytest.approx(want.aggregates.caps, rel=1e-12)
    assert got.aggregates.floors == pytest.approx(want.aggregates.floors, rel=1e-12)
    assert_same_readout(got, want)


def test_a_quantile_in_spark_reads_as_the_file(spark):
    """A p90 (issue 21 item 1): Spark ranks each arm's values by window functions (exact,
    not ``percentile_approx``); the arms' summaries and the test equal the file's."""
    p90 = MetricMapping("load_p90", "quantile", column="page_load_ms", quantile=0.9)
    mapping = dataclasses.replace(DEMO_MAPPING, metrics=(DEMO_MAPPING.metrics[0], p90))
    demo_view(spark).createOrReplaceGlobalTempView("demo_quantile")
    got = warehouse.analyze_spark(spark, ("global_temp", "demo_quantile"), mapping)
    want = file_readout(DEMO, mapping)
    for arm in want.aggregates.variants:
        assert got.aggregates.quantile("load_p90", arm) == want.aggregates.quantile("load_p90", arm)
    g = got.effects.set_index("metric").loc["load_p90"]
    w = want.effects.set_index("metric").loc["load_p90"]
    for col in ("abs_effect", "abs_ci_low", "abs_ci_high", "p_value"):
        assert g[col] == pytest.approx(w[col], rel=1e-9), col
