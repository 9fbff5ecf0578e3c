"""Loading: a path, bytes, a DataFrame or a list of files into one DuckDB table or view."""

from __future__ import annotations

import csv
import gzip as gzip_module
import io
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from abcore import config
from abcore.errors import InputError
from abcore.ingest._base import (
    _CONVERT_RE,
    _HEAD_BYTES,
    _LINE_RE,
    _PARQUET_EXT,
    Dataset,
    Source,
    _memory_error,
)
from abcore.load_sql import (
    FLOAT_TYPES,
    alter_type_sql,
    copy_table_sql,
    count_rows_sql,
    create_table_as_sql,
    describe_sql,
    first_line_sql,
    head_sql,
    nan_counts_sql,
    nan_to_null_sql,
    parquet_rows_sql,
    read_csv_sql,
    read_parquet_sql,
    reader_sql,
    rename_column_sql,
    rename_table_sql,
    same_rows_sql,
    sniff_csv_sql,
    stack_sql,
    token_counts_sql,
    view_sql,
)
from abcore.sql import drop_sql, normalize_name, quote_ident


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
        con.execute(drop_sql(table))
        raise
    except duckdb.Error as exc:
        con.execute(drop_sql(table))
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
        con.execute(copy_table_sql(table, view))
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
            con.execute(read_parquet_sql(table), [str(path)])
        except duckdb.OutOfMemoryException as exc:
            raise _memory_error() from exc
        except duckdb.Error as exc:
            raise InputError(
                f"{display} could not be read as Parquet: the file is damaged or not Parquet. "
                "Export it again, or upload it as CSV."
            ) from exc
        _normalize_types(con, table, numeric_text=False)
        return f"{display} (Parquet)"
    _check_lines(path, display, head, kind)
    return _read_csv(con, path, table, display, head, gzip=kind == "gzip")


def _check_lines(path: Path, display: str, head: bytes, kind: str) -> None:
    """Cheap checks before the parse: the longest line, then the header's width.

    A file with no line breaks, or one line of many MB, would otherwise be sniffed and
    parsed in full (and end as "no consistent delimiter"); a header of thousands of columns
    would be parsed in full (1.9 GB and 19 s for 95 MB of 5,000 columns) before the column
    limit refused it. Here the first ``config.INGEST_SCAN_BYTES`` are scanned for line
    breaks (about 0.1 s per 100 MB) and the header line is split, so either is refused at
    once, with what was found.

    Raises:
        InputError: a line longer than ``config.INGEST_MAX_LINE_BYTES``, or a header with
            more than ``config.INGEST_MAX_COLUMNS`` fields.
    """
    opener = gzip_module.open if kind == "gzip" else open
    limit = config.INGEST_MAX_LINE_BYTES
    with opener(path, "rb") as fh:
        length, line, ends = _longest_line(fh, config.INGEST_SCAN_BYTES)
    if length > limit:
        if not ends:
            raise InputError(
                f"{display} has no line breaks: {_mb(length)} without one. A CSV has "
                "a header line, then one line per row: export it again as CSV (or Parquet) and "
                "upload that."
            )
        raise InputError(
            f"{display} has a line of {_mb(length)} (line {line:,}); lines of at most "
            f"{_mb(limit)} are read. A CSV has one row per line: check the export (a text "
            "column holding whole documents, or quotes never closed), keep the columns the "
            "analysis needs, and upload again."
        )
    first = head.split(b"\n", 1)[0]
    encoding = _head_encoding(head, kind) if kind != "gzip" else "utf-8"
    if kind == "gzip":
        with gzip_module.open(path, "rb") as fh:
            first = fh.read(limit + 1).split(b"\n", 1)[0]
    elif b"\n" not in head and len(head) < path.stat().st_size:  # a header past the head
        with path.open("rb") as fh:
            first = fh.read(limit + 1).split(b"\n", 1)[0]
    if kind == "utf-16":
        first = head.decode("utf-16", errors="replace").split("\n", 1)[0].encode("utf-8")
        encoding = "utf-8"
    fields, delimiter = _header_width(first.decode(encoding, errors="replace"))
    if fields > config.INGEST_MAX_COLUMNS:
        raise InputError(_too_many_columns(fields, display, f" in its header ({delimiter})"))


def _mb(n: int) -> str:
    """Bytes as a short size for a sentence.

    >>> _mb(3_000_000), _mb(2**20), _mb(2_500)
    ('2.9 MB', '1 MB', '2 kB')
    """
    if n >= 2**20:
        return f"{n / 2**20:,.1f} MB".replace(".0 MB", " MB")
    return f"{max(n // 2**10, 1):,} kB"


