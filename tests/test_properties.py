"""Hypothesis properties across abcore.power and abcore.stats.

They extend, and do not repeat, the properties in ``tests/test_stats.py`` (arm swaps for
proportions and means, p falling with n for two-sided proportions and means, the ordering
raw <= BH <= Holm <= Bonferroni), ``tests/test_stats_reference.py`` (p = alpha at Welch,
CUPED and relative bounds) and ``tests/test_power.py`` (power rising with n and effect for a
two-sided proportion, round trips).

Proportions need care with duality. The p-value is the pooled z test's (standard error under
H0) and the interval is Wald's (unpooled standard error), so the two answer "is zero
plausible?" with different standard errors, and they can disagree:

* each is dual to its own test: the Wald interval excludes zero exactly when the *Wald*
  (unpooled) z test rejects, checked here against statsmodels;
* with equal arms the pooled standard error is never the smaller one (their squares differ by
  ``(p_t - p_c)**2 / (2 n)``), so a significant pooled p-value implies a Wald interval that
  excludes zero; the converse fails near the boundary;
* with unequal arms either can be the more decisive: the pooled test is more decisive when the
  small arm has the larger variance, the Wald interval when it has the smaller one
  (:func:`test_pooled_p_and_wald_interval_can_disagree_with_unequal_arms` shows both).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from statsmodels.stats import proportion as smp

from abcore import power, stats
from abcore.suffstats import PairStatistic, SampleMean

ALTERNATIVES = ("two-sided", "greater", "less")
METHODS = ("fieller", "log", "delta")
SM_ALTERNATIVE = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}
"""statsmodels' names, with sample 1 = treatment, so "larger" means treatment higher."""


def excludes_zero(low: float, high: float) -> bool:
    return bool(low > 0 or high < 0)


def pair_from(y: np.ndarray, x: np.ndarray) -> PairStatistic:
    return PairStatistic(len(y), y.sum(), (y**2).sum(), x.sum(), (x**2).sum(), (x * y).sum())


def repeated(pair: PairStatistic, k: int) -> PairStatistic:
    """The statistics of the same units seen ``k`` times: same means, ``k`` times the data."""
    return PairStatistic(
        pair.n * k,
        pair.sum_y * k,
        pair.sum_y_sq * k,
        pair.sum_x * k,
        pair.sum_x_sq * k,
        pair.sum_xy * k,
    )


def rescaled(pair: PairStatistic, ky: float, kx: float) -> PairStatistic:
    """The statistics after multiplying every ``y`` by ``ky`` and every ``x`` by ``kx``."""
    return PairStatistic(
        pair.n,
        pair.sum_y * ky,
        pair.sum_y_sq * ky**2,
        pair.sum_x * kx,
        pair.sum_x_sq * kx**2,
        pair.sum_xy * ky * kx,
    )


counts = st.tuples(
    st.integers(20, 100_000),
    st.floats(0.002, 0.998),
    st.integers(20, 100_000),
    st.floats(0.002, 0.998),
).map(lambda t: (t[0], max(1, round(t[0] * t[1])), t[2], max(1, round(t[2] * t[3]))))
"""(n_control, conversions_control, n_treatment, conversions_treatment), never all or none
converted in both arms (a zero-variance comparison)."""


@st.composite
def ratio_arms(draw: st.DrawFn) -> tuple[PairStatistic, PairStatistic]:
    """Clicks per session for two arms of users, from a seeded simulation."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_c, n_t = draw(st.integers(20, 400)), draw(st.integers(20, 400))
    lift = draw(st.floats(-0.3, 0.3))
    arms = []
    for n, factor in ((n_c, 1.0), (n_t, 1 + lift)):
        sessions = 1.0 + rng.poisson(3.0, n)
        clicks = rng.poisson(sessions * rng.gamma(2.0, 0.125, n) * factor).astype(float)
        arms.append(pair_from(clicks, sessions))
    return arms[0], arms[1]


@st.composite
def cuped_arms(draw: st.DrawFn) -> tuple[PairStatistic, PairStatistic]:
    """A metric and its pre-period covariate (correlation rho) in two arms."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_c, n_t = draw(st.integers(10, 300)), draw(st.integers(10, 300))
    rho, effect = draw(st.floats(0.0, 0.95)), draw(st.floats(-1.0, 1.0))
    arms = []
    for n, shift in ((n_c, 0.0), (n_t, effect)):
        x = rng.standard_normal(n)
        y = 5 + shift + rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)
        arms.append(pair_from(y, 20 + 3 * x))
    return arms[0], arms[1]


