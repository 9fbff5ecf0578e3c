"""Regression adjustment beyond one covariate: several covariates, post-stratification by a
segment, and CUPED on ratio metrics, all from :class:`~abcore.suffstats.MomentStatistic`
(counts, sums and cross-products that add up across cells like every other statistic).

* :func:`compare_regression`: the effect of the arm in the OLS fit
  ``y ~ 1 + treatment + x_1 + ... + x_p`` on the two arms' units, with its classical
  standard error; it equals ``statsmodels.OLS(y, [1, T, X]).fit()`` to rounding.
* :func:`strata_moments`: a segment's dummies as covariates, built from the segment cells
  every readout already has (so the file path and the warehouse query agree by
  construction); :func:`compare_regression` on them is OLS with stratum dummies.
* :func:`compare_ratio_cuped`: CUPED on a ratio metric by the delta method, as tea-tasting's
  ``RatioOfMeans(numer, denom, numer_covariate, denom_covariate)`` computes it.

The single-covariate CUPED of :func:`abcore.stats.compare_cuped` is unchanged (Welch on the
adjusted arms, θ taken as known, as gbstats and tea-tasting do): saved readouts and share
links read as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from abcore import config, stats
from abcore.stats import EMPTY_ARM, TOO_FEW_UNITS, ZERO_DENOMINATOR, ZERO_VARIANCE, Comparison
from abcore.suffstats import MomentStatistic, SampleMean

__all__ = ["compare_ratio_cuped", "compare_regression", "regression_theta", "strata_moments"]

_RTOL = 1e-10
"""Pivots below this fraction of the matrix's scale are rounding noise: a covariate that is
constant (or a combination of the others) gets a zero coefficient, as in CUPED."""


def _pinv(matrix: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of stacked symmetric matrices: the inverse when they have full rank,
    and a zero coefficient for a covariate that adds nothing (constant, collinear)."""
    if matrix.shape[-1] == 0:
        return matrix
    return np.linalg.pinv(matrix, rcond=_RTOL, hermitian=True)


def regression_theta(control: MomentStatistic, treatment: MomentStatistic) -> np.ndarray:
    """The pooled coefficient vector ``θ = Wxx⁻¹ Wxy`` of ``y`` (variable 0) on the
    covariates (variables 1..p), ``W`` the within-arm centred cross-products summed over
    the arms: the slope of the OLS fit with an arm dummy (a treatment effect on ``y`` stays
    out of it), one θ for both arms so the adjustment cancels from the difference in
    expectation. One covariate: :func:`abcore.stats.cuped_theta`."""
    w = control.centred + treatment.centred
    return np.einsum("...ij,...j->...i", _pinv(w[..., 1:, 1:]), w[..., 1:, 0])


