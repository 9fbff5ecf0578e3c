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

import base64
import json
import zlib
from collections.abc import Mapping
from typing import Any

from abcore.errors import InputError
from abcore.model import Aggregates

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
    return base64.urlsafe_b64encode(zlib.compress(raw.encode(), 9)).decode().rstrip("=")


def _unpack(packed: str) -> dict[str, Any]:
    padded = packed + "=" * (-len(packed) % 4)
    return json.loads(zlib.decompress(base64.urlsafe_b64decode(padded)).decode())


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
    """Inverse of :func:`results_to_query_params`; a damaged link raises InputError."""
    packed = params.get(RESULTS_KEY)
    if isinstance(packed, list):
        packed = packed[-1] if packed else None
    if not packed:
        raise InputError("This link carries no results (the 'results' parameter is missing).")
    try:
        return results_from_dict(_unpack(str(packed)))
    except (ValueError, KeyError, TypeError, zlib.error, UnicodeDecodeError) as exc:
        raise InputError(
            "This link's results are damaged (it may have been cut when copied): ask for the "
            "link again."
        ) from exc
