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
