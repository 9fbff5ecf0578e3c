"""Validation of a mapping and the sufficient statistics, in one scan of the data."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable

import duckdb
import numpy as np
import pandas as pd

from abcore import config
from abcore.detect_sql import date_misfits_sql, distinct_counts_sql, text_number_checks_sql
from abcore.errors import InputError
from abcore.ingest._base import Dataset, _NeedTable
from abcore.ingest._run import _columns_list, _run, _run_data, _with_table
from abcore.ingest.detect import _counted_unit_rows, _family, _pick_control
from abcore.model import (
    Aggregates,
    Mapping,
    canonical_stats,
    stat_column,
)
from abcore.quantile_sql import cell_levels, merge_summaries, quantile_stats_sql, summary_frame
from abcore.sql import (
    DAY_ORDER,
    capped_mapping,
    cell_checks_sql,
    cell_count_sql,
    create_temp_table_sql,
    drop_sql,
    finest_stats_sql,
    rollup_stats_sql,
    sampled_units_sql,
    spread_sql,
    sufficient_stats_sql,
)


def _validated(con: duckdb.DuckDBPyConnection, dataset: Dataset, mapping: Mapping) -> Mapping:
    """Check the mapping against the table; return it with the day label resolved.

    Checks only what needs no scan of the data, plus one small query for metric columns that
    are text (they may still hold numbers, or hold a stray word that makes them unusable).
    """
    if not isinstance(mapping, Mapping):
        raise ValueError(f"mapping must be a Mapping, got {type(mapping).__name__}.")
    if not mapping.variant:
        raise InputError(
            "No variant column is chosen: pick the column that says which arm (e.g. control or "
            f"treatment) each row belongs to. The columns are {_columns_list(dataset)}."
        )
    types = dataset.types
    for column in mapping.columns_used():
        if column not in types:
            raise InputError(
                f"Column '{column}' is not in {dataset.source.split(' (', 1)[0]}. The columns are "
                f"{_columns_list(dataset)}."
            )
    _check_one_experiment(con, dataset, mapping)
    if _family(types[mapping.variant]) == "other":
        raise InputError(
            f"Column '{mapping.variant}' holds {types[mapping.variant]} values, which cannot "
            "name an arm. Pick the column with the arm names."
        )
    quantiles = [m.name for m in mapping.metrics if m.summary_fields]
    if mapping.is_aggregated and quantiles:
        raise InputError(
            f"Metric '{quantiles[0]}' is a quantile: it needs one row per unit (the values "
            "themselves), not totals per arm. Read it as a continuous metric (its mean) instead."
        )
    needs_n = [m.name for m in mapping.metrics if not m.metric_kind.pair]
    if mapping.is_aggregated and mapping.n_column is None and needs_n:
        raise InputError(
            "Totals per arm need the column that holds the number of units on each row (n, "
            f"users, visitors): choose it, or read {', '.join(repr(n) for n in needs_n)} as "
            "a proportion of two count columns."
        )
    try:
        sufficient_stats_sql(dataset.table, mapping)
    except ValueError as exc:
        raise InputError(f"The column mapping is incomplete: {exc}") from exc
    if mapping.is_aggregated:
        numeric = [c for m in mapping.metrics for c in m.aggregate_columns]
        numeric += [mapping.n_column] if mapping.n_column else []
    else:
        numeric = [c for m in mapping.metrics for c in m.unit_columns]
    text = []
    for column in dict.fromkeys(numeric):
        fam = _family(types[column])
        if fam == "text":
            text.append(column)
        elif fam not in ("numeric", "bool"):
            raise InputError(
                f"Column '{column}' holds {types[column].lower()} values, not numbers, so it "
                "cannot be a metric. Pick a numeric or TRUE/FALSE column."
            )
    if text:
        if dataset.in_place:
            raise _NeedTable  # naming the first bad value's row needs a table's row ids
        _check_text_numbers(con, dataset, text)
    if mapping.timestamp and not mapping.day_label:
        fam = _family(types[mapping.timestamp])
        if fam == "text":
            sql = date_misfits_sql(dataset.table, mapping.timestamp)
            bad = _run_data(con, dataset, sql).fetchall()[0][0]
            if bad:
                mapping = dataclasses.replace(mapping, day_label=True)
        elif fam not in ("date", "timestamp"):
            raise InputError(
                f"Column '{mapping.timestamp}' holds {types[mapping.timestamp].lower()} values, "
                "not dates. Pick a date or timestamp column, or none."
            )
    return mapping


def _check_one_experiment(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, mapping: Mapping
) -> None:
    """Refuse to add up the rows of several experiments or metrics (``Mapping.id_columns``):
    their sum means nothing, and read as one test it shows effects that are not there."""
    ids = [c for c in mapping.id_columns if c in dataset.types]
    if not ids:
        return
    counts = _run_data(con, dataset, distinct_counts_sql(dataset.table, [(c, False) for c in ids]))
    several = [(c, int(n)) for c, n in zip(ids, counts.fetchall()[0], strict=True) if n > 1]
    if several:
        listed = " and ".join(f"'{c}' has {n:,} values" for c, n in several)
        raise InputError(
            f"This file holds several experiments or metrics ({listed}): keep one of each with "
            "a row filter in data preparation, then read it."
        )


def _check_text_numbers(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, columns: list[str]
) -> None:
    row = _run(con, text_number_checks_sql(dataset.table, columns)).fetchall()[0]
    for i, c in enumerate(columns):
        present, example, position = row[3 * i : 3 * i + 3]
        if present == 0:
            raise InputError(
                f"Column '{c}' is empty: every row is missing. Pick another metric column, or "
                "fill it in and upload again."
            )
        if example is not None:
            raise InputError(
                f"Column '{c}' holds text, not numbers (e.g. '{example}' in data row "
                f"{int(position) + 1}). A metric must be numeric or TRUE/FALSE: fix those values "
                "or pick another column."
            )


def compute_stats(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    mapping: Mapping,
    *,
    cap: float | dict[str, float] | None = None,
    by: Iterable[str] | None = None,
) -> Aggregates:
    """Sufficient statistics per arm, per day and per segment, in one DuckDB query.

    Args:
        con: the session's connection.
        dataset: the loaded upload.
        mapping: the confirmed roles (``detect_schema`` output, possibly edited).
        cap: the old shortcut: winsorise continuous metrics at this upper percentile of
            both arms pooled (e.g. 0.99), or a dict ``{metric: percentile}``; a metric's own
            ``capping`` (:class:`abcore.capping.Capping`) comes first. The returned
            aggregates' mapping holds the capping applied, their ``caps`` and ``floors``
            the values it came to.
        by: levels to compute (see :func:`abcore.sql.sufficient_stats_sql`); default: overall,
            plus per day when there is a timestamp and per segment when there are segments.

    Raises:
        InputError: the mapping names missing columns or text columns, the variant has fewer
            than two arms or more than ``VARIANT_MAX_LEVELS``, the control is not an arm, an
            arm has fewer than two units, a metric is empty or holds infinite values.
    """
    return _with_table(con, dataset, lambda: _compute_stats(con, dataset, mapping, cap, by))


def _compute_stats(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    mapping: Mapping,
    cap: float | dict[str, float] | None,
    by: Iterable[str] | None,
) -> Aggregates:
    mapping = _validated(con, dataset, mapping)
    if by is None:
        by = ("variant",)
        by += ("day",) if mapping.timestamp else ()
        by += ("segments",) if mapping.segments else ()
    if mapping.day_label and dataset.in_place:
        raise _NeedTable  # day labels keep the file's order: a table's row ids
    finest = _cells_are_few(con, dataset, mapping, by)
    plain = mapping.shape == "unit" and not mapping.aggregate_units
    shifts = _shifts(con, dataset, mapping) if plain else {}
    mapping = capped_mapping(mapping, cap)
    capped = any(m.capping is not None for m in mapping.metrics)
    if finest and plain and not capped:
        frame = _stats_and_checks(con, dataset, mapping, by, shifts)
    else:
        sql, params = sufficient_stats_sql(
            dataset.table, mapping, by=by, finest=finest, shifts=shifts
        )
        frame = _run_data(con, dataset, sql, params).df()
    if any(m.summary_fields for m in mapping.metrics):
        frame = _with_quantiles(con, dataset, mapping, by, frame)
    overall = frame[frame["level"] == "overall"]
    variants = [str(v) for v in overall["variant"]]
    mapping = check_arms(mapping, variants, overall)
    check_metrics(mapping, overall)
    caps, floors = (
        _bounds(frame, overall, mapping, "cap"),
        _bounds(frame, overall, mapping, "floor"),
    )
    frame = frame.drop(columns=[stat_column(m, "cap") for m in caps])
    frame = frame.drop(columns=[stat_column(m, "floor") for m in floors])
    return Aggregates(
        canonical_stats(frame.drop(columns=[DAY_ORDER], errors="ignore"), mapping),
        mapping,
        caps,
        shifts,
        floors,
    )


def _bounds(
    frame: pd.DataFrame, overall: pd.DataFrame, mapping: Mapping, stat: str
) -> dict[str, float]:
    """The value each capped metric was clipped at (``stat`` "cap": from above, "floor":
    from below); a percentile of no value (every value zero, zeros ignored) clips nothing
    and is left out."""
    out = {}
    for m in mapping.metrics:
        column = stat_column(m.name, stat)
        if column in frame.columns:
            value = overall[column].iloc[0]
            if value is not None and pd.notna(value):
                out[m.name] = float(value)
    return out


def _with_quantiles(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    mapping: Mapping,
    by: Iterable[str],
    frame: pd.DataFrame,
) -> pd.DataFrame:
    """The sums' ``frame`` with the quantile metrics' summaries added: a second query (a
    quantile is no sum, :mod:`abcore.quantile_sql`), over the overall and segment levels."""
    levels = cell_levels(frame, mapping)
    sql, params = quantile_stats_sql(dataset.table, mapping, levels, by=by)
    result = _run_data(con, dataset, sql, params).df()
    return merge_summaries(frame, summary_frame(result, mapping, levels))


def _shifts(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, mapping: Mapping
) -> dict[str, tuple[float, ...]]:
    """The constants each amount's sums are taken around: its mean on the first rows when
    that mean exceeds ``config.SHIFT_MEAN_OVER_SD`` standard deviations (see
    :class:`abcore.model.Aggregates`), else none. Yes/no metrics and counts of successes
    and trials are read as sums and never shifted."""
    sides: list[tuple[str, int, str]] = []
    for m in mapping.metrics:
        kind = m.metric_kind
        if kind.shifted:
            sides.append((m.name, 0, str(m.numerator if kind.pair else m.column)))
        if m.is_pair and (m.covariate is not None or kind.shifted):
            sides.append((m.name, 1, str(m.denominator if kind.pair else m.covariate)))
        sides += [(m.name, 2 + j, c) for j, c in enumerate(m.covariates)]
    if not sides:
        return {}
    columns = [c for *_, c in sides]
    if dataset.sample is not None:  # the first rows already: no LIMIT over them
        sql, params = spread_sql(dataset.sample, columns)
    else:
        sql, params = spread_sql(dataset.table, columns, config.INGEST_SAMPLE_ROWS)
    row = _run(con, sql, params).fetchall()[0]
    out: dict[str, list[float]] = {}
    for j, (name, side, _) in enumerate(sides):
        mean, sd = row[2 * j], row[2 * j + 1]
        # a constant first rows' sample (sd 0) tells nothing about the spread: no shift
        if mean is not None and sd and abs(mean) > config.SHIFT_MEAN_OVER_SD * sd:
            width = 2 + len(mapping.metric(name).covariates)
            out.setdefault(name, [0.0] * width)[side] = float(mean)
    return {name: tuple(values) for name, values in out.items()}


def _cells_are_few(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, mapping: Mapping, by: Iterable[str]
) -> bool:
    """Whether arm x day x segment cells are few enough to aggregate first and roll up.

    Estimated on the first ``config.INGEST_SAMPLE_ROWS`` rows (the sample, for a file read in
    place) as the product of each key's distinct values: an upper bound for those rows. The
    sample is read whole: it holds those rows already, and a LIMIT over it (a parameter)
    made the estimate 2.5 times slower (23 ms instead of 9 on the 10M-row Parquet file).
    """
    if dataset.sample is not None:
        sql, params = cell_count_sql(dataset.sample, mapping, by=by)
    else:
        sql, params = cell_count_sql(dataset.table, mapping, by=by, rows=config.INGEST_SAMPLE_ROWS)
    (cells,) = _run(con, sql, params).fetchall()[0]
    return float(cells or 0) <= config.STATS_MAX_CELLS


def _stats_and_checks(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    mapping: Mapping,
    by: Iterable[str],
    shifts: dict[str, tuple[float, ...]],
) -> pd.DataFrame:
    """One scan for the statistics and the value checks: the cells go to a temporary table,
    the levels are rolled up from it and the checks (kept in ``dataset.facts`` for
    :func:`instrumentation_stats`) are summed from it."""
    cells = f"{dataset.table}_cells_{uuid.uuid4().hex[:8]}"
    every = _unit_sample_every(dataset, mapping)
    sql, params = finest_stats_sql(
        dataset.table, mapping, by=by, checks=True, unit_sample=every, shifts=shifts
    )
    _run_data(con, dataset, create_temp_table_sql(cells, sql), params)
    try:
        sql, params = rollup_stats_sql(cells, mapping, by=by)
        frame = _run(con, sql, params).df()
        sql, params = cell_checks_sql(cells, mapping)
        checks = _run(con, sql, params).df()
        if every is not None:
            sql, params = sampled_units_sql(cells)
            units, repeats = _run(con, sql, params).fetchall()[0]
            dataset.facts.setdefault("unit_sample", {})[mapping.unit] = (int(units), int(repeats))
    finally:
        con.execute(drop_sql(cells))
    dataset.facts.setdefault("value_checks", {})[_checks_key(mapping)] = checks
    return frame


def _unit_sample_every(dataset: Dataset, mapping: Mapping) -> int | None:
    """One unit in how many the statistics' scan checks for repeats: for a file read in
    place whose units are not yet counted, enough for ``config.UNIT_CHECK_SAMPLE`` units
    (every unit when the file has fewer rows); None when nothing needs checking."""
    if not (dataset.in_place and mapping.unit) or mapping.unit in dataset.facts.get(
        "unit_rows", {}
    ):
        return None
    return max(1, dataset.n_rows // config.UNIT_CHECK_SAMPLE)


def units_repeat(con: duckdb.DuckDBPyConnection, dataset: Dataset, mapping: Mapping) -> bool:
    """Whether ``mapping.unit`` turned out to have several rows per unit after detection
    took one row per unit from the first rows of a file read in place.

    True only when the hash sample of :func:`compute_stats` found a repeated id and an
    exact count of every id confirms it (kept in ``dataset.facts``): detecting the schema
    again then sets ``aggregate_units`` with its usual note, and the statistics must be
    computed again. False for files copied into a table (detection counted every id).
    """
    unit = mapping.unit
    if not unit or mapping.aggregate_units or mapping.is_aggregated:
        return False
    sampled = dataset.facts.get("unit_sample", {}).get(unit)
    if sampled is None or sampled[1] == 0:
        return False
    dataset.facts.setdefault("unit_rows", {}).pop(unit, None)
    distinct, rows = _with_table(con, dataset, lambda: _counted_unit_rows(con, dataset, unit))
    return distinct < rows


def _checks_key(mapping: Mapping) -> str:
    """What the value checks depend on: the variant, the unit and the metrics."""
    return json.dumps(
        [mapping.variant, mapping.unit, [m.to_dict() for m in mapping.metrics]], sort_keys=True
    )


def check_arms(mapping: Mapping, variants: list[str], overall: pd.DataFrame) -> Mapping:
    """The mapping with its control settled, or an InputError when the arms found cannot be
    compared (none, too many, one, a control not among them); shared with the warehouse
    reader, so a file and a query's output fail alike."""
    v = mapping.variant
    if not variants:
        raise InputError(f"No row has a value in the variant column '{v}': pick another column.")
    if len(variants) > config.VARIANT_MAX_LEVELS:
        raise InputError(
            f"Column '{v}' has {len(variants):,} different values; a variant column names 2 to "
            f"{config.VARIANT_MAX_LEVELS} arms. Pick the column that holds the arm names."
        )
    if len(variants) == 1:
        raise InputError(
            f"Column '{v}' has a single arm ('{variants[0]}'): an experiment needs at least two "
            "arms to compare. Check that the file holds every arm, or upload the arms' files "
            "together."
        )
    notes: list[str] = []
    guessed: list[str] = []
    sizes = dict(zip(overall["variant"].astype(str), overall["n"], strict=True))
    levels = [(str(arm), int(sizes.get(str(arm), 0))) for arm in variants]
    control = mapping.control
    if control is None:
        control = _pick_control(levels, v, notes, guessed)
    if control not in variants:
        shown = ", ".join(f"'{x}'" for x in variants)
        raise InputError(
            f"The control arm '{control}' is not a value of '{v}'; its values are {shown}. "
            "Pick one of those as the control."
        )
    if not mapping.is_aggregated:
        for variant, n in zip(overall["variant"], overall["n"], strict=True):
            if n < 2:
                raise InputError(
                    f"Arm '{variant}' has only {int(n)} unit: at least two units per arm are "
                    "needed to estimate the variance. Upload the full results."
                )
    return dataclasses.replace(
        mapping,
        control=control,
        notes=mapping.notes + tuple(notes),
        guessed=mapping.guessed + tuple(guessed),
    )


def check_metrics(mapping: Mapping, overall: pd.DataFrame) -> None:
    """An InputError naming the metric whose columns hold no value in some arm (shared with
    the warehouse reader, as :func:`check_arms` is)."""
    for m in mapping.metrics:
        columns = m.aggregate_columns if mapping.is_aggregated else m.unit_columns
        shown = " and ".join(f"'{c}'" for c in columns)
        count = "pair_n" if m.metric_kind.pair else "n"
        if overall[stat_column(m.name, count)].fillna(0).sum() == 0:
            both = " together" if len(columns) > 1 else ""
            raise InputError(
                f"Metric '{m.name}' has no values: {shown} {'are' if both else 'is'} empty"
                f"{both} in every row. Pick another column, or fill it in and upload again."
            )
        values = overall[[stat_column(m.name, f) for f in m.stat_fields]].to_numpy(dtype=float)
        present = overall[stat_column(m.name, count)].fillna(0).to_numpy()[:, None] > 0
        if np.any(np.isinf(values) | (np.isnan(values) & present)):
            raise InputError(
                f"Metric '{m.name}' has infinite values in {shown} (e.g. 'inf'): remove or "
                "replace them, then upload again."
            )
