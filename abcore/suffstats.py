"""Sufficient statistics: the only numbers that travel from the data to the tests.

Everything a test needs is a count, sums and sums of squares (plus a cross-product for ratio
metrics and CUPED). They add across days and segments, come straight out of a SQL
``GROUP BY`` and are small enough to live in a share link, as in GrowthBook's gbstats.

The sums may be of values minus a ``shift`` (a constant near the mean). Sums of squares of
raw values lose the variance to rounding once the mean dwarfs the spread (timestamps in
milliseconds: mean 1.7e12, sd 100, and ``sum_sq - sum**2 / n`` is noise); sums of shifted
values keep it, and they still add up across cells that share the shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SampleMean:
    """Count, sum and sum of squares of one metric in one arm.

    >>> s = SampleMean(n=4, sum=2.0, sum_sq=2.0)   # a binary metric: 2 conversions of 4
    >>> s.mean, round(s.variance, 4)
    (0.5, 0.3333)

    ``shift`` says the sums are of ``value - shift`` (0: raw values); the mean adds it back,
    the variance does not depend on it:

    >>> SampleMean(n=2, sum=0.0, sum_sq=2.0, shift=1.7e12).mean     # values 1.7e12 -/+ 1
    1700000000000.0
    """

    n: int
    sum: float
    sum_sq: float
    shift: float = 0.0

    @property
    def mean(self) -> float:
        return self.shift + self.sum / self.n if self.n > 0 else math.nan

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1), clipped at zero against rounding."""
        if self.n < 2:
            return math.nan
        return max((self.sum_sq - self.sum**2 / self.n) / (self.n - 1), 0.0)

    @property
    def sd(self) -> float:
        return math.sqrt(self.variance)

    def shifted(self, shift: float) -> SampleMean:
        """The same sample with its sums taken around another shift."""
        d = self.shift - shift
        if d == 0:
            return self
        total = self.sum + self.n * d
        return SampleMean(self.n, total, self.sum_sq + 2 * d * self.sum + self.n * d * d, shift)

    def __add__(self, other: SampleMean) -> SampleMean:
        o = other.shifted(self.shift)
        return SampleMean(self.n + o.n, self.sum + o.sum, self.sum_sq + o.sum_sq, self.shift)

    @classmethod
    def from_mean_sd(cls, n: int, mean: float, sd: float) -> SampleMean:
        """Rebuild the sums from a reported mean and standard deviation (ddof=1)."""
        total = n * mean
        return cls(n, total, sd**2 * (n - 1) + total**2 / n if n > 0 else 0.0)

    @classmethod
    def from_conversions(cls, n: int, conversions: float) -> SampleMean:
        """A binary metric: the sum of squares equals the sum."""
        return cls(n, float(conversions), float(conversions))


@dataclass(frozen=True)
class PairStatistic:
    """Two metrics on the same units with their cross-product.

    Serves ratio metrics (``y`` = numerator, ``x`` = denominator, e.g. clicks / sessions) and
    CUPED (``y`` = metric, ``x`` = pre-period covariate). As for :class:`SampleMean`, the sums
    may be of ``y - shift_y`` and ``x - shift_x``.
    """

    n: int
    sum_y: float
    sum_y_sq: float
    sum_x: float
    sum_x_sq: float
    sum_xy: float
    shift_y: float = 0.0
    shift_x: float = 0.0

    @property
    def y(self) -> SampleMean:
        return SampleMean(self.n, self.sum_y, self.sum_y_sq, self.shift_y)

    @property
    def x(self) -> SampleMean:
        return SampleMean(self.n, self.sum_x, self.sum_x_sq, self.shift_x)

    @property
    def covariance(self) -> float:
        """Sample covariance of y and x (ddof=1)."""
        if self.n < 2:
            return math.nan
        return (self.sum_xy - self.sum_x * self.sum_y / self.n) / (self.n - 1)

    def shifted(self, shift_y: float, shift_x: float) -> PairStatistic:
        """The same pairs with their sums taken around other shifts."""
        dy, dx = self.shift_y - shift_y, self.shift_x - shift_x
        if dy == 0 and dx == 0:
            return self
        y, x = self.y.shifted(shift_y), self.x.shifted(shift_x)
        xy = self.sum_xy + dx * self.sum_y + dy * self.sum_x + self.n * dy * dx
        return PairStatistic(self.n, y.sum, y.sum_sq, x.sum, x.sum_sq, xy, shift_y, shift_x)

    def __add__(self, other: PairStatistic) -> PairStatistic:
        o = other.shifted(self.shift_y, self.shift_x)
        return PairStatistic(
            self.n + o.n,
            self.sum_y + o.sum_y,
            self.sum_y_sq + o.sum_y_sq,
            self.sum_x + o.sum_x,
            self.sum_x_sq + o.sum_x_sq,
            self.sum_xy + o.sum_xy,
            self.shift_y,
            self.shift_x,
        )


