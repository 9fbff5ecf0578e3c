"""The SQL generator: pure, quotes every identifier, passes every value as a parameter."""

from __future__ import annotations

import copy
import dataclasses
import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abcore.model import Mapping, MetricMapping, stat_column
from abcore.sql import (
    cell_checks_sql,
    cell_count_sql,
    finest_stats_sql,
    quote_ident,
    rollup_stats_sql,
    sampled_units_sql,
    sufficient_stats_sql,
    unit_checks_sql,
    unit_day_checks_sql,
    value_checks_sql,
)

WEIRD = ["select", 'a"b', "x; DROP TABLE t", "my metric", "group", "ünï cödé", "--", "'quote'"]


def _mapping(**overrides: object) -> Mapping:
    base = Mapping(
        variant="variant",
        unit="user_id",
        timestamp="ts",
        segments=("country",),
        metrics=(
            MetricMapping("converted", "binary"),
            MetricMapping("revenue", "continuous", covariate="pre_revenue"),
            MetricMapping("ctr", "ratio", numerator="clicks", denominator="sessions"),
        ),
    )
    return dataclasses.replace(base, **overrides)


def test_quote_ident_doubles_embedded_quotes() -> None:
    assert quote_ident('a"b') == '"a""b"'
    assert quote_ident("x; DROP TABLE t") == '"x; DROP TABLE t"'
    with pytest.raises(ValueError, match="non-empty string"):
        quote_ident("")
    with pytest.raises(ValueError, match="NUL"):
        quote_ident("a\x00b")


def test_generator_is_pure() -> None:
    mapping = _mapping()
    before = copy.deepcopy(mapping)
    first = sufficient_stats_sql("t", mapping, by=("variant", "day", "segments"), cap=0.99)
    second = sufficient_stats_sql("t", mapping, by=("variant", "day", "segments"), cap=0.99)
    assert first == second
    assert mapping == before
    assert first[1] is not second[1]  # a fresh parameter list each call


def test_values_travel_as_parameters() -> None:
    mapping = _mapping(segments=("x'); DROP TABLE t; --",))
    sql, params = sufficient_stats_sql("t", mapping, by=("variant", "segments"), cap=0.975)
    assert params == [0.975, "x'); DROP TABLE t; --"]
    assert "0.975" not in sql
    # the segment's name occurs only as a quoted identifier, never as a string literal
    assert "'x'); DROP" not in sql
    plain, _ = sufficient_stats_sql("t", mapping, by=("variant", "segments"))
    assert plain.count('"x\'); DROP TABLE t; --"') == 1


def test_one_scan_with_grouping_sets() -> None:
    sql, _ = sufficient_stats_sql("t", _mapping(), by=("variant", "day", "segments"))
    assert sql.count("GROUPING SETS") == 1
    assert "UNION" not in sql
    assert sql.count('FROM "t"') == 1
    assert "(__ab_variant), (__ab_variant, __ab_day), (__ab_variant, __ab_seg0)" in sql


def test_unit_rollup_only_when_asked() -> None:
    plain, _ = sufficient_stats_sql("t", _mapping(), by=("variant", "day"))
    rolled, _ = sufficient_stats_sql("t", _mapping(aggregate_units=True), by=("variant", "day"))
    assert "__ab_unit" not in plain
    assert "GROUP BY __ab_variant, __ab_unit)" in rolled
    # each unit joins the day of its first row; unit-days are never grouped
    assert "min(__ab_day) AS __ab_day" in rolled
    assert "__ab_unit, __ab_day" not in rolled
    assert "UNION" not in rolled


