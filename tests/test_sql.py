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

from abcore.sql import (
    Mapping,
    MetricMapping,
    quote_ident,
    stat_column,
    sufficient_stats_sql,
    unit_checks_sql,
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
    assert "GROUP BY __ab_variant, __ab_unit, __ab_day" in rolled


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
    with pytest.raises(ValueError, match="covariate is supported for binary and continuous"):
        MetricMapping("x", "ratio", numerator="a", denominator="b", covariate="c")
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
