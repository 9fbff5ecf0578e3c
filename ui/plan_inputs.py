"""The Plan page's form, as widgets: the success metric, the test settings, the traffic and
arms, and the guardrails' table.

Each widget starts from the plan (``ui.state.seed``: once, so the user's edits stay) and
each function returns what the user entered; :func:`ui.plan_view.plan_from_form` turns the
values into a plan. Kept out of ``app_pages/plan.py`` so the page reads as its parts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from abcore import config
from abcore.plan import ExperimentPlan, MetricSpec
from ui import fmt
from ui import plan_view as pv
from ui.plan_view import PlanForm, arm_text, guardrail_frame
from ui.state import WIDGET_PREFIX
from ui.state import seed as seed_widget

K = WIDGET_PREFIX
TYPE_LABELS = {"binary": "Conversion rate (yes/no per user)", "continuous": "Average per user"}
SIDES = {
    "two-sided": "Two-sided (detect a change either way)",
    "one-sided": "One-sided (only in the good direction)",
}
METHODS = {
    "fixed": "Fixed horizon: read the result once, at the planned end",
    "always_valid": "Always valid: look at the results any day",
    "group_sequential": "Group sequential: a few planned looks",
}
METHOD_HELP = (
    "Looking at a normal test every day and stopping at the first 'significant' day turns "
    "a 5% false-alarm rate into about 27% (measured on 20,000 simulated tests peeked daily "
    "for 28 days). Fixed horizon is the cheapest but only valid read once, at the end. "
    "Always valid lets you look whenever you like and stop as soon as the result is clear, "
    "for about 70% more users. Group sequential allows a few planned looks (e.g. weekly) "
    "for a few % more users."
)
SPENDING = {
    "power": "Strict early (default)",
    "obf": "Strictest early",
    "pocock": "Same bar every look",
}


UNITS = ("user", "session", "search", "page view", "cluster")


def seed(key: str, value: object) -> str:
    """Give a plan widget its starting value from the plan, once; return the full key."""
    return seed_widget(K + key, value)


def render_success_metric(success: MetricSpec) -> dict[str, Any]:
    """The success metric: name, kind, baseline (and sd), good direction and MDE."""
    st.subheader("Success metric", divider="gray")
    metric_name = st.text_input(
        "Metric",
        max_chars=config.NAME_MAX_CHARS,
        key=seed("metric", success.name),
        help="The one metric that decides the launch.",
    )
    metric_type = st.radio(
        "What kind of metric?",
        list(TYPE_LABELS),
        format_func=TYPE_LABELS.get,
        key=seed("type", "binary" if success.type == "binary" else "continuous"),
        horizontal=True,
    )
    binary = metric_type == "binary"
    c1, c2 = st.columns(2)
    if binary:
        base_default = (
            success.baseline if success.type == "binary" and success.baseline else 0.10
        ) * 100
        baseline = (
            c1.number_input(
                "Baseline conversion rate (%)",
                min_value=0.0,
                max_value=100.0,
                step=0.1,
                format="%.2f",
                key=seed("baseline_pct", base_default),
                help="The control arm's rate today, e.g. from last month's data.",
            )
            / 100
        )
        sd = None
    else:
        baseline = c1.number_input(
            "Baseline mean",
            step=1.0,
            format="%.4g",
            key=seed(
                "baseline_mean",
                success.baseline if success.type != "binary" and success.baseline else 50.0,
            ),
            help="Today's average per user (e.g. revenue per user).",
        )
        sd = c2.number_input(
            "Standard deviation per user",
            min_value=0.0,
            step=1.0,
            format="%.4g",
            key=seed("sd", success.sd or 100.0),
            help="Spread between users; for revenue it is often 2-5x the mean.",
        )
    direction = st.radio(
        "Good direction",
        ["increase", "decrease"],
        horizontal=True,
        format_func={"increase": "Higher is better", "decrease": "Lower is better"}.get,
        key=seed("direction", success.direction),
    )
    c1, c2 = st.columns(2)
    relative = (
        c2.radio(
            "MDE is",
            ["relative", "absolute"],
            horizontal=True,
            format_func={"relative": "relative (%)", "absolute": "absolute"}.get,
            key=seed("relative", "relative" if success.relative else "absolute"),
        )
        == "relative"
    )
    mde_label = (
        "Minimum detectable effect (% relative)"
        if relative
        else "Minimum detectable effect (percentage points)"
        if binary
        else "Minimum detectable effect (absolute)"
    )
    mde_default = abs(success.mde or 0.05) * (100 if (success.relative or binary) else 1)
    mde_input = c1.number_input(
        mde_label,
        min_value=0.0,
        step=0.5,
        format="%.3g",
        key=seed("mde", mde_default),
        help="The smallest change worth detecting. Smaller effects need many more users.",
    )
    mde = mde_input / 100 if (relative or binary) else mde_input

    return {
        "metric_name": metric_name,
        "metric_type": metric_type,
        "baseline": baseline,
        "sd": sd,
        "direction": direction,
        "relative": relative,
        "mde": mde,
    }


def render_test_settings(plan: ExperimentPlan) -> dict[str, Any]:
    """Alpha, power, sidedness and how the results will be read (looks and spending)."""
    st.subheader("Test settings", divider="gray")
    c1, c2 = st.columns(2)
    alpha = c1.number_input(
        "Significance level alpha",
        min_value=0.0,
        max_value=1.0,
        step=0.01,
        format="%.3g",
        key=seed("alpha", plan.alpha),
        help="The false-positive rate you accept: 0.05 means 1 in 20 tests of a change "
        "that does nothing would look like a win.",
    )
    power_pct = c2.number_input(
        "Power (%)",
        min_value=0.0,
        max_value=100.0,
        step=5.0,
        format="%.3g",
        key=seed("power_pct", plan.power * 100),
        help="The chance to detect an effect as large as the MDE if it is real.",
    )
    sides = st.radio(
        "Test",
        list(SIDES),
        format_func=SIDES.get,
        horizontal=True,
        key=seed("sides", "two-sided" if plan.alternative == "two-sided" else "one-sided"),
    )
    method = st.radio(
        "How will you read the results?",
        list(METHODS),
        format_func=METHODS.get,
        key=seed("method", plan.method),
        help=METHOD_HELP,
    )
    looks, spending = plan.looks, plan.spending
    if method == "group_sequential":
        c1, c2 = st.columns(2)
        looks = c1.number_input(
            "Planned looks (including the last)",
            # a shared plan with more (or fewer) looks keeps them
            min_value=min(2, plan.looks),
            max_value=max(config.PLAN_MAX_LOOKS, plan.looks),
            step=1,
            key=seed("looks", plan.looks),
            help="E.g. 4 looks over a 4-week test: one a week. Each look may stop the test "
            "for a clear win or harm.",
        )
        spending = c2.selectbox(
            "How strict are early looks?",
            list(SPENDING),
            format_func=SPENDING.get,
            key=seed("spending", plan.spending if plan.spending in SPENDING else config.SPENDING),
            help="Strict early looks stop only for big effects, keeping almost all the "
            "evidence for the end (alpha x t², Spotify's default, close to O'Brien-Fleming; "
            "strictest: O'Brien-Fleming). The same bar at every look (Pocock) stops sooner "
            "but costs more users.",
        )

    return {
        "alpha": alpha,
        "power_pct": power_pct,
        "sides": sides,
        "method": method,
        "looks": looks,
        "spending": spending,
    }


def render_traffic(plan: ExperimentPlan) -> dict[str, Any]:
    """Traffic, exposure, arms and split; CUPED, the launch threshold and the unit."""
    st.subheader("Traffic and arms", divider="gray")
    c1, c2 = st.columns(2)
    daily_units = c1.number_input(
        "Daily eligible users",
        min_value=0,
        max_value=config.PLAN_MAX_DAILY_UNITS,
        step=1000,
        key=seed("daily", int(plan.daily_units)),
        help="Users per day who reach the place where the change is.",
    )
    exposure_pct = c2.number_input(
        "Share of them in the test (%)",
        min_value=0.0,
        max_value=100.0,
        step=5.0,
        format="%.3g",
        key=seed("exposure_pct", plan.exposure * 100),
    )
    c1, c2 = st.columns(2)
    arms_text = c1.text_input(
        "Arms (control first)",
        max_chars=config.NAME_MAX_CHARS * (config.PLAN_MAX_TREATMENTS + 1),
        key=seed("arm_names", arm_text(plan)),
        help="The arms' names as the data will hold them, separated by commas, the control "
        "first. Several variants are each compared with the control; alpha is split across "
        "them (Bonferroni).",
    )
    control_share = c2.number_input(
        "Control share (%)",
        min_value=1.0,
        max_value=99.0,
        step=5.0,
        format="%.3g",
        key=seed("control_pct", round(plan.expected_shares[plan.control] * 100, 6)),
        help="The first arm's share; the rest is split equally between the treatment arms.",
    )

    with st.expander("Variance reduction, launch threshold and unit"):
        rho = st.slider(
            "Correlation with a pre-period covariate (CUPED)",
            0.0,
            config.CUPED_MAX_RHO,
            step=0.05,
            key=seed("rho", round(plan.variance_reduction**0.5, 2)),
            help="If you will adjust for the same metric measured before the test, "
            "the variance shrinks by rho squared.",
        )
        min_launch = st.number_input(
            "Cost of launching: smallest lift worth shipping (% relative)",
            min_value=0.0,
            step=0.5,
            format="%.3g",
            key=seed("min_launch", plan.min_effect_to_launch * 100),
        )
        unit = st.selectbox(
            "Randomization unit",
            list(UNITS),
            key=seed(
                "unit", plan.randomization_unit if plan.randomization_unit in UNITS else "user"
            ),
        )
    return {
        "daily_units": daily_units,
        "exposure_pct": exposure_pct,
        "arms": arms_text,
        "control_share": control_share,
        "rho": rho,
        "min_launch": min_launch,
        "unit": unit,
    }


def render_form(plan: ExperimentPlan, success: MetricSpec, name: str) -> PlanForm:
    """The left column's three parts, as one :class:`ui.plan_view.PlanForm`."""
    return PlanForm(
        name=name,
        **render_success_metric(success),
        **render_test_settings(plan),
        **render_traffic(plan),
    )


