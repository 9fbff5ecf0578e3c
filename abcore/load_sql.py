"""The queries that load an upload: readers, views and the DDL that turns a file into a typed
table, as pure generators.

Split out of :mod:`abcore.sql` (the readout's statistics) by concern, with its rules:
identifiers quoted (:func:`abcore.sql.quote_ident`), nothing here touches a database.
A view cannot hold prepared parameters, so the readers of a file read in place carry their
arguments as escaped literals (:func:`sql_literal`); everything else binds parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from abcore._checks import check_scalar
from abcore.sql import quote_ident, table_ref

NA_TOKENS = ("", "na", "n/a", "nan", "null", "none", "-", "#n/a")
"""Text read as a missing value (after trimming and lower-casing)."""
TRUE_TOKENS = ("true", "t", "yes", "y")
BOOL_TOKENS = (*TRUE_TOKENS, "false", "f", "no", "n")
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


def sql_literal(value: Any) -> str:
    """A SQL literal for a read option (views cannot hold prepared parameters).

    >>> sql_literal({"it's": "VARCHAR", "b": True})
    "{'it''s': 'VARCHAR', 'b': true}"
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in value.items()) + "}"
        )
    return "'" + str(value).replace("'", "''") + "'"


def literal_list(tokens: Sequence[str]) -> str:
    """A list literal of strings: ``['a', 'b']``."""
    return "[" + ", ".join(sql_literal(str(tok)) for tok in tokens) + "]"


def reader_sql(path: str, *, parquet: bool, options: dict[str, Any]) -> str:
    """``read_parquet(...)`` / ``read_csv(...)`` over ``path`` with literal arguments."""
    if parquet:
        return f"read_parquet({sql_literal(str(path))})"
    args = [sql_literal(str(path))] + [f"{k} := {sql_literal(v)}" for k, v in options.items()]
    return f"read_csv({', '.join(args)})"


def numeric_text_sql(column: str, decimal_comma: bool) -> str:
    """A text column's values as numbers (NULL where they are not), ``1,5`` read as 1.5
    when the file uses decimal commas."""
    q = quote_ident(column)
    value = f"replace(trim({q}), ',', '.')" if decimal_comma else f"trim({q})"
    return f"TRY_CAST({value} AS DOUBLE)"


def typed_sql(column: str, target: str, decimal_comma: bool) -> str:
    """A text column converted to ``target`` ("BOOLEAN" or "DOUBLE"), NA tokens to NULL."""
    check_scalar(target, "target", in_=("BOOLEAN", "DOUBLE"))
    v = f"lower(trim({quote_ident(column)}))"
    if target == "BOOLEAN":
        value = f"list_contains({literal_list(TRUE_TOKENS)}, {v})"
    else:
        value = numeric_text_sql(column, decimal_comma)
    return f"CASE WHEN list_contains({literal_list(NA_TOKENS)}, {v}) THEN NULL ELSE {value} END"


def view_sql(
    reader: str,
    columns: Sequence[tuple[str, str]],
    plan: dict[str, str],
    renames: dict[str, str],
    *,
    decimal_comma: bool,
) -> str:
    """The SELECT of a view over a file: text columns converted as ``plan`` says, float NaN
    as NULL, names renamed; what loading into a table does, as expressions."""
    exprs = []
    for c, ty in columns:
        q = quote_ident(c)
        if c in plan:
            expr = typed_sql(c, plan[c], decimal_comma)
        elif ty in FLOAT_TYPES:
            expr = f"CASE WHEN isnan({q}) THEN NULL ELSE {q} END"
        else:
            expr = q
        exprs.append(f"{expr} AS {quote_ident(renames.get(c, c))}")
    return f"SELECT {', '.join(exprs)} FROM {reader}"


def token_counts_sql(
    source: str, columns: Sequence[str], *, numeric_text: bool, decimal_comma: bool
) -> str:
    """Rows, then per text column: values present, NA tokens, boolean tokens and numbers
    (four values per column). ``source`` is a table name or a parenthesised query."""
    na, booleans = literal_list(NA_TOKENS), literal_list(BOOL_TOKENS)
    items = ["count(*)"]
    for c in columns:
        q = quote_ident(c)
        v = f"lower(trim({q}))"
        items += [
            f"count({q})",
            f"count(*) FILTER (WHERE list_contains({na}, {v}))",
            f"count(*) FILTER (WHERE list_contains({booleans}, {v}))",
            f"count({numeric_text_sql(c, decimal_comma)})" if numeric_text else "0",
        ]
    return f"SELECT {', '.join(items)} FROM {source}"


def head_sql(table: str, limit: int) -> str:
    """The first ``limit`` rows of a table, as a source for another query."""
    return f"(SELECT * FROM {table_ref(table)} LIMIT {int(limit)}) AS __ab_head"


