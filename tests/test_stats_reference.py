"""abcore.stats against scipy, statsmodels, independent formulas and published results."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from real_data import real
from scipy import optimize
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from abcore import stats
from abcore.suffstats import PairStatistic

ALTERNATIVES = ("two-sided", "greater", "less")
METHODS = ("fieller", "log", "delta")
SM_ALTERNATIVE = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}

# (n_control, conversions_control, n_treatment, conversions_treatment): unequal n, rates
# from 0.5% to 60%, effects of both signs.
PROPORTION_GRID = [
    (1_000, 10, 1_200, 19),
    (2_000, 200, 1_500, 170),
    (500, 300, 800, 450),
    (10_000, 1_000, 9_000, 1_000),
    (145_274, 17_489, 145_310, 17_264),
    (37, 5, 52, 11),
    (3_000, 30, 2_000, 12),
]
# (n_c, mean_c, sd_c, n_t, mean_t, sd_t)
MEAN_GRID = [
    (10, 5.0, 1.0, 12, 5.8, 2.0),
    (200, 100.0, 30.0, 150, 104.0, 45.0),
    (3, -1.0, 0.5, 40, -0.7, 3.0),
    (5_000, 2.5, 10.0, 5_100, 2.4, 9.0),
    (25, 0.5, 1.0, 25, 0.3, 1.0),
]


def exact_sample(rng: np.random.Generator, n: int, mean: float, sd: float) -> np.ndarray:
    """A sample whose mean and ddof=1 standard deviation are exactly ``mean`` and ``sd``."""
    z = rng.standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + sd * z


# --- proportions: statsmodels ---------------------------------------------------------


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_proportions_match_statsmodels(alternative: str, alpha: float) -> None:
    n_c, x_c, n_t, x_t = (np.array(col) for col in zip(*PROPORTION_GRID, strict=True))
    got = stats.compare_proportions(n_c, x_c, n_t, x_t, alpha=alpha, alternative=alternative)
    for i, (nc, xc, nt, xt) in enumerate(PROPORTION_GRID):
        # pooled z: proportions_ztest(count, nobs, value=0, alternative, prop_var=False)
        z, p = proportions_ztest([xt, xc], [nt, nc], alternative=SM_ALTERNATIVE[alternative])
        assert got.statistic[i] == pytest.approx(z, abs=1e-9)
        assert got.p_value[i] == pytest.approx(p, abs=1e-9)
        # Wald interval; a one-sided bound at 1 - alpha is a two-sided bound at 1 - 2 alpha.
        level = alpha if alternative == "two-sided" else 2 * alpha
        low, high = confint_proportions_2indep(
            xt, nt, xc, nc, method="wald", compare="diff", alpha=level
        )
        want = {
            "two-sided": (low, high),
            "greater": (low, np.inf),
            "less": (-np.inf, high),
        }[alternative]
        assert got.abs_ci_low[i] == pytest.approx(want[0], abs=1e-9)
        assert got.abs_ci_high[i] == pytest.approx(want[1], abs=1e-9)


# --- means: scipy ------------------------------------------------------------------------


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("row", MEAN_GRID)
def test_means_match_scipy(alternative: str, row: tuple[float, ...]) -> None:
    n_c, m_c, s_c, n_t, m_t, s_t = row
    got = stats.compare_means(n_c, m_c, s_c, n_t, m_t, s_t, alternative=alternative, alpha=0.1)
    ref = sps.ttest_ind_from_stats(
        m_t, s_t, n_t, m_c, s_c, n_c, equal_var=False, alternative=alternative
    )
    assert got.statistic == pytest.approx(ref.statistic, abs=1e-9)
    assert got.p_value == pytest.approx(ref.pvalue, abs=1e-9)
    # scipy's TtestResult.confidence_interval on data with exactly these summaries.
    rng = np.random.default_rng(7)
    data_t, data_c = exact_sample(rng, n_t, m_t, s_t), exact_sample(rng, n_c, m_c, s_c)
    res = sps.ttest_ind(data_t, data_c, equal_var=False, alternative=alternative)
    ci = res.confidence_interval(confidence_level=0.9)
    assert got.df == pytest.approx(res.df, rel=1e-9)
    assert got.abs_ci_low == pytest.approx(ci.low, abs=1e-6)
    assert got.abs_ci_high == pytest.approx(ci.high, abs=1e-6)


def test_means_vectorised_equal_scalar_calls() -> None:
    cols = [np.array(c, dtype=float) for c in zip(*MEAN_GRID, strict=True)]
    vec = stats.compare_means(*cols, alternative="less")
    for i, row in enumerate(MEAN_GRID):
        one = stats.compare_means(*row, alternative="less")
        for name in ("p_value", "abs_ci_high", "rel_ci_low", "rel_ci_high", "df", "se"):
            assert getattr(vec, name)[i] == pytest.approx(
                getattr(one, name), rel=1e-12, nan_ok=True
            )


# --- relative intervals: independent implementations ------------------------------------


def fieller_by_root_finding(
    m_c: float, v_c: float, m_t: float, v_t: float, q: float
) -> tuple[float, float]:
    """Fieller's set {R: (m_t - R m_c)**2 <= q**2 (v_t + R**2 v_c)} by bracketing roots."""

    def h(ratio: float) -> float:
        return (m_t - ratio * m_c) ** 2 - q**2 * (v_t + ratio**2 * v_c)

    est = m_t / m_c
    far = 10.0
    while h(est - far) <= 0 or h(est + far) <= 0:
        far *= 10
    low = optimize.brentq(h, est - far, est, xtol=1e-14, rtol=1e-13)
    high = optimize.brentq(h, est, est + far, xtol=1e-14, rtol=1e-13)
    return low - 1, high - 1


