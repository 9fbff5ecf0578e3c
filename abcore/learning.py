"""Learning across experiments: what a team's past results say about its next one.

Pure statistics over plain inputs (no database, no I/O): for one metric, a sequence of past
experiments' results, each an observed effect (relative lift, or absolute difference) with
its standard error and whether it was shipped (won). The registry gathers them; this module
turns them into

* :func:`summarize_effects`: the distribution of observed effects and the win rate with a
  Wilson interval;
* :func:`fit_prior`: an empirical-Bayes prior ``N(mu, tau**2)`` on the true effects, fitted
  by maximum likelihood with each effect's standard error (``estimate_i ~ N(mu, tau**2 +
  se_i**2)``), beside the DerSimonian-Laird moment estimate; :func:`bayes_prior` turns it
  into the ``prior_mean`` / ``prior_sd`` arguments of the Bayesian view;
* :func:`shrink`: each experiment's shrunken estimate and interval under that prior, next
  to the raw one (the winner's curse: the experiments that won were selected for large
  observed effects, so their raw estimates overstate the truth on average);
* :func:`plan_vs_actual` and :func:`team_numbers`: the plan's assumptions (baseline, SD,
  traffic, duration) against what the readouts observed, so the next plan starts from the
  team's real numbers.

>>> past = [PastResult(e, 0.01) for e in (0.02, -0.01, 0.0, 0.03, 0.01, -0.02, 0.015)]
>>> prior = fit_prior(past)
>>> prior.n, round(prior.mu, 4), round(prior.tau, 4)
(7, 0.0064, 0.0127)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import norm

from abcore import config
from abcore._checks import check_scalar
from abcore.planning import size_plan

if TYPE_CHECKING:
    from abcore.plan import ExperimentPlan

__all__ = [
    "ERRORS",
    "MIN_EXPERIMENTS",
    "EffectPrior",
    "EffectSummary",
    "MetricLearning",
    "ObservedNumbers",
    "PastResult",
    "PlanActualRow",
    "PlanVsActual",
    "Shrinkage",
    "ShrunkEstimate",
    "TeamNumber",
    "bayes_prior",
    "dersimonian_laird",
    "fit_prior",
    "learn_metric",
    "ml_fit",
    "observed_numbers",
    "plan_vs_actual",
    "relative_se",
    "shrink",
    "shrink_arrays",
    "summarize_effects",
    "team_numbers",
    "wilson_interval",
]

MIN_EXPERIMENTS = 5
"""Fewest experiments a prior is fitted on: below it the spread ``tau`` is mostly noise."""

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
"""Quantiles of the observed effects a summary reports."""

ADJUSTMENTS = ("morris", "none")
METHODS = ("ml", "reml")

TOO_FEW = "too_few"
ERRORS: dict[str, str] = {
    TOO_FEW: (
        "Too few decided experiments to learn a prior from: at least {min} are needed, "
        "{n} recorded. The Bayesian view keeps its default prior until then."
    ),
}
"""Error codes a prior or a shrinkage may carry, with a sentence a page can show
(``str.format`` it with ``min`` and ``n``, or use :attr:`EffectPrior.message`)."""

SELECTION_NOTE = (
    "Wins were selected for large observed effects, so their raw estimates overstate the true "
    "effect on average (the winner's curse). The shrunken estimate pulls each one towards "
    "the team's typical effect by as much as its noise warrants; it corrects the curse only "
    "if the prior was fitted on every decided experiment, losses and flat results included, "
    "not on the wins alone."
)


@dataclass(frozen=True)
class PastResult:
    """One past experiment's result on one metric.

    ``estimate`` is the observed effect (relative lift, signed as observed, not flipped for
    a metric whose good direction is "decrease"), ``se`` its standard error on the same
    scale, ``won`` whether it was shipped, ``name`` what a table calls it.
    """

    estimate: float
    se: float
    won: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        if not math.isfinite(float(self.estimate)):
            raise ValueError(f"estimate must be a finite number, got {self.estimate!r}.")
        check_scalar(self.se, "se", gt=0)
        if not math.isfinite(float(self.se)):
            raise ValueError(f"se must be a finite number, got {self.se!r}.")


def relative_se(ci_low: Any, ci_high: Any, *, alpha: float = config.ALPHA) -> float | None:
    """The standard error of a relative lift read back from its two-sided ``1 - alpha``
    interval, ``(high - low) / (2 z)``: how a saved readout's effect enters a
    :class:`PastResult`. Exact for a symmetric (delta-method) interval, the average half-width
    of an asymmetric one (Fieller's); None for an open or degenerate interval (a one-sided
    test's, a failed row's).

    >>> round(relative_se(-0.0196, 0.0196, alpha=0.05), 4)
    0.01
    """
    try:
        low, high = float(ci_low), float(ci_high)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return None
    return (high - low) / (2 * float(norm.ppf(1 - alpha / 2)))


def _arrays(results: Sequence[PastResult]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not all(isinstance(r, PastResult) for r in results):
        raise ValueError("results must be a sequence of PastResult.")
    y = np.array([float(r.estimate) for r in results], dtype=float)
    se = np.array([float(r.se) for r in results], dtype=float)
    won = np.array([bool(r.won) for r in results], dtype=bool)
    return y, se, won


# --- the distribution and the win rate ---------------------------------------------------


def wilson_interval(successes: int, n: int, alpha: float = config.ALPHA) -> tuple[float, float]:
    """Wilson score interval for a proportion: sensible at 0 and n wins, unlike Wald's.

    >>> tuple(round(x, 4) for x in wilson_interval(3, 10))
    (0.1078, 0.6032)
    """
    check_scalar(alpha, "alpha", gt=0, lt=1)
    check_scalar(n, "n", gt=0)
    check_scalar(successes, "successes", ge=0, le=n)
    z = float(norm.ppf(1 - alpha / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class EffectSummary:
    """The distribution of observed effects on one metric and its win rate.

    ``quantiles`` pairs each probability of :data:`QUANTILES` with the observed effect at
    it; ``win_rate_ci_low``..``win_rate_ci_high`` is the Wilson interval at ``1 - alpha``.
    Observed effects are spread wider than the true ones by their noise: the prior
    (:func:`fit_prior`) separates the two.
    """

    n: int
    mean: float
    sd: float
    quantiles: tuple[tuple[float, float], ...]
    n_won: int
    win_rate: float
    win_rate_ci_low: float
    win_rate_ci_high: float
    alpha: float

    def quantile(self, p: float) -> float:
        """The observed effect at probability ``p`` (one of :data:`QUANTILES`)."""
        for q, value in self.quantiles:
            if math.isclose(q, p):
                return value
        raise ValueError(f"p must be one of {[q for q, _ in self.quantiles]}, got {p!r}.")


def summarize_effects(
    results: Sequence[PastResult], *, alpha: float = config.ALPHA
) -> EffectSummary:
    """Count, mean, SD and quantiles of the observed effects, and the share that won.

    >>> s = summarize_effects([PastResult(e, 0.01, won=e > 0) for e in (0.02, -0.01, 0.03)])
    >>> s.n, s.n_won, round(s.win_rate, 3), round(s.quantile(0.5), 3)
    (3, 2, 0.667, 0.02)
    """
    check_scalar(alpha, "alpha", gt=0, lt=1)
    if len(results) == 0:
        raise ValueError("results must hold at least one experiment, got none.")
    y, _, won = _arrays(results)
    n, n_won = len(y), int(won.sum())
    low, high = wilson_interval(n_won, n, alpha)
    values = np.quantile(y, QUANTILES)
    return EffectSummary(
        n=n,
        mean=float(y.mean()),
        sd=float(y.std(ddof=1)) if n > 1 else math.nan,
        quantiles=tuple((q, float(v)) for q, v in zip(QUANTILES, values, strict=True)),
        n_won=n_won,
        win_rate=n_won / n,
        win_rate_ci_low=low,
        win_rate_ci_high=high,
        alpha=float(alpha),
    )


# --- the empirical-Bayes prior -----------------------------------------------------------


def _profile(
    y: np.ndarray, se2: np.ndarray, tau: np.ndarray, reml: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Profile log-likelihood of ``tau`` (``mu`` at its weighted mean) per row, and that mean.

    ``y``, ``se2``: (rows, k); ``tau``: (rows,) or (rows, g) for a grid per row.
    """
    if tau.ndim == 1:
        tau = tau[:, None]
    v = tau[:, :, None] ** 2 + se2[:, None, :]
    w = 1 / v
    mu = (w * y[:, None, :]).sum(-1) / w.sum(-1)
    resid = y[:, None, :] - mu[:, :, None]
    ll = -0.5 * (np.log(2 * np.pi * v) + resid**2 * w).sum(-1)
    if reml:
        ll = ll - 0.5 * np.log(w.sum(-1))
    return ll, mu


