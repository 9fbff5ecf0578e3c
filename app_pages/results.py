"""Results: upload the experiment's data, confirm the columns, read the effects.

Thin page: ``abcore.ingest`` parses the file in this session's DuckDB connection and proposes
the column roles, ``abcore.analysis`` computes the effects; ``ui.results_state`` remembers
them per session and formats the numbers. The current analysis is left in
``st.session_state["analysis"]`` for the Validity & decision page. "Run this in your
warehouse" shows ``abcore.warehouse``'s query for the current roles; its result, uploaded,
gives the same readout.
"""

from __future__ import annotations

import contextlib
import dataclasses

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from abcore import charts, config, warehouse
from abcore.errors import InputError
from abcore.report import effects_csv
from abcore.sql import SHAPES, Mapping, MetricMapping
from ui import results_state as rs
from ui.decision_state import SHARED_KEY
from ui.results_state import pick
from ui.state import editor_seed, get_plan, seed, upload_limit_mb

P = rs.PREFIX


def _upload_touched() -> None:
    st.session_state[P + "upload_touched"] = True


SHAPE_LABELS = {
    "unit": "A row per user",
    "aggregated": "Totals per arm",
    "daily": "Totals per arm and day",
}
CORRECTIONS = {
    "holm": "Holm (default)",
    "bh": "Benjamini-Hochberg (false discovery rate)",
    "bonferroni": "Bonferroni (strictest)",
    "none": "None",
}
METHODS = {
    "fieller": "Fieller (default, exact)",
    "log": "Log ratio",
    "delta": "Delta method",
}
CAPS = {0.0: "Off", 0.99: "At the 99th percentile", 0.999: "At the 99.9th percentile"}
KIND_HELP = (
    "binary: yes/no per user (a conversion); continuous: any number per user (revenue, load time)."
)
PAIR_KIND_HELP = (
    "ratio: sum of numerator / sum of denominator per user (clicks per session); "
    "proportion_of_counts: successes out of trials in count data (enrollments / clicks)."
)
SRM_BADGES = {
    "pass": ("Split as planned", "green", ":material/check_circle:"),
    "warn": ("Split slightly off", "orange", ":material/warning:"),
    "fail": ("Sample ratio mismatch", "red", ":material/error:"),
}
NONE = rs.NONE


# --------------------------------------------------------------------------------------------
# Mapping editor
# --------------------------------------------------------------------------------------------


