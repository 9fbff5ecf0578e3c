"""Two-arm tests on sufficient statistics, returning one typed :class:`Comparison`.

Every test here takes counts, sums and sums of squares (or the means and standard deviations
they imply) and never touches raw rows, so the same code serves an uploaded file, a warehouse
aggregate and a share link. Each entry point accepts numpy arrays as well as scalars: a
simulation of 20,000 experiments is one call whose result holds arrays.

Conventions shared by every test:

* the effect is treatment minus control (``abs_effect``); the relative effect is
  ``abs_effect / |baseline|`` where the baseline is the control mean, which equals
  ``treatment / control - 1`` for the usual positive metric;
* ``alternative`` is about the treatment: ``"greater"`` means the treatment is larger and
  gives one-sided intervals ``(low, inf)``; ``"less"`` gives ``(-inf, high)``; both at level
  ``1 - alpha``;
* degenerate data never raises: the result carries NaNs and ``error`` holds a short code
  (see :data:`ERRORS`); bad parameters raise ``ValueError`` naming the parameter.

Relative intervals come in three flavours, chosen by ``relative_method``:

* ``"fieller"`` (default): the exact Fieller interval for the ratio of the two means. It is
  the set of ratios the data cannot reject, so it is asymmetric where the ratio's sampling
  distribution is, and it is unbounded when the control mean is not distinguishable from zero
  (Fieller's ``g >= 1``; error ``"unbounded_relative_ci"``).
* ``"log"``: a symmetric interval for the log ratio (delta-method SE), exponentiated.
* ``"delta"``: first-order delta method on the ratio, symmetric around the estimate, as in
  GrowthBook and Eppo. With small rates or heavy tails it puts nearly all its misses above the
  true lift, which breaks one-sided superiority and non-inferiority decisions; hence it is not
  the default (see ``tests/test_stats_calibration.py``).

:func:`relative_intervals` shows all three side by side for one comparison.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from abcore import config
from abcore._checks import check_scalar
from abcore.suffstats import PairStatistic, SampleMean

__all__ = [
    "ERRORS",
    "Comparison",
    "MarginTest",
    "adjust_p_values",
    "chance_to_beat",
    "compare_cuped",
    "compare_means",
    "compare_proportions",
    "compare_ratios",
    "compare_samples",
    "cuped_theta",
    "log_lift",
    "noninferiority",
    "relative_interval",
    "relative_intervals",
    "relative_p_value",
    "superiority",
]

Number: TypeAlias = float | npt.NDArray[np.float64]
"""A float for scalar inputs, an array of floats for vectorised inputs."""
Code: TypeAlias = str | npt.NDArray[np.object_] | None

EMPTY_ARM = "empty_arm"
TOO_FEW_UNITS = "too_few_units"
ZERO_VARIANCE = "zero_variance"
ZERO_DENOMINATOR = "zero_denominator"
ZERO_CONTROL_MEAN = "zero_control_mean"
UNBOUNDED_RELATIVE_CI = "unbounded_relative_ci"
LOG_UNDEFINED = "log_undefined"
TOO_FEW_FOR_QUANTILE = "too_few_for_quantile"

ERRORS: dict[str, str] = {
    EMPTY_ARM: "One arm has no units, so there is nothing to compare.",
    TOO_FEW_UNITS: "One arm has fewer than two units, so its variance is unknown.",
    ZERO_VARIANCE: "The metric does not vary in either arm, so no test is possible.",
    ZERO_DENOMINATOR: "The ratio's denominator sums to zero in one arm.",
    TOO_FEW_FOR_QUANTILE: (
        "One arm has too few units to bound this quantile: its interval would reach past the "
        "largest or smallest value (p99 needs about 400 units per arm)."
    ),
    ZERO_CONTROL_MEAN: "The control mean is zero, so a relative effect is undefined.",
    UNBOUNDED_RELATIVE_CI: (
        "The control mean is not distinguishable from zero, so the relative interval is "
        "unbounded; read the absolute effect instead."
    ),
    LOG_UNDEFINED: (
        "The treatment/control ratio is not positive, so the log interval is undefined; "
        "use the Fieller interval."
    ),
}
"""Error codes a :class:`Comparison` may carry, with a sentence a page can show."""

_RELATIVE_ONLY = frozenset({ZERO_CONTROL_MEAN, UNBOUNDED_RELATIVE_CI, LOG_UNDEFINED})
_ZERO_VARIANCE_RTOL = 1e-10
"""Variances below this fraction of the mean square are rounding noise from the sums."""


@dataclass(frozen=True)
class Comparison:
    """Treatment versus control on one metric: effects, intervals and the test.

    Fields hold floats for scalar inputs and numpy arrays for vectorised inputs.

    Attributes:
        control_mean, treatment_mean: arm means (CUPED: covariate-adjusted means).
        abs_effect: ``treatment_mean - control_mean``.
        abs_ci_low, abs_ci_high: confidence interval of ``abs_effect`` at ``1 - alpha``
            (one-sided alternatives put an infinite bound on the other side).
        rel_effect: ``abs_effect / |rel_baseline|``.
        rel_ci_low, rel_ci_high: interval of ``rel_effect`` by ``relative_method``.
        p_value: p-value of the test of no difference under ``alternative``.
        error: ``None`` or a code from :data:`ERRORS`.
        statistic: z or t statistic, ``abs_effect / se_null``.
        se: standard error of ``abs_effect`` used for the interval.
        se_null: standard error used for the test (pooled under H0 for proportions).
        df: degrees of freedom of the reference t distribution (``inf`` for z tests).
        n_control, n_treatment: units per arm.
        alpha, alternative, relative_method: the options used.
        method: ``"z_pooled"``, ``"welch_t"``, ``"delta_ratio"`` or ``"cuped_welch_t"``.
        rel_baseline: the denominator of the relative effect (the unadjusted control mean).
        rel_baseline_se: standard error of ``rel_baseline``.
        rel_cov: covariance of ``abs_effect`` and ``rel_baseline`` (arms are independent, so
            it is minus the control mean's variance, adjusted for CUPED).
        theta: CUPED coefficient (NaN for other methods).
        variance_reduction: CUPED's ``1 - var(adjusted effect) / var(raw effect)``.
    """

    control_mean: Number
    treatment_mean: Number
    abs_effect: Number
    abs_ci_low: Number
    abs_ci_high: Number
    rel_effect: Number
    rel_ci_low: Number
    rel_ci_high: Number
    p_value: Number
    error: Code
    statistic: Number
    se: Number
    se_null: Number
    df: Number
    n_control: Number
    n_treatment: Number
    alpha: float
    alternative: str
    relative_method: str
    method: str
    rel_baseline: Number
    rel_baseline_se: Number
    rel_cov: Number
    theta: Number = float("nan")
    variance_reduction: Number = float("nan")

    @property
    def significant(self) -> bool | npt.NDArray[np.bool_]:
        """Whether ``p_value < alpha`` (False when the test could not run)."""
        below = np.asarray(self.p_value) < self.alpha
        return below if self._vector else bool(below)

    @property
    def _vector(self) -> bool:
        return np.ndim(self.abs_effect) > 0

    def to_dict(self) -> dict[str, Any]:
        """Every field by name, e.g. for a table row or JSON."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class MarginTest:
    """A one-sided relative test against a threshold, as the decision layer needs it.

    Attributes:
        kind: ``"noninferiority"`` or ``"superiority"``.
        direction: the good direction of the metric, ``"increase"`` or ``"decrease"``.
        threshold: the relative effect at the H0 boundary (``-margin`` for a non-inferiority
            test of an increase-is-good metric).
        bound: the one-sided ``1 - alpha`` relative confidence bound facing the threshold
            (lower bound for ``"increase"``, upper bound for ``"decrease"``).
        p_value: p-value of the one-sided test of H0 "the relative effect is on the wrong side
            of the threshold", consistent with ``bound`` (``p_value < alpha`` exactly when the
            bound clears the threshold).
        passed: whether the bound clears the threshold.
        alpha, relative_method: options used.
        error: the comparison's error code, if any.
    """

    kind: str
    direction: str
    threshold: Number
    bound: Number
    p_value: Number
    passed: bool | npt.NDArray[np.bool_]
    alpha: float
    relative_method: str
    error: Code

    def to_dict(self) -> dict[str, Any]:
        """Every field by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def compare_proportions(
    n_control: Any,
    conversions_control: Any,
    n_treatment: Any,
    conversions_treatment: Any,
    *,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    relative_method: str = config.RELATIVE_CI,
) -> Comparison:
    """Compare two conversion rates.

    The p-value uses the pooled z test (the standard error under H0, as
    ``statsmodels.stats.proportion.proportions_ztest``), which holds its size at small
    rates; the interval uses the unpooled Wald standard error (as statsmodels'
    ``confint_proportions_2indep(method="wald")``), which is the right one away from H0.
    An arm at 0% or 100% has a Wald variance of zero (two such arms gave a zero-width
    interval and a superiority "pass" at p = 0), so there the interval is Newcombe's hybrid
    score interval (statsmodels' ``method="newcomb"``), which keeps its coverage at the
    edge, and ``se`` is at least the pooled test's, so the margin tests built on it agree
    with the p-value. An arm with one unit is allowed: a rate's variance needs no second unit.

    Args:
        n_control, conversions_control: units and converted units in control.
        n_treatment, conversions_treatment: the same in treatment.
        alpha: significance level, in (0, 1).
        alternative: ``"two-sided"``, ``"greater"`` (treatment higher) or ``"less"``.
        relative_method: ``"fieller"``, ``"log"`` or ``"delta"``.

    Returns:
        A :class:`Comparison` with ``method="z_pooled"``.

    >>> c = compare_proportions(10_000, 1_000, 10_000, 1_100)
    >>> round(c.abs_effect, 4), round(c.p_value, 4), round(c.rel_ci_low, 4)
    (0.01, 0.0211, 0.0145)
    """
    _check_options(alpha, alternative, relative_method)
    n_c = _nonneg(n_control, "n_control")
    n_t = _nonneg(n_treatment, "n_treatment")
    x_c = _nonneg(conversions_control, "conversions_control")
    x_t = _nonneg(conversions_treatment, "conversions_treatment")
    _at_most(x_c, n_c, "conversions_control", "n_control")
    _at_most(x_t, n_t, "conversions_treatment", "n_treatment")
    with np.errstate(all="ignore"):
        p_c = x_c / n_c
        p_t = x_t / n_t
        p_pool = (x_c + x_t) / (n_c + n_t)
        var_null = p_pool * (1 - p_pool) * (1 / n_c + 1 / n_t)
        v_c = p_c * (1 - p_c) / n_c
        v_t = p_t * (1 - p_t) / n_t
    empty = (n_c == 0) | (n_t == 0)
    edge = ~empty & (var_null > 0) & ((x_c == 0) | (x_c == n_c) | (x_t == 0) | (x_t == n_t))
    comparison = _build(
        method="z_pooled",
        n_c=n_c,
        n_t=n_t,
        mean_c=p_c,
        mean_t=p_t,
        effect=p_t - p_c,
        var_effect=np.where(edge, np.maximum(v_c + v_t, var_null), v_c + v_t),
        var_null=var_null,
        df=np.inf,
        baseline=p_c,
        var_baseline=v_c,
        cov=-v_c,
        alpha=alpha,
        alternative=alternative,
        relative_method=relative_method,
        codes=[(EMPTY_ARM, empty), (ZERO_VARIANCE, ~empty & (var_null <= 0))],
        scalar=_all_scalar(n_control, conversions_control, n_treatment, conversions_treatment),
        originals=(n_control, n_treatment),
    )
    if not np.any(edge):
        return comparison
    low, high = _newcombe(n_c, x_c, n_t, x_t, alpha, alternative)
    scalar = not comparison._vector
    return dataclasses.replace(
        comparison,
        abs_ci_low=_out(np.where(edge, low, np.asarray(comparison.abs_ci_low, float)), scalar),
        abs_ci_high=_out(np.where(edge, high, np.asarray(comparison.abs_ci_high, float)), scalar),
    )


def _newcombe(
    n_c: Any, x_c: Any, n_t: Any, x_t: Any, alpha: float, alternative: str
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for ``p_t - p_c`` (his method 10, 1998).

    Each arm's Wilson score interval keeps its coverage at 0% and 100%, where the Wald
    variance ``p (1 - p) / n`` is zero; the difference's bounds combine the arms' distances
    to their Wilson bounds. Equal to statsmodels' ``confint_proportions_2indep(...,
    method="newcomb")``; one-sided bounds use the Wilson bounds at ``2 alpha``.
    """
    z = sps.norm.isf(alpha / 2 if alternative == "two-sided" else alpha)

    def wilson(n: Any, x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with np.errstate(all="ignore"):
            p = x / n
            centre = (x + z**2 / 2) / (n + z**2)
            half = z / (n + z**2) * np.sqrt(x * (n - x) / n + z**2 / 4)
        return p, centre - half, centre + half

    p_c, l_c, u_c = wilson(n_c, x_c)
    p_t, l_t, u_t = wilson(n_t, x_t)
    low = p_t - p_c - np.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2)
    high = p_t - p_c + np.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2)
    return _one_sided(low, high, alternative)


def compare_means(
    n_control: Any,
    mean_control: Any,
    sd_control: Any,
    n_treatment: Any,
    mean_treatment: Any,
    sd_treatment: Any,
    *,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    relative_method: str = config.RELATIVE_CI,
) -> Comparison:
    """Compare two means with Welch's t test.

    Identical to ``scipy.stats.ttest_ind_from_stats(..., equal_var=False)`` for the
    p-value; the interval uses the same Welch–Satterthwaite degrees of freedom. Welch rather
    than Student because arms of an experiment rarely share a variance once the treatment
    works, and Welch loses almost nothing when they do.

    Args:
        n_control, mean_control, sd_control: units, mean and standard deviation (ddof=1).
        n_treatment, mean_treatment, sd_treatment: the same in treatment.
        alpha, alternative, relative_method: as in :func:`compare_proportions`.

    Returns:
        A :class:`Comparison` with ``method="welch_t"``.

    >>> c = compare_means(200, 10.0, 4.0, 200, 11.0, 4.0)
    >>> round(c.statistic, 3), round(c.p_value, 4), round(c.df, 1)
    (2.5, 0.0128, 398.0)
    """
    _check_options(alpha, alternative, relative_method)
    n_c = _nonneg(n_control, "n_control")
    n_t = _nonneg(n_treatment, "n_treatment")
    sd_c = _nonneg(sd_control, "sd_control", allow_nan=True)
    sd_t = _nonneg(sd_treatment, "sd_treatment", allow_nan=True)
    m_c = np.asarray(mean_control, dtype=float)
    m_t = np.asarray(mean_treatment, dtype=float)
    _finite_where(m_c, n_c >= 1, "mean_control")
    _finite_where(m_t, n_t >= 1, "mean_treatment")
    _finite_where(sd_c, n_c >= 2, "sd_control")
    _finite_where(sd_t, n_t >= 2, "sd_treatment")
    scalar = _all_scalar(
        n_control, mean_control, sd_control, n_treatment, mean_treatment, sd_treatment
    )
    return _welch(
        method="welch_t",
        n_c=n_c,
        n_t=n_t,
        m_c=m_c,
        m_t=m_t,
        var_c=sd_c**2,
        var_t=sd_t**2,
        alpha=alpha,
        alternative=alternative,
        relative_method=relative_method,
        scalar=scalar,
        originals=(n_control, n_treatment),
    )


def compare_samples(
    control: SampleMean,
    treatment: SampleMean,
    *,
    binary: bool = False,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    relative_method: str = config.RELATIVE_CI,
) -> Comparison:
    """Compare two arms given as sufficient statistics (count, sum, sum of squares).

    ``binary=True`` reads ``sum`` as conversions and runs :func:`compare_proportions`;
    otherwise the means and variances are rebuilt from the sums and Welch's test runs. The
    fields of each :class:`~abcore.suffstats.SampleMean` may be numpy arrays of one shape.

    >>> from abcore.suffstats import SampleMean
    >>> c = compare_samples(SampleMean(4, 10.0, 30.0), SampleMean(4, 14.0, 54.0))
    >>> round(c.abs_effect, 2), round(c.p_value, 4)
    (1.0, 0.3153)
    """
    if binary:
        control, treatment = _unshifted(control), _unshifted(treatment)
        return compare_proportions(
            control.n,
            control.sum,
            treatment.n,
            treatment.sum,
            alpha=alpha,
            alternative=alternative,
            relative_method=relative_method,
        )
    _check_options(alpha, alternative, relative_method)
    n_c = _nonneg(control.n, "control.n")
    n_t = _nonneg(treatment.n, "treatment.n")
    m_c, var_c = _mean_var(n_c, control.sum, control.sum_sq, control.shift)
    m_t, var_t = _mean_var(n_t, treatment.sum, treatment.sum_sq, treatment.shift)
    return _welch(
        method="welch_t",
        n_c=n_c,
        n_t=n_t,
        m_c=m_c,
        m_t=m_t,
        effect=_difference(n_c, control.sum, control.shift, n_t, treatment.sum, treatment.shift),
        var_c=var_c,
        var_t=var_t,
        alpha=alpha,
        alternative=alternative,
        relative_method=relative_method,
        scalar=_all_scalar(*_sample_fields(control), *_sample_fields(treatment)),
        originals=(control.n, treatment.n),
    )


def compare_ratios(
    control: PairStatistic,
    treatment: PairStatistic,
    *,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    relative_method: str = config.RELATIVE_CI,
) -> Comparison:
    """Compare a ratio metric (``sum y / sum x`` per arm) by the delta method.

    For a metric such as clicks per session randomised by user, the units are users, ``y``
    the numerator and ``x`` the denominator per user. The per-arm ratio of means
    ``r = mean(y) / mean(x)`` has variance
    ``(var y - 2 r cov(y, x) + r**2 var x) / (n mean(x)**2)`` to first order (Deng, Knoblich
    and Lu 2018, "Applying the delta method in metric analytics"); the arms are independent,
    so the test is a z test on the difference.

    >>> from abcore.suffstats import PairStatistic
    >>> ctl = PairStatistic(n=3, sum_y=3.0, sum_y_sq=5.0, sum_x=6.0, sum_x_sq=14.0, sum_xy=8.0)
    >>> trt = PairStatistic(n=3, sum_y=4.0, sum_y_sq=6.0, sum_x=6.0, sum_x_sq=14.0, sum_xy=10.0)
    >>> c = compare_ratios(ctl, trt)
    >>> round(c.control_mean, 3), round(c.treatment_mean, 3), c.method
    (0.5, 0.667, 'delta_ratio')
    """
    _check_options(alpha, alternative, relative_method)
    n_c = _nonneg(control.n, "control.n")
    n_t = _nonneg(treatment.n, "treatment.n")
    r_c, v_c, zero_x_c = _ratio_var(n_c, control)
    r_t, v_t, zero_x_t = _ratio_var(n_t, treatment)
    empty = (n_c == 0) | (n_t == 0)
    few = ~empty & ((n_c < 2) | (n_t < 2))
    zero_x = ~empty & (zero_x_c | zero_x_t)
    var_effect = v_c + v_t
    return _build(
        method="delta_ratio",
        n_c=n_c,
        n_t=n_t,
        mean_c=r_c,
        mean_t=r_t,
        effect=r_t - r_c,
        var_effect=var_effect,
        var_null=var_effect,
        df=np.inf,
        baseline=r_c,
        var_baseline=v_c,
        cov=-v_c,
        alpha=alpha,
        alternative=alternative,
        relative_method=relative_method,
        codes=[
            (EMPTY_ARM, empty),
            (TOO_FEW_UNITS, few),
            (ZERO_DENOMINATOR, zero_x),
            (ZERO_VARIANCE, var_effect <= 0),
        ],
        scalar=_all_scalar(*_pair_fields(control), *_pair_fields(treatment)),
        originals=(control.n, treatment.n),
    )


def cuped_theta(control: PairStatistic, treatment: PairStatistic) -> Number:
    """The CUPED coefficient: pooled within-arm ``cov(y, x) / var(x)``.

    ``y`` is the metric and ``x`` its pre-period covariate. Centring within each arm keeps a
    treatment effect on ``y`` out of the slope; pooling the arms gives one θ, so the
    adjustment cancels from the difference in expectation (Deng et al. 2013). Zero when the
    covariate does not vary (CUPED then changes nothing).

    >>> from abcore.suffstats import PairStatistic
    >>> ctl = PairStatistic(n=3, sum_y=6.0, sum_y_sq=14.0, sum_x=6.0, sum_x_sq=14.0, sum_xy=14.0)
    >>> trt = PairStatistic(n=3, sum_y=9.0, sum_y_sq=29.0, sum_x=6.0, sum_x_sq=14.0, sum_xy=20.0)
    >>> cuped_theta(ctl, trt)
    1.0
    """
    n_c = _nonneg(control.n, "control.n")
    n_t = _nonneg(treatment.n, "treatment.n")
    sxy = _centred(n_c, control.sum_xy, control.sum_x, control.sum_y) + _centred(
        n_t, treatment.sum_xy, treatment.sum_x, treatment.sum_y
    )
    sxx = _centred(n_c, control.sum_x_sq, control.sum_x, control.sum_x) + _centred(
        n_t, treatment.sum_x_sq, treatment.sum_x, treatment.sum_x
    )
    scale = np.asarray(control.sum_x_sq, dtype=float) + np.asarray(treatment.sum_x_sq, float)
    with np.errstate(all="ignore"):
        theta = np.where(sxx > _ZERO_VARIANCE_RTOL * scale, sxy / sxx, 0.0)
    return _out(theta, _all_scalar(*_pair_fields(control), *_pair_fields(treatment)))


def compare_cuped(
    control: PairStatistic,
    treatment: PairStatistic,
    *,
    theta: Any = None,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    relative_method: str = config.RELATIVE_CI,
) -> Comparison:
    """Compare means after CUPED variance reduction with a pre-period covariate.

    Each unit's metric is replaced by ``y - θ (x - mean x over both arms)``; the adjusted
    arm variance is ``var y - 2 θ cov(y, x) + θ**2 var x`` and Welch's test runs on the
    adjusted arms. With a covariate correlated ``ρ`` with the metric the effect's variance
    shrinks by about ``ρ**2`` (reported as ``variance_reduction``).

    The relative effect divides the adjusted difference by the *unadjusted* control mean:
    that is the baseline a reader knows, the adjustment is a variance device and should not
    move the denominator, and its covariance with the effect is simple. So for CUPED
    ``rel_effect`` equals ``abs_effect / |rel_baseline|``, not
    ``treatment_mean / control_mean - 1`` (the reported means are the adjusted ones).

    Args:
        control, treatment: per-arm sufficient statistics with ``y`` = metric and
            ``x`` = covariate.
        theta: the coefficient; by default :func:`cuped_theta` of the two arms.
        alpha, alternative, relative_method: as in :func:`compare_proportions`.
    """
    _check_options(alpha, alternative, relative_method)
    n_c = _nonneg(control.n, "control.n")
    n_t = _nonneg(treatment.n, "treatment.n")
    th = np.asarray(cuped_theta(control, treatment) if theta is None else theta, dtype=float)
    ybar_c, var_yc = _mean_var(n_c, control.sum_y, control.sum_y_sq, control.shift_y)
    ybar_t, var_yt = _mean_var(n_t, treatment.sum_y, treatment.sum_y_sq, treatment.shift_y)
    xbar_c, var_xc = _mean_var(n_c, control.sum_x, control.sum_x_sq, control.shift_x)
    xbar_t, var_xt = _mean_var(n_t, treatment.sum_x, treatment.sum_x_sq, treatment.shift_x)
    cov_c = _cov(n_c, control)
    cov_t = _cov(n_t, treatment)
    with np.errstate(all="ignore"):
        # the pooled covariate mean, from each arm's mean (their sums may have other shifts)
        xbar = (n_c * np.nan_to_num(xbar_c) + n_t * np.nan_to_num(xbar_t)) / (n_c + n_t)
        adj_var_c = np.maximum(var_yc - 2 * th * cov_c + th**2 * var_xc, 0.0)
        adj_var_t = np.maximum(var_yt - 2 * th * cov_t + th**2 * var_xt, 0.0)
        adj_var_c = np.where(adj_var_c <= _ZERO_VARIANCE_RTOL * var_yc, 0.0, adj_var_c)
        adj_var_t = np.where(adj_var_t <= _ZERO_VARIANCE_RTOL * var_yt, 0.0, adj_var_t)
        raw_var_effect = var_yc / n_c + var_yt / n_t
        adj_var_effect = adj_var_c / n_c + adj_var_t / n_t
        reduction = 1 - adj_var_effect / raw_var_effect
        cov = -(var_yc - th * cov_c) / n_c
    scalar = _all_scalar(*_pair_fields(control), *_pair_fields(treatment), theta)
    dy = _difference(n_c, control.sum_y, control.shift_y, n_t, treatment.sum_y, treatment.shift_y)
    dx = _difference(n_c, control.sum_x, control.shift_x, n_t, treatment.sum_x, treatment.shift_x)
    return _welch(
        method="cuped_welch_t",
        n_c=n_c,
        n_t=n_t,
        m_c=ybar_c - th * (xbar_c - xbar),
        m_t=ybar_t - th * (xbar_t - xbar),
        effect=dy - th * dx,
        var_c=adj_var_c,
        var_t=adj_var_t,
        alpha=alpha,
        alternative=alternative,
        relative_method=relative_method,
        scalar=scalar,
        originals=(control.n, treatment.n),
        baseline=ybar_c,
        var_baseline=var_yc / n_c,
        cov=cov,
        theta=th,
        variance_reduction=reduction,
    )


def relative_interval(
    comparison: Comparison,
    method: str | None = None,
    *,
    alpha: float | None = None,
    alternative: str | None = None,
) -> tuple[Number, Number]:
    """The relative interval of a comparison by any method, level or side.

    Defaults are the comparison's own options, so
    ``relative_interval(c) == (c.rel_ci_low, c.rel_ci_high)``. Unbounded Fieller intervals
    come back as ``(-inf, inf)``; a comparison whose test could not run gives NaNs.

    >>> c = compare_proportions(2_000, 20, 2_000, 30)
    >>> [round(v, 3) for v in relative_interval(c, "delta")]
    [-0.344, 1.344]
    >>> [round(v, 3) for v in relative_interval(c, "fieller")]
    [-0.149, 1.854]
    """
    method = comparison.relative_method if method is None else method
    alpha = comparison.alpha if alpha is None else alpha
    alternative = comparison.alternative if alternative is None else alternative
    _check_options(alpha, alternative, method)
    a, v_a, b, v_b, cov, df = _relative_parts(comparison)
    crit = _critical(alpha, df, alternative)
    lo, hi, _ = _relative_ci(a, v_a, b, v_b, cov, crit, method, alternative)
    scalar = not comparison._vector
    return _out(lo, scalar), _out(hi, scalar)


def relative_intervals(
    comparison: Comparison, *, alpha: float | None = None, alternative: str | None = None
) -> dict[str, tuple[Number, Number]]:
    """Fieller, log and delta relative intervals side by side, keyed by method name.

    >>> c = compare_means(200, 10.0, 4.0, 200, 11.0, 4.0)
    >>> {k: [round(v, 4) for v in ci] for k, ci in relative_intervals(c).items()}
    {'fieller': [0.0206, 0.1863], 'log': [0.0204, 0.1858], 'delta': [0.0173, 0.1827]}
    """
    return {
        m: relative_interval(comparison, m, alpha=alpha, alternative=alternative)
        for m in config.RELATIVE_CI_METHODS
    }


def relative_p_value(
    comparison: Comparison,
    threshold: Any,
    *,
    alternative: str | None = None,
    method: str | None = None,
) -> Number:
    """p-value of H0 "relative effect = threshold", inverting the chosen relative interval.

    The statistic is the one whose inversion gives the interval, so the p-value equals
    ``alpha`` exactly at an interval bound: Fieller's pivot
    ``(a - t b) / sqrt(var a - 2 t cov + t**2 var b)`` with ``a`` the absolute effect and
    ``b`` the baseline, the log ratio's z, or the delta method's z. (Where the Fieller
    interval is unbounded the exact Fieller set is not an interval; :class:`MarginTest`
    then reports NaN rather than a p-value its bound disagrees with.)

    >>> c = compare_proportions(10_000, 1_000, 10_000, 1_100, alternative="greater")
    >>> round(relative_p_value(c, c.rel_ci_low), 6)
    0.05
    """
    method = comparison.relative_method if method is None else method
    alternative = comparison.alternative if alternative is None else alternative
    _check_options(comparison.alpha, alternative, method)
    a, v_a, b, v_b, cov, df = _relative_parts(comparison)
    rho = np.asarray(threshold, dtype=float)
    with np.errstate(all="ignore"):
        if method == "fieller":
            stat = (a - rho * b) / np.sqrt(v_a - 2 * rho * cov + rho**2 * v_b)
        elif method == "log":
            log_ratio, se_log = _log_parts(a, v_a, b, v_b, cov)
            stat = (log_ratio - np.log1p(rho)) / se_log
        else:
            stat = (a / b - rho) / _delta_se(a, v_a, b, v_b, cov)
    return _out(_p_value(stat, df, alternative), not comparison._vector)


def noninferiority(
    comparison: Comparison,
    *,
    margin: Any,
    direction: str = "increase",
    alpha: float | None = None,
    relative_method: str | None = None,
) -> MarginTest:
    """One-sided non-inferiority test on the relative effect (guardrails).

    ``margin`` is the relative harm the treatment may show and still pass (0.02: at most
    2% worse). For a metric whose good ``direction`` is ``"increase"`` the test passes when
    the lower one-sided ``1 - alpha`` bound of the relative effect is above ``-margin``; for
    ``"decrease"`` when the upper bound is below ``+margin``. The comparison's own alternative
    is ignored: the side follows from ``direction``.

    >>> c = compare_means(5_000, 100.0, 30.0, 5_000, 100.5, 30.0)
    >>> t = noninferiority(c, margin=0.01, direction="increase")
    >>> bool(t.passed), round(t.bound, 4), round(t.p_value, 5)
    (True, -0.0048, 0.006)
    """
    check_scalar(margin, "margin", ge=0, lt=1)
    sign = _direction_sign(direction)
    threshold = -sign * np.asarray(margin, dtype=float)
    return _margin_test(comparison, "noninferiority", direction, threshold, alpha, relative_method)


def superiority(
    comparison: Comparison,
    *,
    direction: str = "increase",
    min_effect: Any = 0.0,
    alpha: float | None = None,
    relative_method: str | None = None,
) -> MarginTest:
    """One-sided superiority test on the relative effect (success metrics).

    Passes when the one-sided ``1 - alpha`` relative bound is beyond ``min_effect`` in the
    good ``direction`` (``min_effect=0.05`` and ``"increase"``: the lower bound exceeds +5%),
    so a launch threshold ("the lift must pay for itself") is a superiority margin.

    >>> c = compare_proportions(10_000, 1_000, 10_000, 1_100)
    >>> bool(superiority(c).passed), bool(superiority(c, min_effect=0.05).passed)
    (True, False)
    """
    check_scalar(min_effect, "min_effect", gt=-1, lt=1)
    sign = _direction_sign(direction)
    threshold = sign * np.asarray(min_effect, dtype=float)
    return _margin_test(comparison, "superiority", direction, threshold, alpha, relative_method)


def log_lift(comparison: Comparison) -> tuple[Number, Number]:
    """``log(treatment mean / control mean)`` and its delta-method standard error.

    The scale on which a constant relative lift is constant whatever the baseline: a
    weekday's higher traffic or a cohort's longer time to accumulate revenue moves the
    absolute effect, not the log lift. NaN when the ratio is undefined.

    >>> c = compare_means(5_000, 10.0, 4.0, 5_000, 10.5, 4.0)
    >>> [round(float(v), 5) for v in log_lift(c)]
    [0.04879, 0.00781]
    """
    log_ratio, se_log = _log_parts(*_relative_parts(comparison)[:5])
    scalar = not comparison._vector
    return _out(log_ratio, scalar), _out(se_log, scalar)


def chance_to_beat(comparison: Comparison) -> Number:
    """Posterior probability that treatment beats control (flat prior, normal likelihood).

    ``Phi(abs_effect / se)``: with a flat prior the posterior of the absolute effect is
    normal around the estimate with the interval's standard error. "Beat" means a larger
    mean; for a metric where lower is better use ``1 - chance_to_beat(c)``. NaN when the test
    could not run.

    >>> round(chance_to_beat(compare_means(200, 10.0, 4.0, 200, 11.0, 4.0)), 4)
    0.9938
    """
    se = np.asarray(comparison.se, dtype=float)
    with np.errstate(all="ignore"):
        prob = sps.norm.cdf(np.asarray(comparison.abs_effect, float) / se)
    prob = np.where(np.isnan(np.asarray(comparison.p_value, float)) | (se <= 0), np.nan, prob)
    return _out(prob, not comparison._vector)


def adjust_p_values(p_values: Iterable[float], method: str = config.CORRECTION) -> np.ndarray:
    """Adjust p-values for multiple testing; NaNs stay NaN and do not count as tests.

    ``"holm"`` (step-down, controls the family-wise error and is never worse than
    Bonferroni), ``"bonferroni"``, ``"bh"`` (Benjamini–Hochberg false discovery rate) or
    ``"none"``. The numbers are statsmodels' ``multipletests`` (``holm``, ``bonferroni``,
    ``fdr_bh``; checked in tests/test_stats.py and by a Hypothesis property), computed here
    rather than called: its Holm branch runs a full ``gc.collect()`` on every call
    (statsmodels 0.15, measured 62 ms a call in the app's process), and a readout adjusts a
    dozen families. The wrapper's own job: a comparison that could not be tested (NaN) is
    not a test, so it neither counts in ``m`` nor gets a p-value.

    >>> adjust_p_values([0.01, 0.04, 0.03, float("nan")], "holm").tolist()
    [0.03, 0.06, 0.06, nan]
    """
    check_scalar(method, "method", in_=config.CORRECTIONS)
    p = np.array(p_values, dtype=float).reshape(-1)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p_values must lie in [0, 1] (NaN allowed).")
    out = p.copy()
    ok = ~np.isnan(p)
    valid = p[ok]
    m = valid.size
    if m == 0 or method == "none":
        return out
    if method == "bonferroni":
        adjusted = valid * m
    else:
        order = np.argsort(valid, kind="stable")
        ranked = valid[order]
        if method == "holm":
            ranked = np.maximum.accumulate(ranked * np.arange(m, 0, -1))
        else:
            ranked = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
        adjusted = np.empty(m)
        adjusted[order] = ranked
    # an adjusted p-value is never below the raw one (BH's ratio can round one ulp under)
    out[ok] = np.minimum(np.maximum(adjusted, valid), 1.0)
    return out


# --- building blocks ------------------------------------------------------------------


def _welch(
    *,
    method: str,
    n_c: np.ndarray,
    n_t: np.ndarray,
    m_c: np.ndarray,
    m_t: np.ndarray,
    var_c: np.ndarray,
    var_t: np.ndarray,
    alpha: float,
    alternative: str,
    relative_method: str,
    scalar: bool,
    originals: tuple[Any, Any],
    baseline: np.ndarray | None = None,
    var_baseline: np.ndarray | None = None,
    cov: np.ndarray | None = None,
    effect: np.ndarray | None = None,
    **extras: Any,
) -> Comparison:
    with np.errstate(all="ignore"):
        v_c = var_c / n_c
        v_t = var_t / n_t
        var_effect = v_c + v_t
        df = var_effect**2 / (v_c**2 / (n_c - 1) + v_t**2 / (n_t - 1))
    empty = (n_c == 0) | (n_t == 0)
    few = ~empty & ((n_c < 2) | (n_t < 2))
    flat = ~empty & ~few & (var_c <= 0) & (var_t <= 0)
    return _build(
        method=method,
        n_c=n_c,
        n_t=n_t,
        mean_c=m_c,
        mean_t=m_t,
        effect=m_t - m_c if effect is None else effect,
        var_effect=var_effect,
        var_null=var_effect,
        df=df,
        baseline=m_c if baseline is None else baseline,
        var_baseline=v_c if var_baseline is None else var_baseline,
        cov=-v_c if cov is None else cov,
        alpha=alpha,
        alternative=alternative,
        relative_method=relative_method,
        codes=[(EMPTY_ARM, empty), (TOO_FEW_UNITS, few), (ZERO_VARIANCE, flat)],
        scalar=scalar,
        originals=originals,
        **extras,
    )


def _build(
    *,
    method: str,
    n_c: np.ndarray,
    n_t: np.ndarray,
    mean_c: Any,
    mean_t: Any,
    effect: Any,
    var_effect: Any,
    var_null: Any,
    df: Any,
    baseline: Any,
    var_baseline: Any,
    cov: Any,
    alpha: float,
    alternative: str,
    relative_method: str,
    codes: list[tuple[str, Any]],
    scalar: bool,
    originals: tuple[Any, Any],
    **extras: Any,
) -> Comparison:
    """Turn an effect and its variances into a Comparison; ``codes`` in precedence order."""
    arrays = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (mean_c, mean_t, effect, var_effect, var_null))
    )
    shape = arrays[0].shape
    invalid = np.zeros(shape, dtype=bool)
    for _, mask in codes:
        invalid |= np.broadcast_to(mask, shape)
    with np.errstate(all="ignore"):
        df = np.broadcast_to(np.asarray(df, dtype=float), shape)
        se = np.sqrt(np.asarray(var_effect, dtype=float))
        se_null = np.sqrt(np.asarray(var_null, dtype=float))
        statistic = np.where(invalid, np.nan, effect / se_null)
        crit = _critical(alpha, df, alternative)
        low = np.where(invalid, np.nan, effect - crit * se)
        high = np.where(invalid, np.nan, effect + crit * se)
        low, high = _one_sided(low, high, alternative)
        baseline = np.asarray(baseline, dtype=float)
        zero_base = ~invalid & (baseline == 0)
        b, v_b, c = np.abs(baseline), np.asarray(var_baseline, float), np.sign(baseline) * cov
        rel = np.where(invalid | zero_base, np.nan, effect / b)
        rel_low, rel_high, rel_code = _relative_ci(
            effect, se**2, b, v_b, c, crit, relative_method, alternative
        )
        rel_low = np.where(invalid | zero_base, np.nan, rel_low)
        rel_high = np.where(invalid | zero_base, np.nan, rel_high)
    error = np.full(shape, None, dtype=object)
    all_codes = [*codes, (ZERO_CONTROL_MEAN, zero_base)]
    if rel_code is not None:
        all_codes.append((rel_code[0], ~invalid & ~zero_base & rel_code[1]))
    for code, mask in reversed(all_codes):
        error[np.broadcast_to(mask, shape)] = code

    def out(value: Any) -> Number:
        return _out(np.broadcast_to(np.asarray(value, dtype=float), shape), scalar)

    def finite(value: np.ndarray) -> Number:
        return out(np.where(np.isfinite(value), value, np.nan))

    return Comparison(
        control_mean=out(mean_c),
        treatment_mean=out(mean_t),
        abs_effect=out(effect),
        abs_ci_low=out(low),
        abs_ci_high=out(high),
        rel_effect=out(rel),
        rel_ci_low=out(rel_low),
        rel_ci_high=out(rel_high),
        p_value=out(_p_value(statistic, df, alternative)),
        error=error.item() if scalar else error,
        statistic=out(statistic),
        se=finite(se),
        se_null=finite(se_null),
        df=out(df),
        n_control=_plain(originals[0], scalar, shape),
        n_treatment=_plain(originals[1], scalar, shape),
        alpha=alpha,
        alternative=alternative,
        relative_method=relative_method,
        method=method,
        rel_baseline=out(baseline),
        rel_baseline_se=out(np.sqrt(v_b)),
        rel_cov=out(cov),
        **{k: out(v) for k, v in extras.items()},
    )


