"""Data preparation (issue 18, item 5): each step run in DuckDB, recorded with the rows it
removed, and the readout of ``ab_data.csv`` after the course's cleaning equal to the
published numbers (/work/shared/data/real/README.md)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from real_data import real
from statsmodels.stats.proportion import proportions_ztest

from abcore import InputError, analyze
from abcore.ingest import connect, detect_schema, load, prepare, steps_from_where
from abcore.model import PrepStep


@pytest.fixture(scope="module")
def ab_frame() -> pd.DataFrame:
    return pd.read_csv(real("ab_data.csv"))


def test_ab_data_after_the_course_cleaning_reads_as_published() -> None:
    steps = [PrepStep("arm_mismatch", "landing_page"), PrepStep("repeat_units", "user_id")]
    a = analyze(real("ab_data.csv"), variant="group", metrics=["converted"], prepare=steps)
    assert [(s.kind, s.rows_removed) for s in a.preparation] == [
        ("arm_mismatch", 3_893),  # rows where group and landing_page disagree
        ("repeat_units", 1),  # the one user left with two rows
    ]
    row = a.effects.iloc[0]
    # published: control 17,489 / 145,274 = 12.0386 %, treatment 17,264 / 145,310 = 11.8808 %
    assert (row["n_control"], row["n_treatment"]) == (145_274, 145_310)
    assert row["control_mean"] == pytest.approx(17_489 / 145_274, abs=1e-12)
    assert row["treatment_mean"] == pytest.approx(17_264 / 145_310, abs=1e-12)
    # statsmodels 0.14 proportions_ztest, pooled: two-sided p ~ 0.19 (published), and the
    # one-sided p of "treatment > control" 0.905 is 1 - p/2 of it
    _, p_ref = proportions_ztest([17_264, 17_489], [145_310, 145_274])
    assert row["p_value"] == pytest.approx(p_ref, rel=1e-9)
    assert round(p_ref, 2) == 0.19
    assert round(1 - p_ref / 2, 3) == 0.905
    assert json.loads(json.dumps([s.to_dict() for s in a.preparation]))[0] == {
        "kind": "arm_mismatch",
        "column": "landing_page",
        "rows_removed": 3_893,
    }


def test_units_in_both_arms_are_excluded_with_their_rows(ab_frame: pd.DataFrame) -> None:
    arms = ab_frame.groupby("user_id")["group"].nunique()
    mixed = set(arms.index[arms > 1])
    con = connect()
    ds = load(con, real("ab_data.csv"))
    mapping = detect_schema(con, ds)
    steps = [PrepStep("mixed_units", "user_id"), PrepStep("duplicate_rows")]
    clean, done = prepare(con, ds, steps, mapping=mapping)
    kept = ab_frame[~ab_frame["user_id"].isin(mixed)]
    assert len(mixed) == 1_895
    assert done[0].units_removed == 1_895
    assert done[0].rows_removed == len(ab_frame) - len(kept) == 3_790
    # no two rows of ab_data.csv are equal in every column (the repeats differ in time)
    assert done[1].rows_removed == len(kept) - len(kept.drop_duplicates()) == 0
    assert clean.n_rows == len(kept)
    assert done[0].sentence() == (
        "Excluded the units ('user_id') seen in more than one arm: 3,790 rows removed "
        "(1,895 units)."
    )
    # the upload itself is left as it was: a changed step runs again from it
    assert con.execute(f'SELECT count(*) FROM "{ds.table}"').fetchone()[0] == len(ab_frame)


def test_date_window_and_filter_match_pandas(ab_frame: pd.DataFrame) -> None:
    con = connect()
    ds = load(con, real("ab_data.csv"))
    steps = [
        PrepStep("date_window", "timestamp", ["2017-01-05", "2017-01-20"]),
        PrepStep("filter", "landing_page", ["new_page"]),
    ]
    clean, done = prepare(con, ds, steps, mapping=detect_schema(con, ds))
    day = pd.to_datetime(ab_frame["timestamp"]).dt.normalize()
    window = ab_frame[(day >= "2017-01-05") & (day <= "2017-01-20")]
    page = window[window["landing_page"] == "new_page"]
    assert [s.rows_removed for s in done] == [len(ab_frame) - len(window), len(window) - len(page)]
    assert clean.n_rows == len(page)


def test_duplicate_rows_keep_one_and_the_file_order() -> None:
    rng = np.random.default_rng(7)
    df = pd.DataFrame(
        {
            "variant": rng.choice(["a", "b"], 500),
            "user": rng.integers(0, 300, 500),
            "y": rng.integers(0, 2, 500),
            "day": rng.choice(["Mon", "Tue", "Wed"], 500),
        }
    )
    con = connect()
    ds = load(con, df)
    clean, (step,) = prepare(con, ds, [PrepStep("duplicate_rows")])
    expected = df.drop_duplicates()
    assert step.rows_removed == len(df) - len(expected) > 0
    got = con.execute(f'SELECT * FROM "{clean.table}"').df()
    assert got["user"].tolist() == expected["user"].tolist()  # first of each kept, in order


def test_filter_values_are_bound_and_columns_quoted() -> None:
    hostile = "x' OR '1'='1"
    df = pd.DataFrame(
        {
            'arm "v"': ["a", "b"] * 4,
            "country": ["DE", "FR", hostile, "DE"] * 2,
            "y": [1.0, 2.0, 3.0, 4.0] * 2,
        }
    )
    con = connect()
    ds = load(con, df)
    _, (step,) = prepare(con, ds, [PrepStep("filter", "country", [hostile])])
    assert step.rows_removed == 6  # the two rows holding that text, nothing else
    _, (step,) = prepare(con, ds, [PrepStep("filter", 'arm "v"', ["a"])])
    assert step.rows_removed == 4


def test_one_experiment_of_a_file_holding_several() -> None:
    rng = np.random.default_rng(3)
    n = 4_000
    df = pd.DataFrame(
        {
            "experiment_id": rng.choice(["e1", "e2"], n),
            "variant": rng.choice(["control", "treatment"], n),
            "revenue": rng.exponential(10, n),
        }
    )
    a = analyze(df, variant="variant", where={"experiment_id": "e2"})
    one = df[df["experiment_id"] == "e2"]
    row = a.effects.set_index("metric").loc["revenue"]
    assert row["n_control"] == (one["variant"] == "control").sum()
    assert row["control_mean"] == pytest.approx(
        one.loc[one["variant"] == "control", "revenue"].mean(), rel=1e-12
    )
    assert a.preparation == (
        PrepStep("filter", "experiment_id", ("e2",), rows_removed=len(df) - len(one)),
    )
    assert steps_from_where({"experiment_id": ["e1", "e2"]})[0].values == ("e1", "e2")


@pytest.mark.parametrize(
    ("step", "words"),
    [
        (PrepStep("filter", "nope", ["x"]), "'nope' is not in the file"),
        (PrepStep("date_window", "country", [None, "2020-01-01"]), "does not hold dates"),
        (PrepStep("filter", "y", ["ten"]), "is not a number"),
    ],
)
def test_bad_steps_get_a_sentence(step: PrepStep, words: str) -> None:
    df = pd.DataFrame({"variant": ["a", "b"] * 3, "country": ["DE"] * 6, "y": [1.0] * 6})
    con = connect()
    with pytest.raises(InputError, match=words):
        prepare(con, load(con, df), [step])


def test_steps_need_the_arm_column_when_they_read_it() -> None:
    df = pd.DataFrame({"v": ["a", "b"] * 3, "user": [1, 2, 3] * 2})
    con = connect()
    with pytest.raises(InputError, match="needs the column that holds the arm"):
        prepare(con, load(con, df), [PrepStep("mixed_units", "user")])


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"kind": "drop"}, "kind must be one of"),
        ({"kind": "filter", "column": "c"}, "at least one value"),
        ({"kind": "filter", "column": "c", "values": "DE"}, "must be a list"),
        ({"kind": "date_window", "column": "d", "values": [None, None]}, "first_day, last_day"),
        ({"kind": "mixed_units"}, "column must name a column"),
    ],
)
def test_prep_step_checks_its_fields(kwargs: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        PrepStep(**kwargs)


# ---- date window on units, row filters with operators (issue 18, item 5) -----------------


def test_a_window_of_the_first_week_keeps_the_units_first_seen_in_it(
    ab_frame: pd.DataFrame,
) -> None:
    """ab_data.csv runs 2017-01-02 to 2017-01-24: the first 7 days keep every row of the
    users whose first row falls in them, including their later rows."""
    step = PrepStep("date_window", "timestamp", ["2017-01-02", "2017-01-08"], unit="user_id")
    a = analyze(real("ab_data.csv"), variant="group", metrics=["converted"], prepare=[step])
    first = pd.to_datetime(ab_frame["timestamp"]).groupby(ab_frame["user_id"]).transform("min")
    day = first.dt.normalize()
    kept = ab_frame[(day >= "2017-01-02") & (day <= "2017-01-08")]
    (done,) = a.preparation
    assert done.rows_removed == len(ab_frame) - len(kept) > 0
    assert done.units_removed == ab_frame["user_id"].nunique() - kept["user_id"].nunique()
    # a user first seen in the week keeps a later row: not what a window on rows would do
    late = pd.to_datetime(kept["timestamp"]).dt.normalize() > "2017-01-08"
    assert late.sum() > 0
    assert done.sentence() == (
        "Kept the units ('user_id') first seen from 2017-01-02 to 2017-01-08 (by 'timestamp'), "
        f"with all their rows: {done.rows_removed:,} rows removed ({done.units_removed:,} units)."
    )
    # the analysis after the window is the analysis of the rows pandas keeps
    ref = analyze(kept, variant="group", metrics=["converted"])
    cols = ["metric", "arm", "n_control", "n_treatment", "control_mean", "treatment_mean"]
    pd.testing.assert_frame_equal(a.effects[cols], ref.effects[cols])
    np.testing.assert_allclose(a.effects["p_value"], ref.effects["p_value"], rtol=1e-9)
    assert a.srm.p_value == pytest.approx(ref.srm.p_value, rel=1e-9)


@pytest.mark.parametrize(
    ("op", "values", "keep"),
    [
        ("=", ["Friday"], lambda s: s == "Friday"),
        ("!=", ["Friday"], lambda s: s != "Friday"),
        ("in", ["Saturday", "Sunday"], lambda s: s.isin(["Saturday", "Sunday"])),
    ],
)
def test_a_filter_on_most_ads_day_matches_pandas(op, values, keep) -> None:
    path = real("marketing_AB_sample_ferilab.csv")
    frame = pd.read_csv(path)
    step = PrepStep("filter", "most ads day", values, op=op)
    a = analyze(path, variant="test group", metrics=["converted"], prepare=[step])
    kept = frame[keep(frame["most ads day"])]
    assert a.preparation[0].rows_removed == len(frame) - len(kept) > 0
    ref = analyze(kept, variant="test group", metrics=["converted"])
    cols = ["n_control", "n_treatment", "control_mean", "treatment_mean", "p_value"]
    pd.testing.assert_frame_equal(a.effects[cols], ref.effects[cols])


def test_filters_combine_with_and_each_with_the_rows_it_removed() -> None:
    path = real("marketing_AB_sample_ferilab.csv")
    frame = pd.read_csv(path)
    con = connect()
    ds = load(con, path)
    steps = [
        PrepStep("filter", "total ads", ["10"], op=">="),  # text, as a widget hands it back
        PrepStep("filter", "most ads hour", [20], op="<"),
        PrepStep("filter", "converted", ["false"], op="="),
    ]
    clean, done = prepare(con, ds, steps, mapping=detect_schema(con, ds))
    one = frame[frame["total ads"] >= 10]
    two = one[one["most ads hour"] < 20]
    three = two[~two["converted"]]
    assert [s.rows_removed for s in done] == [
        len(frame) - len(one),
        len(one) - len(two),
        len(two) - len(three),
    ]
    assert clean.n_rows == len(three)
    assert (
        done[0].sentence()
        == f"Kept the rows where 'total ads' ≥ 10: {len(frame) - len(one):,} rows removed."
    )


def test_every_operator_matches_pandas_with_missing_values() -> None:
    rng = np.random.default_rng(5)
    n = 600
    y = rng.normal(size=n).round(2)
    y[rng.choice(n, 40, replace=False)] = np.nan
    country = rng.choice(["DE", "FR", "IT"], n).astype(object)
    country[rng.choice(n, 30, replace=False)] = None
    df = pd.DataFrame({"arm": rng.choice(["a", "b"], n), "y": y, "country": country})
    con = connect()
    ds = load(con, df)
    cases = [
        ("y", "<", [0.1], df["y"] < 0.1),
        ("y", "<=", [0.1], df["y"] <= 0.1),
        ("y", ">", [-0.3], df["y"] > -0.3),
        ("y", ">=", [-0.3], df["y"] >= -0.3),
        ("y", "=", [0.5], df["y"] == 0.5),
        ("y", "!=", [0.5], df["y"] != 0.5),  # pandas keeps NaN: missing is not 0.5
        ("y", "is_missing", [], df["y"].isna()),
        ("y", "not_missing", [], df["y"].notna()),
        ("country", "!=", ["DE"], df["country"] != "DE"),
        ("country", "in", ["DE", "IT"], df["country"].isin(["DE", "IT"])),
        ("country", "is_missing", [], df["country"].isna()),
    ]
    for column, op, values, keep in cases:
        _, (step,) = prepare(con, ds, [PrepStep("filter", column, values, op=op)])
        assert step.rows_removed == n - int(keep.sum()), (column, op)


@pytest.mark.parametrize(
    ("step", "words"),
    [
        # a window outside the data names the data's days
        (
            PrepStep("date_window", "timestamp", ["2018-03-01", "2018-03-31"], unit="user_id"),
            r"holds none of the data, whose 'timestamp' runs from 2017-01-02 to 2017-01-24",
        ),
        (PrepStep("filter", "converted", ["maybe"], op="="), "'maybe' is not a number"),
        (PrepStep("filter", "group", ["b"], op="<"), "'group' holds text"),
        (PrepStep("filter", "timestamp", ["Jan 5"], op=">="), "'Jan 5' is not a date or time"),
        (PrepStep("filter", "group", ["nobody"]), "no row is left after this step"),
        (PrepStep("date_window", "timestamp", [None, "2017-01-05"], unit="uid"), "'uid' is not"),
    ],
)
def test_bad_windows_and_filters_get_a_sentence_naming_the_column(step, words) -> None:
    con = connect()
    ds = load(con, real("ab_data.csv"))
    before = set(con.execute("SELECT table_name FROM duckdb_tables()").fetchall())
    with pytest.raises(InputError, match=words):
        prepare(con, ds, [PrepStep("duplicate_rows"), step], mapping=detect_schema(con, ds))
    # nothing left behind by the steps that ran before the one that failed
    assert set(con.execute("SELECT table_name FROM duckdb_tables()").fetchall()) == before


def test_a_boolean_filter_reads_only_true_or_false() -> None:
    path = real("marketing_AB_sample_ferilab.csv")
    con = connect()
    ds = load(con, path)
    with pytest.raises(InputError, match="The filter on 'converted': 'maybe' is not TRUE or"):
        prepare(con, ds, [PrepStep("filter", "converted", ["maybe"], op="=")])


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (
            {"kind": "date_window", "column": "d", "values": ["2017-01-09", "2017-01-02"]},
            "starts on 2017-01-09, after it ends on 2017-01-02",
        ),
        ({"kind": "date_window", "column": "d", "values": ["last week", None]}, "YYYY-MM-DD"),
        ({"kind": "filter", "column": "c", "values": [1, 2], "op": "<"}, "one value"),
        ({"kind": "filter", "column": "c", "values": [1], "op": "is_missing"}, "must be empty"),
        ({"kind": "filter", "column": "c", "values": [1], "op": "LIKE"}, "op must be one of"),
        ({"kind": "filter", "column": "c", "values": [None], "op": "="}, "is_missing"),
        ({"kind": "mixed_units", "column": "u", "op": "="}, "filter step only"),
        ({"kind": "filter", "column": "c", "values": [1], "unit": "u"}, "unit must name"),
        ({"kind": "duplicate_rows", "rows_removed": -1}, "must not be negative"),
    ],
)
def test_window_and_filter_steps_check_their_fields(kwargs: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        PrepStep(**kwargs)


def test_filter_values_compared_with_a_hostile_value_are_bound() -> None:
    hostile = "x' OR '1'='1"
    df = pd.DataFrame({"arm": ["a", "b"] * 4, "country": ["DE", hostile] * 4})
    con = connect()
    _, (step,) = prepare(con, load(con, df), [PrepStep("filter", "country", [hostile], op="!=")])
    assert step.rows_removed == 4
