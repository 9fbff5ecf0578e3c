"""abcore.learning: references (metafor, statsmodels, scipy), the Bayesian view's plumbing,
plan versus actual on a real readout, and every validation sentence."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.proportion import proportion_confint

from abcore import bayes, learning
from abcore.analysis import analyze
from abcore.learning import PastResult
from abcore.plan import ExperimentPlan, MetricSpec
from abcore.planning import size_plan


def _bcg() -> tuple[np.ndarray, np.ndarray]:
    """metafor's dat.bcg as escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg)."""
    tpos = np.array([4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27.0])
    tneg = np.array(
        [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886.0]
    )
    cpos = np.array([11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29.0])
    cneg = np.array(
        [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825.0]
    )
    yi = np.log((tpos / (tpos + tneg)) / (cpos / (cpos + cneg)))
    vi = 1 / tpos - 1 / (tpos + tneg) + 1 / cpos - 1 / (cpos + cneg)
    return yi, np.sqrt(vi)


def _results(y: np.ndarray, se: np.ndarray, won: np.ndarray | None = None) -> list[PastResult]:
    won = np.zeros(len(y), bool) if won is None else won
    return [
        PastResult(float(a), float(b), bool(w), f"e{i}")
        for i, (a, b, w) in enumerate(zip(y, se, won, strict=True))
    ]


def _scipy_fit(y: np.ndarray, se: np.ndarray, reml: bool = False) -> tuple[float, float, float]:
    """Reference: the (restricted) likelihood maximised over (mu, tau >= 0) by L-BFGS-B."""

    def nll(p: np.ndarray) -> float:
        v = p[1] ** 2 + se**2
        out = 0.5 * np.sum(np.log(2 * np.pi * v) + (y - p[0]) ** 2 / v)
        return out + (0.5 * np.log(np.sum(1 / v)) if reml else 0.0)

    fits = [
        minimize(
            nll,
            [y.mean(), t],
            method="L-BFGS-B",
            bounds=[(None, None), (0, None)],
            options={"ftol": 1e-15, "gtol": 1e-12},
        )
        for t in (0.0, 0.5 * y.std(), 2 * y.std())
    ]
    best = min(fits, key=lambda r: r.fun)
    return float(best.x[0]), float(best.x[1]), -float(best.fun)


# --- the prior: references -----------------------------------------------------------------


def test_ml_reml_dl_match_metafor_on_bcg() -> None:
    # metafor 4.x (Viechtbauer), dat.bcg, escalc(measure="RR", ...):
    # rma(yi, vi, data=dat, method="ML")   -> tau^2 = 0.2800, estimate = -0.7112, logLik -12.6651
    # rma(yi, vi, data=dat, method="REML") -> tau^2 = 0.3132, estimate = -0.7145
    # rma(yi, vi, data=dat, method="DL")   -> tau^2 = 0.3088, estimate = -0.7141
    y, se = _bcg()
    ml = learning.fit_prior(_results(y, se), relative=False)
    assert ml.tau**2 == pytest.approx(0.2800, abs=5e-5)
    assert ml.mu == pytest.approx(-0.7112, abs=5e-5)
    assert ml.log_likelihood == pytest.approx(-12.6651, abs=5e-5)
    reml = learning.fit_prior(_results(y, se), relative=False, method="reml")
    assert reml.tau**2 == pytest.approx(0.3132, abs=5e-5)
    assert reml.mu == pytest.approx(-0.7145, abs=5e-5)
    assert ml.tau_dl**2 == pytest.approx(0.3088, abs=5e-5)
    assert ml.mu_dl == pytest.approx(-0.7141, abs=5e-5)


