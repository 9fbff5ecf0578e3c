"""An ordered funnel from an event log, computed in DuckDB.

The log has one row per event: a unit id, an event name and a timestamp. A unit *enters* the
funnel at its first event of the first stage, and *reaches* stage ``k`` when it has an event
of stage ``k`` no earlier than the event that took it to stage ``k - 1`` and no later than
``window`` after it entered. Units that do the stages out of order, or too late, stop at the
last stage they reached in order. Taking the earliest qualifying event at each stage is
optimal (it leaves the most room for the next stage), so the greedy chain below counts
exactly the units for which an ordered path exists.

:func:`ordered_funnel_sql` (at the end of this module, with the other funnel query) is a
pure generator (identifiers quoted, stage names and the window passed
as parameters, never spliced into the text), so the same query can run where the data lives.
:func:`load_event_log` and :func:`ordered_funnel` run it on a DuckDB connection the caller
owns (one per browser session).

>>> sql, params = ordered_funnel_sql("log", unit="uid", event="ev", timestamp="ts",
...                                  stages=["visit", "buy"], window_days=7)
>>> '"uid"' in sql, params
(True, ['visit', 'buy', 604800.0])
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from abcore import config, ingest
from abcore._checks import check_scalar
from abcore.errors import InputError
from abcore.funnel import Funnel
from abcore.load_sql import rename_table_sql
from abcore.sql import drop_sql, normalize_name, quote_ident, table_ref

__all__ = [
    "EventLog",
    "LogFunnel",
    "event_summary",
    "load_event_log",
    "ordered_funnel",
    "ordered_funnel_sql",
    "propose_columns",
    "propose_stages",
]

TABLE = "funnel_events"
"""Name of the log's table in the session's own connection (other sessions never see it)."""
_ROLE_NAMES: Mapping[str, tuple[str, ...]] = {
    "unit": (
        "user_id",
        "userid",
        "user",
        "unit_id",
        "unit",
        "visitor_id",
        "customer_id",
        "client_id",
        "account_id",
        "session_id",
        "anonymous_id",
        "device_id",
        "uid",
        "id",
    ),
    "event": ("event", "event_name", "event_type", "action", "step", "stage", "name", "type"),
    "timestamp": (
        "timestamp",
        "ts",
        "event_time",
        "event_timestamp",
        "time",
        "datetime",
        "created_at",
        "occurred_at",
        "date",
    ),
}
_TIME_TYPES = ("TIMESTAMP", "DATE", "TIME")
_NUMBER_TYPES = ("INT", "BIGINT", "DOUBLE", "FLOAT", "DECIMAL", "HUGEINT", "REAL", "SMALLINT")


@dataclass(frozen=True)
class EventLog:
    """A log loaded into a connection: its table, columns (name to DuckDB type) and rows."""

    table: str
    columns: Mapping[str, str]
    rows: int
    name: str = ""


@dataclass(frozen=True)
class LogFunnel:
    """The ordered funnel of a log and what it left out.

    ``any_order`` counts, per stage, the units that entered the funnel and have that event at
    all (any time, any order), so ``any_order[k] - funnel.users[k]`` are the units lost to
    the order or the window. ``reversed_share`` is, per adjacent pair of stages, the share of
    units with both events whose first event of the later stage comes first.
    """

    funnel: Funnel
    any_order: tuple[int, ...]
    reversed_share: tuple[float, ...]
    bad_timestamps: int
    window_days: float
    warnings: tuple[str, ...] = field(default=())


def _is_type(type_name: str, kinds: Sequence[str]) -> bool:
    upper = type_name.upper()
    return any(upper.startswith(k) for k in kinds)


def propose_columns(columns: Mapping[str, str]) -> dict[str, str | None]:
    """Guess the unit id, event and timestamp columns from names (and types for time).

    >>> propose_columns({"Visitor ID": "VARCHAR", "Action": "VARCHAR", "At": "TIMESTAMP"})
    {'unit': 'Visitor ID', 'event': 'Action', 'timestamp': 'At'}
    """
    normalized = {normalize_name(c): c for c in columns}
    out: dict[str, str | None] = {}
    taken: set[str] = set()
    for role in ("timestamp", "unit", "event"):
        pick = next(
            (
                normalized[n]
                for n in _ROLE_NAMES[role]
                if n in normalized and normalized[n] not in taken
            ),
            None,
        )
        if pick is None and role == "timestamp":
            pick = next((c for c, t in columns.items() if _is_type(t, _TIME_TYPES)), None)
        if pick is None:
            pick = next(
                (c for c in columns if c not in taken and not _is_type(columns[c], _TIME_TYPES)),
                None,
            )
        out[role] = pick
        if pick is not None:
            taken.add(pick)
    return {role: out[role] for role in ("unit", "event", "timestamp")}


def load_event_log(
    con: duckdb.DuckDBPyConnection,
    source: str | Path | bytes | pd.DataFrame,
    *,
    name: str = "",
) -> EventLog:
    """Load a CSV/TSV/Parquet log (a path, the bytes of an upload, or a DataFrame).

    The file is read as the Results page reads an experiment (:func:`abcore.ingest.load`:
    delimiter, encoding and BOM detection, Excel or binary files refused with a sentence),
    into a table of ``con`` alone that replaces the session's previous log. Unreadable or
    empty files raise :class:`InputError` with a sentence saying what to do.
    """
    label = name or (Path(source).name if isinstance(source, str | Path) else "upload")
    if isinstance(source, str | Path) and not Path(source).is_file():
        raise InputError(f"There is no file at {source}.")
    if isinstance(source, bytes | bytearray) and not source:
        raise InputError(f"{label} is empty: upload a file with one row per event.")
    dataset = ingest.load(con, source, name=label)
    columns = dict(dataset.columns)
    if len(columns) < 3:
        con.execute(drop_sql(dataset.table))
        raise InputError(
            f"{label} has {len(columns)} columns ({', '.join(columns)}); an event log needs "
            "three: a unit id, an event name and a timestamp. If it is a TSV or uses ';', "
            "check the separator."
        )
    con.execute(drop_sql(TABLE))
    con.execute(rename_table_sql(dataset.table, TABLE))
    return EventLog(TABLE, columns, dataset.n_rows, label)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"\s+", " ", text)[:160]


def _check_mapping(log: EventLog, unit: str, event: str, timestamp: str) -> None:
    chosen = {"unit id": unit, "event": event, "timestamp": timestamp}
    for role, column in chosen.items():
        if column not in log.columns:
            raise InputError(
                f"The log has no column {column!r} for the {role}. Its columns are: "
                f"{', '.join(log.columns)}. Pick the {role} column from these."
            )
    if len(set(chosen.values())) < 3:
        raise InputError(
            "The unit id, event and timestamp must be three different columns: "
            "pick one column for each."
        )


def event_summary(
    con: duckdb.DuckDBPyConnection, log: EventLog, *, unit: str, event: str, limit: int = 50
) -> pd.DataFrame:
    """The most common events: ``event``, ``units`` (distinct), ``rows``; most units first."""
    _check_columns(log, unit, event)
    rows = con.execute(event_summary_sql(log.table, unit, event), [int(limit)]).fetchall()
    return pd.DataFrame(rows, columns=["event", "units", "rows"])


def _check_columns(log: EventLog, *columns: str) -> None:
    for column in columns:
        if column not in log.columns:
            raise InputError(
                f"The log has no column {column!r}. Its columns are: {', '.join(log.columns)}."
            )


def propose_stages(summary: pd.DataFrame, most: int = 8) -> list[str]:
    """Stages in funnel order as a first guess: events reached by most units come first.

    >>> propose_stages(pd.DataFrame({"event": ["buy", "visit"], "units": [10, 90]}))
    ['visit', 'buy']
    """
    ranked = summary.sort_values("units", ascending=False, kind="stable")
    return [str(e) for e in ranked["event"].head(most)]


def ordered_funnel(
    con: duckdb.DuckDBPyConnection,
    log: EventLog,
    *,
    unit: str,
    event: str,
    timestamp: str,
    stages: Sequence[str],
    window_days: float = config.FUNNEL_WINDOW_DAYS,
    funnel_unit: str = "user",
) -> LogFunnel:
    """Run :func:`ordered_funnel_sql` and turn the counts into a :class:`Funnel`.

    Raises :class:`InputError` (a sentence saying how to fix it) for a missing or repeated
    column, fewer than two stages, repeated stages, timestamps that do not read as times, or
    a first stage that no unit has. Stages that look swapped, and stages that units reach
    only out of order or after the window, become ``warnings``.
    """
    _check_mapping(log, unit, event, timestamp)
    names = [str(s) for s in stages]
    if len(names) < 2:
        raise InputError("Pick at least two stages, in the order users go through them.")
    if len(set(names)) != len(names):
        raise InputError("Each stage can appear only once: remove the repeated stage.")
    check_scalar(window_days, "window_days", gt=0)
    sql, params = ordered_funnel_sql(
        log.table,
        unit=unit,
        event=event,
        timestamp=timestamp,
        stages=names,
        window_days=window_days,
        timestamp_type=log.columns[timestamp],
    )
    try:
        cursor = con.execute(sql, params)
        values = dict(zip([d[0] for d in cursor.description], cursor.fetchall()[0], strict=True))
    except duckdb.Error as exc:
        raise InputError(
            f"The funnel could not be computed from these columns ({_first_line(exc)}). "
            "Check that the timestamp column holds dates and times."
        ) from exc
    k = len(names)
    reached = [int(values[f"reached_{i}"]) for i in range(1, k + 1)]
    any_order = tuple(int(values[f"any_{i}"]) for i in range(1, k + 1))
    reversed_share = tuple(
        math.nan if values[f"reversed_{i}"] is None else float(values[f"reversed_{i}"])
        for i in range(1, k)
    )
    bad, rows = int(values["bad_timestamps"]), int(values["rows"])
    if rows and bad == rows:
        raise InputError(
            f"None of the values in {timestamp!r} reads as a date and time "
            "(like 2026-03-02 14:05:00): pick the timestamp column."
        )
    if reached[0] == 0:
        raise InputError(
            f"No unit has the event {names[0]!r}, the first stage, with a readable time: "
            "pick the event where the funnel starts as the first stage."
        )
    funnel = Funnel.from_counts(
        names, reached, unit=funnel_unit, source=f"event log {log.name}".strip()
    )
    warnings = _warnings(names, reached, any_order, reversed_share, bad, window_days)
    return LogFunnel(funnel, any_order, reversed_share, bad, float(window_days), tuple(warnings))


def _warnings(
    names: Sequence[str],
    reached: Sequence[int],
    any_order: Sequence[int],
    reversed_share: Sequence[float],
    bad: int,
    window_days: float,
) -> list[str]:
    out = []
    for i, share in enumerate(reversed_share):
        if not math.isnan(share) and share > 0.5:
            out.append(
                f"{share:.0%} of the units with both events do {names[i + 1]!r} before "
                f"{names[i]!r}: are the stages in the right order? Reorder them in the list."
            )
    looks_reversed = bool(out)
    for i in range(1, len(names)):
        if not looks_reversed and reached[i] == 0 and any_order[i] > 0:
            out.append(
                f"{any_order[i]:,} units have {names[i]!r} but none reaches it in order within "
                f"{window_days:g} days: check the order of the stages or widen the window."
            )
    if bad:
        out.append(
            f"{bad:,} events have a timestamp that does not read as a time; they are left out."
        )
    return out


# --------------------------------------------------------------------------------------------
# The queries (pure generators, as in abcore.sql: identifiers quoted, values as parameters)
# --------------------------------------------------------------------------------------------


_NUMBER_TYPES = ("INT", "BIGINT", "DOUBLE", "FLOAT", "DECIMAL", "HUGEINT", "REAL", "SMALLINT")


def _time_expr(column: str, type_name: str) -> str:
    """A timestamp from a column of any type: numbers as Unix seconds, text tried."""
    q = quote_ident(column)
    if type_name.upper().startswith(_NUMBER_TYPES):
        return f"to_timestamp(CAST({q} AS DOUBLE))"
    if type_name.upper().startswith("TIMESTAMP WITH TIME ZONE"):
        return f"CAST({q} AS TIMESTAMPTZ)"
    return f"TRY_CAST({q} AS TIMESTAMP)"


def ordered_funnel_sql(
    table: str,
    *,
    unit: str,
    event: str,
    timestamp: str,
    stages: Sequence[str],
    window_days: float = config.FUNNEL_WINDOW_DAYS,
    timestamp_type: str = "TIMESTAMP",
) -> tuple[str, list[Any]]:
    """SQL and parameters for the ordered funnel of ``stages`` within ``window_days``.

    The result is one row with ``reached_1 .. reached_k`` (units reaching each stage in
    order within the window), ``any_1 .. any_k`` (entrants with the event at all),
    ``reversed_1 .. reversed_{k-1}`` (share of units with both events of a pair whose later
    stage came first; NULL when none has both), ``bad_timestamps`` (rows of these events
    whose timestamp does not read as a time) and ``rows``.

    ``timestamp_type`` is the column's DuckDB type: numbers are read as Unix seconds, text
    is cast with ``TRY_CAST`` (unreadable values are counted, not fatal).
    """
    names = [str(s) for s in stages]
    if len(names) < 2:
        raise ValueError("stages must name at least two stages, in funnel order.")
    if len(set(names)) != len(names):
        raise ValueError("stages must be distinct: a stage can appear only once in the funnel.")
    check_scalar(window_days, "window_days", gt=0)
    k = len(names)
    u, e = quote_ident(unit), quote_ident(event)
    t = _time_expr(timestamp, timestamp_type)
    stage_params = ", ".join(f"${i + 1}" for i in range(k))
    window = f"to_seconds(CAST(${k + 1} AS DOUBLE))"
    ctes = [
        f"ev_raw AS (SELECT CAST({u} AS VARCHAR) AS u, CAST({e} AS VARCHAR) AS e, {t} AS t "
        f"FROM {quote_ident(table)} WHERE {u} IS NOT NULL AND CAST({e} AS VARCHAR) IN "
        f"({stage_params}))",
        "ev AS (SELECT u, e, t FROM ev_raw WHERE t IS NOT NULL)",
        "s1 AS (SELECT u, min(t) AS t, min(t) AS t0 FROM ev WHERE e = $1 GROUP BY u)",
    ]
    for i in range(2, k + 1):
        ctes.append(
            f"s{i} AS (SELECT p.u, min(x.t) AS t, p.t0 FROM s{i - 1} AS p JOIN ev AS x "
            f"ON x.u = p.u AND x.e = ${i} AND x.t >= p.t AND x.t <= p.t0 + {window} "
            "GROUP BY p.u, p.t0)"
        )
    ctes.append(
        "firsts AS (SELECT u, e, min(t) AS t FROM ev WHERE u IN (SELECT u FROM s1) GROUP BY u, e)"
    )
    cols = [f"(SELECT count(*) FROM s{i}) AS reached_{i}" for i in range(1, k + 1)]
    cols += [f"(SELECT count(*) FROM firsts WHERE e = ${i}) AS any_{i}" for i in range(1, k + 1)]
    cols += [
        f"(SELECT avg(CASE WHEN b.t < a.t THEN 1.0 ELSE 0.0 END) FROM firsts AS a "
        f"JOIN firsts AS b ON a.u = b.u AND a.e = ${i} AND b.e = ${i + 1}) AS reversed_{i}"
        for i in range(1, k)
    ]
    cols += [
        "(SELECT count(*) FROM ev_raw WHERE t IS NULL) AS bad_timestamps",
        "(SELECT count(*) FROM ev_raw) AS rows",
    ]
    sql = "WITH " + ",\n".join(ctes) + "\nSELECT " + ",\n  ".join(cols)
    return sql, [*names, float(window_days) * 86_400.0]


def event_summary_sql(table: str, unit: str, event: str) -> str:
    """The most common events (``$1`` of them): event, distinct units, rows."""
    e = quote_ident(event)
    return (
        f"SELECT CAST({e} AS VARCHAR) AS event, count(DISTINCT {quote_ident(unit)}) AS units, "
        f"count(*) AS rows FROM {table_ref(table)} WHERE {e} IS NOT NULL "
        "GROUP BY 1 ORDER BY units DESC, rows DESC, event LIMIT $1"
    )
