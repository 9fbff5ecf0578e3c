"""The Bayesian readout: a normal posterior on the lift, chance to beat and expected loss.

From an estimate and its standard error (absolute or relative, any metric type: the
likelihood is the estimate's asymptotic normal distribution) and a normal prior on the same
scale, the posterior is normal with

    precision = 1 / se**2 + 1 / prior_sd**2
    mean      = (estimate / se**2 + prior_mean / prior_sd**2) / precision

A flat (improper) prior, ``prior_sd=None``, leaves the likelihood as the posterior. This is
GrowthBook's ``EffectBayesianABTest`` (gbstats), and the tests reproduce its published
numbers.

Reading the numbers:

* **chance to beat** is the posterior probability that the treatment is better than the
  control in the metric's good direction. It is **not 1 − p**: a p-value is the chance of
  data at least this extreme *if there were no effect*, a statement about the data, not about
  the effect. With a flat prior the two happen to be tied (chance to beat = 1 − p/2 for a
  two-sided p when the estimate is positive), and any proper prior breaks even that tie; a
  95% chance to beat also says nothing about how *large* the win is.
* **expected loss of shipping** ``E[max(0, -X)]``: the lift given up, averaged over the
  posterior, if we ship and the treatment is in fact worse (``X`` is the lift in the good
  direction); **of not shipping** ``E[max(0, X)]``: what we give up by keeping the control
  if the treatment is in fact better. For ``X ~ N(m, s**2)`` in closed form,
  ``E[max(0, X)] = m Phi(m/s) + s phi(m/s)`` and ``E[max(0, -X)] = -m Phi(-m/s) + s phi(m/s)``.
  Ship when the loss of shipping is below what the team tolerates (GrowthBook's "risk").

>>> r = posterior(0.05, 0.02)
>>> round(r.chance_to_beat, 4), round(r.expected_loss_ship, 5), round(r.ci_low, 4)
(0.9938, 4e-05, 0.0108)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from abcore import config
from abcore._checks import check_scalar
from abcore.sequential import relative_se

if TYPE_CHECKING:
    from abcore.stats import Comparison

__all__ = [
    "ERRORS",
    "BayesResult",
    "bayes_comparison",
    "expected_losses",
    "posterior",
]

Number: TypeAlias = float | npt.NDArray[np.float64]

INVALID_SE = "invalid_se"
ERRORS: dict[str, str] = {
    INVALID_SE: "The standard error is missing or not positive, so there is no posterior.",
}
"""Error codes a :class:`BayesResult` may carry, with a sentence a page can show."""

DIRECTIONS = ("increase", "decrease")


@dataclass(frozen=True)
class BayesResult:
    """Posterior of the lift and what it means for the launch.

    Fields hold floats for scalar inputs and numpy arrays for vectorised inputs.

    Attributes:
        estimate: posterior mean of the effect (treatment minus control, on the input scale).
        sd: posterior standard deviation.
        ci_low, ci_high: equal-tailed credible interval at ``1 - alpha`` (one-sided
            alternatives put an infinite bound on the other side).
        chance_to_beat: posterior probability that the treatment is better in ``direction``
            (not 1 − p; see the module docstring).
        expected_loss_ship: ``E[max(0, -X)]`` with ``X`` the lift in the good direction.
        expected_loss_keep: ``E[max(0, X)]``: the expected loss of not shipping.
        data_estimate, data_se: the likelihood (the estimate and its standard error).
        prior_mean, prior_sd: the prior (``prior_sd`` None: flat).
        alpha, alternative, direction: options used.
        error: ``None`` or a code from :data:`ERRORS`.
    """

    estimate: Number
    sd: Number
    ci_low: Number
    ci_high: Number
    chance_to_beat: Number
    expected_loss_ship: Number
    expected_loss_keep: Number
    data_estimate: Number
    data_se: Number
    prior_mean: float
    prior_sd: float | None
    alpha: float
    alternative: str
    direction: str
    error: Any

    def to_dict(self) -> dict[str, Any]:
        """Every field by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def expected_losses(mean: Any, sd: Any) -> tuple[Number, Number]:
    """``(E[max(0, -X)], E[max(0, X)])`` for ``X ~ N(mean, sd**2)``, in closed form.

    >>> [round(v, 5) for v in expected_losses(0.0, 1.0)]   # both are sd / sqrt(2 pi)
    [0.39894, 0.39894]
    """
    m = np.asarray(mean, dtype=float)
    s = np.asarray(sd, dtype=float)
    with np.errstate(all="ignore"):
        z = m / s
        density = s * norm.pdf(z)
        below = -m * norm.cdf(-z) + density
        above = m * norm.cdf(z) + density
    scalar = np.ndim(below) == 0
    return (float(below), float(above)) if scalar else (below, above)


