"""Metrics: choose what to measure from the customer funnel.

Thin page: the funnel, the per-stage sample sizes and the plan update come from
``abcore.funnel`` (and ``abcore.funnel_sql`` for event logs); this file reads the plan, draws,
and writes the user's choices back into it, so the Plan page starts from them and the share
link carries them. Widgets are seeded from the plan and follow it when it changes elsewhere
(the Plan page, a shared link); the plan is written only when the user changes something
here, so merely opening the page never alters it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from abcore import config, funnel_sql
from abcore.charts import funnel_chart
from abcore.errors import InputError
from abcore.funnel import (
    GUARDRAIL_CATALOGUE,
    TEMPLATES,
    FunnelSetup,
    guardrail_metric,
    plan_with_funnel,
    sensitivity_for_plan,
    stage_metric,
    stage_metric_name,
    unit_warnings,
)
from abcore.plan import METRIC_TYPES
from abcore.planning import corrected_power
from ui.metrics_state import (
    DIRECTION_LABELS,
    UNIT_LABELS,
    UNITS,
    clamp,
    count,
    edited_source,
    funnel_frame,
    funnel_from_frame,
    guess_unit,
    linked_stage,
    metrics_from_roles,
    pct,
    roles_frame,
    sensitivity_view,
)
from ui.state import (
    PlanWidgets,
    get_connection,
    get_plan,
    set_plan,
    sync_link,
    upload_limit_mb,
    upload_refusal,
)

K = "metrics__"
KEEP = "__keep__"
DEMO_LOG = Path(__file__).resolve().parent.parent / "sample_data" / "demo_events.parquet"
ss = st.session_state
w = PlanWidgets(K)


# ---- the event log loader ---------------------------------------------------------------------
def event_log_section() -> funnel_sql.LogFunnel | None:
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
            st.error(refusal, icon=":material/error:")
            return None
        if upload is None:
            st.caption("Columns are matched by name; you can change the match after uploading.")
            return None
        ident = f"upload:{upload.file_id}"
        data: bytes | Path = upload.getvalue()
        name = upload.name
    else:
        ident, data, name = "demo", DEMO_LOG, DEMO_LOG.name
    if ss.get(K + "log_ident") != ident:
        try:
            log = funnel_sql.load_event_log(get_connection(), data, name=name)
        except InputError as exc:
            st.error(str(exc), icon=":material/error:")
            return None
        ss[K + "log"], ss[K + "log_ident"] = log, ident
        for key in [k for k in ss if str(k).startswith(K + "logmap_")]:
            del ss[key]
    log: funnel_sql.EventLog = ss[K + "log"]
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
        st.error(str(exc), icon=":material/error:")
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
        st.error(str(exc), icon=":material/error:")
        return None
    users = result.funnel.users or ()
    preview = pd.DataFrame(
        {
            "Stage": list(result.funnel.stages),
            f"Reached in order within {window:g} days": [count(u) for u in users],
            "Had the event at all": [count(a) for a in result.any_order],
            "Left out (out of order or too late)": [
                count(a - u) for a, u in zip(result.any_order, users, strict=True)
            ],
        }
    )
    st.dataframe(preview, hide_index=True, width="stretch")
    for warning in result.warnings:
        st.warning(warning, icon=":material/warning:")
    st.caption(
        f"{log.name}: {log.rows:,} events. A unit enters at its first {stages[0]!r} and "
        "counts at a stage only after all the stages before it, in order, within the window; "
        "duplicates count once."
    )
    return result


# ---- page ---------------------------------------------------------------------------------------
plan = get_plan()
stored = FunnelSetup.from_plan(plan)
success0 = plan.success
default_lift = (
    success0.mde if success0 and success0.relative and success0.mde else config.FUNNEL_MDE
)
setup = stored or FunnelSetup.from_template("ecommerce", lift=abs(default_lift))
if success0 and linked_stage(success0, setup.funnel) and success0.relative and success0.mde:
    setup = dataclasses.replace(setup, lift=abs(success0.mde))
others0 = [m for m in plan.metrics if m.role != "success"]
daily0 = plan.daily_units / max(setup.test_share, 1e-12)
dirty = False
errors: dict[str, str] = {}

st.title("Choose what to measure")
st.caption(
    "Pick the success metric from your customer funnel, with numbers: how many users and days "
    "each stage needs to show your change works. Everything you choose here goes into the plan."
)
st.info(
    "**How to use this page.** ① Describe your funnel: start from a template or your event "
    "log. ② Say where your change happens and the lift you hope for: the table shows what "
    "each stage would cost to measure. ③ Pick the success metric and the guardrails. "
    "④ Check the randomization unit. Then open the **Plan** page: it starts from these choices.",
    icon=":material/route:",
)

# ① Funnel --------------------------------------------------------------------------------------
st.header("① Your customer funnel", divider="gray")
left, right = st.columns([1, 1.5], gap="large")
with left:
    mode = st.radio(
        "Where do the numbers come from?",
        ["template", "log"],
        format_func={"template": "A typical funnel", "log": "Our event log"}.get,
        horizontal=True,
        key=K + "mode",
    )
    if mode == "template":
        tkey = w.seed("template", setup.template)
        choice = st.selectbox(
            "Funnel template",
            list(TEMPLATES),
            format_func=lambda k: TEMPLATES[k].title,
            placeholder="Choose a template…",
            key=tkey,
        )
        if w.changed("template") and choice is not None:
            setup = FunnelSetup.from_template(choice, lift=setup.lift)
            dirty = True
        if choice is not None:
            st.caption(
                TEMPLATES[choice].description
                + " Replace the typical rates with yours in the table below."
            )
    else:
        with st.container(border=True):
            log_result = event_log_section()
            if log_result is not None and st.button(
                "Use this funnel",
                type="primary",
                icon=":material/arrow_downward:",
                key=K + "use_log",
            ):
                change = (
                    setup.change_stage
                    if setup.change_stage in log_result.funnel.stages[:-1]
                    else log_result.funnel.stages[0]
                )
                setup = dataclasses.replace(
                    setup, funnel=log_result.funnel, change_stage=change, template=None
                )
                dirty = True

    c1, c2 = st.columns(2)
    numbers = c1.radio(
        "Numbers in the table",
        ["step", "users"],
        format_func={"step": "% of the stage before", "users": "Users"}.get,
        horizontal=True,
        key=w.seed("numbers", "users" if setup.funnel.users else "step"),
    )
    if w.changed("numbers"):
        funnel = (
            setup.funnel.with_users(max(10_000, round(daily0)))
            if numbers == "users"
            else setup.funnel.without_users()
        )
        setup = dataclasses.replace(setup, funnel=funnel)
        dirty = True
    unit = c2.selectbox(
        "Each entrant is a",
        list(UNITS),
        format_func=lambda u: UNIT_LABELS[u].lower(),
        key=w.seed("funnel_unit", setup.funnel.unit, list(UNITS)),
        help="What one row of the funnel counts. When it differs from the randomization unit, "
        "the analysis needs the delta method (see ④).",
    )
    if w.changed("funnel_unit"):
        setup = dataclasses.replace(setup, funnel=dataclasses.replace(setup.funnel, unit=unit))
        dirty = True

    seed = w.seed_editor("funnel", funnel_frame(setup.funnel, numbers))
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
    edited = st.data_editor(
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
    if w.editor_changed("funnel", edited):
        try:
            funnel = funnel_from_frame(edited, setup.funnel, edited_source(setup.funnel))
            change = (
                setup.change_stage if setup.change_stage in funnel.stages[:-1] else funnel.stages[0]
            )
            setup = dataclasses.replace(setup, funnel=funnel, change_stage=change)
            dirty = True
        except InputError as exc:
            st.error(f"{exc} Until then, the numbers below use the last valid funnel.")
    st.caption(f"Source: {setup.funnel.source or 'your numbers'}.")
chart_box = right.container()

# ② Sensitivity ---------------------------------------------------------------------------------
st.header("② Which stage can show your change?", divider="gray")
funnel = setup.funnel
stages = list(funnel.stages)
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
    f"Daily {funnel.unit}s at {stages[0]}",
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
    "all": f"Everyone who reaches {stages[0]}",
    "triggered": f"Only users who reach {change_stage} (triggered)",
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
for key in ("change", "lift", "daily", "alpha", "power", "population"):
    dirty = dirty or w.changed(key)
setup = dataclasses.replace(
    setup, change_stage=change_stage, population=population, lift=lift_pct / 100
)
table_box = st.container()

# ③ Metric roles --------------------------------------------------------------------------------
st.header("③ Success metric, secondary metrics and guardrails", divider="gray")
left3, right3 = st.columns([1, 1], gap="large")
success_now = plan.success
success_options: list[str] = [KEEP] if success_now and not linked_stage(success_now, funnel) else []
success_options += stages[1:]
with left3:
    pick = st.selectbox(
        "Primary success metric: the one metric that decides the launch",
        success_options,
        format_func=lambda s: (
            f"Keep {success_now.name} (not from this funnel)" if s == KEEP else stage_metric_name(s)
        ),
        index=None,
        placeholder="Choose a stage of the funnel…",
        key=w.seed(
            "success",
            linked_stage(success_now, funnel) or (KEEP if success_now else None),
        ),
    )
    dirty = dirty or w.changed("success")
    summary_box = st.container()

others = list(others0)
existing = {m.name for m in others}
with right3, st.container(border=True):
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
    free = [s for s in stages[1:] if stage_metric_name(s) not in existing]
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

st.markdown("**Secondary metrics and guardrails**")
st.caption(
    "Guardrails are tested for non-inferiority: the margin is how much worse (relative) they "
    "may get and still pass. Baselines of rates are fractions (0.03 = 3%). Edit any cell; "
    "add or delete rows at the bottom."
)
roles_seed = w.seed_editor("roles", roles_frame(others))
roles_edited = st.data_editor(
    roles_seed,
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
            "Margin (%)", min_value=0.0, format="%.3g", help="Guardrails: relative harm allowed"
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
    },
)
if w.editor_changed("roles", roles_edited):
    try:
        success_name = (
            stage_metric_name(pick)
            if pick not in (None, KEEP)
            else getattr(success_now, "name", None)
        )
        others = metrics_from_roles(roles_edited, others, success_name)
        dirty = True
    except InputError as exc:
        errors["roles"] = str(exc)
if "roles" in errors:
    st.error(f"{errors['roles']} Until then the plan keeps the previous metrics.")

# ④ Randomization unit --------------------------------------------------------------------------
st.header("④ Randomization unit", divider="gray")
rand_unit = st.radio(
    "What is assigned to control or treatment?",
    list(UNITS),
    format_func=UNIT_LABELS.get,
    horizontal=True,
    key=w.seed("rand_unit", plan.randomization_unit, list(UNITS)),
    help="Usually the user: everyone sees one version for the whole test.",
)
dirty = dirty or w.changed("rand_unit")
warning_box = st.container()

# ---- the plan with every choice ---------------------------------------------------------------
new_plan = plan
if dirty:
    try:
        new_plan = plan_with_funnel(
            plan,
            setup,
            success_stage=None if pick in (None, KEEP) else pick,
            daily_entrants=float(daily),
            others=others,
            alpha=float(alpha),
            power=float(power_pct) / 100,
            randomization_unit=rand_unit,
        )
    except (InputError, ValueError) as exc:
        errors["plan"] = str(exc)
        new_plan = plan
    if new_plan != plan:
        set_plan(new_plan, reset_widgets=True)
        plan = new_plan
        written = FunnelSetup.from_plan(plan) or setup
        w.accept(
            {
                "funnel": funnel_frame(written.funnel, numbers),
                "roles": roles_frame([m for m in plan.metrics if m.role != "success"]),
            }
        )
sync_link(plan)
sized_plan = dataclasses.replace(plan, alpha=float(alpha), power=float(power_pct) / 100)
success = plan.success
success_stage = linked_stage(success, funnel)

# ---- outputs -----------------------------------------------------------------------------------
with chart_box:
    st.altair_chart(
        funnel_chart(funnel, change_stage=change_stage, success_stage=success_stage),
        width="stretch",
    )
    st.caption(
        "Blue: the share of entrants who reach each stage. Pink: those lost at that step. "
        "Labels give the share of entrants and of the stage before."
    )

with table_box:
    if "plan" in errors:
        st.error(f"These choices cannot go into the plan: {errors['plan']}")
    table = sensitivity_for_plan(
        funnel, sized_plan, mde=setup.lift, daily_entrants=float(daily), change_stage=change_stage
    )
    secondary_stages = {linked_stage(m, funnel) for m in plan.metrics if m.role == "secondary"}
    view, styles = sensitivity_view(
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
    raised = corrected_power(sized_plan.power, len(plan.guardrails))
    sides = "two-sided" if plan.alternative == "two-sided" else "one-sided"
    settings = (
        f"To detect a **+{setup.lift * 100:.3g}%** relative lift at alpha {sized_plan.alpha:g} "
        f"({sides}) and power {sized_plan.power:.0%}"
    )
    if raised != sized_plan.power:
        settings += (
            f" (raised to {raised:.1%} so the {len(plan.guardrails)} guardrail(s) pass too, "
            "as on the Plan page)"
        )
    settings += f", with {daily:,} {funnel.unit}s a day entering the funnel"
    if plan.exposure < 1:
        settings += f" and {plan.exposure:.0%} of them in the test"
    st.caption(
        settings
        + ". **Baseline**: the share of entrants who reach the stage. **Triggered**: only the "
        f"{table['triggered_daily_units'].iloc[0]:,.0f} a day who reach {change_stage} are "
        "randomized, so the rate is higher and the noise of users who never see the change is "
        "gone. Days count enrolment; the Plan page rounds up to whole weeks."
    )
    days_col = "triggered_days" if population == "triggered" else "days"
    good = table[table[days_col].notna()]
    with st.container(border=True):
        st.markdown("**Sensitive or meaningful? How to choose**")
        if len(good) >= 1:
            first, last = good.iloc[0], good.iloc[-1]
            line = (
                f"Here, +{setup.lift * 100:.3g}% on **{stage_metric_name(first['stage'])}** "
                f"shows up in **{int(first[days_col])} days**"
            )
            if last["stage"] != first["stage"]:
                line += (
                    f"; the same lift on **{stage_metric_name(last['stage'])}** takes "
                    f"**{int(last[days_col])} days**"
                )
            st.markdown(line + ".")
        st.markdown(
            "- **Sensitive**: the stage right after the change reacts first and has the most "
            "users, so a lift there is cheap to detect. But clicks and carts are not money.\n"
            "- **Meaningful**: the stage closest to revenue is what the business wants, but "
            "fewer users reach it and other steps dilute the effect (the table assumes the "
            "lift survives intact: the real cost is higher).\n"
            "- **A good default**: the most meaningful stage you can measure in a few weeks as "
            "the success metric; keep the others as secondary metrics to explain the result, "
            "and add guardrails so a win here is not a loss elsewhere."
        )

with summary_box:
    if success is None:
        st.warning("The plan has no success metric yet: choose one above.")
    else:
        where = (
            f"of users who reach {success.extra.get('trigger_stage')}"
            if success.extra.get("population") == "triggered"
            else "of funnel entrants"
        )
        base = (
            f"baseline {pct(success.baseline)} {where}"
            if success.type == "binary" and success.baseline is not None
            else f"baseline {success.baseline:g}"
            if success.baseline is not None
            else "no baseline yet"
        )
        lift = f", target {success.mde * 100:+.3g}%" if success.mde and success.relative else ""
        st.success(
            f"**{success.name}** · {success.type} · "
            f"{DIRECTION_LABELS[success.direction].lower()} · {base}{lift}",
            icon=":material/flag:",
        )
        if success_stage and stages.index(success_stage) <= stages.index(change_stage):
            st.warning(
                f"Users reach {success_stage} before they meet the change, so it cannot move: "
                "pick a later stage.",
                icon=":material/warning:",
            )

with warning_box:
    notes = unit_warnings(rand_unit, list(plan.metrics))
    for text in notes:
        st.warning(text, icon=":material/warning:")
    if not notes:
        st.success(
            f"Every metric is measured per {rand_unit}, the unit that is randomized: the "
            "standard tests apply.",
            icon=":material/check_circle:",
        )

st.divider()
st.markdown(
    "**Next:** the Plan page starts from these choices (baseline, target lift, guardrails, "
    "traffic) and turns them into users, days and a link to share."
)
try:
    st.page_link("app_pages/plan.py", label="Open the Plan", icon=":material/arrow_forward:")
except StreamlitAPIException:  # the page runs on its own (tests), outside the navigation
    st.markdown("Open the **Plan** page from the sidebar.")