# --- p-value / interval duality ----------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(counts, st.sampled_from(ALTERNATIVES), st.floats(0.001, 0.3))
def test_wald_interval_excludes_zero_exactly_when_the_wald_test_rejects(
    inputs: tuple[int, int, int, int], alternative: str, alpha: float
) -> None:
    n_c, x_c, n_t, x_t = inputs
    # an arm at 0% or 100% gets Newcombe's interval by design (issue 20): no Wald duality
    assume(0 < x_c < n_c and 0 < x_t < n_t)
    c = stats.compare_proportions(n_c, x_c, n_t, x_t, alpha=alpha, alternative=alternative)
    assume(c.error is None or c.error == "unbounded_relative_ci")
    with np.errstate(divide="ignore"):  # statsmodels also forms the odds ratio (1/0 at 100%)
        wald = smp.test_proportions_2indep(
            x_t,
            n_t,
            x_c,
            n_c,
            method="wald",
            compare="diff",
            alternative=SM_ALTERNATIVE[alternative],
        )
    assume(abs(wald.pvalue - alpha) > 1e-9 * alpha)
    assert excludes_zero(c.abs_ci_low, c.abs_ci_high) == (wald.pvalue < alpha)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(20, 100_000),
    st.floats(0.002, 0.998),
    st.floats(0.002, 0.998),
    st.sampled_from(ALTERNATIVES),
    st.floats(0.001, 0.3),
)
def test_with_equal_arms_a_significant_p_value_means_the_interval_excludes_zero(
    n: int, r_c: float, r_t: float, alternative: str, alpha: float
) -> None:
    x_c, x_t = max(1, round(n * r_c)), max(1, round(n * r_t))
    c = stats.compare_proportions(n, x_c, n, x_t, alpha=alpha, alternative=alternative)
    assert c.se_null >= c.se * (1 - 1e-12)
    if c.p_value < alpha * (1 - 1e-9):
        assert excludes_zero(c.abs_ci_low, c.abs_ci_high)


@pytest.mark.parametrize(
    ("args", "significant", "excludes"),
    [
        # Small arm (100 units) at 5%, large arm at 1%: the pooled SE (0.0122) is smaller than
        # Wald's (0.0220), so p = 0.001 while the Wald interval is (-0.0032, 0.0832).
        ((1_000, 10, 100, 5), True, False),
        # Small arm at 1%, large at 5%: now Wald's SE (0.0121) is the smaller one.
        ((1_000, 50, 100, 1), False, True),
    ],
)
def test_pooled_p_and_wald_interval_can_disagree_with_unequal_arms(
    args: tuple[int, int, int, int], significant: bool, excludes: bool
) -> None:
    n_c, x_c, n_t, x_t = args
    c = stats.compare_proportions(*args)
    pooled = smp.test_proportions_2indep(x_t, n_t, x_c, n_c, method="score", correction=False)
    wald = smp.confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff")
    assert c.p_value == pytest.approx(pooled.pvalue, rel=1e-9)
    assert (c.abs_ci_low, c.abs_ci_high) == pytest.approx(wald, rel=1e-9)
    assert (c.p_value < 0.05) is significant
    assert excludes_zero(c.abs_ci_low, c.abs_ci_high) is excludes


@settings(max_examples=100, deadline=None)
@given(ratio_arms(), st.sampled_from(ALTERNATIVES), st.floats(0.001, 0.3))
def test_ratio_p_value_and_interval_agree(
    arms: tuple[PairStatistic, PairStatistic], alternative: str, alpha: float
) -> None:
    c = stats.compare_ratios(*arms, alpha=alpha, alternative=alternative)
    assume(c.error is None and abs(c.p_value - alpha) > 1e-9 * alpha)
    assert excludes_zero(c.abs_ci_low, c.abs_ci_high) == (c.p_value < alpha)


