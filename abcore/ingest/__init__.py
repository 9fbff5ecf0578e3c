"""Ingestion: DuckDB reads an upload once, proposes column roles, computes sufficient stats.

The data never leaves DuckDB: only per-arm aggregates (counts, sums, sums of squares and
cross-products, per day and per segment) come back as a small pandas frame, from SQL that
:mod:`abcore.sql` generates from the column :class:`~abcore.model.Mapping`. Each browser
session owns its own connection (:func:`connect`) and each upload gets a table named with a
fresh uuid, so two sessions never see each other's data.

Typical use::

    con = connect()
    ds = load(con, "results.csv")          # a path, bytes, a DataFrame or a list of files
    mapping = detect_schema(con, ds)       # the user confirms or edits it
    ds, steps = prepare(con, ds, [PrepStep("mixed_units", "user_id")], mapping=mapping)
    agg = compute_stats(con, ds, mapping)  # per arm, per day, per segment
    control, treatment = agg.stat("converted", agg.control), agg.stat("converted", "b")

Bad input raises :class:`abcore.InputError` whose message says what is wrong and how to fix
it. Text dates without a year ("Sat, Oct 11", as in the Udacity free-trial files) are kept as
text and used as day labels in file order; guessing a year would invent dates and break
weekday checks.

The package follows the steps: :mod:`~abcore.ingest.load` (files into DuckDB),
:mod:`~abcore.ingest.detect` (roles), :mod:`~abcore.ingest.compute` (sufficient statistics),
:mod:`~abcore.ingest.instrument` (instrumentation counts); the SQL they run comes from
:mod:`abcore.sql`.
"""

from __future__ import annotations

from abcore.ingest._base import Dataset, connect
from abcore.ingest.compute import compute_stats, units_repeat
from abcore.ingest.detect import detect_schema, unit_repeats
from abcore.ingest.instrument import instrumentation_stats
from abcore.ingest.prepare import date_span, filter_values, prepare, steps_from_where
from abcore.ingest.shapes import load, long_form
from abcore.model import Aggregates as Aggregates

# Aggregates is defined in abcore.model (import it from there); ``ingest.Aggregates`` stays
# only while the UI's annotations still spell it so.
__all__ = [
    "Dataset",
    "compute_stats",
    "connect",
    "date_span",
    "detect_schema",
    "filter_values",
    "instrumentation_stats",
    "load",
    "long_form",
    "prepare",
    "steps_from_where",
    "unit_repeats",
    "units_repeat",
]