def edit_mapping(loaded: rs.Loaded, detected: Mapping) -> Mapping:
    """Widgets for every role, seeded from detection; returns the mapping they describe."""
    ds = loaded.dataset
    k = loaded.widget_prefix
    names = list(ds.names)
    numeric = rs.numeric_columns(ds)
    if detected.notes:
        st.markdown("**What detection guessed**")
        for note in detected.notes:
            st.caption(f"• {note}")

    c1, c2, c3, c4 = st.columns(4)
    variant = c1.selectbox(
        "Variant column (which arm)",
        [None, *names],
        format_func=lambda c: "— choose —" if c is None else c,
        key=seed(k + "variant", pick(names, detected.variant)),
        help="The column that says which arm each row belongs to.",
    )
    levels = rs.column_levels(loaded, variant, config.VARIANT_MAX_LEVELS + 1) if variant else []
    if len(levels) > config.VARIANT_MAX_LEVELS:
        levels = levels[: config.VARIANT_MAX_LEVELS]
    default_control = (
        detected.control
        if variant == detected.variant and detected.control in levels
        else pick(levels, get_plan().control, levels[0] if levels else None)
    )
    control = c2.selectbox(
        "Control arm",
        levels or [None],
        format_func=lambda c: "—" if c is None else c,
        key=seed(f"{k}control::{variant}", default_control),
        help="The arm every other arm is compared with (today's experience).",
    )
    shape = c3.selectbox(
        "Shape of the file",
        list(SHAPES),
        format_func=SHAPE_LABELS.get,
        key=seed(k + "shape", detected.shape),
    )
    timestamp = c4.selectbox(
        "Date or timestamp",
        [NONE, *names],
        key=seed(k + "timestamp", pick(names, detected.timestamp, NONE)),
        help="Gives the lift over time and the daily units.",
    )
    c1, c2, c3 = st.columns([1, 1, 2])
    unit = n_column = None
    if shape == "unit":
        unit = c1.selectbox(
            "Unit id (user)",
            [NONE, *names],
            key=seed(k + "unit", pick(names, detected.unit, NONE)),
            help="Rows of the same unit are added up; units seen in two arms are flagged.",
        )
    else:
        n_column = c1.selectbox(
            "Units column (n)",
            [NONE, *numeric],
            key=seed(k + "n_column", pick(numeric, detected.n_column, NONE)),
            help="How many units each row summarises.",
        )
    timestamp, unit, n_column = rs.cell_text(timestamp), rs.cell_text(unit), rs.cell_text(n_column)
    roles = {variant, timestamp, unit, n_column}
    segment_options = [c for c in names if c not in roles]
    segments = c3.multiselect(
        "Segments (break the effect down by)",
        segment_options,
        key=seed(k + "segments", [s for s in detected.segments if s in segment_options]),
    )

    metrics: list[MetricMapping] = []
    if shape == "unit":
        candidates = [c for c in numeric if c not in roles and c not in segments]
        st.markdown("**Metrics** (tick the ones to analyse; pick a pre-period covariate for CUPED)")
        ekey = f"{k}metrics::{'|'.join(candidates)}"
        seed_frame = editor_seed(ekey + "::seed", rs.unit_metric_frame(detected, candidates))
        edited = st.data_editor(
            seed_frame,
            key=ekey,
            hide_index=True,
            width="stretch",
            disabled=["column"],
            column_config={
                "analyse": st.column_config.CheckboxColumn("Analyse", width="small"),
                "column": st.column_config.TextColumn("Column"),
                "kind": st.column_config.SelectboxColumn(
                    "Kind", options=["binary", "continuous"], required=True, help=KIND_HELP
                ),
                "covariate": st.column_config.SelectboxColumn(
                    "CUPED covariate",
                    options=[NONE, *candidates],
                    help="The same metric measured before the test; it removes noise.",
                ),
            },
        )
        for row in edited.to_dict("records"):
            if row["analyse"]:
                metrics.append(
                    MetricMapping(
                        str(row["column"]),
                        str(row["kind"] or "continuous"),
                        covariate=rs.cell_text(row["covariate"]),
                    )
                )
    else:
        st.markdown("**Metrics** (columns holding each arm's totals)")
        ekey = f"{k}aggmetrics"
        edited = st.data_editor(
            editor_seed(ekey + "::seed", rs.aggregate_metric_frame(detected)),
            key=ekey,
            hide_index=True,
            width="stretch",
            num_rows="dynamic",
            column_config={
                "analyse": st.column_config.CheckboxColumn("Analyse", width="small", default=True),
                "name": st.column_config.TextColumn("Metric", required=True),
                "kind": st.column_config.SelectboxColumn(
                    "Kind", options=["binary", "continuous"], default="binary", help=KIND_HELP
                ),
                "sum_column": st.column_config.SelectboxColumn(
                    "Sum (or conversions)", options=numeric
                ),
                "sum_sq_column": st.column_config.SelectboxColumn(
                    "Sum of squares", options=numeric
                ),
                "mean_column": st.column_config.SelectboxColumn("Mean (or rate)", options=numeric),
                "sd_column": st.column_config.SelectboxColumn("Std. deviation", options=numeric),
            },
        )
        for row in edited.to_dict("records"):
            name = rs.cell_text(row.get("name"))
            if name and row.get("analyse") is not False:
                metrics.append(
                    MetricMapping(
                        name,
                        str(rs.cell_text(row.get("kind")) or "binary"),
                        sum_column=rs.cell_text(row.get("sum_column")),
                        sum_sq_column=rs.cell_text(row.get("sum_sq_column")),
                        mean_column=rs.cell_text(row.get("mean_column")),
                        sd_column=rs.cell_text(row.get("sd_column")),
                    )
                )
    st.markdown("**Ratio metrics** (add a row: a name, a numerator and a denominator)")
    pkey = f"{k}pairs::{shape}"
    pairs = st.data_editor(
        editor_seed(pkey + "::seed", rs.pair_metric_frame(detected)),
        key=pkey,
        hide_index=True,
        width="stretch",
        num_rows="dynamic",
        column_config={
            "name": st.column_config.TextColumn("Metric name", required=True),
            "numerator": st.column_config.SelectboxColumn("Numerator", options=numeric),
            "denominator": st.column_config.SelectboxColumn("Denominator", options=numeric),
            "kind": st.column_config.SelectboxColumn(
                "Kind",
                options=["ratio", "proportion_of_counts"],
                default="ratio" if shape == "unit" else "proportion_of_counts",
                help=PAIR_KIND_HELP,
            ),
        },
    )
    for row in pairs.to_dict("records"):
        name = rs.cell_text(row.get("name"))
        num, den = rs.cell_text(row.get("numerator")), rs.cell_text(row.get("denominator"))
        if name or num or den:
            if not (num and den):
                raise InputError(
                    f"Ratio metric '{name or '(unnamed)'}' needs both a numerator and a "
                    "denominator column."
                )
            metrics.append(
                MetricMapping(
                    name or f"{num}/{den}",
                    str(rs.cell_text(row.get("kind")) or "ratio"),
                    numerator=num,
                    denominator=den,
                )
            )
    if not metrics:
        raise InputError(
            "No metric is chosen: tick at least one column under Metrics (or add a ratio)."
        )
    return dataclasses.replace(
        detected,
        shape=shape,
        variant=variant,
        control=control,
        unit=unit,
        timestamp=timestamp,
        n_column=n_column,
        segments=tuple(segments),
        metrics=tuple(metrics),
        covariates=tuple(m.covariate for m in metrics if m.covariate),
        day_label=False if timestamp != detected.timestamp else detected.day_label,
        aggregate_units=detected.aggregate_units if unit == detected.unit else True,
    )


