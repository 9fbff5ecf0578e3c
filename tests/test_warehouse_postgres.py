"""The warehouse query in PostgreSQL: ``warehouse.analyze_connection`` reads as the file does.

A throwaway cluster (``engines.postgres``) holds the demo, loaded with ``COPY`` from its CSV;
the query's readout through a psycopg connection must equal :func:`abcore.analyze` on the
file in DuckDB, field by field (``engines.assert_same_readout``). A precision case (a
timestamp in milliseconds: mean 1.7e12, sd 100, where the textbook sum-of-squares variance is
noise) is checked against numpy's two-pass variance and scipy's Welch test.

Every PostgreSQL test lives in this file: under ``pytest -n 2 --dist loadfile`` one worker
starts the cluster, once (the ``postgres`` fixture is session-scoped).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from engines import (
    CAPPED_MAPPING,
    DEMO,
    DEMO_MAPPING,
    DEMO_PLAN,
    PRECISION_MAPPING,
    REGRESSION_MAPPING,
    SD_MS,
    assert_same_readout,
    duckdb_types,
    file_readout,
    naive_variance,
    postgres_cluster,  # noqa: F401 (the session's `postgres` fixture)
    precision_differences,
    precision_frame,
    readout_differences,
    welch_reference,
)

from abcore import warehouse
from abcore.model import MetricMapping
from abcore.plan import ExperimentPlan
from sample_data.generate import make_experiment

PG_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
}
"""DuckDB's inferred type -> the PostgreSQL column type holding the same values."""
BOOLEAN_SEED = 23


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_csv(con: Any, table: str, path: Path) -> None:
    """Create ``table`` with the types DuckDB infers for the CSV's columns and ``COPY`` the
    file into it (streamed from the client: the server user need not read the file)."""
    columns = ", ".join(f"{quote(n)} {PG_TYPES[k]}" for n, k in duckdb_types(path))
    con.execute(f"DROP TABLE IF EXISTS {quote(table)}")
    con.execute(f"CREATE TABLE {quote(table)} ({columns})")
    copy_sql = f"COPY {quote(table)} FROM STDIN (FORMAT csv, HEADER true)"
    with con.cursor().copy(copy_sql) as copy, path.open("rb") as source:
        while chunk := source.read(1 << 20):
            copy.write(chunk)


@pytest.fixture(scope="module")
def pg(postgres) -> Iterator[Any]:
    """One connection to the cluster, with the demo loaded as ``demo_experiment``."""
    with postgres.connect() as con:
        load_csv(con, "demo_experiment", DEMO)
        yield con


@pytest.fixture(scope="module")
def demo_plan() -> ExperimentPlan:
    return ExperimentPlan.from_json(DEMO_PLAN.read_text())


@pytest.fixture(scope="module")
def demo_file_readout(demo_plan) -> Any:
    return file_readout(DEMO, DEMO_MAPPING, demo_plan)


@pytest.mark.parametrize("table", ["demo_experiment", ("public", "demo_experiment")])
def test_demo_in_postgres_reads_as_the_file(pg, demo_plan, demo_file_readout, table):
    (rows,) = pg.execute("SELECT count(*) FROM demo_experiment").fetchone()
    assert rows == len(pd.read_csv(DEMO))

    got = warehouse.analyze_connection(pg, table, DEMO_MAPPING, dialect="postgres", plan=demo_plan)

    want = demo_file_readout
    assert sorted(want.effects["metric"]) == sorted(m.name for m in DEMO_MAPPING.metrics)
    assert want.daily["day"].nunique() >= 7
    assert set(want.segments["segment"]) == set(DEMO_MAPPING.segments)
    assert want.recommendation is not None
    assert_same_readout(got, want)


def test_regression_adjustment_in_postgres_reads_as_the_file(pg):
    """Several covariates and CUPED on ratios through PostgreSQL's ``covar_samp``."""
    got = warehouse.analyze_connection(
        pg, "demo_experiment", REGRESSION_MAPPING, dialect="postgres"
    )
    want = file_readout(DEMO, REGRESSION_MAPPING)
    assert set(want.effects["method"]) == {"ols_adjusted", "cuped_delta_ratio"}
    assert_same_readout(got, want)


def test_the_comparison_sees_one_changed_number_or_status(demo_file_readout):
    want = demo_file_readout
    effects = want.effects.copy()
    effects.loc[0, "p_value"] *= 1 + 1e-8
    nudged = dataclasses.replace(want, effects=effects)
    (difference,) = readout_differences(nudged, want)
    assert difference.startswith("analysis.effects[0].p_value: ")
    flipped = [dataclasses.replace(c, status="fail") for c in want.checks[:1]] + want.checks[1:]
    differences = readout_differences(dataclasses.replace(want, checks=flipped), want)
    assert differences == [f"analysis.checks[0].status: 'fail' != {want.checks[0].status!r}"]