def _longest_line(fh: Any, cap: int, chunk: int = 1 << 24) -> tuple[int, int, bool]:
    """(bytes of the longest line, its line number, whether any line break was seen) in the
    first ``cap`` bytes of ``fh``; ``\\n`` and ``\\r`` both end a line."""
    longest, where, run, lines, seen, read = 0, 1, 0, 0, False, 0
    while read < cap:
        block = fh.read(min(chunk, cap - read))
        if not block:
            break
        read += len(block)
        a = np.frombuffer(block, np.uint8)
        ends = np.flatnonzero((a == 10) | (a == 13))
        if ends.size == 0:
            run += len(block)
            if run > longest:
                longest, where = run, lines + 1
            continue
        seen = True
        gaps = np.diff(ends, prepend=-1) - 1
        gaps[0] += run
        i = int(gaps.argmax())
        if gaps[i] > longest:
            longest = int(gaps[i])
            where = lines + 1 + int(np.count_nonzero(a[ends[:i]] == 10))
        lines += int(np.count_nonzero(a[ends] == 10))
        run = len(block) - 1 - int(ends[-1])
    if run > longest:
        longest, where = run, lines + 1
    return longest, where, seen


def _header_width(line: str) -> tuple[int, str]:
    """Fields of a header line and the delimiter that splits it most (comma by default).

    >>> _header_width('a;b;"c;d"')
    (3, 'semicolon-separated')
    """
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    counts = {d: line.count(d) for d in names}
    delim = max(counts, key=lambda d: counts[d])
    if counts[delim] == 0:
        return 1, "one field"
    try:
        fields = len(next(csv.reader([line.rstrip("\r")], delimiter=delim)))
    except (csv.Error, StopIteration):
        fields = counts[delim] + 1
    return fields, f"{names[delim]}-separated"


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
    sql, params = read_csv_sql(table, str(path), options, limit=limit)
    con.execute(sql, params)


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
    if not parquet:
        try:
            _check_lines(path, display, head, kind)
        except InputError:
            return None  # load reads it again and says what is wrong
    table = _new_table_name()
    sample = f"{table}_sample"
    limit = config.INGEST_SAMPLE_ROWS
    try:
        if parquet:
            con.execute(read_parquet_sql(sample, limit=limit + 1), [str(path)])
            options: dict[str, Any] = {}
            decimal_comma, description, sniffed = False, f"{display} (Parquet)", None
        else:
            read = _csv_into(con, path, sample, display, head, gzip=False, limit=limit + 1)
            options, decimal_comma = read.options, read.delimiter == ";"
            description = f"{display} {read.description}"
            sniffed = read.sniffed
        sampled = con.execute(count_rows_sql(sample)).fetchall()[0][0]
        if sampled <= limit:  # the sample is the whole file: it becomes the table
            con.execute(rename_table_sql(sample, table))
            sample = table
            _normalize_types(con, table, numeric_text=not parquet, decimal_comma=decimal_comma)
            return _finish(con, table, description)
        raw = _table_columns(con, sample)
        reader = reader_sql(str(path), parquet=parquet, options=options)
        if not parquet:
            reader = _pinned_csv_reader(con, path, options, sample, raw, sniffed) or reader
        plan = _text_types(
            con,
            sample,
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
        select = view_sql(reader, raw, plan, renames, decimal_comma=decimal_comma)
        con.execute(create_table_as_sql(table, select, view=True))
        facts: dict[str, Any] = {"reader": {"path": str(path), "display": display}}
        n_rows = max(_row_count(con, path, head, parquet=parquet), int(sampled))
    except (InputError, duckdb.Error):
        if sample != table:
            con.execute(drop_sql(table, "VIEW"))
        con.execute(drop_sql(sample))
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
    reader = reader_sql(str(path), parquet=False, options=pinned)
    try:
        same = con.execute(same_rows_sql(reader, sample)).fetchall()[0][0]
    except duckdb.Error:
        return None
    return reader if same else None


def _row_count(con: duckdb.DuckDBPyConnection, path: Path, head: bytes, *, parquet: bool) -> int:
    """Rows of a file read in place, without a scan.

    Parquet keeps its row count in the footer. For CSV it is an estimate, the file size
    over the bytes per line of its first ``_HEAD_BYTES``; the statistics' scan counts the
    rows exactly. It sizes the hash sample of the unit check, nothing else.
    """
    if parquet:
        (rows,) = con.execute(parquet_rows_sql(), [str(path)]).fetchall()[0]
        return int(rows)
    lines = max(head.count(b"\n"), 1)
    return max(int(path.stat().st_size * lines / max(len(head), 1)), 1)


def _sniff(
    con: duckdb.DuckDBPyConnection, path: Path, encoding: str, gzip: bool
) -> tuple[Any, ...] | None:
    """DuckDB's sniffer's verdict on the file (``sniff_csv``'s row: delimiter first)."""
    for enc in dict.fromkeys([encoding, "latin-1"]):
        try:
            rows = con.execute(sniff_csv_sql(gzip=gzip), [str(path), enc])
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
    if "max_line_size" in lower:
        return InputError(
            f"{display} has a line longer than DuckDB reads{where}. A CSV has one row per "
            "line: check the export (a text column holding whole documents, or quotes never "
            "closed), keep the columns the analysis needs, and upload again."
        )
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
    rows = con.execute(describe_sql(table)).fetchall()
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
            first_line_sql(delimiter=bool(delimiter)),
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
    plan = _text_types(
        con, table, None, cols, numeric_text=numeric_text, decimal_comma=decimal_comma
    )
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
    for c, target in plan.items():
        con.execute(alter_type_sql(table, c, target, decimal_comma))
    floats = [c for c, ty in cols if ty in FLOAT_TYPES]
    if not floats:
        return
    row = con.execute(nan_counts_sql(table, floats)).fetchall()[0]
    for c, nans in zip(floats, row, strict=True):
        if nans:
            con.execute(nan_to_null_sql(table, c))


def _text_types(
    con: duckdb.DuckDBPyConnection,
    head: str,
    full: str | None,
    cols: Sequence[tuple[str, str]],
    *,
    numeric_text: bool,
    decimal_comma: bool,
) -> dict[str, str]:
    """``{column: "BOOLEAN" | "DOUBLE"}`` for the text columns that hold only such values.

    The table ``head`` (its first ``config.INGEST_TYPE_CHECK_ROWS`` rows) rules out most text
    columns: one value that is no boolean, number or NA token is enough. Only the columns
    that survive (and those with nothing but NA tokens there) are counted on every row of
    ``full`` (a reader over the file whose sample ``head`` is; None: ``head`` itself), so
    the verdict is the one a full scan gives.
    """
    text = [c for c, t in cols if t == "VARCHAR"]
    if not text:
        return {}
    limit = config.INGEST_TYPE_CHECK_ROWS
    rows, counts = _token_counts(con, head_sql(head, limit), text, numeric_text, decimal_comma)
    survivors = [c for c in text if _text_type(*counts[c], numeric_text, empty=True)]
    if survivors and (rows >= limit or full is not None):
        source = full if full is not None else quote_ident(head)
        counts.update(_token_counts(con, source, survivors, numeric_text, decimal_comma)[1])
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
    sql = token_counts_sql(source, columns, numeric_text=numeric_text, decimal_comma=decimal_comma)
    row = con.execute(sql).fetchall()[0]
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


def _finish(con: duckdb.DuckDBPyConnection, table: str, description: str) -> Dataset:
    """Final checks shared by every source; drops the table when it is refused."""
    try:
        _tidy_names(con, table)
        cols = _table_columns(con, table)
        display = description.split(" (", 1)[0]
        _check_columns(cols, display)
        n_rows = int(con.execute(count_rows_sql(table)).fetchall()[0][0])
        if n_rows == 0:
            raise InputError(
                f"{display} has a header but no data rows. Upload the file with its rows."
            )
    except InputError:
        con.execute(drop_sql(table))
        raise
    return Dataset(table=table, columns=tuple(cols), n_rows=n_rows, source=description)


def _check_columns(cols: Sequence[tuple[str, str]], display: str) -> None:
    """Refuse too many columns, a single column, or a header made of numbers."""
    if len(cols) > config.INGEST_MAX_COLUMNS:
        raise InputError(_too_many_columns(len(cols), display))
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


def _too_many_columns(n: int, display: str, where: str = "") -> str:
    return (
        f"{display} has {n:,} columns{where}; at most {config.INGEST_MAX_COLUMNS:,} are "
        "supported. Keep the columns the analysis needs (variant, unit id, date and "
        "metrics; for an event log, unit id, event and time) and upload again."
    )


def _tidy_names(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Strip spaces around column names (``"revenue "``), unless that would collide."""
    for name, clean in _tidy_renames([n for n, _ in _table_columns(con, table)]).items():
        con.execute(rename_column_sql(table, name, clean))


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
            variant = None
            params: list[str] = []
            note = "stacked"
        else:
            every = {c for cols in columns for c in cols}
            names = ("variant", "arm", "source_file", "variant_from_file")
            variant = next((v for v in names if v not in every), f"variant_{uuid.uuid4().hex[:6]}")
            params = labels
            origin = "the labels given" if labelled else "the file names"
            note = f"'{variant}' from {origin}: {', '.join(labels)}"
        con.execute(stack_sql(final, tables, variant), params)
    except duckdb.Error as exc:
        raise InputError(
            "The files could not be combined: their columns have incompatible types. Make sure "
            "each file has the same columns with the same kind of values."
        ) from exc
    finally:
        for t in tables:
            con.execute(drop_sql(t))
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
