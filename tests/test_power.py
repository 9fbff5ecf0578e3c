"""abcore.power against statsmodels, the normal formula, round trips and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

from abcore import config, power

BASELINES = [0.005, 0.01, 0.03, 0.1, 0.25, 0.5]
LIFTS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]


@pytest.mark.parametrize("ratio", [1.0, 0.5, 2.0, 0.25])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_sample_size_proportion_matches_statsmodels_over_a_grid(ratio, alternative, alpha):
    compared = 0
    for baseline in BASELINES:
        for lift in LIFTS:
            mde = -lift if alternative == "less" else lift
            treated = baseline * (1 + mde)
            # statsmodels sizes sample 1 (p1 = prop2 + diff) with nobs2 = ratio * nobs1:
            # sample 1 is our control, prop2 our treatment rate.
            expected = samplesize_proportions_2indep_onetail(
                diff=baseline - treated,
                prop2=treated,
                power=0.8,
                ratio=ratio,
                alpha=alpha,
                alternative="two-sided" if alternative == "two-sided" else "larger",
            )
            got = power.sample_size_proportion(
                baseline, mde, alpha=alpha, alternative=alternative, ratio=ratio
            )
            assert abs(got.n_control - expected) <= 1, (baseline, lift)
            assert got.n_treatment == math.ceil(ratio * got.n_control - 1e-9)
            assert got.n_total == got.n_control + got.n_treatment
            compared += 1
    assert compared == len(BASELINES) * len(LIFTS)


def test_absolute_mde_equals_the_relative_one():
    rel = power.sample_size_proportion(0.04, 0.10)
    absolute = power.sample_size_proportion(0.04, 0.004, relative=False)
    assert rel == absolute


@pytest.mark.parametrize("ratio", [1.0, 3.0])
@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_sample_size_mean_within_one_percent_of_the_normal_formula(ratio, alternative):
    mean, sd, mde = 25.0, 60.0, 0.04
    alpha, beta = 0.05, 0.2
    z_alpha = norm.ppf(1 - alpha / 2) if alternative == "two-sided" else norm.ppf(1 - alpha)
    formula = (z_alpha + norm.ppf(1 - beta)) ** 2 * sd**2 * (1 + 1 / ratio) / (mean * mde) ** 2
    got = power.sample_size_mean(mean, sd, mde, alternative=alternative, ratio=ratio)
    assert got.n_control == pytest.approx(formula, rel=0.01)
    # statsmodels' NormalIndPower counts both tails of a two-sided test: still within 1%.
    sm = NormalIndPower().solve_power(
        effect_size=mean * mde / sd,
        alpha=alpha,
        power=0.8,
        ratio=ratio,
        alternative="two-sided" if alternative == "two-sided" else "larger",
    )
    assert got.n_control == pytest.approx(sm, rel=0.01)


def test_rule_of_thumb_is_close_to_the_exact_answer():
    exact = power.sample_size_mean(10.0, 30.0, 0.05).n_control
    thumb = power.rule_of_thumb_n(30.0**2, 0.5)
    assert thumb == pytest.approx(exact, rel=0.03)


@settings(max_examples=60, deadline=None)
@given(
    baseline=st.floats(0.005, 0.6),
    lift=st.floats(0.02, 0.5),
    ratio=st.sampled_from([0.5, 1.0, 2.0]),
    alternative=st.sampled_from(["two-sided", "greater"]),
    target=st.floats(0.5, 0.95),
)
def test_round_trip_power_of_the_planned_n_is_the_target(
    baseline, lift, ratio, alternative, target
):
    if baseline * (1 + lift) >= 0.99:
        return
    options = {"alternative": alternative, "ratio": ratio}
    size = power.sample_size_proportion(baseline, lift, power=target, **options)
    achieved = power.power_proportion(baseline, lift, size.n_control, **options)
    assert achieved >= target - 1e-9
    if size.n_control > 1:
        assert power.power_proportion(baseline, lift, size.n_control - 1, **options) < target
    assert achieved == pytest.approx(target, abs=2e-3 + 1 / size.n_control)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(100, 10**7), sd_ratio=st.floats(0.2, 10), ratio=st.sampled_from([0.5, 1, 4]))
def test_mde_and_sample_size_are_inverse(n, sd_ratio, ratio):
    lift = power.mde_mean(100.0, 100.0 * sd_ratio, n, ratio=ratio)
    back = power.sample_size_mean(100.0, 100.0 * sd_ratio, lift, ratio=ratio)
    assert back.n_control == pytest.approx(n, abs=1)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(500, 10**7), baseline=st.floats(0.01, 0.6))
def test_mde_proportion_gives_back_the_power(n, baseline):
    lift = power.mde_proportion(baseline, n)
    if math.isnan(lift):
        assert power.power_proportion(baseline, (1 - baseline) * 0.999 / baseline, n) < 0.8
        return
    assert power.power_proportion(baseline, lift, n) == pytest.approx(0.8, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(baseline=st.floats(0.01, 0.5), lift=st.floats(0.01, 0.5), n=st.integers(100, 10**6))
def test_power_rises_with_n_and_with_the_effect(baseline, lift, n):
    if baseline * (1 + 2 * lift) >= 1:
        return
    p = power.power_proportion(baseline, lift, n)
    assert power.power_proportion(baseline, lift, 2 * n) >= p
    assert power.power_proportion(baseline, 2 * lift, n) >= p


def test_vectorised_curve_equals_the_scalar_calls():
    lifts = np.linspace(0.01, 0.3, 200)
    sizes = power.sample_size_proportion(0.08, lifts, ratio=1.5)
    assert sizes.n_control.shape == (200,)
    for i in (0, 57, 199):
        assert (
            sizes.n_control[i] == power.sample_size_proportion(0.08, lifts[i], ratio=1.5).n_control
        )
    ns = np.linspace(1_000, 100_000, 200)
    powers = power.power_mean(5.0, 12.0, 0.05, ns)
    assert np.all(np.diff(powers) > 0)
    lifts_back = power.mde_proportion(0.08, ns)
    assert np.all(np.diff(lifts_back) < 0)


def test_treatments_split_alpha_like_bonferroni():
    three = power.sample_size_proportion(0.1, 0.05, treatments=3)
    manual = power.sample_size_proportion(0.1, 0.05, alpha=0.05 / 3)
    assert three.n_control == manual.n_control
    assert three.n_total == 4 * three.n_control
    assert three.alpha == pytest.approx(0.05 / 3)


def test_variance_reduction_scales_n_by_one_minus_rho_squared():
    plain = power.sample_size_mean(10.0, 20.0, 0.05).n_control
    cuped = power.sample_size_mean(10.0, 20.0, 0.05, variance_reduction=0.36).n_control
    assert cuped == pytest.approx(plain * 0.64, rel=1e-3)


def test_noninferiority_mean_is_a_one_sided_test_at_the_margin():
    mean, sd, margin = 800.0, 400.0, 0.02
    formula = (norm.ppf(0.95) + norm.ppf(0.8)) ** 2 * sd**2 * 2 / (mean * margin) ** 2
    got = power.noninferiority_sample_size_mean(mean, sd, margin)
    assert got.n_control == math.ceil(formula)


def test_noninferiority_proportion_needs_more_for_a_tighter_margin():
    wide = power.noninferiority_sample_size_proportion(0.02, 0.10, higher_is_better=False)
    tight = power.noninferiority_sample_size_proportion(0.02, 0.05, higher_is_better=False)
    assert tight.n_control > 3.5 * wide.n_control


@pytest.mark.parametrize(
    ("days_args", "expected"),
    [((100_000, 20_000), 5), ((100_001, 20_000), 6), ((100_000, 20_000, 0.5), 10), ((0, 10), 0)],
)
def test_duration_days(days_args, expected):
    assert power.duration_days(*days_args) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 0.0}, "alpha must be > 0"),
        ({"alpha": 1.0}, "alpha must be < 1"),
        ({"power": 1.2}, "power must be < 1"),
        ({"power": 0.0}, "power must be > 0"),
        ({"ratio": 0.0}, "ratio must be > 0"),
        ({"alternative": "bigger"}, "alternative must be one of"),
        ({"treatments": 0}, "treatments must be >= 1"),
        ({"variance_reduction": 1.0}, "variance_reduction must be < 1"),
    ],
)
def test_bad_options_name_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        power.sample_size_proportion(0.1, 0.05, **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0.0, 0.05), {}, "baseline must be > 0"),
        ((1.0, 0.05), {}, "baseline must be < 1"),
        ((0.8, 0.5), {}, "outside \\(0, 1\\)"),
        ((0.1, 0.0), {}, "mde must not be 0"),
        ((0.1, -0.05), {"alternative": "greater"}, "mde must be > 0"),
        ((0.1, 0.05), {"alternative": "less"}, "mde must be < 0"),
    ],
)
def test_bad_rates_name_the_parameter(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        power.sample_size_proportion(*args, **kwargs)


def test_bad_mean_parameters():
    with pytest.raises(ValueError, match="sd must be > 0"):
        power.sample_size_mean(10.0, 0.0, 0.05)
    with pytest.raises(ValueError, match="n_control must be > 0"):
        power.power_mean(10.0, 1.0, 0.05, -5)
    with pytest.raises(ValueError, match="daily_units must be > 0"):
        power.duration_days(100, 0)
    with pytest.raises(ValueError, match="exposure must be <= 1"):
        power.duration_days(100, 10, exposure=1.5)


def _pooled_z_reject(n_c, x_c, n_t, x_t, alpha):
    """Independent two-sided pooled z-test (not abcore's) on arrays of simulated counts."""
    p_c, p_t = x_c / n_c, x_t / n_t
    pooled = (x_c + x_t) / (n_c + n_t)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    return np.abs(p_t - p_c) / se > norm.ppf(1 - alpha / 2)


@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_simulated_power_of_the_planned_proportion_n(ratio):
    rng = np.random.default_rng(20260302)
    baseline, lift, sims = 0.08, 0.10, 20_000
    size = power.sample_size_proportion(baseline, lift, ratio=ratio)
    x_c = rng.binomial(size.n_control, baseline, sims)
    x_t = rng.binomial(size.n_treatment, baseline * (1 + lift), sims)
    rate = _pooled_z_reject(size.n_control, x_c, size.n_treatment, x_t, 0.05).mean()
    assert rate == pytest.approx(0.8, abs=0.02)


def test_simulated_power_of_the_planned_mean_n_on_skewed_data():
    rng = np.random.default_rng(7)
    sims, sigma = 4_000, 1.0
    mean = math.exp(sigma**2 / 2)
    sd = math.sqrt((math.exp(sigma**2) - 1) * math.exp(sigma**2))
    size = power.sample_size_mean(mean, sd, 0.15)
    control = rng.lognormal(0.0, sigma, (sims, size.n_control))
    # A shift keeps the sd equal in both arms, as the planning formula assumes.
    treated = rng.lognormal(0.0, sigma, (sims, size.n_treatment)) + 0.15 * mean
    diff = treated.mean(axis=1) - control.mean(axis=1)
    se = np.sqrt(
        treated.var(axis=1, ddof=1) / size.n_treatment
        + control.var(axis=1, ddof=1) / size.n_control
    )
    rate = (np.abs(diff / se) > norm.ppf(0.975)).mean()
    assert rate == pytest.approx(0.8, abs=0.02)


def test_simulated_power_of_a_noninferiority_guardrail():
    rng = np.random.default_rng(11)
    baseline, margin, sims = 0.05, 0.10, 20_000
    size = power.noninferiority_sample_size_proportion(baseline, margin, higher_is_better=False)
    n = size.n_control
    p_c = rng.binomial(n, baseline, sims) / n
    p_t = rng.binomial(n, baseline, sims) / n
    se = np.sqrt(p_c * (1 - p_c) / n + p_t * (1 - p_t) / n)
    upper = (p_t - p_c) + norm.ppf(0.95) * se  # one-sided bound on the harm
    rate = (upper < margin * baseline).mean()
    assert rate == pytest.approx(0.8, abs=0.02)


# ---- sizes past the bound (issue 23): infeasible, never a wrapped integer --------------------
def test_a_size_past_the_bound_is_infeasible_not_wrapped():
    size = power.sample_size_proportion(0.10, 1e-9)  # was n_control = -9223372036854775808
    assert size.feasible is False
    assert size.n_control == size.n_treatment == size.n_total == config.SAMPLE_SIZE_MAX
    fine = power.sample_size_proportion(0.10, 0.05)
    assert fine.feasible is True
    assert fine.n_control == 57763  # unchanged (the module's doctest)


def test_arrays_mark_each_infeasible_size():
    sizes = power.sample_size_proportion(0.10, np.array([0.05, 1e-9, 1e-12]))
    assert sizes.feasible.tolist() == [True, False, False]
    assert sizes.n_control[0] == power.sample_size_proportion(0.10, 0.05).n_control
    assert np.all(sizes.n_total > 0)
    mean = power.sample_size_mean(10.0, 30.0, np.array([0.05, 1e-12]), treatments=3)
    assert mean.feasible.tolist() == [True, False]
    assert np.all(mean.n_total > 0)


def test_noninferiority_past_the_bound_is_infeasible():
    size = power.noninferiority_sample_size_proportion(0.10, 1e-12)
    assert size.feasible is False
    assert size.n_control == config.SAMPLE_SIZE_MAX


def test_days_past_the_bound_do_not_wrap():
    assert power.duration_days(config.SAMPLE_SIZE_MAX, 1e-300) == config.SAMPLE_SIZE_MAX
    assert power.duration_days(np.array([10.0, 1e300]), 1.0).tolist() == [
        10,
        config.SAMPLE_SIZE_MAX,
    ]


@pytest.mark.parametrize(("baseline", "shown"), [(math.inf, "inf"), (5.0, "5.0"), (-1.0, "-1.0")])
def test_a_bad_baseline_is_quoted_as_given(baseline, shown):
    with pytest.raises(ValueError, match=rf"baseline must be [<>] [01], got {shown}\."):
        power.sample_size_proportion(baseline, 0.05)


def test_a_huge_effect_needs_at_least_one_unit_per_arm():
    # was 0 per arm, which the duration then refused as "n_total must be > 0, got 0"
    size = power.sample_size_mean(1.0, 1.0, 1e6)
    assert (size.n_control, size.n_treatment, size.n_total) == (1, 1, 2)
