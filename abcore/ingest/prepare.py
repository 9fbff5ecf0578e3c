"""Data preparation: the steps a person takes between the raw file and the readout, recorded.

Excluding the units seen in more than one arm, dropping duplicate rows, keeping a date
window or the rows of one experiment: each is a :class:`~abcore.model.PrepStep` run in
DuckDB, in the order given, into a new table, and handed back with the rows it removed, so
the readout, the report and a share link can say what was excluded, not just show the
numbers after it.

Typical use::

    ds = load(con, "ab_data.csv")
    mapping = detect_schema(con, ds)
    steps = [PrepStep("arm_mismatch", "landing_page"), PrepStep("repeat_units", "user_id")]
    clean, done = prepare(con, ds, steps, mapping=mapping)
    [s.sentence() for s in done]   # "...: 3,893 rows removed."
    mapping = detect_schema(con, clean)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Sequence
from typing import Any

import duckdb

from abcore.errors import InputError
from abcore.ingest._base import _NUMERIC_TYPES, Dataset
from abcore.ingest._run import _run, _run_data, _with_table
from abcore.load_sql import copy_table_sql, count_rows_sql, create_table_as_sql
from abcore.model import Mapping, PrepStep
from abcore.prepare_sql import (
    arm_mismatch_sql,
    date_span_sql,
    date_window_sql,
    distinct_count_sql,
    duplicate_rows_sql,
    filter_sql,
    mixed_unit_count_sql,
    mixed_units_sql,
    repeat_units_sql,
)
from abcore.sql import drop_sql

__all__ = ["date_span", "filter_values", "prepare", "steps_from_where"]


def steps_from_where(where: dict[str, Any] | None) -> tuple[PrepStep, ...]:
    """``{column: value or list of values}`` as filter steps: how a notebook picks one
    experiment (or metric) of a file that holds several.

    >>> steps_from_where({"experiment_id": "e1", "metric_id": [1, 2]})[1].values
    (1, 2)
    """
    steps = []
    for column, value in (where or {}).items():
        values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
        steps.append(PrepStep("filter", column, values))
    return tuple(steps)


def prepare(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    steps: Sequence[PrepStep],
    *,
    mapping: Mapping | None = None,
) -> tuple[Dataset, tuple[PrepStep, ...]]:
    """Run ``steps`` in order on a copy of ``dataset``; the new dataset and the steps with
    the rows (and units) each removed.

    ``mapping`` names the arm column (needed by ``"mixed_units"`` and ``"arm_mismatch"``)
    and the timestamp (``"repeat_units"`` keeps each unit's earliest row). The original
    table is left as it was, so changing a step means running :func:`prepare` again from
    the upload. No step: the dataset is returned as it is.

    Raises:
        InputError: a step names a column the file does not have, needs the arm column
            when none is chosen, or asks for a date window on a column that holds no dates.
    """
    if not steps:
        return dataset, ()
    steps = tuple(PrepStep.from_dict(s) if isinstance(s, dict) else s for s in steps)
    for step in steps:
        _check_step(step, dataset, mapping)
    return _with_table(con, dataset, lambda: _prepare(con, dataset, steps, mapping))


def _prepare(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    steps: tuple[PrepStep, ...],
    mapping: Mapping | None,
) -> tuple[Dataset, tuple[PrepStep, ...]]:
    current = _new_name()
    _run_data(con, dataset, copy_table_sql(current, dataset.table))
    rows = _count(con, current)
    done = []
    for step in steps:
        units = None
        if step.kind == "mixed_units":
            variant = str(mapping.variant)  # checked in _check_step
            sql = mixed_unit_count_sql(current, str(step.column), variant)
            units = int(_run(con, sql).fetchall()[0][0])
        elif step.unit is not None:
            units = int(_run(con, distinct_count_sql(current, step.unit)).fetchall()[0][0])
        query, params = _step_sql(step, current, dataset, mapping)
        following = _new_name()
        _run(con, create_table_as_sql(following, query), params)
        after = _count(con, following)
        if after == 0:
            message = _nothing_left(con, step, current, dataset)
            _run(con, drop_sql(following))
            _run(con, drop_sql(current))
            raise InputError(message)
        _run(con, drop_sql(current))
        current = following
        if step.unit is not None:
            units -= int(_run(con, distinct_count_sql(current, step.unit)).fetchall()[0][0])
        done.append(
            dataclasses.replace(
                step,
                values=_recorded(step, dataset),
                rows_removed=rows - after,
                units_removed=units,
            )
        )
        rows = after
    prepared = Dataset(table=current, columns=dataset.columns, n_rows=rows, source=dataset.source)
    prepared.facts["columns"] = tuple(dataset.types.items())
    if "wide" in dataset.facts:  # the per-arm rows of a file with every arm on one row
        prepared.facts["wide"] = dataset.facts["wide"]
    return prepared, tuple(done)


def _step_sql(
    step: PrepStep, table: str, dataset: Dataset, mapping: Mapping | None
) -> tuple[str, list[Any]]:
    column = str(step.column)
    if step.kind == "filter":
        duck_type = dataset.types[column]
        values = filter_values(column, duck_type, str(step.op), step.values)
        return filter_sql(table, column, _bound(values, duck_type), str(step.op))
    if step.kind == "date_window":
        first, last = step.values
        return date_window_sql(table, column, first, last, step.unit)
    if step.kind == "duplicate_rows":
        return duplicate_rows_sql(table, dataset.names)
    variant = str(mapping.variant) if mapping is not None else ""
    if step.kind == "mixed_units":
        return mixed_units_sql(table, column, variant)
    if step.kind == "repeat_units":
        timestamp = mapping.timestamp if mapping is not None and not mapping.day_label else None
        return repeat_units_sql(table, column, timestamp)
    return arm_mismatch_sql(table, column, variant)


_BOOLEAN_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def filter_values(column: str, duck_type: str, op: str, values: Sequence[Any]) -> list[Any]:
    """The values of a row filter on ``column`` as its type compares them, JSON-ready:
    numbers for numbers, True/False for booleans, ISO text for dates, text for text (a
    widget hands back text; a link or a notebook may hand back anything).

    >>> filter_values("ads", "BIGINT", ">=", ["10"])
    [10]
    >>> filter_values("ads", "BIGINT", "=", ["ten"])
    Traceback (most recent call last):
    ...
    abcore.errors.InputError: The filter on 'ads': 'ten' is not a number, and 'ads' holds numbers.

    Raises:
        InputError: a value does not read as the column's type, or an order (<, >...) is
            asked of a column of text or booleans; the sentence names the column.
    """
    t = duck_type.upper()
    family = _family(t)
    if op in ("<", "<=", ">", ">=") and family not in ("number", "date", "timestamp"):
        raise InputError(
            f"The filter on '{column}': {op} compares numbers or dates, and '{column}' holds "
            f"{'text' if family == 'text' else 'TRUE/FALSE'}: use =, ≠ or a list of values."
        )
    out = []
    for v in values:
        text = str(v).strip()
        try:
            if family == "number":
                number = float(text) if not isinstance(v, int | float) else float(v)
                if not math.isfinite(number):
                    raise ValueError
                whole = number.is_integer() and "INT" in t
                out.append(int(number) if whole else number)
            elif family == "boolean":
                out.append(v if isinstance(v, bool) else _BOOLEAN_WORDS[text.lower()])
            elif family == "date":
                out.append(dt.date.fromisoformat(text).isoformat())
            elif family == "timestamp":
                out.append(dt.datetime.fromisoformat(text).isoformat(sep=" "))
            else:
                out.append(str(v))
        except (ValueError, KeyError, OverflowError):
            what = {
                "number": "a number",
                "boolean": "TRUE or FALSE",
                "date": "a date (YYYY-MM-DD)",
                "timestamp": "a date or time (YYYY-MM-DD or YYYY-MM-DD HH:MM)",
            }[family]
            holds = {"number": "numbers", "boolean": "TRUE/FALSE"}.get(family, "dates")
            raise InputError(
                f"The filter on '{column}': {text!r} is not {what}, and '{column}' holds {holds}."
            ) from None
    return out


def _recorded(step: PrepStep, dataset: Dataset) -> tuple[Any, ...]:
    """A filter's values as its column compared them (10, not '10'), for the record."""
    if step.kind != "filter":
        return step.values
    column = str(step.column)
    return tuple(filter_values(column, dataset.types[column], str(step.op), step.values))


def _family(duck_type: str) -> str:
    if duck_type in _NUMERIC_TYPES or duck_type.startswith("DECIMAL"):
        return "number"
    if duck_type == "BOOLEAN":
        return "boolean"
    if duck_type == "DATE":
        return "date"
    if duck_type.startswith("TIMESTAMP"):
        return "timestamp"
    return "text"


def _bound(values: list[Any], duck_type: str) -> list[Any]:
    """Date text as the date or time DuckDB compares with the column."""
    family = _family(duck_type.upper())
    if family == "date":
        return [dt.date.fromisoformat(v) for v in values]
    if family == "timestamp":
        return [dt.datetime.fromisoformat(v) for v in values]
    return values


def date_span(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, column: str
) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day of ``column`` (a date or timestamp column) in ``dataset``:
    the default of a date window, and what a window outside the data is told."""
    row = _with_table(
        con, dataset, lambda: _run_data(con, dataset, date_span_sql(dataset.table, column))
    ).fetchall()[0]
    return row[0], row[1]


def _nothing_left(
    con: duckdb.DuckDBPyConnection, step: PrepStep, table: str, dataset: Dataset
) -> str:
    """Why a step that keeps no row cannot be applied: for a date window, the data's days."""
    what = step.sentence().rstrip(".")
    if step.kind == "date_window":
        first, last = _run(con, date_span_sql(table, str(step.column))).fetchall()[0]
        return (
            f"Data preparation: the date window ({_window(step.values)}) holds none of the "
            f"data, whose '{step.column}' runs from {first} to {last}: pick days in that span."
        )
    return f"Data preparation: no row is left after this step ({what}): loosen it or remove it."


def _window(values: tuple[Any, ...]) -> str:
    first, last = values
    return f"{first or 'the start'} to {last or 'the end'}"


def _check_step(step: PrepStep, dataset: Dataset, mapping: Mapping | None) -> None:
    if step.column is not None and step.column not in dataset.names:
        raise InputError(
            f"Data preparation: the column '{step.column}' is not in the file; its columns "
            f"are: {', '.join(dataset.names)}."
        )
    needs_arm = step.kind in ("mixed_units", "arm_mismatch")
    if needs_arm and (mapping is None or mapping.variant is None):
        raise InputError(
            f"Data preparation: '{step.sentence().rstrip('.')}' needs the column that holds "
            "the arm: choose it first."
        )
    if needs_arm and step.column == mapping.variant:  # type: ignore[union-attr]
        raise InputError(
            f"Data preparation: '{step.column}' is the arm column itself; choose the unit "
            "column (or the column that restates the arm)."
        )
    if step.unit is not None and step.unit not in dataset.names:
        raise InputError(
            f"Data preparation: the unit column '{step.unit}' is not in the file; its columns "
            f"are: {', '.join(dataset.names)}."
        )
    if step.kind == "filter":  # here, so a bad value stops before any step runs
        filter_values(str(step.column), dataset.types[str(step.column)], str(step.op), step.values)
    if step.kind == "date_window":
        family = dataset.types[str(step.column)].upper()
        if family != "DATE" and not family.startswith("TIMESTAMP"):
            raise InputError(
                f"Data preparation: '{step.column}' does not hold dates, so no date window "
                "applies to it; keep the days you want with a row filter on its values instead."
            )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(_run(con, count_rows_sql(table)).fetchall()[0][0])


def _new_name() -> str:
    return f"prepared_{uuid.uuid4().hex}"
