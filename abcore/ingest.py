"""Ingestion: DuckDB reads an upload once, proposes column roles, computes sufficient stats.

The data never leaves DuckDB: only per-arm aggregates (counts, sums, sums of squares and
cross-products, per day and per segment) come back as a small pandas frame, from SQL that
:mod:`abcore.sql` generates from the column :class:`Mapping`. Each browser session owns its
own connection (:func:`connect`) and each upload gets a table named with a fresh uuid, so two
sessions never see each other's data.

Typical use::

    con = connect()
    ds = load(con, "results.csv")          # a path, bytes, a DataFrame or a list of files
    mapping = detect_schema(con, ds)       # the user confirms or edits it
    agg = compute_stats(con, ds, mapping)  # per arm, per day, per segment
    control, treatment = agg.stat("converted", agg.control), agg.stat("converted", "b")

Bad input raises :class:`abcore.InputError` whose message says what is wrong and how to fix
it. Text dates without a year ("Sat, Oct 11", as in the Udacity free-trial files) are kept as
text and used as day labels in file order; guessing a year would invent dates and break
weekday checks.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from abcore import config
from abcore.errors import InputError
from abcore.model import (
    PAIR_KINDS,
    Aggregates,
    Instrumentation,
    Mapping,
    MetricMapping,
    _canonical,
    stat_column,
)
from abcore.sql import (
    DAY_ORDER,
    cap_percentiles,
    cell_checks_sql,
    cell_count_sql,
    finest_stats_sql,
    normalize_name,
    quote_ident,
    rollup_stats_sql,
    sampled_units_sql,
    sufficient_stats_sql,
    unit_checks_sql,
    value_checks_sql,
)

__all__ = [
    "Aggregates",
    "Dataset",
    "Instrumentation",
    "Mapping",
    "MetricMapping",
    "compute_stats",
    "connect",
    "detect_schema",
    "instrumentation_stats",
    "load",
    "unit_repeats",
    "units_repeat",
]

Source = Any
"""A path, bytes, a file-like object, a pandas DataFrame, or a list/dict of those."""

_HEAD_BYTES = 1 << 16
_NA_TOKENS = ["", "na", "n/a", "nan", "null", "none", "-", "#n/a"]
_TRUE_TOKENS = ["true", "t", "yes", "y"]
_BOOL_TOKENS = [*_TRUE_TOKENS, "false", "f", "no", "n"]
_PARQUET_EXT = (".parquet", ".pq", ".parq")
_NUMERIC_TYPES = [
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "REAL",
]


# --------------------------------------------------------------------------------------------
# Connection and dataset
# --------------------------------------------------------------------------------------------


def connect(
    *,
    memory_limit: str = config.DUCKDB_MEMORY_LIMIT,
    temp_directory: str | os.PathLike[str] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection for one browser session.

    Never share it between sessions: tables live in the connection, so a per-session
    connection is what keeps two users' data apart. Beyond ``memory_limit`` DuckDB spills to
    ``temp_directory`` (by default a fresh folder under the system temp dir, created only if
    needed), so a large upload stays within bounded memory.

    >>> con = connect(memory_limit="256MB")
    >>> con.execute("SELECT current_setting('threads')").fetchall()
    [(2,)]
    """
    if temp_directory is None:
        temp_directory = Path(tempfile.gettempdir()) / f"abcore-duckdb-{uuid.uuid4().hex}"
    settings = {
        "threads": config.DUCKDB_THREADS,
        "memory_limit": memory_limit,
        "temp_directory": str(temp_directory),
    }
    try:
        return duckdb.connect(":memory:", config=settings)
    except duckdb.Error as exc:
        raise ValueError(f"memory_limit must be a size such as '2GB', got {memory_limit!r}.") from (
            exc
        )


@dataclass(frozen=True)
class Dataset:
    """A loaded upload: its DuckDB table, column names and types, rows and provenance.

    ``columns`` holds ``(name, duckdb_type)`` pairs in file order. ``table`` is a table, or,
    for a file read in place (``load(..., materialize=False)``), a view over the file; then
    ``sample`` names a table holding the file's first rows (where schema detection looks),
    and ``n_rows`` is Parquet's own count or, for CSV, an estimate from the file's size (the
    statistics' scan counts every row; reading them all here would be a second pass).
    ``facts`` caches what the scans so far proved (rows per unit id, the arms, the value
    checks of the last statistics) so that a later step does not scan again; it is not part
    of equality.
    """

    table: str
    columns: tuple[tuple[str, str], ...]
    n_rows: int
    source: str
    sample: str | None = None
    facts: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def types(self) -> dict[str, str]:
        """Column types (as of now: a view turned into a table may have retyped a column)."""
        return dict(self.facts.get("columns", self.columns))

    @property
    def in_place(self) -> bool:
        """Whether ``table`` is still a view over the file (not a copy of it)."""
        return "reader" in self.facts


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    *,
    name: str | None = None,
    materialize: bool = True,
) -> Dataset:
    """Parse an upload once into a new DuckDB table and describe it.

    Args:
        con: the session's connection (:func:`connect`).
        source: a path to a CSV/TSV/TXT or Parquet file; the bytes of an upload (or a
            file-like object such as Streamlit's ``UploadedFile``); a pandas DataFrame
            (registered with DuckDB, not copied through Python); or a list of those, or a
            dict ``{arm label: source}``, when the arms come in separate files. Separate
            files are stacked with ``UNION ALL BY NAME``; when they have no variant column,
            one named ``variant`` is added from the dict keys or the file names
            (``control_data.csv`` + ``experiment_data.csv`` give ``control`` and
            ``experiment``).
        name: the file name of ``bytes`` (its extension picks the format), or a display name.
        materialize: copy the data into a table (the default: later queries read memory, the
            right choice when the same upload is analysed again and again, as on the Results
            page). ``False`` reads a CSV or Parquet *path* in place, for one analysis of a
            large file (``abcore.analyze``): ``Dataset.table`` is then a view over the file,
            schema detection looks at its first ``config.INGEST_SAMPLE_ROWS`` rows (nothing
            here scans the file: ``n_rows`` is Parquet's own count, or for CSV an estimate
            from the file size), and the statistics are the one scan: it counts the rows and
            arms, and checks a hash sample of the unit ids for repeats (see
            :func:`units_repeat`), so memory stays far below the file's size. A file no
            larger than the sample, other sources, gzip and UTF-16 files are copied anyway; a
            step a view cannot serve (day labels in file order, a metric column of text, a
            late value that does not fit its column's type) copies the file then, with the
            result a copy would have given from the start.

    CSV dialect (comma, semicolon, tab or pipe; quotes; CRLF) is detected by DuckDB's
    sniffer; UTF-8 (with or without BOM) is tried first, then Latin-1, and UTF-16 with a BOM
    is read too. Semicolon files may use a decimal comma. Text columns holding only
    TRUE/FALSE, yes/no (any case) become booleans; text columns holding only numbers and
    NA tokens (``NA``, ``NaN``, ``null``, ``-``) become numbers. NaN in float columns counts
    as missing.

    Raises:
        InputError: the file is empty, not a table (Excel, binary, HTML), has duplicate or
            missing column names, no data rows, a single column, or too many columns.
    """
    if isinstance(source, dict):
        parts = [(str(label), src, None) for label, src in source.items()]
        return _load_parts(con, parts, labelled=True)
    if isinstance(source, list | tuple):
        if not source:
            raise InputError("No files were given: upload at least one CSV or Parquet file.")
        if len(source) == 1:
            return load(con, source[0], name=name, materialize=materialize)
        return _load_parts(con, [(None, src, None) for src in source], labelled=False)
    if not materialize and isinstance(source, str | os.PathLike) and Path(source).is_file():
        in_place = _load_in_place(con, Path(source).resolve(), _display_name(source, name))
        if in_place is not None:
            return in_place
    table = _new_table_name()
    description = _guarded_read(
        con, table, _display_name(source, name), lambda: _load_one(con, source, name, table)
    )
    return _finish(con, table, description)


def _guarded_read(
    con: duckdb.DuckDBPyConnection, table: str, display: str, read: Callable[[], Any]
) -> Any:
    """Run ``read`` (which creates ``table``); on any failure drop the table and raise an
    InputError a person can act on, never a DuckDB error."""
    try:
        return read()
    except InputError:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
        raise
    except duckdb.Error as exc:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
        if isinstance(exc, duckdb.OutOfMemoryException):
            raise _memory_error() from exc
        raise InputError(
            f"{display} could not be read as a table. Upload a CSV (comma, semicolon or tab "
            "separated, with a header row) or a Parquet file."
        ) from exc


def _new_table_name() -> str:
    return f"ab_{uuid.uuid4().hex}"


def _display_name(source: Source, name: str | None) -> str:
    if name:
        return str(name)
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    if isinstance(source, pd.DataFrame):
        return "DataFrame"
    return str(getattr(source, "name", "") or "upload")