def render_guardrails(plan: ExperimentPlan) -> pd.DataFrame:
    """The guardrails' editable table (seeded once from the plan); returns it as edited."""
    st.subheader("Guardrails", divider="gray")
    st.caption(
        "Metrics that must not get worse by more than a margin (non-inferiority). "
        "Each one raises the power needed, so the test can pass all of them."
    )
    seed_key = K + "guard_seed"
    if seed_key not in st.session_state:
        st.session_state[seed_key] = guardrail_frame(plan)
    return st.data_editor(
        st.session_state[seed_key],
        key=K + "guards",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "name": st.column_config.TextColumn("Guardrail", required=True),
            "type": st.column_config.SelectboxColumn(
                "Type",
                options=list(pv.GUARD_TYPES),
                default="continuous",
                width="small",
            ),
            "quantile": st.column_config.SelectboxColumn(
                "Quantile",
                options=list(fmt.QUANTILE_LABELS),
                width="small",
                help="Quantile guardrails: the level. The plan does not size them (their "
                "variance needs the density at the quantile).",
            ),
            "direction": st.column_config.SelectboxColumn(
                "Better if",
                options=["increase", "decrease"],
                default="decrease",
                width="small",
            ),
            "baseline": st.column_config.NumberColumn(
                "Baseline", help="Rate (0-1) or mean", width="small"
            ),
            "sd": st.column_config.NumberColumn("SD", help="For continuous metrics", width="small"),
            "margin_pct": st.column_config.NumberColumn(
                "Margin %",
                width="small",
                help="How much worse it may get, relative",
                min_value=0.0,
                format="%.2f",
            ),
        },
    )
