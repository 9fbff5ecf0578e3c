"""abcore.stats: validation, degenerate data, result objects and Hypothesis properties."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from abcore import stats
from abcore.suffstats import PairStatistic, SampleMean

ALTERNATIVES = ("two-sided", "greater", "less")
METHODS = ("fieller", "log", "delta")
REQUIRED_FIELDS = (
    "control_mean",
    "treatment_mean",
    "abs_effect",
    "abs_ci_low",
    "abs_ci_high",
    "rel_effect",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "error",
    "alpha",
    "alternative",
    "se",
    "statistic",
    "relative_method",
    "n_control",
    "n_treatment",
    "method",
)


def pair_from(y: np.ndarray, x: np.ndarray) -> PairStatistic:
    return PairStatistic(len(y), y.sum(), (y**2).sum(), x.sum(), (x**2).sum(), (x * y).sum())


# --- validation: bad parameters raise, naming the parameter ------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 0.0}, "alpha must be > 0"),
        ({"alpha": 1.0}, "alpha must be < 1"),
        ({"alpha": float("nan")}, "alpha must be a number"),
        ({"alternative": "larger"}, "alternative must be one of 'two-sided'"),
        ({"relative_method": "wald"}, "relative_method must be one of 'fieller'"),
    ],
)
def test_options_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stats.compare_proportions(100, 10, 100, 12, **kwargs)
    with pytest.raises(ValueError, match=message):
        stats.compare_means(100, 1.0, 1.0, 100, 1.1, 1.0, **kwargs)
    ctl = PairStatistic(10, 5.0, 5.0, 10.0, 12.0, 6.0)
    with pytest.raises(ValueError, match=message):
        stats.compare_ratios(ctl, ctl, **kwargs)
    with pytest.raises(ValueError, match=message):
        stats.compare_cuped(ctl, ctl, **kwargs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 0, 100, 5), "n_control must be >= 0"),
        ((100, 5, -3, 0), "n_treatment must be >= 0"),
        ((100, -1, 100, 5), "conversions_control must be >= 0"),
        ((100, 101, 100, 5), "conversions_control must be <= n_control"),
        ((100, 5, 100, 101), "conversions_treatment must be <= n_treatment"),
        ((np.array([10, -1]), 0, 100, 5), "n_control must be >= 0, got an array"),
    ],
)
def test_proportion_counts_are_validated(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stats.compare_proportions(*args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((10, 1.0, -1.0, 10, 1.0, 1.0), "sd_control must be >= 0"),
        ((10, 1.0, 1.0, 10, 1.0, -0.5), "sd_treatment must be >= 0"),
        ((10, float("nan"), 1.0, 10, 1.0, 1.0), "mean_control must be a finite number"),
        ((10, 1.0, 1.0, 10, float("inf"), 1.0), "mean_treatment must be a finite number"),
        ((10, 1.0, float("nan"), 10, 1.0, 1.0), "sd_control must be a finite number"),
        ((-2, 1.0, 1.0, 10, 1.0, 1.0), "n_control must be >= 0"),
    ],
)
def test_mean_inputs_are_validated(args: tuple[float, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stats.compare_means(*args)


def test_other_parameters_are_validated() -> None:
    c = stats.compare_means(100, 10.0, 2.0, 100, 10.5, 2.0)
    with pytest.raises(ValueError, match="margin must be >= 0"):
        stats.noninferiority(c, margin=-0.01)
    with pytest.raises(ValueError, match="margin must be < 1"):
        stats.noninferiority(c, margin=1.0)
    with pytest.raises(ValueError, match="direction must be one of 'increase', 'decrease'"):
        stats.noninferiority(c, margin=0.01, direction="up")
    with pytest.raises(ValueError, match="min_effect must be > -1"):
        stats.superiority(c, min_effect=-1.0)
    with pytest.raises(ValueError, match="relative_method must be one of"):
        stats.relative_interval(c, "bootstrap")
    with pytest.raises(ValueError, match="alpha must be < 1"):
        stats.relative_interval(c, alpha=1.5)
    with pytest.raises(ValueError, match="method must be one of 'holm'"):
        stats.adjust_p_values([0.1, 0.2], "fdr")
    with pytest.raises(ValueError, match=r"p_values must lie in \[0, 1\]"):
        stats.adjust_p_values([0.1, 1.2])
    bad = PairStatistic(-1, 0.0, 0.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"control\.n must be >= 0"):
        stats.cuped_theta(bad, bad)


# --- degenerate data: a result with an error code, never an exception --------------------


def test_empty_arm() -> None:
    c = stats.compare_proportions(0, 0, 100, 5)
    assert c.error == "empty_arm"
    assert math.isnan(c.p_value)
    assert math.isnan(c.abs_effect)
    assert math.isnan(c.rel_ci_low)
    assert c.treatment_mean == 0.05
    empty = stats.compare_samples(SampleMean(0, 0.0, 0.0), SampleMean(50, 100.0, 300.0))
    assert empty.error == "empty_arm"
    assert math.isnan(stats.chance_to_beat(empty))


def test_too_few_units_for_a_variance() -> None:
    c = stats.compare_means(1, 3.0, float("nan"), 50, 3.5, 1.0)
    assert c.error == "too_few_units"
    assert math.isnan(c.p_value)
    one = stats.compare_samples(SampleMean(1, 3.0, 9.0), SampleMean(50, 100.0, 300.0))
    assert one.error == "too_few_units"
    # A single unit is enough for a rate: its variance is p (1 - p) / n.
    assert stats.compare_proportions(1, 1, 100, 40).error is None


def test_zero_variance_in_both_arms() -> None:
    c = stats.compare_proportions(100, 0, 80, 0)
    assert c.error == "zero_variance"
    assert c.abs_effect == 0.0
    assert math.isnan(c.p_value)
    assert math.isnan(c.abs_ci_low)
    m = stats.compare_means(10, 5.0, 0.0, 12, 6.0, 0.0)
    assert m.error == "zero_variance"
    assert m.abs_effect == 1.0
    assert math.isnan(m.statistic)
    # Sums of a constant metric leave rounding noise in sum_sq; it still counts as constant.
    s = stats.compare_samples(SampleMean(3, 0.3, 0.03), SampleMean(3, 0.3, 0.03))
    assert s.error == "zero_variance"
    # Zero variance in one arm only is fine.
    assert stats.compare_means(10, 5.0, 0.0, 12, 6.0, 1.0).error is None


def test_zero_control_mean_keeps_the_absolute_result() -> None:
    c = stats.compare_proportions(1_000, 0, 1_000, 12)
    assert c.error == "zero_control_mean"
    assert c.p_value < 0.001
    assert math.isnan(c.rel_effect)
    assert math.isnan(c.rel_ci_low)
    assert math.isnan(c.rel_ci_high)
    assert np.isfinite(c.abs_ci_low)


def test_log_interval_needs_a_positive_ratio() -> None:
    c = stats.compare_proportions(1_000, 100, 1_000, 0, relative_method="log")
    assert c.error == "log_undefined"
    assert math.isnan(c.rel_ci_low)
    assert c.rel_effect == -1.0
    assert stats.compare_proportions(1_000, 100, 1_000, 0).error is None


def test_ratio_and_cuped_degenerate_inputs() -> None:
    ok = PairStatistic(20, 10.0, 10.0, 40.0, 100.0, 25.0)
    no_denominator = PairStatistic(20, 0.0, 0.0, 0.0, 0.0, 0.0)
    assert stats.compare_ratios(no_denominator, ok).error == "zero_denominator"
    assert stats.compare_ratios(PairStatistic(0, 0, 0, 0, 0, 0), ok).error == "empty_arm"
    assert stats.compare_ratios(PairStatistic(1, 1, 1, 2, 4, 2), ok).error == "too_few_units"
    assert stats.compare_cuped(PairStatistic(1, 1, 1, 2, 4, 2), ok).error == "too_few_units"
    flat = PairStatistic(20, 20.0, 20.0, 40.0, 80.0, 40.0)
    assert stats.compare_cuped(flat, flat).error == "zero_variance"


def test_vectorised_error_codes() -> None:
    c = stats.compare_proportions(
        np.array([0, 1_000, 1_000, 100, 1_000]), np.array([0, 0, 100, 1, 30]), 1_000, 30
    )
    assert c.error.tolist() == [
        "empty_arm",
        "zero_control_mean",
        None,
        "unbounded_relative_ci",
        None,
    ]
    assert np.isnan(c.p_value[0])
    assert np.isfinite(c.p_value[1:]).all()
    assert np.isnan(c.rel_effect[1])
    assert c.n_control.shape == c.n_treatment.shape == (5,)
    for i in range(5):
        one = stats.compare_proportions(int(c.n_control[i]), [0, 0, 100, 1, 30][i], 1_000, 30)
        assert one.error == c.error[i]


# --- the result objects -----------------------------------------------------------------


def test_comparison_is_a_frozen_record_with_a_dict_view() -> None:
    c = stats.compare_means(200, 10.0, 4.0, 200, 11.0, 4.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.p_value = 0.5  # type: ignore[misc]
    row = c.to_dict()
    assert set(REQUIRED_FIELDS) <= set(row)
    assert row["abs_effect"] == pytest.approx(row["treatment_mean"] - row["control_mean"])
    assert row["rel_effect"] == pytest.approx(0.1)
    assert row["method"] == "welch_t"
    assert c.significant
    assert not stats.compare_means(200, 10.0, 4.0, 200, 10.1, 4.0).significant
    assert not stats.compare_means(10, 5.0, 0.0, 12, 6.0, 0.0).significant


def test_one_sided_intervals_are_rays() -> None:
    greater = stats.compare_means(200, 10.0, 4.0, 200, 11.0, 4.0, alternative="greater")
    assert greater.abs_ci_high == math.inf
    assert greater.rel_ci_high == math.inf
    less = stats.compare_means(200, 10.0, 4.0, 200, 11.0, 4.0, alternative="less")
    assert less.abs_ci_low == -math.inf
    assert less.rel_ci_low == -math.inf
    two = stats.compare_means(200, 10.0, 4.0, 200, 11.0, 4.0, alpha=0.1)
    # A one-sided bound at level 1 - alpha is a two-sided bound at 1 - 2 alpha.
    assert greater.abs_ci_low == pytest.approx(two.abs_ci_low, rel=1e-12)
    assert greater.rel_ci_low == pytest.approx(two.rel_ci_low, rel=1e-12)
    assert less.rel_ci_high == pytest.approx(two.rel_ci_high, rel=1e-12)


def test_relative_interval_defaults_reproduce_the_comparison() -> None:
    for method in METHODS:
        c = stats.compare_proportions(5_000, 250, 5_000, 290, relative_method=method)
        assert stats.relative_interval(c) == (c.rel_ci_low, c.rel_ci_high)
        assert stats.relative_intervals(c)[method] == (c.rel_ci_low, c.rel_ci_high)


def test_compare_samples_routes_to_the_right_test() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(3, 1, 40), rng.normal(3.4, 2, 55)
    got = stats.compare_samples(
        SampleMean(40, a.sum(), (a**2).sum()), SampleMean(55, b.sum(), (b**2).sum())
    )
    want = stats.compare_means(40, a.mean(), a.std(ddof=1), 55, b.mean(), b.std(ddof=1))
    assert got.p_value == pytest.approx(want.p_value, rel=1e-9)
    assert got.rel_ci_high == pytest.approx(want.rel_ci_high, rel=1e-9)
    binary = stats.compare_samples(
        SampleMean.from_conversions(1_000, 100), SampleMean.from_conversions(900, 120), binary=True
    )
    assert binary.method == "z_pooled"
    assert binary.p_value == stats.compare_proportions(1_000, 100, 900, 120).p_value


def test_cuped_with_a_useless_covariate_is_plain_welch() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(5, 2, (2, 80))
    flat_x = np.ones(80)
    ctl, trt = pair_from(y[0], flat_x), pair_from(y[1], flat_x)
    c = stats.compare_cuped(ctl, trt)
    plain = stats.compare_samples(ctl.y, trt.y)
    assert c.theta == 0.0
    assert c.variance_reduction == pytest.approx(0.0, abs=1e-12)
    assert c.p_value == pytest.approx(plain.p_value, rel=1e-9)
    assert c.rel_ci_low == pytest.approx(plain.rel_ci_low, rel=1e-9)


def test_cuped_relative_effect_uses_the_unadjusted_control_mean() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(10, 3, (2, 500))
    y = x + rng.normal(0, 1, (2, 500)) + [[0.0], [0.5]]
    ctl, trt = pair_from(y[0], x[0]), pair_from(y[1], x[1])
    c = stats.compare_cuped(ctl, trt)
    assert c.rel_baseline == pytest.approx(y[0].mean())
    assert c.rel_effect == pytest.approx(c.abs_effect / y[0].mean())
    assert c.abs_effect == pytest.approx(c.treatment_mean - c.control_mean)
    assert 0.8 < c.variance_reduction < 0.95
    assert c.rel_ci_low < c.rel_effect < c.rel_ci_high


def test_chance_to_beat_is_the_normal_posterior() -> None:
    c = stats.compare_means(300, 20.0, 6.0, 250, 20.8, 7.0)
    se = math.sqrt(6.0**2 / 300 + 7.0**2 / 250)
    assert stats.chance_to_beat(c) == pytest.approx(sps.norm.sf(0, loc=0.8, scale=se))
    # A z test on the same SE: P(effect > 0 | data) = 1 - one-sided p-value.
    ctl = PairStatistic(400, 120.0, 180.0, 800.0, 1_800.0, 260.0)
    trt = PairStatistic(420, 140.0, 210.0, 820.0, 1_850.0, 300.0)
    ratio = stats.compare_ratios(ctl, trt, alternative="greater")
    assert stats.chance_to_beat(ratio) == pytest.approx(1 - ratio.p_value, rel=1e-12)
    # Mirror-image effects: the two chances add up to one.
    vec = stats.compare_means(300, 20.0, 6.0, 250, np.array([20.8, 19.2]), 7.0)
    assert stats.chance_to_beat(vec)[0] == pytest.approx(stats.chance_to_beat(c))
    assert stats.chance_to_beat(vec)[1] == pytest.approx(1 - stats.chance_to_beat(c))


# --- margin tests -------------------------------------------------------------------------


def test_noninferiority_in_both_directions() -> None:
    # Latency (lower is better) up 0.5% with a 2% margin: passes; with 0.2%: fails.
    c = stats.compare_means(20_000, 300.0, 90.0, 20_000, 301.5, 90.0)
    ok = stats.noninferiority(c, margin=0.02, direction="decrease")
    assert ok.passed
    assert ok.threshold == 0.02
    assert ok.bound == stats.relative_interval(c, alternative="less")[1]
    assert ok.p_value < c.alpha
    tight = stats.noninferiority(c, margin=0.002, direction="decrease")
    assert not tight.passed
    assert tight.p_value > c.alpha
    assert tight.to_dict()["passed"] is False
    # Conversion (higher is better) down 1% with a 5% margin.
    p = stats.compare_proportions(50_000, 5_000, 50_000, 4_950)
    assert stats.noninferiority(p, margin=0.05).passed
    assert not stats.noninferiority(p, margin=0.005).passed


def test_superiority_at_zero_is_the_one_sided_welch_test() -> None:
    # Fieller's pivot at a ratio of 1 is the Welch statistic itself.
    args = (150, 10.0, 3.0, 170, 10.6, 3.5)
    sup = stats.superiority(stats.compare_means(*args))
    assert sup.p_value == pytest.approx(
        stats.compare_means(*args, alternative="greater").p_value, rel=1e-10
    )
    worse = stats.superiority(stats.compare_means(*args), direction="decrease")
    assert worse.p_value == pytest.approx(1 - sup.p_value, rel=1e-10)


def test_margin_tests_on_degenerate_data_do_not_pass() -> None:
    for c in (
        stats.compare_proportions(0, 0, 100, 5),
        stats.compare_proportions(100, 0, 100, 5),
        stats.compare_proportions(1_000, 1, 1_000, 3),  # unbounded Fieller interval
    ):
        t = stats.noninferiority(c, margin=0.5)
        assert not t.passed
        assert math.isnan(t.p_value)
        assert t.error == c.error


@settings(max_examples=100, deadline=None)
@given(
    st.integers(200, 20_000),
    st.floats(0.02, 0.5),
    st.floats(-0.2, 0.2),
    st.floats(0.0, 0.2),
    st.sampled_from(("increase", "decrease")),
    st.sampled_from(METHODS),
)
def test_margin_test_passes_exactly_when_p_is_below_alpha(
    n: int, rate: float, lift: float, margin: float, direction: str, method: str
) -> None:
    c = stats.compare_proportions(n, round(n * rate), n, round(n * rate * (1 + lift)))
    t = stats.noninferiority(c, margin=margin, direction=direction, relative_method=method)
    assume(np.isfinite(t.bound) and abs(t.bound - t.threshold) > 1e-9)
    assert t.passed == (t.p_value < t.alpha)


# --- multiple testing -------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_adjusted_p_values_are_ordered(p: list[float]) -> None:
    raw = np.array(p)
    holm = stats.adjust_p_values(raw, "holm")
    bonferroni = stats.adjust_p_values(raw, "bonferroni")
    bh = stats.adjust_p_values(raw, "bh")
    assert np.all(raw <= bh + 1e-15)
    assert np.all(bh <= holm + 1e-15)
    assert np.all(holm <= bonferroni + 1e-15)
    assert np.all(bonferroni <= 1)
    np.testing.assert_array_equal(stats.adjust_p_values(raw, "none"), raw)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(holm[order]) >= 0)


def test_adjust_p_values_edge_cases() -> None:
    assert stats.adjust_p_values([]).size == 0
    assert np.isnan(stats.adjust_p_values([np.nan, np.nan])).all()
    np.testing.assert_allclose(stats.adjust_p_values([0.02, np.nan], "bonferroni")[0], 0.02)


# --- Hypothesis: invariances and monotonicity --------------------------------------------

counts = st.tuples(
    st.integers(10, 10_000),
    st.floats(0.001, 0.999),
    st.integers(10, 10_000),
    st.floats(0.001, 0.999),
)


@settings(max_examples=150, deadline=None)
@given(counts)
def test_swapping_arms_of_proportions(inputs: tuple[int, float, int, float]) -> None:
    n_c, r_c, n_t, r_t = inputs
    x_c, x_t = round(n_c * r_c), round(n_t * r_t)
    ab = stats.compare_proportions(n_c, x_c, n_t, x_t)
    ba = stats.compare_proportions(n_t, x_t, n_c, x_c)
    assume(ab.error is None or ab.error == "unbounded_relative_ci")
    assert ba.abs_effect == -ab.abs_effect
    assert ba.p_value == pytest.approx(ab.p_value, rel=1e-12, abs=1e-300)
    assert ba.abs_ci_low == pytest.approx(-ab.abs_ci_high, rel=1e-12, abs=1e-15)
    assert ba.abs_ci_high == pytest.approx(-ab.abs_ci_low, rel=1e-12, abs=1e-15)
    greater = stats.compare_proportions(n_c, x_c, n_t, x_t, alternative="greater")
    less = stats.compare_proportions(n_t, x_t, n_c, x_c, alternative="less")
    assert less.p_value == pytest.approx(greater.p_value, rel=1e-12, abs=1e-300)


means = st.tuples(
    st.integers(2, 1_000),
    st.floats(-1e3, 1e3),
    st.floats(0.01, 100),
    st.integers(2, 1_000),
    st.floats(-1e3, 1e3),
    st.floats(0.01, 100),
)


@settings(max_examples=150, deadline=None)
@given(means, st.floats(0.001, 0.3))
def test_swapping_arms_of_means(inputs: tuple[float, ...], alpha: float) -> None:
    n_c, m_c, s_c, n_t, m_t, s_t = inputs
    ab = stats.compare_means(n_c, m_c, s_c, n_t, m_t, s_t, alpha=alpha)
    ba = stats.compare_means(n_t, m_t, s_t, n_c, m_c, s_c, alpha=alpha)
    assert ba.abs_effect == -ab.abs_effect
    assert ba.p_value == pytest.approx(ab.p_value, rel=1e-12, abs=1e-300)
    assert ba.abs_ci_low == pytest.approx(-ab.abs_ci_high, rel=1e-9, abs=1e-12)
    assert ba.abs_ci_high == pytest.approx(-ab.abs_ci_low, rel=1e-9, abs=1e-12)
    assert ba.df == pytest.approx(ab.df, rel=1e-12)


@settings(max_examples=150, deadline=None)
@given(means, st.integers(2, 10))
def test_p_value_falls_as_n_grows_at_fixed_effect(inputs: tuple[float, ...], k: int) -> None:
    n_c, m_c, s_c, n_t, m_t, s_t = inputs
    assume(abs(m_t - m_c) > 1e-6 * (s_c + s_t))
    small = stats.compare_means(n_c, m_c, s_c, n_t, m_t, s_t)
    large = stats.compare_means(k * n_c, m_c, s_c, k * n_t, m_t, s_t)
    assume(small.p_value > 1e-250)
    assert large.p_value < small.p_value
    assert large.abs_ci_high - large.abs_ci_low < small.abs_ci_high - small.abs_ci_low


@settings(max_examples=100, deadline=None)
@given(counts, st.integers(2, 10))
def test_proportion_p_value_falls_as_n_grows(inputs: tuple[int, float, int, float], k: int) -> None:
    n_c, r_c, n_t, r_t = inputs
    x_c, x_t = round(n_c * r_c), round(n_t * r_t)
    assume(x_c * n_t != x_t * n_c)
    small = stats.compare_proportions(n_c, x_c, n_t, x_t)
    large = stats.compare_proportions(k * n_c, k * x_c, k * n_t, k * x_t)
    assume(small.error is None and small.p_value > 1e-250)
    assert large.p_value < small.p_value


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.floats(0.3, 0.95),
    st.integers(100, 800),
    st.floats(-0.5, 0.5),
    st.sampled_from(ALTERNATIVES),
)
def test_cuped_never_widens_the_interval_on_correlated_data(
    seed: int, rho: float, n: int, effect: float, alternative: str
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (2, n))
    y = 3 + rho * x + math.sqrt(1 - rho**2) * rng.normal(0, 1, (2, n)) + [[0.0], [effect]]
    ctl, trt = pair_from(y[0], x[0] + 7), pair_from(y[1], x[1] + 7)
    cuped = stats.compare_cuped(ctl, trt, alternative=alternative)
    raw = stats.compare_samples(ctl.y, trt.y, alternative=alternative)
    assert cuped.se <= raw.se
    assert cuped.variance_reduction >= 0
    if alternative != "less":
        assert cuped.abs_effect - cuped.abs_ci_low <= raw.abs_effect - raw.abs_ci_low
    if alternative != "greater":
        assert cuped.abs_ci_high - cuped.abs_effect <= raw.abs_ci_high - raw.abs_effect


@settings(max_examples=60, deadline=None)
@given(counts, st.sampled_from(ALTERNATIVES), st.sampled_from(METHODS))
def test_vectorised_proportions_equal_scalar_calls(
    inputs: tuple[int, float, int, float], alternative: str, method: str
) -> None:
    n_c, r_c, n_t, r_t = inputs
    x_c, x_t = round(n_c * r_c), round(n_t * r_t)
    opts = {"alternative": alternative, "relative_method": method}
    one = stats.compare_proportions(n_c, x_c, n_t, x_t, **opts)
    vec = stats.compare_proportions(np.array([n_c, 100]), np.array([x_c, 0]), n_t, x_t, **opts)
    assert vec.error[0] == one.error
    for name in ("p_value", "abs_ci_low", "abs_ci_high", "rel_ci_low", "rel_ci_high"):
        assert getattr(vec, name)[0] == pytest.approx(getattr(one, name), nan_ok=True)


# --- issue 20, item 5: an arm at 0% or 100% ------------------------------------------------


@pytest.mark.parametrize(
    ("args", "alpha"),
    [
        ((2, 2, 2, 0), 0.05),
        ((1, 1, 1, 0), 0.05),
        ((1_000, 0, 1_000, 5), 0.05),
        ((500, 500, 400, 396), 0.10),
        ((30, 0, 40, 40), 0.01),
    ],
)
def test_an_arm_at_zero_or_one_gets_newcombes_interval(args, alpha) -> None:
    # Reference: statsmodels 0.14, confint_proportions_2indep(x_t, n_t, x_c, n_c,
    # method="newcomb", compare="diff", alpha=alpha) (Newcombe's hybrid score interval).
    from statsmodels.stats.proportion import confint_proportions_2indep

    n_c, x_c, n_t, x_t = args
    c = stats.compare_proportions(*args, alpha=alpha)
    low, high = confint_proportions_2indep(
        x_t, n_t, x_c, n_c, method="newcomb", compare="diff", alpha=alpha
    )
    assert c.abs_ci_low == pytest.approx(low, abs=1e-12)
    assert c.abs_ci_high == pytest.approx(high, abs=1e-12)
    assert c.abs_ci_high > c.abs_ci_low
    assert c.se > 0


def test_both_arms_at_the_edge_never_pass_with_a_zero_width_interval() -> None:
    # 2/2 converted in control, 0/2 in treatment: the Wald interval had width 0 and the
    # superiority test passed with p = 0; the pooled test's p is 0.0455.
    c = stats.compare_proportions(2, 2, 2, 0)
    sup = stats.superiority(c, direction="decrease")
    assert sup.p_value > 0.01
    assert (sup.p_value < 0.05) == bool(sup.passed)
    one = stats.compare_proportions(1, 1, 1, 0)
    assert one.p_value == pytest.approx(0.1573, abs=1e-4)
    assert one.abs_ci_low < 0 < one.abs_ci_high  # consistent with p > 0.05
    assert not stats.superiority(one, direction="decrease").passed


@pytest.mark.parametrize(
    ("p_c", "p_t", "n"), [(0.01, 0.03, 100), (0.005, 0.02, 200), (0.05, 0.2, 10), (0.99, 0.95, 100)]
)
def test_interval_keeps_its_coverage_near_zero_and_one(p_c, p_t, n) -> None:
    # 20,000 seeded pairs near the edge; coverage among those with an arm at 0% or 100%
    # (35-60% of them; both arms alike at the edge have no test). Measured with Newcombe
    # there: 0.957, 0.950, 0.976, 0.959; the Wald interval covered 0.912, 0.884, 0.891, 0.931.
    rng = np.random.default_rng(20)
    sims = 20_000
    x_c, x_t = rng.binomial(n, p_c, sims), rng.binomial(n, p_t, sims)
    c = stats.compare_proportions(n, x_c, n, x_t)
    low, high = np.asarray(c.abs_ci_low), np.asarray(c.abs_ci_high)
    edge = (x_c == 0) | (x_c == n) | (x_t == 0) | (x_t == n)
    edge &= np.asarray(c.error) != "zero_variance"  # both arms alike at the edge: no test
    covered = (low <= p_t - p_c) & (p_t - p_c <= high)
    assert covered[edge].mean() >= 0.94
