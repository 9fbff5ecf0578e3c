"""Regression adjustment (abcore.regression) against statsmodels OLS on unit rows and
tea-tasting's ratio CUPED, and calibrated by a seeded, vectorised simulation."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from abcore import stats
from abcore.regression import (
    compare_ratio_cuped,
    compare_regression,
    regression_theta,
    strata_moments,
)
from abcore.suffstats import MomentStatistic, PairStatistic, SampleMean

COV = np.array([[4.0, 1.0, 0.5], [1.0, 2.0, 0.3], [0.5, 0.3, 1.0]])


def _arm(rng: np.random.Generator, n: int, effect: float, size: tuple[int, ...] = ()):
    x = rng.multivariate_normal([10.0, 5.0, 1.0], COV, size=(*size, n))
    y = 3 + x @ np.array([0.8, -0.5, 1.2]) + rng.normal(0, 2, (*size, n)) + effect
    return y, x


def _ols(y_c, x_c, y_t, x_t):
    y = np.r_[y_c, y_t]
    x = np.r_[x_c, x_t]
    t = np.r_[np.zeros(len(y_c)), np.ones(len(y_t))]
    design = np.column_stack([np.ones(len(y)), t, x - x.mean(axis=0)])
    return sm.OLS(y, design).fit()  # classical (nonrobust) covariance


def test_three_covariates_match_statsmodels_ols():
    rng = np.random.default_rng(7)
    y_c, x_c = _arm(rng, 400, 0.0)
    y_t, x_t = _arm(rng, 650, 0.4)
    # sums around different shifts in each arm: the result must not depend on them
    c = MomentStatistic.from_values(np.column_stack([y_c, x_c]), shifts=[13.0, 10.0, 5.0, 1.0])
    t = MomentStatistic.from_values(np.column_stack([y_t, x_t]))
    got = compare_regression(c, t)
    fit = _ols(y_c, x_c, y_t, x_t)
    assert got.method == "ols_adjusted"
    assert got.abs_effect == pytest.approx(fit.params[1], abs=1e-9)
    assert got.se == pytest.approx(fit.bse[1], abs=1e-9)
    assert got.df == fit.df_resid
    assert got.p_value == pytest.approx(fit.pvalues[1], abs=1e-9)
    low, high = fit.conf_int(alpha=0.05)[1]
    assert (got.abs_ci_low, got.abs_ci_high) == pytest.approx((low, high), abs=1e-9)
    np.testing.assert_allclose(regression_theta(c, t), fit.params[2:], atol=1e-9)


def test_moments_add_up_across_cells_with_other_shifts():
    rng = np.random.default_rng(3)
    z = rng.normal(1e6, 1.0, size=(300, 4))
    whole = MomentStatistic.from_values(z, shifts=z.mean(axis=0))
    a = MomentStatistic.from_values(
        z[:120], shifts=z.mean(axis=0) + np.array([1.0, -2.0, 3.0, 0.5])
    )
    b = MomentStatistic.from_values(z[120:], shifts=z.mean(axis=0))
    total = b + a
    np.testing.assert_allclose(total.cross, whole.cross, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(total.means, whole.means, rtol=1e-12)
    np.testing.assert_allclose((total - a).sums, b.sums, atol=1e-6)


def test_one_covariate_keeps_cuped_point_estimate_and_theta():
    rng = np.random.default_rng(11)
    y_c, x_c = _arm(rng, 300, 0.0)
    y_t, x_t = _arm(rng, 300, 0.2)
    pc = PairStatistic(
        300,
        y_c.sum(),
        (y_c**2).sum(),
        x_c[:, 0].sum(),
        (x_c[:, 0] ** 2).sum(),
        (y_c * x_c[:, 0]).sum(),
    )
    pt = PairStatistic(
        300,
        y_t.sum(),
        (y_t**2).sum(),
        x_t[:, 0].sum(),
        (x_t[:, 0] ** 2).sum(),
        (y_t * x_t[:, 0]).sum(),
    )
    got = compare_regression(MomentStatistic.from_pair(pc), MomentStatistic.from_pair(pt))
    cuped = stats.compare_cuped(pc, pt)
    assert got.abs_effect == pytest.approx(cuped.abs_effect, abs=1e-9)
    assert got.theta == pytest.approx(cuped.theta, abs=1e-12)
    assert got.se == pytest.approx(_ols(y_c, x_c[:, :1], y_t, x_t[:, :1]).bse[1], abs=1e-9)


def _cells(y, seg, levels):
    return [
        SampleMean(int((seg == v).sum()), y[seg == v].sum(), (y[seg == v] ** 2).sum())
        for v in levels
    ]


def test_post_stratification_matches_ols_with_stratum_dummies():
    rng = np.random.default_rng(5)
    levels = ["a", "b", "c"]
    seg_c = rng.choice([*levels, "none"], size=500, p=[0.4, 0.3, 0.2, 0.1])
    seg_t = rng.choice([*levels, "none"], size=600, p=[0.4, 0.3, 0.2, 0.1])
    base = {"a": 1.0, "b": 3.0, "c": -2.0, "none": 0.5}
    y_c = np.array([base[s] for s in seg_c]) + rng.normal(0, 1, 500)
    y_t = np.array([base[s] for s in seg_t]) + rng.normal(0, 1, 600) + 0.3
    # units without a segment value ("none") are in the overall only, as in the aggregates
    overall_c = SampleMean(500, (y_c - 1.0).sum(), ((y_c - 1.0) ** 2).sum(), shift=1.0)
    overall_t = SampleMean(600, y_t.sum() - 600 * 2.0, ((y_t - 2.0) ** 2).sum(), shift=2.0)
    c = strata_moments(overall_c, _cells(y_c, seg_c, levels))
    t = strata_moments(overall_t, _cells(y_t, seg_t, levels))
    got = compare_regression(c, t)
    seg = np.r_[seg_c, seg_t]
    dummies = np.column_stack([(seg == v).astype(float) for v in ["b", "c", "none"]])
    arm = np.r_[np.zeros(500), np.ones(600)]
    fit = sm.OLS(np.r_[y_c, y_t], np.column_stack([np.ones(1100), arm, dummies])).fit()
    assert got.abs_effect == pytest.approx(fit.params[1], abs=1e-9)
    assert got.se == pytest.approx(fit.bse[1], abs=1e-9)
    assert got.p_value == pytest.approx(fit.pvalues[1], abs=1e-9)


def test_post_stratification_with_covariates_from_moment_cells():
    rng = np.random.default_rng(9)
    y_c, x_c = _arm(rng, 400, 0.0)
    y_t, x_t = _arm(rng, 450, 0.5)
    seg_c, seg_t = rng.integers(0, 3, 400), rng.integers(0, 3, 450)
    y_c, y_t = y_c + seg_c, y_t + seg_t

    def moments(y, x, seg):
        z = np.column_stack([y, x])
        cells = [MomentStatistic.from_values(z[seg == v]) for v in range(3)]
        return strata_moments(MomentStatistic.from_values(z), cells)

    got = compare_regression(moments(y_c, x_c, seg_c), moments(y_t, x_t, seg_t))
    seg = np.r_[seg_c, seg_t]
    design = np.column_stack(
        [
            np.ones(850),
            np.r_[np.zeros(400), np.ones(450)],
            np.r_[x_c, x_t],
            (seg == 1).astype(float),
            (seg == 2).astype(float),
        ]
    )
    fit = sm.OLS(np.r_[y_c, y_t], design).fit()
    assert got.abs_effect == pytest.approx(fit.params[1], abs=1e-9)
    assert got.se == pytest.approx(fit.bse[1], abs=1e-9)


def test_ratio_cuped_reproduces_tea_tasting():
    tt = pytest.importorskip("tea_tasting")
    # tea-tasting 1.14.0:
    # tt.Experiment(m=tt.RatioOfMeans("orders", "sessions", "orders_covariate",
    #     "sessions_covariate")).analyze(tt.make_users_data(rng=42, covariates=True))["m"]
    # -> control=0.261558559079533, treatment=0.29329282211631386,
    #    effect_size=0.03173426303678084, ci=(0.01134447701776042, 0.05212404905580126),
    #    pvalue=0.002292943842523407
    data = tt.make_users_data(rng=42, covariates=True)
    frame = data.to_pandas() if hasattr(data, "to_pandas") else data
    cols = ["orders", "sessions", "orders_covariate", "sessions_covariate"]
    arms = [
        MomentStatistic.from_values(frame[frame["variant"] == v][cols].to_numpy(float))
        for v in (0, 1)
    ]
    got = compare_ratio_cuped(*arms)
    assert got.control_mean == pytest.approx(0.261558559079533, abs=1e-12)
    assert got.treatment_mean == pytest.approx(0.29329282211631386, abs=1e-12)
    assert got.abs_effect == pytest.approx(0.03173426303678084, abs=1e-12)
    assert got.abs_ci_low == pytest.approx(0.01134447701776042, abs=1e-12)
    assert got.abs_ci_high == pytest.approx(0.05212404905580126, abs=1e-12)
    assert got.p_value == pytest.approx(0.002292943842523407, abs=1e-12)
    assert got.variance_reduction > 0
    plain = stats.compare_ratios(
        *(
            PairStatistic(
                int(a.n), a.sums[0], a.cross[0, 0], a.sums[1], a.cross[1, 1], a.cross[0, 1]
            )
            for a in arms
        )
    )
    assert got.se < plain.se


def test_mismatched_variables_are_a_sentence():
    a = MomentStatistic.from_values(np.ones((3, 2)))
    b = MomentStatistic.from_values(np.ones((3, 3)))
    with pytest.raises(ValueError, match="treatment must hold the control's 2 variables"):
        compare_regression(a, b)
    with pytest.raises(ValueError, match="4 variables"):
        compare_ratio_cuped(a, a)


def test_calibration_three_correlated_covariates_under_the_null():
    """2,000 seeded A/A tests with 3 correlated covariates: the adjusted 95% interval covers
    the true zero effect and the test rejects at about alpha; the variance shrinks at least
    as much as one-covariate CUPED's."""
    rng = np.random.default_rng(2026)
    reps, n = 2000, 200
    y_c, x_c = _arm(rng, n, 0.0, (reps,))
    y_t, x_t = _arm(rng, n, 0.0, (reps,))
    c = MomentStatistic.from_values(np.concatenate([y_c[..., None], x_c], axis=-1))
    t = MomentStatistic.from_values(np.concatenate([y_t[..., None], x_t], axis=-1))
    got = compare_regression(c, t, alpha=0.05)
    covered = (got.abs_ci_low <= 0) & (got.abs_ci_high >= 0)
    se = np.sqrt(0.95 * 0.05 / reps)
    assert abs(covered.mean() - 0.95) < 3.5 * se
    assert abs(got.significant.mean() - 0.05) < 3.5 * se
    one = compare_regression(c.select([0, 1]), t.select([0, 1]))
    assert np.median(got.variance_reduction) >= np.median(one.variance_reduction)
    assert np.median(got.variance_reduction) > 0.45  # 0.51 here; one covariate: 0.32


