"""abcore.bayes: gbstats' published numbers, closed forms against simulation, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from abcore import bayes, stats
from abcore.suffstats import SampleMean

# Published numbers of GrowthBook's EffectBayesianABTest, from
# growthbook/growthbook packages/stats/tests/bayesian/test_tests.py (rounded to 5 decimals
# there; risk = [loss of keeping control, loss of shipping]).


def test_gbstats_binomial_flat_prior() -> None:
    # TestBinom.test_bayesian_binomial_ab_test:
    # EffectBayesianABTest([(ProportionStatistic(sum=49, n=100), ProportionStatistic(sum=51,
    # n=100))]).compute_result() -> expected 0.04082, ci [-0.24779, 0.32943], stddev 0.14725,
    # chance_to_win 0.60918, risk [0.0814, 0.04058]
    r = bayes.bayes_comparison(stats.compare_proportions(100, 49, 100, 51))
    got = [r.estimate, r.ci_low, r.ci_high, r.sd, r.chance_to_beat]
    np.testing.assert_allclose(got, [0.04082, -0.24779, 0.32943, 0.14725, 0.60918], atol=5e-6)
    assert r.expected_loss_keep == pytest.approx(0.0814, abs=5e-6)
    assert r.expected_loss_ship == pytest.approx(0.04058, abs=5e-6)


@pytest.fixture(scope="module")
def gb_normal() -> stats.Comparison:
    # TestNorm.setUp: SampleMeanStatistic(sum=100, sum_squares=1002.25, n=10) vs
    # SampleMeanStatistic(sum=105, sum_squares=1111.5, n=10)
    return stats.compare_samples(SampleMean(10, 100.0, 1002.25), SampleMean(10, 105.0, 1111.5))


def test_gbstats_gaussian_flat_prior(gb_normal: stats.Comparison) -> None:
    # TestNorm.test_bayesian_gaussian_ab_test: EffectBayesianABTest([(stat_a, stat_b)])
    # -> expected 0.05, ci [-0.02, 0.12], stddev 0.03572, chance_to_win 0.91923,
    # risk [0.05131, 0.00131]
    r = bayes.bayes_comparison(gb_normal)
    got = [r.estimate, r.ci_low, r.ci_high, r.sd, r.chance_to_beat]
    np.testing.assert_allclose(got, [0.05, -0.02, 0.12, 0.03572, 0.91923], atol=5e-6)
    assert r.expected_loss_keep == pytest.approx(0.05131, abs=5e-6)
    assert r.expected_loss_ship == pytest.approx(0.00131, abs=5e-6)


def test_gbstats_gaussian_informative_prior(gb_normal: stats.Comparison) -> None:
    # TestNorm.test_bayesian_gaussian_ab_test_informative: EffectBayesianConfig(prior_effect=
    # GaussianPrior(mean=0.1, variance=0.1, proper=True)) -> expected 0.05063,
    # ci [-0.01893, 0.12019], stddev 0.03549, chance_to_win 0.92315, risk [0.05186, 0.00123]
    r = bayes.bayes_comparison(gb_normal, prior_mean=0.1, prior_sd=math.sqrt(0.1))
    got = [r.estimate, r.ci_low, r.ci_high, r.sd, r.chance_to_beat]
    np.testing.assert_allclose(got, [0.05063, -0.01893, 0.12019, 0.03549, 0.92315], atol=5e-6)
    assert r.expected_loss_keep == pytest.approx(0.05186, abs=5e-6)
    assert r.expected_loss_ship == pytest.approx(0.00123, abs=5e-6)


def _likelihood(mean: float, low: float, high: float, prior_var: float | None) -> tuple:
    """Invert a gbstats posterior (mean and 95% interval) to the data's estimate and SE."""
    sd = (high - low) / (2 * norm.isf(0.025))
    if prior_var is None:
        return mean, sd
    data_precision = 1 / sd**2 - 1 / prior_var
    return mean / sd**2 / data_precision, math.sqrt(1 / data_precision)


