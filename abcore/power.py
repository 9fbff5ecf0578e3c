"""Sample size, power, detectable effect and duration for two-arm comparisons.

Normal approximations, as in statsmodels' ``samplesize_proportions_2indep_onetail`` and the
classic formulas behind Evan Miller's and GrowthBook's calculators:

* proportions: pooled variance under H0, unpooled under H1;
* means: one common standard deviation, the same under H0 and H1.

A two-sided test is sized on its near tail only (alpha/2), which is what every calculator does
and what keeps the solve-for-n and solve-for-power directions exact inverses of each other.

Every function broadcasts over numpy arrays (``mde``, ``n_control``, ``baseline``...), so a
200-point planning curve is a single call. Scalars in, Python scalars out.

``ratio`` is ``n_treatment / n_control`` for each treatment arm; with ``treatments`` arms the
alpha is split across them (Bonferroni), which is how the launch decision tests them.
``variance_reduction`` is the share of variance a covariate removes (CUPED: rho squared).

>>> s = sample_size_proportion(0.10, 0.05)   # 10% baseline, +5% relative, two-sided 5%, 80%
>>> s.n_control, s.n_total
(57763, 115526)
>>> round(power_proportion(0.10, 0.05, s.n_control), 3)
0.8
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from abcore import config
from abcore._checks import check_scalar

__all__ = [
    "SampleSize",
    "duration_days",
    "mde_mean",
    "mde_proportion",
    "noninferiority_sample_size_mean",
    "noninferiority_sample_size_proportion",
    "power_mean",
    "power_proportion",
    "rule_of_thumb_n",
    "sample_size_mean",
    "sample_size_proportion",
    "superiority_sample_size",
]

Number = float | NDArray[np.float64]
Count = int | NDArray[np.int64]


@dataclass(frozen=True)
class SampleSize:
    """Units needed per arm and in total.

    ``n_total = n_control + treatments * n_treatment``. Fields are ints for scalar inputs and
    integer arrays for array inputs.

    ``feasible`` is False (elementwise for arrays) where the test would need more than
    ``config.SAMPLE_SIZE_MAX`` units in all: no test of that size can run, and 64-bit
    integers of such sizes wrap around to negative numbers. There the counts hold that bound,
    a marker, not a size.

    >>> s = sample_size_proportion(0.10, 1e-9)
    >>> s.feasible, s.n_total == config.SAMPLE_SIZE_MAX
    (False, True)
    """

    n_control: Count
    n_treatment: Count
    n_total: Count
    treatments: int = 1
    alpha: float = config.ALPHA
    """The per-comparison alpha actually used (after the Bonferroni split)."""
    power: float = config.POWER
    feasible: bool | NDArray[np.bool_] = True


def _check_options(
    alpha: float, power: float, alternative: str, ratio: float, treatments: int, vr: float
) -> None:
    check_scalar(alpha, "alpha", gt=0, lt=1)
    check_scalar(power, "power", gt=0, lt=1)
    check_scalar(alternative, "alternative", in_=config.ALTERNATIVES)
    check_scalar(ratio, "ratio", gt=0)
    check_scalar(treatments, "treatments", ge=1)
    check_scalar(vr, "variance_reduction", ge=0, lt=1)


def _crit(alpha: float, alternative: str, treatments: int) -> float:
    """Critical z for one comparison, alpha split across treatment arms."""
    alpha_each = alpha / treatments
    return float(norm.isf(alpha_each / 2 if alternative == "two-sided" else alpha_each))


def _effect(baseline: ArrayLike, mde: ArrayLike, relative: bool) -> NDArray[np.float64]:
    base = np.asarray(baseline, dtype=float)
    return np.asarray(mde, dtype=float) * base if relative else np.asarray(mde, dtype=float)


def _check_direction(delta: NDArray[np.float64], alternative: str) -> None:
    if np.any(delta == 0):
        raise ValueError("mde must not be 0: no sample size can detect a zero effect.")
    if alternative == "greater" and np.any(delta < 0):
        raise ValueError("mde must be > 0 for alternative='greater' (the effect is an increase).")
    if alternative == "less" and np.any(delta > 0):
        raise ValueError("mde must be < 0 for alternative='less' (the effect is a decrease).")


def _check_rates(baseline: ArrayLike, treated: NDArray[np.float64]) -> None:
    check_scalar(baseline, "baseline", gt=0, lt=1)
    if np.any((treated <= 0) | (treated >= 1)):
        bad = np.asarray(treated)[(treated <= 0) | (treated >= 1)].ravel()[0]
        raise ValueError(
            f"mde moves the treatment rate to {bad:.4g}, outside (0, 1): choose a smaller mde."
        )


def _proportion_sds(
    p_c: NDArray[np.float64], p_t: NDArray[np.float64], ratio: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-unit sds of the difference under H0 (pooled) and H1 (unpooled), as statsmodels."""
    pooled = (p_c + ratio * p_t) / (1 + ratio)
    sd_null = np.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio))
    sd_alt = np.sqrt(p_c * (1 - p_c) + p_t * (1 - p_t) / ratio)
    return sd_null, sd_alt