proportion_inputs = st.tuples(
    st.integers(20, 5_000), st.floats(0.01, 0.9), st.integers(20, 5_000), st.floats(0.01, 0.9)
)


@settings(max_examples=150, deadline=None)
@given(proportion_inputs, st.sampled_from(ALTERNATIVES), st.floats(0.01, 0.2))
def test_fieller_matches_root_finding(
    inputs: tuple[int, float, int, float], alternative: str, alpha: float
) -> None:
    n_c, r_c, n_t, r_t = inputs
    x_c, x_t = max(round(n_c * r_c), 1), max(round(n_t * r_t), 1)
    c = stats.compare_proportions(n_c, x_c, n_t, x_t, alpha=alpha, alternative=alternative)
    p_c, p_t = x_c / n_c, x_t / n_t
    v_c, v_t = p_c * (1 - p_c) / n_c, p_t * (1 - p_t) / n_t
    q = sps.norm.isf(alpha / 2 if alternative == "two-sided" else alpha)
    g = q**2 * v_c / p_c**2
    if g >= 1:
        assert c.error == "unbounded_relative_ci"
        assert (c.rel_ci_low, c.rel_ci_high) == (-np.inf, np.inf)
        return
    low, high = fieller_by_root_finding(p_c, v_c, p_t, v_t, q)
    want_low = -np.inf if alternative == "less" else low
    want_high = np.inf if alternative == "greater" else high
    assert c.rel_ci_low == pytest.approx(want_low, rel=1e-8, abs=1e-10)
    assert c.rel_ci_high == pytest.approx(want_high, rel=1e-8, abs=1e-10)