def test_unit_days_count_each_unit_once_on_its_first_day() -> None:
    """Unit-day rows: the day level is the cohort of units first seen that day, with each
    unit's total over every day, so the days add up to the overall level (pandas reference)."""
    rng = np.random.default_rng(7)
    n = 3_000
    df = pd.DataFrame(
        {
            "user_id": rng.integers(0, 400, n),
            "variant": "",
            "ts": pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.integers(0, 9, n), unit="D"),
            "revenue": rng.exponential(3.0, n),
        }
    )
    df["variant"] = np.where(df["user_id"] % 2 == 0, "a", "b")
    mapping = Mapping(
        variant="variant",
        unit="user_id",
        timestamp="ts",
        metrics=[MetricMapping("revenue", "continuous")],
        aggregate_units=True,
    )
    con = duckdb.connect()
    con.register("t", df)
    sql, params = sufficient_stats_sql("t", mapping, by=("variant", "day"))
    got = con.execute(sql, params).df()
    units = df.groupby("user_id").agg(
        variant=("variant", "first"), day=("ts", "min"), revenue=("revenue", "sum")
    )
    want = units.groupby(["variant", "day"])["revenue"].agg(["size", "sum"]).reset_index()
    days = got[got["level"] == "day"].sort_values(["variant", "day"]).reset_index(drop=True)
    assert days["n"].tolist() == want["size"].tolist()
    np.testing.assert_allclose(days["revenue__sum"], want["sum"], rtol=1e-12)
    overall = got[got["level"] == "overall"].set_index("variant")["n"]
    assert days.groupby("variant")["n"].sum().to_dict() == overall.to_dict()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": ("variant", "week")}, "by must hold items of"),
        ({"cap": 1.5}, r"cap\['revenue'\] must be < 1"),
        ({"cap": {"converted": 0.9}}, "continuous metrics only"),
        ({"cap": {"nope": 0.9}}, "metric must be one of"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sufficient_stats_sql("t", _mapping(), **kwargs)


def test_day_needs_a_timestamp_and_variant_is_required() -> None:
    with pytest.raises(ValueError, match="no timestamp column"):
        sufficient_stats_sql("t", _mapping(timestamp=None), by=("variant", "day"))
    with pytest.raises(ValueError, match=r"mapping\.variant"):
        sufficient_stats_sql("t", _mapping(variant=None))


def test_aggregated_shape_needs_sums_and_n() -> None:
    agg = Mapping(shape="aggregated", variant="v", n_column="n")
    ok = dataclasses.replace(
        agg, metrics=[MetricMapping("x", "continuous", mean_column="m", sd_column="s")]
    )
    assert "__ab_ss0" in sufficient_stats_sql("t", ok)[0]
    lacking = dataclasses.replace(
        agg, metrics=[MetricMapping("x", "continuous", sum_column="x_sum")]
    )
    with pytest.raises(ValueError, match="needs sum_column and sum_sq_column"):
        sufficient_stats_sql("t", lacking)
    no_n = dataclasses.replace(ok, n_column=None)
    with pytest.raises(ValueError, match=r"needs mapping\.n_column"):
        sufficient_stats_sql("t", no_n)
    with pytest.raises(ValueError, match="cannot apply to an aggregated shape"):
        sufficient_stats_sql("t", ok, cap=0.99)


def test_metric_and_mapping_validation() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        MetricMapping("x", "count")
    with pytest.raises(ValueError, match="needs numerator and denominator"):
        MetricMapping("x", "ratio", numerator="a")
    with pytest.raises(ValueError, match="covariates are supported for binary, continuous and"):
        MetricMapping("x", "proportion_of_counts", numerator="a", denominator="b", covariate="c")
    with pytest.raises(ValueError, match="pre-period numerator and denominator"):
        MetricMapping("x", "ratio", numerator="a", denominator="b", covariates=["c", "d", "e"])
    with pytest.raises(ValueError, match="unique names; repeated: x"):
        Mapping(variant="v", metrics=[MetricMapping("x", "binary")] * 2)
    with pytest.raises(ValueError, match="shape must be one of"):
        Mapping(shape="wide")
    with pytest.raises(ValueError, match="segments must be a list"):
        Mapping(segments="country")


def test_mapping_round_trips_through_json_and_replace() -> None:
    mapping = _mapping(notes=("a guess",))
    data = json.loads(json.dumps(mapping.to_dict()))
    assert Mapping.from_dict(data) == mapping
    assert Mapping.from_dict({**data, "future_key": 1}) == mapping
    edited = dataclasses.replace(mapping, control="b", segments=["country", "device"])
    assert edited.segments == ("country", "device")
    assert edited.control == "b"
    assert mapping.columns_used() == (
        "variant",
        "ts",
        "user_id",
        "converted",
        "revenue",
        "pre_revenue",
        "clicks",
        "sessions",
        "country",
    )


def _frame(names: dict[str, str], n: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    revenue = rng.exponential(10.0, n)
    revenue[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            names["variant"]: rng.choice(["control", "treatment"], n),
            names["segment"]: rng.choice(["de", "fr", "us"], n),
            names["binary"]: rng.integers(0, 2, n),
            names["metric"]: revenue,
            names["den"]: rng.integers(1, 6, n).astype(float),
        }
    )


def _run_and_compare(names: dict[str, str], table: str) -> None:
    df = _frame(names)
    con = duckdb.connect()
    con.register("src", df)
    con.execute(f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM src")
    mapping = Mapping(
        variant=names["variant"],
        segments=(names["segment"],),
        metrics=(
            MetricMapping(names["binary"], "binary"),
            MetricMapping(names["metric"], "continuous"),
            MetricMapping("ratio", "ratio", numerator=names["metric"], denominator=names["den"]),
        ),
    )
    sql, params = sufficient_stats_sql(table, mapping, by=("variant", "segments"))
    out = con.execute(sql, params).df()
    assert con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchall() == [(len(df),)]
    overall = out[out["level"] == "overall"].set_index("variant")
    grouped = df.groupby(names["variant"])
    y = df[names["metric"]]
    np.testing.assert_array_equal(overall["n"], grouped.size())
    np.testing.assert_array_equal(
        overall[stat_column(names["binary"], "sum")], grouped[names["binary"]].sum()
    )
    np.testing.assert_array_equal(
        overall[stat_column(names["metric"], "n")], grouped[names["metric"]].count()
    )
    np.testing.assert_allclose(
        overall[stat_column(names["metric"], "sum_sq")], (y * y).groupby(df[names["variant"]]).sum()
    )
    both = df[y.notna()]
    cross = (both[names["metric"]] * both[names["den"]]).groupby(both[names["variant"]]).sum()
    np.testing.assert_allclose(overall[stat_column("ratio", "sum_xy")], cross)
    np.testing.assert_array_equal(
        overall[stat_column("ratio", "pair_n")], both.groupby(names["variant"]).size()
    )
    seg = out[out["level"] == "segment"]
    assert set(seg["segment"]) == {names["segment"]}
    counts = df.groupby([names["variant"], names["segment"]]).size()
    got = seg.set_index(["variant", "segment_value"])["n"]
    np.testing.assert_array_equal(got.sort_index(), counts.sort_index())


def test_weird_identifiers_analyse_correctly() -> None:
    names = {
        "variant": "group",
        "segment": 'a"b',
        "binary": "select",
        "metric": "x; DROP TABLE t",
        "den": "my metric",
    }
    _run_and_compare(names, table='t"; DROP TABLE t; --')


_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and "__" not in s)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_names, min_size=5, max_size=5, unique_by=str.lower))
def test_any_column_names_analyse_correctly(raw: list[str]) -> None:
    names = dict(zip(["variant", "segment", "binary", "metric", "den"], raw, strict=True))
    _run_and_compare(names, table=raw[0] + "_table")


