"""Quantile metrics (p50, p90, p99 of a per-unit amount): each arm's bounded summary and the
test of the difference between arms.

A quantile does not come from sums, so a quantile metric's cell carries a fixed-size
summary instead (:class:`QuantileSummary`, five numbers): the units, the sample quantile and
the values at the ranks of its order-statistic ("outer") interval,
``n*q -/+ z*sqrt(n*q*(1-q))`` at ``config.QUANTILE_BOUND_ALPHA``. The interval's width
estimates the density at the quantile, so the quantile's variance is
``((upper - lower) / (2 z))**2`` (the asymptotic ``q(1-q) / (n f(x_q)**2)`` without
estimating ``f``); the difference between arms is then a z-test by the delta method, its
relative interval by the readout's relative method. This is the "outer CI" method of
GrowthBook's gbstats (``gbstats/models/statistics.py`` ``QuantileStatistic``, its
``variance_init``) and Eppo's quantile metrics. Our queries take the bounds at each cell's
own size (``n_star = n``: :mod:`abcore.quantile_sql`, :mod:`abcore.warehouse_quantile`); a
summary whose bounds were taken for a
smaller sample ``n_star < n`` (gbstats' SQL takes them on a grid of sizes) has its variance
scaled by ``n_star / n``.

The interval is valid when the units are independent (users are the unit: the metric is
one value per unit, summed over its rows first); a quantile of events (page loads of many
users) would need the clustered variance, which this module does not compute.

Pure numbers in, typed results out: no DuckDB, no pandas.

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> c = summarize(rng.lognormal(0, 1, 5000), 0.5)
>>> t = summarize(rng.lognormal(0.1, 1, 5000), 0.5)
>>> r = compare_quantiles(c, t)
>>> r.method, bool(r.abs_ci_low < r.abs_effect < r.abs_ci_high)
('quantile_outer_ci', True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from abcore import config, stats
from abcore.stats import EMPTY_ARM, TOO_FEW_FOR_QUANTILE, ZERO_VARIANCE, Comparison

__all__ = [
    "SUMMARY_FIELDS",
    "QuantileSummary",
    "bound_levels",
    "bound_z",
    "compare_quantiles",
    "interpolate",
    "summarize",
]

SUMMARY_FIELDS = ("q_n", "q_nstar", "q_value", "q_lower", "q_upper")
"""A quantile metric's per-cell columns (after the metric's prefix): units, the size the
bounds' ranks were taken at, the quantile, the lower and the upper bound."""


def bound_z() -> float:
    """The normal quantile of the outer interval (``config.QUANTILE_BOUND_ALPHA``)."""
    return float(sps.norm.ppf(1 - config.QUANTILE_BOUND_ALPHA / 2))


def bound_levels(q: float, n_star: Any) -> tuple[Any, Any]:
    """The levels of the outer interval's ranks for ``n_star`` units: ``q -/+ z sqrt(q(1-q)
    / n_star)`` (outside [0, 1] when the units are too few to bound the quantile).

    >>> [round(float(v), 4) for v in bound_levels(0.5, 10_000)]
    [0.4902, 0.5098]
    """
    half = bound_z() * np.sqrt(q * (1 - q) / np.asarray(n_star, dtype=float))
    return q - half, q + half


def interpolate(h: Any, below: Any, above: Any) -> Any:
    """The value at position ``h = (n - 1) p`` from the values ranked ``floor(h) + 1``
    (``below``) and ``floor(h) + 2`` (``above``, NaN past the last): linear interpolation,
    as DuckDB's ``quantile_cont`` and numpy's default method.

    >>> float(interpolate(1.25, 10.0, 20.0)), float(interpolate(3.0, 7.0, float("nan")))
    (12.5, 7.0)
    """
    h, below, above = (np.asarray(v, dtype=float) for v in (h, below, above))
    frac = h - np.floor(h)
    with np.errstate(invalid="ignore"):
        return np.where((frac == 0) | np.isnan(above), below, below + frac * (above - below))


