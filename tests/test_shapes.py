"""Files with every arm on one row (issue 18, item 4): read as totals per arm, one
experiment picked by its id, and a sentence for what cannot be read.

The references are the unit-level numbers the wide rows were built from, tested with scipy
and statsmodels, so a wrong reshape (a control counted once per variant, running totals
added up, two experiments mixed) moves the p-values away from them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from abcore import InputError, analyze
from abcore.ingest import compute_stats, connect, detect_schema, load, prepare
from abcore.model import Mapping, MetricMapping, PrepStep


def _asos_like(seed: int = 1) -> tuple[pd.DataFrame, dict]:
    """The ASOS Digital Experiments Dataset's layout: per experiment, treatment variant,
    metric and time, running totals of both arms (the control's repeated per variant)."""
    rng = np.random.default_rng(seed)
    rows, raw = [], {}
    for e in ("e1", "e2", "e3"):
        for m in (1, 2):
            control = rng.normal(10, 3, 3_000)
            for v, lift in ((1, 0.3), (2, 0.0)):
                treatment = rng.normal(10 + lift, 3, 3_000 + 200 * v)
                raw[e, v, m] = (control, treatment)
                for k, time in enumerate((0.5, 1.0, 1.5)):
                    c, t = control[: 1_000 * (k + 1)], treatment[: (1_000 + 70 * v) * (k + 1)]
                    rows.append(
                        {
                            "experiment_id": e,
                            "variant_id": v,
                            "metric_id": m,
                            "time_since_start": time,
                            "count_c": len(c),
                            "count_t": len(t),
                            "mean_c": c.mean(),
                            "mean_t": t.mean(),
                            "variance_c": c.var(ddof=1),
                            "variance_t": t.var(ddof=1),
                        }
                    )
    return pd.DataFrame(rows), raw


def test_asos_layout_is_read_as_arms_not_units() -> None:
    df, _ = _asos_like()
    con = connect()
    ds = load(con, df)
    mapping = detect_schema(con, ds)
    # before: read as one row per unit, variant_id as the arms (the "+267% SRM")
    assert mapping.is_aggregated
    assert (mapping.variant, mapping.control, mapping.n_column) == ("variant", "control", "n")
    assert mapping.id_columns == ("experiment_id", "metric_id")
    assert mapping.guessed == ()
    with pytest.raises(InputError, match="several experiments or metrics") as err:
        compute_stats(con, ds, mapping)
    assert "mapping." not in str(err.value)
    assert "n_column" not in str(err.value)


def test_one_experiment_and_metric_match_the_unit_level_tests() -> None:
    df, raw = _asos_like()
    a = analyze(df, variant="variant", where={"experiment_id": "e2", "metric_id": 2})
    got = a.effects.set_index("arm")
    for v in (1, 2):
        control, treatment = raw["e2", v, 2]
        control, treatment = control[:3_000], treatment[: (1_000 + 70 * v) * 3]
        row = got.loc[str(v)]
        assert (row["n_control"], row["n_treatment"]) == (len(control), len(treatment))
        assert row["treatment_mean"] == pytest.approx(treatment.mean(), rel=1e-12)
        welch = stats.ttest_ind(treatment, control, equal_var=False)  # scipy 1.x
        assert row["p_value"] == pytest.approx(welch.pvalue, rel=1e-6)
    # per experiment and metric, after the last time: one control row and two treatment rows
    assert [s.rows_removed for s in a.preparation] == [2 * 2 * 3, 1 * 3]


def test_prepared_rows_keep_the_layout() -> None:
    df, _ = _asos_like()
    con = connect()
    ds = load(con, df)
    steps = [PrepStep("filter", "experiment_id", ["e3"]), PrepStep("filter", "metric_id", [1])]
    one, _ = prepare(con, ds, steps, mapping=detect_schema(con, ds))
    mapping = detect_schema(con, one)
    assert mapping.id_columns == ()
    agg = compute_stats(con, one, mapping)
    assert sorted(agg.variants) == ["1", "2", "control"]


def test_control_treatment_suffixes_with_conversions() -> None:
    df = pd.DataFrame(
        {
            "test_name": ["checkout"],
            "users_control": [10_000],
            "users_treatment": [10_050],
            "conversions_control": [1_200],
            "conversions_treatment": [1_310],
        }
    )
    a = analyze(df, variant="variant")
    row = a.effects.iloc[0]
    _, p_ref = proportions_ztest([1_310, 1_200], [10_050, 10_000])  # statsmodels 0.14
    assert row["kind"] == "binary"
    assert row["p_value"] == pytest.approx(p_ref, rel=1e-9)


def test_three_arms_with_letters_and_sums() -> None:
    rng = np.random.default_rng(5)
    arms = {k: rng.exponential(5 + i, 800 + 10 * i) for i, k in enumerate("abc")}
    row = {}
    for k, x in arms.items():
        row |= {f"n_{k}": len(x), f"revenue_sum_{k}": x.sum(), f"revenue_sum_sq_{k}": (x**2).sum()}
    a = analyze(pd.DataFrame([row]), variant="variant")
    got = a.effects.set_index("arm")
    assert a.aggregates.control == "A"
    for k in ("B", "C"):
        welch = stats.ttest_ind(arms[k.lower()], arms["a"], equal_var=False)
        assert got.loc[k, "p_value"] == pytest.approx(welch.pvalue, rel=1e-6)


def test_daily_increments_are_added_up_by_day() -> None:
    days = pd.date_range("2024-03-01", periods=5).date
    rng = np.random.default_rng(2)
    n_c, n_t = rng.integers(900, 1_100, 5), rng.integers(900, 1_100, 5)
    conv_c, conv_t = rng.binomial(n_c, 0.1), rng.binomial(n_t, 0.11)
    df = pd.DataFrame(
        {
            "date": days,
            "count_c": n_c,
            "count_t": n_t,
            "conversions_c": conv_c,
            "conversions_t": conv_t,
        }
    )
    con = connect()
    ds = load(con, df)
    mapping = detect_schema(con, ds)
    assert (mapping.shape, mapping.timestamp) == ("daily", "date")
    agg = compute_stats(con, ds, mapping)
    overall = agg.rows("overall").set_index("variant")
    assert overall.loc["control", "n"] == n_c.sum()
    assert overall.loc["treatment", "metric__sum"] == conv_t.sum()
    assert len(agg.days) == 5


def test_side_by_side_without_counts_gets_a_sentence() -> None:
    df = pd.DataFrame({"mean_c": [1.0, 2.0], "mean_t": [1.5, 2.5], "week": ["w1", "w2"]})
    con = connect()
    mapping = detect_schema(con, load(con, df))
    assert mapping.variant is None
    assert any("side by side (mean_c, mean_t)" in n and "count_c" in n for n in mapping.notes)


def test_totals_per_arm_without_a_unit_count_name_no_internal_field() -> None:
    df = pd.DataFrame({"variant": ["control", "treatment"], "buyers": [120, 131]})
    con = connect()
    ds = load(con, df)
    mapping = Mapping(
        shape="aggregated",
        variant="variant",
        control="control",
        metrics=[MetricMapping("buyers", "binary", sum_column="buyers")],
    )
    with pytest.raises(InputError, match="number of units on each row") as err:
        compute_stats(con, ds, mapping)
    assert "mapping." not in str(err.value)
    assert "n_column" not in str(err.value)


def test_unit_rows_of_several_experiments_are_not_pooled() -> None:
    rng = np.random.default_rng(8)
    n = 3_000
    df = pd.DataFrame(
        {
            "experiment_id": rng.choice(["checkout", "search"], n),
            "variant": rng.choice(["control", "treatment"], n),
            "converted": rng.integers(0, 2, n),
        }
    )
    con = connect()
    ds = load(con, df)
    mapping = detect_schema(con, ds)
    # before: experiment_id was offered as a segment and both experiments were pooled
    assert mapping.id_columns == ("experiment_id",)
    assert mapping.segments == ()
    with pytest.raises(InputError, match="'experiment_id' has 2 values"):
        compute_stats(con, ds, mapping)


def test_per_arm_totals_of_several_experiments_pick_one() -> None:
    df = pd.DataFrame(
        {
            "experiment_id": ["e1", "e1", "e2", "e2", "e3", "e3"],
            "variant": ["control", "treatment"] * 3,
            "users": [1_000, 1_010, 5_000, 5_020, 800, 790],
            "conversions": [100, 120, 400, 455, 90, 70],
        }
    )
    con = connect()
    mapping = detect_schema(con, load(con, df))
    assert (mapping.shape, mapping.id_columns) == ("aggregated", ("experiment_id",))
    a = analyze(df, variant="variant", where={"experiment_id": "e2"})
    _, p_ref = proportions_ztest([455, 400], [5_020, 5_000])  # statsmodels 0.14
    row = a.effects.set_index("metric").loc["conversions"]
    assert row["p_value"] == pytest.approx(p_ref, rel=1e-9)