def _to_size(
    n_control: NDArray[np.float64], ratio: float, treatments: int, alpha: float, power: float
) -> SampleSize:
    cap = float(config.SAMPLE_SIZE_MAX)
    n_c = np.maximum(np.ceil(np.asarray(n_control, dtype=float) - 1e-9), 1.0)
    n_t = np.ceil(ratio * n_c - 1e-9)
    total = n_c + treatments * n_t
    feasible = np.isfinite(total) & (total <= cap)
    n_c, n_t, total = (np.where(feasible, x, cap).astype(np.int64) for x in (n_c, n_t, total))
    if n_c.ndim == 0:
        return SampleSize(
            int(n_c), int(n_t), int(total), treatments, alpha / treatments, power, bool(feasible)
        )
    return SampleSize(n_c, n_t, total, treatments, alpha / treatments, power, feasible)


def _n_from_sds(
    delta: NDArray[np.float64], sd_null: Any, sd_alt: Any, crit: float, power: float
) -> NDArray[np.float64]:
    crit_power = norm.ppf(power)
    return ((crit * sd_null + crit_power * sd_alt) / np.abs(delta)) ** 2


def sample_size_proportion(
    baseline: ArrayLike,
    mde: ArrayLike,
    *,
    relative: bool = True,
    alpha: float = config.ALPHA,
    power: float = config.POWER,
    alternative: str = config.ALTERNATIVE,
    ratio: float = 1.0,
    treatments: int = 1,
    variance_reduction: float = 0.0,
) -> SampleSize:
    """Units per arm to detect a change in a conversion rate.

    Args:
        baseline: Control conversion rate, in (0, 1).
        mde: Minimum detectable effect: relative (0.05 = +5%) or absolute (0.005 = +0.5 pt).
        relative: Whether ``mde`` is relative to the baseline.
        alpha: Significance level of the whole test (split across ``treatments``).
        power: Probability of detecting an effect of size ``mde``.
        alternative: "two-sided", "greater" (mde > 0) or "less" (mde < 0).
        ratio: n_treatment / n_control for each treatment arm.
        treatments: Number of treatment arms compared with the control.
        variance_reduction: Share of variance removed by a covariate (CUPED: rho squared).

    >>> sample_size_proportion(0.05, 0.10, alternative="greater").n_control
    24603
    """
    _check_options(alpha, power, alternative, ratio, treatments, variance_reduction)
    p_c = np.asarray(baseline, dtype=float)
    delta = _effect(p_c, mde, relative)
    p_t = p_c + delta
    _check_rates(baseline, p_t)
    _check_direction(delta, alternative)
    sd_null, sd_alt = _proportion_sds(p_c, p_t, ratio)
    shrink = math.sqrt(1 - variance_reduction)
    n = _n_from_sds(
        delta, sd_null * shrink, sd_alt * shrink, _crit(alpha, alternative, treatments), power
    )
    return _to_size(n, ratio, treatments, alpha, power)