def _fieller_agrees_with_absolute(c: stats.Comparison) -> None:
    """Fieller's interval contains 0 exactly when the absolute interval does (if bounded)."""
    assume(c.error is None and np.isfinite(c.se) and c.se > 0)
    z = abs(c.abs_effect) / c.se
    crit = abs(c.abs_effect - c.abs_ci_low) / c.se if np.isfinite(c.abs_ci_low) else None
    if crit is None:
        crit = abs(c.abs_ci_high - c.abs_effect) / c.se
    assume(abs(z - crit) > 1e-7 * crit)
    rel_excludes = excludes_zero(c.rel_ci_low, c.rel_ci_high)
    assert rel_excludes == excludes_zero(c.abs_ci_low, c.abs_ci_high)


@settings(max_examples=100, deadline=None)
@given(counts, st.sampled_from(ALTERNATIVES), st.floats(0.001, 0.3))
def test_fieller_and_absolute_intervals_agree_on_zero_for_proportions(
    inputs: tuple[int, int, int, int], alternative: str, alpha: float
) -> None:
    _fieller_agrees_with_absolute(
        stats.compare_proportions(*inputs, alpha=alpha, alternative=alternative)
    )


@settings(max_examples=60, deadline=None)
@given(ratio_arms(), st.sampled_from(ALTERNATIVES))
def test_fieller_and_absolute_intervals_agree_on_zero_for_ratios(
    arms: tuple[PairStatistic, PairStatistic], alternative: str
) -> None:
    _fieller_agrees_with_absolute(stats.compare_ratios(*arms, alternative=alternative))


@settings(max_examples=60, deadline=None)
@given(cuped_arms(), st.sampled_from(ALTERNATIVES))
def test_fieller_and_absolute_intervals_agree_on_zero_for_cuped(
    arms: tuple[PairStatistic, PairStatistic], alternative: str
) -> None:
    _fieller_agrees_with_absolute(stats.compare_cuped(*arms, alternative=alternative))


# --- more data, same effect --------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(ratio_arms(), st.integers(2, 20))
def test_ratio_p_value_falls_as_n_grows_at_a_fixed_effect(
    arms: tuple[PairStatistic, PairStatistic], k: int
) -> None:
    small = stats.compare_ratios(*arms)
    large = stats.compare_ratios(*(repeated(a, k) for a in arms))
    assume(small.error is None and abs(small.abs_effect) > 1e-9 and small.p_value > 1e-250)
    assert large.abs_effect == pytest.approx(small.abs_effect, rel=1e-9)
    assert large.p_value < small.p_value


@settings(max_examples=60, deadline=None)
@given(cuped_arms(), st.integers(2, 20))
def test_cuped_one_sided_p_values_move_apart_as_n_grows(
    arms: tuple[PairStatistic, PairStatistic], k: int
) -> None:
    # More of the same data: the p-value on the side of the effect falls, the other rises.
    two_sided = stats.compare_cuped(*arms)
    assume(two_sided.error is None and abs(two_sided.abs_effect) > 1e-9)
    towards, away = ("greater", "less") if two_sided.abs_effect > 0 else ("less", "greater")
    big = [repeated(a, k) for a in arms]
    for alternative, falls in ((towards, True), (away, False)):
        before = stats.compare_cuped(*arms, alternative=alternative).p_value
        after = stats.compare_cuped(*big, alternative=alternative).p_value
        assume(1e-250 < before < 1 - 1e-12)
        assert (after < before) is falls


# --- power -------------------------------------------------------------------------------


mean_plans = st.fixed_dictionaries(
    {
        "alternative": st.sampled_from(ALTERNATIVES),
        "ratio": st.sampled_from([0.3, 1.0, 7 / 3]),
        "treatments": st.integers(1, 4),
        "variance_reduction": st.sampled_from([0.0, 0.3, 0.8]),
    }
)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(1.0, 1_000.0),
    st.floats(0.1, 5.0),
    st.floats(0.005, 0.3),
    st.integers(50, 10**6),
    mean_plans,
)
def test_power_of_a_mean_rises_with_n_and_effect_for_every_option(
    mean: float, cv: float, lift: float, n: int, options: dict
) -> None:
    mde = -lift if options["alternative"] == "less" else lift
    sd = cv * mean
    ns = np.geomspace(n, 50 * n, 20)
    by_n = power.power_mean(mean, sd, mde, ns, **options)
    assert np.all(np.diff(by_n) >= 0)
    effects = mde * np.linspace(1, 5, 20)
    by_effect = power.power_mean(mean, sd, effects, n, **options)
    assert np.all(np.diff(by_effect) >= 0)
    # and falls with more arms to split alpha across, rises with alpha and with CUPED
    base = power.power_mean(mean, sd, mde, n, **options)
    more_arms = {**options, "treatments": options["treatments"] + 1}
    assert power.power_mean(mean, sd, mde, n, **more_arms) <= base
    assert power.power_mean(mean, sd, mde, n, **options, alpha=0.1) >= base
    reduced = {**options, "variance_reduction": 0.9}
    assert power.power_mean(mean, sd, mde, n, **reduced) >= base


