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

import streamlit as st
from streamlit.errors import StreamlitAPIException

from abcore import config
from abcore.errors import InputError
from abcore.funnel import TEMPLATES, Funnel, FunnelSetup, plan_with_funnel, stage_metric_name
from abcore.plan import ExperimentPlan, MetricSpec
from ui import metrics_view as mv
from ui.metrics_sections import (
    render_add_metric,
    render_event_log,
    render_funnel_table,
    render_outputs,
    render_roles_table,
    render_sizing_inputs,
)
from ui.metrics_view import UNIT_LABELS, UNITS, Sizing, linked_stage
from ui.state import PlanWidgets, get_plan, set_plan, sync_link
from ui.text import md

K = "metrics__"
KEEP = "__keep__"  # the success pick that keeps the plan's own metric (not from the funnel)


def starting_setup(plan: ExperimentPlan) -> FunnelSetup:
    """The funnel the plan carries, or the e-commerce template at the plan's target lift."""
    success = plan.success
    default_lift = success.mde if success and success.relative and success.mde else None
    setup = FunnelSetup.from_plan(plan) or FunnelSetup.from_template(
        "ecommerce", lift=abs(default_lift or config.FUNNEL_MDE)
    )
    if success and linked_stage(success, setup.funnel) and success.relative and success.mde:
        setup = dataclasses.replace(setup, lift=abs(success.mde))
    return setup


def render_funnel(
    w: PlanWidgets, setup: FunnelSetup, daily0: float
) -> tuple[FunnelSetup, str, bool]:
    """① Where the funnel comes from (a template or the event log) and its table; returns
    the setup, how the table shows numbers (step rates or users), and whether it changed."""
    dirty = False
    mode = st.radio(
        "Where do the numbers come from?",
        ["template", "log"],
        format_func={"template": "A typical funnel", "log": "Our event log"}.get,
        horizontal=True,
        key=K + "mode",
    )
    if mode == "template":
        choice = st.selectbox(
            "Funnel template",
            list(TEMPLATES),
            format_func=lambda k: TEMPLATES[k].title,
            placeholder="Choose a template…",
            key=w.seed("template", setup.template),
        )
        if w.changed("template") and choice is not None:
            setup, dirty = FunnelSetup.from_template(choice, lift=setup.lift), True
        if choice is not None:
            st.caption(
                TEMPLATES[choice].description
                + " Replace the typical rates with yours in the table below."
            )
    else:
        with st.container(border=True):
            log_result = render_event_log()
            if log_result is not None and st.button(
                "Use this funnel",
                type="primary",
                icon=":material/arrow_downward:",
                key=K + "use_log",
            ):
                stages = log_result.funnel.stages
                change = setup.change_stage if setup.change_stage in stages[:-1] else stages[0]
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
        setup, dirty = dataclasses.replace(setup, funnel=funnel), True
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
    edited = render_funnel_table(w.seed_editor("funnel", mv.funnel_frame(setup.funnel, numbers)))
    if w.editor_changed("funnel", edited):
        try:
            funnel = mv.funnel_from_frame(edited, setup.funnel, mv.edited_source(setup.funnel))
            stages = funnel.stages
            change = setup.change_stage if setup.change_stage in stages[:-1] else stages[0]
            setup, dirty = dataclasses.replace(setup, funnel=funnel, change_stage=change), True
        except InputError as exc:
            st.error(f"{md(exc)} Until then, the numbers below use the last valid funnel.")
    st.caption(f"Source: {md(setup.funnel.source or 'your numbers')}.")
    return setup, numbers, dirty


def render_success_pick(
    w: PlanWidgets, success: MetricSpec | None, funnel: Funnel
) -> tuple[str | None, bool]:
    """③ The stage whose conversion decides the launch (or the plan's own metric, kept)."""
    options: list[str] = [KEEP] if success and not linked_stage(success, funnel) else []
    options += list(funnel.stages)[1:]
    pick = st.selectbox(
        "Primary success metric: the one metric that decides the launch",
        options,
        format_func=lambda s: (
            f"Keep {success.name} (not from this funnel)" if s == KEEP else stage_metric_name(s)
        ),
        index=None,
        placeholder="Choose a stage of the funnel…",
        key=w.seed("success", linked_stage(success, funnel) or (KEEP if success else None)),
    )
    return pick, w.changed("success")