def sample_size_mean(
    mean: ArrayLike,
    sd: ArrayLike,
    mde: ArrayLike,
    *,
    relative: bool = True,
    alpha: float = config.ALPHA,
    power: float = config.POWER,
    alternative: str = config.ALTERNATIVE,
    ratio: float = 1.0,
    treatments: int = 1,
    variance_reduction: float = 0.0,
) -> SampleSize:
    """Units per arm to detect a change in a mean (revenue per user, load time...).

    ``n_control = (z_alpha + z_beta)^2 * sd^2 * (1 - vr) * (1 + 1/ratio) / delta^2``.

    >>> sample_size_mean(10.0, 20.0, 0.05).n_control   # sd twice the mean, +5%
    25117
    """
    _check_options(alpha, power, alternative, ratio, treatments, variance_reduction)
    check_scalar(sd, "sd", gt=0)
    if relative:
        check_scalar(np.abs(np.asarray(mean, dtype=float)), "mean (for a relative mde)", gt=0)
    delta = _effect(mean, mde, relative)
    _check_direction(delta, alternative)
    sd_eff = np.asarray(sd, dtype=float) * math.sqrt((1 - variance_reduction) * (1 + 1 / ratio))
    n = _n_from_sds(delta, sd_eff, sd_eff, _crit(alpha, alternative, treatments), power)
    return _to_size(n, ratio, treatments, alpha, power)


def _power(
    delta: NDArray[np.float64],
    sd_null: Any,
    sd_alt: Any,
    n_control: ArrayLike,
    alpha: float,
    alternative: str,
    treatments: int,
) -> Number:
    """Power of the near tail; signed so a 'greater' test of a decrease has power < alpha."""
    n = np.asarray(n_control, dtype=float)
    crit = _crit(alpha, alternative, treatments)
    shift = delta if alternative != "less" else -delta
    if alternative == "two-sided":
        shift = np.abs(delta)
    z = (shift * np.sqrt(n) - crit * sd_null) / sd_alt
    out = norm.cdf(z)
    return float(out) if np.ndim(out) == 0 else out


def power_proportion(
    baseline: ArrayLike,
    mde: ArrayLike,
    n_control: ArrayLike,
    *,
    relative: bool = True,
    alpha: float = config.ALPHA,
    power: float | None = None,
    alternative: str = config.ALTERNATIVE,
    ratio: float = 1.0,
    treatments: int = 1,
    variance_reduction: float = 0.0,
) -> Number:
    """Power to detect ``mde`` on a conversion rate with ``n_control`` units in the control.

    ``power`` is accepted (and ignored) so the same options dict can be passed to every
    function of this module.

    >>> round(power_proportion(0.10, 0.05, 57763), 3)
    0.8
    """
    _check_options(alpha, power or 0.5, alternative, ratio, treatments, variance_reduction)
    check_scalar(n_control, "n_control", gt=0)
    p_c = np.asarray(baseline, dtype=float)
    delta = _effect(p_c, mde, relative)
    _check_rates(baseline, p_c + delta)
    sd_null, sd_alt = _proportion_sds(p_c, p_c + delta, ratio)
    shrink = math.sqrt(1 - variance_reduction)
    return _power(
        delta, sd_null * shrink, sd_alt * shrink, n_control, alpha, alternative, treatments
    )


def power_mean(
    mean: ArrayLike,
    sd: ArrayLike,
    mde: ArrayLike,
    n_control: ArrayLike,
    *,
    relative: bool = True,
    alpha: float = config.ALPHA,
    power: float | None = None,
    alternative: str = config.ALTERNATIVE,
    ratio: float = 1.0,
    treatments: int = 1,
    variance_reduction: float = 0.0,
) -> Number:
    """Power to detect ``mde`` on a mean with ``n_control`` units in the control.

    >>> round(power_mean(10.0, 20.0, 0.05, 25117), 3)
    0.8
    """
    _check_options(alpha, power or 0.5, alternative, ratio, treatments, variance_reduction)
    check_scalar(n_control, "n_control", gt=0)
    check_scalar(sd, "sd", gt=0)
    delta = _effect(mean, mde, relative)
    sd_eff = np.asarray(sd, dtype=float) * math.sqrt((1 - variance_reduction) * (1 + 1 / ratio))
    return _power(delta, sd_eff, sd_eff, n_control, alpha, alternative, treatments)


def mde_mean(
    mean: float,
    sd: float,
    n_control: ArrayLike,
    *,
    relative: bool = True,
    alpha: float = config.ALPHA,
    power: float = config.POWER,
    alternative: str = config.ALTERNATIVE,
    ratio: float = 1.0,
    treatments: int = 1,
    variance_reduction: float = 0.0,
) -> Number:
    """Smallest effect detectable with ``n_control`` units per control arm (closed form).

    Positive (an increase) unless ``alternative="less"``.

    >>> round(mde_mean(10.0, 20.0, 25117), 4)
    0.05
    """
    _check_options(alpha, power, alternative, ratio, treatments, variance_reduction)
    check_scalar(n_control, "n_control", gt=0)
    check_scalar(sd, "sd", gt=0)
    sd_eff = sd * math.sqrt((1 - variance_reduction) * (1 + 1 / ratio))
    crit = _crit(alpha, alternative, treatments) + norm.ppf(power)
    delta = crit * sd_eff / np.sqrt(np.asarray(n_control, dtype=float))
    if alternative == "less":
        delta = -delta
    out = delta / abs(mean) if relative else delta
    return float(out) if np.ndim(out) == 0 else out