@settings(max_examples=100, deadline=None)
@given(
    st.floats(0.005, 0.6),
    st.floats(0.01, 0.19),
    st.integers(50, 10**6),
    st.sampled_from(["greater", "less"]),
    st.sampled_from([0.5, 1.0, 2.0]),
)
def test_one_sided_power_of_a_proportion_rises_with_n_and_effect(
    baseline: float, lift: float, n: int, alternative: str, ratio: float
) -> None:
    sign = -1.0 if alternative == "less" else 1.0
    assume(baseline * (1 + 5 * lift) < 0.99)
    options = {"alternative": alternative, "ratio": ratio}
    by_n = power.power_proportion(baseline, sign * lift, np.geomspace(n, 50 * n, 20), **options)
    assert np.all(np.diff(by_n) >= 0)
    by_effect = power.power_proportion(baseline, sign * lift * np.linspace(1, 5, 20), n, **options)
    assert np.all(np.diff(by_effect) >= 0)
    # A one-sided test looking the wrong way detects the effect less often than alpha.
    wrong = "greater" if alternative == "less" else "less"
    assert power.power_proportion(baseline, sign * lift, n, alternative=wrong) < 0.05


@settings(max_examples=60, deadline=None)
@given(st.floats(0.01, 0.5), st.floats(0.02, 0.3), mean_plans)
def test_needed_sample_size_falls_as_the_mde_grows_and_rises_with_power(
    baseline: float, lift: float, options: dict
) -> None:
    sign = -1.0 if options["alternative"] == "less" else 1.0
    mdes = sign * lift * np.linspace(1, 3, 20)
    assume(baseline * (1 + 3 * lift) < 0.99)
    sizes = power.sample_size_proportion(baseline, mdes, **options).n_control
    assert np.all(np.diff(sizes) <= 0)
    by_power = [
        power.sample_size_mean(10.0, 5.0, sign * lift, power=p, **options).n_control
        for p in (0.5, 0.7, 0.8, 0.9, 0.95)
    ]
    assert by_power == sorted(by_power)


# --- relabelling the arms ----------------------------------------------------------------