# --------------------------------------------------------------------------------------------
# Run this in your warehouse
# --------------------------------------------------------------------------------------------


def warehouse_section(mapping: Mapping | None, *, capped: bool, source: str) -> None:
    """The query of the current roles in the engine the user picks, to copy or download."""
    st.markdown(
        "Data too big to upload, or not allowed to leave the warehouse? Let the warehouse add "
        "it up:\n"
        "1. Pick where the data lives and type the table's name.\n"
        "2. Copy the query (the button at its top right) or download it, and run it there.\n"
        "3. Save the result as CSV or Parquet and upload that file above.\n\n"
        "You get the same readout as from the rows, and only a few hundred rows of totals "
        "(per arm, day and segment) leave the warehouse, never a user's row."
    )
    c1, c2 = st.columns([1, 2])
    dialect = c1.selectbox(
        "Where the data lives",
        list(warehouse.DIALECTS),
        format_func=warehouse.DIALECT_NAMES.get,
        key=seed(P + "warehouse_dialect", warehouse.DIALECTS[0]),
    )
    table = c2.text_input(
        "Table name",
        key=seed(P + "warehouse_table", ""),
        placeholder="project.dataset.events",
        help="The table with one row per user (or per user and day), its parts separated by "
        "dots: project.dataset.events. A name that itself holds a dot goes in double quotes "
        'or backticks: shop."events.v2".',
    )
    query = rs.warehouse_query(mapping, table, dialect, capped=capped)
    if query.sql is None:
        st.warning(query.problem, icon=":material/info:")
        return
    assert mapping is not None
    st.caption(
        f"The query reads these columns, named as in {source}: "
        + ", ".join(rs.mapping_columns(mapping))
        + ". If your table names them differently, upload a small sample of it first and set "
        "its roles under Columns and roles: the query follows them."
        + (
            ""
            if table.strip()
            else f" Until you type the table's name, the query reads {rs.TABLE_PLACEHOLDER}."
        )
    )
    st.code(query.sql, language="sql", height=320)
    st.download_button(
        "Download the query (.sql)",
        query.sql,
        file_name=rs.query_file_name(dialect),
        mime="application/sql",
        icon=":material/download:",
        key=P + "warehouse_download",
    )