def ml_fit(y: Any, se: Any, *, reml: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum-likelihood ``(mu, tau, log_likelihood)`` of ``y_i ~ N(mu, tau**2 + se_i**2)``.

    ``reml=True``: restricted maximum likelihood (the likelihood of the contrasts, free of
    ``mu``), whose ``tau`` is not biased low by estimating ``mu``.
    Vectorised over rows: ``y`` and ``se`` of shape (k,) or (rows, k), one fit per row. The
    profile likelihood of ``tau >= 0`` (``mu`` at its weighted mean) is searched on a grid
    then refined by golden section, so every row takes the same fixed number of steps and
    a fit at the boundary ``tau = 0`` (all the spread is noise) is found exactly.

    >>> mu, tau, _ = ml_fit([0.02, -0.01, 0.0, 0.03, 0.01], [0.01] * 5)
    >>> round(float(mu[0]), 4), round(float(tau[0]), 4)
    (0.01, 0.01)
    """
    y2 = np.atleast_2d(np.asarray(y, dtype=float))
    se2 = np.atleast_2d(np.asarray(se, dtype=float)) ** 2
    rows = y2.shape[0]
    spread = np.abs(y2 - y2.mean(-1, keepdims=True)).max(-1)
    upper = 2 * spread + np.sqrt(se2.max(-1)) + 1e-300
    grid = upper[:, None] * np.linspace(0, 1, 65) ** 2
    ll, _ = _profile(y2, se2, grid, reml)
    best = ll.argmax(-1)
    lo = grid[np.arange(rows), np.maximum(best - 1, 0)]
    hi = grid[np.arange(rows), np.minimum(best + 1, grid.shape[1] - 1)]
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = _profile(y2, se2, a, reml)[0][:, 0], _profile(y2, se2, b, reml)[0][:, 0]
    for _ in range(60):
        left = fa > fb
        hi = np.where(left, b, hi)
        lo = np.where(left, lo, a)
        new = np.where(left, hi - ratio * (hi - lo), lo + ratio * (hi - lo))
        f_new = _profile(y2, se2, new, reml)[0][:, 0]
        a, b, fa, fb = (
            np.where(left, new, b),
            np.where(left, a, new),
            np.where(left, f_new, fb),
            np.where(left, fa, f_new),
        )
    tau = (lo + hi) / 2
    zero = np.zeros(rows)
    ll_tau, mu_tau = _profile(y2, se2, tau, reml)
    ll_0, mu_0 = _profile(y2, se2, zero, reml)
    at_zero = ll_0[:, 0] >= ll_tau[:, 0]
    return (
        np.where(at_zero, mu_0[:, 0], mu_tau[:, 0]),
        np.where(at_zero, 0.0, tau),
        np.where(at_zero, ll_0[:, 0], ll_tau[:, 0]),
    )


def dersimonian_laird(y: Any, se: Any) -> tuple[np.ndarray, np.ndarray]:
    """DerSimonian-Laird moment estimate ``(mu, tau)``, vectorised over rows as
    :func:`ml_fit`: the classic meta-analysis estimate, shown beside the ML fit.

    >>> mu, tau = dersimonian_laird([0.02, -0.01, 0.0, 0.03, 0.01], [0.01] * 5)
    >>> round(float(mu[0]), 4), round(float(tau[0]), 4)
    (0.01, 0.0122)
    """
    y2 = np.atleast_2d(np.asarray(y, dtype=float))
    se2 = np.atleast_2d(np.asarray(se, dtype=float)) ** 2
    k = y2.shape[1]
    w = 1 / se2
    fixed = (w * y2).sum(-1, keepdims=True) / w.sum(-1, keepdims=True)
    q = (w * (y2 - fixed) ** 2).sum(-1)
    c = w.sum(-1) - (w**2).sum(-1) / w.sum(-1)
    tau2 = np.maximum(0.0, (q - (k - 1)) / c)
    w_re = 1 / (se2 + tau2[:, None])
    return (w_re * y2).sum(-1) / w_re.sum(-1), np.sqrt(tau2)


@dataclass(frozen=True)
class EffectPrior:
    """An empirical-Bayes prior ``N(mu, tau**2)`` on one metric's true effects.

    ``mu`` is the team's typical true effect, ``tau`` how much true effects differ between
    experiments (the observed spread minus their noise), both by maximum likelihood;
    ``mu_se`` the standard error of ``mu`` at that ``tau``; ``method``: "ml" or "reml".
    ``mu_dl``, ``tau_dl``: the DerSimonian-Laird estimate, for comparison.
    ``n`` experiments are behind it; ``relative``: effects are relative lifts (else
    absolute differences). ``error`` is a code of :data:`ERRORS` when there are too few
    experiments (then ``mu`` and ``tau`` are NaN and :attr:`message` says why).
    """

    mu: float
    tau: float
    mu_se: float
    mu_dl: float
    tau_dl: float
    log_likelihood: float
    n: int
    relative: bool = True
    min_experiments: int = MIN_EXPERIMENTS
    method: str = "ml"
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.error is None

    @property
    def predictive_sd(self) -> float:
        """SD of a new experiment's true effect: ``tau`` plus the uncertainty in ``mu``."""
        return math.sqrt(self.tau**2 + self.mu_se**2)

    @property
    def message(self) -> str | None:
        """The sentence a page shows for :attr:`error` (None when the prior is usable)."""
        if self.error is None:
            return None
        return ERRORS[self.error].format(min=self.min_experiments, n=self.n)


def fit_prior(
    results: Sequence[PastResult],
    *,
    relative: bool = True,
    min_experiments: int = MIN_EXPERIMENTS,
    method: str = "ml",
) -> EffectPrior:
    """Fit the empirical-Bayes prior to past results on one metric.

    Fit it on every decided experiment, not only the wins: the wins alone are a selected
    sample and give a prior that is too optimistic. With fewer than ``min_experiments``
    results the prior carries the ``"too_few"`` error instead of numbers. ``method="reml"``
    fits ``tau`` by restricted maximum likelihood instead, which does not shrink it for
    having estimated ``mu`` (ML's ``tau`` is biased low with few experiments); the shrunken
    intervals cover slightly better with it (see ``tests/test_learning_calibration.py``).

    >>> fit_prior([PastResult(0.01, 0.01)] * 3).message[:31]
    'Too few decided experiments to '
    """
    check_scalar(min_experiments, "min_experiments", ge=4)
    check_scalar(method, "method", in_=METHODS)
    y, se, _ = _arrays(results)
    n = len(y)
    if n < min_experiments:
        nan = math.nan
        return EffectPrior(
            nan, nan, nan, nan, nan, nan, n, relative, min_experiments, method, TOO_FEW
        )
    mu, tau, ll = ml_fit(y, se, reml=method == "reml")
    mu_dl, tau_dl = dersimonian_laird(y, se)
    mu_se = 1 / math.sqrt(float((1 / (tau[0] ** 2 + se**2)).sum()))
    return EffectPrior(
        mu=float(mu[0]),
        tau=float(tau[0]),
        mu_se=mu_se,
        mu_dl=float(mu_dl[0]),
        tau_dl=float(tau_dl[0]),
        log_likelihood=float(ll[0]),
        n=n,
        relative=bool(relative),
        min_experiments=int(min_experiments),
        method=method,
    )


def bayes_prior(prior: EffectPrior) -> dict[str, float | None]:
    """The ``prior_mean`` and ``prior_sd`` arguments of the Bayesian view for this prior.

    Pass them on as they are: ``analysis.bayes(**bayes_prior(prior))`` (or
    :func:`abcore.analysis.bayes_effects`, :func:`abcore.bayes.bayes_comparison`). The
    sd is the predictive one, ``sqrt(tau**2 + mu_se**2)``: a new experiment's true effect
    is uncertain by the spread between experiments and by how well ``mu`` is known, and it
    stays positive when ``tau`` is fitted at 0. A prior that is not usable (too few
    experiments) gives the flat default, ``prior_sd=None``. The Bayesian view's prior is a
    relative lift, so a prior fitted on absolute effects is refused.

    >>> p = fit_prior([PastResult(e, 0.01) for e in (0.02, -0.01, 0.0, 0.03, 0.01)])
    >>> {k: round(v, 4) for k, v in bayes_prior(p).items()}
    {'prior_mean': 0.01, 'prior_sd': 0.0118}
    """
    if not prior.relative:
        raise ValueError(
            "prior must be fitted on relative effects (relative=True): the Bayesian view "
            "takes its prior as a relative lift."
        )
    if not prior.usable:
        return {"prior_mean": config.BAYES_PRIOR_MEAN, "prior_sd": config.BAYES_PRIOR_SD}
    return {"prior_mean": prior.mu, "prior_sd": prior.predictive_sd}


# --- shrunken estimates ------------------------------------------------------------------


def shrink_arrays(
    y: Any,
    se: Any,
    mu: Any,
    tau: Any,
    mu_se: Any,
    *,
    alpha: float = config.ALPHA,
    adjust: str = "morris",
    k: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Posterior ``(mean, sd, ci_low, ci_high)`` of each true effect, vectorised.

    ``y``, ``se``: (k,) or (rows, k); ``mu``, ``tau``, ``mu_se``: one per row. With
    ``adjust="none"`` the plain plug-in posterior: shrinkage ``B = se**2 / (se**2 +
    tau**2)``, mean ``y - B (y - mu)``, variance ``se**2 (1 - B)``; it treats ``mu`` and
    ``tau`` as known and under-covers with few experiments (its interval has width zero
    when ``tau`` is fitted at 0). ``adjust="morris"`` (Morris 1983, JASA 78:47-55) widens
    it for both: shrinkage ``B (k-3)/(k-1)``, variance ``se**2 (1 - B) + B**2 mu_se**2 +
    2/(k-3) B**2 (y - mu)**2``; it needs at least 4 experiments. ``k`` is the number of
    experiments the prior was fitted on (default: the columns of ``y``), so a few results,
    or one new experiment, can be shrunk under a prior fitted on many.
    """
    check_scalar(alpha, "alpha", gt=0, lt=1)
    check_scalar(adjust, "adjust", in_=ADJUSTMENTS)
    y2 = np.atleast_2d(np.asarray(y, dtype=float))
    se2 = np.atleast_2d(np.asarray(se, dtype=float)) ** 2
    mu_ = np.asarray(mu, dtype=float).reshape(-1, 1)
    tau2 = np.asarray(tau, dtype=float).reshape(-1, 1) ** 2
    k = y2.shape[1] if k is None else int(k)
    b = se2 / (se2 + tau2)
    if adjust == "morris":
        if k < 4:
            raise ValueError(f"adjust='morris' needs at least 4 experiments, got {k}.")
        mu_var = np.asarray(mu_se, dtype=float).reshape(-1, 1) ** 2
        b = b * (k - 3) / (k - 1)
        var = se2 * (1 - b) + b**2 * mu_var + 2 / (k - 3) * b**2 * (y2 - mu_) ** 2
    else:
        var = se2 * (1 - b)
    mean = y2 - b * (y2 - mu_)
    sd = np.sqrt(var)
    z = float(norm.ppf(1 - alpha / 2))
    return mean, sd, mean - z * sd, mean + z * sd


@dataclass(frozen=True)
class ShrunkEstimate:
    """One experiment's raw estimate and interval next to its shrunken ones.

    ``shrinkage`` is the share of the distance to the prior mean taken away (0: kept as
    observed, 1: replaced by the prior mean).
    """

    name: str
    won: bool
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    shrunk: float
    shrunk_sd: float
    shrunk_ci_low: float
    shrunk_ci_high: float
    shrinkage: float


@dataclass(frozen=True)
class Shrinkage:
    """Every experiment's shrunken estimate under one prior, with the selection note.

    ``error`` (a code of :data:`ERRORS`) when the prior is not usable: then the shrunken
    fields are NaN and :attr:`message` says why.
    """

    prior: EffectPrior
    estimates: tuple[ShrunkEstimate, ...]
    alpha: float
    adjust: str
    note: str = SELECTION_NOTE

    @property
    def error(self) -> str | None:
        return self.prior.error

    @property
    def message(self) -> str | None:
        return self.prior.message

    def rows(self) -> list[dict[str, Any]]:
        """One dict per experiment, for a table."""
        return [
            {f: getattr(e, f) for f in ShrunkEstimate.__dataclass_fields__} for e in self.estimates
        ]


def shrink(
    results: Sequence[PastResult],
    prior: EffectPrior | None = None,
    *,
    alpha: float = config.ALPHA,
    adjust: str = "morris",
) -> Shrinkage:
    """Each experiment's shrunken estimate and interval at ``1 - alpha`` under ``prior``
    (by default fitted on ``results`` themselves), next to its raw estimate.

    To shrink the wins, or a new experiment, fit the prior on every decided experiment and
    pass it: ``shrink(wins, fit_prior(everything))``.

    The default ``adjust="morris"`` accounts for the prior being estimated (see
    :func:`shrink_arrays`); its coverage is checked by simulation in
    ``tests/test_learning_calibration.py``.

    >>> past = [PastResult(e, 0.01, won=e > 0.02) for e in (0.03, -0.01, 0.0, 0.01, 0.005)]
    >>> win = shrink(past).estimates[0]
    >>> win.estimate, round(win.shrunk, 4)
    (0.03, 0.0235)
    """
    check_scalar(alpha, "alpha", gt=0, lt=1)
    check_scalar(adjust, "adjust", in_=ADJUSTMENTS)
    prior = fit_prior(results) if prior is None else prior
    y, se, won = _arrays(results)
    z = float(norm.ppf(1 - alpha / 2))
    if prior.usable:
        fitted = shrink_arrays(
            y, se, prior.mu, prior.tau, prior.mu_se, alpha=alpha, adjust=adjust, k=prior.n
        )
        mean, sd, low, high = (a[0] for a in fitted)
        factor = (prior.n - 3) / (prior.n - 1) if adjust == "morris" else 1.0
        weight = factor * se**2 / (se**2 + prior.tau**2)
    else:
        mean = sd = low = high = weight = np.full(len(y), math.nan)
    estimates = tuple(
        ShrunkEstimate(
            name=r.name,
            won=bool(won[i]),
            estimate=float(y[i]),
            se=float(se[i]),
            ci_low=float(y[i] - z * se[i]),
            ci_high=float(y[i] + z * se[i]),
            shrunk=float(mean[i]),
            shrunk_sd=float(sd[i]),
            shrunk_ci_low=float(low[i]),
            shrunk_ci_high=float(high[i]),
            shrinkage=float(weight[i]),
        )
        for i, r in enumerate(results)
    )
    return Shrinkage(prior=prior, estimates=estimates, alpha=float(alpha), adjust=adjust)


@dataclass(frozen=True)
class MetricLearning:
    """Everything the Experiments page shows for one metric: the distribution and win
    rate, the prior (with the arguments for the Bayesian view) and the shrunken estimates."""

    metric: str
    summary: EffectSummary
    prior: EffectPrior
    shrinkage: Shrinkage

    @property
    def bayes_prior(self) -> dict[str, float | None]:
        """The ``prior_mean`` / ``prior_sd`` arguments of the Bayesian view."""
        return bayes_prior(self.prior)


def learn_metric(
    metric: str,
    results: Sequence[PastResult],
    *,
    relative: bool = True,
    alpha: float = config.ALPHA,
    method: str = "ml",
) -> MetricLearning:
    """Summary, prior and shrinkage of one metric's past results in one call.

    >>> past = [PastResult(e, 0.01, won=e > 0.02) for e in (0.03, -0.01, 0.0, 0.01, 0.005)]
    >>> m = learn_metric("converted", past)
    >>> m.summary.n_won, m.prior.n, round(m.shrinkage.estimates[0].shrunk, 4)
    (1, 5, 0.0235)
    """
    prior = fit_prior(results, relative=relative, method=method)
    return MetricLearning(
        metric=metric,
        summary=summarize_effects(results, alpha=alpha),
        prior=prior,
        shrinkage=shrink(results, prior, alpha=alpha),
    )


# --- plan versus actual ------------------------------------------------------------------

QUANTITIES = ("baseline", "sd", "daily_units", "days", "control_units")
"""What :func:`plan_vs_actual` compares, in its table's order."""


@dataclass(frozen=True)
class ObservedNumbers:
    """What a readout observed of the numbers a plan assumes, for one metric.

    ``baseline`` is the control's mean (rate of a binary metric or of a proportion of
    counts; numerator over denominator of a ratio), ``sd`` the control's per-unit SD of a
    continuous metric (None otherwise: a rate's SD follows from it, a plan sizes a ratio
    without one), ``units`` every arm's units, ``control_units`` the
    control's, ``days`` the days with data (None without a timestamp).
    """

    metric: str
    baseline: float | None
    sd: float | None
    units: int
    control_units: int
    days: int | None

    @property
    def daily_units(self) -> float | None:
        """Units entering the test per day (all arms)."""
        return self.units / self.days if self.days else None


def observed_numbers(analysis: Any, metric: str | None = None) -> ObservedNumbers:
    """The observed numbers of one metric from a readout (:class:`abcore.analysis.Analysis`).

    ``metric`` defaults to the plan's success metric, else the readout's first metric.
    Read from the readout's sufficient statistics (``analysis.aggregates``), so a saved
    readout reopened without its file gives the same numbers.

    >>> import pandas as pd
    >>> from abcore.analysis import analyze
    >>> df = pd.DataFrame({"v": ["a", "b"] * 500, "y": [0, 1, 1, 0] * 250})
    >>> o = observed_numbers(analyze(df, variant="v", control="a"))
    >>> o.metric, o.baseline, o.units, o.control_units, o.days
    ('y', 0.5, 1000, 500, None)
    """
    aggregates = analysis.aggregates
    names = [m.name for m in aggregates.mapping.metrics]
    if metric is None:
        plan = getattr(analysis, "plan", None)
        success = plan.success.name if plan is not None and plan.success is not None else None
        if success in names:
            metric = success
        elif names:
            metric = names[0]
        else:
            raise ValueError("analysis has no metric to compare with the plan.")
    if metric not in names:
        raise ValueError(f"metric must be one of {names}, got {metric!r}.")
    spec = aggregates.mapping.metric(metric)
    stat = aggregates.stat(metric, aggregates.control)
    kind = spec.metric_kind
    if kind.statistic == "pair":
        baseline = stat.y.mean / stat.x.mean if stat.x.mean else None
    elif kind.statistic == "quantile":  # the control's quantile, not its mean
        baseline = aggregates.quantile(metric, aggregates.control).value
    else:
        baseline = stat.mean
    sd = stat.sd if kind.statistic == "sample" and not kind.zero_one else None
    counts = aggregates.counts()
    return ObservedNumbers(
        metric=metric,
        baseline=_finite(baseline),
        sd=_finite(sd),
        units=int(sum(counts.values())),
        control_units=int(counts[aggregates.control]),
        days=len(aggregates.days) or None,
    )


def _finite(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


@dataclass(frozen=True)
class PlanActualRow:
    """One assumption: planned, observed and observed / planned (None when either is)."""

    quantity: str
    planned: float | None
    observed: float | None
    ratio: float | None


@dataclass(frozen=True)
class PlanVsActual:
    """A plan's assumptions against one readout, one row per :data:`QUANTITIES`."""

    metric: str
    rows: tuple[PlanActualRow, ...]

    def ratio(self, quantity: str) -> float | None:
        """Observed over planned for one quantity."""
        check_scalar(quantity, "quantity", in_=QUANTITIES)
        return next(r.ratio for r in self.rows if r.quantity == quantity)


def _planned_size(plan: ExperimentPlan) -> tuple[float | None, float | None]:
    """Planned control units and days: as recorded, else as the plan sizes them."""
    n, days = plan.planned_n_per_arm, plan.planned_days
    if n is None or days is None:
        try:
            sizing = size_plan(plan)
        except ValueError:
            return n, days
        n = sizing.method_n_control if n is None else n
        days = sizing.method_recommended_days if days is None else days
    return n, days


def plan_vs_actual(plan: ExperimentPlan, observed: ObservedNumbers) -> PlanVsActual:
    """Compare a plan's assumptions with what a readout observed.

    Baseline and SD are the plan's metric of the same name (its :class:`MetricSpec`);
    daily units are the plan's ``daily_units * exposure`` (the units entering the test);
    days and control units as recorded in the plan, else as :func:`size_plan` sizes it.

    >>> from abcore.plan import ExperimentPlan
    >>> plan = ExperimentPlan(daily_units=1000, planned_days=14, planned_n_per_arm=7000)
    >>> seen = ObservedNumbers("converted", 0.08, None, 9800, 4900, 14)
    >>> [(r.quantity, r.ratio) for r in plan_vs_actual(plan, seen).rows]
    [('baseline', 0.8), ('sd', None), ('daily_units', 0.7), ('days', 1.0), ('control_units', 0.7)]
    """
    spec = next((m for m in plan.metrics if m.name == observed.metric), None)
    n, days = _planned_size(plan)
    planned = {
        "baseline": None if spec is None else spec.baseline,
        "sd": None if spec is None else spec.sd,
        "daily_units": plan.daily_units * plan.exposure,
        "days": days,
        "control_units": n,
    }
    seen = {
        "baseline": observed.baseline,
        "sd": observed.sd,
        "daily_units": observed.daily_units,
        "days": observed.days,
        "control_units": observed.control_units,
    }
    rows = []
    for q in QUANTITIES:
        p, o = planned[q], seen[q]
        p = None if p is None else float(p)
        o = None if o is None else float(o)
        ratio = o / p if p is not None and o is not None and p != 0 else None
        rows.append(PlanActualRow(q, p, o, None if ratio is None else round(ratio, 12)))
    return PlanVsActual(metric=observed.metric, rows=tuple(rows))


@dataclass(frozen=True)
class TeamNumber:
    """Observed over planned for one quantity across experiments.

    ``median_ratio`` is the team's typical miss (0.7: 30% less than planned); ``low`` and
    ``high`` the quartiles of the ratios; ``n`` how many experiments had both numbers;
    ``sentence`` says it for a page.
    """

    quantity: str
    n: int
    median_ratio: float | None
    low: float | None
    high: float | None
    sentence: str


_LABELS = {
    "baseline": "baseline",
    "sd": "standard deviation",
    "daily_units": "daily traffic",
    "days": "duration",
    "control_units": "units per arm",
}


def team_numbers(comparisons: Sequence[PlanVsActual]) -> tuple[TeamNumber, ...]:
    """The team's real numbers: per quantity, the median of observed over planned.

    Multiply the next plan's assumption by ``median_ratio`` to start from what past
    experiments actually saw (the median, so one odd experiment does not move it).

    >>> from abcore.plan import ExperimentPlan
    >>> plan = ExperimentPlan(daily_units=1000, planned_days=14, planned_n_per_arm=7000)
    >>> seen = [ObservedNumbers("converted", 0.1, None, u, u // 2, 14) for u in (7000, 14000, 9800)]
    >>> traffic = team_numbers([plan_vs_actual(plan, s) for s in seen])[2]
    >>> traffic.median_ratio, traffic.low, traffic.high
    (0.7, 0.6, 0.85)
    """
    out = []
    for q in QUANTITIES:
        ratios = np.array(
            [r for c in comparisons if (r := c.ratio(q)) is not None and math.isfinite(r)]
        )
        if len(ratios) == 0:
            out.append(
                TeamNumber(
                    q,
                    0,
                    None,
                    None,
                    None,
                    f"No experiment records its {_LABELS[q]} both planned and observed.",
                )
            )
            continue
        low, median, high = (float(v) for v in np.quantile(ratios, (0.25, 0.5, 0.75)))
        many = "experiment" if len(ratios) == 1 else "experiments"
        sentence = (
            f"Across {len(ratios)} {many} the {_LABELS[q]} came in at {median:.2f}x the plan "
            f"(quartiles {low:.2f}x to {high:.2f}x)."
        )
        out.append(TeamNumber(q, len(ratios), median, low, high, sentence))
    return tuple(out)
