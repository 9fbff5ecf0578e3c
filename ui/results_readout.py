"""The Results page's readout, as widgets: headline, effects table, Bayesian view, charts.

Each ``render_*`` function draws one section of an :class:`abcore.Analysis` from its
arguments (the analysis, the plan's roles, the page's options), reads no script global and
computes no statistic: the texts come from the pure :mod:`ui.results_view`, the charts from
:mod:`abcore.charts`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from abcore import charts, config
from abcore.analysis import Analysis
from abcore.plan import ExperimentPlan
from abcore.report import effects_csv
from ui import results_state as rs
from ui import results_view as rv
from ui.decision_state import SHARED_LABEL
from ui.results_inputs import Settings
from ui.results_view import Role, pick
from ui.state import seed
from ui.tables import pinned
from ui.text import md

P = rs.PREFIX
SRM_BADGES = {
    "pass": ("Split as planned", "green", ":material/check_circle:"),
    "warn": ("Split slightly off", "orange", ":material/warning:"),
    "fail": ("Sample ratio mismatch", "red", ":material/error:"),
}
INTERVAL_NAMES = {
    "fixed": "confidence intervals",
    "always_valid": "always-valid confidence intervals (a confidence sequence)",
    "group_sequential": "group-sequential intervals at the current look",
}


def _success(roles: dict[str, Role]) -> str | None:
    return next((n for n, r in roles.items() if r.role == "success"), None)


def render_headline(
    result: Analysis,
    *,
    source: str,
    roles: dict[str, Role],
    plan: ExperimentPlan,
    shares_default: bool | None,
) -> None:
    """Units per arm, days, the split check, the summary sentence and the failed checks."""
    agg = result.aggregates
    st.subheader(f"Results: {md(source)}", divider="gray")
    st.markdown("**Units per arm**")
    counts = agg.counts()
    total_units = sum(counts.values())
    head = st.columns([1] * len(counts) + [1.1, 2.4])
    for col, (arm, n) in zip(head, counts.items(), strict=False):
        col.metric(
            md(rv.arm_header("Control", arm))
            if arm == agg.control
            else md(rv.arm_header("Treatment", arm) if len(counts) == 2 else arm),
            f"{n:,}",
            help=f"Units in {md(arm)}: {n / total_units:.1%} of all {total_units:,} units.",
        )
    days = agg.days
    head[len(counts)].metric(
        "Days covered",
        f"{len(days)}" if days else "—",
        help=md(rv.day_span(days)) if days else "No date column is mapped.",
    )
    matched = rs.plan_for(agg, plan)
    with head[len(counts) + 1]:
        label, color, icon = SRM_BADGES[result.srm.status]
        st.badge(label, color=color, icon=icon)
        st.caption(md(result.srm.message()))
        if result.srm.status != "pass" and shares_default and matched is None:
            st.caption(
                "Compared with an equal split. If the test was designed with another split "
                "(e.g. 90/10), enter it under Test settings."
            )
    if days:
        st.caption(f"Dates: {md(rv.day_span(days))}.")

    summary = rv.summary_sentence(
        result.effects, roles, result.alpha, result.correction, result.recommendation
    )
    st.info(summary, icon=":material/insights:")
    st.caption(
        " ".join(filter(None, [rv.METHOD_NOTES[result.method], rv.progress_sentence(result)]))
    )
    other_checks = [c for c in result.checks if c.topic != "srm" and c.status != "pass"]
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
            + "\n".join(f"- **{md(c.name)}**: {md(c.message)}" for c in other_checks),
            icon=":material/report:",
        )
    if matched is None:
        st.caption(
            f"The plan's arms ({md(', '.join(plan.expected_shares))}) are not this data's arms "
            f"({md(', '.join(agg.variants))}), so the plan's split is not used; metric roles are "
            "matched by name."
        )


def render_capping(result: Analysis) -> None:
    """Under the effects table: which metrics were capped, and where (the values the
    percentiles came to), since their effects are of the capped values."""
    for name, sentence in result.capping.items():
        st.caption(f":material/vertical_align_center: {md(name)} {md(sentence)}.")


def render_effects(
    result: Analysis,
    *,
    roles: dict[str, Role],
    cuped: bool,
    show_all: bool,
    correction_name: str,
) -> None:
    """The effects table, what its intervals and corrections mean, and its download.

    ``correction_name`` is the correction as the settings name it ("Holm").
    """
    agg = result.aggregates
    st.subheader("Effect on each metric", divider="gray")
    intervals = rs.relative_interval_columns(result, cuped) if show_all else None
    table = rv.effects_display(
        result.effects,
        alpha=result.alpha,
        roles=roles,
        method=result.relative_method,
        control=agg.control,
        intervals=intervals,
        analysis_method=result.method,
        strata=result.options.strata,
    )
    st.dataframe(
        table.style.map(rv.colour_result, subset=["Result"]),
        hide_index=True,
        width="stretch",
        column_config=pinned("Metric"),
    )
    corr_name = "no correction" if result.correction == "none" else correction_name
    families = set(result.effects["family"]) if "family" in result.effects else {"all"}
    if families <= {"all"}:
        scope = (
            f"Adjusted p corrects for the {len(result.effects)} comparisons on this page "
            f"({corr_name})"
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
        f"Intervals of the relative effect are {1 - result.alpha:.0%} "
        f"{INTERVAL_NAMES[result.method]}. {scope}; a result "
        f"counts as significant when it is below {result.alpha:g}. "
        "✔ and ✖ mark good and bad news where the plan gives the metric's good direction; "
        "'Not after correction' means p is below alpha on its own but not once corrected."
    )
    for sentence in rv.error_sentences(result.effects):
        st.warning(sentence, icon=":material/warning:")
    st.download_button(
        "Download effects (CSV)",
        effects_csv(rv.export_frame(result.effects, roles, intervals)),
        file_name="experiment_effects.csv",
        mime="text/csv",
        icon=":material/download:",
    )


def render_bayes(result: Analysis, *, roles: dict[str, Role]) -> None:
    """The Bayesian view behind its toggle: a prior, then chance to beat and expected loss."""
    if not st.toggle(
        "Bayesian view: chance to beat control and expected loss",
        key=seed(P + "bayes", False),
        help="The same data read as a probability about the effect, with a prior you choose.",
    ):
        return
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
        st.error(f"The Bayesian view cannot be computed: {md(exc)}", icon=":material/error:")
        return
    st.markdown(rv.bayes_sentence(posterior, _success(roles)))
    st.dataframe(rv.bayes_display(posterior, result.alpha), hide_index=True, width="stretch")
    st.caption(
        "Expected losses are relative lifts given up on average. The posterior uses "
        "every unit so far and needs no correction for looking early, but it only "
        "describes the data and the prior: it does not control how often a wrong "
        "launch happens, which is what the table's p-values (and the decision) do."
    )


def render_forest(result: Analysis, *, roles: dict[str, Role]) -> None:
    """Every metric's relative effect and interval, with the guardrails' margins."""
    st.subheader("Effects at a glance", divider="gray")
    margins = rv.guardrail_margins(roles)
    band = rv.METHOD_BANDS[result.method]
    st.altair_chart(
        charts.forest_chart(
            result.effects,
            margins,
            directions={name: r.direction for name, r in roles.items()},
            title=f"Relative effect of each metric, with its {band}",
        ),
        width="stretch",
    )
    if any(m in set(result.effects["metric"]) for m in margins):
        st.caption(
            f"Dots: the relative effect; bars: its {band}; the dashed tick is the "
            "guardrail's margin from the plan (how much worse it may get)."
        )
    effects = result.effects
    wide = effects[effects["rel_ci_low"].abs().gt(1) | effects["rel_ci_high"].abs().gt(1)]
    if not wide.empty:
        st.caption(
            "Very long intervals may be cut at the chart's edge; the table has their full "
            f"range ({md(', '.join(dict.fromkeys(wide['metric'])))})."
        )


def render_lift(result: Analysis, *, roles: dict[str, Role]) -> None:
    """The cumulative lift of one metric, the day it left zero behind, and day by day."""
    st.subheader("Lift over time", divider="gray")
    mapping = result.aggregates.mapping
    quantiles = [m.name for m in mapping.metrics if not m.metric_kind.adds_up]
    if quantiles and mapping.timestamp:
        st.caption(
            f"{md(', '.join(quantiles))}: a quantile has no lift over time (a day's quantile "
            "does not add to the days' before it), so only the other metrics are shown here."
        )
    if result.daily.empty and mapping.timestamp and quantiles:
        return
    if result.daily.empty:
        st.caption(
            "No date column is mapped, so there is no lift over time or units per day to "
            "show. Map one under Columns and roles if the file has it"
            + (
                "; segments (e.g. platform, country) break the effect down."
                if result.segments.empty
                else "."
            )
        )
        return
    names = list(dict.fromkeys(result.daily["metric"]))
    chosen = st.selectbox(
        "Metric",
        names,
        key=seed(f"{P}lift_metric::{'|'.join(names)}", pick(names, _success(roles), names[0])),
    )
    lift = result.daily[result.daily["metric"] == chosen]
    arms_shown = list(dict.fromkeys(lift["arm"]))
    first_day = lift["first_day_excluding_zero"].iloc[0] if len(arms_shown) == 1 else None
    band = rv.METHOD_BANDS[result.method]
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
        prefix = f"{md(arm)}: " if len(arms_shown) > 1 else ""
        st.markdown(prefix + rv.first_day_sentence(rows, result.method))
    st.caption(
        "Each point uses every unit up to that day. A line that settles inside a narrowing "
        "band is a stable effect; a steady drift suggests novelty wearing off."
    )
    with st.expander("Day by day"):
        for arm in arms_shown:
            st.dataframe(
                rv.daily_display(lift[lift["arm"] == arm]), hide_index=True, width="stretch"
            )


def _segment_controls(seg: pd.DataFrame, roles: dict[str, Role]) -> tuple[str, str, pd.DataFrame]:
    c1, c2 = st.columns(2)
    segment = c1.selectbox("Segment", list(dict.fromkeys(seg["segment"])), key=P + "segment")
    names = list(dict.fromkeys(seg["metric"]))
    metric = c2.selectbox(
        "Metric",
        names,
        key=seed(f"{P}segment_metric::{'|'.join(names)}", pick(names, _success(roles), names[0])),
    )
    return segment, metric, seg[(seg["segment"] == segment) & (seg["metric"] == metric)]


def _segment_chart(rows: pd.DataFrame, roles: dict[str, Role], title: str) -> None:
    directions = {name: r.direction for name, r in roles.items()}
    st.altair_chart(charts.segment_chart(rows, directions=directions, title=title), width="stretch")


def _segment_table(result: Analysis, rows: pd.DataFrame, roles: dict[str, Role]) -> None:
    undefined = rows[rows["rel_effect"].isna() | rows["rel_effect"].abs().eq(float("inf"))]
    if not undefined.empty:
        st.caption(
            "Not in the chart (no relative effect, e.g. the control rate is 0): "
            + md(", ".join(str(v) for v in undefined["segment_value"]))
            + "."
        )
    st.dataframe(
        rv.effects_display(
            rows,
            alpha=result.alpha,
            roles=roles,
            method=result.relative_method,
            control=result.aggregates.control,
            label="segment_value",
        ).drop(columns=["Metric"]),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        f"Adjusted p corrects across all {len(result.segments)} segment comparisons (every "
        "segment value, metric and arm): a lucky segment should not look like a finding. "
        "Segments are exploratory and read at the fixed horizon whatever the plan's method."
    )


def render_units_and_segments(result: Analysis, *, roles: dict[str, Role]) -> None:
    """Units entering per day, and the effect by segment (chart and table)."""
    daily_rows = result.aggregates.rows("day")
    seg = result.segments
    if not daily_rows.empty:
        left, right = st.columns(2, gap="large")
        with left:
            st.subheader("Units per day", divider="gray")
            units = daily_rows[["day", "variant", "n"]].rename(
                columns={"variant": "arm", "n": "units"}
            )
            st.altair_chart(charts.daily_units_chart(units), width="stretch")
            st.caption(
                "A gap, a ramp or one arm falling behind shows here before it biases results."
            )
        with right:
            st.subheader("By segment", divider="gray")
            if seg.empty:
                st.caption(
                    "No segment column is mapped. Choose one under Columns and roles (e.g. "
                    "platform, country) to break the effect down."
                )
            else:
                segment, metric, rows = _segment_controls(seg, roles)
                _segment_chart(rows, roles, f"{metric} by {segment}")
        if not seg.empty:
            st.markdown(f"**{md(metric)} by {md(segment)}, per segment value**")
            _segment_table(result, rows, roles)
    elif not seg.empty:
        st.subheader("By segment", divider="gray")
        left, right = st.columns(2, gap="large")
        with left:
            segment, metric, rows = _segment_controls(seg, roles)
            _segment_chart(rows, roles, f"{metric} by {segment}")
        with right:
            _segment_table(result, rows, roles)


def render_shared(
    result: Analysis, prepared_box: DeltaGenerator
) -> tuple[Analysis, str, Settings, bool | None]:
    """The readout a results link carries, read with the link's options: the owner's
    checks, preparation and verdict, not the demo's. Uploading a file replaces it."""
    source = SHARED_LABEL
    with prepared_box:
        st.caption(
            ":material/link: Showing the results of a shared link. Upload a file to analyse "
            "your own data instead."
        )
        for line in rv.preparation_lines(result.preparation):
            st.caption(f":material/filter_alt: {line}")
    settings = Settings(
        alpha=result.alpha,
        correction=result.correction,
        method=result.relative_method,
        show_all=False,
        cap=0.0,
        cuped=result.cuped,
        strata=result.options.strata,
    )
    return result, source, settings, None
