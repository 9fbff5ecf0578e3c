"""Per-metric capping in the warehouse query: the same bounds and the same readout as the
file path (DuckDB here; PostgreSQL and Spark in their own files), spelled for each engine."""

from __future__ import annotations

import dataclasses
from typing import Any

import duckdb
import pandas as pd
import pytest
import sqlglot
from engines import CAPPED_MAPPING, DEMO, assert_same_readout, file_readout

import abcore
from abcore import warehouse
from abcore.capping import Capping
from abcore.model import Mapping, MetricMapping
from sample_data.generate import make_session_level


def _duckdb(frame: pd.DataFrame, mapping: Mapping) -> Any:
    con = duckdb.connect()
    try:
        con.register("rows_view", frame)
        con.execute('CREATE TABLE "events" AS SELECT * FROM rows_view')
        return warehouse.analyze_connection(con, "events", mapping, dialect="duckdb")
    finally:
        con.close()


def test_capped_demo_in_duckdb_reads_as_the_file() -> None:
    got = _duckdb(pd.read_csv(DEMO), CAPPED_MAPPING)
    want = file_readout(DEMO, CAPPED_MAPPING)
    assert set(want.aggregates.caps) == {"revenue", "page_load_ms", "sessions"}
    assert set(want.aggregates.floors) == {"page_load_ms", "sessions", "clicks"}
    assert got.aggregates.caps == pytest.approx(want.aggregates.caps, rel=1e-12)
    assert got.aggregates.floors == pytest.approx(want.aggregates.floors, rel=1e-12)
    assert got.aggregates.mapping.metric("revenue").capping == Capping(upper=99, ignore_zeros=True)
    assert_same_readout(got, want)
    uncapped = file_readout(DEMO, dataclasses.replace(CAPPED_MAPPING, metrics=tuple(
        dataclasses.replace(m, capping=None) for m in CAPPED_MAPPING.metrics
    )))  # fmt: skip
    # the capping changed the readout: the comparison above is not of two uncapped ones
    assert not (got.effects["abs_ci_low"] == uncapped.effects["abs_ci_low"]).iloc[1:].any()


def test_unit_day_rows_are_capped_per_unit_in_the_query_as_in_the_file(tmp_path) -> None:
    """Rows of a unit are added up first, then the unit's total is capped (both paths)."""
    rows = make_session_level(n_users=3_000, seed=11)
    path = tmp_path / "sessions.csv"
    rows.to_csv(path, index=False)
    metric = MetricMapping("clicks", "continuous", capping=Capping(upper=95))
    want = abcore.analyze(path, variant="variant", unit="user_id", metrics=[metric])
    mapping = want.aggregates.mapping
    assert mapping.aggregate_units
    units = rows.groupby("user_id")["clicks"].sum()
    assert want.aggregates.caps["clicks"] == pytest.approx(units.quantile(0.95), rel=1e-12)
    frame = pd.read_csv(path)
    if mapping.timestamp:
        frame[mapping.timestamp] = pd.to_datetime(frame[mapping.timestamp])
    got = _duckdb(frame, mapping)
    assert got.aggregates.caps == pytest.approx(want.aggregates.caps, rel=1e-12)
    assert_same_readout(got, want)


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "bigquery", "snowflake", "postgres"])
def test_capped_query_parses_back_with_an_exact_percentile(dialect: str) -> None:
    sql = warehouse.stats_query(CAPPED_MAPPING, "t", dialect=dialect)
    sqlglot.parse_one(sql, read=dialect)
    spelled = {
        "duckdb": "QUANTILE_CONT(",
        "spark": "PERCENTILE(",
        "bigquery": ") OVER ()",
        "snowflake": "WITHIN GROUP (ORDER BY",
        "postgres": "WITHIN GROUP (ORDER BY",
    }[dialect]
    assert spelled in sql
    assert "APPROX" not in sql.upper()


def test_trino_refuses_a_percentile_cap_but_takes_fixed_amounts() -> None:
    with pytest.raises(ValueError, match=r"approximate percentiles only.*'revenue'"):
        warehouse.stats_query(CAPPED_MAPPING, "t", dialect="trino")
    fixed = Mapping(
        variant="arm",
        metrics=(MetricMapping("revenue", "continuous", capping=Capping(0, 500, "absolute")),),
    )
    assert "500.0" in warehouse.stats_query(fixed, "t", dialect="trino")


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake"])
def test_engines_without_a_harness_read_as_the_file_through_sqlglot(dialect: str) -> None:
    """No BigQuery or Snowflake here: their capped query (BigQuery's analytic
    ``PERCENTILE_CONT(x, p) OVER ()`` with ``LIMIT 1``, Snowflake's ``WITHIN GROUP``),
    read back by sqlglot and run in DuckDB, gives the file's bounds and readout: the
    query's shape is right, though not each engine's own run of it."""
    sql = warehouse.stats_query(CAPPED_MAPPING, "events", dialect=dialect)
    duck = sqlglot.transpile(sql, read=dialect, write="duckdb")[0]
    con = duckdb.connect()
    try:
        con.register("rows_view", pd.read_csv(DEMO))
        con.execute("CREATE TABLE events AS SELECT * FROM rows_view")
        got = warehouse.analyze_output(con.execute(duck).df())
    finally:
        con.close()
    want = file_readout(DEMO, CAPPED_MAPPING)
    assert got.aggregates.caps == pytest.approx(want.aggregates.caps, rel=1e-12)
    assert got.aggregates.floors == pytest.approx(want.aggregates.floors, rel=1e-12)
    assert_same_readout(got, want)