# --------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------

plan = get_plan()
st.title("Results")
st.caption(
    "Upload the experiment's data to see the effect of every metric in every arm, with "
    "confidence intervals and p-values corrected for testing many things at once (within "
    "the success, guardrail and exploratory families, as the decision does). Until you "
    "upload, the page shows the bundled demo experiment."
)

up_col, info_col = st.columns([1.3, 1], gap="large")
with up_col:
    files = st.file_uploader(
        "Upload results (CSV, TSV, TXT, Parquet, or .gz)",
        type=["csv", "tsv", "txt", "parquet", "gz"],
        accept_multiple_files=True,
        key=P + "upload",
        on_change=_upload_touched,
        max_upload_size=upload_limit_mb(),
        help="One row per user; or per-arm totals (n, sums, sums of squares), optionally per "
        "day. Arms in separate files (e.g. control_data.csv + experiment_data.csv) are "
        "read together. Uploads are limited to "
        f"{upload_limit_mb():,} MB per session; for bigger data, compute per-arm or "
        "per-day totals (n, sums, sums of squares) where the data lives and upload those: "
        "'Run this in your warehouse' below writes the query.",
    )
# Streamlit empties the uploader when another page runs; only the user's own removal (x)
# should bring back the demo.
touched = st.session_state.pop(P + "upload_touched", False)
selection = rs.select_data(files, keep=not files and not touched)
loaded = selection.loaded
if files:
    # The user's own data replaces results opened from a shared link.
    st.session_state.pop(SHARED_KEY, None)
with info_col:
    ds = loaded.dataset
    st.markdown(f"**Data:** {loaded.label}")
    output = loaded.output
    if output is not None:
        units = sum(output.aggregates.counts().values())
        st.caption(
            f"The warehouse query's result: {output.rows:,} rows of totals per arm, day and "
            f"segment, for {units:,} units. To switch experiments, remove this file first (×)."
        )
    elif ds is not None:
        st.caption(
            f"{ds.n_rows:,} rows, {len(ds.columns)} columns. "
            + (
                "Upload a file on the left to analyse your own experiment."
                if loaded.is_demo
                else "Several files are read together as one experiment; to switch "
                "experiments, remove the current file first (×)."
            )
        )
if selection.error:
    st.error(
        f"{selection.error} Still showing: {loaded.label}.",
        icon=":material/error:",
    )

# Filled once the roles and settings are known; placed here, next to the upload.
warehouse_box = st.expander(
    "Run this in your warehouse", icon=":material/database:", key=P + "warehouse_expander"
)

detected = (
    loaded.detected
    if loaded.output is not None
    else rs.with_plan_metrics(loaded.detected, plan, loaded.dataset)
)
unsure = (
    selection.new
    or detected.variant is None
    or not detected.metrics
    or any("taken as the control" in n or "was taken" in n for n in detected.notes)
)
mapping_error = None
# Decided once per dataset, so the expander does not fold up after the first edit in it.
open_key = seed(loaded.widget_prefix + "roles_open", bool(unsure and not loaded.is_demo))
if loaded.output is not None:
    mapping = detected
    st.caption(
        ":material/table_chart: Columns and roles came with this file (the query wrote them in "
        f"its {warehouse.MAPPING_COLUMN} column), so there is nothing to map: "
        + rs.output_roles_sentence(mapping)
    )
else:
    with st.expander(
        "Columns and roles",
        expanded=st.session_state[open_key],
        icon=":material/table_chart:",
        key=loaded.widget_prefix + "roles_expander",
    ):
        try:
            mapping = edit_mapping(loaded, detected)
        except (InputError, ValueError) as exc:
            mapping, mapping_error = None, str(exc)
            st.error(mapping_error, icon=":material/error:")

