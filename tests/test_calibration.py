"""Calibration by simulation: size, p-value uniformity, interval coverage and planned power.

Five A/A (and A/B) settings, 20,000 seeded experiments each (40,000 where counts are drawn
directly), one vectorised ``abcore.stats`` call per check:

* ``binary_1pct`` / ``binary_30pct``: conversion at 1% (200 conversions per arm) and 30%;
* ``lognormal``: heavy-tailed revenue (log-normal, sigma 1.25), Welch on unit-level sums;
* ``ratio``: clicks per session randomised by user (delta method), unit-level sums;
* ``cuped``: a skewed metric with a correlated pre-period covariate, CUPED-adjusted.

Every rate is checked against the 99.9% binomial band around its target, from
``scipy.stats.binom.ppf``: with ``reps`` experiments a correct method lands outside the band
one time in a thousand, a method that is off by a point lands outside it almost always.

``tests/test_stats_calibration.py`` covers the 5% rate at unequal arms, Welch with unequal
variances and the relative-interval tails; this file adds the small and large rates, heavy
tails, both one-sided alternatives for every test, p-value uniformity, absolute and Fieller
coverage with and without an effect, and the power that ``abcore.power`` promises for
unequal splits, one-sided tests, several arms and CUPED.

Unit-level settings draw every unit and reduce each experiment to its sums with numpy, in
batches of about two million units so memory stays near 100 MB.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from scipy import stats as sps

from abcore import power, stats
from abcore.stats import Comparison
from abcore.suffstats import PairStatistic

ALPHA = 0.05
LEVEL = 0.999
"""Probability that a correct method's simulated rate falls inside the band."""
REPS = 20_000
BATCH_UNITS = 2_000_000
ALTERNATIVES = ("two-sided", "greater", "less")
POWER_TOLERANCE = 0.02

Draw = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray | None]]


def binomial_band(rate: float, reps: int) -> tuple[int, int]:
    """The central ``LEVEL`` range of the number of successes in ``reps`` Bernoulli(``rate``)."""
    tail = (1 - LEVEL) / 2
    low, high = sps.binom.ppf([tail, 1 - tail], reps, rate)
    return int(low), int(high)


def assert_rate(hits: np.ndarray, rate: float, what: str) -> None:
    count, reps = int(np.count_nonzero(hits)), hits.size
    low, high = binomial_band(rate, reps)
    assert low <= count <= high, (
        f"{what}: {count / reps:.4f} outside [{low / reps:.4f}, {high / reps:.4f}]"
    )


