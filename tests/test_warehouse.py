"""The warehouse query (``abcore.warehouse``): rendered per dialect, run in DuckDB, read back.

The reference is the file path, ``abcore.analyze``, on the same rows: every effect, interval,
p-value, daily and segment row, SRM and check must agree. The precision case is checked
against numpy's two-pass variance and scipy's Welch test. Spark and PostgreSQL run the same
query in ``test_warehouse_spark.py`` and ``test_warehouse_postgres.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot
from scipy import stats as sps

import abcore
from abcore import InputError, warehouse
from abcore.model import Mapping, MetricMapping
from sample_data.generate import make_experiment, make_session_level
from tests.real_data import real

DEMO = Path(__file__).parents[1] / "sample_data" / "demo_experiment.csv"
DEMO_METRICS = [
    MetricMapping("converted", "binary"),
    MetricMapping("revenue", "continuous", covariate="pre_revenue"),
    MetricMapping("ctr", "ratio", numerator="clicks", denominator="sessions"),
    MetricMapping("page_load_ms", "continuous"),
]
DEMO_ROLES: dict[str, Any] = dict(
    variant="variant",
    unit="user_id",
    timestamp="first_exposure",
    segments=["platform", "device"],
    metrics=DEMO_METRICS,
)


def assert_same_readout(a: Any, b: Any, rtol: float = 1e-9) -> None:
    """Every number of two readouts equal (to ``rtol``), every label and check equal."""
    for name in ("effects", "daily", "segments"):
        x, y = getattr(a, name), getattr(b, name)
        assert list(x.columns) == list(y.columns), name
        assert x.shape == y.shape, name
        numeric = x.select_dtypes("number").columns
        for col in x.columns:
            if col in numeric:
                np.testing.assert_allclose(
                    x[col].to_numpy(float), y[col].to_numpy(float), rtol=rtol, atol=1e-12,
                    err_msg=f"{name}.{col}",
                )  # fmt: skip
            else:
                assert x[col].astype(str).tolist() == y[col].astype(str).tolist(), f"{name}.{col}"
    assert a.srm.arms == b.srm.arms
    assert a.srm.status == b.srm.status
    assert a.srm.p_value == pytest.approx(b.srm.p_value, rel=rtol, abs=1e-15)
    assert [(c.name, c.status, c.message, c.kind) for c in a.checks] == [
        (c.name, c.status, c.message, c.kind) for c in b.checks
    ]


def _duckdb_readout(frame: pd.DataFrame, mapping: Mapping) -> Any:
    con = duckdb.connect()
    try:
        con.register("rows_view", frame)
        con.execute('CREATE TABLE "my events" AS SELECT * FROM rows_view')
        return warehouse.analyze_connection(con, "my events", mapping, dialect="duckdb")
    finally:
        con.close()


# --- rendering ------------------------------------------------------------------------------

MAPPINGS = {
    "demo": Mapping(**{**DEMO_ROLES, "segments": tuple(DEMO_ROLES["segments"])}),
    "no unit, no day": Mapping(variant="arm", metrics=(MetricMapping("x", "continuous"),)),
    "unit-day rows": Mapping(
        variant="arm",
        unit="uid",
        timestamp="ts",
        aggregate_units=True,
        metrics=(
            MetricMapping("b", "binary"),
            MetricMapping("c", "proportion_of_counts", numerator="s", denominator="t"),
        ),
    ),
    "odd names": Mapping(
        variant='arm "A"',
        unit="user`id",
        segments=("it's",),
        metrics=(MetricMapping("rev\\enue", "continuous", covariate="pre 'rev'"),),
    ),
}


@pytest.mark.parametrize("dialect", warehouse.DIALECTS)
@pytest.mark.parametrize("case", MAPPINGS)
def test_query_parses_back_in_its_dialect(dialect: str, case: str) -> None:
    sql = warehouse.stats_query(MAPPINGS[case], ("proj", "data set", "events"), dialect=dialect)
    tree = sqlglot.parse_one(sql, read=dialect)
    assert tree.sql(dialect=dialect, identify=True, pretty=True) == sql
    # every column the mapping names is an identifier of the query, none a string literal
    names = {c.name for c in tree.find_all(sqlglot.exp.Column)}
    mapping = MAPPINGS[case]
    assert {mapping.variant, *mapping.segments} <= names
    literals = [lit.this for lit in tree.find_all(sqlglot.exp.Literal) if lit.is_string]
    assert len(literals) == 1
    assert json.loads(literals[0])["variant"] == mapping.variant


def test_dialects_spell_what_their_engines_know() -> None:
    m = MAPPINGS["demo"]
    assert "FLOAT64" in warehouse.stats_query(m, "t", dialect="bigquery")
    assert "`first_exposure`" in warehouse.stats_query(m, "t", dialect="spark")
    pg = warehouse.stats_query(m, "t", dialect="postgres")
    assert "VAR_SAMP(" in pg
    assert "DOUBLE PRECISION" in pg
    assert "COVAR_SAMP(" in pg
    for dialect in warehouse.DIALECTS:  # neither COUNT_IF nor FILTER: not in every engine
        sql = warehouse.stats_query(m, "t", dialect=dialect).upper()
        assert "COUNT_IF" not in sql
        assert "FILTER (" not in sql
        assert "GROUPING SETS" not in sql


def test_bad_arguments_are_refused() -> None:
    m = MAPPINGS["demo"]
    with pytest.raises(ValueError, match="dialect must be one of"):
        warehouse.stats_query(m, "t", dialect="oracle")
    with pytest.raises(ValueError, match="name parts"):
        warehouse.stats_query(m, ("a", "b", "c", "d"))
    metric = MetricMapping("x", "binary", sum_column="s")
    aggregated = Mapping(variant="v", shape="aggregated", n_column="n", metrics=(metric,))
    with pytest.raises(ValueError, match="unit-level rows"):
        warehouse.stats_query(aggregated, "t")


def test_odd_names_run_in_duckdb_and_keep_the_mapping() -> None:
    rng = np.random.default_rng(4)
    n = 400
    frame = pd.DataFrame(
        {
            'arm "A"': rng.choice(["control", "treatment"], n),
            "user`id": np.arange(n),
            "it's": rng.choice(["a", "b"], n),
            "rev\\enue": rng.gamma(2.0, 3.0, n),
            "pre 'rev'": rng.gamma(2.0, 3.0, n),
        }
    )
    con = duckdb.connect()
    con.register("t", frame)
    out = con.execute(warehouse.stats_query(MAPPINGS["odd names"], "t")).df()
    assert Mapping.from_dict(json.loads(out["abcore_mapping"][0])) == MAPPINGS["odd names"]
    aggregates, inst = warehouse.read_output(out)
    assert inst.units == n
    assert inst.units_in_multiple_arms == 0
    ref = frame.groupby('arm "A"')["rev\\enue"]
    for arm in ("control", "treatment"):
        s = aggregates.sample_mean("rev\\enue", arm)
        assert s.mean == pytest.approx(ref.mean()[arm], rel=1e-12)
        assert s.variance == pytest.approx(ref.var()[arm], rel=1e-10)


# --- the same readout as the file path -------------------------------------------------------


def test_demo_readout_equals_the_file_path() -> None:
    ref = abcore.analyze(DEMO, **DEMO_ROLES)
    got = _duckdb_readout(pd.read_csv(DEMO, parse_dates=["first_exposure"]), ref.aggregates.mapping)
    assert_same_readout(got, ref)
    assert ref.aggregates.shifts == {}  # the file path sums raw values: shifts are the query's
    assert set(got.aggregates.shifts) == {"revenue", "ctr", "page_load_ms"}


def test_output_saved_as_csv_reads_back_the_same(tmp_path: Path) -> None:
    ref = abcore.analyze(DEMO, **DEMO_ROLES)
    con = duckdb.connect()
    con.execute("CREATE TABLE events AS SELECT * FROM read_csv($p)", {"p": str(DEMO)})
    out = tmp_path / "cells.csv"
    sql = warehouse.stats_query(ref.aggregates.mapping, "events")
    con.execute(f"COPY ({sql}) TO '{out}' (HEADER)")  # the test's own path: a console's save
    assert len(pd.read_csv(out)) < 200  # a few hundred cells leave the warehouse, not 50,000 rows
    assert_same_readout(warehouse.analyze_output(out), ref)
    parquet = tmp_path / "cells.parquet"
    con.execute(f"COPY ({sql}) TO '{parquet}' (FORMAT parquet)")
    assert_same_readout(warehouse.analyze_output(parquet), ref)


def test_unit_day_rows_and_dirty_rows_equal_the_file_path(tmp_path: Path) -> None:
    """Several rows per unit (summed per unit, counted on its first day), rows without an
    arm or a unit, a unit in two arms, duplicate unit-days, impossible values."""
    rows = make_session_level(n_users=3_000, seed=11)
    rows = rows.rename(columns=str)
    extra = rows.head(5).copy()
    extra["variant"] = None  # rows without an arm
    rows = pd.concat([rows, extra], ignore_index=True)
    rows.loc[rows.index[:3], "user_id"] = None  # rows without a unit
    other = rows["variant"].dropna().unique()
    moved = rows[rows["user_id"].notna()].index[10]
    rows.loc[moved, "variant"] = next(v for v in other if v != rows.loc[moved, "variant"])
    path = tmp_path / "sessions.csv"
    rows.to_csv(path, index=False)
    ref = abcore.analyze(path, variant="variant", unit="user_id")
    assert ref.aggregates.mapping.aggregate_units
    frame = pd.read_csv(path)
    ts = ref.aggregates.mapping.timestamp
    if ts:
        frame[ts] = pd.to_datetime(frame[ts])
    got = _duckdb_readout(frame, ref.aggregates.mapping)
    assert_same_readout(got, ref)
    names = {c.name: c for c in got.checks}
    assert any("arm" in n.lower() for n in names), names


def test_a_large_mean_keeps_its_variance() -> None:
    """Timestamps in milliseconds: mean 1.7e12, sd 100. The sum-of-squares variance is
    rounding noise; the query's per-cell VAR_SAMP read back around the mean is not."""
    rng = np.random.default_rng(12)
    n = 20_000
    arm = np.repeat(["control", "treatment"], n // 2)
    y = 1.7e12 + rng.normal(0, 100, n) + np.where(arm == "treatment", 3.0, 0.0)
    frame = pd.DataFrame({"arm": arm, "uid": np.arange(n), "ts_ms": y})
    c, t = y[arm == "control"], y[arm == "treatment"]
    naive = (np.sum(c * c) - np.sum(c) ** 2 / c.size) / (c.size - 1)
    assert abs(naive / np.var(c, ddof=1) - 1) > 0.01  # the textbook formula fails here
    mapping = Mapping(variant="arm", unit="uid", metrics=(MetricMapping("ts_ms", "continuous"),))
    got = _duckdb_readout(frame, mapping).effects.iloc[0]
    # the reference on exactly shifted values (y - 1.7e12 is exact in floating point): numpy's
    # mean of the raw values carries its own rounding of ~1e-3 at this magnitude
    ref = sps.ttest_ind(t - 1.7e12, c - 1.7e12, equal_var=False)
    assert got["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    low, high = ref.confidence_interval(0.95)
    assert got["abs_ci_low"] == pytest.approx(low, rel=1e-7)
    assert got["abs_ci_high"] == pytest.approx(high, rel=1e-7)
    assert got["abs_effect"] == pytest.approx((t - 1.7e12).mean() - (c - 1.7e12).mean(), rel=1e-9)
    # the file path takes its sums around the first rows' mean (config.SHIFT_MEAN_OVER_SD)
    file_path = abcore.analyze(frame, variant="arm", unit="uid", metrics=["ts_ms"])
    assert file_path.aggregates.shifts["ts_ms"][0] == pytest.approx(1.7e12, rel=1e-9)
    assert file_path.effects.iloc[0]["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert file_path.effects.iloc[0]["abs_ci_low"] == pytest.approx(low, rel=1e-7)


# --- a bad output says what to do -------------------------------------------------------------


def test_bad_outputs_say_what_is_wrong() -> None:
    ref = abcore.analyze(DEMO, **DEMO_ROLES)
    con = duckdb.connect()
    con.execute("CREATE TABLE events AS SELECT * FROM read_csv($p)", {"p": str(DEMO)})
    out = con.execute(warehouse.stats_query(ref.aggregates.mapping, "events")).df()
    with pytest.raises(InputError, match="lacks the column 'revenue__var'"):
        warehouse.read_output(out.drop(columns=["revenue__var"]))
    with pytest.raises(InputError, match="not the output of abcore's warehouse query"):
        warehouse.read_output(out.drop(columns=["abcore_mapping"]))
    other = out.copy()
    other.loc[0, "abcore_mapping"] = json.dumps({"variant": "arm"})
    with pytest.raises(InputError, match="2 different mappings"):
        warehouse.read_output(other)
    garbled = out.assign(abcore_mapping="{not json")
    with pytest.raises(InputError, match="does not hold a mapping"):
        warehouse.read_output(garbled)
    one_arm = out[out["variant"] == "control"]
    with pytest.raises(InputError, match="single arm"):
        warehouse.read_output(one_arm)


def test_generated_million_rows_match_in_duckdb() -> None:
    """The query on 200,000 generated rows equals the file path (the Spark test runs 1M)."""
    rows = make_experiment(200_000, seed=5)
    ref = abcore.analyze(rows, **DEMO_ROLES)
    assert_same_readout(_duckdb_readout(rows, ref.aggregates.mapping), ref)


def test_file_path_is_shift_invariant_with_cuped_days_and_segments() -> None:
    """Adding 1e9 to a metric and its covariate moves the means by 1e9 and nothing else: the
    file path's sums around the first rows' mean keep every effect, interval and p-value
    (plain sums of squares would lose about 1e-7 of the variance here, and the CUPED
    covariance with it)."""
    rows = make_experiment(40_000, seed=8)
    big = rows.assign(revenue=rows["revenue"] + 1e9, pre_revenue=rows["pre_revenue"] + 1e9)
    roles = dict(
        variant="variant",
        unit="user_id",
        timestamp="first_exposure",
        segments=["platform"],
        metrics=[MetricMapping("revenue", "continuous", covariate="pre_revenue")],
    )
    small, large = abcore.analyze(rows, **roles), abcore.analyze(big, **roles)
    assert set(large.aggregates.shifts) == {"revenue"}
    assert small.aggregates.shifts == {}
    for name in ("effects", "daily", "segments"):
        a, b = getattr(small, name), getattr(large, name)
        for col in ("abs_effect", "abs_ci_low", "abs_ci_high", "p_value"):
            if col in a.columns:
                np.testing.assert_allclose(b[col], a[col], rtol=1e-6, atol=1e-9, err_msg=col)
    np.testing.assert_allclose(
        large.effects["control_mean"] - 1e9, small.effects["control_mean"], rtol=1e-6
    )


@pytest.mark.parametrize(
    ("name", "variant"),
    [
        ("cookie_cats.csv", "version"),
        ("ab_data.csv", "group"),
        ("marketing_AB_sample_ferilab.csv", None),
    ],
)
def test_real_datasets_read_the_same_through_the_query(name: str, variant: str | None) -> None:
    """The real files of ../shared/data/real: the query run in DuckDB on each, with the roles
    the file path detected, gives the file path's readout (ab_data has users in both arms and
    repeated rows: its checks must come out the same)."""
    path = real(name)
    frame = pd.read_csv(path)
    if variant is None:  # the marketing file names its arm column "test group"
        variant = next(c for c in frame.columns if "group" in c.lower())
    ref = abcore.analyze(path, variant=variant)
    mapping = ref.aggregates.mapping
    if mapping.timestamp:
        frame[mapping.timestamp] = pd.to_datetime(frame[mapping.timestamp], errors="coerce")
    assert_same_readout(_duckdb_readout(frame, mapping), ref)