settings_box = st.expander("Test settings", icon=":material/tune:")
with settings_box:
    c1, c2, c3, c4 = st.columns(4)
    alpha = c1.number_input(
        "Significance level (alpha)",
        min_value=0.001,
        max_value=0.5,
        step=0.01,
        format="%.3g",
        key=seed(P + "alpha", float(plan.alpha)),
        help="A result is significant when its adjusted p-value is below alpha.",
    )
    correction = c2.selectbox(
        "Multiple-testing correction",
        list(CORRECTIONS),
        format_func=CORRECTIONS.get,
        key=seed(P + "correction", config.CORRECTION),
        help="Testing many metrics and arms gives many chances of a fluke; the correction "
        "adjusts the p-values for that.",
    )
    method = c3.selectbox(
        "Relative interval",
        list(METHODS),
        format_func=METHODS.get,
        key=seed(P + "method", config.RELATIVE_CI),
        help="How the interval of the relative effect is computed. Fieller and log keep "
        "both tails honest; the delta method (GrowthBook's, Eppo's) is symmetric.",
    )
    show_all = c3.toggle("Show all three intervals", key=seed(P + "show_all", False))
    cap = c4.selectbox(
        "Cap extreme values",
        list(CAPS),
        format_func=CAPS.get,
        key=seed(P + "cap", 0.0),
        help="Winsorise continuous metrics (both arms pooled), so one whale cannot drive the "
        "result. Only for one-row-per-user data.",
        disabled=loaded.output is not None or (mapping is not None and mapping.is_aggregated),
    )
    cuped = c4.toggle(
        "CUPED",
        key=seed(P + "cuped", True),
        help="Adjust metrics for their pre-period covariate (set in Columns and roles).",
    )

capped = bool(cap) and loaded.output is None and mapping is not None and not mapping.is_aggregated
computed = None
if mapping is not None:
    try:
        computed = rs.compute(loaded, mapping, float(cap) if capped else None)
    except (InputError, ValueError) as exc:
        mapping_error = str(exc)
with warehouse_box:
    warehouse_section(mapping, capped=capped, source=loaded.label)

result = None
shares_default = None
if computed is not None:
    agg = computed.aggregates
    matched_plan = rs.plan_for(agg, plan)
    with settings_box:
        st.markdown("**Planned split** (for the sample-ratio check)")
        arms = list(agg.variants)
        if matched_plan is not None:
            planned = {a: matched_plan.expected_shares[a] * 100 for a in arms}
        else:
            planned = {a: 100 / len(arms) for a in arms}
        cols = st.columns(min(len(arms), 6))
        shares = {}
        for i, arm in enumerate(arms):
            shares[arm] = cols[i % len(cols)].number_input(
                f"{arm} (%)",
                min_value=0.1,
                max_value=99.9,
                step=1.0,
                format="%.3g",
                key=seed(f"{loaded.widget_prefix}share::{mapping.variant}::{arm}", planned[arm]),
            )
        shares_default = all(abs(shares[a] - planned[a]) < 1e-9 for a in arms)
    try:
        result = rs.analyse(
            computed,
            alpha=float(alpha),
            correction=correction,
            relative_method=method,
            cuped=bool(cuped),
            shares={a: s / 100 for a, s in shares.items()},
            plan=matched_plan,
        )
        rs.publish(result, loaded.label)
    except (InputError, ValueError) as exc:
        mapping_error = str(exc)

if mapping_error:
    st.error(mapping_error, icon=":material/error:")

result = result or st.session_state.get(rs.ANALYSIS_KEY)
if result is None:
    st.info("Fix the columns and roles above to see results.", icon=":material/arrow_upward:")
    st.stop()
source = st.session_state.get(rs.SOURCE_KEY, loaded.label)
if mapping_error or selection.error:
    st.caption(f"Showing the last results that could be computed, from {source}.")

agg = result.aggregates
roles = rs.plan_roles(get_plan())
ci_level = f"{1 - result.alpha:.0%}"

# ---- headline -------------------------------------------------------------------------------
st.subheader(f"Results: {source}", divider="gray")
st.markdown("**Units per arm**")
counts = agg.counts()
total_units = sum(counts.values())
head = st.columns([1] * len(counts) + [1.1, 2.4])
for col, (arm, n) in zip(head, counts.items(), strict=False):
    col.metric(
        rs.arm_header("Control", arm)
        if arm == agg.control
        else (rs.arm_header("Treatment", arm) if len(counts) == 2 else arm),
        f"{n:,}",
        help=f"Units in {arm}: {n / total_units:.1%} of all {total_units:,} units.",
    )
