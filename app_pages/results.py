"""Results: upload the experiment's data, confirm the columns, read the effects.

Thin page: ``abcore.ingest`` parses the file in this session's DuckDB connection and proposes
the column roles, ``abcore.analysis`` computes the effects; ``ui.results_state`` remembers
them per session, ``ui.results_view`` turns them into text, ``ui.results_inputs`` and
``ui.results_readout`` draw the sections. The current analysis is left in
``st.session_state["analysis"]`` for the Validity & decision page. "Run this in your
warehouse" shows ``abcore.warehouse``'s query for the current roles; its result, uploaded,
gives the same readout.
"""

from __future__ import annotations

import contextlib

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.errors import StreamlitAPIException

from abcore.analysis import Analysis
from abcore.errors import InputError
from abcore.plan import ExperimentPlan
from ui import experiment_state as es
from ui import experiments_state as ers
from ui import results_readout as readout
from ui import results_state as rs
from ui.binding_inputs import render_binding, render_split
from ui.decision_state import SHARED_KEY, SHARED_LABEL, shared_analysis
from ui.prep_inputs import apply_preparation
from ui.results_inputs import (
    CORRECTIONS,
    Settings,
    render_roles,
    render_settings,
    render_warehouse_query,
)
from ui.results_view import plan_roles, preparation_lines
from ui.state import get_plan, upload_limit_mb
from ui.text import md

P = rs.PREFIX


def _upload_touched() -> None:
    st.session_state[P + "upload_touched"] = True


def render_upload() -> tuple[rs.Selection, DeltaGenerator]:
    """The uploader and what was read; returns the dataset the page shows and a place under
    the data line for the preparation steps applied to it."""
    up_col, info_col = st.columns([1.3, 1], gap="large")
    with up_col:
        files = st.file_uploader(
            "Upload results (CSV, TSV, TXT, Parquet, or .gz)",
            type=["csv", "tsv", "txt", "parquet", "gz"],
            accept_multiple_files=True,
            key=P + "upload",
            on_change=_upload_touched,
            max_upload_size=upload_limit_mb(),
            help="One row per user; or per-arm totals (n, sums, sums of squares), optionally "
            "per day. Arms in separate files (e.g. control_data.csv + experiment_data.csv) "
            "are read together. Uploads are limited to "
            f"{upload_limit_mb():,} MB per session; for bigger data, compute per-arm "
            "or per-day totals (n, sums, sums of squares) where the data lives and upload "
            "those: 'Run this in your warehouse' below writes the query.",
        )
    # Streamlit empties the uploader when another page runs; only the user's own removal (x)
    # should bring back the demo.
    touched = st.session_state.pop(P + "upload_touched", False)
    if files:
        es.on_new_upload(" + ".join(str(getattr(f, "name", "upload")) for f in files))
        # The user's own data replaces results opened from a shared link.
        st.session_state.pop(SHARED_KEY, None)
    elif st.session_state.get(SHARED_KEY) is not None:  # a link's readout, until an upload
        with info_col:
            st.markdown(f"**Data:** {SHARED_LABEL}")
        return None, st.container()
    selection = rs.select_data(files, keep=not files and not touched, allow_demo=es.is_demo())
    if selection is None or selection.loaded is None:
        with info_col:
            st.markdown(f"**Experiment:** {md(get_plan().name)}")
            st.caption(
                "No data yet: upload this experiment's results (CSV, Parquet) with the uploader."
            )
        if selection is not None:
            st.error(md(selection.error), icon=":material/error:")
        return selection, st.container()
    loaded = selection.loaded
    if not loaded.is_demo:
        es.on_new_upload(loaded.label)  # the user's data: leaves the demo (no-op otherwise)
    with info_col:
        ds, output = loaded.dataset, loaded.output
        st.markdown(f"**Data:** {md(loaded.label)}")
        if output is not None:
            units = sum(output.aggregates.counts().values())
            st.caption(
                f"The warehouse query's result: {output.rows:,} rows of totals per arm, day "
                f"and segment, for {units:,} units. To switch experiments, remove this file "
                "first (×)."
            )
        elif ds is not None:
            st.caption(
                f"{ds.n_rows:,} rows, {len(ds.columns)} columns. "
                + (
                    "This is the bundled demo: upload a file to start your own experiment from it."
                    if loaded.is_demo
                    else "Several files are read together as one experiment; to switch "
                    "experiments, remove the current file first (×)."
                )
            )
        prepared_box = st.container()
    if selection.error:
        st.error(
            f"{md(selection.error)} No results are shown until the file can be read.",
            icon=":material/error:",
        )
    return selection, prepared_box