def _relative_ci(
    a: Any, v_a: Any, b: Any, v_b: Any, cov: Any, crit: Any, method: str, alternative: str
) -> tuple[np.ndarray, np.ndarray, tuple[str, np.ndarray] | None]:
    """Interval for ``a / b`` (``b > 0``, ``cov = cov(a, b)``) and a relative error code.

    Fieller solves ``(a - t b)**2 = q**2 (v_a - 2 t cov + t**2 v_b)`` for ``t``; the
    quadratic opens upwards (a bounded interval) only when ``g = q**2 v_b / b**2 < 1``.
    """
    a, v_a, b, v_b, cov, crit = (np.asarray(v, dtype=float) for v in (a, v_a, b, v_b, cov, crit))
    code: tuple[str, np.ndarray] | None = None
    with np.errstate(all="ignore"):
        if method == "fieller":
            q2 = crit**2
            quad = b**2 - q2 * v_b
            half = a * b - q2 * cov
            const = a**2 - q2 * v_a
            root = np.sqrt(np.maximum(half**2 - quad * const, 0.0))
            unbounded = quad <= 0
            low = np.where(unbounded, -np.inf, (half - root) / quad)
            high = np.where(unbounded, np.inf, (half + root) / quad)
            code = (UNBOUNDED_RELATIVE_CI, unbounded)
        elif method == "log":
            log_ratio, se_log = _log_parts(a, v_a, b, v_b, cov)
            low = np.expm1(log_ratio - crit * se_log)
            high = np.expm1(log_ratio + crit * se_log)
            code = (LOG_UNDEFINED, np.isnan(log_ratio))
        else:
            se_rel = _delta_se(a, v_a, b, v_b, cov)
            low = a / b - crit * se_rel
            high = a / b + crit * se_rel
    low, high = _one_sided(low, high, alternative)
    return low, high, code