def _load_one(con: duckdb.DuckDBPyConnection, source: Source, name: str | None, table: str) -> str:
    """Create ``table`` from one source; return a short description of what was read."""
    display = _display_name(source, name)
    if isinstance(source, pd.DataFrame):
        return _read_frame(con, source, table, display)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"File not found: {path}. Check the path and try again.")
        return _read_file(con, path, table, display)
    if hasattr(source, "getvalue"):
        data = source.getvalue()
    elif hasattr(source, "read"):
        data = source.read()
    else:
        data = source
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InputError(
            f"Cannot read a {type(source).__name__}: give a file path, the bytes of an upload "
            "or a pandas DataFrame."
        )
    suffix = "".join(Path(display).suffixes[-2:]) or ".csv"
    fd, tmp = tempfile.mkstemp(prefix="abcore-upload-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(bytes(data))
        return _read_file(con, Path(tmp), table, display)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _read_frame(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, table: str, display: str) -> str:
    cols = [str(c) for c in df.columns]
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise InputError(_duplicate_message(dupes, display))
    view = f"{table}_frame"
    con.register(view, df)
    try:
        con.execute(f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM {quote_ident(view)}")
    except duckdb.Error as exc:
        raise InputError(
            f"Could not read the DataFrame {display}: a column holds values DuckDB cannot store "
            "(mixed types or Python objects). Convert those columns to numbers or text."
        ) from exc
    finally:
        con.unregister(view)
    _normalize_types(con, table, numeric_text=False)
    return f"{display} ({len(df.columns)} columns)"


def _read_file(con: duckdb.DuckDBPyConnection, path: Path, table: str, display: str) -> str:
    size = path.stat().st_size
    if size == 0:
        raise InputError(
            f"{display} is empty (0 bytes). Upload a CSV or Parquet file with a header row and "
            "its rows: one per unit (or per arm for aggregated results), or one per event."
        )
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    kind = _sniff_kind(head, display)
    if kind == "parquet" or (kind == "text?" and display.lower().endswith(_PARQUET_EXT)):
        try:
            con.execute(
                f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM read_parquet($1)", [str(path)]
            )
        except duckdb.OutOfMemoryException as exc:
            raise _memory_error() from exc
        except duckdb.Error as exc:
            raise InputError(
                f"{display} could not be read as Parquet: the file is damaged or not Parquet. "
                "Export it again, or upload it as CSV."
            ) from exc
        _normalize_types(con, table, numeric_text=False)
        return f"{display} (Parquet)"
    return _read_csv(con, path, table, display, head, gzip=kind == "gzip")


def _sniff_kind(head: bytes, display: str) -> str:
    """Tell apart the files a person might upload by mistake from the first bytes."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            f"{display} looks like an Excel workbook or a zip archive, not a CSV file. In Excel "
            "use File > Save As > 'CSV UTF-8', or unzip it, and upload the CSV."
        )
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"%PDF"):
        raise InputError(f"{display} is a PDF document, not a table. Upload a CSV or Parquet file.")
    text = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")):
        raise InputError(
            f"{display} is a web page (HTML), not a CSV: the download probably saved the page "
            "around the file. Download the raw file and upload that."
        )
    if b"\x00" in head:
        raise InputError(
            f"{display} is a binary file, not text: it cannot be read as a table. Upload a CSV "
            "(comma, semicolon or tab separated) or a Parquet file."
        )
    return "text?"


def _head_encoding(head: bytes, kind: str) -> str:
    if kind == "utf-16":
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "latin-1"
    return "utf-8"


_CONVERT_RE = re.compile(r'converting column "((?:[^"]|"")*)"')
_LINE_RE = re.compile(r"CSV Error on Line: (\d+)")


@dataclass(frozen=True)
class _CsvRead:
    """How a CSV file was read: the options that worked, its delimiter and encoding."""

    options: dict[str, Any]
    delimiter: str | None
    encoding: str
    sniffed: tuple[Any, ...] | None = None

    @property
    def description(self) -> str:
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
        d = self.delimiter
        what = f"{names.get(d or '', 'CSV')}-separated" if d else "CSV"
        return f"({what}, {self.encoding.upper()})"


def _read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    display: str,
    head: bytes,
    *,
    gzip: bool,
) -> str:
    read = _csv_into(con, path, table, display, head, gzip=gzip)
    _normalize_types(con, table, numeric_text=True, decimal_comma=read.delimiter == ";")
    return f"{display} {read.description}"


def _csv_into(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    display: str,
    head: bytes,
    *,
    gzip: bool,
    limit: int | None = None,
) -> _CsvRead:
    """Create ``table`` from the CSV (its first ``limit`` rows), retrying what can be fixed."""
    kind = "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "text"
    encoding = "utf-8" if gzip else _head_encoding(head, kind)
    sniffed = _sniff(con, path, encoding, gzip)
    delimiter = sniffed[0] if sniffed else None
    types: dict[str, str] = {}
    for _ in range(64):
        options: dict[str, Any] = {"header": True, "encoding": encoding, "types": types or None}
        if gzip:
            options["compression"] = "gzip"
        if delimiter == ";":
            options["decimal_separator"] = ","
        try:
            _create_from_csv(con, table, path, options, limit=limit)
            break
        except duckdb.OutOfMemoryException as exc:
            raise _memory_error() from exc
        except duckdb.Error as exc:
            message = str(exc)
            column = _CONVERT_RE.search(message)
            if column and column.group(1) not in types:
                # The sniffer typed the column from a sample; a later value does not fit.
                # Keep it as text: validation names the offending value if it is a metric.
                types[column.group(1).replace('""', '"')] = "VARCHAR"
                continue
            if "unicode" in message.lower() and encoding == "utf-8":
                encoding = "latin-1"
                continue
            raise _csv_error(message, display, path, encoding) from exc
    else:  # pragma: no cover - 64 retyped columns means something else is wrong
        raise InputError(f"{display} could not be read: too many columns with mixed values.")
    _check_header(con, table, path, display, encoding, delimiter)
    kept = {k: v for k, v in options.items() if v is not None}
    return _CsvRead(kept, delimiter, encoding, sniffed)


def _create_from_csv(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    options: dict[str, Any],
    *,
    limit: int | None = None,
) -> None:
    args, params = ["$1"], [str(path)]
    for key, value in options.items():
        if value is None:
            continue
        params.append(value)
        args.append(f"{key} := ${len(params)}")
    rows = f" LIMIT {int(limit)}" if limit is not None else ""
    con.execute(
        f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM read_csv({', '.join(args)}){rows}",
        params,
    )


class _NeedTable(Exception):
    """Internal: a view over a file cannot serve this step; copy the file into a table."""


def _load_in_place(con: duckdb.DuckDBPyConnection, path: Path, display: str) -> Dataset | None:
    """A view over a large CSV or Parquet file, with a sample table for detection.

    A file no larger than the sample is that sample, made the table (what :func:`load`
    would make). Returns None when a copy is the way (gzip or UTF-16, anything unusual or
    wrong): :func:`load` then copies the file and raises the errors it always raises.
    """
    if path.stat().st_size == 0:
        return None
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    try:
        kind = _sniff_kind(head, display)
    except InputError:
        return None
    parquet = kind == "parquet" or (kind == "text?" and display.lower().endswith(_PARQUET_EXT))
    if not parquet and kind != "text?":
        return None
    table = _new_table_name()
    sample = f"{table}_sample"
    limit = config.INGEST_SAMPLE_ROWS
    try:
        if parquet:
            con.execute(
                f"CREATE TABLE {quote_ident(sample)} AS SELECT * FROM read_parquet($1) "
                f"LIMIT {limit + 1}",
                [str(path)],
            )
            options: dict[str, Any] = {}
            decimal_comma, description, sniffed = False, f"{display} (Parquet)", None
        else:
            read = _csv_into(con, path, sample, display, head, gzip=False, limit=limit + 1)
            options, decimal_comma = read.options, read.delimiter == ";"
            description = f"{display} {read.description}"
            sniffed = read.sniffed
        sampled = con.execute(f"SELECT count(*) FROM {quote_ident(sample)}").fetchall()[0][0]
        if sampled <= limit:  # the sample is the whole file: it becomes the table
            con.execute(f"ALTER TABLE {quote_ident(sample)} RENAME TO {quote_ident(table)}")
            sample = table
            _normalize_types(con, table, numeric_text=not parquet, decimal_comma=decimal_comma)
            return _finish(con, table, description)
        raw = _table_columns(con, sample)
        reader = _reader_sql(path, parquet=parquet, options=options)
        if not parquet:
            reader = _pinned_csv_reader(con, path, options, sample, raw, sniffed) or reader
        plan = _text_types(
            con,
            quote_ident(sample),
            reader,
            raw,
            numeric_text=not parquet,
            decimal_comma=decimal_comma,
        )
        _apply_types(con, sample, raw, plan, decimal_comma=decimal_comma)
        renames = _tidy_renames([n for n, _ in raw])
        _tidy_names(con, sample)
        cols = _table_columns(con, sample)
        _check_columns(cols, display)
        con.execute(
            f"CREATE VIEW {quote_ident(table)} AS "
            + _view_sql(reader, raw, plan, renames, decimal_comma=decimal_comma)
        )
        facts: dict[str, Any] = {"reader": {"path": str(path), "display": display}}
        n_rows = max(_row_count(con, path, head, parquet=parquet), int(sampled))
    except (InputError, duckdb.Error):
        if sample != table:
            con.execute(f"DROP VIEW IF EXISTS {quote_ident(table)}")
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(sample)}")
        return None  # load copies the file and says what is wrong, if anything
    return Dataset(table, tuple(cols), n_rows, description, sample, facts)


def _pinned_csv_reader(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    options: dict[str, Any],
    sample: str,
    cols: Sequence[tuple[str, str]],
    sniffed: tuple[Any, ...] | None,
) -> str | None:
    """``read_csv`` with the sniffer's dialect and the sample's column types spelled out.

    A view over ``read_csv`` with auto-detection sniffs the file again each time a query
    binds it (30 ms or more on a large file); spelled out, it binds at once. Returns None,
    and the auto-detecting reader is used, unless the spelled-out reader gives the sample's
    columns and first rows exactly.
    """
    if sniffed is None:
        return None
    delim, quote, escape, new_line, comment, skip, _, columns, dates, stamps = sniffed[:10]
    if len(columns) != len(cols):
        return None

    def text(value: Any) -> str:
        return "" if value in (None, "(empty)") else str(value)

    pinned = {k: v for k, v in options.items() if k != "types"}
    pinned |= {
        "auto_detect": False,
        "delim": text(delim),
        "quote": text(quote),
        "escape": text(escape),
        "new_line": text(new_line),
        "comment": text(comment),
        "skip": int(skip or 0),
        "columns": dict(cols),
    }
    if dates:
        pinned["dateformat"] = dates
    if stamps:
        pinned["timestampformat"] = stamps
    reader = _reader_sql(path, parquet=False, options=pinned)
    try:
        same = con.execute(
            f"SELECT count(*) = 0 FROM ((SELECT * FROM {reader} LIMIT 1000) "
            f"EXCEPT ALL (SELECT * FROM {quote_ident(sample)} LIMIT 1000))"
        ).fetchall()[0][0]
    except duckdb.Error:
        return None
    return reader if same else None


def _sql_literal(value: Any) -> str:
    """A SQL literal for a read option (views cannot hold prepared parameters).

    >>> _sql_literal({"it's": "VARCHAR", "b": True})
    "{'it''s': 'VARCHAR', 'b': true}"
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{_sql_literal(k)}: {_sql_literal(v)}" for k, v in value.items()) + "}"
        )
    return "'" + str(value).replace("'", "''") + "'"


