"""Plan: how many users, how many days, and what lift can we detect?

Thin page: reads the plan from the session, lets the user edit it, asks ``abcore.planning``
for the numbers and draws them. The URL always carries the current plan, so the address bar
is the share link.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from abcore import charts, config, planning
from abcore.plan import MetricSpec
from abcore.report import plan_brief_json, plan_brief_markdown
from ui.plan_state import friendly, guardrail_frame, guardrails_from
from ui.state import WIDGET_PREFIX, get_plan, set_plan, sync_link
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


def seed(key: str, value: object) -> str:
    """Give a plan widget its starting value from the plan, once; return the full key."""
    return seed_widget(K + key, value)


plan = get_plan()
success = plan.success or MetricSpec("converted", baseline=0.10, mde=0.05)

st.title("Plan the experiment")
st.caption(
    "How many users and how many days does the test need, and what lift can it detect? "
    "Every number updates as you type; the page address is the share link."
)

name = st.text_input(
    "Experiment name", max_chars=config.NAME_MAX_CHARS, key=seed("name", plan.name)
)

left, right = st.columns([1, 1.35], gap="large")
# below both columns, full width: six editable columns do not fit the left one; then the
# hypothesis and the share link, which sum the whole plan up
guard_area = st.container()
tail = st.container()

with left:
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
    arms = c1.number_input(
        "Treatment arms",
        min_value=1,
        max_value=config.PLAN_MAX_TREATMENTS,
        step=1,
        key=seed("arms", max(1, len(plan.treatments))),
        help="Several variants are each compared with the control; alpha is split across "
        "them (Bonferroni).",
    )
    control_share = c2.number_input(
        "Control share (%)",
        min_value=1.0,
        max_value=99.0,
        step=5.0,
        format="%.3g",
        key=seed("control_pct", plan.expected_shares[plan.control] * 100),
        help="The rest is split equally between the treatment arms.",
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
            ["user", "session", "search", "page view", "cluster"],
            key=seed(
                "unit",
                plan.randomization_unit
                if plan.randomization_unit in ("user", "session", "search", "page view", "cluster")
                else "user",
            ),
        )

with guard_area:
    st.subheader("Guardrails", divider="gray")
    st.caption(
        "Metrics that must not get worse by more than a margin (non-inferiority). "
        "Each one raises the power needed, so the test can pass all of them."
    )
    seed_key = K + "guard_seed"
    if seed_key not in st.session_state:
        st.session_state[seed_key] = guardrail_frame(plan)
    guard_frame = st.data_editor(
        st.session_state[seed_key],
        key=K + "guards",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "name": st.column_config.TextColumn("Guardrail", required=True),
            "type": st.column_config.SelectboxColumn(
                "Type",
                options=["binary", "continuous", "ratio"],
                default="continuous",
                width="small",
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

control_name = plan.control
names = (
    list(plan.treatments)
    if len(plan.treatments) == arms
    else (["treatment"] if arms == 1 else [f"treatment_{i + 1}" for i in range(int(arms))])
)
shares = {control_name: control_share / 100}
shares.update({arm: (1 - control_share / 100) / arms for arm in names})

error = None
new_plan = plan
try:
    success_spec = MetricSpec(
        name=metric_name.strip() or "success metric",
        role="success",
        type=metric_type,
        direction=direction,
        baseline=baseline,
        sd=sd,
        mde=mde,
        relative=relative,
        extra=success.extra,
    )
    others = [m for m in plan.metrics if m.role == "secondary"]
    guards = guardrails_from(guard_frame, plan.guardrails)
    alternative = (
        "two-sided" if sides == "two-sided" else ("greater" if direction == "increase" else "less")
    )
    new_plan = dataclasses.replace(
        plan,
        name=name.strip() or "Untitled experiment",
        alpha=alpha,
        power=power_pct / 100,
        alternative=alternative,
        metrics=(success_spec, *others, *guards),
        daily_units=daily_units,
        exposure=exposure_pct / 100,
        expected_shares=shares,
        control=control_name,
        variance_reduction=round(rho**2, 6),
        min_effect_to_launch=min_launch / 100,
        randomization_unit=unit,
        method=method,
        looks=int(looks),
        spending=spending,
    )
    sizing = planning.size_plan(new_plan)
    new_plan = dataclasses.replace(
        new_plan,
        planned_n_per_arm=sizing.method_n_control,
        planned_days=sizing.method_recommended_days,
    )
except ValueError as exc:
    error = friendly(exc)

with right:
    if error:
        st.error(error, icon=":material/error:")
        st.stop()
    if new_plan != plan:
        set_plan(new_plan)
        plan = new_plan
    sync_link(plan)

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
    weeks = sizing.method_recommended_days // 7
    stop = {
        "fixed": "Read the result once, at the end: stopping early on a good-looking day "
        "is how false wins get shipped.",
        "always_valid": "You may look any day and stop as soon as the result is clear (a win "
        "or a harm); this is the longest it can take.",
        "group_sequential": f"Look {plan.looks} times, about every "
        f"{max(1, round(sizing.method_recommended_days / plan.looks))} days; stop at a look "
        "whose result is clear (a win or a harm); this is the longest it can take.",
    }[plan.method]
    st.info(
        f"Plan **{sizing.method_recommended_days} days ({weeks} full "
        f"week{'s' if weeks > 1 else ''})**: enrolling {sizing.method_n_total:,} users takes "
        f"{sizing.method_days} day{'s' if sizing.method_days > 1 else ''} at "
        f"{sizing.daily_units_in_test:,.0f} users a day in the test. "
        f"The size is set by **{sizing.binding}**. {stop}",
        icon=":material/event:",
    )
    costs = planning.method_costs_frame(plan, sizing)
    st.markdown("**What each way of reading the results costs**")
    st.dataframe(
        pd.DataFrame(
            {
                "Analysis": [
                    ("▶ " if c["chosen"] else "") + c["label"] for c in costs.to_dict("records")
                ],
                "Looks": [
                    "once, at the end"
                    if m == "fixed"
                    else ("any day" if m == "always_valid" else f"{k} planned")
                    for m, k in zip(costs["method"], costs["looks"], strict=True)
                ],
                "Users per arm": [f"{n:,}" for n in costs["n_control"]],
                "Duration": [f"{d} days" for d in costs["days"]],
                "Extra users": ["—" if x == 0 else f"+{x:.1%}" for x in costs["extra_share"]],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Same power for each. The peeking-safe methods' numbers are the most they can take: "
        "they often stop sooner when the effect is large. The always-valid price assumes a "
        "look every day for four weeks."
    )
    notes = []
    if len(plan.treatments) > 1:
        notes.append(
            f"alpha split across {len(plan.treatments)} arms: "
            f"{sizing.alpha_per_test:.3g} per comparison"
        )
    if plan.guardrails:
        powered = len(planning.powered_guardrails(plan))
        notes.append(
            f"power per test raised to {sizing.power_per_test:.1%} so the success "
            f"metric and {powered} guardrail(s) with a non-inferiority margin all pass "
            "together (a guardrail without a margin is only checked for harm, which needs "
            "no power, so it does not raise the size)"
        )
    if plan.variance_reduction:
        notes.append(f"CUPED assumed to remove {plan.variance_reduction:.0%} of the variance")
    for g in sizing.guardrails:
        if g.n_control is None:
            notes.append(f"guardrail {g.name} not sized: {g.reason}")
        else:
            notes.append(f"guardrail {g.name} alone needs {g.n_control:,} per arm")
    if notes:
        text = "; ".join(notes)
        st.caption(text[:1].upper() + text[1:] + ".")

    st.markdown(
        f"**Rule of thumb** n ≈ 16σ²/δ² = **{sizing.rule_of_thumb_n:,.0f}** per arm, "
        f"against the exact **{sizing.exact_reference_n:,}** under the same assumptions "
        "(5% two-sided, 80% power, 50/50 split)."
    )
    checkpoints = [7, 14, 21, 28]
    checkpoint_days = pd.Series(checkpoints, dtype=float)
    control_per_day = sizing.daily_units_in_test * plan.expected_shares[plan.control]
    lifts = planning.detectable_lift_by_days(plan, checkpoints, under_method=True)
    st.markdown("**Detectable lift if you stop after…**")
    st.dataframe(
        pd.DataFrame(
            {
                "Stop after": [f"{d // 7} week{'s' if d > 7 else ''}" for d in checkpoints],
                "Users per arm": [f"{n:,.0f}" for n in control_per_day * checkpoint_days],
                "Smallest detectable lift": [
                    f"{x:.2%}" if x == x else "not reachable" for x in lifts
                ],
            }
        ),
        hide_index=True,
        width="stretch",
    )

    tab1, tab2, tab3 = st.tabs(["Sample size vs MDE", "Power by day", "Detectable lift by day"])
    metric = plan.success
    days_frame = planning.days_curve(plan)
    method_label = planning.METHOD_NAMES[plan.method] if safe else None
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

with tail:
    hypothesis_col, share_col = st.columns([1, 1.35], gap="large")

with hypothesis_col:
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

with share_col:
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