def _log_parts(a: Any, v_a: Any, b: Any, v_b: Any, cov: Any) -> tuple[np.ndarray, np.ndarray]:
    """log(treatment / baseline) and its delta-method SE, with treatment = a + b."""
    with np.errstate(all="ignore"):
        num = a + b
        ok = num > 0
        log_ratio = np.where(ok, np.log(np.where(ok, num, 1.0) / b), np.nan)
        var_num = v_a + v_b + 2 * cov
        var_log = var_num / num**2 + v_b / b**2 - 2 * (cov + v_b) / (num * b)
        return log_ratio, np.sqrt(np.maximum(var_log, 0.0))


def _delta_se(a: Any, v_a: Any, b: Any, v_b: Any, cov: Any) -> np.ndarray:
    with np.errstate(all="ignore"):
        var = v_a / b**2 - 2 * a * cov / b**3 + a**2 * v_b / b**4
        return np.sqrt(np.maximum(var, 0.0))


def _relative_parts(c: Comparison) -> tuple[np.ndarray, ...]:
    """(a, var a, |b|, var b, cov(a, |b|), df) with NaNs where a relative effect is undefined."""
    base = np.asarray(c.rel_baseline, dtype=float)
    bad = np.isnan(np.asarray(c.p_value, dtype=float)) | (base == 0)
    a = np.where(bad, np.nan, np.asarray(c.abs_effect, dtype=float))
    return (
        a,
        np.asarray(c.se, dtype=float) ** 2,
        np.abs(base),
        np.asarray(c.rel_baseline_se, dtype=float) ** 2,
        np.sign(base) * np.asarray(c.rel_cov, dtype=float),
        np.asarray(c.df, dtype=float),
    )