@pytest.mark.parametrize(
    ("flat", "flat_var", "prior_sd", "informative"),
    [
        # TestEffectBayesianABTest.test_bayesian_effect_ab_test (quantile statistics):
        # difference_type="absolute", GaussianPrior(proper=False)
        # -> expected 0.5365124375579775, ci [0.4572559589115422, 0.6157689162044128];
        # GaussianPrior(variance=1, proper=True)
        # -> expected 0.536495315442269, ci [0.4572401014910488, 0.6157505293934892].
        # gbstats' prior is relative (prior_type="relative") and is rescaled by the control
        # (quantile_hat_c = 7.157987489967789) for an absolute readout: sd 1 x 7.158.
        (
            (0.5365124375579775, 0.4572559589115422, 0.6157689162044128),
            None,
            7.157987489967789,
            (0.536495315442269, 0.4572401014910488, 0.6157505293934892),
        ),
        # difference_type="relative", GaussianPrior(variance=1e6, proper=True)
        # -> expected 0.07495297222736319, ci [0.06341005842481906, 0.08649588602990732];
        # GaussianPrior(variance=1, proper=True)
        # -> expected 0.07495037261804469, ci [0.06340765898986044, 0.08649308624622894]
        (
            (0.07495297222736319, 0.06341005842481906, 0.08649588602990732),
            1e6,
            1.0,
            (0.07495037261804469, 0.06340765898986044, 0.08649308624622894),
        ),
    ],
)
def test_gbstats_prior_update_on_quantile_effects(
    flat: tuple[float, float, float],
    flat_var: float | None,
    prior_sd: float,
    informative: tuple[float, ...],
) -> None:
    # The quantile statistics themselves are gbstats'; the check is the prior update: recover
    # the likelihood from the (near-)flat result, add the N(0, 1) prior, match to 1e-11.
    estimate, se = _likelihood(*flat, flat_var)
    r = bayes.posterior(estimate, se, prior_mean=0.0, prior_sd=prior_sd)
    np.testing.assert_allclose([r.estimate, r.ci_low, r.ci_high], informative, rtol=1e-11)


def test_relative_prior_is_rescaled_for_an_absolute_readout() -> None:
    c = stats.compare_means(500, 20.0, 8.0, 500, 21.0, 8.0)
    r = bayes.bayes_comparison(c, relative=False, prior_mean=0.01, prior_sd=0.3)
    same = bayes.posterior(c.abs_effect, c.se, prior_mean=0.2, prior_sd=6.0)
    assert r.estimate == pytest.approx(same.estimate, rel=1e-12)
    assert r.sd == pytest.approx(same.sd, rel=1e-12)
    raw = bayes.bayes_comparison(c, relative=False, prior_sd=0.3, prior_relative=False)
    assert raw.estimate == pytest.approx(bayes.posterior(c.abs_effect, c.se, prior_sd=0.3).estimate)


def test_expected_losses_match_simulation() -> None:
    # gbstats checks its risk against 10^7 normal draws (seed 20240329); so do we.
    rng = np.random.default_rng(20240329)
    mean, sd = 0.3, 0.8
    y = mean + sd * rng.standard_normal(2_000_000)
    ship, keep = bayes.expected_losses(mean, sd)
    assert ship == pytest.approx(np.mean(np.maximum(-y, 0)), abs=2e-3)
    assert keep == pytest.approx(np.mean(np.maximum(y, 0)), abs=2e-3)


def test_decrease_is_good_swaps_sides() -> None:
    up = bayes.posterior(-0.03, 0.02)
    down = bayes.posterior(-0.03, 0.02, direction="decrease")
    assert down.chance_to_beat == pytest.approx(1 - up.chance_to_beat, rel=1e-12)
    assert down.expected_loss_ship == pytest.approx(up.expected_loss_keep, rel=1e-12)
    assert down.expected_loss_keep == pytest.approx(up.expected_loss_ship, rel=1e-12)
    assert (down.ci_low, down.ci_high) == (up.ci_low, up.ci_high)


