"""Peeking-safe inference: always-valid confidence sequences and group-sequential designs.

Two ways to look at an experiment's results before its planned end without inflating the
false-positive rate, both working from an estimate and its standard error, so they serve
proportions, means, ratio metrics and CUPED alike (each reduces to ``abs_effect`` and ``se``
in a :class:`~abcore.stats.Comparison`; the relative effect uses the delta-method SE).

**Always valid** (look any time, as often as you like): the asymptotic confidence sequence
of Waudby-Smith et al. (2023, arXiv:2103.06476, eq. 9), built on the normal-mixture boundary
of Robbins, studied in Howard et al. (2021). With ``n`` units so far (both arms), tuning
parameter ``N*`` (``tuning_n``) and mixing variance ``rho**2``::

    rho**2     = (-2 log a + log(1 - 2 log a)) / N*                     (a = alpha)
    halfwidth  = se * sqrt( 2 (n rho**2 + 1) / (n rho**2) * log( sqrt(n rho**2 + 1) / a ) )

``se * sqrt(n)`` plays the paper's per-unit standard deviation, so any estimator with a
standard error fits. The sequence covers the true effect at *every* n at once with
probability at least ``1 - alpha``, asymptotically (Ville's inequality applied to the
mixture martingale ``E_n = exp(rho**2 n z**2 / (2 (n rho**2 + 1))) / sqrt(n rho**2 + 1)``,
``z = est / se``).
The one-sided sequence uses ``rho`` computed at ``2 alpha`` and the closed-form bound
``log(1 + sqrt(n rho**2 + 1) / (2 alpha))`` in place of ``log(sqrt(n rho**2 + 1) / alpha)``,
as GrowthBook's gbstats does; it lies beyond the exact one-sided (half-normal) mixture
boundary, so it is valid (checked in ``tests/test_sequential.py``).

This is exactly gbstats' ``SequentialTwoSidedTTest`` / ``SequentialOneSided*TTest`` (``N`` =
total units of the pair, ``rho`` from ``sequential_tuning_parameter`` and ``alpha``), and the
tests reproduce its published reference numbers.

**Group sequential** (K planned looks): Lan-DeMets alpha spending, boundaries per look from
the exact joint distribution of the sequential z-statistics (Armitage, McPherson & Rowe's
recursive numerical integration, as in Jennison & Turnbull 2000, ch. 19), checked against
rpact and gsDesign. K prices the plan; the readout's boundary is computed over the looks
actually made, at their information fractions (every earlier day of the data, as Spotify's
confidence counts its time points: :class:`PeekingRule`), so reads at unplanned times keep
alpha (``tests/test_sequential_reads.py``).

Both cost users: :func:`always_valid_inflation` and :meth:`GroupSequentialDesign.inflation`
give the factor by which the fixed-horizon sample size must grow to keep the planned power,
and :func:`method_costs` lays the three methods side by side for the Plan page.

>>> cs = confidence_sequence(0.01, 0.004, 20_000, tuning_n=40_000)
>>> round(cs.ci_low, 4), round(cs.ci_high, 4), round(cs.p_value, 3)
(-0.0023, 0.0223, 0.184)
>>> d = group_sequential_design(4)
>>> [round(b, 3) for b in d.boundaries]
[2.955, 2.559, 2.301, 2.092]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import optimize
from scipy.special import ndtr
from scipy.stats import norm

from abcore import config
from abcore._checks import check_scalar

if TYPE_CHECKING:
    from abcore.stats import Comparison

__all__ = [
    "ERRORS",
    "MAX_Z",
    "ConfidenceSequence",
    "GroupSequentialDesign",
    "LookResult",
    "MethodCost",
    "SequentialComparison",
    "alpha_spending",
    "always_valid_inflation",
    "always_valid_p_value",
    "boundary_crossing",
    "confidence_sequence",
    "cs_boundary_z",
    "evaluate_looks",
    "group_sequential_design",
    "method_costs",
    "mixture_rho",
    "relative_se",
    "sequential_comparison",
]

Number: TypeAlias = float | npt.NDArray[np.float64]
"""A float for scalar inputs, an array of floats for vectorised inputs."""

INVALID_SE = "invalid_se"
NO_UNITS = "no_units"
ERRORS: dict[str, str] = {
    INVALID_SE: "The standard error is missing or not positive, so no interval is possible.",
    NO_UNITS: "No units have been observed yet, so there is nothing to test.",
}
"""Error codes a :class:`ConfidenceSequence` may carry, with a sentence a page can show."""

MAX_Z = 40.0
"""A boundary this far out is never crossed: it stands in for 'no alpha spent here'."""
_TAIL = 8.5
"""Standard deviations of the look's z-distribution kept on the integration grid."""


# --- always-valid confidence sequences -----------------------------------------------------