def _reader_sql(path: Path, *, parquet: bool, options: dict[str, Any]) -> str:
    """``read_parquet(...)`` / ``read_csv(...)`` with literal arguments."""
    if parquet:
        return f"read_parquet({_sql_literal(str(path))})"
    args = [_sql_literal(str(path))] + [f"{k} := {_sql_literal(v)}" for k, v in options.items()]
    return f"read_csv({', '.join(args)})"


def _view_sql(
    reader: str,
    cols: Sequence[tuple[str, str]],
    plan: dict[str, str],
    renames: dict[str, str],
    *,
    decimal_comma: bool,
) -> str:
    """The view's SELECT: what ``_normalize_types`` and ``_tidy_names`` do to a table, as
    expressions (converted text columns, NaN as NULL, stripped names)."""
    exprs = []
    for c, ty in cols:
        q = quote_ident(c)
        if c in plan:
            expr = _typed(q, plan[c], decimal_comma)
        elif ty in _FLOAT_TYPES:
            expr = f"CASE WHEN isnan({q}) THEN NULL ELSE {q} END"
        else:
            expr = q
        exprs.append(f"{expr} AS {quote_ident(renames.get(c, c))}")
    return f"SELECT {', '.join(exprs)} FROM {reader}"


def _row_count(con: duckdb.DuckDBPyConnection, path: Path, head: bytes, *, parquet: bool) -> int:
    """Rows of a file read in place, without a scan.

    Parquet keeps its row count in the footer. For CSV it is an estimate, the file size
    over the bytes per line of its first ``_HEAD_BYTES``; the statistics' scan counts the
    rows exactly. It sizes the hash sample of the unit check, nothing else.
    """
    if parquet:
        (rows,) = con.execute("SELECT count(*) FROM read_parquet($1)", [str(path)]).fetchall()[0]
        return int(rows)
    lines = max(head.count(b"\n"), 1)
    return max(int(path.stat().st_size * lines / max(len(head), 1)), 1)


def _sniff(
    con: duckdb.DuckDBPyConnection, path: Path, encoding: str, gzip: bool
) -> tuple[Any, ...] | None:
    """DuckDB's sniffer's verdict on the file (``sniff_csv``'s row: delimiter first)."""
    options = "encoding := $2" + (", compression := 'gzip'" if gzip else "")
    for enc in dict.fromkeys([encoding, "latin-1"]):
        try:
            rows = con.execute(f"SELECT * FROM sniff_csv($1, {options})", [str(path), enc])
            found = rows.fetchall()
            return tuple(found[0]) if found else None
        except duckdb.Error:
            continue
    return None


def _csv_error(message: str, display: str, path: Path, encoding: str) -> InputError:
    """Turn a DuckDB CSV error into a sentence a person can act on."""
    line = _LINE_RE.search(message)
    where = f" (near line {line.group(1)})" if line else ""
    lower = message.lower()
    if "expected number of columns" in lower or "too many columns" in lower:
        return InputError(
            f"{display} has rows with a different number of fields than the header{where}. "
            "Quote text that contains the delimiter, or remove the stray separators."
        )
    if "unterminated quote" in lower or ("quote" in lower and "escape" not in lower):
        return InputError(
            f"{display} has a quoted field that is never closed{where}. Check the quotes "
            "around text values."
        )
    if "not latin-1" in lower or "unicode" in lower:
        return InputError(
            f"{display} is not readable text in UTF-8 or Latin-1: it is probably a binary file. "
            "Upload a CSV or Parquet file."
        )
    ragged = _first_ragged_line(path, encoding)
    if ragged is not None:
        return InputError(
            f"{display} could not be split into columns: line {ragged[0]} has {ragged[1]} "
            f"fields but the header has {ragged[2]}. Quote text that contains the delimiter, "
            "or remove the stray separators."
        )
    return InputError(
        f"{display} could not be read as a table: no consistent delimiter (comma, semicolon, "
        "tab or pipe) was found. Upload a CSV with a header row, or a Parquet file."
    )


def _first_ragged_line(path: Path, encoding: str) -> tuple[int, int, int] | None:
    """(line, fields, header fields) of the first row whose field count differs, if any."""
    try:
        with path.open("rb") as fh:
            text = fh.read(1 << 20).decode(encoding, errors="replace")
    except OSError:  # pragma: no cover
        return None
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in ",;\t|"}
    delim = max(counts, key=lambda d: counts[d])
    if counts[delim] == 0:
        return None
    try:  # newline="": the csv module reads \r, \n and \r\n line ends itself
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))[:-1] or []
    except csv.Error:  # a stray NUL byte or the like: no ragged line to point at
        return None
    if not rows:
        return None
    width = len(rows[0])
    for i, row in enumerate(rows[1:], start=2):
        if row and len(row) != width:
            return i, len(row), width
    return None


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    rows = con.execute(f"DESCRIBE {quote_ident(table)}").fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def _duplicate_message(dupes: Sequence[str], display: str) -> str:
    shown = ", ".join(repr(d) for d in dupes)
    return (
        f"{display} has duplicate column names: {shown}. Rename the repeated columns so every "
        "column name is unique, then upload again."
    )


def _check_header(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    display: str,
    encoding: str,
    delimiter: str | None,
) -> None:
    """Refuse duplicate header names, which DuckDB would silently rename to ``x_1``."""
    names = [n for n, _ in _table_columns(con, table)]
    if len(names) > 1 and all(_is_number(n) for n in names):
        raise _no_header(display, names)
    suspects = [n for n in names if re.fullmatch(r".+_\d+", n) and n.rsplit("_", 1)[0] in names]
    if not suspects:
        return
    try:
        row = con.execute(
            "SELECT * FROM read_csv($1, header := false, all_varchar := true, encoding := $2"
            + (", delim := $3" if delimiter else "")
            + ") LIMIT 1",
            [str(path), encoding, *([delimiter] if delimiter else [])],
        ).fetchall()
    except duckdb.Error:  # pragma: no cover - the header was readable a moment ago
        return
    raw = [str(v).strip() for v in row[0]] if row else []
    if len(raw) > 1 and all(_is_number(n) for n in raw):
        raise _no_header(display, raw)
    dupes = sorted({n for n in raw if raw.count(n) > 1})
    if dupes:
        raise InputError(_duplicate_message(dupes, display))


def _no_header(display: str, names: Sequence[str]) -> InputError:
    return InputError(
        f"{display} has no header row: the first line holds numbers ({', '.join(names[:3])}"
        "...). Add a first line with the column names."
    )


def _normalize_types(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    numeric_text: bool,
    decimal_comma: bool = False,
) -> None:
    """Turn boolean-like and (for CSV) number-like text into real types; NaN into NULL.

    Text columns are judged on their first ``config.INGEST_TYPE_CHECK_ROWS`` rows first (see
    :func:`_text_types`), so ids, arm names and platforms cost no full scan; ALTERs follow
    only for the columns that need them. (The token lists are this module's constants,
    written as SQL literals because DuckDB cannot prepare ALTER statements.)
    """
    cols = _table_columns(con, table)
    t = quote_ident(table)
    plan = _text_types(con, t, t, cols, numeric_text=numeric_text, decimal_comma=decimal_comma)
    _apply_types(con, table, cols, plan, decimal_comma=decimal_comma)