days = agg.days
head[len(counts)].metric(
    "Days covered",
    f"{len(days)}" if days else "—",
    help=rs.day_span(days) if days else "No date column is mapped.",
)
with head[len(counts) + 1]:
    label, color, icon = SRM_BADGES[result.srm.status]
    st.badge(label, color=color, icon=icon)
    st.caption(result.srm.message())
    if result.srm.status != "pass" and shares_default and rs.plan_for(agg, get_plan()) is None:
        st.caption(
            "Compared with an equal split. If the test was designed with another split "
            "(e.g. 90/10), enter it under Test settings."
        )
if days:
    st.caption(f"Dates: {rs.day_span(days)}.")

summary = rs.summary_sentence(
    result.effects, roles, result.alpha, result.correction, result.recommendation
)
st.info(summary, icon=":material/insights:")
st.caption(" ".join(filter(None, [rs.METHOD_NOTES[result.method], rs.progress_sentence(result)])))
other_checks = [c for c in result.checks if c.name != "Sample ratio" and c.status != "pass"]
if other_checks:
    failed = sum(c.status == "fail" for c in other_checks)
    looks = len(other_checks) - failed
    title = " and ".join(
        part
        for part in (
            f"{failed} validity check{'s' if failed > 1 else ''} failed" if failed else "",
            f"{looks} need{'s' if looks == 1 else ''} a look" if looks else "",
        )
        if part
    )
    box = st.error if failed else st.warning
    box(
        f"**{title}** (details on Validity & decision):\n\n"
        + "\n".join(f"- **{c.name}**: {c.message}" for c in other_checks),
        icon=":material/report:",
    )
if rs.plan_for(agg, get_plan()) is None:
    st.caption(
        f"The plan's arms ({', '.join(get_plan().expected_shares)}) are not this data's arms "
        f"({', '.join(agg.variants)}), so the plan's split is not used; metric roles are "
        "matched by name."
    )

# ---- effects table --------------------------------------------------------------------------
st.subheader("Effect on each metric", divider="gray")
intervals = rs.relative_interval_columns(result, bool(cuped)) if show_all else None
table = rs.effects_display(
    result.effects,
    alpha=result.alpha,
    roles=roles,
    method=result.relative_method,
    control=agg.control,
    intervals=intervals,
    analysis_method=result.method,
)


st.dataframe(
    table.style.map(rs.colour_result, subset=["Result"]),
    hide_index=True,
    width="stretch",
)
corr_name = CORRECTIONS[result.correction].split(" (")[0]
if result.correction == "none":
    corr_name = "no correction"
interval_name = {
    "fixed": "confidence intervals",
    "always_valid": "always-valid confidence intervals (a confidence sequence)",
    "group_sequential": "group-sequential intervals at the current look",
}[result.method]
families = set(result.effects["family"]) if "family" in result.effects else {"all"}
if families <= {"all"}:
    scope = (
        f"Adjusted p corrects for the {len(result.effects)} comparisons on this page ({corr_name})"
    )
else:
    scope = (
        "Adjusted p corrects within each family, as the launch decision does: success "
        f"metrics ({corr_name}; one-sided when the plan is), guardrails ({corr_name}), and "
        "exploratory metrics (Benjamini-Hochberg, a false-discovery rate: leads to follow "
        "up, never a launch reason)"
    )
st.caption(
    "Control and Treatment show each arm's rate or mean. "
    f"Intervals of the relative effect are {ci_level} {interval_name}. {scope}; a result "
    f"counts as significant when it is below {result.alpha:g}. "
    "✔ and ✖ mark good and bad news where the plan gives the metric's good direction; "
    "'Not after correction' means p is below alpha on its own but not once corrected."
)
for sentence in rs.error_sentences(result.effects):
    st.warning(sentence, icon=":material/warning:")
st.download_button(
    "Download effects (CSV)",
    effects_csv(rs.export_frame(result.effects, roles, intervals)),
    file_name="experiment_effects.csv",
    mime="text/csv",
    icon=":material/download:",
)