@dataclass(frozen=True)
class QuantileSummary:
    """One arm's quantile with its outer interval: what a quantile metric's cell carries.

    Fields may be numpy arrays of one shape (vectorised simulations); ``q`` is one level.

    Attributes:
        q: the quantile level (0.9 for p90).
        n: units with a value.
        n_star: the units the bounds' ranks were taken at (``<= n``; ``n`` when exact).
        value: the sample quantile (linear interpolation, DuckDB's ``quantile_cont``).
        lower, upper: the values at levels :func:`bound_levels` ``(q, n_star)``.

    >>> s = QuantileSummary(0.5, 10_000, 10_000, 1.0, 0.95, 1.05)
    >>> round(s.se, 5)
    0.02551
    """

    q: float
    n: Any
    n_star: Any
    value: Any
    lower: Any
    upper: Any

    def __post_init__(self) -> None:
        if not isinstance(self.q, float | int) or not 0 < self.q < 1:
            raise ValueError(f"q must be a level strictly between 0 and 1, got {self.q!r}.")
        n, n_star = np.asarray(self.n, dtype=float), np.asarray(self.n_star, dtype=float)
        if np.any(~np.isfinite(n)) or np.any(n < 0) or np.any(n_star < 0) or np.any(n_star > n):
            raise ValueError(
                f"n must be a count of units and n_star between 0 and n, got n={self.n!r}, "
                f"n_star={self.n_star!r}."
            )
        lo, mid, hi = (np.asarray(v, dtype=float) for v in (self.lower, self.value, self.upper))
        with np.errstate(invalid="ignore"):
            bad = (n > 0) & ~((lo <= mid) & (mid <= hi))
        if np.any(bad & (n_star > 0)):
            raise ValueError(
                "lower must be at most the quantile and upper at least it, got "
                f"lower={self.lower!r}, value={self.value!r}, upper={self.upper!r}."
            )

    @property
    def mean(self) -> Any:
        """The arm's quantile (the readout shows it where other metrics show the mean)."""
        return self.value

    @property
    def bounded(self) -> Any:
        """Whether the outer interval's ranks lie inside the sample (``n_star`` large
        enough: about ``z**2 q / (1 - q)``, 380 units for p99)."""
        low, high = bound_levels(self.q, np.maximum(np.asarray(self.n_star, dtype=float), 1))
        return (np.asarray(self.n_star) > 0) & (low >= 0) & (high <= 1)

    @property
    def variance(self) -> Any:
        """Variance of the sample quantile: ``(n_star / n) ((upper - lower) / 2z)**2``
        (gbstats ``QuantileStatistic.variance_init / n``, which also carries its
        ``(n - 1) / n``)."""
        n = np.asarray(self.n, dtype=float)
        with np.errstate(all="ignore"):
            width = np.asarray(self.upper, dtype=float) - np.asarray(self.lower, dtype=float)
            var = (np.asarray(self.n_star, dtype=float) / n) * ((n - 1) / n)
            var = var * (width / (2 * bound_z())) ** 2
        return float(var) if np.ndim(var) == 0 else var

    @property
    def se(self) -> Any:
        return np.sqrt(self.variance) if np.ndim(self.variance) else math.sqrt(self.variance)


def summarize(values: Any, q: float) -> QuantileSummary:
    """The exact summary of unit values (the last axis; leading axes are a batch), with the
    bounds' ranks at ``n_star = n``: for tests, simulations and notebooks."""
    x = np.sort(np.asarray(values, dtype=float), axis=-1)
    n = x.shape[-1]
    low, high = bound_levels(q, n)
    levels = np.clip([q, float(low), float(high)], 0.0, 1.0)
    value, lower, upper = np.quantile(x, levels, axis=-1)
    batch = np.full(x.shape[:-1], n) if x.ndim > 1 else n
    return QuantileSummary(float(q), batch, batch, value, lower, upper)


def compare_quantiles(
    control: QuantileSummary,
    treatment: QuantileSummary,
    *,
    alpha: float = config.ALPHA,
    alternative: str = config.ALTERNATIVE,
    relative_method: str = config.RELATIVE_CI,
) -> Comparison:
    """Treatment minus control on a quantile: a z-test of the difference with the arms'
    outer-interval variances added (independent arms), and the relative effect
    ``difference / control quantile`` with its interval by ``relative_method``.

    Not testable (``error``): an empty arm, too few units to bound the quantile
    (``too_few_for_quantile``), or bounds that coincide (ties at the quantile: a p50 of a
    mostly-zero amount), which leave no variance to test with.
    """
    stats._check_options(alpha, alternative, relative_method)
    if control.q != treatment.q:
        raise ValueError(
            f"treatment.q must equal control.q, got {treatment.q!r} and {control.q!r}."
        )
    n_c = np.asarray(control.n, dtype=float)
    n_t = np.asarray(treatment.n, dtype=float)
    v_c, v_t = np.asarray(control.variance), np.asarray(treatment.variance)
    empty = (n_c == 0) | (n_t == 0)
    few = ~empty & ~(control.bounded & treatment.bounded)
    var_effect = v_c + v_t
    with np.errstate(invalid="ignore"):
        flat = ~empty & ~few & ~(var_effect > 0)
    mean_c = np.asarray(control.value, dtype=float)
    mean_t = np.asarray(treatment.value, dtype=float)
    return stats._build(
        method="quantile_outer_ci",
        n_c=n_c,
        n_t=n_t,
        mean_c=mean_c,
        mean_t=mean_t,
        effect=mean_t - mean_c,
        var_effect=var_effect,
        var_null=var_effect,
        df=np.inf,
        baseline=mean_c,
        var_baseline=v_c,
        cov=-v_c,
        alpha=alpha,
        alternative=alternative,
        relative_method=relative_method,
        codes=[(EMPTY_ARM, empty), (TOO_FEW_FOR_QUANTILE, few), (ZERO_VARIANCE, flat)],
        scalar=all(np.ndim(v) == 0 for v in (control.n, treatment.n, mean_c, mean_t)),
        originals=(control.n, treatment.n),
    )