def unit_sums(rng: np.random.Generator, reps: int, n: int, draw: Draw) -> PairStatistic:
    """Draw ``n`` units per experiment, ``(y, x)`` each, and keep each experiment's sums.

    ``draw(rng, rows, n)`` returns ``(rows, n)`` arrays; ``x`` may be None (no covariate),
    and its sums are then zero.
    """
    sums = np.zeros((5, reps))
    rows = max(1, BATCH_UNITS // n)
    for start in range(0, reps, rows):
        stop = min(start + rows, reps)
        y, x = draw(rng, stop - start, n)
        sums[:2, start:stop] = y.sum(1), np.einsum("ij,ij->i", y, y)
        if x is not None:
            sums[2:, start:stop] = (
                x.sum(1),
                np.einsum("ij,ij->i", x, x),
                np.einsum("ij,ij->i", x, y),
            )
    return PairStatistic(np.full(reps, n), *sums)


def shifted(pair: PairStatistic, shift: float) -> PairStatistic:
    """The statistics of ``y + shift`` (every unit), exactly, from the sums."""
    n = np.asarray(pair.n, dtype=float)
    return PairStatistic(
        pair.n,
        pair.sum_y + n * shift,
        pair.sum_y_sq + 2 * shift * pair.sum_y + n * shift**2,
        pair.sum_x,
        pair.sum_x_sq,
        pair.sum_xy + shift * pair.sum_x,
    )


def scaled(pair: PairStatistic, factor: float) -> PairStatistic:
    """The statistics of ``factor * y`` (every unit), exactly, from the sums."""
    return PairStatistic(
        pair.n,
        factor * pair.sum_y,
        factor**2 * pair.sum_y_sq,
        pair.sum_x,
        pair.sum_x_sq,
        factor * pair.sum_xy,
    )


# --- the five settings -------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """Control, a second control (A/A) and a treated arm, with the true effects."""

    compare: Callable[..., Comparison]
    control: object
    null: object
    treated: object
    abs_effect: float
    rel_effect: float

    def run(self, *, effect: bool, alternative: str = "two-sided") -> Comparison:
        other = self.treated if effect else self.null
        return self.compare(self.control, other, alternative=alternative)


def _binary(seed: int, rate: float, n: int, lift: float) -> Setting:
    rng = np.random.default_rng(seed)
    reps = 2 * REPS  # counts are drawn directly, so twice the experiments cost nothing

    def compare(x_c: np.ndarray, x_t: np.ndarray, **options: str) -> Comparison:
        return stats.compare_proportions(n, x_c, n, x_t, **options)

    return Setting(
        compare,
        rng.binomial(n, rate, reps),
        rng.binomial(n, rate, reps),
        rng.binomial(n, rate * (1 + lift), reps),
        abs_effect=rate * lift,
        rel_effect=lift,
    )


LOGNORMAL_SIGMA = 1.25


def _lognormal_units(rng: np.random.Generator, rows: int, n: int) -> tuple[np.ndarray, None]:
    return rng.lognormal(0.0, LOGNORMAL_SIGMA, (rows, n)), None


def _lognormal(seed: int, n: int = 1_000, lift: float = 0.2) -> Setting:
    # Heavy tails: the top 1% of units carry about 14% of the total (1 - Phi(2.33 - 1.25)).
    rng = np.random.default_rng(seed)
    control, null = (unit_sums(rng, REPS, n, _lognormal_units) for _ in range(2))
    mean = math.exp(LOGNORMAL_SIGMA**2 / 2)

    def compare(c: PairStatistic, t: PairStatistic, **options: str) -> Comparison:
        return stats.compare_samples(c.y, t.y, **options)

    # Multiplying every treated unit by 1 + lift is a true relative effect of ``lift``.
    return Setting(compare, control, null, scaled(null, 1 + lift), mean * lift, lift)


CLICK_RATE_SHAPE, CLICK_RATE_MEAN = 2.0, 0.25


def _ratio_units(lift: float) -> Draw:
    """Users with 1 + Poisson(3) sessions, their own click rate, Poisson clicks."""

    def draw(rng: np.random.Generator, rows: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        sessions = 1.0 + rng.poisson(3.0, (rows, n))
        rate = rng.gamma(CLICK_RATE_SHAPE, CLICK_RATE_MEAN / CLICK_RATE_SHAPE, (rows, n))
        clicks = rng.poisson(sessions * rate * (1 + lift)).astype(float)
        return clicks, sessions

    return draw


def _ratio(seed: int, n: int = 500, lift: float = 0.1) -> Setting:
    rng = np.random.default_rng(seed)
    # E[clicks | sessions] = sessions * E[rate] * (1 + lift): the true ratio is exact.
    return Setting(
        stats.compare_ratios,
        unit_sums(rng, REPS, n, _ratio_units(0.0)),
        unit_sums(rng, REPS, n, _ratio_units(0.0)),
        unit_sums(rng, REPS, n, _ratio_units(lift)),
        abs_effect=CLICK_RATE_MEAN * lift,
        rel_effect=lift,
    )


def _cuped_units(rng: np.random.Generator, rows: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Skewed spend and last month's spend, correlated about 0.69 (40 / sqrt(50 x 68))."""
    pre = rng.gamma(2.0, 5.0, (rows, n))
    return 0.8 * pre + rng.gamma(1.0, 6.0, (rows, n)), pre


CUPED_MEAN = 0.8 * 10.0 + 6.0


def _cuped(seed: int, n: int = 500, shift: float = 0.5) -> Setting:
    rng = np.random.default_rng(seed)
    control, null = (unit_sums(rng, REPS, n, _cuped_units) for _ in range(2))
    return Setting(
        stats.compare_cuped,
        control,
        null,
        shifted(null, shift),
        abs_effect=shift,
        rel_effect=shift / CUPED_MEAN,
    )


SETTINGS: dict[str, Callable[[], Setting]] = {
    "binary_1pct": lambda: _binary(101, 0.01, 20_000, lift=0.10),
    "binary_30pct": lambda: _binary(102, 0.30, 2_000, lift=0.05),
    "lognormal": lambda: _lognormal(103),
    "ratio": lambda: _ratio(104),
    "cuped": lambda: _cuped(105),
}


@cache
def setting(name: str) -> Setting:
    return SETTINGS[name]()


# --- size under the null -----------------------------------------------------------------


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("name", SETTINGS)
def test_false_positive_rate_is_alpha(name: str, alternative: str) -> None:
    c = setting(name).run(effect=False, alternative=alternative)
    assert not np.any(np.isnan(c.p_value))
    assert_rate(c.p_value < ALPHA, ALPHA, f"{name} {alternative} false positives")


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize("name", ["lognormal", "ratio", "cuped"])
def test_p_values_are_uniform_under_the_null(name: str, alternative: str) -> None:
    c = setting(name).run(effect=False, alternative=alternative)
    assert sps.kstest(c.p_value, "uniform").pvalue > 0.001


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize(("rate", "n"), [(0.01, 200_000), (0.30, 20_000)])
def test_proportion_p_values_are_uniform_once_the_lattice_is_fine(
    rate: float, n: int, alternative: str
) -> None:
    # Counts make p-values discrete: at 200 conversions per arm about 2% of A/A experiments
    # tie exactly (p = 1), a step the KS test against a continuous uniform rightly detects
    # although the rate at alpha is exact (see above). With 2,000+ conversions per arm the
    # steps are far below what 20,000 experiments can resolve, and uniformity is testable.
    rng = np.random.default_rng(106)
    x_c, x_t = rng.binomial(n, rate, (2, REPS))
    c = stats.compare_proportions(n, x_c, n, x_t, alternative=alternative)
    assert sps.kstest(c.p_value, "uniform").pvalue > 0.001


@pytest.mark.parametrize("name", ["binary_1pct", "lognormal", "ratio"])
def test_false_positive_rate_at_other_alphas(name: str) -> None:
    c = setting(name).run(effect=False)
    for alpha in (0.01, 0.10):
        assert_rate(c.p_value < alpha, alpha, f"{name} at alpha={alpha}")


# --- interval coverage -------------------------------------------------------------------


def covers(low: np.ndarray, high: np.ndarray, truth: float) -> np.ndarray:
    return (low <= truth) & (truth <= high)


@pytest.mark.parametrize("effect", [False, True], ids=["null", "effect"])
@pytest.mark.parametrize("name", SETTINGS)
def test_absolute_and_fieller_intervals_cover(name: str, effect: bool) -> None:
    s = setting(name)
    c = s.run(effect=effect)
    abs_truth = s.abs_effect if effect else 0.0
    rel_truth = s.rel_effect if effect else 0.0
    assert c.relative_method == "fieller"
    assert_rate(covers(c.abs_ci_low, c.abs_ci_high, abs_truth), 1 - ALPHA, f"{name} absolute")
    assert_rate(covers(c.rel_ci_low, c.rel_ci_high, rel_truth), 1 - ALPHA, f"{name} relative")


@pytest.mark.parametrize("alternative", ["greater", "less"])
@pytest.mark.parametrize("name", SETTINGS)
def test_one_sided_fieller_bounds_cover_under_an_effect(name: str, alternative: str) -> None:
    # The launch decision reads one-sided relative bounds, so each must miss alpha of the time
    # on its own side. (One-sided *absolute* Welch bounds on the log-normal metric do not:
    # the skew puts about 6% of misses on one side and 4.5% on the other at n = 1,000.)
    s = setting(name)
    c = s.run(effect=True, alternative=alternative)
    hits = covers(c.rel_ci_low, c.rel_ci_high, s.rel_effect)
    assert_rate(hits, 1 - ALPHA, f"{name} {alternative} relative bound")
    if name != "lognormal":
        hits = covers(c.abs_ci_low, c.abs_ci_high, s.abs_effect)
        assert_rate(hits, 1 - ALPHA, f"{name} {alternative} absolute bound")


# --- planned power -----------------------------------------------------------------------


def assert_power(hits: np.ndarray, target: float, what: str) -> None:
    rate = float(np.mean(hits))
    assert abs(rate - target) <= POWER_TOLERANCE, f"{what}: simulated power {rate:.4f}"


def test_planned_power_with_a_30_70_split() -> None:
    rng = np.random.default_rng(201)
    baseline, lift, reps = 0.05, 0.10, 2 * REPS
    size = power.sample_size_proportion(baseline, lift, ratio=70 / 30)
    assert size.n_treatment / size.n_total == pytest.approx(0.7, abs=1e-4)
    x_c = rng.binomial(size.n_control, baseline, reps)
    x_t = rng.binomial(size.n_treatment, baseline * (1 + lift), reps)
    c = stats.compare_proportions(size.n_control, x_c, size.n_treatment, x_t)
    assert_power(c.p_value < ALPHA, 0.8, "30/70 split")


def test_planned_power_of_a_one_sided_proportion_test() -> None:
    rng = np.random.default_rng(202)
    baseline, mde, reps = 0.20, -0.05, 2 * REPS
    size = power.sample_size_proportion(baseline, mde, alternative="less", power=0.9)
    x_c = rng.binomial(size.n_control, baseline, reps)
    x_t = rng.binomial(size.n_treatment, baseline * (1 + mde), reps)
    c = stats.compare_proportions(size.n_control, x_c, size.n_treatment, x_t, alternative="less")
    assert_power(c.p_value < ALPHA, 0.9, "one-sided 'less'")


def test_planned_power_of_a_one_sided_mean_test_on_skewed_units() -> None:
    rng = np.random.default_rng(203)
    shape, scale, lift = 1.5, 20.0, 0.08  # gamma spend: mean 30, sd 24.5
    mean, sd = shape * scale, math.sqrt(shape) * scale
    size = power.sample_size_mean(mean, sd, lift, alternative="greater")

    def spend(rng: np.random.Generator, rows: int, n: int) -> tuple[np.ndarray, None]:
        return rng.gamma(shape, scale, (rows, n)), None

    control = unit_sums(rng, REPS, size.n_control, spend)
    treated = shifted(unit_sums(rng, REPS, size.n_treatment, spend), mean * lift)
    c = stats.compare_samples(control.y, treated.y, alternative="greater")
    assert_power(c.p_value < ALPHA, 0.8, "one-sided mean")


def test_planned_power_of_several_arms_with_bonferroni() -> None:
    rng = np.random.default_rng(204)
    arms, baseline, lift, reps = 3, 0.10, 0.10, 2 * REPS
    size = power.sample_size_proportion(baseline, lift, treatments=arms)
    n = size.n_control
    assert size.alpha == pytest.approx(ALPHA / arms)
    x_c = rng.binomial(n, baseline, reps)[None, :]
    treated = stats.compare_proportions(
        n, x_c, n, rng.binomial(n, baseline * (1 + lift), (arms, reps))
    )
    detects = (treated.p_value < size.alpha) & (treated.abs_effect > 0)
    for arm in range(arms):
        assert_power(detects[arm], 0.8, f"arm {arm}")
    # All arms share the control, so their z statistics are correlated; the chance that at
    # least one detects the effect follows from the trivariate normal, and it exceeds the
    # per-arm power the plan promises.
    p_c, p_t = baseline, baseline * (1 + lift)
    pooled = (p_c + p_t) / 2
    threshold = sps.norm.isf(size.alpha / 2) * math.sqrt(2 * pooled * (1 - pooled) / n)
    cov = np.full((arms, arms), p_c * (1 - p_c) / n)
    np.fill_diagonal(cov, p_c * (1 - p_c) / n + p_t * (1 - p_t) / n)
    none = sps.multivariate_normal(np.zeros(arms), cov).cdf(np.full(arms, threshold - (p_t - p_c)))
    any_arm = detects.any(axis=0)
    assert_power(any_arm, 1 - none, "any arm")
    assert np.mean(any_arm) > np.mean(detects, axis=1).max() + 0.1
    # Under the global null the split keeps the family-wise error at or below alpha.
    null = stats.compare_proportions(n, x_c, n, rng.binomial(n, baseline, (arms, reps)))
    family_wise = np.mean((null.p_value < size.alpha).any(axis=0))
    assert family_wise <= binomial_band(ALPHA, reps)[1] / reps


def test_planned_power_of_a_cuped_sized_test() -> None:
    rng = np.random.default_rng(205)
    rho, mean, sd, lift = 0.7, 10.0, 4.0, 0.03
    size = power.sample_size_mean(mean, sd, lift, variance_reduction=rho**2)
    plain = power.sample_size_mean(mean, sd, lift)
    assert size.n_control < 0.52 * plain.n_control

    def metric(rng: np.random.Generator, rows: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        pre = rng.standard_normal((rows, n))
        noise = rng.standard_normal((rows, n))
        return mean + sd * (rho * pre + math.sqrt(1 - rho**2) * noise), 50 + 20 * pre

    control = unit_sums(rng, REPS, size.n_control, metric)
    treated = shifted(unit_sums(rng, REPS, size.n_treatment, metric), mean * lift)
    c = stats.compare_cuped(control, treated)
    assert_power(c.p_value < ALPHA, 0.8, "CUPED-sized")
    raw = stats.compare_samples(control.y, treated.y)
    assert np.mean(raw.p_value < ALPHA) < 0.6  # without CUPED the same n is under-powered


def test_simulation_helpers_reproduce_numpy() -> None:
    rng = np.random.default_rng(0)
    y, x = rng.normal(size=(2, 3, 5))
    pair = unit_sums(np.random.default_rng(1), 3, 5, lambda *_: (y, x))
    np.testing.assert_allclose(pair.sum_xy, (x * y).sum(1))
    moved = shifted(pair, 2.5)
    np.testing.assert_allclose(moved.sum_y_sq, ((y + 2.5) ** 2).sum(1))
    np.testing.assert_allclose(moved.sum_xy, ((y + 2.5) * x).sum(1))
    np.testing.assert_allclose(scaled(pair, 3.0).sum_y_sq, ((3 * y) ** 2).sum(1))
    low, high = binomial_band(0.05, 10_000)
    # Normal approximation: 500 -+ 3.29 sd with sd = sqrt(10000 x 0.05 x 0.95) = 21.8.
    assert low == pytest.approx(428.3, abs=2.5)
    assert high == pytest.approx(571.7, abs=2.5)