# ---- Bayesian view --------------------------------------------------------------------------
if st.toggle(
    "Bayesian view: chance to beat control and expected loss",
    key=seed(P + "bayes", False),
    help="The same data read as a probability about the effect, with a prior you choose.",
):
    c1, c2, c3 = st.columns([1.4, 1, 1])
    prior = c1.radio(
        "Prior belief about the lift",
        ["flat", "proper"],
        format_func={
            "flat": "Flat: let the data speak",
            "proper": "Normal: big lifts are rare",
        }.get,
        key=seed(P + "prior", "flat"),
        horizontal=True,
        help="A normal prior pulls surprising lifts toward its mean; with a lot of data "
        "the choice hardly matters.",
    )
    prior_mean = c2.number_input(
        "Prior mean lift (%)",
        step=1.0,
        format="%.3g",
        key=seed(P + "prior_mean", config.BAYES_PRIOR_MEAN * 100),
        disabled=prior == "flat",
    )
    prior_sd = c3.number_input(
        "Prior sd of the lift (%)",
        min_value=0.1,
        step=5.0,
        format="%.3g",
        key=seed(P + "prior_sd", config.BAYES_PROPER_PRIOR_SD * 100),
        disabled=prior == "flat",
        help="30% (GrowthBook's default): a ±60% lift would be a two-sigma surprise.",
    )
    try:
        posterior = result.bayes(
            prior_mean=prior_mean / 100 if prior == "proper" else 0.0,
            prior_sd=prior_sd / 100 if prior == "proper" else None,
        )
    except ValueError as exc:
        st.error(f"The Bayesian view cannot be computed: {exc}", icon=":material/error:")
    else:
        success_name = next((n for n, r in roles.items() if r.role == "success"), None)
        st.markdown(rs.bayes_sentence(posterior, success_name))
        st.dataframe(rs.bayes_display(posterior, result.alpha), hide_index=True, width="stretch")
        st.caption(
            "Expected losses are relative lifts given up on average. The posterior uses "
            "every unit so far and needs no correction for looking early, but it only "
            "describes the data and the prior: it does not control how often a wrong "
            "launch happens, which is what the table's p-values (and the decision) do."
        )

# ---- charts ---------------------------------------------------------------------------------
directions = {name: r.direction for name, r in roles.items()}
seg = result.segments
left, right = st.columns(2, gap="large")
with left:
    st.subheader("Effects at a glance", divider="gray")
    margins = rs.guardrail_margins(roles)
    st.altair_chart(
        charts.forest_chart(
            result.effects,
            margins,
            directions=directions,
            title=f"Relative effect of each metric, with its {rs.METHOD_BANDS[result.method]}",
        ),
        width="stretch",
    )
    if any(m in set(result.effects["metric"]) for m in margins):
        st.caption(
            f"Dots: the relative effect; bars: its {rs.METHOD_BANDS[result.method]}; the "
            "dashed tick is the "
            "guardrail's margin from the plan (how much worse it may get)."
        )
    wide = result.effects[
        result.effects["rel_ci_low"].abs().gt(1) | result.effects["rel_ci_high"].abs().gt(1)
    ]
    if not wide.empty:
        st.caption(
            "Very long intervals may be cut at the chart's edge; the table has their full "
            f"range ({', '.join(dict.fromkeys(wide['metric']))})."
        )