def _margin_test(
    comparison: Comparison,
    kind: str,
    direction: str,
    threshold: np.ndarray,
    alpha: float | None,
    relative_method: str | None,
) -> MarginTest:
    alpha = comparison.alpha if alpha is None else alpha
    method = comparison.relative_method if relative_method is None else relative_method
    alternative = "greater" if direction == "increase" else "less"
    _check_options(alpha, alternative, method)
    low, high = relative_interval(comparison, method, alpha=alpha, alternative=alternative)
    bound = low if direction == "increase" else high
    beyond = np.asarray(bound) > threshold if direction == "increase" else bound < threshold
    passed = beyond & ~np.isnan(np.asarray(bound, dtype=float))
    p_value = relative_p_value(comparison, threshold, alternative=alternative, method=method)
    p_value = _out(np.where(np.isinf(bound), np.nan, p_value), not comparison._vector)
    scalar = not comparison._vector
    return MarginTest(
        kind=kind,
        direction=direction,
        threshold=_out(threshold, scalar and np.ndim(threshold) == 0),
        bound=bound,
        p_value=p_value,
        passed=bool(passed) if np.ndim(passed) == 0 else passed,
        alpha=alpha,
        relative_method=method,
        error=comparison.error,
    )


def _critical(alpha: Any, df: Any, alternative: str) -> np.ndarray:
    tail = np.asarray(alpha, dtype=float) / (2 if alternative == "two-sided" else 1)
    return sps.t.isf(tail, df)


