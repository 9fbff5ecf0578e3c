"""Share links for results: the aggregates (never raw rows) packed into a query parameter.

A results link carries the sufficient statistics per arm, day and segment plus the analysis
options, so whoever opens it sees the same effects and the same decision without the file.
What only the rows could tell travels with them (:class:`SharedResults`): the row-level
checks (units in two arms, duplicate rows...), the data-preparation steps with the rows each
removed, and the date notes. Without them a reviewer saw "Some checks need a look" where the
owner saw a failed gate, and a different verdict.

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
from dataclasses import dataclass
from typing import Any

import pandas as pd

from abcore import config, limits
from abcore.errors import InputError
from abcore.model import Aggregates, Check, PrepStep, stat_column

__all__ = [
    "RESULTS_KEY",
    "SharedResults",
    "preparation_from_dict",
    "preparation_from_query_params",
    "read_results_link",
    "results_from_dict",
    "results_from_query_params",
    "results_to_dict",
    "results_to_query_params",
    "shared_results_from_dict",
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


@dataclass(frozen=True)
class SharedResults:
    """What a results link carries: the aggregates and options, and what the rows told.

    Attributes:
        aggregates: the sufficient statistics per arm, day and segment.
        options: the readout's options (alpha, correction, relative_method, cuped, strata,
            expected_shares).
        checks: the row-level checks (:attr:`abcore.analysis.Analysis.input_checks`).
        preparation: the data-preparation steps, each with the rows it removed.
        notes: the date notes, ``{"day": ..., "note": ...}``.
    """

    aggregates: Aggregates
    options: dict[str, Any]
    checks: tuple[Check, ...] = ()
    preparation: tuple[PrepStep, ...] = ()
    notes: tuple[dict[str, str], ...] = ()


def results_to_dict(
    aggregates: Aggregates,
    options: Mapping[str, Any] | None = None,
    *,
    checks: Sequence[Check] = (),
    preparation: Sequence[PrepStep] = (),
    notes: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The aggregates and analysis options as one JSON-ready dict: what a link packs and a
    saved snapshot (:mod:`abcore.registry`) stores, so both reopen a readout the same way.

    ``checks`` (every field of each :class:`~abcore.model.Check`), ``preparation`` (every
    field of each :class:`~abcore.model.PrepStep`, :meth:`~abcore.model.PrepStep.to_dict`)
    and ``notes`` are written when there are any.
    """
    out: dict[str, Any] = {"aggregates": aggregates.to_dict(), "options": dict(options or {})}
    if checks:
        out["checks"] = [dict(vars(c)) for c in checks]
    if preparation:
        out["preparation"] = [step.to_dict() for step in preparation]
    if notes:
        out["notes"] = [{"day": str(n["day"]), "note": str(n["note"])} for n in notes]
    return out


def results_from_dict(data: Mapping[str, Any]) -> tuple[Aggregates, dict[str, Any]]:
    """Inverse of :func:`results_to_dict`'s aggregates and options; damaged data raises
    KeyError, TypeError or ValueError (the callers turn them into their own sentence)."""
    return Aggregates.from_dict(data["aggregates"]), dict(data.get("options", {}))


def preparation_from_dict(data: Mapping[str, Any]) -> tuple[PrepStep, ...]:
    """The data-preparation steps :func:`results_to_dict` wrote (none: an empty tuple);
    damaged steps raise ValueError or TypeError."""
    return tuple(PrepStep.from_dict(dict(step)) for step in data.get("preparation", ()))


def shared_results_from_dict(data: Mapping[str, Any]) -> SharedResults:
    """Inverse of :func:`results_to_dict`, checks, steps and notes included; damaged data
    raises KeyError, TypeError or ValueError."""
    aggregates, options = results_from_dict(data)
    return SharedResults(
        aggregates,
        options,
        checks=tuple(Check(**c) for c in data.get("checks", ())),
        preparation=preparation_from_dict(data),
        notes=tuple({"day": n["day"], "note": n["note"]} for n in data.get("notes", ())),
    )


def results_to_query_params(
    aggregates: Aggregates,
    options: Mapping[str, Any] | None = None,
    *,
    checks: Sequence[Check] = (),
    preparation: Sequence[PrepStep] = (),
    notes: Sequence[Mapping[str, Any]] = (),
) -> dict[str, str]:
    """The aggregates, analysis options, row-level checks, preparation steps and date notes
    as one URL-safe query parameter."""
    data = results_to_dict(aggregates, options, checks=checks, preparation=preparation, notes=notes)
    return {RESULTS_KEY: _pack(data)}


def results_from_query_params(params: Mapping[str, Any]) -> tuple[Aggregates, dict[str, Any]]:
    """The aggregates and options of :func:`read_results_link`; a damaged, oversized or
    malformed link raises InputError with a sentence (never another error)."""
    shared = read_results_link(params)
    return shared.aggregates, shared.options


def read_results_link(params: Mapping[str, Any]) -> SharedResults:
    """Inverse of :func:`results_to_query_params`; a damaged, oversized or malformed link
    raises InputError with a sentence (never another error).

    >>> import pandas as pd
    >>> from abcore import ingest
    >>> con = ingest.connect()
    >>> ds = ingest.load(con, pd.DataFrame({"arm": ["a", "b"] * 50, "y": [0, 1, 1, 0] * 25}))
    >>> agg = ingest.compute_stats(con, ds, ingest.detect_schema(con, ds))
    >>> steps = [PrepStep("duplicate_rows", rows_removed=3)]
    >>> link = results_to_query_params(agg, preparation=steps, notes=[{"day": "d", "note": "x"}])
    >>> shared = read_results_link(link)
    >>> shared.preparation == tuple(steps), shared.notes
    (True, ({'day': 'd', 'note': 'x'},))
    """
    packed = params.get(RESULTS_KEY)
    if isinstance(packed, list):
        packed = packed[-1] if packed else None
    if not packed:
        raise InputError("This link carries no results (the 'results' parameter is missing).")
    data = _unpack(str(packed))
    try:
        shared = shared_results_from_dict(data)
        _check_columns(shared.aggregates)
        return shared
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
