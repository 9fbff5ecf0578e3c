"""The Results page's date window and row filters as data-preparation steps: pure helpers
behind the widgets of :mod:`ui.prep_inputs`, so they are tested without a page.

A widget hands back text and dates; these turn them into :class:`~abcore.model.PrepStep`
(or say why not). The values are checked against the column's type when the steps run
(:func:`abcore.ingest.prepare`), with a sentence naming the column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping as MappingType

from abcore import config
from abcore.model import Mapping, PrepStep

__all__ = ["OP_LABELS", "filter_step", "window_column", "window_label", "window_step"]

OP_LABELS = {
    "=": "=",
    "≠": "!=",
    "<": "<",
    "≤": "<=",
    ">": ">",
    "≥": ">=",
    "in list": "in",
    "is missing": "is_missing",
    "is not missing": "not_missing",
}
"""The operators a row filter offers (label: :data:`abcore.model.FILTER_OPS` name)."""


def window_column(mapping: Mapping, types: MappingType[str, str]) -> str | None:
    """The column a date window applies to: the mapping's timestamp when it holds dates or
    times (day labels without a year, or text, have no calendar to window); else None.

    >>> window_column(Mapping(variant="g", timestamp="ts"), {"ts": "TIMESTAMP"})
    'ts'
    >>> window_column(Mapping(variant="g", timestamp="day"), {"day": "VARCHAR"}) is None
    True
    """
    column = mapping.timestamp
    if not column or mapping.day_label or column not in types:
        return None
    family = types[column].upper()
    return column if family == "DATE" or family.startswith("TIMESTAMP") else None


def window_label(column: str, unit: str | None) -> str:
    """The checkbox of the date window: what it keeps, in the words of the step.

    >>> window_label("timestamp", "user_id")
    'Keep the units (user_id) first seen in a date window (by timestamp), with all their rows'
    """
    if unit:
        return (
            f"Keep the units ({unit}) first seen in a date window (by {column}), "
            "with all their rows"
        )
    return f"Keep the rows whose {column} falls in a date window"


def window_step(column: str, unit: str | None, first: dt.date, last: dt.date) -> PrepStep:
    """The date-window step for the days picked, both included.

    Raises:
        ValueError: the first day is after the last (a sentence says so).

    >>> window_step("ts", "user", dt.date(2017, 1, 2), dt.date(2017, 1, 8)).values
    ('2017-01-02', '2017-01-08')
    """
    return PrepStep("date_window", column, [first, last], unit=unit or None)


def filter_step(column: str, op_label: str, text: str) -> PrepStep | None:
    """The row-filter step for one row of widgets; None while it is incomplete (a value
    still to type). A list is typed with commas between its values.

    Raises:
        ValueError: more values than ``config.PREP_MAX_VALUES`` in a list.

    >>> filter_step("country", "in list", "DE, FR ,").values
    ('DE', 'FR')
    >>> filter_step("total ads", "≥", " ") is None
    True
    >>> filter_step("country", "is missing", "").sentence()
    "Kept the rows where 'country' is missing."
    """
    op = OP_LABELS[op_label]
    if op in ("is_missing", "not_missing"):
        return PrepStep("filter", column, [], op=op)
    if op == "in":
        values = [v.strip() for v in text.split(",") if v.strip()]
        if len(values) > config.PREP_MAX_VALUES:
            raise ValueError(
                f"The filter on '{column}' lists {len(values):,} values; at most "
                f"{config.PREP_MAX_VALUES} are kept by one filter."
            )
    else:
        values = [text.strip()] if text.strip() else []
    return PrepStep("filter", column, values, op=op) if values else None