def compare_regression(
    control: MomentStatistic,
    treatment: MomentStatistic,
    *,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    relative_method: str = config.RELATIVE_CI,
) -> Comparison:
    """Compare means adjusted for several covariates (CUPED/CUPAC, post-stratification).

    The effect is ``Δȳ - θᵀ Δx̄`` with the pooled within-arm θ (:func:`regression_theta`):
    the coefficient of the arm dummy in the OLS fit ``y ~ 1 + T + x_1 + ... + x_p`` on the
    two arms' units (centring the covariates moves the intercept only).

    Its variance is the classical (homoskedastic) OLS one,
    ``σ² (1/n_c + 1/n_t + Δx̄ᵀ Wxx⁻¹ Δx̄)`` with ``σ² = RSS / (n_c + n_t - p - 2)``, and the
    test a t test on those degrees of freedom: exactly
    ``statsmodels.OLS(y, [1, T, X]).fit()``'s ``bse``, ``conf_int`` and ``pvalues`` for
    ``T``. Why classical and not HC-robust: a sandwich needs ``Σ e² x xᵀ``, fourth moments
    that per-cell sums do not carry, so no robust variance is exact from sufficient
    statistics. The classical one keeps the term ``Δx̄ᵀ Wxx⁻¹ Δx̄`` for the estimated θ,
    which gbstats' and tea-tasting's CUPED (Welch on the adjusted arms, θ taken as known)
    drop; it assumes one residual variance in both arms. That holds under the null of no
    effect on the distribution (the false-positive rate is right); with arms of equal size it
    stays asymptotically valid even when the arms' variances differ (Freedman 2008, Lin
    2013); with unequal arms and unequal variances it can be too narrow, the price of a
    variance that the cells' sums give exactly. (Lin's interacted fit, one θ per arm, needs
    the HC sandwich for its guarantee: fourth moments again.) The calibration tests measure
    its coverage and false-positive rate with three correlated covariates.

    The relative effect divides by the unadjusted control mean, as for CUPED
    (:func:`abcore.stats.compare_cuped`).

    Args:
        control, treatment: moments of ``(y, x_1, ..., x_p)``, ``y`` the metric.
        alpha, alternative, relative_method: as in :func:`abcore.stats.compare_samples`.
    """
    _same_variables(control, treatment)
    stats._check_options(alpha, alternative, relative_method)
    n_c, n_t = control.n, treatment.n
    p = control.k - 1
    theta = regression_theta(control, treatment)
    w = control.centred + treatment.centred
    with np.errstate(all="ignore"):
        mean_c, mean_t = control.means, treatment.means
        diff = (treatment.sums / n_t[..., None] - control.sums / n_c[..., None]) + (
            treatment.shifts - control.shifts
        )
        dx = diff[..., 1:]
        effect = diff[..., 0] - np.einsum("...i,...i->...", theta, dx)
        rss = w[..., 0, 0] - np.einsum("...i,...i->...", theta, w[..., 1:, 0])
        rss = np.where(rss <= _RTOL * w[..., 0, 0], 0.0, rss)
        df = n_c + n_t - p - 2
        sigma2 = rss / df
        leverage = np.einsum("...i,...ij,...j->...", dx, _pinv(w[..., 1:, 1:]), dx)
        var_effect = sigma2 * (1 / n_c + 1 / n_t + leverage)
        raw_var = w[..., 0, 0] / (n_c + n_t - 2) * (1 / n_c + 1 / n_t)
        pooled_x = (n_c[..., None] * mean_c[..., 1:] + n_t[..., None] * mean_t[..., 1:]) / (
            n_c + n_t
        )[..., None]
        adjust_c = np.einsum("...i,...i->...", theta, mean_c[..., 1:] - pooled_x)
        adjust_t = np.einsum("...i,...i->...", theta, mean_t[..., 1:] - pooled_x)
        cov_c = control.covariance
        var_yc = cov_c[..., 0, 0]
        cov_effect_base = -(var_yc - np.einsum("...i,...i->...", theta, cov_c[..., 1:, 0])) / n_c
    empty = (n_c == 0) | (n_t == 0)
    few = ~empty & ((n_c < 2) | (n_t < 2) | (df < 1))
    scalar = np.ndim(n_c) == 0 and np.ndim(n_t) == 0
    return stats._build(
        method="ols_adjusted",
        n_c=n_c,
        n_t=n_t,
        mean_c=mean_c[..., 0] - adjust_c,
        mean_t=mean_t[..., 0] - adjust_t,
        effect=effect,
        var_effect=var_effect,
        var_null=var_effect,
        df=df,
        baseline=mean_c[..., 0],
        var_baseline=var_yc / n_c,
        cov=cov_effect_base,
        alpha=alpha,
        alternative=alternative,
        relative_method=relative_method,
        codes=[
            (EMPTY_ARM, empty),
            (TOO_FEW_UNITS, few),
            (ZERO_VARIANCE, ~empty & ~few & (rss <= 0)),
        ],
        scalar=scalar,
        originals=(_count(n_c, scalar), _count(n_t, scalar)),
        theta=theta[..., 0] if p == 1 else np.nan,
        variance_reduction=1 - var_effect / raw_var,
    )


def strata_moments(
    overall: SampleMean | MomentStatistic, cells: Sequence[SampleMean | MomentStatistic]
) -> MomentStatistic:
    """Moments of ``(y, [x...], d_2, ..., d_K)`` for one arm: its variables followed by the
    dummies of a segment's strata, built from the segment's cells.

    Each cell holds the arm's units in one segment value; ``Σ d_s z = `` the cell's sums,
    ``Σ d_s d_r`` is its count on the diagonal and 0 elsewhere. Units with no segment value
    (the overall minus the cells) form a stratum of their own. The first stratum is the
    baseline (no dummy), as in ``y ~ 1 + T + C(segment)``. Every arm must list the same
    strata in the same order (a stratum an arm lacks: an empty cell,
    ``SampleMean(0, 0.0, 0.0)``).
    """
    total = _moments(overall)
    parts = [_moments(c).shifted(total.shifts) for c in cells]
    rest = total
    for part in parts:
        rest = rest - part
    if np.any(rest.n > 0.5):
        parts.append(rest)
    dummies = parts[1:]
    k, s = total.k, len(dummies)
    sums = np.concatenate([total.sums, np.stack([d.n for d in dummies], axis=-1)], axis=-1)
    cross = np.zeros((*total.n.shape, k + s, k + s))
    cross[..., :k, :k] = total.cross
    for j, d in enumerate(dummies):
        cross[..., :k, k + j] = d.sums
        cross[..., k + j, :k] = d.sums
        cross[..., k + j, k + j] = d.n
    return MomentStatistic(total.n, sums, cross, np.concatenate([total.shifts, np.zeros(s)]))


