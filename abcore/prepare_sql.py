"""The queries of data preparation (:func:`abcore.ingest.prepare`), as pure generators.

Each returns a ``SELECT`` over one table that keeps the rows a step keeps, in the table's
order (file order matters: day labels without a year are ordered by their first row), and
the parameters it binds. Identifiers are quoted (:func:`abcore.sql.quote_ident`), values are
parameters, never spliced into the text.

>>> filter_sql("t", "country", ["DE", "FR"])
('SELECT * FROM "t" WHERE "country" IN ($1, $2) ORDER BY rowid', ['DE', 'FR'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from abcore.sql import quote_ident, table_ref

_COMPARE = {"=": "=", "!=": "IS DISTINCT FROM", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def filter_sql(
    table: str, column: str, values: Sequence[Any], op: str = "in"
) -> tuple[str, list[Any]]:
    """Rows where ``column`` ``op`` ``values`` (:data:`abcore.model.FILTER_OPS`).

    ``"!="`` keeps the rows where the column is missing (a missing value is not the one
    named), as pandas' ``!=`` does; every other comparison drops them, as SQL and pandas do.

    >>> filter_sql("t", "total ads", [10], ">=")
    ('SELECT * FROM "t" WHERE "total ads" >= $1 ORDER BY rowid', [10])
    """
    c = quote_ident(column)
    if op == "in":
        marks = ", ".join(f"${i + 1}" for i in range(len(values)))
        cond = f"{c} IN ({marks})"
    elif op in ("is_missing", "not_missing"):
        cond, values = f"{c} IS {'' if op == 'is_missing' else 'NOT '}NULL", []
    elif op in _COMPARE:
        cond, values = f"{c} {_COMPARE[op]} $1", list(values[:1])
    else:
        raise ValueError(f"op must be one of in, {', '.join(_COMPARE)}, is_missing, not_missing.")
    return f"SELECT * FROM {table_ref(table)} WHERE {cond} ORDER BY rowid", list(values)


def date_window_sql(
    table: str, column: str, first: str | None, last: str | None, unit: str | None = None
) -> tuple[str, list[Any]]:
    """Rows whose ``column`` falls on a day from ``first`` to ``last`` (both included; None
    leaves that end open); with ``unit``, every row of the units whose earliest ``column``
    does (a row without a unit is its own unit). Rows without a date are dropped: nothing
    places them in the window."""
    c = quote_ident(column)
    if unit is None:
        day = f"CAST({c} AS DATE)"
    else:
        u = quote_ident(unit)
        day = (
            f"CAST(min({c}) OVER (PARTITION BY {u}, CASE WHEN {u} IS NULL THEN rowid END) AS DATE)"
        )
    conds, params = [], []
    for bound, op in ((first, ">="), (last, "<=")):
        if bound is not None:
            params.append(bound)
            conds.append(f"{day} {op} CAST(${len(params)} AS DATE)")
    where = "QUALIFY" if unit is not None else "WHERE"
    sql = f"SELECT * FROM {table_ref(table)} {where} {' AND '.join(conds)} ORDER BY rowid"
    return sql, params


def date_span_sql(table: str, column: str) -> str:
    """The first and last day of ``column`` (a date or timestamp)."""
    day = f"CAST({quote_ident(column)} AS DATE)"
    return f"SELECT min({day}), max({day}) FROM {table_ref(table)}"


def distinct_count_sql(table: str, column: str) -> str:
    """How many different non-missing values ``column`` holds."""
    return f"SELECT count(DISTINCT {quote_ident(column)}) FROM {table_ref(table)}"


def duplicate_rows_sql(table: str, columns: Sequence[str]) -> tuple[str, list[Any]]:
    """One row of each set of rows equal in every column (NULLs equal), the first kept."""
    keys = ", ".join(quote_ident(c) for c in columns)
    sql = (
        f"SELECT * FROM {table_ref(table)} "
        f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY rowid) = 1 ORDER BY rowid"
    )
    return sql, []


def mixed_units_sql(table: str, unit: str, variant: str) -> tuple[str, list[Any]]:
    """Rows of the units never seen in more than one arm (rows without a unit are kept)."""
    u, v = quote_ident(unit), quote_ident(variant)
    sql = (
        f"SELECT * FROM {table_ref(table)} WHERE {u} IS NULL OR {u} NOT IN ("
        f"SELECT {u} FROM {table_ref(table)} WHERE {u} IS NOT NULL GROUP BY {u} "
        f"HAVING count(DISTINCT {v}) > 1) ORDER BY rowid"
    )
    return sql, []


def mixed_unit_count_sql(table: str, unit: str, variant: str) -> str:
    """How many units are seen in more than one arm."""
    u, v = quote_ident(unit), quote_ident(variant)
    return (
        f"SELECT count(*) FROM (SELECT {u} FROM {table_ref(table)} WHERE {u} IS NOT NULL "
        f"GROUP BY {u} HAVING count(DISTINCT {v}) > 1)"
    )


def repeat_units_sql(table: str, unit: str, timestamp: str | None) -> tuple[str, list[Any]]:
    """Each unit's first row: the earliest by ``timestamp`` when given, then in file order
    (rows without a unit are kept)."""
    u = quote_ident(unit)
    order = f"{quote_ident(timestamp)} NULLS LAST, rowid" if timestamp else "rowid"
    sql = (
        f"SELECT * FROM {table_ref(table)} QUALIFY {u} IS NULL OR "
        f"row_number() OVER (PARTITION BY {u} ORDER BY {order}) = 1 ORDER BY rowid"
    )
    return sql, []


def arm_mismatch_sql(table: str, column: str, variant: str) -> tuple[str, list[Any]]:
    """Rows whose ``column`` holds the value it takes on most of their arm's rows (rows
    without an arm or a value are kept)."""
    c, v, t = quote_ident(column), quote_ident(variant), table_ref(table)
    modes = (
        f"SELECT {v} AS __ab_arm, arg_max({c}, __ab_rows) AS __ab_mode FROM (SELECT {v}, {c}, "
        f"count(*) AS __ab_rows FROM {t} WHERE {c} IS NOT NULL GROUP BY ALL) GROUP BY 1"
    )
    sql = (
        f"SELECT {t}.* FROM {t} LEFT JOIN ({modes}) AS __ab_modes "
        f"ON {t}.{v} = __ab_modes.__ab_arm "
        f"WHERE {t}.{c} IS NULL OR {t}.{v} IS NULL OR {t}.{c} = __ab_modes.__ab_mode "
        f"ORDER BY {t}.rowid"
    )
    return sql, []


def long_form_sql(
    table: str,
    keys: Sequence[str],
    arms: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    *,
    variant: str,
    treatment_id: str | None = None,
) -> str:
    """One row per arm from a file with every arm on one row.

    ``arms`` is ``[(label, [(source column, output column), ...]), ...]``, the control
    first; ``keys`` are carried over as they are. With ``treatment_id`` (a column naming
    the treatment variant of each row, the control's numbers repeated on each), the
    treatment's label is that column's value, and the control's numbers are taken once per
    key, from the row of the lowest ``treatment_id``.
    """
    t = table_ref(table)
    keys_q = [quote_ident(k) for k in keys]
    v = quote_ident(variant)
    parts = []
    for i, (label, pairs) in enumerate(arms):
        label_sql = "'" + label.replace("'", "''") + "'"
        if i == 0 and treatment_id is not None:
            others = [k for k in keys if k != treatment_id]
            tid = quote_ident(treatment_id)
            group = [quote_ident(k) for k in others]
            stats = [f"arg_min({quote_ident(s)}, {tid}) AS {quote_ident(o)}" for s, o in pairs]
            select = [*group, f"NULL AS {tid}", f"{label_sql} AS {v}", *stats]
            tail = f" GROUP BY {', '.join(group)}" if group else ""
            parts.append(f"SELECT {', '.join(select)} FROM {t}{tail}")
            continue
        if treatment_id is not None:
            label_sql = f"CAST({quote_ident(treatment_id)} AS VARCHAR)"
        stats = [f"{quote_ident(s)} AS {quote_ident(o)}" for s, o in pairs]
        parts.append(f"SELECT {', '.join([*keys_q, f'{label_sql} AS {v}', *stats])} FROM {t}")
    return " UNION ALL BY NAME ".join(parts)


def last_time_sql(table: str, keys: Sequence[str], time: str) -> str:
    """The rows at the last ``time`` of each combination of ``keys`` (cumulative snapshots:
    the last one holds the whole test)."""
    group = ", ".join(quote_ident(k) for k in keys)
    partition = f"PARTITION BY {group} " if keys else ""
    return (
        f"SELECT * FROM {table_ref(table)} QUALIFY {quote_ident(time)} = "
        f"max({quote_ident(time)}) OVER ({partition.strip()})"
    )


def cumulative_sql(table: str, keys: Sequence[str], time: str, count: str) -> str:
    """Whether ``count`` never falls and sometimes grows along ``time`` within each
    combination of ``keys`` (cumulative snapshots rather than increments), and the number
    of distinct values of ``time``."""
    group = ", ".join(quote_ident(k) for k in keys)
    partition = f"PARTITION BY {group} " if keys else ""
    c, tm = quote_ident(count), quote_ident(time)
    steps = "FILTER (WHERE __ab_prev IS NOT NULL)"
    return (
        f"SELECT coalesce(bool_and({c} >= __ab_prev) {steps}, false), "
        f"coalesce(bool_or({c} > __ab_prev) {steps}, false), count(DISTINCT {tm}) "
        f"FROM (SELECT {c}, {tm}, lag({c}) OVER ({partition}ORDER BY {tm}) AS __ab_prev "
        f"FROM {table_ref(table)}) AS __ab_steps"
    )