def test_fieller_unbounded_when_control_not_distinguishable_from_zero() -> None:
    # 2 conversions of 1,000: z of the control rate is 0.002 / 0.00141 = 1.41 < 1.96.
    c = stats.compare_proportions(1_000, 2, 1_000, 8)
    assert c.error == "unbounded_relative_ci"
    assert (c.rel_ci_low, c.rel_ci_high) == (-np.inf, np.inf)
    assert c.p_value < 0.06  # the absolute test still runs
    assert np.isfinite(c.abs_ci_low)
    bounded = stats.compare_proportions(1_000, 2, 1_000, 8, relative_method="delta")
    assert bounded.error is None


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_log_and_delta_match_textbook_formulas(alternative: str) -> None:
    n_c, x_c, n_t, x_t = 4_000, 120, 3_500, 140
    p_c, p_t = x_c / n_c, x_t / n_t
    v_c, v_t = p_c * (1 - p_c) / n_c, p_t * (1 - p_t) / n_t
    q = sps.norm.isf(0.05 / 2 if alternative == "two-sided" else 0.05)
    c = stats.compare_proportions(n_c, x_c, n_t, x_t, alternative=alternative)
    se_log = np.sqrt(v_t / p_t**2 + v_c / p_c**2)
    log_ci = np.exp(np.log(p_t / p_c) + np.array([-q, q]) * se_log) - 1
    # GrowthBook's delta method: var(p_t / p_c) = v_t / p_c**2 + p_t**2 v_c / p_c**4
    se_delta = np.sqrt(v_t / p_c**2 + p_t**2 * v_c / p_c**4)
    delta_ci = p_t / p_c - 1 + np.array([-q, q]) * se_delta
    got = stats.relative_intervals(c)
    for name, want in (("log", log_ci), ("delta", delta_ci)):
        low = -np.inf if alternative == "less" else want[0]
        high = np.inf if alternative == "greater" else want[1]
        assert got[name] == pytest.approx((low, high), rel=1e-10)
    assert got["fieller"] == (c.rel_ci_low, c.rel_ci_high)


def test_negative_control_mean_relative_to_its_magnitude() -> None:
    c = stats.compare_means(400, -10.0, 5.0, 400, -9.0, 5.0)
    assert c.rel_effect == pytest.approx(0.1)  # 1 better than |-10|
    assert c.rel_ci_low < 0.1 < c.rel_ci_high
    # Negating the metric on every unit negates the relative effect and mirrors the Fieller
    # and delta intervals (the log interval is symmetric on the log scale instead).
    negated = stats.compare_means(400, 10.0, 5.0, 400, 9.0, 5.0)
    for method in ("fieller", "delta"):
        low, high = stats.relative_interval(c, method)
        n_low, n_high = stats.relative_interval(negated, method)
        assert (low, high) == pytest.approx((-n_high, -n_low), rel=1e-12)


# --- duality: the p-value at a CI bound equals alpha -------------------------------------

mean_inputs = st.tuples(
    st.integers(2, 500),
    st.floats(-100, 100),
    st.floats(0.1, 50),
    st.integers(2, 500),
    st.floats(-100, 100),
    st.floats(0.1, 50),
)


@settings(max_examples=150, deadline=None)
@given(mean_inputs, st.sampled_from(ALTERNATIVES), st.floats(0.001, 0.5))
def test_welch_p_value_at_ci_bound_is_alpha(
    inputs: tuple[int, float, float, int, float, float], alternative: str, alpha: float
) -> None:
    n_c, m_c, s_c, n_t, m_t, s_t = inputs
    c = stats.compare_means(n_c, m_c, s_c, n_t, m_t, s_t, alpha=alpha, alternative=alternative)
    bounds = [b for b in (c.abs_ci_low, c.abs_ci_high) if np.isfinite(b)]
    for bound in bounds:
        # Testing "difference = bound" is testing zero difference after shifting treatment.
        shifted = stats.compare_means(
            n_c, m_c, s_c, n_t, m_t - bound, s_t, alpha=alpha, alternative=alternative
        )
        assert shifted.p_value == pytest.approx(alpha, rel=1e-6)


def shift_y(pair: PairStatistic, d: float) -> PairStatistic:
    """Sufficient statistics after adding ``d`` to every unit's ``y``."""
    return PairStatistic(
        pair.n,
        pair.sum_y + pair.n * d,
        pair.sum_y_sq + 2 * d * pair.sum_y + pair.n * d**2,
        pair.sum_x,
        pair.sum_x_sq,
        pair.sum_xy + d * pair.sum_x,
    )