@dataclass(frozen=True, eq=False)
class MomentStatistic:
    """Count, sums and cross-products of several variables on the same units.

    Serves regression adjustment: ``z = (y, x_1, ..., x_p)`` (a metric and its covariates,
    or a segment's dummies for post-stratification) and CUPED on a ratio metric
    (``z = (numerator, denominator, covariate numerator, covariate denominator)``). The
    sums are of ``z - shifts``: ``sums[i] = Σ (z_i - shifts[i])`` and
    ``cross[i, j] = Σ (z_i - shifts[i]) (z_j - shifts[j])``, so, as for
    :class:`PairStatistic`, cells that share the shifts add up exactly.

    Fields may carry leading batch dimensions (``n`` of shape ``B``, ``sums`` ``B + (k,)``,
    ``cross`` ``B + (k, k)``) for vectorised simulations; ``shifts`` is one vector.

    >>> import numpy as np
    >>> z = np.array([[1.0, 2.0], [3.0, 5.0], [2.0, 2.0]])
    >>> s = MomentStatistic.from_values(z)
    >>> s.means.tolist(), s.covariance.tolist()
    ([2.0, 3.0], [[1.0, 1.5], [1.5, 3.0]])
    """

    n: Any
    sums: Any
    cross: Any
    shifts: Any = None

    def __post_init__(self) -> None:
        sums = np.asarray(self.sums, dtype=float)
        cross = np.asarray(self.cross, dtype=float)
        k = sums.shape[-1] if sums.ndim else 0
        if k == 0 or cross.shape[-2:] != (k, k):
            raise ValueError(f"cross must be k by k for k = {k} sums, got the shape {cross.shape}.")
        shifts = np.zeros(k) if self.shifts is None else np.asarray(self.shifts, dtype=float)
        if shifts.shape != (k,):
            raise ValueError(f"shifts must hold {k} numbers, got {shifts.shape}.")
        object.__setattr__(self, "n", np.asarray(self.n, dtype=float))
        object.__setattr__(self, "sums", sums)
        object.__setattr__(self, "cross", cross)
        object.__setattr__(self, "shifts", shifts)

    @property
    def k(self) -> int:
        """How many variables."""
        return int(self.sums.shape[-1])

    @property
    def means(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.shifts + self.sums / self.n[..., None]

    @property
    def centred(self) -> np.ndarray:
        """``Σ (z - mean z)(z - mean z)ᵀ``: the within-sample cross-products (0 if empty)."""
        with np.errstate(all="ignore"):
            outer = self.sums[..., :, None] * self.sums[..., None, :] / self.n[..., None, None]
            return np.where(self.n[..., None, None] > 0, self.cross - outer, 0.0)

    @property
    def covariance(self) -> np.ndarray:
        """Sample covariance matrix (ddof=1)."""
        with np.errstate(all="ignore"):
            return self.centred / (self.n[..., None, None] - 1)

    def shifted(self, shifts: Any) -> MomentStatistic:
        """The same units with their sums taken around other shifts."""
        new = np.asarray(shifts, dtype=float)
        d = self.shifts - new
        if not np.any(d):
            return self
        n = self.n[..., None]
        sums = self.sums + n * d
        cross = (
            self.cross
            + self.sums[..., :, None] * d[None, :]
            + d[:, None] * self.sums[..., None, :]
            + n[..., None] * d[:, None] * d[None, :]
        )
        return MomentStatistic(self.n, sums, cross, new)

    def __add__(self, other: MomentStatistic) -> MomentStatistic:
        o = other.shifted(self.shifts)
        return MomentStatistic(self.n + o.n, self.sums + o.sums, self.cross + o.cross, self.shifts)

    def __sub__(self, other: MomentStatistic) -> MomentStatistic:
        """The units of ``self`` that are not in ``other`` (a part of them)."""
        o = other.shifted(self.shifts)
        return MomentStatistic(self.n - o.n, self.sums - o.sums, self.cross - o.cross, self.shifts)

    def select(self, index: Any) -> MomentStatistic:
        """The statistic of some of the variables, in the order of ``index``."""
        idx = np.asarray(index, dtype=int)
        return MomentStatistic(
            self.n,
            self.sums[..., idx],
            self.cross[..., idx[:, None], idx[None, :]],
            self.shifts[idx],
        )

    @classmethod
    def from_values(cls, values: Any, shifts: Any = None) -> MomentStatistic:
        """From unit rows (``values``: ``B + (n, k)``), e.g. in tests and simulations."""
        z = np.asarray(values, dtype=float)
        k = z.shape[-1]
        shift = np.zeros(k) if shifts is None else np.asarray(shifts, dtype=float)
        zs = z - shift
        return cls(
            np.full(z.shape[:-2], z.shape[-2], dtype=float),
            zs.sum(axis=-2),
            np.einsum("...ni,...nj->...ij", zs, zs),
            shift,
        )

    @classmethod
    def from_pair(cls, pair: PairStatistic) -> MomentStatistic:
        """A :class:`PairStatistic` as moments of ``(y, x)``."""
        return cls(
            pair.n,
            [pair.sum_y, pair.sum_x],
            [[pair.sum_y_sq, pair.sum_xy], [pair.sum_xy, pair.sum_x_sq]],
            [pair.shift_y, pair.shift_x],
        )