def test_chance_to_beat_is_not_one_minus_p() -> None:
    # Flat prior: chance = 1 - p/2 for the two-sided p (a tie, not the same thing);
    # a proper prior breaks it.
    c = stats.compare_means(2_000, 10.0, 4.0, 2_000, 10.3, 4.0)
    flat = bayes.bayes_comparison(c, relative=False)
    assert flat.chance_to_beat == pytest.approx(1 - norm.sf(c.abs_effect / c.se), rel=1e-12)
    assert flat.chance_to_beat != pytest.approx(1 - c.p_value, abs=1e-3)
    skeptical = bayes.bayes_comparison(c, relative=False, prior_sd=0.05)
    assert skeptical.chance_to_beat < flat.chance_to_beat


def test_one_sided_intervals_and_absolute_scale() -> None:
    c = stats.compare_proportions(5_000, 500, 5_000, 560)
    r = bayes.bayes_comparison(c, relative=False, alternative="greater")
    assert r.ci_high == math.inf
    assert r.ci_low == pytest.approx(c.abs_effect - norm.isf(0.05) * c.se, rel=1e-12)
    r = bayes.bayes_comparison(c, relative=False, alternative="less")
    assert r.ci_low == -math.inf


def test_degenerate_and_vectorised() -> None:
    r = bayes.posterior([0.1, 0.1, 0.2], [0.0, np.nan, 0.1])
    assert r.error.tolist() == [bayes.INVALID_SE, bayes.INVALID_SE, None]
    assert np.isnan(r.chance_to_beat[:2]).all()
    assert r.chance_to_beat[2] == bayes.posterior(0.2, 0.1).chance_to_beat
    empty = bayes.bayes_comparison(stats.compare_proportions(0, 0, 10, 1))
    assert empty.error == stats.EMPTY_ARM


@settings(max_examples=200, deadline=None)
@given(
    est=st.floats(-1, 1),
    se=st.floats(1e-3, 1),
    prior_mean=st.floats(-1, 1),
    prior_sd=st.floats(1e-3, 10),
)
def test_posterior_lies_between_prior_and_data_and_is_tighter(
    est: float, se: float, prior_mean: float, prior_sd: float
) -> None:
    r = bayes.posterior(est, se, prior_mean=prior_mean, prior_sd=prior_sd)
    lo, hi = sorted((est, prior_mean))
    assert lo - 1e-12 <= r.estimate <= hi + 1e-12
    assert r.sd <= min(se, prior_sd) * (1 + 1e-12)


@settings(max_examples=200, deadline=None)
@given(mean=st.floats(-5, 5), sd=st.floats(1e-3, 5))
def test_expected_losses_differ_by_the_mean(mean: float, sd: float) -> None:
    # E[max(0, X)] - E[max(0, -X)] = E[X]; both are non-negative.
    ship, keep = bayes.expected_losses(mean, sd)
    assert keep - ship == pytest.approx(mean, abs=1e-9 * (1 + abs(mean)))
    assert ship >= 0
    assert keep >= 0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: bayes.posterior(0.1, 0.1, alpha=1.0), "alpha must be < 1"),
        (lambda: bayes.posterior(0.1, 0.1, prior_sd=0.0), "prior_sd must be > 0"),
        (lambda: bayes.posterior(0.1, 0.1, prior_sd=math.inf), "prior_sd must be finite"),
        (lambda: bayes.posterior(0.1, 0.1, prior_mean=math.nan), "prior_mean must be a number"),
        (lambda: bayes.posterior(0.1, 0.1, direction="up"), "direction must be one of"),
        (lambda: bayes.posterior(0.1, 0.1, alternative="left"), "alternative must be one of"),
        (
            lambda: bayes.bayes_comparison(
                stats.compare_means(10, 0.0, 1.0, 10, 1.0, 1.0), relative=False, prior_sd=0.3
            ),
            "prior_relative needs a control mean",
        ),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
