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
    date_window_sql,
    duplicate_rows_sql,
    filter_sql,
    mixed_unit_count_sql,
    mixed_units_sql,
    repeat_units_sql,
)
from abcore.sql import drop_sql

__all__ = ["prepare", "steps_from_where"]


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
        query, params = _step_sql(step, current, dataset, mapping)
        following = _new_name()
        _run(con, create_table_as_sql(following, query), params)
        _run(con, drop_sql(current))
        current = following
        after = _count(con, current)
        done.append(dataclasses.replace(step, rows_removed=rows - after, units_removed=units))
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
        return filter_sql(table, column, _typed_values(step.values, dataset.types[column]))
    if step.kind == "date_window":
        first, last = step.values
        return date_window_sql(table, column, first, last)
    if step.kind == "duplicate_rows":
        return duplicate_rows_sql(table, dataset.names)
    variant = str(mapping.variant) if mapping is not None else ""
    if step.kind == "mixed_units":
        return mixed_units_sql(table, column, variant)
    if step.kind == "repeat_units":
        timestamp = mapping.timestamp if mapping is not None and not mapping.day_label else None
        return repeat_units_sql(table, column, timestamp)
    return arm_mismatch_sql(table, column, variant)


def _typed_values(values: Sequence[Any], duck_type: str) -> list[Any]:
    """The values to keep, as the column's type compares them: text for text columns (a
    picker hands back text), numbers for numbers."""
    t = duck_type.upper()
    if t in _NUMERIC_TYPES or t.startswith("DECIMAL"):
        out = []
        for v in values:
            try:
                out.append(float(v))
            except (TypeError, ValueError):
                raise InputError(
                    f"The filter value {v!r} is not a number, and its column holds numbers: "
                    "pick one of the column's values."
                ) from None
        return out
    if t == "BOOLEAN":
        return [str(v).strip().lower() in ("true", "1", "yes") for v in values]
    return [str(v) for v in values]


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
