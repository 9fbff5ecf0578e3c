"""The Metrics page's bigger sections, as widgets: the event-log funnel, the two editable
tables (the funnel's stages, the secondary metrics and guardrails) and the sensitivity
table with its reading guide.

Kept out of ``app_pages/metrics.py`` so the page reads as its four steps. Each function
takes what it needs as arguments and returns what the user entered; tables and sentences
come from the pure :mod:`ui.metrics_view`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from abcore import config, funnel_sql
from abcore.charts import funnel_chart
from abcore.errors import InputError
from abcore.funnel import (
    GUARDRAIL_CATALOGUE,
    TEMPLATES,
    Funnel,
    FunnelSetup,
    guardrail_metric,
    sensitivity_for_plan,
    stage_metric,
    stage_metric_name,
    unit_warnings,
)
from abcore.plan import METRIC_TYPES, ExperimentPlan, MetricSpec
from abcore.planning import corrected_power, powered_guardrails
from ui import fmt
from ui import metrics_view as mv
from ui.metrics_view import (
    DIRECTION_LABELS,
    UNITS,
    Sizing,
    clamp,
    guess_unit,
    linked_stage,
)
from ui.state import PlanWidgets, get_connection, upload_limit_mb, upload_refusal
from ui.text import md

K = "metrics__"
DEMO_LOG = Path(__file__).resolve().parent.parent / "sample_data" / "demo_events.parquet"


def render_event_log() -> funnel_sql.LogFunnel | None:
    """Load the demo or an uploaded log, map its columns, and compute the ordered funnel."""
    source = st.radio(
        "Event log",
        ["demo", "upload"],
        format_func={
            "demo": "Demo log (20,000 shoppers, 14 days)",
            "upload": "Upload your own (CSV or Parquet)",
        }.get,
        horizontal=True,
        key=K + "log_source",
    )
    if source == "upload":
        upload = st.file_uploader(
            "Event log: one row per event, with a unit id, an event name and a timestamp",
            type=["csv", "tsv", "txt", "parquet"],
            key=K + "log_file",
            max_upload_size=upload_limit_mb(),
        )
        refusal = upload_refusal(upload)
        if refusal:
            st.error(md(refusal), icon=":material/error:")
            return None
        if upload is None:
            st.caption("Columns are matched by name; you can change the match after uploading.")
            return None
        ident = f"upload:{upload.file_id}"
        data: bytes | Path = upload.getvalue()
        name = upload.name
    else:
        ident, data, name = "demo", DEMO_LOG, DEMO_LOG.name
    if st.session_state.get(K + "log_ident") != ident:
        try:
            log = funnel_sql.load_event_log(get_connection(), data, name=name)
        except InputError as exc:
            st.error(md(exc), icon=":material/error:")
            return None
        st.session_state[K + "log"], st.session_state[K + "log_ident"] = log, ident
        for key in [k for k in st.session_state if str(k).startswith(K + "logmap_")]:
            del st.session_state[key]
    log: funnel_sql.EventLog = st.session_state[K + "log"]
    columns = list(log.columns)
    guess = funnel_sql.propose_columns(log.columns)
    # two per row: four in a row left each select box a few letters wide ("use", "eve")
    c1, c2 = st.columns(2)
    c3, c4 = st.columns(2)
    picks = {}
    for col, (role, label) in zip(
        (c1, c2, c3),
        (("unit", "Unit id column"), ("event", "Event column"), ("timestamp", "Timestamp column")),
        strict=True,
    ):
        picks[role] = col.selectbox(
            label,
            columns,
            index=columns.index(guess[role]) if guess[role] in columns else 0,
            key=K + f"logmap_{role}",
        )
    window = c4.number_input(
        "Window (days)",
        min_value=0.01,
        value=float(config.FUNNEL_WINDOW_DAYS),
        step=1.0,
        format="%g",
        key=K + "log_window",
        help="A unit counts at a stage only if it gets there, in order, within this many days "
        "of entering the funnel.",
    )
    try:
        summary = funnel_sql.event_summary(
            get_connection(), log, unit=picks["unit"], event=picks["event"]
        )
    except InputError as exc:
        st.error(md(exc), icon=":material/error:")
        return None
    events = summary["event"].tolist()
    stages = st.multiselect(
        "Stages, in the order users go through them",
        events,
        default=funnel_sql.propose_stages(summary)[:6],
        key=K + f"logmap_stages__{picks['event']}",
        help="Proposed from the most to the least common event. Remove and re-add a stage to "
        "move it to the end.",
    )
    try:
        result = funnel_sql.ordered_funnel(
            get_connection(),
            log,
            stages=stages,
            window_days=window,
            funnel_unit=guess_unit(picks["unit"]),
            **picks,
        )
    except InputError as exc:
        st.error(md(exc), icon=":material/error:")
        return None
    users = result.funnel.users or ()
    preview = pd.DataFrame(
        {
            "Stage": list(result.funnel.stages),
            f"Reached in order within {window:g} days": [fmt.count(u) for u in users],
            "Had the event at all": [fmt.count(a) for a in result.any_order],
            "Left out (out of order or too late)": [
                fmt.count(a - u) for a, u in zip(result.any_order, users, strict=True)
            ],
        }
    )
    st.dataframe(preview, hide_index=True, width="stretch")
    for warning in result.warnings:
        st.warning(md(warning), icon=":material/warning:")
    st.caption(
        f"{md(log.name)}: {log.rows:,} events. A unit enters at its first "
        f"{md(repr(stages[0]))} and "
        "counts at a stage only after all the stages before it, in order, within the window; "
        "duplicates count once."
    )
    return result


def render_funnel_table(seed: pd.DataFrame) -> pd.DataFrame:
    """The funnel's editable table: users per stage, or each step's rate in percent."""
    value_column = (
        st.column_config.NumberColumn(
            "Users",
            help="Users who reach this stage (from the first stage, in order).",
            min_value=0,
            step=1,
            format="%d",
            required=True,
        )
        if "users" in seed
        else st.column_config.NumberColumn(
            "% of the stage before",
            help="Share of the users at the stage before who go on to this one. The first "
            "stage is where the funnel starts: its value is ignored.",
            min_value=0.0,
            max_value=100.0,
            format="%.1f%%",
            required=True,
        )
    )
    return st.data_editor(
        seed,
        key=K + "funnel",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "stage": st.column_config.TextColumn("Stage", required=True),
            "users": value_column,
            "step_pct": value_column,
        },
    )


def render_roles_table(seed: pd.DataFrame) -> pd.DataFrame:
    """The secondary metrics and guardrails, one editable row each."""
    return st.data_editor(
        seed,
        key=K + "roles",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "name": st.column_config.TextColumn("Metric", required=True, width="medium"),
            "role": st.column_config.SelectboxColumn(
                "Role", options=["secondary", "guardrail"], default="guardrail", required=True
            ),
            "type": st.column_config.SelectboxColumn(
                "Type", options=list(METRIC_TYPES), default="continuous", required=True
            ),
            "direction": st.column_config.SelectboxColumn(
                "Good direction",
                options=list(DIRECTION_LABELS),
                format_func=DIRECTION_LABELS.get,
                default="decrease",
                required=True,
            ),
            "baseline": st.column_config.NumberColumn(
                "Baseline", help="Rate (0-1) or mean", width="small"
            ),
            "sd": st.column_config.NumberColumn(
                "SD", help="Standard deviation per unit", width="small"
            ),
            "margin_pct": st.column_config.NumberColumn(
                "Margin (%)",
                min_value=0.0,
                format="%.3g",
                help="Guardrails: relative harm allowed",
            ),
            "numerator": st.column_config.TextColumn(
                "Numerator", help="Ratio metrics: the sum", width="small"
            ),
            "denominator": st.column_config.TextColumn(
                "Denominator", help="Ratio metrics: the count", width="small"
            ),
            "unit": st.column_config.SelectboxColumn(
                "Measured per", options=list(UNITS), help="The unit the metric is measured on"
            ),
            "quantile": st.column_config.SelectboxColumn(
                "Quantile",
                options=list(fmt.QUANTILE_LABELS),
                help="Quantile metrics: the level (p90: the value 90% of users stay below)",
                width="small",
            ),
            "column": st.column_config.TextColumn(
                "Of column", help="Quantile metrics: the data column (default: the name)"
            ),
        },
    )


def render_sensitivity_table(
    funnel: Funnel,
    plan: ExperimentPlan,
    sized_plan: ExperimentPlan,
    setup: FunnelSetup,
    *,
    daily: float,
    success_stage: str | None,
) -> None:
    """② What each stage would cost to measure, sized with ``sized_plan``'s alpha and power,
    and how to choose between a sensitive and a meaningful stage."""
    stages, change_stage = list(funnel.stages), setup.change_stage
    table = sensitivity_for_plan(
        funnel, sized_plan, mde=setup.lift, daily_entrants=float(daily), change_stage=change_stage
    )
    secondary_stages = {linked_stage(m, funnel) for m in plan.metrics if m.role == "secondary"}
    view, styles = mv.sensitivity_view(
        table,
        stages=stages,
        change_stage=change_stage,
        success_stage=success_stage,
        secondary_stages=secondary_stages,
    )
    st.dataframe(
        view.style.apply(lambda row: styles[row.name], axis=1),
        hide_index=True,
        width="stretch",
        column_config={
            "Candidate metric": st.column_config.TextColumn(width="medium"),
            "Note": st.column_config.TextColumn(width="medium"),
        },
    )
    st.caption(
        mv.sizing_caption(
            sized_plan,
            lift=setup.lift,
            raised_power=corrected_power(sized_plan.power, len(powered_guardrails(plan))),
            daily=daily,
            unit=funnel.unit,
            triggered_daily=table["triggered_daily_units"].iloc[0],
            change_stage=change_stage,
        )
    )
    days_col = "triggered_days" if setup.population == "triggered" else "days"
    with st.container(border=True):
        st.markdown("**Sensitive or meaningful? How to choose**")
        line = mv.quickest_sentence(table, days_col, setup.lift)
        if line:
            st.markdown(line)
        st.markdown(mv.HOW_TO_CHOOSE)


def render_add_metric(
    setup: FunnelSetup, others: list[MetricSpec]
) -> tuple[list[MetricSpec], bool]:
    """③ Add a guardrail from the catalogue, or another stage as a secondary metric."""
    existing = {m.name for m in others}
    others, dirty = list(others), False
    suggested = TEMPLATES[setup.template].guardrails if setup.template else ()
    catalogue = sorted(
        (k for k, g in GUARDRAIL_CATALOGUE.items() if g.name not in existing),
        key=lambda k: (k not in suggested, GUARDRAIL_CATALOGUE[k].name),
    )
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    guard_key = c1.selectbox(
        "Add a guardrail: a metric that must not get worse",
        catalogue,
        format_func=lambda k: (
            GUARDRAIL_CATALOGUE[k].name + (" (suggested)" if k in suggested else "")
        ),
        key=K + "catalogue",
    )
    if (
        c2.button("Add", icon=":material/add:", key=K + "add_guardrail", disabled=not catalogue)
        and guard_key
    ):
        others.append(guardrail_metric(guard_key))
        dirty = True
    if guard_key:
        st.caption(GUARDRAIL_CATALOGUE[guard_key].why)
    free = [s for s in setup.funnel.stages[1:] if stage_metric_name(s) not in existing]
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    extra_stage = c1.selectbox(
        "Track another stage as a secondary metric",
        free,
        format_func=stage_metric_name,
        key=K + "secondary_stage",
    )
    if (
        c2.button("Add", icon=":material/add:", key=K + "add_secondary", disabled=not free)
        and extra_stage
    ):
        others.append(stage_metric(setup, extra_stage, role="secondary"))
        dirty = True
    return others, dirty


def render_outputs(
    plan: ExperimentPlan,
    setup: FunnelSetup,
    sizing: Sizing,
    rand_unit: str,
    boxes: dict[str, Any],
    plan_error: str | None,
) -> None:
    """Fill the boxes the steps left: the funnel chart, the sensitivity table, the success
    metric's summary and the randomization unit's warnings, all from the written plan."""
    funnel, change_stage, stages = setup.funnel, sizing.change_stage, list(setup.funnel.stages)
    success = plan.success
    success_stage = linked_stage(success, funnel)
    with boxes["chart"]:
        st.altair_chart(
            funnel_chart(funnel, change_stage=change_stage, success_stage=success_stage),
            width="stretch",
        )
        st.caption(
            "Blue: the share of entrants who reach each stage. Pink: those lost at that step. "
            "Labels give the share of entrants and of the stage before."
        )
    with boxes["table"]:
        if plan_error:
            st.error(f"These choices cannot go into the plan: {md(plan_error)}")
        sized_plan = dataclasses.replace(plan, alpha=sizing.alpha, power=sizing.power)
        render_sensitivity_table(
            funnel, plan, sized_plan, setup, daily=sizing.daily, success_stage=success_stage
        )
    with boxes["summary"]:
        if success is None:
            st.warning("The plan has no success metric yet: choose one above.")
        else:
            st.success(mv.success_summary(success), icon=":material/flag:")
            if success_stage and stages.index(success_stage) <= stages.index(change_stage):
                st.warning(
                    f"Users reach {md(success_stage)} before they meet the change, so it cannot "
                    "move: pick a later stage.",
                    icon=":material/warning:",
                )
    with boxes["warnings"]:
        notes = unit_warnings(rand_unit, list(plan.metrics))
        for text in notes:
            st.warning(md(text), icon=":material/warning:")
        if not notes:
            st.success(
                f"Every metric is measured per {md(rand_unit)}, the unit that is randomized: the "
                "standard tests apply.",
                icon=":material/check_circle:",
            )


def render_sizing_inputs(
    w: PlanWidgets, plan: ExperimentPlan, setup: FunnelSetup, daily0: float
) -> tuple[FunnelSetup, Sizing, bool]:
    """② Where users meet the change, the target lift, traffic, alpha, power, population."""
    stages = list(setup.funnel.stages)
    c1, c2, c3, c4, c5 = st.columns([1.3, 0.8, 1, 0.8, 0.8])
    change_stage = c1.selectbox(
        "Where do users meet the change?",
        stages[:-1],
        key=w.seed("change", setup.change_stage, stages[:-1]),
        help="The stage whose page or screen you change. Only the stages after it can move.",
    )
    lift_pct = c2.number_input(
        "Target lift (% relative)",
        min_value=0.01,
        max_value=500.0,
        step=1.0,
        format="%.3g",
        key=w.seed("lift", clamp(round(setup.lift * 100, 6), 0.01, 500.0)),
        help="The smallest relative improvement worth detecting, e.g. 5 means 10% → 10.5%.",
    )
    daily = c3.number_input(
        f"Daily {md(setup.funnel.unit)}s at {md(stages[0])}",
        min_value=1,
        step=1000,
        key=w.seed("daily", max(1, round(daily0))),
        help="Eligible traffic at the first stage. The Plan page calls the traffic in the test "
        "'daily eligible users'.",
    )
    alpha = c4.number_input(
        "Significance (alpha)",
        min_value=0.0001,
        max_value=0.5,
        step=0.01,
        format="%.3g",
        key=w.seed("alpha", clamp(plan.alpha, 0.0001, 0.5)),
        help="Shared with the Plan page.",
    )
    power_pct = c5.number_input(
        "Power (%)",
        min_value=1.0,
        max_value=99.9,
        step=5.0,
        format="%.3g",
        key=w.seed("power", clamp(round(plan.power * 100, 6), 1.0, 99.9)),
        help="Shared with the Plan page.",
    )
    population_labels = {
        "all": f"Everyone who reaches {md(stages[0])}",
        "triggered": f"Only users who reach {md(change_stage)} (triggered)",
    }
    population = st.radio(
        "Who is randomized and counted?",
        ["all", "triggered"],
        format_func=population_labels.get,
        horizontal=True,
        key=w.seed("population", setup.population),
        disabled=change_stage == stages[0],
        help="Triggering leaves out users who never see the change: they only add noise.",
    )
    if change_stage == stages[0]:
        population = "all"
    dirty = any(w.changed(k) for k in ("change", "lift", "daily", "alpha", "power", "population"))
    setup = dataclasses.replace(
        setup, change_stage=change_stage, population=population, lift=lift_pct / 100
    )
    sizing = Sizing(change_stage, daily, float(alpha), float(power_pct) / 100)
    return setup, sizing, dirty
