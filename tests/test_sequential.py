"""abcore.sequential: reference numbers from gbstats, rpact and gsDesign; properties; errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize
from scipy.stats import norm
from scipy.stats import t as student_t

from abcore import sequential as seq
from abcore import stats
from abcore.plan import ExperimentPlan
from abcore.planning import planned_tuning_n
from abcore.suffstats import SampleMean

GBSTATS = "growthbook/growthbook packages/stats/tests/frequentist/test_tests.py"

# gbstats' fixtures: SampleMeanStatistic(sum=1396.87, sum_squares=52377.9767, n=3000) (control)
# and SampleMeanStatistic(sum=2422.7, sum_squares=134698.29, n=3461) (treatment).
CONTROL = SampleMean(3000, 1396.87, 52377.9767)
TREATMENT = SampleMean(3461, 2422.7, 134698.29)


@pytest.fixture(scope="module")
def gb_means() -> stats.Comparison:
    return stats.compare_samples(CONTROL, TREATMENT)


# --- gbstats' published sequential numbers ------------------------------------------------


def test_gbstats_sequential_two_sided_relative(gb_means: stats.Comparison) -> None:
    # GBSTATS TestSequentialTTest.test_sequential_test_runs:
    # SequentialTwoSidedTTest([(stat_a, stat_b)], SequentialConfig(sequential_tuning_parameter
    # =1000)).compute_result() -> expected 0.50336, ci (-0.55844, 1.56516),
    # uplift stddev 0.33341, pValue 1
    s = seq.sequential_comparison(gb_means, tuning_n=1000).relative
    assert s.estimate == pytest.approx(0.50336, abs=5e-6)
    assert s.se == pytest.approx(0.33341, abs=5e-6)
    assert s.ci_low == pytest.approx(-0.55844, abs=5e-6)
    assert s.ci_high == pytest.approx(1.56516, abs=5e-6)
    assert s.p_value == 1.0


def test_gbstats_sequential_proportions() -> None:
    # GBSTATS TestSequentialTTest.test_sequential_test_runs_prop:
    # SequentialTwoSidedTTest([(ProportionStatistic(sum=1396, n=3000),
    # ProportionStatistic(sum=2422, n=3461))]).compute_result()  (default N* = 5000)
    # -> expected 0.50386, ci (0.40098, 0.60675), stddev 0.03386, pValue 0.0 (rounded)
    c = stats.compare_proportions(3000, 1396, 3461, 2422)
    s = seq.sequential_comparison(c, tuning_n=5000).relative
    assert s.estimate == pytest.approx(0.50386, abs=5e-6)
    assert s.se == pytest.approx(0.03386, abs=5e-6)
    assert s.ci_low == pytest.approx(0.40098, abs=5e-6)
    assert s.ci_high == pytest.approx(0.60675, abs=5e-6)
    assert round(s.p_value, 5) == 0.0


@pytest.mark.parametrize(
    ("estimate", "se", "n", "low", "high"),
    [
        # GBSTATS test_sequential_test_runs_ra: SequentialTwoSidedTTest([(stat_a_ra, stat_b_ra)])
        # (CUPED statistics, n = 3000 + 3461, N* = 5000) -> uplift 0.50338 sd 0.33341,
        # ci (-0.50969, 1.51646). Inputs are gbstats' rounded estimate and SE.
        (0.50338, 0.33341, 6461, -0.50969, 1.51646),
        # GBSTATS test_sequential_test_runs_ratio_ra: RegressionAdjustedRatioStatistic pairs,
        # n = 100 + 100, N* = 5000 -> uplift -0.0007 sd 0.00391, ci (-0.02063, 0.01923).
        # The SE is rounded to 3 significant digits, hence the looser tolerance.
        (-0.0007, 0.00391, 200, -0.02063, 0.01923),
    ],
)
def test_gbstats_sequential_from_estimate_and_se(
    estimate: float, se: float, n: int, low: float, high: float
) -> None:
    cs = seq.confidence_sequence(estimate, se, n, tuning_n=5000)
    tol = 2e-5 * max(1.0, abs(high - low) / 0.04)
    assert cs.ci_low == pytest.approx(low, abs=tol)
    assert cs.ci_high == pytest.approx(high, abs=tol)


@pytest.mark.parametrize(
    ("alternative", "relative", "bound"),
    [
        # GBSTATS TestSequentialOneSidedGreaterTTest / TestSequentialOneSidedLesserTTest,
        # default SequentialConfig (alpha 0.05, N* = 5000):
        # SequentialOneSidedTreatmentGreaterTTest([(stat_a, stat_b)]) ci low -0.42356454602790883
        ("greater", True, -0.42356454602790883),
        # ... SequentialConfig(difference_type="absolute") -> ci low -0.12656844172804982
        ("greater", False, -0.12656844172804982),
        # SequentialOneSidedTreatmentLesserTTest([(stat_a, stat_b)]) -> ci high 1.4302867177403806
        ("less", True, 1.4302867177403806),
        # ... SequentialConfig(difference_type="absolute") -> ci high 0.5953217750613832
        ("less", False, 0.5953217750613832),
    ],
)
def test_gbstats_sequential_one_sided(
    gb_means: stats.Comparison, alternative: str, relative: bool, bound: float
) -> None:
    s = seq.sequential_comparison(gb_means, tuning_n=5000, alternative=alternative)
    cs = s.relative if relative else s.absolute
    got = cs.ci_low if alternative == "greater" else cs.ci_high
    assert got == pytest.approx(bound, rel=1e-10)
    assert (cs.ci_high if alternative == "greater" else cs.ci_low) == pytest.approx(
        math.inf if alternative == "greater" else -math.inf
    )


def test_gbstats_sequential_one_sided_p_values(gb_means: stats.Comparison) -> None:
    greater = seq.sequential_comparison(gb_means, tuning_n=5000, alternative="greater")
    less = seq.sequential_comparison(gb_means, tuning_n=5000, alternative="less")
    # GBSTATS SequentialOneSidedTreatmentGreaterTTest(..., SequentialConfig(difference_type=
    # "absolute")) -> pValue 0.46316491943359384, found by bisection on alpha (stops when the
    # CI bound is within 1e-6 of 0 and returns the next midpoint, so it is good to ~2e-4);
    # ours is the exact root in closed form.
    assert greater.absolute.p_value == pytest.approx(0.46316491943359384, abs=2e-4)
    # gbstats searches alpha in [1e-5, 0.4999] and reports 0.4999 when even that CI contains 0
    # (relative 'greater', and both 'less' tests): ours is at least that.
    assert greater.relative.p_value >= 0.4999
    assert less.absolute.p_value >= 0.4999
    assert less.relative.p_value >= 0.4999


def test_gbstats_rho_and_tuning_as_expected(gb_means: stats.Comparison) -> None:
    # gbstats sequential_rho(alpha, N) = sqrt((-2 ln a + ln(-2 ln a + 1)) / N), the two-sided
    # form of Waudby-Smith et al. eq. 161; one-sided calls it with 2 alpha.
    a = 0.05
    expected = math.sqrt((-2 * math.log(a) + math.log(-2 * math.log(a) + 1)) / 5000)
    assert seq.mixture_rho(a, 5000) == pytest.approx(expected, rel=1e-14)
    assert seq.mixture_rho(a, 5000, "greater") == pytest.approx(
        math.sqrt((-2 * math.log(2 * a) + math.log(-2 * math.log(2 * a) + 1)) / 5000), rel=1e-14
    )
    # GBSTATS test_sequential_test_tuning_as_expected: N* = 10 and 10,000 are both wider than
    # N* = 6461 (= n, the tuning near the actual size).
    widths = {
        tn: seq.sequential_comparison(gb_means, tuning_n=tn).relative.ci_high
        - seq.sequential_comparison(gb_means, tuning_n=tn).relative.ci_low
        for tn in (10, 6461, 10_000)
    }
    assert widths[10] > widths[10_000] > widths[6461]


# --- group-sequential boundaries against rpact and gsDesign --------------------------------


def test_gsdesign_ldof_two_sided_five_looks() -> None:
    # R: gsDesign::gsDesign(k=5, test.type=2, alpha=0.025, sfu=sfLDOF)$upper$bound
    # -> 4.877, 3.357, 2.680, 2.290, 2.031 (alpha per side; ours is the two-sided total)
    d = seq.group_sequential_design(5, alpha=0.05, spending="obf")
    assert np.round(d.boundaries, 3).tolist() == [4.877, 3.357, 2.680, 2.290, 2.031]
    assert d.alpha_spent[-1] == pytest.approx(0.05)


RPACT = "rpact-com/rpact tests/testthat/test-f_design_group_sequential.R"


@pytest.mark.parametrize(
    ("fractions", "alpha", "spending", "rho", "critical", "alpha_spent"),
    [
        # RPACT x1: getDesignInverseNormal(kMax = 3, informationRates = c(0.2, 0.4, 1),
        #   alpha = 0.03, sided = 1, beta = 0.14, typeOfDesign = "asHSD", gammaA = 0)
        # (Hwang-Shih-DeCani with gamma 0 is linear spending, alpha * t)
        (
            (0.2, 0.4, 1),
            0.03,
            "power",
            1.0,
            (2.5121443, 2.4228747, 2.0280392),
            (0.006, 0.012, 0.03),
        ),
        # RPACT x3: getDesignInverseNormal(kMax = 3, informationRates = c(0.3, 0.7, 1),
        #   alpha = 0.03, sided = 1, beta = 0.34, typeOfDesign = "asKD", gammaA = 2.2,
        #   typeBetaSpending = "bsKD", gammaB = 3.2)  (futility non-binding: no effect on these)
        (
            (0.3, 0.7, 1),
            0.03,
            "power",
            2.2,
            (2.8594012, 2.2435708, 1.9735737),
            (0.0021222083, 0.013687904, 0.03),
        ),
        # RPACT x6a: getDesignGroupSequential(kMax = 3, alpha = 0.13, typeOfDesign = "asP",
        #   typeBetaSpending = "bsUser", informationRates = c(0.35, 0.7, 1),
        #   bindingFutility = FALSE, userBetaSpending = c(0.01, 0.05, 0.3))
        (
            (0.35, 0.7, 1),
            0.13,
            "pocock",
            2.0,
            (1.5446617, 1.4828682, 1.4620058),
            (0.061214062, 0.10266465, 0.13),
        ),
        # RPACT x7a: getDesignGroupSequential(kMax = 3, alpha = 0.13, beta = 0.41,
        #   typeOfDesign = "asOF", typeBetaSpending = "bsKD", informationRates = c(0.4, 0.75, 1),
        #   gammaB = 2.5, bindingFutility = FALSE)
        (
            (0.4, 0.75, 1),
            0.13,
            "obf",
            2.0,
            (2.1280732, 1.4368565, 1.2468994),
            (0.016665509, 0.080406163, 0.13),
        ),
    ],
)
def test_rpact_one_sided_boundaries(
    fractions: tuple[float, ...],
    alpha: float,
    spending: str,
    rho: float,
    critical: tuple[float, ...],
    alpha_spent: tuple[float, ...],
) -> None:
    d = seq.group_sequential_design(
        fractions, alpha=alpha, alternative="greater", spending=spending, rho=rho
    )
    np.testing.assert_allclose(d.boundaries, critical, rtol=2e-7)
    np.testing.assert_allclose(d.alpha_spent, alpha_spent, rtol=2e-7)


def test_rpact_stage_levels_and_inflation_factor() -> None:
    # RPACT x1 (above): stageLevels c(0.006, 0.0076991188, 0.021278125);
    # getDesignCharacteristics(x1)$inflationFactor 1.0788327 (power 1 - beta = 0.86)
    d = seq.group_sequential_design(
        (0.2, 0.4, 1), alpha=0.03, alternative="greater", spending="power", rho=1.0
    )
    np.testing.assert_allclose(d.nominal_alpha, (0.006, 0.0076991188, 0.021278125), rtol=2e-7)
    assert d.inflation(0.86) == pytest.approx(1.0788327, rel=2e-7)


def test_less_mirrors_greater() -> None:
    greater = seq.group_sequential_design(3, alternative="greater")
    less = seq.group_sequential_design(3, alternative="less")
    assert less.boundaries == greater.boundaries
    assert less.inflation(0.8) == pytest.approx(greater.inflation(0.8), rel=1e-9)
    assert less.power(-2.8) == pytest.approx(greater.power(2.8), rel=1e-9)


def test_one_look_is_the_fixed_horizon_test() -> None:
    d = seq.group_sequential_design(1, alpha=0.05)
    assert d.boundaries[0] == pytest.approx(norm.isf(0.025), rel=1e-12)
    assert d.nominal_alpha[0] == pytest.approx(0.05, rel=1e-12)
    assert d.inflation(0.8) == pytest.approx(1.0, abs=1e-8)


def test_daily_design_is_fast_and_spends_exactly() -> None:
    d = seq.group_sequential_design(28)
    up, low = seq.boundary_crossing(
        d.information_fractions, d.boundaries, -np.asarray(d.boundaries)
    )
    np.testing.assert_allclose(np.cumsum(up + low), d.alpha_spent, atol=2e-7)
    assert all(np.diff(d.boundaries) < 0)


def test_evaluate_looks_vectorised_matches_one_by_one() -> None:
    d = seq.group_sequential_design(4)
    rng = np.random.default_rng(7)
    z = rng.normal(0, 2, size=(50, 3))
    many = seq.evaluate_looks(d, z)
    for i in range(z.shape[0]):
        one = d.evaluate(z[i])
        assert one.crossed == bool(many.crossed[i])
        assert one.look == int(many.look[i])
        assert one.direction == str(many.direction[i])
    assert seq.evaluate_looks(d, [0.5, -3.0]).direction == "lower"
    assert seq.evaluate_looks(d, [0.5, 1.0]).look == 0
    assert not seq.evaluate_looks(d, []).crossed


def test_one_sided_evaluation_ignores_the_other_side() -> None:
    d = seq.group_sequential_design(2, alternative="greater")
    assert not d.evaluate([-10.0, -10.0]).crossed
    d = seq.group_sequential_design(2, alternative="less")
    assert d.evaluate([-10.0]).direction == "lower"


# --- costs ------------------------------------------------------------------------------


def test_method_costs_order_and_consistency() -> None:
    costs = {c.method: c for c in seq.method_costs(100_000, looks=4, av_looks=28)}
    assert costs["fixed"].n_total == 100_000
    assert 1.0 < costs["group_sequential"].inflation < costs["always_valid"].inflation
    gs = seq.group_sequential_design(4).inflation(0.8)
    assert costs["group_sequential"].n_total == math.ceil(100_000 * gs)
    assert costs["always_valid"].extra_share == pytest.approx(costs["always_valid"].inflation - 1)


def test_always_valid_inflation_solves_for_power() -> None:
    # The drift found reaches the planned power at the same looks (a round trip).
    factor = seq.always_valid_inflation(0.8, looks=10)
    drift = math.sqrt(factor) * (norm.isf(0.025) + norm.ppf(0.8))
    t = np.arange(1, 11) / 10
    z = seq.cs_boundary_z(t, tuning_n=1.0)
    up, _ = seq.boundary_crossing(t, z, -z, drift)
    assert up.sum() == pytest.approx(0.8, abs=1e-8)
    # More looks: more chances to cross early, so a lower cost; one final look costs most.
    assert (
        seq.always_valid_inflation(0.8, looks=28)
        < factor
        < seq.always_valid_inflation(0.8, looks=1)
    )


@pytest.mark.parametrize(
    "comparison",
    [
        stats.compare_proportions(4_000, 400, 4_100, 470),
        stats.compare_means(900, -12.0, 30.0, 950, -10.0, 28.0),
    ],
)
def test_relative_se_is_the_stats_delta_method(comparison: stats.Comparison) -> None:
    low, high = stats.relative_interval(comparison, "delta")
    half = (high - low) / 2
    q = student_t.isf(0.025, comparison.df)
    se = seq.relative_se(
        comparison.abs_effect,
        comparison.se,
        comparison.rel_baseline,
        comparison.rel_baseline_se,
        comparison.rel_cov,
    )
    assert se == pytest.approx(half / q, rel=1e-12)


def test_planned_tuning_n() -> None:
    assert planned_tuning_n(ExperimentPlan(planned_n_per_arm=31_000)) == 62_000
    # ExperimentPlan() sizes to 57,763 per arm (abcore.planning's doctest).
    assert planned_tuning_n(ExperimentPlan()) == 2 * 57_763
    c = stats.compare_proportions(20_000, 2_000, 20_000, 2_150)
    by_plan = seq.sequential_comparison(
        c, tuning_n=planned_tuning_n(ExperimentPlan(planned_n_per_arm=31_000))
    )
    by_n = seq.sequential_comparison(c, tuning_n=62_000)
    assert by_plan.absolute.ci_low == by_n.absolute.ci_low


# --- degenerate data ----------------------------------------------------------------------


def test_degenerate_inputs_give_error_codes() -> None:
    cs = seq.confidence_sequence([0.1, 0.1, 0.1], [0.0, np.nan, 0.05], [100, 100, 0], tuning_n=100)
    assert cs.error.tolist() == [seq.INVALID_SE, seq.INVALID_SE, seq.NO_UNITS]
    assert np.isnan(cs.ci_low).all()
    assert np.isnan(cs.p_value).all()
    assert not cs.significant.any()
    empty = stats.compare_proportions(0, 0, 100, 10)
    s = seq.sequential_comparison(empty, tuning_n=1000)
    assert s.absolute.error == stats.EMPTY_ARM
    assert math.isnan(s.relative.ci_low)


def test_vectorised_equals_scalar() -> None:
    est = np.array([-0.02, 0.0, 0.01, 0.05])
    se = np.array([0.01, 0.02, 0.004, 0.01])
    n = np.array([1_000, 5_000, 20_000, 80_000])
    many = seq.confidence_sequence(est, se, n, tuning_n=20_000, alternative="greater")
    for i in range(est.size):
        one = seq.confidence_sequence(est[i], se[i], n[i], tuning_n=20_000, alternative="greater")
        assert one.ci_low == many.ci_low[i]
        assert one.p_value == many.p_value[i]


# --- properties ---------------------------------------------------------------------------

alphas = st.floats(0.001, 0.3)
sizes = st.floats(1.0, 1e7)
alternatives = st.sampled_from(["two-sided", "greater", "less"])


@settings(max_examples=200, deadline=None)
@given(n=sizes, tuning=sizes, alpha=alphas, alternative=alternatives)
def test_cs_is_wider_than_the_fixed_ci_at_every_n(
    n: float, tuning: float, alpha: float, alternative: str
) -> None:
    fixed = norm.isf(alpha / 2 if alternative == "two-sided" else alpha)
    assert seq.cs_boundary_z(n, tuning_n=tuning, alpha=alpha, alternative=alternative) > fixed


@settings(max_examples=200, deadline=None)
@given(n=sizes, grow=st.floats(1.01, 100.0), tuning=sizes, alpha=alphas, alternative=alternatives)
def test_cs_width_shrinks_with_n(
    n: float, grow: float, tuning: float, alpha: float, alternative: str
) -> None:
    # se = sd / sqrt(n): the half-width is z_boundary(n) / sqrt(n) in units of the sd.
    opts = {"tuning_n": tuning, "alpha": alpha, "alternative": alternative}
    small = seq.cs_boundary_z(n, **opts) / math.sqrt(n)
    large = seq.cs_boundary_z(n * grow, **opts) / math.sqrt(n * grow)
    assert large < small


@settings(max_examples=200, deadline=None)
@given(
    z=st.floats(-12, 12),
    n=sizes,
    tuning=sizes,
    alpha=alphas,
    alternative=alternatives,
)
def test_always_valid_p_is_at_least_the_fixed_p(
    z: float, n: float, tuning: float, alpha: float, alternative: str
) -> None:
    p = seq.always_valid_p_value(z, 1.0, n, tuning_n=tuning, alpha=alpha, alternative=alternative)
    if alternative == "two-sided":
        fixed = 2 * norm.sf(abs(z))
    else:
        fixed = norm.sf(z if alternative == "greater" else -z)
    assert p >= min(fixed, 1.0) * (1 - 1e-9)


@settings(max_examples=200, deadline=None)
@given(
    est=st.floats(-1, 1),
    se=st.floats(0.001, 1),
    n=st.floats(10, 1e6),
    tuning=st.floats(10, 1e6),
    alpha=alphas,
    alternative=alternatives,
)
def test_p_value_equals_alpha_at_the_sequence_bound(
    est: float, se: float, n: float, tuning: float, alpha: float, alternative: str
) -> None:
    opts = {"tuning_n": tuning, "alpha": alpha, "alternative": alternative}
    cs = seq.confidence_sequence(est, se, n, **opts)
    bound = cs.ci_high if alternative == "less" else cs.ci_low
    p = seq.always_valid_p_value(est, se, n, null=bound, **opts)
    assert p == pytest.approx(alpha, rel=1e-8)


@settings(max_examples=100, deadline=None)
@given(x=st.floats(1e-3, 1e4), a=st.floats(1e-4, 0.49))
def test_one_sided_bound_is_beyond_the_exact_half_normal_mixture(x: float, a: float) -> None:
    # Exact one-sided mixture (half-normal mixing over lambda >= 0):
    # M = 2 / sqrt(v) exp(y**2 / 2) Phi(y), y = z sqrt(x / v), v = x + 1 (Howard et al. 2021).
    # Ville: crossing M = 1 / a has probability <= a; the closed form must not be inside it.
    v = x + 1

    def excess(y: float) -> float:
        return math.log(2 / math.sqrt(v)) + y * y / 2 + norm.logcdf(y) + math.log(a)

    exact = optimize.brentq(excess, -1.0, 60.0)
    closed = math.sqrt(2 * math.log1p(math.sqrt(v) / (2 * a)))
    assert closed >= exact - 1e-9


looks = st.integers(1, 12)
kinds = st.sampled_from(["power", "obf", "pocock"])


@settings(max_examples=60, deadline=None)
@given(k=looks, kind=kinds, rho=st.floats(0.5, 4.0), alpha=st.floats(0.005, 0.2), two=st.booleans())
def test_spending_is_exact_and_sums_to_alpha(
    k: int, kind: str, rho: float, alpha: float, two: bool
) -> None:
    alternative = "two-sided" if two else "greater"
    d = seq.group_sequential_design(k, alpha=alpha, alternative=alternative, spending=kind, rho=rho)
    assert d.alpha_spent[-1] == pytest.approx(alpha, rel=1e-12)
    lower = -np.asarray(d.boundaries) if two else -np.inf
    up, low = seq.boundary_crossing(d.information_fractions, d.boundaries, lower)
    np.testing.assert_allclose(np.cumsum(up + low), d.alpha_spent, rtol=1e-5, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(k=st.integers(2, 12), rho=st.floats(2.0, 4.0), obf=st.booleans(), alpha=st.floats(0.01, 0.1))
def test_obf_like_boundaries_decrease_over_looks(
    k: int, rho: float, obf: bool, alpha: float
) -> None:
    d = seq.group_sequential_design(k, alpha=alpha, spending="obf" if obf else "power", rho=rho)
    assert all(np.diff(d.boundaries) < 0)
    assert d.boundaries[-1] > norm.isf(alpha / 2)


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: seq.confidence_sequence(0.1, 0.1, 10, tuning_n=0), "tuning_n must be > 0"),
        (lambda: seq.confidence_sequence(0.1, 0.1, -1, tuning_n=10), "n must be >= 0"),
        (
            lambda: seq.confidence_sequence(0.1, 0.1, 10, tuning_n=10, alpha=1.5),
            "alpha must be < 1",
        ),
        (
            lambda: seq.confidence_sequence(0.1, 0.1, 10, tuning_n=10, alternative="both"),
            "alternative must be one of",
        ),
        (
            lambda: seq.confidence_sequence(
                0.1, 0.1, 10, tuning_n=10, alternative="greater", alpha=0.6
            ),
            "alpha must be < 0.5 for a one-sided",
        ),
        (lambda: seq.confidence_sequence(0.1, 0.1, 10, tuning_n=10, null=np.nan), "null must be"),
        (lambda: seq.mixture_rho(0.0, 10), "alpha must be > 0"),
        (lambda: seq.cs_boundary_z(10, tuning_n=-5), "tuning_n must be > 0"),
        (
            lambda: seq.sequential_comparison(stats.compare_proportions(10, 1, 10, 2)),
            "tuning_n must be given",
        ),
        (lambda: seq.group_sequential_design(0), "looks must be >= 1"),
        (lambda: seq.group_sequential_design(2.5), "looks must be a whole number"),
        (lambda: seq.group_sequential_design(10_000), "looks must be <= 366"),
        (
            lambda: seq.always_valid_inflation(looks=np.linspace(0.001, 1, 400)),
            "looks must be <= 366",
        ),
        (lambda: seq.group_sequential_design([0.5, 0.4]), "strictly increasing"),
        (lambda: seq.group_sequential_design([0.5, 1.2]), "information fractions must be <= 1"),
        (lambda: seq.group_sequential_design([]), "at least one information fraction"),
        (lambda: seq.group_sequential_design(3, spending="linear"), "spending must be one of"),
        (lambda: seq.group_sequential_design(3, rho=0), "rho must be > 0"),
        (lambda: seq.group_sequential_design(3, alpha=0), "alpha must be > 0"),
        (lambda: seq.group_sequential_design(3).inflation(1.0), "power must be < 1"),
        (lambda: seq.evaluate_looks(seq.group_sequential_design(2), [1, 2, 3]), "z has 3 looks"),
        (lambda: seq.alpha_spending(-0.1), "information fraction must be >= 0"),
        (lambda: seq.always_valid_inflation(0.8, tuning_fraction=0), "tuning_fraction must be > 0"),
        (lambda: seq.always_valid_inflation(0.0), "power must be > 0"),
        (lambda: seq.method_costs(0), "n_total must be > 0"),
        (lambda: seq.boundary_crossing([0.5, 1], 2, -2, np.nan), "drift must be a number"),
        (
            lambda: planned_tuning_n(ExperimentPlan(planned_n_per_arm=-3)),
            "planned_n_per_arm must be > 0",
        ),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
