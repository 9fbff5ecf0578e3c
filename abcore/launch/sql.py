"""The readers of the Model launch page's uploads (canary, shadow, interleaving and drift
logs), as pure generators.

Split out of :mod:`abcore.sql` to live with the launch tools, with its rules: identifiers
quoted (:func:`abcore.sql.quote_ident`), values as ``$n`` parameters, nothing here touches
a database.

>>> first_rows_sql("log", ["arm", "score", "arm"])
'SELECT "arm", "score" FROM "log" LIMIT $1'
"""

from __future__ import annotations

from collections.abc import Sequence

from abcore.sql import quote_ident, table_ref


def value_counts_sql(table: str, column: str) -> str:
    """The values of ``column`` as text with their rows, most rows first, at most ``$1``."""
    q = quote_ident(column)
    return (
        f"SELECT CAST({q} AS VARCHAR) AS v, COUNT(*) AS n FROM {table_ref(table)} "
        f"WHERE {q} IS NOT NULL GROUP BY v ORDER BY n DESC, v LIMIT $1"
    )


def group_numbers_sql(table: str, columns: Sequence[str], group: str) -> str:
    """``columns`` as numbers, for the rows whose ``group`` (as text) is ``$1``."""
    cols = ", ".join(f"CAST({quote_ident(m)} AS DOUBLE) AS {quote_ident(m)}" for m in columns)
    return f"SELECT {cols} FROM {table_ref(table)} WHERE CAST({quote_ident(group)} AS VARCHAR) = $1"


def first_rows_sql(table: str, columns: Sequence[str]) -> str:
    """``columns`` of the first ``$1`` rows."""
    cols = ", ".join(quote_ident(c) for c in dict.fromkeys(columns))
    return f"SELECT {cols} FROM {table_ref(table)} LIMIT $1"


def sampled_columns_sql(
    table: str, columns: Sequence[str], *, rows: int | None = None, seed: int = 0
) -> str:
    """``columns`` of every row, or of a repeatable reservoir sample of ``rows`` rows."""
    cols = ", ".join(quote_ident(c) for c in dict.fromkeys(columns))
    sample = f" USING SAMPLE reservoir({int(rows)} ROWS) REPEATABLE ({int(seed)})" if rows else ""
    return f"SELECT {cols} FROM {table_ref(table)}{sample}"


def interleaving_outcomes_sql(table: str, user: str, credit: str) -> str:
    """Users who preferred A (more clicks credited ``$1``), B (``$2``), tied with clicks,
    and had no credited click: one pass, per-user counts then four totals."""
    u, c = quote_ident(user), quote_ident(credit)
    return (
        "WITH per_user AS ("
        f"SELECT {u} AS unit, "
        f"SUM(CASE WHEN CAST({c} AS VARCHAR) = $1 THEN 1 ELSE 0 END) AS a, "
        f"SUM(CASE WHEN CAST({c} AS VARCHAR) = $2 THEN 1 ELSE 0 END) AS b "
        f"FROM {table_ref(table)} WHERE {u} IS NOT NULL GROUP BY {u}) "
        "SELECT COUNT(*) FILTER (WHERE a > b), COUNT(*) FILTER (WHERE b > a), "
        "COUNT(*) FILTER (WHERE a = b AND a > 0), COUNT(*) FILTER (WHERE a + b = 0) "
        "FROM per_user"
    )