def render_inputs(
    plan: ExperimentPlan,
) -> tuple[Analysis | None, str, Settings | None, bool | None]:
    """Upload, roles, settings and the warehouse query; computes and publishes the analysis.

    Returns the analysis to show (the last good one when these inputs fail), the data it
    came from, the settings, and whether the split is the seeded one.
    """
    selection, prepared_box = render_upload()
    shared = shared_analysis(plan)
    if shared is not None:  # a results link is open and no file replaced it
        return readout.render_shared(shared.analysis, prepared_box)
    if selection is None or selection.loaded is None or selection.error:
        rs.unpublish()
        return None, "", None, None
    loaded = selection.loaded
    # the plan for this data (success metric, guardrails, questions) under the upload, where a
    # new user looks first; filled once the statistics are known
    bind_box = st.container()
    # Filled once the roles and settings are known; placed here, next to the upload.
    warehouse_box = st.expander(
        "Run this in your warehouse", icon=":material/database:", key=P + "warehouse_expander"
    )
    if loaded.output is None:  # a reopened experiment's file: its saved roles and steps
        detected = rs.with_plan_metrics(
            ers.saved_roles(loaded.key, loaded.detected), plan, loaded.dataset
        )
        ers.seed_preparation(loaded.key, loaded.widget_prefix)
    else:
        detected = loaded.detected
    mapping, error = render_roles(selection, detected, plan)
    prep_box = None
    if loaded.output is None:
        prep_box = st.expander(
            "Data preparation", icon=":material/filter_alt:", key=P + "prep_expander"
        )
    settings_box = st.expander("Test settings", icon=":material/tune:")
    aggregated = mapping is not None and mapping.is_aggregated
    with settings_box:
        settings = render_settings(
            plan,
            cap_disabled=loaded.output is not None or aggregated,
            segments=mapping.segments if mapping is not None else (),
        )
    capped = bool(settings.cap) and loaded.output is None and mapping is not None
    capped = capped and not aggregated
    computed, done, rows = None, (), None
    if mapping is not None:
        try:
            computed = rs.compute(loaded, mapping, settings.cap if capped else None)
        except (InputError, ValueError) as exc:
            error = str(exc)
        if prep_box is not None:
            computed, done, error, rows = apply_preparation(
                prep_box, loaded, mapping, computed, error, settings.cap if capped else None
            )
    with warehouse_box:
        render_warehouse_query(mapping, cap=settings.cap if capped else None, source=loaded.label)

    result = shares_default = None
    if computed is not None:
        if not loaded.is_demo:
            plan = es.bind(loaded.key, computed.aggregates, loaded.label)
            with bind_box:
                render_binding(plan, computed.aggregates)
        matched_plan = rs.plan_for(computed.aggregates, plan)
        with settings_box:
            shares, shares_default = render_split(loaded, computed, mapping, matched_plan)
        try:
            result = rs.analyse(
                computed,
                alpha=settings.alpha,
                correction=settings.correction,
                relative_method=settings.method,
                cuped=settings.cuped,
                strata=settings.strata,
                shares={a: s / 100 for a, s in shares.items()},
                plan=matched_plan,
                preparation=done,
            )
            rs.publish(result, loaded.label, rows)
        except (InputError, ValueError) as exc:
            error = str(exc)
    if error:
        st.error(md(error), icon=":material/error:")
        result = None  # never the numbers of earlier inputs: they are not this data's
        rs.unpublish()
    source = loaded.label
    with prepared_box:
        for line in preparation_lines(result.preparation if result is not None else ()):
            st.caption(f":material/filter_alt: {line}")
    return result, source, settings, shares_default


def render_readout(
    result: Analysis,
    *,
    source: str,
    plan: ExperimentPlan,
    settings: Settings,
    shares_default: bool | None,
) -> None:
    """Everything the analysis says, section by section."""
    roles = plan_roles(plan)
    readout.render_headline(
        result, source=source, roles=roles, plan=plan, shares_default=shares_default
    )
    readout.render_effects(
        result,
        roles=roles,
        cuped=settings.cuped,
        show_all=settings.show_all,
        correction_name=CORRECTIONS[result.correction].split(" (")[0],
    )
    readout.render_capping(result)
    readout.render_bayes(result, roles=roles)
    left, right = st.columns(2, gap="large")
    with left:
        readout.render_forest(result, roles=roles)
    with right:
        readout.render_lift(result, roles=roles)
    readout.render_units_and_segments(result, roles=roles)


def render_saved(result: Analysis, label: str, plan: ExperimentPlan) -> None:
    """A reopened saved experiment's latest readout, read from its saved cells (no file)."""
    st.info(
        f"Showing {md(label)}: its saved totals, no file needed.", icon=":material/inventory_2:"
    )
    opts = result.options
    settings = Settings(opts.alpha, opts.correction, opts.relative_method, False, 0.0, opts.cuped)
    render_readout(result, source=label, plan=plan, settings=settings, shares_default=None)


plan = get_plan()
st.title("Results")
st.caption(
    "Upload the experiment's data to see the effect of every metric in every arm, with "
    "confidence intervals and p-values corrected for testing many things at once (within "
    "the success, guardrail and exploratory families, as the decision does)."
)
result, source, settings, shares_default = render_inputs(plan)
# no st.stop on any path: app.py draws the sidebar (Save, the account) after the page
shown = True
if result is None and not source and (saved := ers.saved_readout()) is not None:
    render_saved(*saved, get_plan())  # a reopened experiment, read from its saved cells
elif result is None:
    shown = False
    if source:
        st.info("Fix the columns and roles above to see results.", icon=":material/arrow_upward:")
else:
    render_readout(
        result, source=source, plan=get_plan(), settings=settings, shares_default=shares_default
    )
    ers.snapshot_if_new(result)  # a saved experiment's readout, once per distinct data
if shown:
    with contextlib.suppress(StreamlitAPIException):  # the page run alone (tests): no router
        st.page_link(
            "app_pages/decision.py",
            label="Next: validity checks and the launch decision",
            icon=":material/arrow_forward:",
        )
