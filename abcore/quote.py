"""Numbers as every page and report quotes them, so one test reads the same everywhere.

The Results table, the decision's sentences, the Markdown report and a shared link's pages
all format a p-value here: a reader comparing two pages compares the same digits.

>>> [quote_p(p) for p in (0.0004, 0.0031, 0.0146, 0.37, 1.0, float("nan"), None)]
['<0.001', '0.003', '0.015', '0.37', '1.00', '—', '—']
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MISSING", "quote_p"]

MISSING = "—"


def quote_p(p: Any) -> str:
    """A p-value as people quote it: three decimals below 0.1, two above, ``<0.001`` below
    that (more digits claim a precision the normal approximation does not have)."""
    try:
        value = float(p)
    except (TypeError, ValueError):
        return MISSING
    if not math.isfinite(value):
        return MISSING
    if value < 0.001:
        return "<0.001"
    if value < 0.1:
        return f"{value:.3f}"
    return f"{value:.2f}"
