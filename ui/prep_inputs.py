"""The Results page's "Data preparation" section and the findings beside the roles.

Widgets only: which steps to offer comes from :func:`ui.results_view.suggested_steps`, the
date window and row filters are built by :mod:`ui.prep_view`, the steps run in
:func:`ui.results_state.prepare` (DuckDB, through :func:`abcore.ingest.prepare`). Nothing is
ticked or filled by default, so the readout is the file as uploaded until the user chooses.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from abcore import config, ingest
from abcore.errors import InputError
from abcore.model import Instrumentation, Mapping, PrepStep
from ui import prep_view as pv
from ui import results_state as rs
from ui.results_view import findings_captions, suggested_steps
from ui.state import seed
from ui.text import md

SPANS_KEY = "results_prep_spans"
"""Per upload and column, the first and last day of a date column (the window's default)."""
_EARLIEST, _LATEST = dt.date(1900, 1, 1), dt.date(2200, 12, 31)


def render_findings(detected: Mapping) -> None:
    """Captions in the roles area: columns not offered as segments (and why), empty days."""
    for sentence in findings_captions(detected):
        st.caption(f":material/info: {sentence}")


def render_preparation(
    loaded: rs.Loaded, mapping: Mapping, inst: Instrumentation | None
) -> tuple[tuple[PrepStep, ...], str | None]:
    """A checkbox per suggested step, then a date window and row filters; returns the
    chosen steps in the order shown, and the sentence of a step that cannot be built (a
    window that ends before it starts, too many values).

    ``inst`` holds the raw upload's unit counts (None when they could not be computed): the
    steps for units in two arms and repeated units are offered only when there are some.
    """
    offered = suggested_steps(
        mapping,
        inst.units_in_multiple_arms if inst is not None else None,
        inst.duplicate_unit_rows if inst is not None else None,
    )
    st.caption(
        "Steps applied to the rows before the statistics, in this order; each is listed "
        "under the data line with the rows it removed, and kept in the readout."
    )
    chosen = []
    for label, step in offered:
        key = f"{loaded.widget_prefix}prep::{step.kind}::{step.column or ''}"
        if st.checkbox(label, key=seed(key, False)):
            chosen.append(step)
    errors: list[str] = []
    window = _render_window(loaded, mapping, errors)
    if window is not None:
        chosen.append(window)
    chosen += _render_filters(loaded, errors)
    return tuple(chosen), (" ".join(errors) or None)


def _render_window(loaded: rs.Loaded, mapping: Mapping, errors: list[str]) -> PrepStep | None:
    """The date window, offered when the timestamp column holds dates: the units first
    seen in it (the unit column known) or the rows in it; defaults to the data's days."""
    column = pv.window_column(mapping, loaded.dataset.types)
    if column is None:
        return None
    first, last = _span(loaded, column)
    if first is None or last is None:
        return None
    unit = mapping.unit if not mapping.is_aggregated else None
    key = f"{loaded.widget_prefix}prep::date_window::{column}"
    if not st.checkbox(md(pv.window_label(column, unit)), key=seed(key, False)):
        return None
    left, right = st.columns(2)
    start = left.date_input(
        "From (included)",
        min_value=_EARLIEST,
        max_value=_LATEST,
        key=seed(key + "::from", first),
    )
    end = right.date_input(
        "To (included)", min_value=_EARLIEST, max_value=_LATEST, key=seed(key + "::to", last)
    )
    st.caption(f"The data's {md(column)} runs from {first} to {last}.")
    try:
        return pv.window_step(column, unit, start, end)
    except ValueError as exc:
        errors.append(f"Data preparation: {exc}")
        return None


def _render_filters(loaded: rs.Loaded, errors: list[str]) -> list[PrepStep]:
    """Up to ``config.PREP_MAX_FILTERS`` rows of column, operator and value(s), all of
    which a kept row meets; the next row appears once a column is picked in this one."""
    st.markdown("**Keep the rows where** (every filter holds)")
    names = loaded.dataset.names
    out = []
    for i in range(config.PREP_MAX_FILTERS):
        key = f"{loaded.widget_prefix}prep::filter::{i}"
        c1, c2, c3 = st.columns([2, 1, 2], vertical_alignment="bottom")
        column = c1.selectbox(
            "Column",
            names,
            index=None,
            placeholder="Pick a column to filter on",
            key=key + "::column",
            label_visibility="visible" if i == 0 else "collapsed",
        )
        if column is None:
            break
        op = c2.selectbox(
            "Operator",
            list(pv.OP_LABELS),
            key=key + "::op",
            label_visibility="visible" if i == 0 else "collapsed",
        )
        text = ""
        if pv.OP_LABELS[op] not in ("is_missing", "not_missing"):
            text = c3.text_input(
                "Values, separated by commas" if pv.OP_LABELS[op] == "in" else "Value",
                key=key + "::value",
                label_visibility="visible" if i == 0 else "collapsed",
                max_chars=config.TEXT_MAX_CHARS,
            )
        try:
            step = pv.filter_step(column, op, text)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        if step is not None:
            out.append(step)
    return out


def _span(loaded: rs.Loaded, column: str) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day of ``column`` in the upload, once per upload and column."""
    spans = st.session_state.setdefault(SPANS_KEY, {})
    key = (loaded.key, column)
    if key not in spans:
        try:
            spans[key] = ingest.date_span(rs.get_connection(), loaded.dataset, column)
        except InputError:
            spans[key] = (None, None)
    return spans[key]


def apply_preparation(
    box: DeltaGenerator,
    loaded: rs.Loaded,
    mapping: Mapping,
    computed: rs.Computed | None,
    error: str | None,
    cap: float | None,
) -> tuple[rs.Computed | None, tuple[PrepStep, ...], str | None, ingest.Dataset | None]:
    """The chosen preparation steps run on the upload, and its statistics computed again;
    returns the statistics, the steps with the rows each removed, the error sentence and the
    prepared rows (None when no step is chosen)."""
    with box:
        steps, problem = render_preparation(
            loaded, mapping, computed.instrumentation if computed else None
        )
    if problem:
        return None, (), problem, None
    if not steps:
        return computed, (), error, None
    try:
        prepared, done = rs.prepare(loaded, mapping, steps)
        return rs.compute(prepared, mapping, cap), done, None, prepared.dataset
    except (InputError, ValueError) as exc:
        return None, (), str(exc), None