with right:
    st.subheader("Lift over time", divider="gray")
    if result.daily.empty:
        st.caption(
            "No date column is mapped, so there is no lift over time or units per day to "
            "show. Map one under Columns and roles if the file has it"
            + ("; segments (e.g. platform, country) break the effect down." if seg.empty else ".")
        )
    else:
        names = list(dict.fromkeys(result.daily["metric"]))
        success = next((n for n, r in roles.items() if r.role == "success"), None)
        chosen = st.selectbox(
            "Metric",
            names,
            key=seed(f"{P}lift_metric::{'|'.join(names)}", pick(names, success, names[0])),
        )
        lift = result.daily[result.daily["metric"] == chosen]
        arms_shown = list(dict.fromkeys(lift["arm"]))
        first_day = lift["first_day_excluding_zero"].iloc[0] if len(arms_shown) == 1 else None
        band = rs.METHOD_BANDS[result.method]
        st.altair_chart(
            charts.cumulative_lift_chart(
                lift,
                title=f"Relative lift so far, with its {band}",
                first_day=first_day,
                first_day_label="first day it excludes 0",
            ),
            width="stretch",
        )
        for arm in arms_shown:
            rows = lift[lift["arm"] == arm]
            prefix = f"{arm}: " if len(arms_shown) > 1 else ""
            st.markdown(prefix + rs.first_day_sentence(rows, result.method))
        st.caption(
            "Each point uses every unit up to that day. A line that settles inside a narrowing "
            "band is a stable effect; a steady drift suggests novelty wearing off."
        )
        with st.expander("Day by day"):
            for arm in arms_shown:
                st.dataframe(
                    rs.daily_display(lift[lift["arm"] == arm]),
                    hide_index=True,
                    width="stretch",
                )


def segment_controls(seg: pd.DataFrame) -> tuple[str, str, pd.DataFrame]:
    c1, c2 = st.columns(2)
    segment = c1.selectbox("Segment", list(dict.fromkeys(seg["segment"])), key=P + "segment")
    names = list(dict.fromkeys(seg["metric"]))
    success = next((n for n, r in roles.items() if r.role == "success"), None)
    metric = c2.selectbox(
        "Metric",
        names,
        key=seed(f"{P}segment_metric::{'|'.join(names)}", pick(names, success, names[0])),
    )
    return segment, metric, seg[(seg["segment"] == segment) & (seg["metric"] == metric)]


def segment_table(rows: pd.DataFrame, n_cells: int) -> None:
    undefined = rows[rows["rel_effect"].isna() | rows["rel_effect"].abs().eq(float("inf"))]
    if not undefined.empty:
        st.caption(
            "Not in the chart (no relative effect, e.g. the control rate is 0): "
            + ", ".join(str(v) for v in undefined["segment_value"])
            + "."
        )
    st.dataframe(
        rs.effects_display(
            rows,
            alpha=result.alpha,
            roles=roles,
            method=result.relative_method,
            control=agg.control,
            label="segment_value",
        ).drop(columns=["Metric"]),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        f"Adjusted p corrects across all {n_cells} segment comparisons (every segment value, "
        "metric and arm): a lucky segment should not look like a finding. Segments are "
        "exploratory and read at the fixed horizon whatever the plan's method."
    )


daily_rows = agg.rows("day")
seg = result.segments
if not daily_rows.empty:
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Units per day", divider="gray")
        units = daily_rows[["day", "variant", "n"]].rename(columns={"variant": "arm", "n": "units"})
        st.altair_chart(charts.daily_units_chart(units), width="stretch")
        st.caption("A gap, a ramp or one arm falling behind shows here before it biases results.")
    with right:
        st.subheader("By segment", divider="gray")
        if seg.empty:
            st.caption(
                "No segment column is mapped. Choose one under Columns and roles (e.g. "
                "platform, country) to break the effect down."
            )
        else:
            segment, metric, rows = segment_controls(seg)
            st.altair_chart(
                charts.segment_chart(rows, directions=directions, title=f"{metric} by {segment}"),
                width="stretch",
            )
    if not seg.empty:
        st.markdown(f"**{metric} by {segment}, per segment value**")
        segment_table(rows, len(seg))
elif not seg.empty:
    st.subheader("By segment", divider="gray")
    left, right = st.columns(2, gap="large")
    with left:
        segment, metric, rows = segment_controls(seg)
        st.altair_chart(
            charts.segment_chart(rows, directions=directions, title=f"{metric} by {segment}"),
            width="stretch",
        )
    with right:
        segment_table(rows, len(seg))

with contextlib.suppress(StreamlitAPIException):  # the page run alone (tests): no router
    st.page_link(
        "app_pages/decision.py",
        label="Next: validity checks and the launch decision",
        icon=":material/arrow_forward:",
    )