def pair_from(y: np.ndarray, x: np.ndarray) -> PairStatistic:
    return PairStatistic(len(y), y.sum(), (y**2).sum(), x.sum(), (x**2).sum(), (x * y).sum())


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(ALTERNATIVES), st.floats(0.01, 0.3))
def test_cuped_p_value_at_ci_bound_is_alpha(seed: int, alternative: str, alpha: float) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(10, 2, (2, 60))
    y = 0.8 * x + rng.normal(0, 1, (2, 60)) + [[0.0], [0.4]]
    ctl, trt = pair_from(y[0], x[0]), pair_from(y[1], x[1])
    c = stats.compare_cuped(ctl, trt, alpha=alpha, alternative=alternative)
    for bound in (b for b in (c.abs_ci_low, c.abs_ci_high) if np.isfinite(b)):
        shifted = stats.compare_cuped(
            ctl, shift_y(trt, -bound), alpha=alpha, alternative=alternative
        )
        assert shifted.theta == pytest.approx(c.theta, rel=1e-9)
        assert shifted.p_value == pytest.approx(alpha, rel=1e-5)


@settings(max_examples=100, deadline=None)
@given(proportion_inputs, st.sampled_from(ALTERNATIVES), st.sampled_from(METHODS))
def test_relative_p_value_at_relative_bound_is_alpha(
    inputs: tuple[int, float, int, float], alternative: str, method: str
) -> None:
    n_c, r_c, n_t, r_t = inputs
    x_c, x_t = max(round(n_c * r_c), 1), max(round(n_t * r_t), 1)
    c = stats.compare_proportions(
        n_c, x_c, n_t, x_t, alternative=alternative, relative_method=method
    )
    bounds = [b for b in (c.rel_ci_low, c.rel_ci_high) if np.isfinite(b)]
    assume(bounds)
    for bound in bounds:
        p = stats.relative_p_value(c, bound)
        assert p == pytest.approx(0.05, rel=1e-6)


# --- ratio metrics and CUPED against direct computations --------------------------------


def test_ratio_delta_variance_matches_unit_level_linearisation() -> None:
    rng = np.random.default_rng(3)
    sessions = 1 + rng.poisson(3, 800)
    clicks = rng.binomial(sessions, 0.3)
    pair = pair_from(clicks.astype(float), sessions.astype(float))
    other = pair_from(clicks[:400].astype(float), sessions[:400].astype(float))
    c = stats.compare_ratios(pair, other)
    ratio = clicks.sum() / sessions.sum()
    # Linearised unit values: (y - r x) / mean(x); their variance of the mean is var(r_hat).
    lin = (clicks - ratio * sessions) / sessions.mean()
    r2 = clicks[:400].sum() / sessions[:400].sum()
    lin2 = (clicks[:400] - r2 * sessions[:400]) / sessions[:400].mean()
    want = lin.var(ddof=1) / lin.size + lin2.var(ddof=1) / lin2.size
    assert c.control_mean == pytest.approx(ratio)
    assert c.treatment_mean == pytest.approx(r2)
    assert c.se**2 == pytest.approx(want, rel=1e-10)
    assert c.rel_baseline_se**2 == pytest.approx(lin.var(ddof=1) / lin.size, rel=1e-10)


def test_cuped_matches_ancova_point_estimate() -> None:
    # CUPED with the pooled within-arm slope is the treatment coefficient of y ~ 1 + T + x.
    rng = np.random.default_rng(11)
    n_c, n_t = 700, 500
    x = rng.gamma(2.0, 5.0, n_c + n_t)
    treat = np.r_[np.zeros(n_c), np.ones(n_t)]
    y = 3 + 0.6 * x + 1.5 * treat + rng.normal(0, 4, n_c + n_t)
    fit = sm.OLS(y, sm.add_constant(np.column_stack([treat, x]))).fit(cov_type="HC2")
    ctl, trt = pair_from(y[:n_c], x[:n_c]), pair_from(y[n_c:], x[n_c:])
    c = stats.compare_cuped(ctl, trt)
    assert stats.cuped_theta(ctl, trt) == pytest.approx(fit.params[2], rel=1e-10)
    assert c.abs_effect == pytest.approx(fit.params[1], rel=1e-10)
    # Welch on adjusted values and the heteroscedasticity-robust ANCOVA SE agree closely
    # (they differ only by the uncertainty in theta, O(1/n)).
    assert c.se == pytest.approx(fit.bse[1], rel=0.02)