@dataclass(frozen=True)
class ConfidenceSequence:
    """An always-valid interval and p-value for one effect at the current sample size.

    Fields hold floats for scalar inputs and numpy arrays for vectorised inputs.

    Attributes:
        estimate: the effect (absolute or relative, whichever was passed in).
        se: its standard error.
        ci_low, ci_high: the confidence sequence at this ``n``; one-sided alternatives put an
            infinite bound on the other side.
        p_value: always-valid p-value of ``effect == null`` (the smallest alpha whose sequence,
            with the same ``rho``, excludes ``null``).
        z_boundary: the multiple of ``se`` that makes the half-width (the fixed-horizon test
            would use 1.96 at 5% two-sided).
        n: units observed (both arms).
        tuning_n: N*, the sample size where the sequence is tightest relative to a fixed CI.
        rho: mixing standard deviation implied by ``tuning_n`` and ``alpha``.
        alpha, alternative, null: options used.
        error: ``None`` or a code from :data:`ERRORS`.
    """

    estimate: Number
    se: Number
    ci_low: Number
    ci_high: Number
    p_value: Number
    z_boundary: Number
    n: Number
    tuning_n: Number
    rho: Number
    alpha: float
    alternative: str
    null: float
    error: Any

    @property
    def significant(self) -> bool | npt.NDArray[np.bool_]:
        """Whether the sequence excludes ``null`` (``p_value < alpha``); False on error."""
        below = np.asarray(self.p_value) < self.alpha
        return below if np.ndim(below) else bool(below)

    def to_dict(self) -> dict[str, Any]:
        """Every field by name, e.g. for a table row or JSON."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class SequentialComparison:
    """Absolute and relative confidence sequences for one treatment-vs-control comparison.

    The relative sequence uses the delta-method standard error of the relative effect (the
    same one as GrowthBook and Eppo, and as ``relative_method="delta"`` in
    :mod:`abcore.stats`): confidence sequences are built from asymptotic normality, and the
    delta method is what makes the ratio asymptotically normal.
    """

    absolute: ConfidenceSequence
    relative: ConfidenceSequence

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: ``abs_*`` and ``rel_*`` fields (``ci_low`` -> ``abs_ci_low``...)."""
        out: dict[str, Any] = {}
        for prefix, cs in (("abs", self.absolute), ("rel", self.relative)):
            for key, value in cs.to_dict().items():
                out[f"{prefix}_{key}"] = value
        return out


def mixture_rho(alpha: float, tuning_n: Any, alternative: str = config.ALTERNATIVE) -> Number:
    """Mixing standard deviation ``rho`` that makes the sequence tightest near ``tuning_n``.

    ``rho**2 = (-2 log a + log(1 - 2 log a)) / N*`` with ``a = alpha`` (two-sided) or
    ``a = 2 alpha`` (one-sided): Waudby-Smith et al. (2023, arXiv:2103.06476v7 eq. 161), the
    choice that (nearly) minimises the boundary's width at ``n = N*``; gbstats'
    ``sequential_rho``.

    >>> round(mixture_rho(0.05, 10_000), 6)
    0.028171
    """
    check_scalar(alpha, "alpha", gt=0, lt=1)
    check_scalar(alternative, "alternative", in_=config.ALTERNATIVES)
    check_scalar(tuning_n, "tuning_n", gt=0)
    a = alpha if alternative == "two-sided" else 2 * alpha
    if a >= 1:
        raise ValueError(f"alpha must be < 0.5 for a one-sided sequence, got {alpha!r}.")
    log_a = math.log(a)
    rho = np.sqrt((-2 * log_a + math.log(-2 * log_a + 1)) / np.asarray(tuning_n, dtype=float))
    return float(rho) if np.ndim(rho) == 0 else rho


def cs_boundary_z(
    n: Any,
    *,
    tuning_n: Any,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
) -> Number:
    """Half-width of the confidence sequence in standard errors, at ``n`` units.

    Depends on ``n`` and ``tuning_n`` only through ``n / tuning_n``, so the boundary at a
    given fraction of the plan is the same whatever the plan's size.

    >>> round(cs_boundary_z(10_000, tuning_n=10_000), 3)   # vs 1.96 for a fixed horizon
    3.035
    """
    rho = mixture_rho(alpha, tuning_n, alternative)
    check_scalar(n, "n", ge=0)
    x = np.asarray(n, dtype=float) * np.asarray(rho, dtype=float) ** 2
    with np.errstate(all="ignore"):
        if alternative == "two-sided":
            log_term = np.log(np.sqrt(x + 1) / alpha)
        else:
            log_term = np.log1p(np.sqrt(x + 1) / (2 * alpha))
        z = np.sqrt(2 * (x + 1) / x * log_term)
    z = np.where(x > 0, z, np.inf)
    return float(z) if np.ndim(z) == 0 else z


