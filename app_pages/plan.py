"""Plan: how many users, how many days, and what lift can we detect?

Thin page: reads the plan from the session, lets the user edit it (``ui.plan_inputs``), asks
``abcore.planning`` for the numbers (through ``ui.plan_view``) and draws them. The URL
always carries the current plan, so the address bar is the share link.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import streamlit as st

from abcore import charts, config, planning
from abcore.plan import ExperimentPlan, MetricSpec
from abcore.report import plan_brief_json, plan_brief_markdown
from ui import plan_view as pv
from ui.experiments_sections import render_register
from ui.plan_estimate import render_plan_from_data
from ui.plan_inputs import K, render_form, render_guardrails, seed
from ui.state import get_plan, set_plan, sync_link
from ui.tables import pinned


def render_answer(sizing: planning.PlanSizing) -> None:
    """The answer: users per arm, in total, and days. Drawn above the form, so on a phone
    (where columns stack) it comes first, not after every input."""
    st.subheader("What the test needs", divider="gray")
    safe = sizing.peeking_safe
    extra = f"{sizing.inflation - 1:+.1%} vs fixed horizon" if safe else None
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "Users per arm",
        f"{sizing.method_n_control:,}",
        delta=extra,
        delta_color="off",
        help=f"Control arm; each treatment arm gets {sizing.method_n_treatment:,} at this split."
        + (f" A fixed-horizon test would need {sizing.n_control:,}." if safe else ""),
    )
    c2.metric("Users in total", f"{sizing.method_n_total:,}")
    c3.metric(
        "Duration",
        f"{sizing.method_recommended_days} days",
        delta=(
            f"{sizing.method_recommended_days - sizing.recommended_days:+d} days vs fixed"
            if safe and sizing.method_recommended_days != sizing.recommended_days
            else None
        ),
        delta_color="off",
        help=f"{sizing.method_days} days to enrol, rounded up to whole weeks: behaviour "
        "differs by weekday.",
    )


def render_needs(plan: ExperimentPlan, sizing: planning.PlanSizing) -> None:
    """Beside the form: when the test ends, what each way of reading costs, the notes."""
    st.info(pv.duration_sentence(plan, sizing), icon=":material/event:")
    st.markdown("**What each way of reading the results costs**")
    st.dataframe(
        pv.costs_display(planning.method_costs_frame(plan, sizing)),
        hide_index=True,
        width="stretch",
        column_config=pinned("Analysis"),
    )
    st.caption(
        "Same power for each. The peeking-safe methods' numbers are the most they can take: "
        "they often stop sooner when the effect is large. The always-valid price assumes a "
        "look every day for four weeks."
    )
    notes = pv.sizing_notes(plan, sizing)
    if notes:
        st.caption(notes)
    st.markdown(
        f"**Rule of thumb** n ≈ 16σ²/δ² = **{sizing.rule_of_thumb_n:,.0f}** per arm, "
        f"against the exact **{sizing.exact_reference_n:,}** under the same assumptions "
        "(5% two-sided, 80% power, 50/50 split)."
    )
    lifts = planning.detectable_lift_by_days(plan, pv.CHECKPOINTS, under_method=True)
    st.markdown("**Detectable lift if you stop after…**")
    st.dataframe(pv.checkpoints_display(plan, sizing, lifts), hide_index=True, width="stretch")


def render_curves(plan: ExperimentPlan, sizing: planning.PlanSizing) -> None:
    """Sample size against the MDE, power and detectable lift against the days."""
    tab1, tab2, tab3 = st.tabs(["Sample size vs MDE", "Power by day", "Detectable lift by day"])
    metric = plan.success
    days_frame = planning.days_curve(plan)
    method_label = planning.METHOD_NAMES[plan.method] if sizing.peeking_safe else None
    with tab1:
        st.altair_chart(
            charts.sample_size_chart(
                planning.sample_size_curve(plan),
                abs(metric.mde),
                relative=metric.relative,
                binary=metric.type == "binary",
                method_label=method_label,
            ),
            width="stretch",
        )
    with tab2:
        st.altair_chart(
            charts.power_days_chart(
                days_frame,
                sizing.power_per_test,
                sizing.method_recommended_days,
                method_label=method_label,
            ),
            width="stretch",
        )
    with tab3:
        planned_rel = abs(metric.mde) if metric.relative else abs(metric.mde) / metric.baseline
        st.altair_chart(
            charts.detectable_lift_chart(
                days_frame, planned_rel, sizing.method_recommended_days, method_label=method_label
            ),
            width="stretch",
        )


def render_hypothesis(plan: ExperimentPlan) -> ExperimentPlan:
    """The hypothesis, generated from the plan until the user writes their own; returns
    the plan with it."""
    st.subheader("Hypothesis", divider="gray")
    generated = planning.default_hypothesis(plan)
    hkey, gkey = K + "hypothesis", K + "hypothesis_generated"
    if hkey not in st.session_state or st.session_state[hkey] == st.session_state.get(gkey):
        st.session_state[hkey] = plan.hypothesis or generated
    st.session_state[gkey] = generated
    text = st.text_area(
        "Hypothesis (edit freely; while you don't, it follows your choices)",
        key=hkey,
        max_chars=config.TEXT_MAX_CHARS,
        height=170,
    ).strip()
    custom = "" if text in ("", generated) else text
    if custom != plan.hypothesis:
        set_plan(dataclasses.replace(plan, hypothesis=custom))
        plan = get_plan()
        sync_link(plan)
    return plan


def render_share(plan: ExperimentPlan, sizing: planning.PlanSizing) -> None:
    """The share link, the brief and the plan as JSON, and the plan's fingerprint."""
    st.subheader("Share and export", divider="gray")
    base = (st.context.url or "").split("?")[0]
    link = f"{base}?{urlencode(plan.to_query_params())}"
    st.caption("Anyone who opens this link sees this plan with every input as you set it.")
    st.code(link, language=None, wrap_lines=True)
    c1, c2, c3 = st.columns([1, 1, 1.2])
    c1.download_button(
        "Download brief",
        plan_brief_markdown(plan, sizing, link),
        file_name="experiment_brief.md",
        mime="text/markdown",
        icon=":material/description:",
    )
    c2.download_button(
        "Download JSON",
        plan_brief_json(plan, sizing),
        file_name="experiment_plan.json",
        mime="application/json",
        icon=":material/data_object:",
    )
    c3.caption(
        f"Plan fingerprint `{plan.fingerprint()}`: the analysis shows it, so any "
        "change after launch is visible."
    )