def _assert_mirrored(ab: stats.Comparison, ba: stats.Comparison) -> None:
    assert ba.abs_effect == pytest.approx(-ab.abs_effect, rel=1e-9, abs=1e-12)
    assert ba.p_value == pytest.approx(ab.p_value, rel=1e-9, abs=1e-300)
    assert ba.abs_ci_low == pytest.approx(-ab.abs_ci_high, rel=1e-9, abs=1e-12)
    assert ba.abs_ci_high == pytest.approx(-ab.abs_ci_low, rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(ratio_arms())
def test_swapping_arms_of_a_ratio_negates_the_effect(
    arms: tuple[PairStatistic, PairStatistic],
) -> None:
    ab = stats.compare_ratios(*arms)
    assume(ab.error is None)
    _assert_mirrored(ab, stats.compare_ratios(arms[1], arms[0]))
    greater = stats.compare_ratios(*arms, alternative="greater")
    less = stats.compare_ratios(arms[1], arms[0], alternative="less")
    assert less.p_value == pytest.approx(greater.p_value, rel=1e-9, abs=1e-300)


@settings(max_examples=100, deadline=None)
@given(cuped_arms())
def test_swapping_arms_of_cuped_negates_the_effect(
    arms: tuple[PairStatistic, PairStatistic],
) -> None:
    ab = stats.compare_cuped(*arms)
    assume(ab.error is None)
    ba = stats.compare_cuped(arms[1], arms[0])
    _assert_mirrored(ab, ba)
    assert ba.theta == pytest.approx(ab.theta, rel=1e-9)
    greater = stats.compare_cuped(*arms, alternative="greater")
    less = stats.compare_cuped(arms[1], arms[0], alternative="less")
    assert less.p_value == pytest.approx(greater.p_value, rel=1e-9, abs=1e-300)


@settings(max_examples=100, deadline=None)
@given(cuped_arms())
def test_swapping_arms_of_summed_samples_negates_the_effect(
    arms: tuple[PairStatistic, PairStatistic],
) -> None:
    ctl, trt = arms[0].y, arms[1].y
    _assert_mirrored(stats.compare_samples(ctl, trt), stats.compare_samples(trt, ctl))


# --- units of measurement ----------------------------------------------------------------

RELATIVE_FIELDS = ("rel_effect", "rel_ci_low", "rel_ci_high", "p_value")


def _assert_same_relative(a: stats.Comparison, b: stats.Comparison) -> None:
    # Relative effects are O(1), so an absolute 1e-10 absorbs the rounding of equal means.
    for name in RELATIVE_FIELDS:
        tol = 1e-300 if name == "p_value" else 1e-10
        assert getattr(b, name) == pytest.approx(getattr(a, name), rel=1e-7, abs=tol), name


@settings(max_examples=100, deadline=None)
@given(
    st.tuples(
        st.integers(2, 5_000),
        st.floats(0.5, 1_000),
        st.floats(0.1, 1_000),
        st.integers(2, 5_000),
        st.floats(0.5, 1_000),
        st.floats(0.1, 1_000),
    ),
    st.floats(1e-3, 1e3),
    st.sampled_from(ALTERNATIVES),
    st.sampled_from(METHODS),
)
def test_relative_effect_ignores_the_unit_of_a_continuous_metric(
    inputs: tuple[int, float, float, int, float, float], k: float, alternative: str, method: str
) -> None:
    # Dollars or cents, seconds or milliseconds: the relative result must not change.
    n_c, m_c, s_c, n_t, m_t, s_t = inputs
    opts = {"alternative": alternative, "relative_method": method}
    base = stats.compare_samples(
        SampleMean.from_mean_sd(n_c, m_c, s_c), SampleMean.from_mean_sd(n_t, m_t, s_t), **opts
    )
    scaled = stats.compare_samples(
        SampleMean.from_mean_sd(n_c, k * m_c, k * s_c),
        SampleMean.from_mean_sd(n_t, k * m_t, k * s_t),
        **opts,
    )
    assume(base.error is None)
    _assert_same_relative(base, scaled)
    assert scaled.abs_effect == pytest.approx(k * base.abs_effect, rel=1e-7, abs=1e-9 * k)
    means = stats.compare_means(n_c, k * m_c, k * s_c, n_t, k * m_t, k * s_t, **opts)
    _assert_same_relative(base, means)


@settings(max_examples=60, deadline=None)
@given(ratio_arms(), st.floats(1e-3, 1e3), st.floats(1e-3, 1e3), st.sampled_from(METHODS))
def test_relative_effect_of_a_ratio_ignores_units(
    arms: tuple[PairStatistic, PairStatistic], ky: float, kx: float, method: str
) -> None:
    base = stats.compare_ratios(*arms, relative_method=method)
    assume(base.error is None)
    scaled = stats.compare_ratios(*(rescaled(a, ky, kx) for a in arms), relative_method=method)
    _assert_same_relative(base, scaled)
    assert scaled.control_mean == pytest.approx(base.control_mean * ky / kx, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(cuped_arms(), st.floats(1e-2, 1e2), st.floats(1e-2, 1e2))
def test_cuped_relative_effect_ignores_the_units_of_metric_and_covariate(
    arms: tuple[PairStatistic, PairStatistic], ky: float, kx: float
) -> None:
    base = stats.compare_cuped(*arms)
    assume(base.error is None and base.variance_reduction > 1e-6)
    scaled = stats.compare_cuped(*(rescaled(a, ky, kx) for a in arms))
    _assert_same_relative(base, scaled)
    assert scaled.theta == pytest.approx(base.theta * ky / kx, rel=1e-6)
    assert scaled.variance_reduction == pytest.approx(base.variance_reduction, rel=1e-6)


# --- multiple testing --------------------------------------------------------------------

p_lists = st.lists(
    st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.01, 0.05, 1.0])), min_size=1, max_size=25
)