def confidence_sequence(
    estimate: Any,
    se: Any,
    n: Any,
    *,
    tuning_n: Any,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    null: float = 0.0,
) -> ConfidenceSequence:
    """Always-valid confidence sequence and p-value from an estimate and its standard error.

    Args:
        estimate: the effect (treatment minus control, or the relative lift).
        se: its standard error (the fixed-horizon one: unpooled, delta method, CUPED...).
        n: units observed so far in the two arms compared (gbstats' ``N``).
        tuning_n: N*, best set to the plan's planned total for the pair (for a plan:
            :func:`abcore.planning.planned_tuning_n`). The normal-mixture boundary is tightest,
            relative to a fixed-horizon interval, near ``n = N*``: tuning it to the planned
            size spends the least width where the decision will most likely be made, and keeps it
            valid (only wider) if the experiment stops earlier or runs longer. It must be
            fixed before the data are seen, never chosen from them.
        alpha: error rate over the whole sequence, in (0, 1) (below 0.5 if one-sided).
        alternative: ``"two-sided"``, ``"greater"`` (``(low, inf)``) or ``"less"``.
        null: effect value tested by ``p_value`` (0: no difference).

    Returns:
        A :class:`ConfidenceSequence`. The p-value is ``min(1, 1 / E_n)`` for two-sided
        sequences, with ``E_n`` the mixture martingale above; that is exactly the smallest
        alpha at which the sequence (same ``rho``) excludes ``null``, so the two readings
        agree. One-sided, it is that smallest alpha in closed form:
        ``sqrt(v) / (2 (exp(z**2 x / (2 v)) - 1))`` with ``x = n rho**2``, ``v = x + 1``, and
        1 when the estimate is on the wrong side.

    >>> cs = confidence_sequence(0.02, 0.005, 30_000, tuning_n=30_000)
    >>> round(cs.ci_low, 4), round(cs.p_value, 5), bool(cs.significant)
    (0.0048, 0.00245, True)
    """
    check_scalar(null, "null")
    rho = mixture_rho(alpha, tuning_n, alternative)
    check_scalar(n, "n", ge=0)
    est = np.asarray(estimate, dtype=float)
    s = np.asarray(se, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    shape = np.broadcast_shapes(est.shape, s.shape, n_arr.shape, np.shape(tuning_n))
    est, s, n_arr, rho_arr = (
        np.broadcast_to(v, shape).astype(float)
        for v in (est, s, n_arr, np.asarray(rho, dtype=float))
    )
    bad_se = ~np.isfinite(s) | (s <= 0) | ~np.isfinite(est)
    empty = n_arr <= 0
    invalid = bad_se | empty
    z_bound = np.asarray(
        cs_boundary_z(n_arr, tuning_n=tuning_n, alpha=alpha, alternative=alternative)
    )
    with np.errstate(all="ignore"):
        half = z_bound * s
        low = np.where(invalid, np.nan, est - half)
        high = np.where(invalid, np.nan, est + half)
        if alternative == "greater":
            high = np.where(invalid, np.nan, np.inf)
        elif alternative == "less":
            low = np.where(invalid, np.nan, -np.inf)
        z = (est - null) / s
        x = n_arr * rho_arr**2
        v = x + 1
        if alternative == "two-sided":
            log_e = rho_arr**2 * n_arr * z**2 / (2 * v) - 0.5 * np.log(v)
            p = np.exp(-np.maximum(log_e, 0.0))
        else:
            side = z if alternative == "greater" else -z
            expo = np.expm1(side**2 * x / (2 * v))
            p = np.where(side > 0, np.sqrt(v) / (2 * expo), 1.0)
            p = np.minimum(p, 1.0)
        p = np.where(invalid, np.nan, p)
    error = np.full(shape, None, dtype=object)
    error[bad_se] = INVALID_SE
    error[empty] = NO_UNITS
    scalar = len(shape) == 0

    def out(value: Any) -> Number:
        arr = np.asarray(value, dtype=float)
        return float(arr) if scalar else arr

    return ConfidenceSequence(
        estimate=out(est),
        se=out(s),
        ci_low=out(low),
        ci_high=out(high),
        p_value=out(p),
        z_boundary=out(np.where(invalid, np.nan, z_bound)),
        n=out(n_arr),
        tuning_n=out(np.broadcast_to(np.asarray(tuning_n, dtype=float), shape)),
        rho=out(rho_arr),
        alpha=alpha,
        alternative=alternative,
        null=float(null),
        error=error.item() if scalar else error,
    )


def always_valid_p_value(
    estimate: Any,
    se: Any,
    n: Any,
    *,
    tuning_n: Any,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    null: float = 0.0,
) -> Number:
    """The always-valid p-value alone (see :func:`confidence_sequence`).

    ``alpha`` fixes ``rho`` (and so where the sequence is tightest); the p-value is valid at
    every level, not only at ``alpha``.

    >>> round(always_valid_p_value(0.02, 0.005, 30_000, tuning_n=30_000), 5)
    0.00245
    """
    cs = confidence_sequence(
        estimate, se, n, tuning_n=tuning_n, alpha=alpha, alternative=alternative, null=null
    )
    return cs.p_value


def relative_se(abs_effect: Any, se: Any, baseline: Any, baseline_se: Any, cov: Any) -> Number:
    """Delta-method standard error of ``abs_effect / |baseline|``.

    ``cov`` is the covariance of ``abs_effect`` and ``baseline`` (minus the control mean's
    variance when the arms are independent). The same first-order formula as gbstats'
    ``frequentist_variance(relative=True)`` and ``abcore.stats``' ``"delta"`` method:
    ``var = v_a / b**2 - 2 a cov / b**3 + a**2 v_b / b**4``.

    >>> round(relative_se(0.01, 0.004, 0.1, 0.003, -0.003**2), 5)
    0.0423
    """
    a = np.asarray(abs_effect, dtype=float)
    b_signed = np.asarray(baseline, dtype=float)
    b = np.abs(b_signed)
    c = np.sign(b_signed) * np.asarray(cov, dtype=float)
    v_a = np.asarray(se, dtype=float) ** 2
    v_b = np.asarray(baseline_se, dtype=float) ** 2
    with np.errstate(all="ignore"):
        var = v_a / b**2 - 2 * a * c / b**3 + a**2 * v_b / b**4
        out = np.where(b > 0, np.sqrt(np.maximum(var, 0.0)), np.nan)
    return float(out) if np.ndim(out) == 0 else out


def sequential_comparison(
    comparison: Comparison,
    *,
    tuning_n: Any = None,
    alpha: float | None = None,
    alternative: str | None = None,
) -> SequentialComparison:
    """Confidence sequences for a :class:`~abcore.stats.Comparison`'s absolute and relative effect.

    Args:
        comparison: any comparison (proportions, means, ratio, CUPED); scalar or vectorised.
        tuning_n: N*, required: for a plan, its planned total for the pair
            (:func:`abcore.planning.planned_tuning_n`).
        alpha, alternative: default to the comparison's own.

    >>> from abcore.stats import compare_proportions
    >>> c = compare_proportions(15_000, 1_500, 15_000, 1_650)
    >>> s = sequential_comparison(c, tuning_n=30_000)
    >>> round(s.absolute.ci_low, 4), round(s.relative.ci_low, 4), round(s.relative.p_value, 4)
    (-0.0007, -0.0127, 0.1193)
    """
    if tuning_n is None:
        raise ValueError(
            "tuning_n must be given: for a plan, abcore.planning.planned_tuning_n(plan)."
        )
    alpha = comparison.alpha if alpha is None else alpha
    alternative = comparison.alternative if alternative is None else alternative
    n = np.asarray(comparison.n_control, dtype=float) + np.asarray(
        comparison.n_treatment, dtype=float
    )
    options = {"tuning_n": tuning_n, "alpha": alpha, "alternative": alternative}
    absolute = confidence_sequence(comparison.abs_effect, comparison.se, n, **options)
    rel_se = relative_se(
        comparison.abs_effect,
        comparison.se,
        comparison.rel_baseline,
        comparison.rel_baseline_se,
        comparison.rel_cov,
    )
    relative = confidence_sequence(comparison.rel_effect, rel_se, n, **options)
    return SequentialComparison(absolute=_with_error(absolute, comparison), relative=relative)


def _with_error(cs: ConfidenceSequence, comparison: Comparison) -> ConfidenceSequence:
    """Prefer the comparison's own error code (it names the data problem)."""
    own = comparison.error
    if own is None or (isinstance(own, np.ndarray) and not any(e is not None for e in own.flat)):
        return cs
    if isinstance(own, np.ndarray):
        merged = np.where(np.equal(own, None), cs.error, own)
        return _replace(cs, error=merged)
    return _replace(cs, error=own)


def _replace(cs: ConfidenceSequence, **changes: Any) -> ConfidenceSequence:
    values = cs.to_dict()
    values.update(changes)
    return ConfidenceSequence(**values)


# --- group-sequential designs ---------------------------------------------------------------


def alpha_spending(
    t: Any,
    alpha: float = config.ALPHA,
    spending: str = config.SPENDING,
    rho: float = config.SPENDING_RHO,
) -> Number:
    """Cumulative one-sided alpha spent by information fraction ``t`` (Lan-DeMets).

    ``alpha`` here is the level of one side. ``spending``:

    * ``"power"``: ``alpha * t**rho`` (Kim-DeMets; rho = 2 is Spotify Confidence's default
      and is O'Brien-Fleming-like; rho = 1 spends linearly; rpact ``asKD``, gsDesign
      ``sfPower``);
    * ``"obf"``: ``2 - 2 Phi(z_{alpha/2} / sqrt(t))``, Lan & DeMets' O'Brien-Fleming-type
      (rpact ``asOF``, gsDesign ``sfLDOF``);
    * ``"pocock"``: ``alpha * log(1 + (e - 1) t)``, Lan & DeMets' Pocock-type (rpact ``asP``,
      gsDesign ``sfLDPocock``).

    Fractions above 1 spend nothing more.

    >>> alpha_spending([0.5, 1.0], 0.025, "obf").round(5).tolist()
    [0.00153, 0.025]
    """
    check_scalar(alpha, "alpha", gt=0, lt=1)
    check_scalar(spending, "spending", in_=config.SPENDING_FUNCTIONS)
    check_scalar(rho, "rho", gt=0)
    check_scalar(t, "information fraction", ge=0)
    tt = np.minimum(np.asarray(t, dtype=float), 1.0)
    with np.errstate(divide="ignore"):
        if spending == "power":
            out = alpha * tt**rho
        elif spending == "obf":
            out = np.where(tt > 0, 2 * norm.sf(norm.isf(alpha / 2) / np.sqrt(tt)), 0.0)
        else:
            out = alpha * np.log1p((math.e - 1) * tt)
    return float(out) if np.ndim(out) == 0 else np.asarray(out, dtype=float)


@dataclass(frozen=True)
class LookResult:
    """Observed looks evaluated against a design's boundaries.

    Attributes:
        crossed: whether any look crossed a boundary.
        look: 1-based index of the first look that crossed (0: none yet).
        direction: ``"upper"`` (treatment better), ``"lower"`` (worse) or ``""`` (none).
        boundaries: the z-boundaries the looks were compared with (one per look).
    """

    crossed: Any
    look: Any
    direction: Any
    boundaries: tuple[float, ...]


@dataclass(frozen=True)
class GroupSequentialDesign:
    """Boundaries of a group-sequential test with Lan-DeMets alpha spending.

    z-statistics (the fixed-horizon ``effect / se`` at each look) are compared with
    ``boundaries``: two-sided designs reject when ``|z_k| >= b_k`` (symmetric, each side
    spending ``alpha / 2``), ``"greater"`` when ``z_k >= b_k``, ``"less"`` when
    ``z_k <= -b_k``.

    Attributes:
        information_fractions: planned share of the final information at each look.
        boundaries: z-boundary per look (positive; mirrored for the lower side).
        nominal_alpha: the fixed-horizon p-value below which look k stops (two-sided p for
            two-sided designs).
        alpha_spent: cumulative alpha spent by look k (both sides for two-sided designs).
        alpha, alternative, spending, rho: the options used.
    """

    information_fractions: tuple[float, ...]
    boundaries: tuple[float, ...]
    nominal_alpha: tuple[float, ...]
    alpha_spent: tuple[float, ...]
    alpha: float
    alternative: str
    spending: str
    rho: float

    @property
    def looks(self) -> int:
        return len(self.boundaries)

    def power(self, drift: Any) -> Number:
        """Chance of crossing the boundary on the good side by the last look.

        ``drift`` is the expected z at the final look, ``effect / se_final``, signed as the
        data would show it (negative for a decrease, which ``"less"`` designs look for);
        two-sided designs count the upper side, as :mod:`abcore.power` does.

        >>> d = group_sequential_design(1)
        >>> round(d.power(1.959964 + 0.841621), 4)
        0.8
        """
        side = 1 if self.alternative == "less" else 0
        drifts = np.atleast_1d(np.asarray(drift, dtype=float))
        out = np.array([self._crossing(d)[side].sum() for d in drifts.ravel()]).reshape(
            drifts.shape
        )
        return float(out[0]) if np.ndim(drift) == 0 else out

    def inflation(self, power: float = config.POWER) -> float:
        """Maximum sample size of this design over the fixed-horizon one, at equal power.

        The fixed-horizon test at the same ``alpha`` (near tail for two-sided, as
        :mod:`abcore.power` sizes it) needs final drift ``z_crit + z_power``; this design
        needs a larger one, and the sample size scales with drift squared. rpact calls it
        ``inflationFactor``.

        >>> round(group_sequential_design(4).inflation(0.8), 4)
        1.0559
        """
        check_scalar(power, "power", gt=0, lt=1)
        fixed = _fixed_drift(self.alpha, self.alternative, power)
        sign = -1.0 if self.alternative == "less" else 1.0
        side = 0 if sign > 0 else 1

        def gap(d: float) -> float:
            return float(self._crossing(sign * d)[side].sum()) - power

        drift = optimize.brentq(gap, fixed * 0.9, fixed * 4.0, xtol=1e-10)
        return (drift / fixed) ** 2

    def evaluate(self, z: Any) -> LookResult:
        """Evaluate observed z-statistics, one per look so far (see :func:`evaluate_looks`)."""
        return evaluate_looks(self, z)

    def _crossing(self, drift: float) -> tuple[np.ndarray, np.ndarray]:
        upper, lower = _signed_bounds(self.boundaries, self.alternative)
        return boundary_crossing(self.information_fractions, upper, lower, drift)

    def to_dict(self) -> dict[str, Any]:
        """Every field by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _signed_bounds(boundaries: Any, alternative: str) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(boundaries, dtype=float)
    if alternative == "two-sided":
        return b, -b
    if alternative == "greater":
        return b, np.full_like(b, -np.inf)
    return np.full_like(b, np.inf), -b


def _fixed_drift(alpha: float, alternative: str, power: float) -> float:
    tail = alpha / 2 if alternative == "two-sided" else alpha
    return float(norm.isf(tail) + norm.ppf(power))


def _fractions(looks: Any) -> np.ndarray:
    if np.ndim(looks) == 0:
        k = looks
        if isinstance(k, bool) or not float(k).is_integer():
            raise ValueError(f"looks must be a whole number of looks, got {looks!r}.")
        check_scalar(k, "looks", ge=1, le=config.SEQUENTIAL_MAX_LOOKS)
        return np.arange(1, int(k) + 1) / int(k)
    t = np.asarray(looks, dtype=float).ravel()
    if t.size == 0:
        raise ValueError("looks must hold at least one information fraction.")
    check_scalar(t, "information fractions", gt=0, le=1)
    if np.any(np.diff(t) <= 0):
        raise ValueError("information fractions must be strictly increasing.")
    if t.size > config.SEQUENTIAL_MAX_LOOKS:
        raise ValueError(
            f"looks must be <= {config.SEQUENTIAL_MAX_LOOKS}, got {t.size} information fractions."
        )
    return t


def group_sequential_design(
    looks: Any = config.GS_LOOKS,
    *,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    spending: str = config.SPENDING,
    rho: float = config.SPENDING_RHO,
) -> GroupSequentialDesign:
    """Boundaries for K looks by Lan-DeMets alpha spending and exact recursive integration.

    Args:
        looks: the number of equally spaced looks, or their information fractions
            (increasing, in (0, 1]; e.g. the share of planned units at each look). Fractions
            ending below 1 give the boundaries so far, spending only up to the last.
        alpha: total type I error, in (0, 1); two-sided designs spend ``alpha / 2`` per side,
            as gsDesign's symmetric ``test.type = 2`` with its ``alpha = alpha / 2``.
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.
        spending: ``"power"`` (``alpha t**rho``), ``"obf"`` or ``"pocock"`` (see
            :func:`alpha_spending`).
        rho: exponent of the power family (2 by default).

    At each look k the boundary solves "probability of crossing first at look k = alpha
    spent between looks k-1 and k" under the null, integrating over the continuation region
    of the previous look (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000, ch. 19).
    The z-statistics' increments are independent with variance proportional to the
    information added, which holds for any asymptotically normal estimate. Rejection at look
    k is ``|z_k| >= b_k``; looks are final once made (the spending function, not the number
    of looks, fixes the error rate, so looks may be added, skipped or moved as long as the
    fractions come from the data's information, not from the results).

    >>> d = group_sequential_design([0.5, 1.0], alternative="greater", spending="obf")
    >>> [round(b, 4) for b in d.boundaries], [round(a, 5) for a in d.nominal_alpha]
    ([2.538, 1.6621], [0.00557, 0.04825])
    """
    check_scalar(alpha, "alpha", gt=0, lt=1)
    check_scalar(alternative, "alternative", in_=config.ALTERNATIVES)
    check_scalar(spending, "spending", in_=config.SPENDING_FUNCTIONS)
    check_scalar(rho, "rho", gt=0)
    t = _fractions(looks)
    side_alpha = alpha / 2 if alternative == "two-sided" else alpha
    spent = np.asarray(alpha_spending(t, side_alpha, spending, rho), dtype=float)
    increments = np.diff(np.concatenate([[0.0], spent]))
    bounds = _solve_bounds(t, increments, two_sided=alternative == "two-sided")
    sides = 2 if alternative == "two-sided" else 1
    nominal = sides * norm.sf(bounds)
    return GroupSequentialDesign(
        information_fractions=tuple(float(v) for v in t),
        boundaries=tuple(float(v) for v in bounds),
        nominal_alpha=tuple(float(v) for v in nominal),
        alpha_spent=tuple(float(v) for v in sides * spent),
        alpha=alpha,
        alternative=alternative,
        spending=spending,
        rho=float(rho),
    )


def evaluate_looks(design: GroupSequentialDesign, z: Any) -> LookResult:
    """Compare observed z-statistics with the design's boundaries, look by look.

    Args:
        design: the planned design.
        z: z-statistics at the looks made so far (``effect / se`` with the fixed-horizon
            SE), shape ``(looks_so_far,)`` or ``(experiments, looks_so_far)`` for many
            experiments at once; at most ``design.looks`` columns.

    Returns:
        A :class:`LookResult`: the first look whose z crossed (0 if none) and on which side.
        Scalar fields for one experiment, arrays for many.

    >>> d = group_sequential_design(4)
    >>> r = evaluate_looks(d, [1.2, 2.7])
    >>> bool(r.crossed), r.look, r.direction
    (True, 2, 'upper')
    """
    arr = np.asarray(z, dtype=float)
    single = arr.ndim <= 1
    arr = np.atleast_2d(arr)
    if arr.shape[-1] > design.looks:
        raise ValueError(
            f"z has {arr.shape[-1]} looks but the design plans {design.looks}: "
            "plan more looks or pass fewer."
        )
    b = np.asarray(design.boundaries[: arr.shape[-1]])
    if arr.shape[-1] == 0:
        none = np.zeros(arr.shape[0], dtype=bool)
        if single:
            return LookResult(False, 0, "", ())
        return LookResult(none, np.zeros(arr.shape[0], dtype=int), np.full(arr.shape[0], ""), ())
    upper, lower = _signed_bounds(b, design.alternative)
    up = arr >= upper
    down = arr <= lower
    hit = up | down
    crossed = hit.any(axis=-1)
    first = np.where(crossed, hit.argmax(axis=-1), -1)
    rows = np.arange(arr.shape[0])
    first_up = up[rows, np.maximum(first, 0)]
    direction = np.where(crossed, np.where(first_up, "upper", "lower"), "")
    look = first + 1
    if single:
        return LookResult(bool(crossed[0]), int(look[0]), str(direction[0]), tuple(b))
    return LookResult(crossed, look, direction, tuple(b))


# --- recursive numerical integration ------------------------------------------------------


def _simpson(lo: float, hi: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid on [lo, hi] with Simpson weights (an odd number of points, spacing <= step)."""
    m = max(2, math.ceil((hi - lo) / step))
    m += m % 2
    x = np.linspace(lo, hi, m + 1)
    w = np.ones(m + 1)
    w[1:-1:2] = 4.0
    w[2:-1:2] = 2.0
    return x, w * (hi - lo) / (3 * m)


def _step(t: np.ndarray) -> float:
    """Grid spacing fine enough for the narrowest transition kernel of these looks.

    The kernel from look k-1 to look k has sd ``sqrt(dt_k / t_k)`` on the z-scale; a fifth
    of it keeps Simpson's rule accurate to about 1e-7 in the crossing probabilities. Looks
    closer together than that are integrated on a floor spacing of 0.01 (at most ~2,000
    points), at some cost in accuracy for the nearly coincident look.
    """
    dt = np.diff(np.concatenate([[0.0], t]))
    width = float(np.min(np.sqrt(dt[1:] / t[1:]))) if t.size > 1 else 1.0
    return max(min(0.05, width / 5), 0.01)


_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _pdf(x: np.ndarray) -> np.ndarray:
    """Standard normal density without scipy's per-call overhead (the inner loop's cost)."""
    return np.exp(-0.5 * x * x) * _INV_SQRT_2PI


def _solve_bounds(t: np.ndarray, increments: np.ndarray, *, two_sided: bool) -> np.ndarray:
    """Upper boundaries whose first-crossing probabilities under H0 equal ``increments``."""
    step = _step(t)
    bounds = np.empty(t.size)
    grid: tuple[np.ndarray, np.ndarray] | None = None
    prev_t = 0.0
    for k in range(t.size):
        target = increments[k]
        if grid is None:
            b = norm.isf(target) if target > 0 else MAX_Z
        else:
            u, w = grid
            sd = math.sqrt(t[k] - prev_t)
            shift = u * math.sqrt(prev_t)
            scale = math.sqrt(t[k])

            def upper(b: float, u=u, w=w, sd=sd, shift=shift, scale=scale) -> float:
                return float(w @ ndtr((shift - b * scale) / sd))

            if target <= 0 or upper(MAX_Z) >= target:
                b = MAX_Z
            else:
                b = optimize.brentq(lambda x, tg=target: upper(x) - tg, -MAX_Z, MAX_Z, xtol=1e-12)
        b = min(b, MAX_Z)
        bounds[k] = b
        lower = -b if two_sided else -np.inf
        grid = _next_density(grid, prev_t, t[k], b, lower, 0.0, step)
        prev_t = t[k]
    return bounds


def _next_density(
    grid: tuple[np.ndarray, np.ndarray] | None,
    prev_t: float,
    t: float,
    upper: float,
    lower: float,
    drift: float,
    step: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Density of z_k on its continuation region, times Simpson weights (sub-density)."""
    mean = drift * math.sqrt(t)
    hi = min(upper, mean + _TAIL)
    lo = max(lower, mean - _TAIL)
    if hi <= lo:
        x = np.array([lo, hi])
        return x, np.zeros(2)
    x, w = _simpson(lo, hi, step)
    if grid is None:
        density = norm.pdf(x - mean)
    else:
        u, wu = grid
        dt = t - prev_t
        sd = math.sqrt(dt)
        arg = (x[:, None] * math.sqrt(t) - u[None, :] * math.sqrt(prev_t) - drift * dt) / sd
        density = (_pdf(arg) @ wu) * math.sqrt(t) / sd
    return x, w * density


def boundary_crossing(
    information_fractions: Any, upper: Any, lower: Any, drift: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of first crossing the upper and the lower boundary at each look.

    ``z_k`` is the z-statistic at information fraction ``t_k``, a Brownian motion with drift
    ``drift`` (the expected z at ``t = 1``) read as ``W(t) / sqrt(t)``; the test stops at the
    first look with ``z_k >= upper_k`` or ``z_k <= lower_k`` (use ``inf``/``-inf`` for no
    boundary). Exact recursive numerical integration (Simpson's rule on a grid fine for the
    smallest increment), so K = 28 daily looks take milliseconds.

    >>> up, low = boundary_crossing([0.5, 1.0], [2.797, 1.977], [-2.797, -1.977])
    >>> round(float(up.sum() + low.sum()), 4)   # Pocock-like 5% two-sided
    0.05
    """
    t = _fractions(information_fractions)
    up_b = np.broadcast_to(np.asarray(upper, dtype=float), t.shape)
    low_b = np.broadcast_to(np.asarray(lower, dtype=float), t.shape)
    check_scalar(drift, "drift")
    step = _step(t)
    p_up = np.empty(t.size)
    p_low = np.empty(t.size)
    grid: tuple[np.ndarray, np.ndarray] | None = None
    prev_t = 0.0
    for k in range(t.size):
        if grid is None:
            mean = drift * math.sqrt(t[k])
            p_up[k] = norm.sf(up_b[k] - mean)
            p_low[k] = norm.cdf(low_b[k] - mean)
        else:
            u, w = grid
            dt = t[k] - prev_t
            sd = math.sqrt(dt)
            shift = u * math.sqrt(prev_t) + drift * dt
            p_up[k] = w @ norm.sf((up_b[k] * math.sqrt(t[k]) - shift) / sd)
            p_low[k] = w @ norm.cdf((low_b[k] * math.sqrt(t[k]) - shift) / sd)
        grid = _next_density(grid, prev_t, t[k], up_b[k], low_b[k], drift, step)
        prev_t = t[k]
    return np.maximum(p_up, 0.0), np.maximum(p_low, 0.0)


# --- cost of peeking safely --------------------------------------------------------------


def always_valid_inflation(
    power: float = config.POWER,
    *,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    looks: Any = config.AV_LOOKS,
    tuning_fraction: float = 1.0,
) -> float:
    """Sample size of the always-valid test over the fixed-horizon one, at equal power.

    Solves numerically for the final drift at which the chance of the sequence excluding 0
    at one of ``looks`` equally spaced looks (or at the given information fractions) reaches
    ``power``, with ``N* = tuning_fraction x`` the inflated size (the plan sets N* to the
    size it will run, so the default 1 is self-consistent). ``looks=1`` is the cost if only
    the final look were made; more looks raise the chance of an early crossing, so the
    cost falls as the looks grow (daily looks over four weeks: ``looks=28``).

    >>> round(always_valid_inflation(0.8, looks=28), 3)
    1.724
    """
    check_scalar(power, "power", gt=0, lt=1)
    check_scalar(alpha, "alpha", gt=0, lt=1)
    check_scalar(alternative, "alternative", in_=config.ALTERNATIVES)
    check_scalar(tuning_fraction, "tuning_fraction", gt=0)
    t = _fractions(looks)
    z = np.asarray(cs_boundary_z(t, tuning_n=tuning_fraction, alpha=alpha, alternative=alternative))
    sign = -1.0 if alternative == "less" else 1.0
    if alternative == "two-sided":
        upper, lower = z, -z
    elif alternative == "greater":
        upper, lower = z, np.full_like(z, -np.inf)
    else:
        upper, lower = np.full_like(z, np.inf), -z
    side = 0 if sign > 0 else 1
    fixed = _fixed_drift(alpha, alternative, power)

    def gap(d: float) -> float:
        return float(boundary_crossing(t, upper, lower, sign * d)[side].sum()) - power

    drift = optimize.brentq(gap, fixed * 0.9, fixed * 4, xtol=1e-10)
    return (drift / fixed) ** 2


@dataclass(frozen=True)
class MethodCost:
    """What one analysis method costs in units, next to the fixed horizon.

    Attributes:
        method: ``"fixed"``, ``"group_sequential"`` or ``"always_valid"``.
        inflation: sample size over the fixed horizon's at equal power (1 for fixed).
        n_total: units needed (the fixed ``n_total`` times ``inflation``, rounded up).
        extra_share: ``inflation - 1`` ("K looks cost 2.3% more users").
        looks: looks assumed (1 for fixed).
    """

    method: str
    inflation: float
    n_total: int
    extra_share: float
    looks: int


def method_costs(
    n_total: int,
    *,
    alpha: float = config.ALPHA,
    power: float = config.POWER,
    alternative: str = config.ALTERNATIVE,
    looks: int = config.GS_LOOKS,
    av_looks: int = config.AV_LOOKS,
    spending: str = config.SPENDING,
    rho: float = config.SPENDING_RHO,
) -> tuple[MethodCost, ...]:
    """Units each method needs for the plan's power: fixed, group sequential, always valid.

    ``n_total`` is the fixed-horizon total (e.g. ``size_plan(plan).n_total``); ``looks`` the
    group-sequential looks, ``av_looks`` the looks assumed for the always-valid sequence
    (daily over the test is a fair default; it is valid for any number).

    >>> [(c.method, c.n_total) for c in method_costs(100_000)]
    [('fixed', 100000), ('group_sequential', 105589), ('always_valid', 172365)]
    """
    check_scalar(n_total, "n_total", gt=0)
    design = group_sequential_design(
        looks, alpha=alpha, alternative=alternative, spending=spending, rho=rho
    )
    gs = design.inflation(power)
    av = always_valid_inflation(power, alpha=alpha, alternative=alternative, looks=av_looks)

    def cost(method: str, factor: float, k: int) -> MethodCost:
        return MethodCost(method, factor, math.ceil(n_total * factor - 1e-9), factor - 1, k)

    return (
        cost("fixed", 1.0, 1),
        cost("group_sequential", gs, design.looks),
        cost("always_valid", av, int(np.size(_fractions(av_looks)))),
    )