@pytest.mark.parametrize("seed", range(6))
def test_dersimonian_laird_matches_statsmodels(seed: int) -> None:
    # statsmodels 0.15.0: combine_effects(y, se**2, method_re="dl") -> tau2, mean_effect_re
    rng = np.random.default_rng(seed)
    k = int(rng.integers(5, 40))
    se = rng.uniform(0.005, 0.04, k)
    y = rng.normal(0.01, [0.0, 0.01, 0.03][seed % 3], k) + rng.normal(0, se)
    ref = combine_effects(y, se**2, method_re="dl")
    mu, tau = learning.dersimonian_laird(y, se)
    assert tau[0] ** 2 == pytest.approx(ref.tau2, rel=1e-10, abs=1e-14)
    assert mu[0] == pytest.approx(ref.mean_effect_re, rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("reml", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_ml_fit_matches_scipy_optimize(seed: int, reml: bool) -> None:
    # scipy 1.17: minimize(nll, method="L-BFGS-B", bounds tau >= 0) from three starts
    rng = np.random.default_rng(100 + seed)
    k = int(rng.integers(5, 60))
    se = rng.uniform(0.005, 0.04, k)
    y = rng.normal(0.005, [0.0, 0.004, 0.015, 0.04][seed % 4], k) + rng.normal(0, se)
    mu_ref, tau_ref, ll_ref = _scipy_fit(y, se, reml)
    mu, tau, ll = learning.ml_fit(y, se, reml=reml)
    assert ll[0] >= ll_ref - 1e-9  # never a worse optimum than the reference
    assert tau[0] == pytest.approx(tau_ref, abs=2e-6)
    assert mu[0] == pytest.approx(mu_ref, abs=2e-7)


def test_ml_fit_rows_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    se = rng.uniform(0.01, 0.03, (5, 12))
    y = rng.normal(0, 0.02, (5, 12)) + rng.normal(0, se)
    mu, tau, _ = learning.ml_fit(y, se)
    for i in range(5):
        m1, t1, _ = learning.ml_fit(y[i], se[i])
        assert (mu[i], tau[i]) == pytest.approx((m1[0], t1[0]), abs=1e-12)


def test_tau_is_zero_when_the_spread_is_all_noise() -> None:
    y = np.array([0.01, 0.011, 0.009, 0.0105, 0.0095, 0.01])
    prior = learning.fit_prior(_results(y, np.full(6, 0.02)))
    assert prior.tau == 0.0
    assert prior.mu == pytest.approx(y.mean())
    assert prior.mu_se == pytest.approx(0.02 / math.sqrt(6))


def test_mu_se_is_the_inverse_information_at_the_fitted_tau() -> None:
    # numerical second derivative of the negative log-likelihood in mu at fixed tau
    y, se = _bcg()
    prior = learning.fit_prior(_results(y, se), relative=False)
    v = prior.tau**2 + se**2
    h = 1e-4

    def nll(m: float) -> float:
        return 0.5 * float(np.sum((y - m) ** 2 / v))

    curvature = (nll(prior.mu + h) - 2 * nll(prior.mu) + nll(prior.mu - h)) / h**2
    assert prior.mu_se == pytest.approx(1 / math.sqrt(curvature), rel=1e-6)


# --- summary and win rate ------------------------------------------------------------------


@pytest.mark.parametrize(("wins", "n"), [(0, 7), (3, 10), (10, 10), (17, 40)])
def test_wilson_matches_statsmodels(wins: int, n: int) -> None:
    # statsmodels 0.15.0: proportion_confint(wins, n, alpha=0.05, method="wilson")
    ref = proportion_confint(wins, n, alpha=0.05, method="wilson")
    assert learning.wilson_interval(wins, n, 0.05) == pytest.approx(ref, abs=1e-12)


def test_summary_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(0.01, 0.03, 25)
    won = y > 0.02
    s = learning.summarize_effects(_results(y, np.full(25, 0.01), won), alpha=0.1)
    assert (s.n, s.n_won) == (25, int(won.sum()))
    assert s.mean == pytest.approx(y.mean())
    assert s.sd == pytest.approx(y.std(ddof=1))
    for p in learning.QUANTILES:
        assert s.quantile(p) == pytest.approx(np.quantile(y, p))
    low, high = proportion_confint(int(won.sum()), 25, alpha=0.1, method="wilson")
    assert (s.win_rate_ci_low, s.win_rate_ci_high) == pytest.approx((low, high))


# --- the Bayesian view's prior ---------------------------------------------------------------


def test_bayes_prior_feeds_the_bayesian_view() -> None:
    y, se = _bcg()
    prior = learning.fit_prior(_results(y / 10, se / 10))
    args = learning.bayes_prior(prior)
    assert set(args) == {"prior_mean", "prior_sd"}
    assert args["prior_sd"] == pytest.approx(math.sqrt(prior.tau**2 + prior.mu_se**2))
    r = bayes.posterior(0.05, 0.02, **args)
    precision = 1 / 0.02**2 + 1 / args["prior_sd"] ** 2
    assert r.estimate == pytest.approx(
        (0.05 / 0.02**2 + args["prior_mean"] / args["prior_sd"] ** 2) / precision
    )


def test_bayes_prior_runs_through_a_readout() -> None:
    df = pd.DataFrame({"v": ["a", "b"] * 2000, "y": [0, 1, 0, 0] * 500 + [1, 1, 0, 0] * 500})
    a = analyze(df, variant="v", control="a")
    prior = learning.fit_prior(_results(np.array([0.02, -0.01, 0.0, 0.03, 0.01]), np.full(5, 0.01)))
    table = a.bayes(**learning.bayes_prior(prior))
    assert table["prior_sd"].iloc[0] == pytest.approx(prior.predictive_sd)
    flat = a.bayes()
    # the informative prior pulls the lift towards the team's typical effect
    assert abs(table["estimate"].iloc[0] - prior.mu) < abs(flat["estimate"].iloc[0] - prior.mu)


def test_too_few_experiments_gives_a_sentence_and_the_flat_prior() -> None:
    prior = learning.fit_prior(_results(np.array([0.01, 0.02, 0.0, 0.01]), np.full(4, 0.01)))
    assert prior.error == "too_few"
    assert not prior.usable
    assert prior.message == (
        "Too few decided experiments to learn a prior from: at least 5 are needed, 4 "
        "recorded. The Bayesian view keeps its default prior until then."
    )
    assert learning.bayes_prior(prior) == {"prior_mean": 0.0, "prior_sd": None}
    s = learning.shrink(_results(np.array([0.01, 0.02, 0.0, 0.01]), np.full(4, 0.01)))
    assert s.error == "too_few"
    assert math.isnan(s.estimates[0].shrunk)


def test_tau_zero_still_gives_a_proper_prior() -> None:
    y = np.array([0.01, 0.011, 0.009, 0.0105, 0.0095, 0.01])
    args = learning.bayes_prior(learning.fit_prior(_results(y, np.full(6, 0.02))))
    assert args["prior_sd"] == pytest.approx(0.02 / math.sqrt(6))


# --- shrinkage --------------------------------------------------------------------------------


def test_plain_shrinkage_is_the_bayes_posterior_under_the_fitted_prior() -> None:
    # independent path: abcore.bayes.posterior with prior N(mu, tau^2)
    y, se = _bcg()
    results = _results(y, se)
    s = learning.shrink(results, learning.fit_prior(results, relative=False), adjust="none")
    for e in s.estimates:
        r = bayes.posterior(e.estimate, e.se, prior_mean=s.prior.mu, prior_sd=s.prior.tau)
        assert (e.shrunk, e.shrunk_ci_low, e.shrunk_ci_high) == pytest.approx(
            (r.estimate, r.ci_low, r.ci_high)
        )


def test_morris_shrinkage_formula() -> None:
    # Morris (1983) JASA 78:47-55, eq. for the adjusted shrinkage and variance
    y, se = _bcg()
    results = _results(y, se)
    prior = learning.fit_prior(results, relative=False)
    s = learning.shrink(results, prior)
    k = len(y)
    b = (k - 3) / (k - 1) * se**2 / (se**2 + prior.tau**2)
    mean = y - b * (y - prior.mu)
    var = se**2 * (1 - b) + b**2 * prior.mu_se**2 + 2 / (k - 3) * b**2 * (y - prior.mu) ** 2
    np.testing.assert_allclose([e.shrunk for e in s.estimates], mean, rtol=1e-12)
    np.testing.assert_allclose([e.shrunk_sd for e in s.estimates], np.sqrt(var), rtol=1e-12)
    np.testing.assert_allclose([e.shrinkage for e in s.estimates], b, rtol=1e-12)


def test_shrunk_lies_between_raw_and_prior_mean_and_wins_come_down() -> None:
    rng = np.random.default_rng(11)
    se = rng.uniform(0.01, 0.03, 30)
    y = rng.normal(0.005, 0.015, 30) + rng.normal(0, se)
    won = y / se > 1.96
    s = learning.shrink(_results(y, se, won))
    for e in s.estimates:
        low, high = sorted((e.estimate, s.prior.mu))
        assert low - 1e-15 <= e.shrunk <= high + 1e-15
        assert e.shrunk_ci_high - e.shrunk_ci_low < e.ci_high - e.ci_low
    wins = [e for e in s.estimates if e.won]
    assert wins
    assert all(e.shrunk < e.estimate for e in wins)
    assert "winner's curse" in s.note
    assert s.rows()[0]["name"] == "e0"
    assert set(s.rows()[0]) >= {"estimate", "shrunk"}


# --- plan versus actual -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def readout() -> tuple[pd.DataFrame, object]:
    rng = np.random.default_rng(5)
    n = 6000
    df = pd.DataFrame(
        {
            "v": rng.choice(["control", "treatment"], n),
            "revenue": rng.gamma(2.0, 5.0, n),
            "ts": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 12, n), unit="D"),
        }
    )
    return df, analyze(df, variant="v", control="control", metrics=["revenue"], timestamp="ts")


