"""Numbers as the pages print them: the one place for the UI's number formats.

Every page formats percentages, p-values, means and counts through these functions, so the
same number reads the same way on every page (the Results table, the Metrics sensitivity
table, the Model launch canary table). Pure functions, no Streamlit: the doctests below run
in the suite.
"""

from __future__ import annotations

import math
from typing import Any

from abcore import config
from abcore.model import KINDS
from abcore.quote import quote_p

MISSING = "—"
"""What a number that could not be computed (None, NaN) prints as."""


def missing(x: Any) -> bool:
    """Whether ``x`` is no number: None, NaN or not a number at all.

    >>> [missing(x) for x in (None, float("nan"), "n/a", 0, 1.5)]
    [True, True, True, False, False]
    """
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _auto_digits(size: float) -> int:
    return 2 if size < 0.1 else 1 if size < 1 else 0


def pct(x: Any, *, signed: bool = True, digits: int | None = None, none: str = MISSING) -> str:
    """A fraction as a percentage, with as many decimals as its size deserves.

    ``digits`` fixes the decimals (``None``: two below 10%, one below 100%, none above);
    ``none`` is what a missing value prints as; an infinite value (an interval that is
    unbounded on one side) reads "unbounded".

    >>> [pct(x) for x in (0.0674, -0.0043, 1.4067, float("inf"), None)]
    ['+6.74%', '-0.43%', '+141%', 'unbounded', '—']
    >>> pct(0.0312, signed=False), pct(0.012, digits=1, none="n/a"), pct(float("nan"), none="n/a")
    ('3.12%', '+1.2%', 'n/a')
    """
    if missing(x):
        return none
    x = float(x)
    if math.isinf(x):
        return "unbounded"
    sign = "+" if signed else ""
    digits = _auto_digits(abs(x)) if digits is None else digits
    return f"{x:{sign}.{digits}%}"


def share(x: Any) -> str:
    """A share of users (0 to 1) as a percentage: two decimals below 10%, one above.

    Unlike :func:`pct`'s default, a whole share keeps its decimal (the funnel's entry stage
    reads 100.0%, like the stages below it).

    >>> [share(x) for x in (0.0312, 0.456, 1.0, None)]
    ['3.12%', '45.6%', '100.0%', '—']
    """
    if missing(x):
        return MISSING
    return pct(x, signed=False, digits=2 if float(x) < 0.1 else 1)


def p_value(p: Any) -> str:
    """p-values as people quote them: :func:`abcore.quote.quote_p`, the one format of the
    pages, the decision's sentences and the reports.

    >>> [p_value(p) for p in (0.0004, 0.0031, 0.0146, 0.37, 1.0, float("nan"))]
    ['<0.001', '0.003', '0.015', '0.37', '1.00', '—']
    """
    return quote_p(p)


def number(x: Any, *, signed: bool = False) -> str:
    """Means and differences with about four significant digits.

    >>> [number(x) for x in (861.9555, 52.456, 0.0123456, 12345.6)]
    ['862.0', '52.46', '0.0123', '12,346']
    >>> number(-0.5, signed=True), number(3, signed=True)
    ('-0.5', '+3.00')
    """
    if missing(x):
        return MISSING
    x = float(x)
    sign = "+" if signed else ""
    size = abs(x)
    if size >= 1000:
        return f"{x:{sign},.0f}"
    if size >= 100:
        return f"{x:{sign}.1f}"
    if size >= 1 or size == 0:
        return f"{x:{sign}.2f}"
    return f"{x:{sign}.3g}"


def count(x: Any) -> str:
    """A count with thousands separators; a dash for none.

    >>> count(12345), count(7.0), count(None), count(float("nan"))
    ('12,345', '7', '—', '—')
    """
    return MISSING if missing(x) else f"{int(x):,}"


def is_rate(kind: str) -> bool:
    """Whether a metric of this kind is a rate (printed as a percentage): a yes/no per unit
    or successes out of trials, as the kind declares it (:data:`abcore.model.KINDS`).

    >>> is_rate("binary"), is_rate("proportion_of_counts"), is_rate("ratio"), is_rate("x")
    (True, True, False, False)
    """
    spec = KINDS.get(kind)
    return spec is not None and (spec.zero_one or spec.statistic == "trials")


def mean(x: Any, kind: str) -> str:
    """An arm's mean: a rate as a percentage, anything else as a number.

    >>> mean(0.09784, "binary"), mean(862.04, "continuous")
    ('9.78%', '862.0')
    """
    if is_rate(kind) and not missing(x):
        return f"{float(x):.2%}"
    return number(x)


def difference(x: Any, kind: str) -> str:
    """An absolute difference: percentage points for rates.

    >>> difference(0.0066, "binary"), difference(4.7, "continuous"), difference(None, "binary")
    ('+0.66 pp', '+4.70', '—')
    """
    if missing(x):
        return MISSING
    if is_rate(kind):
        return f"{float(x) * 100:+.2f} pp"
    return number(x, signed=True)


def interval(low: Any, high: Any) -> str:
    """A relative interval; infinite ends read "unbounded" (Fieller, control near zero).

    >>> interval(0.013, 0.1249), interval(float("-inf"), float("inf"))
    ('+1.3% to +12.5%', 'unbounded')
    >>> interval(0.013, float("inf")), interval(float("-inf"), -0.02)
    ('above +1.30%', 'below -2.00%')
    """
    if missing(low) or missing(high):
        return MISSING
    low, high = float(low), float(high)
    if math.isinf(low) and math.isinf(high):
        return "unbounded"
    if math.isinf(high):  # one-sided, as a one-sided plan tests its success metric
        return f"above {pct(low)}"
    if math.isinf(low):
        return f"below {pct(high)}"
    digits = _auto_digits(max(abs(low), abs(high)))
    return f"{pct(low, digits=digits)} to {pct(high, digits=digits)}"


def quantile_label(q: float) -> str:
    """A quantile level as the pages name it: 0.9 is p90, 0.999 is p99.9.

    >>> quantile_label(0.9), quantile_label(0.999)
    ('p90', 'p99.9')
    """
    return f"p{q * 100:g}"


QUANTILE_LABELS = {quantile_label(q): q for q in config.QUANTILE_LEVELS}
"""The quantile levels the pages offer, by label (p50, p90, p95, p99)."""