def posterior(
    estimate: Any,
    se: Any,
    *,
    prior_mean: float = config.BAYES_PRIOR_MEAN,
    prior_sd: float | None = config.BAYES_PRIOR_SD,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    direction: str = "increase",
) -> BayesResult:
    """Normal posterior of an effect from its estimate and standard error.

    Args:
        estimate: the effect (absolute, or relative such as ``rel_effect``).
        se: its standard error (for a relative effect, the delta-method SE).
        prior_mean, prior_sd: normal prior on the same scale as ``estimate``;
            ``prior_sd=None`` is flat. ``config.BAYES_PROPER_PRIOR_SD`` (0.3) is a sensible
            proper prior for a relative lift.
        alpha: one minus the credible level, in (0, 1).
        alternative: ``"two-sided"`` (equal-tailed interval), ``"greater"`` or ``"less"``.
        direction: the metric's good direction, ``"increase"`` or ``"decrease"``: it sets
            which side "beats" the control and which loss is the loss of shipping.

    >>> r = posterior(0.05, 0.02, prior_mean=0.0, prior_sd=0.02)   # shrinks halfway to 0
    >>> round(r.estimate, 4), round(r.sd, 5), round(r.chance_to_beat, 4)
    (0.025, 0.01414, 0.9615)
    """
    check_scalar(alpha, "alpha", gt=0, lt=1)
    check_scalar(alternative, "alternative", in_=config.ALTERNATIVES)
    check_scalar(direction, "direction", in_=DIRECTIONS)
    check_scalar(prior_mean, "prior_mean")
    if prior_sd is not None:
        check_scalar(prior_sd, "prior_sd", gt=0)
        if not np.isfinite(prior_sd):
            raise ValueError(f"prior_sd must be finite (None for a flat prior), got {prior_sd!r}.")
    est = np.asarray(estimate, dtype=float)
    s = np.asarray(se, dtype=float)
    shape = np.broadcast_shapes(est.shape, s.shape)
    est, s = np.broadcast_to(est, shape), np.broadcast_to(s, shape)
    invalid = ~np.isfinite(s) | (s <= 0) | ~np.isfinite(est)
    with np.errstate(all="ignore"):
        precision = 1 / s**2
        if prior_sd is None:
            mean, sd = est.astype(float), s.astype(float)
        else:
            prior_precision = 1 / prior_sd**2
            total = precision + prior_precision
            mean = (est * precision + prior_mean * prior_precision) / total
            sd = np.sqrt(1 / total)
        mean = np.where(invalid, np.nan, mean)
        sd = np.where(invalid, np.nan, sd)
        tail = alpha / 2 if alternative == "two-sided" else alpha
        q = norm.isf(tail)
        low, high = mean - q * sd, mean + q * sd
        if alternative == "greater":
            high = np.where(invalid, np.nan, np.inf)
        elif alternative == "less":
            low = np.where(invalid, np.nan, -np.inf)
        sign = 1.0 if direction == "increase" else -1.0
        good = sign * mean
        beat = norm.sf(0.0, loc=good, scale=sd)
        loss_ship, loss_keep = expected_losses(good, sd)
    error = np.full(shape, None, dtype=object)
    error[invalid] = INVALID_SE
    scalar = len(shape) == 0

    def out(value: Any) -> Number:
        arr = np.asarray(value, dtype=float)
        return float(arr) if scalar else arr

    return BayesResult(
        estimate=out(mean),
        sd=out(sd),
        ci_low=out(low),
        ci_high=out(high),
        chance_to_beat=out(beat),
        expected_loss_ship=out(loss_ship),
        expected_loss_keep=out(loss_keep),
        data_estimate=out(est),
        data_se=out(s),
        prior_mean=float(prior_mean),
        prior_sd=None if prior_sd is None else float(prior_sd),
        alpha=alpha,
        alternative=alternative,
        direction=direction,
        error=error.item() if scalar else error,
    )


def bayes_comparison(
    comparison: Comparison,
    *,
    relative: bool = True,
    prior_mean: float = config.BAYES_PRIOR_MEAN,
    prior_sd: float | None = config.BAYES_PRIOR_SD,
    alpha: float | None = None,
    alternative: str = "two-sided",
    direction: str = "increase",
    prior_relative: bool = True,
) -> BayesResult:
    """The Bayesian readout of a :class:`~abcore.stats.Comparison`.

    ``relative=True`` puts the posterior on the relative lift (``rel_effect`` with its
    delta-method SE, as GrowthBook does); ``relative=False`` on the absolute difference.
    With ``prior_relative=True`` (the default) the prior is stated as a relative lift (0.3:
    a 30% lift is one prior sd), the scale a PM thinks in, and an absolute readout rescales
    it by the control mean, as gbstats' ``prior_type="relative"``; ``False`` takes the prior
    on the readout's own scale. The comparison's error code, if any, is carried over.

    >>> from abcore.stats import compare_proportions
    >>> r = bayes_comparison(compare_proportions(100, 49, 100, 51))   # gbstats' TestBinom
    >>> round(r.estimate, 5), round(r.chance_to_beat, 5), round(r.expected_loss_ship, 5)
    (0.04082, 0.60918, 0.04058)
    """
    alpha = comparison.alpha if alpha is None else alpha
    if relative:
        estimate = comparison.rel_effect
        se = relative_se(
            comparison.abs_effect,
            comparison.se,
            comparison.rel_baseline,
            comparison.rel_baseline_se,
            comparison.rel_cov,
        )
    else:
        estimate, se = comparison.abs_effect, comparison.se
        if prior_relative and prior_sd is not None:
            scale = float(np.nanmean(np.abs(np.asarray(comparison.rel_baseline, dtype=float))))
            if not scale > 0:
                raise ValueError(
                    "prior_relative needs a control mean that is not 0: pass the prior on the "
                    "absolute scale with prior_relative=False."
                )
            prior_mean, prior_sd = prior_mean * scale, prior_sd * scale
    result = posterior(
        estimate,
        se,
        prior_mean=prior_mean,
        prior_sd=prior_sd,
        alpha=alpha,
        alternative=alternative,
        direction=direction,
    )
    own = comparison.error
    if isinstance(own, np.ndarray):
        if any(e is not None for e in own.flat):
            merged = np.where(np.equal(own, None), result.error, own)
            return _replace(result, error=merged)
        return result
    return result if own is None else _replace(result, error=own)


def _replace(result: BayesResult, **changes: Any) -> BayesResult:
    values = result.to_dict()
    values.update(changes)
    return BayesResult(**values)