def _p_value(statistic: Any, df: Any, alternative: str) -> np.ndarray:
    if alternative == "two-sided":
        return np.minimum(2 * sps.t.sf(np.abs(statistic), df), 1.0)
    if alternative == "greater":
        return sps.t.sf(statistic, df)
    return sps.t.cdf(statistic, df)


def _one_sided(low: Any, high: Any, alternative: str) -> tuple[np.ndarray, np.ndarray]:
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    if alternative == "greater":
        high = np.where(np.isnan(low), np.nan, np.inf)
    elif alternative == "less":
        low = np.where(np.isnan(high), np.nan, -np.inf)
    return low, high


def _mean_var(
    n: np.ndarray, total: Any, total_sq: Any, shift: Any = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample variance (ddof=1) from sums of ``value - shift``; rounding noise
    around zero is zero. The variance reads the shifted sums, so a shift near the mean keeps
    the digits a raw sum of squares would lose."""
    total = np.asarray(total, dtype=float)
    total_sq = np.asarray(total_sq, dtype=float)
    with np.errstate(all="ignore"):
        centre = np.where(n > 0, total / n, np.nan)
        mean = centre + np.asarray(shift, dtype=float)
        ss = np.maximum(total_sq - total * centre, 0.0)
        ss = np.where(ss <= _ZERO_VARIANCE_RTOL * np.abs(total_sq), 0.0, ss)
        var = np.where(n >= 2, ss / (n - 1), np.nan)
    return mean, var


def _difference(n_c: Any, sum_c: Any, shift_c: Any, n_t: Any, sum_t: Any, shift_t: Any) -> Any:
    """``mean_t - mean_c`` from sums of shifted values: the shifted means' difference plus
    the shifts' (0 when they are one constant), not a difference of two large means that
    has already lost its last digits (a timestamp's mean of 1.7e12 keeps 2e-4 of them)."""
    with np.errstate(all="ignore"):
        centre_c = np.asarray(sum_c, dtype=float) / n_c
        centre_t = np.asarray(sum_t, dtype=float) / n_t
        return (centre_t - centre_c) + (np.asarray(shift_t, float) - np.asarray(shift_c, float))


def _cov(n: np.ndarray, pair: PairStatistic) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(n >= 2, _centred(n, pair.sum_xy, pair.sum_x, pair.sum_y) / (n - 1), np.nan)


def _centred(n: np.ndarray, cross: Any, total_a: Any, total_b: Any) -> np.ndarray:
    """``sum(a b) - sum(a) sum(b) / n``: the within-arm centred cross-product (0 if empty)."""
    with np.errstate(all="ignore"):
        value = (
            np.asarray(cross, float) - np.asarray(total_a, float) * np.asarray(total_b, float) / n
        )
    return np.where(n > 0, value, 0.0)


def _ratio_var(n: np.ndarray, pair: PairStatistic) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratio of means, its delta-method variance, and where the denominator is zero."""
    ybar, var_y = _mean_var(n, pair.sum_y, pair.sum_y_sq, pair.shift_y)
    xbar, var_x = _mean_var(n, pair.sum_x, pair.sum_x_sq, pair.shift_x)
    cov = _cov(n, pair)
    zero_x = (n > 0) & (xbar == 0)
    with np.errstate(all="ignore"):
        ratio = ybar / xbar
        var = (var_y - 2 * ratio * cov + ratio**2 * var_x) / (n * xbar**2)
        noise = _ZERO_VARIANCE_RTOL * (var_y + ratio**2 * var_x) / (n * xbar**2)
        var = np.where(var <= noise, 0.0, var)
    return ratio, var, zero_x


def _check_options(alpha: Any, alternative: str, relative_method: str) -> None:
    check_scalar(alpha, "alpha", gt=0, lt=1)
    check_scalar(alternative, "alternative", in_=config.ALTERNATIVES)
    check_scalar(relative_method, "relative_method", in_=config.RELATIVE_CI_METHODS)


def _direction_sign(direction: str) -> float:
    check_scalar(direction, "direction", in_=("increase", "decrease"))
    return 1.0 if direction == "increase" else -1.0


def _nonneg(value: Any, name: str, *, allow_nan: bool = False) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if allow_nan:
        if np.any(arr < 0):
            check_scalar(np.where(np.isnan(arr), 0.0, arr), name, ge=0)
    else:
        check_scalar(value, name, ge=0)
    return arr


def _at_most(value: np.ndarray, limit: np.ndarray, name: str, limit_name: str) -> None:
    if np.any(value > limit):
        raise ValueError(f"{name} must be <= {limit_name}: a count cannot exceed its units.")


def _finite_where(value: np.ndarray, needed: Any, name: str) -> None:
    if np.any(~np.isfinite(value) & needed):
        raise ValueError(f"{name} must be a finite number where its arm has units.")


def _all_scalar(*values: Any) -> bool:
    return all(np.ndim(v) == 0 for v in values)


def _sample_fields(s: SampleMean) -> tuple[Any, ...]:
    return s.n, s.sum, s.sum_sq, s.shift


def _pair_fields(p: PairStatistic) -> tuple[Any, ...]:
    return p.n, p.sum_y, p.sum_y_sq, p.sum_x, p.sum_x_sq, p.sum_xy, p.shift_y, p.shift_x


def _unshifted(s: SampleMean) -> SampleMean:
    """Sums of the raw values: a proportion's test reads ``sum`` as its conversions."""
    if np.ndim(s.shift) == 0 and s.shift == 0:
        return s
    d = np.asarray(s.shift, dtype=float)
    total = np.asarray(s.sum, dtype=float) + s.n * d
    return SampleMean(s.n, total, np.asarray(s.sum_sq) + 2 * d * np.asarray(s.sum) + s.n * d * d)


def _out(value: Any, scalar: bool) -> Number:
    return float(np.asarray(value)) if scalar else np.asarray(value, dtype=float)


def _plain(value: Any, scalar: bool, shape: tuple[int, ...]) -> Any:
    if not scalar:
        return np.broadcast_to(np.asarray(value), shape).copy()
    return value.item() if hasattr(value, "item") else value