def _apply_types(
    con: duckdb.DuckDBPyConnection,
    table: str,
    cols: Sequence[tuple[str, str]],
    plan: dict[str, str],
    *,
    decimal_comma: bool,
) -> None:
    """ALTER the columns of ``plan`` to their new type; NaN in float columns becomes NULL."""
    t = quote_ident(table)
    for c, target in plan.items():
        q = quote_ident(c)
        con.execute(
            f"ALTER TABLE {t} ALTER {q} SET DATA TYPE {target} USING "
            f"({_typed(q, target, decimal_comma)})"
        )
    floats = [c for c, ty in cols if ty in _FLOAT_TYPES]
    if not floats:
        return
    items = [f"count(*) FILTER (WHERE isnan({quote_ident(c)}))" for c in floats]
    row = con.execute(f"SELECT {', '.join(items)} FROM {t}").fetchall()[0]
    for c, nans in zip(floats, row, strict=True):
        if nans:
            con.execute(f"UPDATE {t} SET {quote_ident(c)} = NULL WHERE isnan({quote_ident(c)})")


_FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


def _text_types(
    con: duckdb.DuckDBPyConnection,
    head: str,
    full: str,
    cols: Sequence[tuple[str, str]],
    *,
    numeric_text: bool,
    decimal_comma: bool,
) -> dict[str, str]:
    """``{column: "BOOLEAN" | "DOUBLE"}`` for the text columns that hold only such values.

    ``head`` (its first ``config.INGEST_TYPE_CHECK_ROWS`` rows) rules out most text columns: one
    value that is no boolean, number or NA token is enough. Only the columns that survive
    (and those with nothing but NA tokens there) are counted on every row of ``full`` (the
    same table, or a reader over the file whose sample ``head`` is), so the verdict is the
    one a full scan gives.
    """
    text = [c for c, t in cols if t == "VARCHAR"]
    if not text:
        return {}
    limit = config.INGEST_TYPE_CHECK_ROWS
    rows, counts = _token_counts(
        con, f"(SELECT * FROM {head} LIMIT {limit}) AS __ab_head", text, numeric_text, decimal_comma
    )
    survivors = [c for c in text if _text_type(*counts[c], numeric_text, empty=True)]
    if survivors and (rows >= limit or head != full):
        counts.update(_token_counts(con, full, survivors, numeric_text, decimal_comma)[1])
    plan = {c: _text_type(*counts[c], numeric_text, empty=False) for c in survivors}
    return {c: target for c, target in plan.items() if target}


def _token_counts(
    con: duckdb.DuckDBPyConnection,
    source: str,
    columns: Sequence[str],
    numeric_text: bool,
    decimal_comma: bool,
) -> tuple[int, dict[str, tuple[int, int, int, int]]]:
    """Rows, and per column: values present, NA tokens, boolean tokens, numbers."""
    na, booleans = _literal_list(_NA_TOKENS), _literal_list(_BOOL_TOKENS)
    items = ["count(*)"]
    for c in columns:
        q = quote_ident(c)
        v = f"lower(trim({q}))"
        items += [
            f"count({q})",
            f"count(*) FILTER (WHERE list_contains({na}, {v}))",
            f"count(*) FILTER (WHERE list_contains({booleans}, {v}))",
            f"count({_numeric_text(q, decimal_comma)})" if numeric_text else "0",
        ]
    row = con.execute(f"SELECT {', '.join(items)} FROM {source}").fetchall()[0]
    counts = {c: tuple(int(x) for x in row[1 + 4 * i : 5 + 4 * i]) for i, c in enumerate(columns)}
    return int(row[0]), counts  # type: ignore[return-value]


def _text_type(
    present: int, missing: int, bools: int, numbers: int, numeric_text: bool, *, empty: bool
) -> str | None:
    """The type a text column's counts call for (``empty``: also keep all-NA columns)."""
    if present - missing <= 0:
        return "VARCHAR" if empty else None
    if bools + missing == present:
        return "BOOLEAN"
    if numeric_text and numbers + missing == present:
        return "DOUBLE"
    return None


def _typed(q: str, target: str, decimal_comma: bool) -> str:
    """The expression that converts text column ``q`` to ``target`` (NA tokens to NULL)."""
    na, true = _literal_list(_NA_TOKENS), _literal_list(_TRUE_TOKENS)
    v = f"lower(trim({q}))"
    value = (
        f"list_contains({true}, {v})" if target == "BOOLEAN" else _numeric_text(q, decimal_comma)
    )
    return f"CASE WHEN list_contains({na}, {v}) THEN NULL ELSE {value} END"


def _literal_list(tokens: Sequence[str]) -> str:
    return "[" + ", ".join("'" + tok.replace("'", "''") + "'" for tok in tokens) + "]"


def _numeric_text(q: str, decimal_comma: bool) -> str:
    value = f"replace(trim({q}), ',', '.')" if decimal_comma else f"trim({q})"
    return f"TRY_CAST({value} AS DOUBLE)"


def _finish(con: duckdb.DuckDBPyConnection, table: str, description: str) -> Dataset:
    """Final checks shared by every source; drops the table when it is refused."""
    t = quote_ident(table)
    try:
        _tidy_names(con, table)
        cols = _table_columns(con, table)
        display = description.split(" (", 1)[0]
        _check_columns(cols, display)
        n_rows = int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0])
        if n_rows == 0:
            raise InputError(
                f"{display} has a header but no data rows. Upload the file with its rows."
            )
    except InputError:
        con.execute(f"DROP TABLE IF EXISTS {t}")
        raise
    return Dataset(table=table, columns=tuple(cols), n_rows=n_rows, source=description)


def _check_columns(cols: Sequence[tuple[str, str]], display: str) -> None:
    """Refuse too many columns, a single column, or a header made of numbers."""
    if len(cols) > config.INGEST_MAX_COLUMNS:
        raise InputError(
            f"{display} has {len(cols):,} columns; at most {config.INGEST_MAX_COLUMNS:,} are "
            "supported. Keep the columns the analysis needs (variant, unit id, date and "
            "metrics; for an event log, unit id, event and time) and upload again."
        )
    names = [c for c, _ in cols]
    if len(cols) == 1:
        name = names[0]
        if any(d in name for d in ",;\t|"):
            raise InputError(
                f"{display} could not be split into columns: some rows have a different "
                "number of fields than the header. Quote text that contains the delimiter, "
                "or remove the stray separators."
            )
        raise InputError(
            f"{display} has a single column ({name!r}): no comma, semicolon or tab separates "
            "its fields. An experiment needs at least a variant and a metric column (an event "
            "log: a unit id, an event and a time): save it with a delimiter and upload again."
        )
    if len(names) > 1 and all(_is_number(n) for n in names):
        raise _no_header(display, names)