def compare_ratio_cuped(
    control: MomentStatistic,
    treatment: MomentStatistic,
    *,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    relative_method: str = config.RELATIVE_CI,
) -> Comparison:
    """CUPED on a ratio metric, by the delta method, as tea-tasting computes it.

    The variables are ``(numerator, denominator, covariate numerator, covariate
    denominator)`` per unit (a covariate without a denominator: a column of ones). Each arm's
    ratio ``r = ȳ / d̄`` and pre-period ratio ``q = c̄ / ē`` are linearised; the
    coefficient ``θ = cov(r, q) / var(q)`` is read on both arms pooled as one sample, the
    adjusted ratio is ``r - θ (q - q_pooled)`` with per-unit variance
    ``var r + θ² var q - 2 θ cov(r, q)`` (each by the delta method, Deng et al. 2018), and
    Welch's t test compares the arms. This is tea-tasting 1.14's
    ``RatioOfMeans(numer, denom, numer_covariate, denom_covariate)`` (``equal_var=False``,
    ``use_t=True``) and gbstats' ``RegressionAdjustedRatioStatistic`` in spirit (gbstats
    pools θ the same way). The relative effect divides by the unadjusted control ratio.
    """
    _same_variables(control, treatment)
    if control.k != 4:
        raise ValueError(
            "control must hold 4 variables (numerator, denominator, covariate numerator, "
            f"covariate denominator), got {control.k}."
        )
    stats._check_options(alpha, alternative, relative_method)
    n_c, n_t = control.n, treatment.n
    total = control + treatment
    theta = _ratio_cov(total, 0, 1, 2, 3) / _ratio_cov(total, 2, 3, 2, 3)
    theta = np.where(np.isfinite(theta), theta, 0.0)
    q_total = _ratio(total, 2, 3)

    def arm(s: MomentStatistic) -> tuple[Any, Any, Any]:
        r = _ratio(s, 0, 1)
        adjusted = r - theta * (_ratio(s, 2, 3) - q_total)
        var = (
            _ratio_cov(s, 0, 1, 0, 1)
            + theta**2 * _ratio_cov(s, 2, 3, 2, 3)
            - 2 * theta * _ratio_cov(s, 0, 1, 2, 3)
        )
        return r, adjusted, np.maximum(var, 0.0)

    with np.errstate(all="ignore"):
        r_c, m_c, var_c = arm(control)
        _, m_t, var_t = arm(treatment)
        cov = -(var_c) / n_c
        raw = _ratio_cov(control, 0, 1, 0, 1) / n_c + _ratio_cov(treatment, 0, 1, 0, 1) / n_t
        zero_d = (control.means[..., 1] == 0) | (treatment.means[..., 1] == 0)
    scalar = np.ndim(n_c) == 0 and np.ndim(n_t) == 0
    out = stats._welch(
        method="cuped_delta_ratio",
        n_c=n_c,
        n_t=n_t,
        m_c=m_c,
        m_t=m_t,
        var_c=var_c,
        var_t=var_t,
        alpha=alpha,
        alternative=alternative,
        relative_method=relative_method,
        scalar=scalar,
        originals=(_count(n_c, scalar), _count(n_t, scalar)),
        baseline=r_c,
        var_baseline=_ratio_cov(control, 0, 1, 0, 1) / n_c,
        cov=cov,
        theta=theta,
        variance_reduction=1 - (var_c / n_c + var_t / n_t) / raw,
    )
    if np.any(zero_d & (n_c > 0) & (n_t > 0)):
        return _with_error(out, ZERO_DENOMINATOR, zero_d)
    return out


def _ratio(s: MomentStatistic, num: int, den: int) -> Any:
    means = s.means
    with np.errstate(all="ignore"):
        return means[..., num] / means[..., den]


def _ratio_cov(s: MomentStatistic, a: int, b: int, c: int, d: int) -> Any:
    """Delta-method covariance of the per-unit linearisations of ``a/b`` and ``c/d``
    (tea-tasting's ``Aggregates.ratio_cov``)."""
    m, v = s.means, s.covariance
    with np.errstate(all="ignore"):
        r1, r2 = m[..., a] / m[..., b], m[..., c] / m[..., d]
        return (v[..., a, c] - v[..., a, d] * r2 - v[..., b, c] * r1 + v[..., b, d] * r1 * r2) / (
            m[..., b] * m[..., d]
        )


def _moments(s: SampleMean | MomentStatistic) -> MomentStatistic:
    if isinstance(s, MomentStatistic):
        return s
    return MomentStatistic(s.n, [s.sum], [[s.sum_sq]], [s.shift])


def _same_variables(control: MomentStatistic, treatment: MomentStatistic) -> None:
    if control.k != treatment.k:
        raise ValueError(
            f"treatment must hold the control's {control.k} variables, got {treatment.k}."
        )


def _count(n: np.ndarray, scalar: bool) -> Any:
    return round(float(n)) if scalar else np.rint(n).astype(int)


def _with_error(c: Comparison, code: str, mask: Any) -> Comparison:
    if np.ndim(c.abs_effect) == 0:
        return dataclasses.replace(c, error=code) if bool(mask) else c
    error = np.asarray(c.error, dtype=object).copy()
    error[np.broadcast_to(mask, error.shape)] = code
    return dataclasses.replace(c, error=error)
