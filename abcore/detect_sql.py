"""The queries of schema detection, validation and the pages' pickers, as pure generators.

Split out of :mod:`abcore.sql` (the readout's statistics) by concern, with its rules:
identifiers quoted (:func:`abcore.sql.quote_ident`), values as parameters, nothing here
touches a database.

>>> distinct_keys_sql("t", ["user", "day"])
'SELECT count(*) FROM (SELECT DISTINCT "user", "day" FROM "t")'
"""

from __future__ import annotations

from collections.abc import Sequence

from abcore.sql import quote_ident, table_ref

# Small scans over a loaded table (or its sample) that answer one question each.


def profile_sql(table: str, columns: Sequence[tuple[str, bool, bool]]) -> str:
    """One row profiling ``columns``: per ``(name, distinct, numeric)`` the non-null count,
    the approximate distinct count (or 0 when not asked: it is the costly part) and, for a
    numeric column, min, max and whether every value is whole (2 or 5 values per column)."""
    items: list[str] = []
    for name, distinct, numeric in columns:
        q = quote_ident(name)
        items += [f"count({q})", f"approx_count_distinct({q})" if distinct else "0"]
        if numeric:
            d = f"CAST({q} AS DOUBLE)"
            items += [f"min({d})", f"max({d})", f"bool_and({d} = floor({d}))"]
    return f"SELECT {', '.join(items)} FROM {table_ref(table)}"


def levels_sql(table: str, column: str, limit: int) -> str:
    """The distinct values of ``column`` as text with their row counts, sorted."""
    q = quote_ident(column)
    return (
        f"SELECT CAST({q} AS VARCHAR) AS level, count(*) FROM {table_ref(table)} "
        f"WHERE {q} IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT {int(limit)}"
    )


def date_text_sql(table: str, column: str) -> str:
    """Values of a text column that read as dates, and values that hold a digit."""
    q = quote_ident(column)
    return (
        f"SELECT count(TRY_CAST({q} AS DATE)), count(*) FILTER (WHERE regexp_matches({q}, "
        f"'[0-9]')) FROM {table_ref(table)}"
    )


def date_misfits_sql(table: str, column: str) -> str:
    """Values of a text column that do not read as dates."""
    q = quote_ident(column)
    return (
        f"SELECT count(*) FILTER (WHERE {q} IS NOT NULL AND TRY_CAST({q} AS DATE) IS NULL) "
        f"FROM {table_ref(table)}"
    )


def distinct_count_sql(table: str, column: str) -> str:
    """Distinct values and non-null rows of ``column`` (an exact count)."""
    q = quote_ident(column)
    return f"SELECT count(DISTINCT {q}), count({q}) FROM {table_ref(table)}"


def repeated_hashes_sql(table: str, unit: str) -> str:
    """Ids present, and ids whose 64-bit hash equals the previous one in sorted order.

    No repeat proves one row per unit: equal ids hash alike. Sorting 8-byte hashes takes
    half the memory of a hash table over the ids (and less time when ids are strings).
    """
    u = quote_ident(unit)
    return (
        "SELECT count(__ab_h), count(*) FILTER (WHERE __ab_h = __ab_previous) FROM ("
        "SELECT __ab_h, lag(__ab_h) OVER (ORDER BY __ab_h) AS __ab_previous FROM ("
        f"SELECT CASE WHEN {u} IS NOT NULL THEN hash({u}) END AS __ab_h FROM {table_ref(table)}"
        ") AS __ab_ids) AS __ab_sorted"
    )


def distinct_keys_sql(table: str, keys: Sequence[str]) -> str:
    """How many distinct combinations of ``keys`` the table holds."""
    cols = ", ".join(quote_ident(k) for k in keys)
    return f"SELECT count(*) FROM (SELECT DISTINCT {cols} FROM {table_ref(table)})"


def equal_columns_sql(table: str, pairs: Sequence[tuple[str, str]]) -> str:
    """Per pair, whether the two columns are equal on every row (sum = sum of squares: 0/1)."""
    items = [f"bool_and({quote_ident(a)} = {quote_ident(b)})" for a, b in pairs]
    return f"SELECT {', '.join(items)} FROM {table_ref(table)}"


def count_bounds_sql(table: str, columns: Sequence[str]) -> tuple[str, list[tuple[str, str]]]:
    """Each column's total, then for every ordered pair whether the first never exceeds the
    second (which count bounds which); returns the SQL and the pairs in result order."""
    items = [f"sum(CAST({quote_ident(c)} AS DOUBLE))" for c in columns]
    pairs = [(a, b) for a in columns for b in columns if a != b]
    items += [f"coalesce(bool_and({quote_ident(a)} <= {quote_ident(b)}), false)" for a, b in pairs]
    return f"SELECT {', '.join(items)} FROM {table_ref(table)}", pairs


def text_number_checks_sql(table: str, columns: Sequence[str]) -> str:
    """Per text column meant as a number: values present, the first value that is not a
    number and its row (three values per column)."""
    items = []
    for c in columns:
        q = quote_ident(c)
        bad = f"{q} IS NOT NULL AND TRY_CAST({q} AS DOUBLE) IS NULL"
        items += [
            f"count({q})",
            f"arg_min({q}, rowid) FILTER (WHERE {bad})",
            f"min(rowid) FILTER (WHERE {bad})",
        ]
    return f"SELECT {', '.join(items)} FROM {table_ref(table)}"


def distinct_values_sql(table: str, column: str, limit: int) -> str:
    """Up to ``limit`` distinct values of ``column`` as sorted text (a picker's options)."""
    q = quote_ident(column)
    return (
        f"SELECT DISTINCT CAST({q} AS VARCHAR) AS v FROM {table_ref(table)} WHERE {q} IS NOT NULL "
        f"ORDER BY v LIMIT {int(limit)}"
    )


def distinct_counts_sql(table: str, columns: Sequence[tuple[str, bool]]) -> str:
    """Distinct values of each ``(column, as_date)``: as dates (days) or as text."""
    items = [
        f"count(DISTINCT CAST({quote_ident(c)} AS {'DATE' if as_date else 'VARCHAR'}))"
        for c, as_date in columns
    ]
    return f"SELECT {', '.join(items)} FROM {table_ref(table)}"


def arm_agreement_sql(table: str, variant: str, column: str) -> str:
    """Per arm: the value ``column`` takes on most of the arm's rows, those rows, and the
    arm's rows (whether ``column`` restates the arm)."""
    v, c = quote_ident(variant), quote_ident(column)
    return (
        "SELECT __ab_v, arg_max(__ab_c, __ab_rows), max(__ab_rows), sum(__ab_rows) FROM ("
        f"SELECT CAST({v} AS VARCHAR) AS __ab_v, CAST({c} AS VARCHAR) AS __ab_c, "
        f"count(*) AS __ab_rows FROM {table_ref(table)} WHERE {v} IS NOT NULL GROUP BY 1, 2"
        ") AS __ab_pairs GROUP BY 1 ORDER BY 1"
    )


def empty_days_sql(table: str, day: str, columns: Sequence[str], *, file_order: bool) -> str:
    """Per day (as text, in file order or by date): whether each of ``columns`` is empty on
    some row of that day."""
    d = quote_ident(day)
    items = [f"bool_or({quote_ident(c)} IS NULL)" for c in columns]
    order = "min(rowid)" if file_order else f"min({d})"
    return (
        f"SELECT CAST({d} AS VARCHAR), {', '.join(items)} FROM {table_ref(table)} "
        f"WHERE {d} IS NOT NULL GROUP BY 1 ORDER BY {order}"
    )