def _ratio_arm(rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
    """Orders and sessions per user, now and in the pre-period: a user's past conversion
    rate carries over, so the pre-period ratio predicts the current one."""
    pre_s = rng.poisson(5, size) + 1
    pre_o = rng.binomial(pre_s, 0.2)
    s = rng.poisson(pre_s) + 1
    o = rng.binomial(s, 0.1 + 0.4 * pre_o / pre_s)
    return np.stack([o, s, pre_o, pre_s], axis=-1).astype(float)


def test_calibration_ratio_cuped_under_the_null():
    """2,000 seeded A/A tests of orders per session with the pre-period ratio as covariate
    (500 users an arm, skewed counts): coverage and false-positive rate at their nominal
    rates, and a variance reduction."""
    rng = np.random.default_rng(2027)
    reps = 2000
    c = MomentStatistic.from_values(_ratio_arm(rng, (reps, 500)))
    t = MomentStatistic.from_values(_ratio_arm(rng, (reps, 500)))
    got = compare_ratio_cuped(c, t, alpha=0.05)
    covered = (got.abs_ci_low <= 0) & (got.abs_ci_high >= 0)
    se = np.sqrt(0.95 * 0.05 / reps)
    assert abs(covered.mean() - 0.95) < 3.5 * se
    assert abs(got.significant.mean() - 0.05) < 3.5 * se
    assert np.median(got.variance_reduction) > 0.1
