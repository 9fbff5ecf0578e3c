"""Running queries over a loaded dataset, with DuckDB's errors turned into sentences."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from abcore.errors import InputError
from abcore.ingest._base import _CONVERT_RE, Dataset, _memory_error, _NeedTable
from abcore.ingest.load import _guarded_read, _read_file, _table_columns, _tidy_names
from abcore.sql import drop_sql


def _run(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """Execute, turning DuckDB's errors into a sentence for the person at the screen."""
    try:
        return con.execute(sql, list(params or []))
    except duckdb.Error as exc:
        message = str(exc)
        column = _CONVERT_RE.search(message) or re.search(
            r"Could not convert string '([^']*)'", message
        )
        if "Could not convert" in message or "Conversion Error" in message:
            detail = f" ('{column.group(1)}')" if column else ""
            raise InputError(
                f"A value could not be read as a number{detail}. Check that the metric columns "
                "hold only numbers or TRUE/FALSE, or pick other columns."
            ) from exc
        if isinstance(exc, duckdb.OutOfMemoryException):
            raise _memory_error() from exc
        if "does not exist" in message or "not found" in message.lower():
            raise InputError(
                "The data of this upload is no longer available in this session: upload the "
                "file again."
            ) from exc
        raise InputError(
            "The statistics could not be computed from this file and column mapping. Check the "
            "mapping (variant, metrics, dates) and upload the file again."
        ) from exc


def _run_data(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    sql: str,
    params: Sequence[Any] | None = None,
) -> duckdb.DuckDBPyConnection:
    """:func:`_run` for a query over the data: over a view, an error means "copy the file
    into a table and try again" (a late value that does not fit its column, say), so the
    person sees what a table would have told them."""
    if not dataset.in_place:
        return _run(con, sql, params)
    try:
        return con.execute(sql, list(params or []))
    except duckdb.OutOfMemoryException as exc:
        raise _memory_error() from exc
    except duckdb.Error as exc:
        raise _NeedTable from exc


def _with_table(con: duckdb.DuckDBPyConnection, dataset: Dataset, work: Any) -> Any:
    """``work()``; if a view over the file cannot serve it, copy the file and run it again."""
    try:
        return work()
    except _NeedTable:
        _materialize(con, dataset)
        return work()


def _materialize(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> None:
    """Replace the view over a file by a table of the same name: what ``load`` makes with
    ``materialize=True`` (the sample, profile and counts found so far stay valid)."""
    reader = dataset.facts.pop("reader")
    if not Path(reader["path"]).is_file():
        raise InputError(
            f"{reader['display']} is no longer at {reader['path']}: it was read in place, so "
            "it must stay there until the analysis ends. Load it again."
        )
    con.execute(drop_sql(dataset.table, "VIEW"))

    def read() -> None:
        _read_file(con, Path(reader["path"]), dataset.table, reader["display"])
        _tidy_names(con, dataset.table)

    _guarded_read(con, dataset.table, reader["display"], read)
    dataset.facts["columns"] = tuple(_table_columns(con, dataset.table))


def _columns_list(dataset: Dataset) -> str:
    names = dataset.names
    shown = ", ".join(repr(n) for n in names[:20])
    return shown + (f" and {len(names) - 20} more" if len(names) > 20 else "")