def nan_counts_sql(table: str, columns: Sequence[str]) -> str:
    """Per float column, the rows holding NaN."""
    items = [f"count(*) FILTER (WHERE isnan({quote_ident(c)}))" for c in columns]
    return f"SELECT {', '.join(items)} FROM {table_ref(table)}"


def nan_to_null_sql(table: str, column: str) -> str:
    """Replace NaN by NULL in a float column (NULL is what the statistics leave out)."""
    q = quote_ident(column)
    return f"UPDATE {table_ref(table)} SET {q} = NULL WHERE isnan({q})"


def alter_type_sql(table: str, column: str, target: str, decimal_comma: bool) -> str:
    """Convert a text column of ``table`` in place (see :func:`typed_sql`)."""
    q = quote_ident(column)
    return (
        f"ALTER TABLE {table_ref(table)} ALTER {q} SET DATA TYPE {target} USING "
        f"({typed_sql(column, target, decimal_comma)})"
    )


def rename_column_sql(table: str, old: str, new: str) -> str:
    return f"ALTER TABLE {table_ref(table)} RENAME {quote_ident(old)} TO {quote_ident(new)}"


def rename_table_sql(old: str, new: str) -> str:
    return f"ALTER TABLE {quote_ident(old)} RENAME TO {quote_ident(new)}"


def describe_sql(table: str) -> str:
    """Column names and types of a table or view."""
    return f"DESCRIBE {table_ref(table)}"


def count_rows_sql(table: str) -> str:
    return f"SELECT count(*) FROM {table_ref(table)}"


def create_table_as_sql(table: str, query: str, *, view: bool = False) -> str:
    """``CREATE TABLE`` (or ``VIEW``) ``table`` ``AS`` ``query``."""
    return f"CREATE {'VIEW' if view else 'TABLE'} {quote_ident(table)} AS {query}"


def copy_table_sql(table: str, source: str) -> str:
    """A new table ``table`` holding every row of ``source`` (a registered DataFrame)."""
    return create_table_as_sql(table, f"SELECT * FROM {quote_ident(source)}")


def read_parquet_sql(table: str, *, limit: int | None = None) -> str:
    """A new table from the Parquet file bound as ``$1`` (its first ``limit`` rows)."""
    rows = f" LIMIT {int(limit)}" if limit is not None else ""
    return create_table_as_sql(table, f"SELECT * FROM read_parquet($1){rows}")


def parquet_rows_sql() -> str:
    """Rows of the Parquet file bound as ``$1`` (read from its footer)."""
    return "SELECT count(*) FROM read_parquet($1)"


def read_csv_sql(
    table: str, path: str, options: dict[str, Any], *, limit: int | None = None
) -> tuple[str, list[Any]]:
    """A new table from the CSV file at ``path`` with DuckDB's ``read_csv`` options bound
    as parameters; options set to None are left to the sniffer."""
    args, params = ["$1"], [str(path)]
    for key, value in options.items():
        if value is None:
            continue
        params.append(value)
        args.append(f"{key} := ${len(params)}")
    rows = f" LIMIT {int(limit)}" if limit is not None else ""
    return (
        create_table_as_sql(table, f"SELECT * FROM read_csv({', '.join(args)}){rows}"),
        params,
    )


def sniff_csv_sql(*, gzip: bool) -> str:
    """DuckDB's sniffer on the file ``$1`` in encoding ``$2`` (delimiter first)."""
    return "SELECT * FROM sniff_csv($1, encoding := $2" + (
        ", compression := 'gzip')" if gzip else ")"
    )


def first_line_sql(*, delimiter: bool) -> str:
    """The first line of the CSV file ``$1`` (encoding ``$2``, delimiter ``$3`` when given),
    every field as text and no header: what the header looked like before the sniffer."""
    return (
        "SELECT * FROM read_csv($1, header := false, all_varchar := true, encoding := $2"
        + (", delim := $3" if delimiter else "")
        + ") LIMIT 1"
    )


def same_rows_sql(reader: str, table: str, limit: int = 1000) -> str:
    """Whether ``reader``'s first rows equal ``table``'s (a pinned reader reads as the
    sample did)."""
    return (
        f"SELECT count(*) = 0 FROM ((SELECT * FROM {reader} LIMIT {int(limit)}) "
        f"EXCEPT ALL (SELECT * FROM {table_ref(table)} LIMIT {int(limit)}))"
    )


def stack_sql(table: str, parts: Sequence[str], variant: str | None) -> str:
    """A new table of the ``parts`` stacked by column name; with ``variant`` each part's
    rows get its label (parameters ``$1``, ``$2``...) in that new column."""
    if variant is None:
        selects = [f"SELECT * FROM {quote_ident(t)}" for t in parts]
    else:
        selects = [
            f"SELECT ${i + 1} AS {quote_ident(variant)}, * FROM {quote_ident(t)}"
            for i, t in enumerate(parts)
        ]
    return create_table_as_sql(table, " UNION ALL BY NAME ".join(selects))