@settings(max_examples=150, deadline=None)
@given(p_lists, st.sampled_from(["holm", "bonferroni", "bh"]))
def test_adjusted_p_values_keep_the_order_and_stay_between_raw_and_one(
    p: list[float], method: str
) -> None:
    raw = np.array(p)
    adjusted = stats.adjust_p_values(raw, method)
    # BH computes p * m / rank, which can round one ulp below p (0.95 * 9 / 9 < 0.95).
    assert np.all(adjusted >= raw * (1 - 1e-15))
    assert np.all(adjusted <= 1)
    for i in range(raw.size):
        assert np.all(adjusted[raw >= raw[i]] >= adjusted[i])


@settings(max_examples=150, deadline=None)
@given(p_lists, st.sampled_from(["holm", "bonferroni", "bh"]), st.data())
def test_lowering_a_raw_p_value_never_raises_an_adjusted_one(
    p: list[float], method: str, data: st.DataObject
) -> None:
    raw = np.array(p)
    i = data.draw(st.integers(0, raw.size - 1))
    lower = raw.copy()
    lower[i] = data.draw(st.floats(0, raw[i]))
    assert np.all(stats.adjust_p_values(lower, method) <= stats.adjust_p_values(raw, method))


@settings(max_examples=100, deadline=None)
@given(p_lists, st.sampled_from(["holm", "bonferroni", "bh"]), st.randoms(use_true_random=False))
def test_adjustment_follows_the_p_values_not_their_positions(
    p: list[float], method: str, rnd: object
) -> None:
    raw = np.array(p)
    order = np.arange(raw.size)
    rnd.shuffle(order)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(
        stats.adjust_p_values(raw[order], method), stats.adjust_p_values(raw, method)[order]
    )
    with_nan = np.append(raw, np.nan)
    np.testing.assert_array_equal(
        stats.adjust_p_values(with_nan, method)[:-1], stats.adjust_p_values(raw, method)
    )


@settings(max_examples=100, deadline=None)
@given(p_lists, st.floats(0, 1), st.sampled_from(["holm", "bonferroni"]))
def test_one_more_test_never_lowers_a_family_wise_adjustment(
    p: list[float], extra: float, method: str
) -> None:
    raw = np.array(p)
    before = stats.adjust_p_values(raw, method)
    after = stats.adjust_p_values(np.append(raw, extra), method)[:-1]
    assert np.all(after >= before)


_values = st.lists(
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False), min_size=2, max_size=30
)


@settings(max_examples=200, deadline=None)
@given(
    ys=_values,
    xs=_values,
    centre=st.sampled_from([0.0, 1e6, 1.7e12]),
    k1=st.floats(-5e3, 5e3),
    k2=st.floats(-5e3, 5e3),
)
def test_sums_around_any_shift_add_up_to_the_pooled_sample(
    ys: list[float], xs: list[float], centre: float, k1: float, k2: float
) -> None:
    """Two parts of a sample, each summed around its own shift, add up (re-shifted) to the
    whole sample's mean, variance and covariance, even around a mean of 1.7e12."""
    n = min(len(ys), len(xs))
    y = centre + np.asarray(ys[:n])
    x = centre + np.asarray(xs[:n])
    cut = n // 2

    def pair(part: slice, shift: float) -> PairStatistic:
        dy, dx = y[part] - (centre + shift), x[part] - (centre + shift)
        return PairStatistic(
            dy.size, dy.sum(), (dy * dy).sum(), dx.sum(), (dx * dx).sum(), (dy * dx).sum(),
            centre + shift, centre + shift,
        )  # fmt: skip

    whole = pair(slice(0, cut), k1) + pair(slice(cut, n), k2)
    dy, dx = y - centre, x - centre  # exact: the reference's own centring
    assert whole.n == n
    assert whole.y.mean == pytest.approx(centre + dy.mean(), rel=1e-14, abs=1e-9)
    assert whole.y.variance == pytest.approx(np.var(dy, ddof=1), rel=1e-6, abs=1e-6)
    assert whole.covariance == pytest.approx(np.cov(dy, dx)[0, 1], rel=1e-6, abs=1e-6)
