"""Parameter validation that names the parameter, in the spirit of tea-tasting's checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from abcore.errors import ParameterError


def check_scalar(
    value: Any,
    name: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    in_: Iterable[Any] | None = None,
) -> Any:
    """Return ``value`` if it satisfies every bound, else raise a ``ValueError`` naming
    ``name`` (a :class:`~abcore.errors.ParameterError`, whose ``parameter`` is ``name``).

    Works element-wise on numpy arrays so vectorised calls validate every point.

    >>> check_scalar(0.05, "alpha", gt=0, lt=1)
    0.05
    >>> check_scalar(1.2, "power", gt=0, lt=1)
    Traceback (most recent call last):
    ...
    abcore.errors.ParameterError: power must be < 1, got 1.2.
    """
    if in_ is not None:
        allowed = tuple(in_)
        if value not in allowed:
            raise ParameterError(
                f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}.",
                parameter=name,
            )
        return value
    arr = np.asarray(value, dtype=float)
    if np.any(np.isnan(arr)):
        raise ParameterError(f"{name} must be a number, got {value!r}.", parameter=name)
    shown = _show(value)
    if gt is not None and np.any(arr <= gt):
        raise ParameterError(f"{name} must be > {gt}, got {shown}.", parameter=name)
    if ge is not None and np.any(arr < ge):
        raise ParameterError(f"{name} must be >= {ge}, got {shown}.", parameter=name)
    if lt is not None and np.any(arr >= lt):
        raise ParameterError(f"{name} must be < {lt}, got {shown}.", parameter=name)
    if le is not None and np.any(arr > le):
        raise ParameterError(f"{name} must be <= {le}, got {shown}.", parameter=name)
    return value


def _show(value: Any) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(value.item() if hasattr(value, "item") else value)
    return f"an array with min {arr.min():g} and max {arr.max():g}"


def check_shares(values: Any, name: str) -> tuple[float, ...]:
    """``values`` as a tuple of strictly increasing shares in (0, 1), or a ValueError.

    >>> check_shares([0.25, 0.5], "earlier_looks")
    (0.25, 0.5)
    """
    out = tuple(float(v) for v in np.asarray(values, dtype=float).ravel())
    if out:
        check_scalar(np.asarray(out), name, gt=0, lt=1)
        if np.any(np.diff(out) <= 0):
            raise ValueError(f"{name} must be strictly increasing, got {list(out)}.")
    return out