# --- multiple testing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs"), [("holm", "holm"), ("bonferroni", "bonferroni"), ("bh", "fdr_bh")]
)
def test_adjust_p_values_matches_statsmodels(ours: str, theirs: str) -> None:
    rng = np.random.default_rng(5)
    for size in (1, 2, 5, 30):
        p = np.concatenate([rng.uniform(0, 0.05, size), rng.uniform(0, 1, size)])
        p[::7] = p[0]  # ties
        want = multipletests(p, method=theirs)[1]
        np.testing.assert_allclose(stats.adjust_p_values(p, ours), want, rtol=1e-12)
        with_nan = np.insert(p, [0, size], np.nan)
        got = stats.adjust_p_values(with_nan, ours)
        assert np.isnan(got[0])
        assert np.isnan(got[size + 1])
        np.testing.assert_allclose(got[~np.isnan(with_nan)], want, rtol=1e-12)


# --- real data: published numbers ---------------------------------------------------------


def test_ab_data_published_p_values() -> None:
    # Udacity "Analyze A/B Test Results" after cleaning: 17,489 / 145,274 vs 17,264 / 145,310.
    greater = stats.compare_proportions(145_274, 17_489, 145_310, 17_264, alternative="greater")
    assert round(greater.control_mean * 100, 4) == 12.0386
    assert round(greater.treatment_mean * 100, 4) == 11.8808
    assert round(greater.p_value, 3) == 0.905
    two_sided = stats.compare_proportions(145_274, 17_489, 145_310, 17_264)
    assert two_sided.p_value == pytest.approx(0.19, abs=0.005)


def _udacity_first_23_days() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = real("udacity_free_trial")
    # One header carries a UTF-8 byte-order mark; the last 14 days have no enrollments.
    ctl = pd.read_csv(folder / "control_data.csv", encoding="utf-8-sig")
    exp = pd.read_csv(folder / "experiment_data.csv", encoding="utf-8-sig")
    ctl, exp = ctl.dropna(subset=["Enrollments"]), exp.dropna(subset=["Enrollments"])
    assert len(ctl) == len(exp) == 23
    return ctl, exp


@pytest.mark.parametrize(
    ("numerator", "effect", "ci"),
    [("Enrollments", -0.0206, (-0.0291, -0.0120)), ("Payments", -0.0049, (-0.0116, 0.0019))],
)
def test_udacity_free_trial_published_intervals(
    numerator: str, effect: float, ci: tuple[float, float]
) -> None:
    ctl, exp = _udacity_first_23_days()
    c = stats.compare_proportions(
        int(ctl["Clicks"].sum()),
        int(ctl[numerator].sum()),
        int(exp["Clicks"].sum()),
        int(exp[numerator].sum()),
    )
    assert c.abs_effect == pytest.approx(effect, abs=5e-5)
    # The course's interval: effect +/- 1.96 * pooled SE, i.e. se_null (the SE of the test).
    z = sps.norm.isf(0.025)
    pooled = (c.abs_effect - z * c.se_null, c.abs_effect + z * c.se_null)
    assert pooled == pytest.approx(ci, abs=5e-5)
    # Our Wald interval uses the unpooled SE; at these sample sizes it agrees to 5e-4.
    assert (c.abs_ci_low, c.abs_ci_high) == pytest.approx(ci, abs=5e-4)


def test_reference_grid_is_not_degenerate() -> None:
    for row in PROPORTION_GRID:
        assert stats.compare_proportions(*row).error is None
    for row, alt in itertools.product(MEAN_GRID, ALTERNATIVES):
        assert stats.compare_means(*row, alternative=alt).error is None