def _tidy_names(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Strip spaces around column names (``"revenue "``), unless that would collide."""
    for name, clean in _tidy_renames([n for n, _ in _table_columns(con, table)]).items():
        con.execute(
            f"ALTER TABLE {quote_ident(table)} RENAME {quote_ident(name)} TO {quote_ident(clean)}"
        )


def _tidy_renames(names: Sequence[str]) -> dict[str, str]:
    """``{name: stripped name}`` for the names :func:`_tidy_names` renames."""
    out = {}
    for name in names:
        clean = name.strip()
        if clean != name and clean and clean not in names:
            out[name] = clean
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


_VARIANT_NAMES = {
    "variant": 10,
    "variation": 9,
    "arm": 9,
    "test_group": 9,
    "ab_group": 9,
    "experiment_group": 9,
    "treatment_group": 9,
    "group": 8,
    "bucket": 7,
    "version": 7,
    "experiment": 6,
    "treatment": 6,
    "condition": 5,
    "ab": 5,
    "cell": 4,
}
_VARIANT_TOKENS = {"variant", "variation", "arm", "group", "bucket", "version", "experiment"}


def _variant_score(name: str) -> int:
    norm = normalize_name(name)
    if norm in _VARIANT_NAMES:
        return _VARIANT_NAMES[norm]
    return 3 if set(norm.split("_")) & _VARIANT_TOKENS else 0


def _load_parts(
    con: duckdb.DuckDBPyConnection,
    parts: list[tuple[str | None, Source, str | None]],
    *,
    labelled: bool,
) -> Dataset:
    """Load each file into its own table, then stack them into one."""
    tables: list[str] = []
    descriptions: list[str] = []
    displays: list[str] = []
    try:
        for label, src, hint in parts:
            table = _new_table_name()
            tables.append(table)
            display = _display_name(src, hint or (label if isinstance(src, bytes) else None))
            descriptions.append(_load_one(con, src, hint, table))
            displays.append(display)
            _finish(con, table, descriptions[-1])
        labels = [str(label) for label, _, _ in parts] if labelled else _labels_from_names(displays)
        columns = [[n for n, _ in _table_columns(con, t)] for t in tables]
        shared = set(columns[0]).intersection(*columns[1:])
        has_variant = any(_variant_score(c) >= 5 for c in shared)
        final = _new_table_name()
        if has_variant and not labelled:
            selects = [f"SELECT * FROM {quote_ident(t)}" for t in tables]
            params: list[str] = []
            note = "stacked"
        else:
            every = {c for cols in columns for c in cols}
            names = ("variant", "arm", "source_file", "variant_from_file")
            variant = next((v for v in names if v not in every), f"variant_{uuid.uuid4().hex[:6]}")
            selects = [
                f"SELECT ${i + 1} AS {quote_ident(variant)}, * FROM {quote_ident(t)}"
                for i, t in enumerate(tables)
            ]
            params = labels
            origin = "the labels given" if labelled else "the file names"
            note = f"'{variant}' from {origin}: {', '.join(labels)}"
        con.execute(
            f"CREATE TABLE {quote_ident(final)} AS " + " UNION ALL BY NAME ".join(selects), params
        )
    except duckdb.Error as exc:
        raise InputError(
            "The files could not be combined: their columns have incompatible types. Make sure "
            "each file has the same columns with the same kind of values."
        ) from exc
    finally:
        for t in tables:
            con.execute(f"DROP TABLE IF EXISTS {quote_ident(t)}")
    return _finish(con, final, f"{' + '.join(displays)} ({note})")


def _labels_from_names(displays: Sequence[str]) -> list[str]:
    """Arm labels from file names: the stems without their shared prefix and suffix words.

    >>> _labels_from_names(["control_data.csv", "experiment_data.csv"])
    ['control', 'experiment']
    """
    stems = [Path(d).name.split(".")[0] for d in displays]
    tokens = [re.split(r"([_\-\s.]+)", s) for s in stems]
    while all(len(t) > 2 for t in tokens) and len({t[-1] for t in tokens}) == 1:
        tokens = [t[:-2] for t in tokens]
    while all(len(t) > 2 for t in tokens) and len({t[0] for t in tokens}) == 1:
        tokens = [t[2:] for t in tokens]
    labels = ["".join(t) for t in tokens]
    if len(set(labels)) < len(labels) or not all(labels):
        labels = stems
    if len(set(labels)) < len(labels):
        labels = [f"{s}_{i + 1}" for i, s in enumerate(stems)]
    return labels


# --------------------------------------------------------------------------------------------
# Schema detection
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """What one scan learns about a column."""

    name: str
    type: str
    family: str
    non_null: int
    distinct: int
    min: float | None = None
    max: float | None = None
    integral: bool | None = None

    @property
    def norm(self) -> str:
        return normalize_name(self.name)

    @property
    def tokens(self) -> list[str]:
        return self.norm.split("_")

    @property
    def is_numeric(self) -> bool:
        return self.family in ("numeric", "bool")

    @property
    def is_binary(self) -> bool:
        if self.family == "bool":
            return True
        return bool(
            self.family == "numeric"
            and self.integral
            and self.min is not None
            and self.min >= 0
            and self.max is not None
            and self.max <= 1
        )

    @property
    def is_count(self) -> bool:
        return bool(self.family == "numeric" and self.integral and (self.min or 0) >= 0)


def _family(duck_type: str) -> str:
    t = duck_type.upper()
    if t == "BOOLEAN":
        return "bool"
    if t in _NUMERIC_TYPES or t.startswith("DECIMAL"):
        return "numeric"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t in ("VARCHAR", "UUID") or t.startswith("ENUM"):
        return "text"
    return "other"


def _profile(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> list[_Profile]:
    """Counts, approximate distinct counts and numeric ranges of every column, in one scan.

    A file read in place is profiled on its sample. Distinct values are counted only where
    detection reads them (text, boolean and other columns, numbers named like an arm or an
    id), not for dates and metrics, where they are the most expensive part of the scan.
    The profile is kept in ``dataset.facts``.
    """
    if "profile" in dataset.facts:
        return list(dataset.facts["profile"])
    items: list[str] = []
    layout: list[tuple[str, str, str, int]] = []
    for name, duck_type in dataset.columns:
        fam = _family(duck_type)
        q = quote_ident(name)
        layout.append((name, duck_type, fam, len(items)))
        items += [
            f"count({q})",
            f"approx_count_distinct({q})" if _distinct_read(name, fam) else "0",
        ]
        if fam in ("numeric", "bool"):
            d = f"CAST({q} AS DOUBLE)"
            items += [f"min({d})", f"max({d})", f"bool_and({d} = floor({d}))"]
    source = quote_ident(dataset.sample or dataset.table)
    row = _run(con, f"SELECT {', '.join(items)} FROM {source}").fetchall()[0]
    out = []
    for name, duck_type, fam, i in layout:
        extra = row[i + 2 : i + 5] if fam in ("numeric", "bool") else (None, None, None)
        out.append(_Profile(name, duck_type, fam, int(row[i]), int(row[i + 1] or 0), *extra))
    dataset.facts["profile"] = tuple(out)
    return out


def _distinct_read(name: str, family: str) -> bool:
    """Whether detection looks at a column's distinct count: a possible arm, segment or id.

    Dates never; numbers only when named like an arm or an id (:func:`_pick_variant` and
    :func:`_unit_score` ignore the other numbers' distinct counts).
    """
    if family in ("date", "timestamp"):
        return False
    if family != "numeric":
        return True
    norm = normalize_name(name)
    tokens = set(norm.split("_"))
    return bool(
        _variant_score(name)
        or norm in _UNIT_NAMES
        or tokens & (_UNIT_TOKENS | {"player", "uid", "id"})
        or norm.endswith("id")
    )


def detect_schema(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> Mapping:
    """Propose the role of every column; the user confirms or edits the result.

    Heuristics, all from column names, types and one profiling scan:

    - variant: a text, boolean or integer column with 2 to ``VARIANT_MAX_LEVELS`` values
      named like variant / group / arm / version / test group / bucket / experiment;
    - control: the arm named like ``config.CONTROL_LABELS`` (control, ctrl, a, baseline,
      off, 0...), else the first arm in sorted order (a note says so);
    - unit: a high-cardinality column named like user / id / user_id / customer / visitor;
      ``aggregate_units`` is set when some unit has more than one row;
    - timestamp: a date or timestamp column (or a text column named date/day, then used as a
      day label when it does not parse as a date);
    - shape: "aggregated" when columns end in _sum/_sum_sq, _mean/_sd, _variance, or when rows
      are per arm (and day) with count columns; "daily" when such a file has a date;
    - metrics: binary (TRUE/FALSE or only 0/1) or continuous numbers; in aggregated count
      data each count column over the smallest column that bounds it on every row (Udacity:
      Enrollments / Clicks) as a proportion of counts;
    - covariates: names starting ``pre_`` or ending ``_pre`` / ``_before``, attached to the
      metric of the same name for CUPED;
    - segments: other text columns with 2 to ``SEGMENT_MAX_LEVELS`` values.

    Every choice that is a guess leaves a sentence in ``Mapping.notes``. A file read in
    place (``load(..., materialize=False)``) is profiled on its first rows; its arms and
    rows per unit id come from the scan :func:`load` made of the whole file.
    """
    return _with_table(con, dataset, lambda: _detect_schema(con, dataset))


def _detect_schema(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> Mapping:
    prof = _profile(con, dataset)
    by_name = {p.name: p for p in prof}
    notes: list[str] = []
    variant = _pick_variant(con, dataset, prof, notes)
    levels = [lvl for lvl, _ in _levels(con, dataset, variant)] if variant else []
    # a file read in place shows its first rows only (one arm, if it is sorted by arm): the
    # statistics' scan sees every arm and picks the control with the same rules
    known = not dataset.in_place or variant in dataset.facts.get("levels", {})
    control = _pick_control(levels, variant, notes) if levels and known else None
    timestamp, day_label = _pick_timestamp(con, dataset, prof, {variant}, notes)
    taken = {variant, timestamp}
    shape, stats = _pick_shape(con, dataset, prof, taken, notes)
    segments = tuple(
        p.name
        for p in prof
        if p.family == "text"
        and p.name not in taken
        and 2 <= p.distinct <= config.SEGMENT_MAX_LEVELS
        and not _is_unit_candidate(p)
    )
    if shape != "unit":
        shape = "daily" if timestamp else "aggregated"
        n_column, metrics = _aggregated_metrics(con, dataset, prof, stats, taken, notes)
        return Mapping(
            shape=shape,
            variant=variant,
            control=control,
            timestamp=timestamp,
            metrics=tuple(metrics),
            segments=segments,
            n_column=n_column,
            day_label=day_label,
            notes=tuple(notes),
        )
    unit, aggregate_units = _pick_unit(con, dataset, prof, taken, notes)
    taken |= {unit, *segments}
    covariates = [
        p.name for p in prof if p.is_numeric and p.name not in taken and _pre_base(p) is not None
    ]
    metrics = []
    for p in prof:
        if p.name in taken or p.name in covariates or not p.is_numeric:
            continue
        if p.non_null == 0:
            notes.append(f"'{p.name}' is empty in every row, so it is not proposed as a metric.")
            continue
        if p.tokens[-1] == "id" and p.integral:
            continue
        kind = "binary" if p.is_binary else "continuous"
        cov = next((c for c in covariates if _pre_base(by_name[c]) == p.norm), None)
        if cov:
            notes.append(f"'{cov}' is proposed as the pre-period covariate of '{p.name}' (CUPED).")
        metrics.append(MetricMapping(p.name, kind, covariate=cov))
    if not metrics:
        notes.append("No numeric or TRUE/FALSE column is left to analyse: add a metric.")
    return Mapping(
        shape="unit",
        variant=variant,
        control=control,
        unit=unit,
        timestamp=timestamp,
        metrics=tuple(metrics),
        segments=segments,
        covariates=tuple(covariates),
        day_label=day_label,
        aggregate_units=aggregate_units,
        notes=tuple(notes),
    )


def _pick_variant(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, prof: list[_Profile], notes: list[str]
) -> str | None:
    usable = [
        p
        for p in prof
        if p.non_null > 0
        and (p.family in ("text", "bool") or (p.family == "numeric" and p.integral))
    ]
    named = [p for p in usable if _variant_score(p.name) > 0]
    good = [p for p in named if 2 <= p.distinct <= config.VARIANT_MAX_LEVELS]
    if good:
        return max(good, key=lambda p: (_variant_score(p.name), -p.distinct)).name
    single = [p for p in named if p.distinct == 1]
    if single:
        return max(single, key=lambda p: _variant_score(p.name)).name
    labels = set(config.CONTROL_LABELS) - {"a", "c", "0", "false", "off", "base", "default"}
    for p in usable:
        if p.family == "text" and 2 <= p.distinct <= config.VARIANT_MAX_LEVELS:
            levels = {lvl.strip().lower() for lvl, _ in _levels(con, dataset, p.name, head=True)}
            if levels & labels:
                notes.append(
                    f"No column is named like a variant; '{p.name}' was taken because one of its "
                    "values names a control arm. Change it if that is wrong."
                )
                return p.name
    notes.append(
        "No column looks like the variant (the arm each row belongs to): choose it, e.g. a "
        "column with values such as control / treatment."
    )
    return None


def _levels(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, column: str, *, head: bool = False
) -> list[tuple[str, int]]:
    """Values of a column and their rows, in order (at most 1001): the arms.

    Known ones come from ``dataset.facts``. A file read in place answers from its sample
    (not cached: the statistics' scan finds every arm), so detection does not scan it;
    ``head`` asks for the sample's values of a table's sample too.
    """
    known = dataset.facts.get("levels", {}).get(column)
    if known is not None:
        return list(known)
    sampled = (head or dataset.in_place) and dataset.sample is not None
    q = quote_ident(column)
    sql = (
        f"SELECT CAST({q} AS VARCHAR) AS level, count(*) "
        f"FROM {quote_ident(dataset.sample if sampled else dataset.table)} "
        f"WHERE {q} IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT 1001"
    )
    levels = [(str(a), int(b)) for a, b in _run_data(con, dataset, sql).fetchall()]
    if not sampled:
        dataset.facts.setdefault("levels", {})[column] = levels
    return levels


def _pick_control(levels: Sequence[str], variant: str | None, notes: list[str]) -> str:
    lowered = {lvl.strip().lower(): lvl for lvl in levels}
    for label in config.CONTROL_LABELS:
        if label in lowered:
            return lowered[label]
    for lvl in levels:
        if "control" in normalize_name(lvl).split("_"):
            return lvl
    first = sorted(levels)[0]
    if len(levels) > 1:
        notes.append(
            f"No arm of '{variant}' is named like a control (control, ctrl, a, baseline, off, "
            f"0...): '{first}', the first in sorted order, was taken as the control. Change it "
            "if that is wrong."
        )
    return first


_TIME_TOKENS = {"timestamp", "time", "date", "day", "ts", "dt", "datetime", "exposure", "assigned"}


def _pick_timestamp(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    prof: list[_Profile],
    taken: set[str | None],
    notes: list[str],
) -> tuple[str | None, bool]:
    typed = [
        p
        for p in prof
        if p.family in ("date", "timestamp") and p.non_null > 0 and p.name not in taken
    ]
    if typed:
        best = max(typed, key=lambda p: (bool(set(p.tokens) & _TIME_TOKENS), -prof.index(p)))
        return best.name, False
    for p in prof:
        named = p.norm in ("date", "day", "dt", "ds") or p.tokens[-1] == "date"
        if p.family != "text" or p.name in taken or p.non_null == 0 or not named:
            continue
        q = quote_ident(p.name)
        dates, digits = _run(
            con,
            f"SELECT count(TRY_CAST({q} AS DATE)), count(*) FILTER (WHERE regexp_matches({q}, "
            f"'[0-9]')) FROM {quote_ident(dataset.sample or dataset.table)}",
        ).fetchall()[0]
        if dates == p.non_null:
            return p.name, False
        if digits == p.non_null:
            notes.append(
                f"'{p.name}' holds dates without a year (e.g. 'Sat, Oct 11'); they are kept as "
                "day labels in the order of the file."
            )
            return p.name, True
    return None, False


_UNIT_NAMES = {
    "user_id": 10,
    "userid": 10,
    "user": 9,
    "uid": 8,
    "unit_id": 9,
    "unit": 8,
    "customer_id": 9,
    "customerid": 9,
    "customer": 8,
    "visitor_id": 9,
    "visitorid": 9,
    "visitor": 8,
    "client_id": 8,
    "cookie_id": 8,
    "cookie": 7,
    "device_id": 8,
    "account_id": 8,
    "member_id": 8,
    "player_id": 8,
    "playerid": 8,
    "id": 5,
}
_UNIT_TOKENS = {"user", "customer", "client", "visitor", "cookie", "device", "account", "member"}


def _unit_score(p: _Profile) -> int:
    if p.family not in ("text", "numeric", "other") or (p.family == "numeric" and not p.integral):
        return 0
    if p.norm in _UNIT_NAMES:
        return _UNIT_NAMES[p.norm]
    if set(p.tokens) & (_UNIT_TOKENS | {"player", "uid"}):
        return 6
    return 3 if p.tokens[-1] == "id" or p.norm.endswith("id") else 0


def _is_unit_candidate(p: _Profile) -> bool:
    """Named like an id and with many values (or, for a user-like name, one per row)."""
    score = _unit_score(p)
    if score == 0 or p.non_null == 0:
        return False
    many = p.distinct > config.VARIANT_MAX_LEVELS and p.distinct >= 0.01 * p.non_null
    return many or (score >= 5 and p.distinct >= p.non_null)


def _pick_unit(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    prof: list[_Profile],
    taken: set[str | None],
    notes: list[str],
) -> tuple[str | None, bool]:
    best = _unit_candidate(prof, taken)
    if best is None:
        return None, False
    distinct, rows = _unit_rows(con, dataset, best.name)
    if distinct < rows:
        notes.append(
            f"Some units have several rows ({rows:,} rows for {distinct:,} values of "
            f"'{best.name}'): each unit's rows are added up before the analysis (binary "
            "metrics: converted on any row)."
        )
        return best.name, True
    return best.name, False


def _unit_candidate(prof: Sequence[_Profile], taken: set[str | None]) -> _Profile | None:
    cands = [p for p in prof if p.name not in taken and _is_unit_candidate(p)]
    return max(cands, key=lambda p: (_unit_score(p), p.distinct)) if cands else None


def _unit_rows(con: duckdb.DuckDBPyConnection, dataset: Dataset, unit: str) -> tuple[int, int]:
    """(distinct values, rows with a value) of a unit column, over every row; kept in
    ``dataset.facts``, where :func:`instrumentation_stats` finds the proof that every unit
    has one row (then no unit can be in two arms or have duplicate rows).

    A file read in place whose sample has one row per unit is taken to have one row per unit
    (the sample's counts are returned, not cached): the statistics' scan checks a hash sample
    of every row's ids, and :func:`units_repeat` tells when that check found otherwise.
    """
    known = dataset.facts.get("unit_rows", {}).get(unit)
    if known is None and dataset.in_place and dataset.sample is not None:
        q = quote_ident(unit)
        sql = f"SELECT count(DISTINCT {q}), count({q}) FROM {quote_ident(dataset.sample)}"
        distinct, rows = _run(con, sql).fetchall()[0]
        if distinct == rows:
            return int(distinct), int(rows)
    return known if known is not None else _counted_unit_rows(con, dataset, unit)


def unit_repeats(con: duckdb.DuckDBPyConnection, dataset: Dataset, unit: str) -> bool:
    """Whether some value of the column ``unit`` has more than one row (its rows must then be
    added up per unit before the analysis). Counted over every row, once per dataset."""
    distinct, rows = _with_table(con, dataset, lambda: _unit_rows(con, dataset, unit))
    return distinct < rows


def _counted_unit_rows(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, unit: str
) -> tuple[int, int]:
    """:func:`_unit_rows` over every row (one scan), cached in ``dataset.facts``."""
    known = dataset.facts.get("unit_rows", {}).get(unit)
    if known is None:
        t = quote_ident(dataset.table)
        ids, repeats = _run_data(con, dataset, _repeated_hashes_sql(t, unit)).fetchall()[0]
        if repeats:  # repeated units (or a hash collision): count them exactly
            q = quote_ident(unit)
            sql = f"SELECT count(DISTINCT {q}), count({q}) FROM {t}"
            distinct, rows = _run_data(con, dataset, sql).fetchall()[0]
            known = (int(distinct), int(rows))
        else:
            known = (int(ids), int(ids))
        dataset.facts.setdefault("unit_rows", {})[unit] = known
    return known


def _repeated_hashes_sql(table: str, unit: str) -> str:
    """Ids present, and ids whose 64-bit hash equals the previous one in sorted order.

    No repeat proves one row per unit: equal ids hash alike. Sorting 8-byte hashes takes
    half the memory of a hash table over the ids (and less time when ids are strings).
    """
    u = quote_ident(unit)
    return (
        "SELECT count(__ab_h), count(*) FILTER (WHERE __ab_h = __ab_previous) FROM ("
        "SELECT __ab_h, lag(__ab_h) OVER (ORDER BY __ab_h) AS __ab_previous FROM ("
        f"SELECT CASE WHEN {u} IS NOT NULL THEN hash({u}) END AS __ab_h FROM {table}"
        ") AS __ab_ids) AS __ab_sorted"
    )


def _pre_base(p: _Profile) -> str | None:
    """The metric a pre-period column shadows (``pre_revenue`` → ``revenue``), if any."""
    tokens = p.tokens
    if len(tokens) > 1 and tokens[0] == "pre":
        rest = tokens[2:] if tokens[1] == "period" and len(tokens) > 2 else tokens[1:]
        return "_".join(rest)
    if len(tokens) > 1 and tokens[-1] in ("pre", "before"):
        rest = tokens[:-2] if tokens[-2] == "period" and len(tokens) > 2 else tokens[:-1]
        return "_".join(rest)
    return None


_STAT_RE = re.compile(
    r"^(?P<base>.+?)[\s_.\-]+(?P<stat>sum[\s_.\-]*(?:sq|squared|squares|of[\s_.\-]*squares)|"
    r"sumsq|sum2|sq[\s_.\-]*sum|sum|mean|avg|average|sd|std|stdev|stddev|std[\s_.\-]*dev|"
    r"variance|var|conversions|successes|rate)$",
    re.IGNORECASE,
)
_N_NAMES = {
    "n",
    "count",
    "users",
    "visitors",
    "units",
    "sample_size",
    "samples",
    "participants",
    "exposures",
    "observations",
    "n_users",
    "n_units",
    "num_users",
    "user_count",
    "users_count",
    "visitor_count",
    "total_users",
    "trials",
}
_CONVERSION_NAMES = {"conversions", "converted", "successes", "conversion_count"}


def _stat_kind(stat: str) -> str:
    s = normalize_name(stat)
    if s.startswith("sum_") or s in ("sumsq", "sum2", "sq_sum"):
        return "sum_sq"
    if s in ("mean", "avg", "average", "rate"):
        return "mean"
    if s in ("sd", "std", "stdev", "stddev", "std_dev"):
        return "sd"
    if s in ("variance", "var"):
        return "variance"
    if s in ("conversions", "successes"):
        return "conversions"
    return "sum"


def _stat_columns(prof: list[_Profile], taken: set[str | None]) -> dict[str, dict[str, str]]:
    """``{base: {stat: column}}`` for columns named like ``revenue_sum`` or ``revenue_sd``."""
    out: dict[str, dict[str, str]] = {}
    for p in prof:
        if not p.is_numeric or p.name in taken:
            continue
        match = _STAT_RE.match(p.name.strip())
        if match:
            out.setdefault(match["base"], {})[_stat_kind(match["stat"])] = p.name
    return out


def _pick_shape(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    prof: list[_Profile],
    taken: set[str | None],
    notes: list[str],
) -> tuple[str, dict[str, dict[str, str]]]:
    stats = _stat_columns(prof, taken)
    paired = any(
        ("sum" in s and "sum_sq" in s) or ("mean" in s and ("sd" in s or "variance" in s))
        for s in stats.values()
    )
    if paired:
        return "aggregated", stats
    keys = [p.name for p in prof if p.name in taken]
    has_unit = any(_is_unit_candidate(p) for p in prof)
    if not keys or has_unit or dataset.n_rows > config.AGGREGATED_MAX_ROWS:
        return "unit", stats
    counts = [p for p in prof if p.is_count and p.name not in taken and (p.max or 0) > 1]
    has_n = any(p.norm in _N_NAMES for p in prof if p.is_numeric)
    if not counts:
        return "unit", stats
    key_sql = ", ".join(quote_ident(k) for k in keys)
    (combos,) = _run_data(
        con,
        dataset,
        f"SELECT count(*) FROM (SELECT DISTINCT {key_sql} FROM {quote_ident(dataset.table)})",
    ).fetchall()[0]
    if has_n or combos == dataset.n_rows:
        notes.append(
            "Each row holds totals for one arm"
            + (" and day" if len(keys) > 1 else "")
            + ", so the file is read as aggregated counts, not one row per unit."
        )
        return "aggregated", stats
    return "unit", stats


def _aggregated_metrics(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    prof: list[_Profile],
    stats: dict[str, dict[str, str]],
    taken: set[str | None],
    notes: list[str],
) -> tuple[str | None, list[MetricMapping]]:
    by_name = {p.name: p for p in prof}
    n_cands = [p for p in prof if p.is_numeric and p.name not in taken and p.norm in _N_NAMES]
    n_column = n_cands[0].name if n_cands else None
    used = set(taken) | {n_column}
    metrics: list[MetricMapping] = []
    checks: list[str] = []
    table = quote_ident(dataset.table)
    for cols in stats.values():
        if "sum" in cols and "sum_sq" in cols:
            checks.append(f"bool_and({quote_ident(cols['sum'])} = {quote_ident(cols['sum_sq'])})")
    sql = f"SELECT {', '.join(checks)} FROM {table}"
    equal = _run_data(con, dataset, sql).fetchall()[0] if checks else ()
    k = 0
    for base, cols in stats.items():
        col_set = set(cols.values())
        if "sum" in cols and "sum_sq" in cols:
            kind = "binary" if equal[k] else "continuous"
            k += 1
            metrics.append(
                MetricMapping(base, kind, sum_column=cols["sum"], sum_sq_column=cols["sum_sq"])
            )
        elif "mean" in cols and ("sd" in cols or "variance" in cols):
            metrics.append(
                MetricMapping(
                    base,
                    "continuous",
                    mean_column=cols["mean"],
                    sd_column=cols.get("sd"),
                    variance_column=None if "sd" in cols else cols.get("variance"),
                )
            )
        elif (
            "mean" in cols
            and by_name[cols["mean"]].min is not None
            and (by_name[cols["mean"]].min or 0) >= 0
            and (by_name[cols["mean"]].max or 0) <= 1
        ):
            metrics.append(MetricMapping(base, "binary", mean_column=cols["mean"]))
        elif "conversions" in cols or ("sum" in cols and by_name[cols["sum"]].is_count):
            column = cols.get("conversions") or cols["sum"]
            metrics.append(MetricMapping(base, "binary", sum_column=column))
        else:
            notes.append(
                f"'{base}' has {', '.join(sorted(cols))} but no matching sum of squares, standard "
                "deviation or variance, so its variance is unknown: add one to analyse it."
            )
            continue
        used |= col_set
    for p in prof:
        if p.name not in used and p.is_numeric and p.norm in _CONVERSION_NAMES:
            metrics.append(MetricMapping(p.name, "binary", sum_column=p.name))
            used.add(p.name)
    counts = [p for p in prof if p.is_count and p.name not in used and p.non_null > 0]
    if counts:
        n_column, more = _count_metrics(con, dataset, counts, n_column, notes)
        metrics += more
    if n_column is None and any(m.kind not in PAIR_KINDS for m in metrics):
        notes.append("No column holds the number of units per row (n, users, visitors): pick it.")
    return n_column, metrics


def _count_metrics(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    counts: list[_Profile],
    n_column: str | None,
    notes: list[str],
) -> tuple[str | None, list[MetricMapping]]:
    """Count columns as proportions: each over the smallest column that bounds it row by row."""
    cols = [p.name for p in counts] + ([n_column] if n_column else [])
    items = [f"sum(CAST({quote_ident(c)} AS DOUBLE))" for c in cols]
    pairs = [(a, b) for a in cols for b in cols if a != b]
    items += [f"coalesce(bool_and({quote_ident(a)} <= {quote_ident(b)}), false)" for a, b in pairs]
    sql = f"SELECT {', '.join(items)} FROM {quote_ident(dataset.table)}"
    row = _run_data(con, dataset, sql).fetchall()[0]
    total = {c: float(row[i] or 0) for i, c in enumerate(cols)}
    bounded = {pair: bool(row[len(cols) + i]) for i, pair in enumerate(pairs)}
    order = {c: i for i, c in enumerate(cols)}
    if n_column is None:
        n_column = max(cols, key=lambda c: (total[c], -order[c]))
        notes.append(
            f"No column is named like a unit count (n, users, visitors): '{n_column}', the "
            "largest count column, was taken as the number of units."
        )
    metrics = []
    for c in cols:
        if c == n_column:
            continue
        above = [
            d
            for d in cols
            if d != c
            and bounded[(c, d)]
            and (total[d] > total[c] or (total[d] == total[c] and order[d] < order[c]))
        ]
        if not above:
            notes.append(f"'{c}' is not bounded by any count column, so it is not proposed.")
            continue
        den = min(above, key=lambda d: (total[d], order[d]))
        if den == n_column:
            metrics.append(MetricMapping(c, "binary", sum_column=c))
        else:
            metrics.append(
                MetricMapping(f"{c}/{den}", "proportion_of_counts", numerator=c, denominator=den)
            )
    return n_column, metrics


# --------------------------------------------------------------------------------------------
# Validation and sufficient statistics
# --------------------------------------------------------------------------------------------


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
    con.execute(f"DROP VIEW IF EXISTS {quote_ident(dataset.table)}")

    def read() -> None:
        _read_file(con, Path(reader["path"]), dataset.table, reader["display"])
        _tidy_names(con, dataset.table)

    _guarded_read(con, dataset.table, reader["display"], read)
    dataset.facts["columns"] = tuple(_table_columns(con, dataset.table))


def _memory_error() -> InputError:
    return InputError(
        "This file needs more memory than this session may use: upload fewer rows or columns "
        "(only the columns the analysis needs), or upload aggregated results instead."
    )


def _columns_list(dataset: Dataset) -> str:
    names = dataset.names
    shown = ", ".join(repr(n) for n in names[:20])
    return shown + (f" and {len(names) - 20} more" if len(names) > 20 else "")


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
    if _family(types[mapping.variant]) == "other":
        raise InputError(
            f"Column '{mapping.variant}' holds {types[mapping.variant]} values, which cannot "
            "name an arm. Pick the column with the arm names."
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
            q = quote_ident(mapping.timestamp)
            bad = _run_data(
                con,
                dataset,
                f"SELECT count(*) FILTER (WHERE {q} IS NOT NULL AND TRY_CAST({q} AS DATE) IS "
                f"NULL) FROM {quote_ident(dataset.table)}",
            ).fetchall()[0][0]
            if bad:
                mapping = dataclasses.replace(mapping, day_label=True)
        elif fam not in ("date", "timestamp"):
            raise InputError(
                f"Column '{mapping.timestamp}' holds {types[mapping.timestamp].lower()} values, "
                "not dates. Pick a date or timestamp column, or none."
            )
    return mapping


def _check_text_numbers(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, columns: list[str]
) -> None:
    items = []
    for c in columns:
        q = quote_ident(c)
        bad = f"{q} IS NOT NULL AND TRY_CAST({q} AS DOUBLE) IS NULL"
        items += [
            f"count({q})",
            f"arg_min({q}, rowid) FILTER (WHERE {bad})",
            f"min(rowid) FILTER (WHERE {bad})",
        ]
    row = _run(con, f"SELECT {', '.join(items)} FROM {quote_ident(dataset.table)}").fetchall()[0]
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
        cap: winsorise continuous metrics at this upper percentile of both arms pooled (e.g.
            0.99), or a dict ``{metric: percentile}``.
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
    if finest and plain and not cap_percentiles(mapping, cap):
        frame = _stats_and_checks(con, dataset, mapping, by)
    else:
        sql, params = sufficient_stats_sql(dataset.table, mapping, by=by, cap=cap, finest=finest)
        frame = _run_data(con, dataset, sql, params).df()
    overall = frame[frame["level"] == "overall"]
    variants = [str(v) for v in overall["variant"]]
    mapping = _check_arms(mapping, variants, overall)
    _check_metrics(mapping, overall)
    caps = {
        m.name: float(overall[stat_column(m.name, "cap")].iloc[0])
        for m in mapping.metrics
        if stat_column(m.name, "cap") in frame.columns
    }
    frame = frame.drop(columns=[stat_column(m, "cap") for m in caps])
    return Aggregates(
        _canonical(frame.drop(columns=[DAY_ORDER], errors="ignore"), mapping), mapping, caps
    )


def _cells_are_few(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, mapping: Mapping, by: Iterable[str]
) -> bool:
    """Whether arm x day x segment cells are few enough to aggregate first and roll up.

    Estimated on the first ``config.INGEST_SAMPLE_ROWS`` rows (of the sample, for a file read
    in place) as the product of each key's distinct values: an upper bound for those rows.
    """
    source = dataset.sample or dataset.table
    sql, params = cell_count_sql(source, mapping, by=by, rows=config.INGEST_SAMPLE_ROWS)
    (cells,) = _run(con, sql, params).fetchall()[0]
    return float(cells or 0) <= config.STATS_MAX_CELLS


def _stats_and_checks(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, mapping: Mapping, by: Iterable[str]
) -> pd.DataFrame:
    """One scan for the statistics and the value checks: the cells go to a temporary table,
    the levels are rolled up from it and the checks (kept in ``dataset.facts`` for
    :func:`instrumentation_stats`) are summed from it."""
    cells = f"{dataset.table}_cells_{uuid.uuid4().hex[:8]}"
    q = quote_ident(cells)
    every = _unit_sample_every(dataset, mapping)
    sql, params = finest_stats_sql(dataset.table, mapping, by=by, checks=True, unit_sample=every)
    _run_data(con, dataset, f"CREATE OR REPLACE TEMP TABLE {q} AS {sql}", params)
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
        con.execute(f"DROP TABLE IF EXISTS {q}")
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


def _check_arms(mapping: Mapping, variants: list[str], overall: pd.DataFrame) -> Mapping:
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
    control = mapping.control if mapping.control is not None else _pick_control(variants, v, notes)
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
    return dataclasses.replace(mapping, control=control, notes=mapping.notes + tuple(notes))


def _check_metrics(mapping: Mapping, overall: pd.DataFrame) -> None:
    for m in mapping.metrics:
        columns = m.aggregate_columns if mapping.is_aggregated else m.unit_columns
        shown = " and ".join(f"'{c}'" for c in columns)
        count = "pair_n" if m.kind in PAIR_KINDS else "n"
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


# --------------------------------------------------------------------------------------------
# Instrumentation
# --------------------------------------------------------------------------------------------


def instrumentation_stats(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, mapping: Mapping
) -> Instrumentation:
    """Run the instrumentation queries: units in several arms, duplicate rows, missing,
    out-of-range and negative values per metric and arm.

    Nothing is scanned twice: the value checks come from the last :func:`compute_stats` of
    the same variant, unit and metrics (kept in ``dataset.facts``); when schema detection
    proved one row per unit (distinct ids = rows), no unit can be in two arms or repeat a
    row or a day, so the unit checks are those zeros; so they are too when the statistics
    of a file read in place found no repeat in their hash sample of the ids
    (``Instrumentation.units_checked`` says how many); otherwise one ``GROUP BY`` unit
    (:func:`abcore.sql.unit_checks_sql`) answers them all, exactly.
    """
    return _with_table(con, dataset, lambda: _instrumentation_stats(con, dataset, mapping))


def _instrumentation_stats(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, mapping: Mapping
) -> Instrumentation:
    mapping = _validated(con, dataset, mapping)
    checks = dataset.facts.get("value_checks", {}).get(_checks_key(mapping))
    if checks is None:
        sql, params = value_checks_sql(dataset.table, mapping)
        checks = _run_data(con, dataset, sql, params).df()
    arms = checks[checks["variant"].notna()]
    missing_variant = int(checks.loc[checks["variant"].isna(), "rows"].sum())
    fields: dict[str, Any] = {
        "rows": int(checks["rows"].sum()),
        "rows_per_arm": {
            str(v): int(n) for v, n in zip(arms["variant"], arms["rows"], strict=True)
        },
        "rows_missing_variant": missing_variant,
        "missing": {},
        "out_of_range": {},
        "negative": {},
    }
    for m in mapping.metrics:
        col = stat_column(m.name, "missing")
        fields["missing"][m.name] = {
            str(v): int(n) for v, n in zip(arms["variant"], arms[col], strict=True)
        }
        for check in ("out_of_range", "negative"):
            col = stat_column(m.name, check)
            if col in checks.columns:
                fields[check][m.name] = int(arms[col].sum())
    if mapping.unit and not mapping.is_aggregated:
        fields["rows_missing_unit"] = int(checks["rows_missing_unit"].sum())
        keys = ["units", "units_in_multiple_arms", "units_with_several_rows"]
        keys += ["duplicate_unit_rows"] + (["duplicate_unit_day_rows"] if mapping.timestamp else [])
        distinct, rows = dataset.facts.get("unit_rows", {}).get(mapping.unit, (0, -1))
        sampled = dataset.facts.get("unit_sample", {}).get(mapping.unit)
        if distinct == rows or (sampled is not None and sampled[1] == 0):
            # proven (every id counted) or seen in a hash sample of the ids: one row per unit
            units = int((arms["rows"] - arms["rows_missing_unit"]).sum())
            fields.update(dict.fromkeys(keys, 0), units=units)
            fields["units_checked"] = units if distinct == rows else sampled[0]
        else:
            sql, params = unit_checks_sql(dataset.table, mapping)
            row = _run_data(con, dataset, sql, params).fetchall()[0]
            fields.update({key: int(value) for key, value in zip(keys, row, strict=True)})
            fields["units_checked"] = fields["units"]
    return Instrumentation(**fields)
