"""Instrumentation counts: units in two arms, duplicate rows, missing and impossible values."""

from __future__ import annotations

from typing import Any

import duckdb

from abcore.ingest._base import Dataset
from abcore.ingest._run import _run_data, _with_table
from abcore.ingest.compute import _checks_key, _validated
from abcore.model import (
    Instrumentation,
    Mapping,
    stat_column,
)
from abcore.sql import (
    unit_checks_sql,
    value_checks_sql,
)


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