def render_other_metrics(
    w: PlanWidgets, others: list[MetricSpec], success_name: str | None
) -> tuple[list[MetricSpec], bool]:
    """③ The secondary metrics and guardrails as an editable table."""
    st.markdown("**Secondary metrics and guardrails**")
    st.caption(
        "Guardrails are tested for non-inferiority: the margin is how much worse (relative) "
        "they may get and still pass. Baselines of rates are fractions (0.03 = 3%). Edit any "
        "cell; add or delete rows at the bottom."
    )
    edited = render_roles_table(w.seed_editor("roles", mv.roles_frame(others)))
    if not w.editor_changed("roles", edited):
        return others, False
    try:
        return mv.metrics_from_roles(edited, others, success_name), True
    except InputError as exc:
        st.error(f"{md(exc)} Until then the plan keeps the previous metrics.")
        return others, False


def render_rand_unit(w: PlanWidgets, plan: ExperimentPlan) -> tuple[str, bool]:
    """④ What is randomized: the user, a session, a search..."""
    rand_unit = st.radio(
        "What is assigned to control or treatment?",
        list(UNITS),
        format_func=UNIT_LABELS.get,
        horizontal=True,
        key=w.seed("rand_unit", plan.randomization_unit, list(UNITS)),
        help="Usually the user: everyone sees one version for the whole test.",
    )
    return rand_unit, w.changed("rand_unit")


def write_plan(
    w: PlanWidgets,
    plan: ExperimentPlan,
    setup: FunnelSetup,
    *,
    pick: str | None,
    sizing: Sizing,
    others: list[MetricSpec],
    rand_unit: str,
    numbers: str,
) -> tuple[ExperimentPlan, str | None]:
    """The plan with every choice of the page, written to the session when it differs;
    returns it (the old plan when the choices do not make one) and the sentence why not."""
    try:
        new_plan = plan_with_funnel(
            plan,
            setup,
            success_stage=None if pick in (None, KEEP) else pick,
            daily_entrants=float(sizing.daily),
            others=others,
            alpha=sizing.alpha,
            power=sizing.power,
            randomization_unit=rand_unit,
        )
    except (InputError, ValueError) as exc:
        return plan, str(exc)
    if new_plan != plan:
        set_plan(new_plan, reset_widgets=True)
        written = FunnelSetup.from_plan(new_plan) or setup
        w.accept(
            {
                "funnel": mv.funnel_frame(written.funnel, numbers),
                "roles": mv.roles_frame([m for m in new_plan.metrics if m.role != "success"]),
            }
        )
    return new_plan, None


def render_page(plan: ExperimentPlan, w: PlanWidgets) -> None:
    """The four steps, then the plan they make and what it costs to measure."""
    setup = starting_setup(plan)
    daily0 = plan.daily_units / max(setup.test_share, 1e-12)
    success_now = plan.success
    boxes = {}

    st.header("① Your customer funnel", divider="gray")
    left, right = st.columns([1, 1.5], gap="large")
    with left:
        setup, numbers, dirty = render_funnel(w, setup, daily0)
    boxes["chart"] = right.container()

    st.header("② Which stage can show your change?", divider="gray")
    setup, sizing, moved = render_sizing_inputs(w, plan, setup, daily0)
    dirty = dirty or moved
    boxes["table"] = st.container()

    st.header("③ Success metric, secondary metrics and guardrails", divider="gray")
    left3, right3 = st.columns([1, 1], gap="large")
    with left3:
        pick, moved = render_success_pick(w, success_now, setup.funnel)
        dirty = dirty or moved
        boxes["summary"] = st.container()
    with right3, st.container(border=True):
        others, moved = render_add_metric(setup, [m for m in plan.metrics if m.role != "success"])
        dirty = dirty or moved
    success_name = (
        stage_metric_name(pick) if pick not in (None, KEEP) else getattr(success_now, "name", None)
    )
    others, moved = render_other_metrics(w, others, success_name)
    dirty = dirty or moved

    st.header("④ Randomization unit", divider="gray")
    rand_unit, moved = render_rand_unit(w, plan)
    dirty = dirty or moved
    boxes["warnings"] = st.container()

    error = None
    if dirty:
        plan, error = write_plan(
            w,
            plan,
            setup,
            pick=pick,
            sizing=sizing,
            others=others,
            rand_unit=rand_unit,
            numbers=numbers,
        )
    sync_link(plan)
    render_outputs(plan, setup, sizing, rand_unit, boxes, error)


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
render_page(get_plan(), PlanWidgets(K))
st.divider()
st.markdown(
    "**Next:** the Plan page starts from these choices (baseline, target lift, guardrails, "
    "traffic) and turns them into users, days and a link to share."
)
try:
    st.page_link("app_pages/plan.py", label="Open the Plan", icon=":material/arrow_forward:")
except StreamlitAPIException:  # the page runs on its own (tests), outside the navigation
    st.markdown("Open the **Plan** page from the sidebar.")
