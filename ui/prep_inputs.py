"""The Results page's "Data preparation" section and the findings beside the roles.

Widgets only: which steps to offer comes from :func:`ui.results_view.suggested_steps`, the
steps run in :func:`ui.results_state.prepare` (DuckDB, through :func:`abcore.ingest.prepare`).
Nothing is ticked by default, so the readout is the file as uploaded until the user chooses.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from abcore.errors import InputError
from abcore.ingest import Dataset
from abcore.model import Instrumentation, Mapping, PrepStep
from ui import results_state as rs
from ui.results_view import findings_captions, suggested_steps
from ui.state import seed


def render_findings(detected: Mapping) -> None:
    """Captions in the roles area: columns not offered as segments (and why), empty days."""
    for sentence in findings_captions(detected):
        st.caption(f":material/info: {sentence}")


def render_preparation(
    loaded: rs.Loaded, mapping: Mapping, inst: Instrumentation | None
) -> tuple[PrepStep, ...]:
    """A checkbox per suggested step; returns the ticked steps, in the order shown.

    ``inst`` holds the raw upload's unit counts (None when they could not be computed): the
    steps for units in two arms and repeated units are offered only when there are some.
    """
    offered = suggested_steps(
        mapping,
        inst.units_in_multiple_arms if inst is not None else None,
        inst.duplicate_unit_rows if inst is not None else None,
    )
    if not offered:
        st.caption("Nothing to prepare in this file.")
        return ()
    st.caption(
        "Steps applied to the rows before the statistics, in this order; each is listed "
        "under the data line with the rows it removed, and kept in the readout."
    )
    chosen = []
    for label, step in offered:
        key = f"{loaded.widget_prefix}prep::{step.kind}::{step.column or ''}"
        if st.checkbox(label, key=seed(key, False)):
            chosen.append(step)
    return tuple(chosen)


def apply_preparation(
    box: DeltaGenerator,
    loaded: rs.Loaded,
    mapping: Mapping,
    computed: rs.Computed | None,
    error: str | None,
    cap: float | None,
) -> tuple[rs.Computed | None, tuple[PrepStep, ...], str | None, Dataset | None]:
    """The ticked preparation steps run on the upload, and its statistics computed again;
    returns the statistics, the steps with the rows each removed, the error sentence and the
    prepared rows (None when no step is ticked)."""
    with box:
        steps = render_preparation(loaded, mapping, computed.instrumentation if computed else None)
    if not steps:
        return computed, (), error, None
    try:
        prepared, done = rs.prepare(loaded, mapping, steps)
        return rs.compute(prepared, mapping, cap), done, None, prepared.dataset
    except (InputError, ValueError) as exc:
        return None, (), str(exc), None
