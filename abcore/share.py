"""Share links for results: the aggregates (never raw rows) packed into a query parameter.

A results link carries the sufficient statistics per arm, day and segment plus the analysis
options, so whoever opens it sees the same effects and the same decision without the file.

>>> import pandas as pd
>>> from abcore import ingest
>>> con = ingest.connect()
>>> ds = ingest.load(con, pd.DataFrame({"arm": ["a", "b"] * 50, "y": [0, 1, 1, 0] * 25}))
>>> agg = ingest.compute_stats(con, ds, ingest.detect_schema(con, ds))
>>> params = results_to_query_params(agg, {"alpha": 0.05})
>>> again, options = results_from_query_params(params)
>>> again.frame.equals(agg.frame), options
(True, {'alpha': 0.05})
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from abcore import config, limits
from abcore.errors import InputError
from abcore.model import Aggregates, PrepStep, stat_column

__all__ = [
    "RESULTS_KEY",
    "preparation_from_dict",
    "preparation_from_query_params",
    "results_from_dict",
    "results_from_query_params",
    "results_to_dict",
    "results_to_query_params",
]

RESULTS_KEY = "results"


def _pack(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return limits.deflate(raw)


def _unpack(packed: str) -> dict[str, Any]:
    """The link's payload, read within bounds and checked field by field
    (:func:`abcore.limits.check_results_payload`)."""
    max_bytes = config.RESULTS_LINK_MAX_BYTES
    raw = limits.inflate(packed, max_bytes=max_bytes, what="results")
    data = limits.parse_json(raw, what="results link", max_bytes=max_bytes)
    limits.check_results_payload(data)
    return data


def results_to_dict(
    aggregates: Aggregates,
    options: Mapping[str, Any] | None = None,
    *,
    preparation: Sequence[PrepStep] = (),
) -> dict[str, Any]:
    """The aggregates and analysis options as one JSON-ready dict: what a link packs and a
    saved snapshot (:mod:`abcore.registry`) stores, so both reopen a readout the same way.
    ``preparation`` (the steps the rows went through, with the rows each removed) goes
    under its own key, only when there is any."""
    out = {"aggregates": aggregates.to_dict(), "options": dict(options or {})}
    if preparation:
        out["preparation"] = [step.to_dict() for step in preparation]
    return out


def preparation_from_dict(data: Mapping[str, Any]) -> tuple[PrepStep, ...]:
    """The data-preparation steps :func:`results_to_dict` wrote (none: an empty tuple);
    damaged steps raise ValueError or TypeError."""
    return tuple(PrepStep.from_dict(dict(step)) for step in data.get("preparation", ()))


def results_from_dict(data: Mapping[str, Any]) -> tuple[Aggregates, dict[str, Any]]:
    """Inverse of :func:`results_to_dict`; damaged data raises KeyError, TypeError or
    ValueError (the callers turn them into their own sentence)."""
    return Aggregates.from_dict(data["aggregates"]), dict(data.get("options", {}))


def results_to_query_params(
    aggregates: Aggregates,
    options: Mapping[str, Any] | None = None,
    *,
    preparation: Sequence[PrepStep] = (),
) -> dict[str, str]:
    """The aggregates, analysis options and data preparation as one URL-safe parameter."""
    return {RESULTS_KEY: _pack(results_to_dict(aggregates, options, preparation=preparation))}


def results_from_query_params(params: Mapping[str, Any]) -> tuple[Aggregates, dict[str, Any]]:
    """Inverse of :func:`results_to_query_params`; a damaged, oversized or malformed link
    raises InputError with a sentence (never another error)."""
    packed = params.get(RESULTS_KEY)
    if isinstance(packed, list):
        packed = packed[-1] if packed else None
    if not packed:
        raise InputError("This link carries no results (the 'results' parameter is missing).")
    data = _unpack(str(packed))
    try:
        aggregates, options = results_from_dict(data)
        _check_columns(aggregates)
        return aggregates, options
    except InputError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, OverflowError, RecursionError) as exc:
        raise InputError(
            f"This link's results cannot be read: {exc} Ask for the link again."
        ) from exc


def _check_columns(aggregates: Aggregates) -> None:
    """Every metric the link names has its statistics among the link's columns (else the
    analysis would fail on the first lookup)."""
    have = set(aggregates.frame.columns)
    for metric in aggregates.mapping.metrics:
        for name in (stat_column(metric.name, f) for f in metric.stat_fields):
            if name not in have:
                raise InputError(
                    f"This link's results have no column {name!r} for metric {metric.name!r}: "
                    "ask for the link again."
                )


def preparation_from_query_params(params: Mapping[str, Any]) -> tuple[PrepStep, ...]:
    """The data-preparation steps a results link carries (each with the rows it removed),
    read within the same bounds as the rest of the link; a link without any gives an empty
    tuple, a damaged or hostile one an InputError with a sentence.

    >>> import pandas as pd
    >>> from abcore import ingest
    >>> con = ingest.connect()
    >>> ds = ingest.load(con, pd.DataFrame({"arm": ["a", "b"] * 50, "y": [0, 1, 1, 0] * 25}))
    >>> agg = ingest.compute_stats(con, ds, ingest.detect_schema(con, ds))
    >>> step = PrepStep("duplicate_rows", rows_removed=3)
    >>> (again,) = preparation_from_query_params(results_to_query_params(agg, preparation=[step]))
    >>> again == step, again.sentence()
    (True, 'Dropped duplicate rows (kept one of rows equal in every column): 3 rows removed.')
    """
    packed = params.get(RESULTS_KEY)
    if isinstance(packed, list):
        packed = packed[-1] if packed else None
    if not packed:
        return ()
    data = _unpack(str(packed))
    try:
        return preparation_from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"This link's data preparation cannot be read: {exc} Ask for the link again."
        ) from exc