def mde_proportion(
    baseline: float,
    n_control: ArrayLike,
    *,
    relative: bool = True,
    alpha: float = config.ALPHA,
    power: float = config.POWER,
    alternative: str = config.ALTERNATIVE,
    ratio: float = 1.0,
    treatments: int = 1,
    variance_reduction: float = 0.0,
) -> Number:
    """Smallest change in a rate detectable with ``n_control`` units in the control.

    Solved by vectorised bisection on the power function (the variance depends on the
    treated rate, so there is no closed form). NaN where even a rate of 1 (or 0 for "less")
    cannot be detected.

    >>> round(mde_proportion(0.10, 57763), 4)
    0.05
    """
    _check_options(alpha, power, alternative, ratio, treatments, variance_reduction)
    check_scalar(baseline, "baseline", gt=0, lt=1)
    n = np.asarray(n_control, dtype=float)
    check_scalar(n, "n_control", gt=0)
    sign = -1.0 if alternative == "less" else 1.0
    hi_limit = (baseline if sign < 0 else 1 - baseline) * (1 - 1e-9)
    lo = np.zeros_like(n)
    hi = np.full_like(n, hi_limit)
    options = {
        "relative": False,
        "alpha": alpha,
        "alternative": alternative,
        "ratio": ratio,
        "treatments": treatments,
        "variance_reduction": variance_reduction,
    }

    def power_at(delta: NDArray[np.float64]) -> NDArray[np.float64]:
        safe = np.maximum(delta, 1e-12)
        return np.asarray(power_proportion(baseline, sign * safe, n, **options))

    reachable = power_at(hi) >= power
    for _ in range(60):
        mid = (lo + hi) / 2
        above = power_at(mid) >= power
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    delta = np.where(reachable, sign * hi, np.nan)
    out = delta / baseline if relative else delta
    return float(out) if np.ndim(out) == 0 else out


def noninferiority_sample_size_proportion(
    baseline: float,
    margin: float,
    *,
    higher_is_better: bool = True,
    alpha: float = config.ALPHA,
    power: float = config.POWER,
    ratio: float = 1.0,
    variance_reduction: float = 0.0,
) -> SampleSize:
    """Units per arm to show a rate is not worse than ``margin`` (relative), no true change.

    One-sided test of H0: the treatment is worse by at least ``margin`` x baseline, at the
    full ``alpha`` (guardrails are not split). The variance under H0 is taken at the margin
    boundary, under H1 at no change (Blackwelder's normal approximation).

    >>> noninferiority_sample_size_proportion(0.10, 0.05).n_control
    43855
    """
    _check_options(alpha, power, "greater", ratio, 1, variance_reduction)
    check_scalar(baseline, "baseline", gt=0, lt=1)
    check_scalar(margin, "margin", gt=0)
    delta = margin * baseline
    p_bound = baseline - delta if higher_is_better else baseline + delta
    _check_rates(baseline, np.asarray(p_bound))
    shrink = math.sqrt(1 - variance_reduction)
    sd_null = math.sqrt(baseline * (1 - baseline) + p_bound * (1 - p_bound) / ratio) * shrink
    sd_alt = math.sqrt(baseline * (1 - baseline) * (1 + 1 / ratio)) * shrink
    n = _n_from_sds(np.asarray(delta), sd_null, sd_alt, _crit(alpha, "greater", 1), power)
    return _to_size(n, ratio, 1, alpha, power)


