"""The session's DuckDB connection, the loaded dataset, and the tokens every reader shares."""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from abcore import config
from abcore.errors import InputError
from abcore.load_sql import BOOL_TOKENS, NA_TOKENS, TRUE_TOKENS

Source = Any
"""A path, bytes, a file-like object, a pandas DataFrame, or a list/dict of those."""

_HEAD_BYTES = 1 << 16
_NA_TOKENS = list(NA_TOKENS)
_TRUE_TOKENS = list(TRUE_TOKENS)
_BOOL_TOKENS = list(BOOL_TOKENS)
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


def connect(
    *,
    memory_limit: str = config.DUCKDB_MEMORY_LIMIT,
    temp_directory: str | os.PathLike[str] | None = None,
    threads: int = config.DUCKDB_THREADS,
) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection for one user (a notebook, or one browser session).

    Never share it between sessions: tables live in the connection, so a per-session
    connection is what keeps two users' data apart. Beyond ``memory_limit`` DuckDB spills to
    ``temp_directory`` (by default a fresh folder under the system temp dir, created only if
    needed, removed when the connection closes), so a large upload stays within bounded
    memory. The app gives each session its share of the host instead of these defaults
    (:class:`abcore.hosting.SessionDatabase`).

    >>> con = connect(memory_limit="256MB")
    >>> con.execute("SELECT current_setting('threads')").fetchall()
    [(2,)]
    """
    if temp_directory is None:
        temp_directory = Path(tempfile.gettempdir()) / f"abcore-duckdb-{uuid.uuid4().hex}"
    settings = {
        "threads": threads,
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


_CONVERT_RE = re.compile(r'converting column "((?:[^"]|"")*)"')


_LINE_RE = re.compile(r"CSV Error on Line: (\d+)")


class _NeedTable(Exception):
    """Internal: a view over a file cannot serve this step; copy the file into a table."""


def _memory_error() -> InputError:
    return InputError(
        "This file needs more memory than this session may use: upload fewer rows or columns "
        "(only the columns the analysis needs), or upload aggregated results instead."
    )