def test_observed_numbers_of_a_readout(readout: tuple[pd.DataFrame, object]) -> None:
    df, a = readout
    o = learning.observed_numbers(a)
    control = df.loc[df["v"] == "control", "revenue"]
    assert o.metric == "revenue"
    assert o.baseline == pytest.approx(control.mean())
    assert o.sd == pytest.approx(control.std(ddof=1))
    assert (o.units, o.control_units, o.days) == (len(df), len(control), 12)
    assert o.daily_units == pytest.approx(len(df) / 12)


def test_plan_vs_actual_and_team_numbers(readout: tuple[pd.DataFrame, object]) -> None:
    df, a = readout
    metric = MetricSpec("revenue", type="continuous", baseline=12.0, sd=8.0, mde=0.05)
    plan = ExperimentPlan(metrics=(metric,), daily_units=1000, exposure=0.5, planned_days=10)
    o = learning.observed_numbers(a)
    table = learning.plan_vs_actual(plan, o)
    assert [r.quantity for r in table.rows] == list(learning.QUANTITIES)
    assert table.ratio("baseline") == pytest.approx(o.baseline / 12.0)
    assert table.ratio("sd") == pytest.approx(o.sd / 8.0)
    assert table.ratio("daily_units") == pytest.approx(len(df) / 12 / 500)
    assert table.ratio("days") == pytest.approx(1.2)
    # no planned size recorded: the plan's own sizing
    assert table.rows[-1].planned == size_plan(plan).method_n_control
    team = learning.team_numbers([table, table, learning.plan_vs_actual(plan, o)])
    traffic = next(t for t in team if t.quantity == "daily_units")
    assert traffic.n == 3
    assert traffic.median_ratio == pytest.approx(len(df) / 12 / 500)
    assert traffic.sentence.startswith("Across 3 experiments the daily traffic came in at 1.00x")


