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
from collections.abc import Mapping
from typing import Any

import pandas as pd

from abcore import config, limits
from abcore.errors import InputError
from abcore.model import Aggregates, stat_column

__all__ = [
    "RESULTS_KEY",
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
    aggregates: Aggregates, options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The aggregates and analysis options as one JSON-ready dict: what a link packs and a
    saved snapshot (:mod:`abcore.registry`) stores, so both reopen a readout the same way."""
    return {"aggregates": aggregates.to_dict(), "options": dict(options or {})}


def results_from_dict(data: Mapping[str, Any]) -> tuple[Aggregates, dict[str, Any]]:
    """Inverse of :func:`results_to_dict`; damaged data raises KeyError, TypeError or
    ValueError (the callers turn them into their own sentence)."""
    return Aggregates.from_dict(data["aggregates"]), dict(data.get("options", {}))


def results_to_query_params(
    aggregates: Aggregates, options: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The aggregates and analysis options as one URL-safe query parameter."""
    return {RESULTS_KEY: _pack(results_to_dict(aggregates, options))}


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
        fields = metric.stat_fields + metric.summary_fields
        for name in (stat_column(metric.name, f) for f in fields):
            if name not in have:
                raise InputError(
                    f"This link's results have no column {name!r} for metric {metric.name!r}: "
                    "ask for the link again."
                )
        if metric.summary_fields:
            _check_summaries(aggregates, metric.name)


def _check_summaries(aggregates: Aggregates, metric: str) -> None:
    """A quantile's summary in every overall and segment row is whole counts within the
    arm's units, and a quantile between its bounds (a link is typed by anyone)."""
    frame = aggregates.frame
    n_col, star_col = stat_column(metric, "q_n"), stat_column(metric, "q_nstar")
    for row in frame[frame["level"] != "day"].to_dict("records"):
        if row["level"] == "segment" and pd.isna(row["segment_value"]):
            continue  # units without a value: no lookup reads them
        n, n_star = float(row[n_col]), float(row[star_col])
        if pd.isna(n) and row["level"] == "segment":
            continue  # no summary (a warehouse output's segment): the readout leaves it out
        if not (n.is_integer() and n_star.is_integer() and 0 <= n_star <= n <= row["n"]):
            raise InputError(
                f"This link's quantile summary of metric {metric!r} counts {n:g} units (its "
                f"bounds {n_star:g}) in arm {row['variant']!r} of {row['n']:,} units: ask for "
                "the link again."
            )
        where = (
            {}
            if row["level"] == "overall"
            else {"segment": row["segment"], "value": row["segment_value"]}
        )
        aggregates.quantile(metric, str(row["variant"]), **where)  # ValueError: bad bounds