def test_instrumentation_sql_quotes_and_counts() -> None:
    df = pd.DataFrame(
        {
            "user id": [1, 1, 2, 3, 3, None],
            "arm;x": ["a", "b", "a", "b", "b", "a"],
            "conv": [0, 1, 2, 1, None, 0],
        }
    )
    con = duckdb.connect()
    con.register("src", df)
    con.execute("CREATE TABLE t AS SELECT * FROM src")
    mapping = Mapping(variant="arm;x", unit="user id", metrics=[MetricMapping("conv", "binary")])
    sql, params = unit_checks_sql("t", mapping)
    row = con.execute(sql, params).fetchall()[0]
    assert row == (3, 1, 2, 2)  # units; unit 1 in two arms; units 1 and 3 twice; two extra rows
    sql, params = value_checks_sql("t", mapping)
    out = con.execute(sql, params).df().set_index("variant")
    assert out.loc["a", "rows_missing_unit"] == 1
    assert out["conv__missing"].tolist() == [0, 1]
    assert out["conv__out_of_range"].tolist() == [1, 0]


# --------------------------------------------------------------------------------------------
# Cells (finest grain) and their roll-up; the unit checks in one GROUP BY
# --------------------------------------------------------------------------------------------


def _messy(n: int = 3_000, seed: int = 3) -> pd.DataFrame:
    """Every awkward case at once: missing arms, units and values, a unit in two arms,
    repeated unit-days, out-of-range and negative values, incomplete pairs."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n // 2, n).astype(float)
    users[rng.random(n) < 0.02] = np.nan
    arm = rng.choice(np.array(["a", "b", "c"], dtype=object), n)
    arm[rng.random(n) < 0.02] = None
    revenue = rng.normal(5.0, 3.0, n)
    revenue[rng.random(n) < 0.1] = np.nan
    sessions = rng.integers(0, 6, n).astype(float)
    sessions[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "user_id": users,
            "variant": arm,
            "ts": pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.integers(0, 9 * 24, n), "h"),
            "country": rng.choice(["de", "fr", "us", None], n),
            "device": rng.choice(["mobile", "desktop"], n),
            "converted": rng.choice([0, 1, 1, 0, 2], n),
            "revenue": revenue,
            "pre_revenue": np.where(rng.random(n) < 0.1, np.nan, rng.normal(4.0, 2.0, n)),
            "clicks": rng.integers(0, 9, n).astype(float),
            "sessions": sessions,
        }
    )


def _messy_mapping(**overrides: object) -> Mapping:
    base = Mapping(
        variant="variant",
        unit="user_id",
        timestamp="ts",
        segments=("country", "device"),
        metrics=(
            MetricMapping("converted", "binary"),
            MetricMapping("revenue", "continuous", covariate="pre_revenue"),
            MetricMapping("ctr", "ratio", numerator="clicks", denominator="sessions"),
            MetricMapping(
                "conv_rate", "proportion_of_counts", numerator="clicks", denominator="sessions"
            ),
        ),
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture(scope="module")
def messy() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("src", _messy())
    con.execute("CREATE TABLE t AS SELECT * FROM src")
    con.execute("CREATE TABLE labels AS SELECT * REPLACE (strftime(ts, '%a %d') AS ts) FROM src")
    return con


def _same_frames(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for col in got.columns:
        a, b = got[col], expected[col]
        if pd.api.types.is_float_dtype(b):
            np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=1e-12, err_msg=col)
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), col


@pytest.mark.parametrize(
    ("overrides", "table", "cap"),
    [
        ({}, "t", None),
        ({}, "t", 0.9),
        ({"aggregate_units": True}, "t", None),
        ({"aggregate_units": True}, "t", {"revenue": 0.95}),
        ({"day_label": True}, "labels", None),
        ({"day_label": True, "aggregate_units": True}, "labels", None),
    ],
    ids=["plain", "capped", "units", "units-capped", "day-labels", "labels-units"],
)
def test_cells_roll_up_to_the_rows_grouped_per_level(
    messy: duckdb.DuckDBPyConnection, overrides: dict, table: str, cap: object
) -> None:
    mapping = _messy_mapping(**overrides)
    by = ("variant", "day", "segments")
    rows_sql, params = sufficient_stats_sql(table, mapping, by=by, cap=cap, finest=False)
    cells_sql, cell_params = sufficient_stats_sql(table, mapping, by=by, cap=cap)
    assert "__ab_cells" in cells_sql
    assert "__ab_cells" not in rows_sql
    assert cell_params == params
    _same_frames(messy.execute(cells_sql, cell_params).df(), messy.execute(rows_sql, params).df())


def test_aggregated_cells_roll_up_too() -> None:
    con = duckdb.connect()
    df = pd.DataFrame(
        {
            "arm": ["a", "b", "a", "b", "a", "b"],
            "day": pd.to_datetime(["2026-03-01"] * 2 + ["2026-03-02"] * 4),
            "n": [100, 110, 90, 95, 10, 5],
            "x_sum": [10.0, 12.0, 9.0, 11.0, None, 1.0],
            "x_sum_sq": [30.0, 40.0, 25.0, 33.0, None, 1.0],
        }
    )
    con.register("src", df)
    con.execute("CREATE TABLE agg AS SELECT * FROM src")
    mapping = Mapping(
        shape="daily",
        variant="arm",
        timestamp="day",
        n_column="n",
        metrics=[MetricMapping("x", "continuous", sum_column="x_sum", sum_sq_column="x_sum_sq")],
    )
    by = ("variant", "day")
    direct = con.execute(*sufficient_stats_sql("agg", mapping, by=by, finest=False)).df()
    cells = con.execute(*sufficient_stats_sql("agg", mapping, by=by)).df()
    _same_frames(cells, direct)


@pytest.mark.parametrize("day_label", [False, True])
def test_split_cells_give_the_statistics_and_the_value_checks(
    messy: duckdb.DuckDBPyConnection, day_label: bool
) -> None:
    mapping = _messy_mapping(day_label=day_label)
    table = "labels" if day_label else "t"
    by = ("variant", "day", "segments")
    sql, params = finest_stats_sql(table, mapping, by=by, checks=True)
    messy.execute(f"CREATE OR REPLACE TEMP TABLE cells AS {sql}", params)
    assert messy.execute("SELECT count(*) FROM cells WHERE __ab_variant IS NULL").fetchall()[0][0]
    _same_frames(
        messy.execute(*rollup_stats_sql("cells", mapping, by=by)).df(),
        messy.execute(*sufficient_stats_sql(table, mapping, by=by, finest=False)).df(),
    )
    checks = messy.execute(*cell_checks_sql("cells", mapping)).df()
    expected = messy.execute(*value_checks_sql(table, mapping)).df()
    pd.testing.assert_frame_equal(checks, expected, check_dtype=False)
    # and against pandas, for the counts the roll-up derives rather than counts
    df = _messy()
    arms = df.dropna(subset=["variant"])
    lacking = (arms["clicks"].isna() | arms["sessions"].isna()).groupby(arms["variant"]).sum()
    got = checks.dropna(subset=["variant"]).set_index("variant")
    np.testing.assert_array_equal(got["ctr__missing"], lacking.sort_index())
    np.testing.assert_array_equal(
        got["revenue__missing"], arms["revenue"].isna().groupby(arms["variant"]).sum()
    )
    assert got["rows_missing_unit"].sum() == arms["user_id"].isna().sum()


def test_cells_sql_refuses_what_needs_the_rows() -> None:
    with pytest.raises(ValueError, match="cannot roll up units"):
        finest_stats_sql("t", _messy_mapping(aggregate_units=True))
    agg = Mapping(
        shape="aggregated",
        variant="v",
        n_column="n",
        metrics=[MetricMapping("x", "binary", sum_column="x")],
    )
    with pytest.raises(ValueError, match="unit-level rows only"):
        finest_stats_sql("t", agg, checks=True)
    with pytest.raises(ValueError, match="rows must be > 0"):
        cell_count_sql("t", agg, rows=0)


def test_cell_count_estimates_the_cells(messy: duckdb.DuckDBPyConnection) -> None:
    mapping = _messy_mapping()
    by = ("variant", "day", "segments")
    (estimate,) = messy.execute(*cell_count_sql("t", mapping, by=by)).fetchall()[0]
    df = _messy()
    exact = (
        df["variant"].nunique(dropna=False)
        * df["ts"].dt.normalize().nunique()
        * df["country"].nunique(dropna=False)
        * df["device"].nunique()
    )
    assert estimate == pytest.approx(exact, rel=0.05)  # approximate distinct counts
    (head,) = messy.execute(*cell_count_sql("t", mapping, by=("variant",), rows=10)).fetchall()[0]
    assert 1 <= head <= 4


@pytest.mark.parametrize("timestamp", [None, "ts"])
def test_unit_checks_in_one_group_by_equal_pandas(
    messy: duckdb.DuckDBPyConnection, timestamp: str | None
) -> None:
    mapping = _messy_mapping(timestamp=timestamp)
    sql, params = unit_checks_sql("t", mapping)
    assert "DISTINCT" not in sql
    row = messy.execute(sql, params).df().iloc[0]
    df = _messy().dropna(subset=["user_id", "variant"])
    per_unit = df.groupby("user_id")["variant"]
    assert row["units"] == per_unit.ngroups
    assert row["units_in_multiple_arms"] == (per_unit.nunique() > 1).sum() > 0
    assert row["units_with_several_rows"] == (per_unit.size() > 1).sum()
    assert row["duplicate_unit_rows"] == len(df) - per_unit.ngroups
    if timestamp:
        unit_days = df.groupby(["user_id", df["ts"].dt.normalize()]).ngroups
        assert row["duplicate_unit_day_rows"] == len(df) - unit_days > 0
        old, _ = unit_day_checks_sql("t", mapping)
        assert messy.execute(old).fetchall()[0][0] == row["duplicate_unit_day_rows"]
    else:
        assert "duplicate_unit_day_rows" not in row.index


@pytest.mark.parametrize("every", [1, 3])
def test_sampled_units_of_the_cells_equal_pandas(messy: duckdb.DuckDBPyConnection, every: int):
    mapping = _messy_mapping(timestamp="ts")
    sql, params = finest_stats_sql(
        "t", mapping, by=("variant", "day"), checks=True, unit_sample=every
    )
    messy.execute(f"CREATE OR REPLACE TEMP TABLE cells AS {sql}", params)
    units, repeats = messy.execute(sampled_units_sql("cells")[0]).fetchall()[0]
    df = _messy().dropna(subset=["user_id", "variant"])
    hashes = messy.execute(
        "SELECT user_id, hash(user_id) % $1 = 0 FROM t WHERE user_id IS NOT NULL", [every]
    ).fetchall()
    picked = {u for u, chosen in hashes if chosen}
    sampled = df[df["user_id"].isin(picked)]
    assert units == len(sampled) > 0
    assert repeats == len(sampled) - sampled["user_id"].nunique()
    if every == 1:  # every unit: the exact count
        assert repeats == len(df) - df["user_id"].nunique() > 0
    with pytest.raises(ValueError, match="unit_sample needs"):
        finest_stats_sql("t", mapping, unit_sample=every)
