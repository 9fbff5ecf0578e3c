"""Drift monitoring: tests chosen as Evidently chooses them, statistics equal to scipy's, the
planted covariate and concept drift found, null data not flagged (false-alarm rates measured by
seeded simulation), bad uploads refused with sentences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from abcore import config, ingest
from abcore.errors import InputError
from abcore.launch.drift import (
    choose_method,
    concept_shift,
    drift_report,
    error_rose,
    feature_drift,
    feature_kind,
    psi,
    read_pair,
)
from sample_data.generate_launch import make_drift

BAD = Path(__file__).parent / "data" / "bad" / "launch"


def test_method_choice_follows_evidently():
    # Evidently (release 0.1.50, "how it works"): <= 1000 reference rows -> KS / chi-square,
    # more -> normed Wasserstein / Jensen-Shannon; numbers with <= 5 values are categorical.
    assert choose_method("numeric", 1000) == "ks"
    assert choose_method("numeric", 1001) == "wasserstein"
    assert choose_method("categorical", 1000) == "chisquare"
    assert choose_method("categorical", 1001) == "jensenshannon"
    assert feature_kind(pd.Series([1, 2, 3, 4, 5] * 3)) == "categorical"
    assert feature_kind(pd.Series([1, 2, 3, 4, 5, 6] * 3)) == "numeric"
    assert feature_kind(pd.Series([True, False])) == "categorical"
    assert (config.DRIFT_P_VALUE, config.DRIFT_DISTANCE_THRESHOLD, config.DRIFT_SHARE) == (
        0.05,
        0.1,
        0.5,
    )


def test_statistics_equal_scipy():
    rng = np.random.default_rng(1)
    r, c = pd.Series(rng.gamma(2, 3, 800)), pd.Series(rng.gamma(2, 3.3, 900))
    assert feature_drift("x", r, c).statistic == pytest.approx(stats.ks_2samp(r, c).pvalue)
    big_r, big_c = pd.Series(rng.gamma(2, 3, 3000)), pd.Series(rng.gamma(2, 3.3, 3000))
    expected = stats.wasserstein_distance(big_r, big_c) / np.std(big_r)
    assert feature_drift("x", big_r, big_c).statistic == pytest.approx(expected)
    cats_r = pd.Series(rng.choice(list("abcd"), 700, p=[0.4, 0.3, 0.2, 0.1]))
    cats_c = pd.Series(rng.choice(list("abcd"), 600, p=[0.3, 0.3, 0.3, 0.1]))
    table = pd.crosstab(
        np.r_[np.zeros(700), np.ones(600)], pd.concat([cats_r, cats_c], ignore_index=True)
    )
    chi = stats.chi2_contingency(table.to_numpy()).pvalue
    assert feature_drift("c", cats_r, cats_c).statistic == pytest.approx(chi)
    big = pd.Series(rng.choice(list("abcd"), 5000, p=[0.4, 0.3, 0.2, 0.1]))
    big2 = pd.Series(rng.choice(list("abcd"), 5000, p=[0.3, 0.3, 0.3, 0.1]))
    shares = [big.value_counts(normalize=True).sort_index(), big2.value_counts(normalize=True)]
    js = jensenshannon(shares[0].to_numpy(), shares[1].reindex(shares[0].index).to_numpy())
    assert feature_drift("c", big, big2).statistic == pytest.approx(js)


def test_psi_by_hand():
    # 50/50 -> 70/30: (0.7 - 0.5) ln(0.7/0.5) + (0.3 - 0.5) ln(0.3/0.5) = 0.1695
    ref, cur = np.array([0] * 50 + [1] * 50), np.array([0] * 70 + [1] * 30)
    assert psi(ref, cur, numeric=False) == pytest.approx(0.2 * np.log(1.4) - 0.2 * np.log(0.6))
    f = feature_drift("x", pd.Series(ref), pd.Series(cur), method="psi")
    assert f.method == "psi"
    assert f.drifted


def test_missing_values_are_left_out_and_empty_sides_are_reported():
    f = feature_drift("x", pd.Series([np.nan, np.nan]), pd.Series([1.0, 2.0]))
    assert f.error == "no_data"
    assert not f.drifted


def test_false_alarm_rates_per_feature_on_null_data():
    # Seeded null pairs. Measured: KS (800 rows, 1000 sims) 4.2%, chi-square (800 rows, 1000
    # sims) 4.4%; normed Wasserstein (5000 rows, 200 sims) 0.0% (largest 0.054 < 0.1), PSI
    # (200 sims) 0.0% (largest 0.009). The p-value tests flag 5% of stable features by design.
    rng = np.random.default_rng(20260302)
    sims = 1000
    se = np.sqrt(0.05 * 0.95 / sims)
    ks = np.mean(
        [
            feature_drift(
                "x", pd.Series(rng.normal(size=800)), pd.Series(rng.normal(size=800))
            ).drifted
            for _ in range(sims)
        ]
    )
    assert abs(ks - 0.05) <= 3.2 * se
    p = [0.5, 0.3, 0.2]
    chi = np.mean(
        [
            feature_drift(
                "c", pd.Series(rng.choice(list("abc"), 800, p=p)),
                pd.Series(rng.choice(list("abc"), 800, p=p)),
            ).drifted
            for _ in range(sims)
        ]
    )  # fmt: skip
    assert abs(chi - 0.05) <= 3.2 * se
    big = [
        feature_drift(
            "x", pd.Series(rng.lognormal(size=5000)), pd.Series(rng.lognormal(size=5000))
        ).drifted
        for _ in range(200)
    ]
    assert sum(big) == 0
    psi_flags = [
        feature_drift(
            "x", pd.Series(rng.normal(size=5000)), pd.Series(rng.normal(size=5000)), method="psi"
        ).drifted
        for _ in range(200)
    ]
    assert sum(psi_flags) == 0


def test_dataset_drift_needs_half_the_features():
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({f"x{i}": rng.normal(size=3000) for i in range(4)})
    cur = pd.DataFrame({f"x{i}": rng.normal(0.5 if i < 2 else 0, 1, 3000) for i in range(4)})
    report = drift_report(ref, cur)
    assert report.drift_share == 0.5
    assert report.dataset_drift
    cur["x1"] = rng.normal(size=3000)
    assert not drift_report(ref, cur).dataset_drift


def test_concept_shift_ignores_covariate_and_level_shift_and_finds_shape_change():
    rng = np.random.default_rng(3)
    n = 6000

    def frame(x, slope, level=0.0):
        p = 1 / (1 + np.exp(-(-1 + slope * x + level)))
        return pd.DataFrame({"x": x, "y": (rng.random(x.size) < p).astype(int)})

    ref = frame(rng.normal(size=n), 1.0)
    covariate = frame(rng.normal(1.0, 1, n), 1.0)
    assert not concept_shift(ref, covariate, "x", "y").flagged
    shape = frame(rng.normal(size=n), -1.0)
    assert concept_shift(ref, shape, "x", "y").flagged


def test_concept_shift_false_alarm_rate_on_null_data():
    # 300 seeded null pairs (3000 rows, a logistic relation, covariate shifted by 0.5 SD):
    # measured 0.3% flagged at alpha 5% with the 0.1 SD effect gate; the p-value alone would
    # flag 12% (a shifted covariate changes who is inside each wide quintile bin).
    rng = np.random.default_rng(4)
    flagged = 0
    for _ in range(300):
        x_ref, x_cur = rng.normal(size=3000), rng.normal(0.5, 1, 3000)
        y_ref = (rng.random(3000) < 1 / (1 + np.exp(1 - x_ref))).astype(int)
        y_cur = (rng.random(3000) < 1 / (1 + np.exp(1 - x_cur))).astype(int)
        result = concept_shift(
            pd.DataFrame({"x": x_ref, "y": y_ref}), pd.DataFrame({"x": x_cur, "y": y_cur}), "x", "y"
        )
        flagged += result.flagged
    assert flagged / 300 <= 0.05


def test_demo_planted_drifts_are_found():
    ref, cur = make_drift()
    report = drift_report(
        ref, cur, label="churned", prediction="churn_score", timestamp="timestamp"
    )
    assert [f.feature for f in report.features if f.drifted] == ["income"]
    assert [c.feature for c in report.concept if c.flagged] == ["tenure_months"]
    assert report.verdict == "concept shift"
    assert report.error_current > report.error_reference
    income = report.windows[report.windows.feature == "income"]
    assert income.statistic.iloc[-1] > income.statistic.iloc[0]  # grows over the days
    assert len(report.windows.window.unique()) == config.DRIFT_WINDOWS
    assert any("income" in s for s in report.sentences)
    assert any("Concept shift" in s and "tenure_months" in s for s in report.sentences)


@pytest.mark.parametrize("seed", [config.DEMO_SEED, 1, 2, 3, 4])
def test_demo_null_twin_is_not_flagged(seed):
    ref, cur = make_drift(seed, null=True)
    report = drift_report(
        ref, cur, label="churned", prediction="churn_score", timestamp="timestamp"
    )
    assert report.verdict == "stable"
    assert not any(c.flagged for c in report.concept)
    # per-window checks on 1,000 rows: at most one of 70 window x column cells may flicker
    assert report.windows.drifted.sum() <= 1


def test_report_validates_input():
    ref = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
    with pytest.raises(InputError, match="The column 'label' is not in the reference data"):
        drift_report(ref, ref, label="label")
    with pytest.raises(InputError, match="needs a label column"):
        drift_report(ref, ref, prediction="y")
    with pytest.raises(InputError, match="The feature 'z' is not in both files"):
        drift_report(ref, ref, features=["z"])
    with pytest.raises(InputError, match="share no feature column"):
        drift_report(ref[["y"]], ref[["y"]], label="y")
    with pytest.raises(ValueError, match="method must be one of"):
        drift_report(ref, ref, method="magic")


def test_read_pair_through_duckdb_samples_large_tables():
    ref, cur = make_drift()
    con = ingest.connect()
    r, c = read_pair(con, ingest.load(con, ref), ingest.load(con, cur), max_rows=2000)
    assert list(r.columns) == list(ref.columns)
    assert len(r) == 2000
    assert len(c) == 2000
    again = read_pair(con, ingest.load(con, ref), ingest.load(con, cur), max_rows=2000)[0]
    pd.testing.assert_frame_equal(r, again)


def test_bad_launch_files_drift():
    con = ingest.connect()
    ref = ingest.load(con, make_drift()[0])
    other = ingest.load(con, BAD / "drift_current_other_columns.csv")
    with pytest.raises(InputError, match="share no column"):
        read_pair(con, ref, other)


def test_dates_and_ids_are_not_compared_unless_asked():
    ref, cur = make_drift()
    ref = ref.assign(customer_id=[f"c{i}" for i in range(len(ref))])
    cur = cur.assign(customer_id=[f"d{i}" for i in range(len(cur))])
    report = drift_report(ref, cur)
    compared = {f.feature for f in report.features}
    assert "timestamp" not in compared
    assert "customer_id" not in compared
    assert any("'timestamp', 'customer_id'" in n for n in report.notes)
    assert [f.feature for f in report.features if f.drifted] == ["income"]


def test_error_rise_is_welch_on_row_errors_and_needs_a_real_rise():
    ref, cur = make_drift()
    e_ref, e_cur, p, rose = error_rose(ref, cur, "churned", "churn_score")
    miss_ref = ((ref.churn_score >= 0.5) != ref.churned).astype(float)
    miss_cur = ((cur.churn_score >= 0.5) != cur.churned).astype(float)
    expected = stats.ttest_ind(miss_cur, miss_ref, equal_var=False, alternative="greater").pvalue
    assert p == pytest.approx(expected)
    assert (e_ref, e_cur) == pytest.approx((miss_ref.mean(), miss_cur.mean()))
    assert rose
    null_ref, null_cur = make_drift(null=True)
    assert not error_rose(null_ref, null_cur, "churned", "churn_score")[3]


# --- issue 20, items 1 and 6: the statistics against evidently's on the same frames --------
# Reference numbers: evidently 0.7.23 (pandas 2.2, scipy 1.17) in a separate venv, on the
# frames below (numpy default_rng(2020), drawn in this order):
#   from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
#   from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test
#   _jensenshannon(r, c, ColumnType.Numerical, 0.1)[0]
#   _z_stat_test(b_r, b_c, ColumnType.Categorical, 0.05)[0]


def _evidently_frames() -> dict[str, tuple[pd.Series, pd.Series]]:
    rng = np.random.default_rng(2020)
    out = {"normal": (pd.Series(rng.normal(0, 1, 5000)), pd.Series(rng.normal(0.3, 1, 4000)))}
    out["gamma"] = (pd.Series(rng.gamma(2, 3, 3000)), pd.Series(rng.gamma(2, 3.3, 3500)))
    out["binary"] = (pd.Series(rng.binomial(1, 0.3, 800)), pd.Series(rng.binomial(1, 0.36, 700)))
    out["text"] = (
        pd.Series(rng.choice(["yes", "no"], 600, p=[0.5, 0.5])),
        pd.Series(rng.choice(["yes", "no"], 650, p=[0.44, 0.56])),
    )
    return out


@pytest.mark.parametrize(
    ("frames", "expected"), [("normal", 0.09422069491966802), ("gamma", 0.06447587560377895)]
)
def test_numeric_jensen_shannon_equals_evidentlys(frames, expected):
    ref, cur = _evidently_frames()[frames]
    f = feature_drift("x", ref, cur, method="jensenshannon")
    assert f.method == "jensenshannon"
    assert f.statistic == pytest.approx(expected, abs=1e-12)
    assert f.drifted == (expected > 0.1)


@pytest.mark.parametrize(
    ("frames", "expected"), [("binary", 0.07234008797579983), ("text", 0.08497313555431751)]
)
def test_binary_feature_p_value_equals_evidentlys_z_test(frames, expected):
    # <= 1,000 reference rows and two values: Evidently's two-proportion z-test, which is
    # the 2x2 chi-square without Yates' correction (z**2 = chi2); Yates' made it conservative.
    ref, cur = _evidently_frames()[frames]
    f = feature_drift("b", ref, cur)
    assert f.method == "chisquare"
    assert f.statistic == pytest.approx(expected, abs=1e-12)


def test_numeric_chi_square_bins_by_pooled_deciles_and_keeps_its_level():
    # Chi-square on a numeric feature was the PSI read as a p-value: null N(0,1) pairs of
    # 800 rows were "drifted" and a shift of one SD was not. Now: the 2 x 10 contingency
    # table of the pooled deciles (scipy, pandas qcut as the independent binning).
    rng = np.random.default_rng(7)
    ref, cur = pd.Series(rng.normal(0, 1, 800)), pd.Series(rng.normal(0.15, 1, 900))
    bins = pd.qcut(pd.concat([ref, cur], ignore_index=True), 10, labels=False)
    side = np.r_[np.zeros(800), np.ones(900)]
    expected = stats.chi2_contingency(pd.crosstab(side, bins).to_numpy()).pvalue
    f = feature_drift("x", ref, cur, method="chisquare")
    assert (f.method, f.is_p_value) == ("chisquare", True)
    assert f.statistic == pytest.approx(expected, rel=1e-12)
    shifted = feature_drift(
        "x", pd.Series(rng.normal(0, 1, 800)), pd.Series(rng.normal(1, 1, 800)), method="chisquare"
    )
    assert shifted.drifted
    # Seeded null pairs (800 rows each, 1,000 sims): measured 6.1% flagged (5% by design;
    # 10,000 pairs from default_rng(11): 4.97%).
    sims = 1000
    flags = np.mean(
        [
            feature_drift(
                "x",
                pd.Series(rng.normal(size=800)),
                pd.Series(rng.normal(size=800)),
                method="chisquare",
            ).drifted
            for _ in range(sims)
        ]
    )
    assert abs(flags - 0.05) <= 3.2 * np.sqrt(0.05 * 0.95 / sims)


def test_demo_with_chi_square_picked_finds_the_planted_drift_only():
    ref, cur = make_drift()
    report = drift_report(ref, cur, label="churned", method="chisquare")
    assert [f.feature for f in report.features if f.drifted] == ["income"]
