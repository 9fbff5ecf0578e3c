"""Sufficient statistics: the only numbers that travel from the data to the tests.

Everything a test needs is a count, sums and sums of squares (plus a cross-product for ratio
metrics and CUPED). They add across days and segments, come straight out of a SQL
``GROUP BY`` and are small enough to live in a share link, as in GrowthBook's gbstats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SampleMean:
    """Count, sum and sum of squares of one metric in one arm.

    >>> s = SampleMean(n=4, sum=2.0, sum_sq=2.0)   # a binary metric: 2 conversions of 4
    >>> s.mean, round(s.variance, 4)
    (0.5, 0.3333)
    """

    n: int
    sum: float
    sum_sq: float

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n > 0 else math.nan

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1), clipped at zero against rounding."""
        if self.n < 2:
            return math.nan
        return max((self.sum_sq - self.sum**2 / self.n) / (self.n - 1), 0.0)

    @property
    def sd(self) -> float:
        return math.sqrt(self.variance)

    def __add__(self, other: SampleMean) -> SampleMean:
        return SampleMean(self.n + other.n, self.sum + other.sum, self.sum_sq + other.sum_sq)

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
    CUPED (``y`` = metric, ``x`` = pre-period covariate).
    """

    n: int
    sum_y: float
    sum_y_sq: float
    sum_x: float
    sum_x_sq: float
    sum_xy: float

    @property
    def y(self) -> SampleMean:
        return SampleMean(self.n, self.sum_y, self.sum_y_sq)

    @property
    def x(self) -> SampleMean:
        return SampleMean(self.n, self.sum_x, self.sum_x_sq)

    @property
    def covariance(self) -> float:
        """Sample covariance of y and x (ddof=1)."""
        if self.n < 2:
            return math.nan
        return (self.sum_xy - self.sum_x * self.sum_y / self.n) / (self.n - 1)

    def __add__(self, other: PairStatistic) -> PairStatistic:
        return PairStatistic(
            self.n + other.n,
            self.sum_y + other.sum_y,
            self.sum_y_sq + other.sum_y_sq,
            self.sum_x + other.sum_x,
            self.sum_x_sq + other.sum_x_sq,
            self.sum_xy + other.sum_xy,
        )