@pytest.fixture
def boolean_case(pg, tmp_path) -> Path:
    """A demo-like file whose yes/no metric is TRUE/FALSE, and its ``booleans`` table."""
    frame = make_experiment(4_000, seed=BOOLEAN_SEED)
    frame["converted"] = frame["converted"].astype(bool)
    path = tmp_path / "booleans.csv"
    frame.to_csv(path, index=False)
    assert dict(duckdb_types(path))["converted"] == "BOOLEAN"
    load_csv(pg, "booleans", path)
    return path


def test_a_yes_no_metric_stored_as_boolean_reads_as_the_file(pg, boolean_case):
    got = warehouse.analyze_connection(pg, "booleans", DEMO_MAPPING, dialect="postgres")
    assert_same_readout(got, file_readout(boolean_case, DEMO_MAPPING))


# --- precision: a mean that dwarfs the spread ----------------------------------------------


@pytest.fixture(scope="module")
def precision_case(pg, tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    """The precision rows in a CSV file and in the ``precision`` table."""
    frame = precision_frame()
    path = tmp_path_factory.mktemp("precision") / "precision.csv"
    frame.to_csv(path, index=False)
    load_csv(pg, "precision", path)
    return frame, path


def test_the_textbook_variance_is_noise_at_a_mean_of_1_7e12(precision_case):
    frame, _ = precision_case
    for _, values in frame.groupby("variant")["event_ms"]:
        exact = np.var(values.to_numpy(np.float64), ddof=1)
        assert abs(exact / SD_MS**2 - 1) < 0.1
        assert abs(naive_variance(values.to_numpy()) / exact - 1) > 0.01


def test_postgres_keeps_the_variance_of_a_large_mean(pg, precision_case):
    frame, _ = precision_case
    got = warehouse.analyze_connection(pg, "precision", PRECISION_MAPPING, dialect="postgres")
    assert precision_differences(got, welch_reference(frame), ("control", "treatment")) == []


def test_the_file_path_keeps_the_variance_of_a_large_mean(precision_case):
    frame, path = precision_case
    got = file_readout(path, PRECISION_MAPPING)
    assert got.mapping.timestamp is None
    assert precision_differences(got, welch_reference(frame), ("control", "treatment")) == []


def test_capping_in_postgres_reads_as_the_file(pg):
    """Per-metric capping through ``PERCENTILE_CONT(p) WITHIN GROUP``: the same bounds and
    the same readout as the file's ``quantile_cont``."""
    got = warehouse.analyze_connection(pg, "demo_experiment", CAPPED_MAPPING, dialect="postgres")
    want = file_readout(DEMO, CAPPED_MAPPING)
    assert set(want.aggregates.caps) == {"revenue", "page_load_ms", "sessions"}
    assert got.aggregates.caps == pytest.approx(want.aggregates.caps, rel=1e-12)
    assert got.aggregates.floors == pytest.approx(want.aggregates.floors, rel=1e-12)
    assert_same_readout(got, want)


def test_a_quantile_in_postgres_reads_as_the_file(pg):
    """A p90 and a p50 (issue 21 item 1): PostgreSQL ranks each arm's values by window
    functions, the file path asks DuckDB's quantile_cont; the arms' summaries and the tests
    agree to 1e-9 (the segment breakdown is the file's only)."""
    quantiles = (
        MetricMapping("load_p90", "quantile", column="page_load_ms", quantile=0.9),
        MetricMapping("revenue_p50", "quantile", column="revenue", quantile=0.5),
    )
    mapping = dataclasses.replace(DEMO_MAPPING, metrics=(*DEMO_MAPPING.metrics[:1], *quantiles))
    got = warehouse.analyze_connection(pg, "demo_experiment", mapping, dialect="postgres")
    want = file_readout(DEMO, mapping)
    for m in quantiles:
        for arm in want.aggregates.variants:
            assert got.aggregates.quantile(m.name, arm) == want.aggregates.quantile(m.name, arm)
        g = got.effects.set_index("metric").loc[m.name]
        w = want.effects.set_index("metric").loc[m.name]
        for col in ("abs_effect", "abs_ci_low", "abs_ci_high", "rel_ci_low", "p_value"):
            assert g[col] == pytest.approx(w[col], rel=1e-9, nan_ok=True), (m.name, col)