def noninferiority_sample_size_mean(
    mean: float,
    sd: float,
    margin: float,
    *,
    alpha: float = config.ALPHA,
    power: float = config.POWER,
    ratio: float = 1.0,
    variance_reduction: float = 0.0,
) -> SampleSize:
    """Units per arm to show a mean is not worse than ``margin`` (relative), no true change.

    The direction does not change the size: the test is one-sided at the full ``alpha``.

    >>> noninferiority_sample_size_mean(800.0, 400.0, 0.02).n_control
    7729
    """
    check_scalar(margin, "margin", gt=0)
    return sample_size_mean(
        mean,
        sd,
        margin,
        relative=True,
        alpha=alpha,
        power=power,
        alternative="greater",
        ratio=ratio,
        variance_reduction=variance_reduction,
    )


def superiority_sample_size(
    baseline: float,
    mde: float,
    min_effect: float,
    *,
    sd: float | None = None,
    alpha: float = config.ALPHA,
    power: float = config.POWER,
    ratio: float = 1.0,
    tests: int = 1,
    variance_reduction: float = 0.0,
) -> float:
    """Control units for a one-sided test that the relative lift beats ``min_effect``.

    The launch decision ships only when the lift is surely above the cost of launching:
    H0 ``rel <= min_effect`` against a true lift ``mde`` (both signed in the metric's good
    direction, relative to ``baseline``). The estimate is ``T - (1 + min_effect) C``, so
    the control's variance counts ``(1 + min_effect)^2`` times; for a rate the variance
    under H0 is taken at the boundary ``baseline (1 + min_effect)`` (Blackwelder). A
    rate when ``sd`` is None, a mean otherwise. ``alpha`` is one-sided, split over
    ``tests`` (success metrics x treatment arms). Returns the unrounded size.

    With ``min_effect = 0`` this is the unpooled-variance superiority test:

    >>> round(superiority_sample_size(0.10, 0.05, 0.0, alpha=0.025))
    56885
    >>> round(superiority_sample_size(0.10, 0.05, 0.02, alpha=0.025))
    162162
    """
    _check_options(alpha, power, "greater", ratio, tests, variance_reduction)
    if (mde - min_effect) * np.sign(mde) <= 0:
        raise ValueError(
            f"mde ({mde:+.2%}) must be beyond min_effect ({min_effect:+.2%}) in the same "
            "direction: a lift below the launch cost can never ship."
        )
    scale = (1 + min_effect) ** 2
    if sd is None:
        p_t, p_0 = baseline * (1 + mde), baseline * (1 + min_effect)
        _check_rates(baseline, np.asarray([p_t, p_0]))
        var_c = baseline * (1 - baseline)
        sd_alt = math.sqrt(p_t * (1 - p_t) / ratio + scale * var_c)
        sd_null = math.sqrt(p_0 * (1 - p_0) / ratio + scale * var_c)
    else:
        check_scalar(sd, "sd", gt=0)
        sd_alt = sd_null = sd * math.sqrt(1 / ratio + scale)
    shrink = math.sqrt(1 - variance_reduction)
    delta = np.asarray(baseline * (mde - min_effect))
    crit = _crit(alpha, "greater", tests)
    return float(_n_from_sds(delta, sd_null * shrink, sd_alt * shrink, crit, power))


def duration_days(n_total: ArrayLike, daily_units: float, exposure: float = 1.0) -> Count:
    """Days to enrol ``n_total`` units when ``exposure`` of ``daily_units`` enter the test.

    >>> duration_days(115526, 20000)
    6
    >>> duration_days(115526, 20000, exposure=0.5)
    12
    """
    check_scalar(n_total, "n_total", ge=0)
    check_scalar(daily_units, "daily_units", gt=0)
    check_scalar(exposure, "exposure", gt=0, le=1)
    with np.errstate(over="ignore"):
        days = np.ceil(np.asarray(n_total, dtype=float) / (daily_units * exposure) - 1e-9)
    # no test runs this long; the bound keeps the integer from wrapping around
    days = np.minimum(days, config.SAMPLE_SIZE_MAX).astype(np.int64)
    return int(days) if days.ndim == 0 else days


def rule_of_thumb_n(variance: ArrayLike, delta: ArrayLike) -> Number:
    """Lehr's rule of thumb n = 16 sigma^2 / delta^2 per arm (5% two-sided, 80% power).

    Good to a few percent for equal arms, and a check a reviewer can do on a napkin.

    >>> round(rule_of_thumb_n(0.09, 0.005))
    57600
    """
    out = 16 * np.asarray(variance, dtype=float) / np.asarray(delta, dtype=float) ** 2
    return float(out) if np.ndim(out) == 0 else out
