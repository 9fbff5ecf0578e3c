"""Capping (winsorizing) of one metric: a lower and an upper bound, each a fixed amount or a
percentile of the metric's values over both arms pooled.

A whale (one player with 49,854 game rounds, one order of 40,000 EUR) can decide a test on
revenue by itself: its square dominates the variance and its arm's mean. Capping clips every
unit's value into ``[lower, upper]`` before the statistics are taken, as GrowthBook's and
Eppo's "capping" / "winsorization" do, trading a little bias of the estimand (the mean of
the capped metric, not of the raw one) for a large cut in variance.

**Pooled, never per arm.** A percentile cap is computed over the units of every arm
together: one bound for everyone, so the capped metric is one function of a unit's value,
the same in each arm, and the test compares the arms on that one metric. Caps computed per
arm would be two different functions: a unit's capped value would depend on which arm it
fell in, and the difference of capped means would mix the treatment's effect with the
difference of the two caps (a treatment that adds a few big spenders raises its own arm's
cap and keeps more of its tail than the control keeps of its own), an estimate of no
single metric's effect. Pooled, the bound is a function of both arms' data alike, and
under no effect the false-positive rate stays at alpha (simulated in
``tests/test_capping.py``: 0.051 at alpha 0.05 on lognormal amounts capped at p99).

**Interpolation.** A percentile is DuckDB's ``quantile_cont`` (linear interpolation
between order statistics, numpy's default ``method="linear"``), and the warehouse query's
``PERCENTILE_CONT`` (PostgreSQL, Spark, Snowflake, BigQuery) is the same definition.

**Ignore zeros.** With ``ignore_zeros`` the percentiles are taken over the non-zero values
only (GrowthBook's option for capping): on a revenue metric where 95% of units buy
nothing, the 99th percentile of all units is a modest purchase, that of the buyers is a big
one. Zeros are then left as they are (a unit that bought nothing still bought nothing, even
under a lower cap taken from the buyers).

**What is capped.** Continuous metrics only (:attr:`abcore.model.MetricKind.cappable`): a
conversion is already 0 or 1, and a ratio is refused rather than capped, since clipping its
numerator and denominator each at its own bound changes what the ratio means (a unit's
clicks capped but not its sessions lowers its clicks per session) and no single bound on the
per-unit ratio is a bound on the ratio of sums the test reads. A CUPED covariate is not
capped: it is measured before assignment, so any function of it leaves the adjusted effect
unbiased; a covariate with a whale only weakens the adjustment, never biases it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from abcore import config

__all__ = ["CAPPING_KINDS", "Capping"]

CAPPING_KINDS = ("percentile", "absolute")
"""How a bound is read: a percentile (0 to 100) of the pooled values, or the amount itself."""


def _bound(value: Any, name: str, kind: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number or None, got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if kind == "percentile" and not 0 <= value <= 100:
        raise ValueError(f"{name} is a percentile here, so it must lie in 0 to 100, got {value:g}.")
    if kind == "absolute" and abs(value) > config.CAPPING_MAX_ABS:
        raise ValueError(
            f"{name} must be at most {config.CAPPING_MAX_ABS:g} in size, got {value:g}."
        )
    return value


@dataclass(frozen=True)
class Capping:
    """Bounds a metric's per-unit values are clipped into (see the module's docstring).

    Attributes:
        lower: the lower bound (``None``: none), a percentile 0-100 or an amount per ``kind``.
        upper: the upper bound (``None``: none).
        kind: ``"percentile"`` (of both arms pooled) or ``"absolute"``.
        ignore_zeros: percentiles over the non-zero values only; zeros stay zero.

    >>> Capping(upper=99).sentence()
    'upper at the 99th percentile of both arms pooled'
    >>> Capping(lower=0, upper=500, kind="absolute").sentence()
    'lower at 0, upper at 500'
    >>> Capping(lower=99, upper=1)
    Traceback (most recent call last):
    ...
    ValueError: capping's lower bound (99) must not exceed its upper bound (1).
    """

    lower: float | None = None
    upper: float | None = None
    kind: str = "percentile"
    ignore_zeros: bool = False

    def __post_init__(self) -> None:
        if self.kind not in CAPPING_KINDS:
            raise ValueError(
                f"capping kind must be one of {', '.join(CAPPING_KINDS)}, got {self.kind!r}."
            )
        lower = _bound(self.lower, "capping's lower bound", self.kind)
        upper = _bound(self.upper, "capping's upper bound", self.kind)
        if lower is None and upper is None:
            raise ValueError("capping needs a lower bound, an upper bound or both; got neither.")
        if lower is not None and upper is not None and lower > upper:
            raise ValueError(
                f"capping's lower bound ({lower:g}) must not exceed its upper bound ({upper:g})."
            )
        if not isinstance(self.ignore_zeros, bool):
            raise ValueError(
                f"capping's ignore_zeros must be true or false, got {self.ignore_zeros!r}."
            )
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)

    @property
    def percentile(self) -> bool:
        return self.kind == "percentile"

    def sentence(self, lower: float | None = None, upper: float | None = None) -> str:
        """The bounds in words; ``lower`` / ``upper`` are the values a percentile came to."""
        parts = []
        for side, bound, value in (("lower", self.lower, lower), ("upper", self.upper, upper)):
            if bound is None:
                continue
            if self.percentile:
                text = f"{side} at the {_ordinal(bound)} percentile"
                text += " of the non-zero values" if self.ignore_zeros else ""
                text += " of both arms pooled"
                text += f" (= {value:,.6g})" if value is not None else ""
            else:
                text = f"{side} at {bound:,.6g}"
            parts.append(text)
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The set fields, for a mapping's JSON and a share link."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.lower is not None:
            out["lower"] = self.lower
        if self.upper is not None:
            out["upper"] = self.upper
        if self.ignore_zeros:
            out["ignore_zeros"] = True
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Capping:
        if isinstance(data, Capping):
            return data
        if not isinstance(data, dict):
            raise ValueError(
                f"capping must be a dict of lower, upper, kind, ignore_zeros, got {data!r}."
            )
        known = ("lower", "upper", "kind", "ignore_zeros")
        extra = sorted(set(data) - set(known))
        if extra:
            raise ValueError(f"capping takes lower, upper, kind and ignore_zeros, not {extra}.")
        return cls(**data)

    @classmethod
    def pooled_percentile(cls, fraction: float) -> Capping:
        """The old page's shortcut: one upper cap at a quantile fraction (0.99)."""
        return cls(upper=round(float(fraction) * 100, 10))


def _ordinal(value: float) -> str:
    text = f"{value:g}"
    if not text.isdigit():
        return f"{text}th"
    n = int(text)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