def render_page(plan: ExperimentPlan) -> bool:
    """The form on the left, what the plan needs on the right, guardrails, hypothesis and
    sharing below; the plan is written whenever the form changes it. False when the form
    cannot make a plan (said beside it): it returns rather than calls st.stop, since app.py
    draws the sidebar (Save, the account) after the page."""
    success = plan.success or MetricSpec("converted", baseline=0.10, mde=0.05)
    answer = st.container()  # filled once the form is read: the answer comes first
    name = st.text_input(
        "Experiment name", max_chars=config.NAME_MAX_CHARS, key=seed("name", plan.name)
    )
    left, right = st.columns([1, 1.35], gap="large")
    # below both columns, full width: six editable columns do not fit the left one; then the
    # hypothesis and the share link, which sum the whole plan up
    guard_area, tail = st.container(), st.container()
    with left:
        form = render_form(plan, success, name)
    with guard_area:
        guard_frame = render_guardrails(plan)
    try:
        new_plan, sizing = pv.plan_from_form(plan, form, guard_frame, success)
    except ValueError as exc:
        with answer:
            st.error(pv.friendly(exc), icon=":material/error:")
        return False
    if new_plan != plan:
        set_plan(new_plan)
        plan = new_plan
    sync_link(plan)
    with answer:
        render_answer(sizing)
    with right:
        render_needs(plan, sizing)
        render_curves(plan, sizing)
        render_plan_from_data(plan, sizing)
    with tail:
        hypothesis_col, share_col = st.columns([1, 1.35], gap="large")
    with hypothesis_col:
        plan = render_hypothesis(plan)
    with share_col:
        render_share(plan, sizing)
    return True


st.title("Plan the experiment")
st.caption(
    "How many users and how many days does the test need, and what lift can it detect? "
    "Every number updates as you type; the page address is the share link."
)
if render_page(get_plan()):  # a plan the form cannot make is not registered
    render_register(get_plan())