def test_team_numbers_median_and_missing() -> None:
    plan = ExperimentPlan(daily_units=1000, planned_days=14, planned_n_per_arm=7000)
    units = [5000, 9000, 14000, 7000, 30000]
    seen = [learning.ObservedNumbers("converted", 0.1, None, u, u // 2, 14) for u in units]
    team = {
        t.quantity: t
        for t in learning.team_numbers([learning.plan_vs_actual(plan, s) for s in seen])
    }
    ratios = np.array(units) / 14 / 1000
    assert team["daily_units"].median_ratio == pytest.approx(np.median(ratios))
    assert (team["daily_units"].low, team["daily_units"].high) == pytest.approx(
        tuple(np.quantile(ratios, [0.25, 0.75]))
    )
    assert team["sd"].n == 0
    assert team["sd"].median_ratio is None
    assert (
        team["sd"].sentence
        == "No experiment records its standard deviation both planned and observed."
    )


# --- validation ---------------------------------------------------------------------------


def test_validation_sentences(readout: tuple[pd.DataFrame, object]) -> None:
    good = _results(np.array([0.01, 0.02, 0.0, 0.01, 0.03]), np.full(5, 0.01))
    with pytest.raises(ValueError, match="se must be > 0"):
        PastResult(0.01, 0.0)
    with pytest.raises(ValueError, match="estimate must be a finite number"):
        PastResult(float("nan"), 0.01)
    with pytest.raises(ValueError, match="se must be a finite number"):
        PastResult(0.01, float("inf"))
    with pytest.raises(ValueError, match="results must be a sequence of PastResult"):
        learning.fit_prior([(0.01, 0.01)] * 5)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="results must hold at least one experiment"):
        learning.summarize_effects([])
    with pytest.raises(ValueError, match="min_experiments must be >= 4"):
        learning.fit_prior(good, min_experiments=2)
    with pytest.raises(ValueError, match="method must be one of 'ml', 'reml'"):
        learning.fit_prior(good, method="dl")
    with pytest.raises(ValueError, match="adjust must be one of 'morris', 'none'"):
        learning.shrink(good, adjust="bootstrap")
    with pytest.raises(ValueError, match="alpha must be < 1"):
        learning.shrink(good, alpha=1.5)
    with pytest.raises(ValueError, match="prior must be fitted on relative effects"):
        learning.bayes_prior(learning.fit_prior(good, relative=False))
    with pytest.raises(ValueError, match="adjust='morris' needs at least 4 experiments"):
        learning.shrink_arrays([0.0, 0.1, 0.2], [0.1] * 3, 0.1, 0.05, 0.05)
    with pytest.raises(ValueError, match="successes must be <= 3"):
        learning.wilson_interval(4, 3)
    with pytest.raises(ValueError, match="p must be one of"):
        learning.summarize_effects(good).quantile(0.3)
    with pytest.raises(ValueError, match="quantity must be one of"):
        learning.plan_vs_actual(ExperimentPlan(), learning.observed_numbers(readout[1])).ratio(
            "power"
        )
    with pytest.raises(ValueError, match="metric must be one of \\['revenue'\\], got 'clicks'"):
        learning.observed_numbers(readout[1], "clicks")


def test_learn_metric_is_its_parts() -> None:
    y, se = _bcg()
    results = _results(y / 10, se / 10, y < -1)
    m = learning.learn_metric("converted", results, alpha=0.1, method="reml")
    assert m.summary == learning.summarize_effects(results, alpha=0.1)
    assert m.prior == learning.fit_prior(results, method="reml")
    assert m.shrinkage == learning.shrink(results, m.prior, alpha=0.1)
    assert m.bayes_prior == learning.bayes_prior(m.prior)


def test_observed_numbers_of_binary_and_ratio_metrics() -> None:
    from abcore.model import MetricMapping

    rng = np.random.default_rng(9)
    n = 4000
    df = pd.DataFrame(
        {
            "v": rng.choice(["a", "b"], n),
            "converted": rng.integers(0, 2, n),
            "clicks": rng.poisson(3, n),
            "sessions": rng.poisson(5, n) + 1,
        }
    )
    metrics = [
        MetricMapping("converted", "binary"),
        MetricMapping("ctr", "ratio", numerator="clicks", denominator="sessions"),
    ]
    a = analyze(df, variant="v", control="a", metrics=metrics)
    control = df[df["v"] == "a"]
    binary = learning.observed_numbers(a, "converted")
    assert binary.baseline == pytest.approx(control["converted"].mean())
    assert binary.sd is None
    ratio = learning.observed_numbers(a, "ctr")
    assert ratio.baseline == pytest.approx(control["clicks"].sum() / control["sessions"].sum())
    assert ratio.sd is None
    assert ratio.days is None
    assert ratio.daily_units is None


def test_shrinking_the_wins_under_the_prior_of_all_equals_shrinking_all() -> None:
    rng = np.random.default_rng(12)
    se = rng.uniform(0.01, 0.03, 40)
    y = rng.normal(0.005, 0.015, 40) + rng.normal(0, se)
    results = _results(y, se, y / se > 1.96)
    prior = learning.fit_prior(results)
    every = {e.name: e for e in learning.shrink(results, prior).estimates}
    wins = [r for r in results if r.won]
    assert len(wins) >= 2
    for e in learning.shrink(wins, prior).estimates:
        assert e == every[e.name]
    one = learning.shrink(wins[:1], prior).estimates[0]  # one new experiment, k from the prior
    assert one == every[wins[0].name]
