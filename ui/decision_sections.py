"""The Validity & decision page's trust checks, as widgets: sample ratio, the simulated
A/A, novelty and primacy, dates and exclusions (one tab each).

Each ``render_*`` function takes the analysis (and what else it needs) as arguments; the
checks come from :mod:`abcore.validity`, their wording from the pure
:mod:`ui.decision_view`, and the A/A's rows and the date notes from
:mod:`ui.decision_state`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from abcore import charts, validity
from abcore.analysis import Analysis
from abcore.errors import InputError
from abcore.model import PrepStep
from abcore.plan import ExperimentPlan
from ui import decision_view as dv
from ui.decision_state import NOTES_KEY, NOTES_SEED_KEY, LoadedAnalysis, date_notes, run_aa
from ui.results_view import preparation_lines
from ui.text import md

K = "decision__"


def render_preparation(steps: tuple[PrepStep, ...]) -> None:
    """The data preparation the rows went through before these checks, each step with the
    rows it removed (from the Results page, or carried by a shared link); nothing when none
    is recorded."""
    if not steps:
        return
    st.markdown("**Data preparation** (applied to the rows before the statistics, in order)")
    for line in preparation_lines(steps):
        st.caption(f":material/filter_alt: {line}")


def render_srm(analysis: Analysis, shares: dict[str, float]) -> None:
    """The sample-ratio check: per arm, per day and per segment."""
    agg = analysis.aggregates
    st.markdown(md(analysis.srm.message()))
    st.dataframe(
        dv.srm_frame(analysis.srm),
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="percent")
            for c in ("Share", "Planned share", "Off by")
        },
    )
    by_day = validity.srm_by_day(agg, shares)
    if not by_day.empty:
        st.altair_chart(charts.srm_daily_chart(by_day, notes=date_notes()), width="stretch")
    by_segment = validity.srm_by_segment(agg, shares)
    if not by_segment.empty:
        st.markdown("**By segment** (p-values adjusted with Holm across segments)")
        shown = by_segment.assign(status=by_segment["status"].map(dv.STATUS_LABELS))
        st.dataframe(
            dv.status_style(shown, "status"),
            hide_index=True,
            column_config={
                "segment": "Segment",
                "segment_value": "Value",
                "units": st.column_config.NumberColumn("Units", format="localized"),
                "worst_arm": "Arm most off",
                "gap": st.column_config.NumberColumn("Off by", format="percent"),
                "p_value": st.column_config.NumberColumn("p-value", format="%.3g"),
                "p_value_adjusted": st.column_config.NumberColumn("Adjusted p", format="%.3g"),
                "status": "Status",
            },
        )


def render_aa(loaded: LoadedAnalysis, analysis: Analysis) -> None:
    """The simulated A/A on the rows (when there are rows), and the pre-period balance."""
    st.markdown(
        "A simulated A/A re-splits the **control arm** at random many times and tests each "
        "split. Nothing differs, so about 5% of the tests should come out significant. More "
        "means the metric's variance is underestimated (often: several rows per randomized "
        "unit), and its p-values cannot be trusted."
    )
    # a quantile's A/A would re-split sums: the simulation checks means only
    metrics = [m.name for m in analysis.aggregates.mapping.metrics if m.metric_kind.adds_up]
    if loaded.dataset is None:
        st.info(
            "The simulated A/A needs the uploaded rows; results opened from a link, or "
            "computed in your warehouse, carry only aggregates."
        )
    else:
        c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
        metric = c1.selectbox("Metric", metrics, key=K + "aa_metric")
        sims = c2.selectbox("Simulations", [500, 1000, 2000, 5000], index=1, key=K + "aa_sims")
        if c3.button("Run the A/A", icon=":material/play_arrow:", key=K + "aa_run"):
            try:
                st.session_state[K + "aa_result"] = run_aa(loaded, metric, sims)
            except (InputError, ValueError) as exc:
                st.error(f"The A/A could not run: {md(exc)}")
        result = st.session_state.get(K + "aa_result")
        if result is not None and result.metric in metrics:
            draw = {"pass": st.success, "warn": st.warning, "fail": st.error}[result.status]
            draw(md(result.message()))
            c1, c2, c3 = st.columns(3)
            c1.metric(
                "False-positive rate",
                f"{result.false_positive_rate:.1%}",
                help=f"Expected {result.alpha:.0%}",
            )
            c2.metric("95% interval", f"{result.ci_low:.1%} – {result.ci_high:.1%}")
            c3.metric("Uniformity of p-values", f"p = {result.uniformity_p:.2g}")
            st.altair_chart(charts.pvalue_histogram(result.p_values, result.alpha), width="stretch")
    balance = [c for c in analysis.checks if c.topic == "balance"]
    if balance:
        st.markdown("**Pre-period balance** (an A/A on the days before the test)")
        st.dataframe(dv.checks_table(balance), hide_index=True, width="stretch")


def render_trend(analysis: Analysis, plan: ExperimentPlan | None) -> None:
    """The effect by day of first exposure: novelty (fading) or primacy (growing)."""
    agg = analysis.aggregates
    if len(agg.days) < 4:
        st.info("The data has fewer than 4 days (or no date column): no trend to look at.")
        return
    names = [m.name for m in agg.mapping.metrics if m.metric_kind.adds_up]
    if not names:  # quantiles only: their daily cells do not add up, so no daily effect
        st.info("A quantile metric has no effect by day: no trend to look at.")
        return
    default = (
        plan.success.name if plan and plan.success and (plan.success.name in names) else names[0]
    )
    c1, c2 = st.columns(2)
    metric = c1.selectbox("Metric", names, index=names.index(default), key=K + "trend_m")
    arm = c2.selectbox("Arm", list(agg.treatments), key=K + "trend_arm")
    direction = "increase"
    if plan is not None:
        spec = next((m for m in plan.metrics if m.name == metric), None)
        direction = spec.direction if spec else "increase"
    trend = validity.effect_trend(agg, metric, arm, alpha=analysis.alpha, direction=direction)
    draw = st.warning if trend.status == "warn" else st.success
    draw(md(trend.message()))
    st.altair_chart(charts.effect_by_day_chart(trend.by_day, notes=date_notes()), width="stretch")
    st.caption(
        "Each point is the effect among units first exposed that day, with its 95% "
        "interval. A lift that starts high and fades is novelty; one that grows is "
        "primacy (users learning the change). The later half of the days is the "
        "steady-state estimate."
    )


def render_dates(days: list[Any], *, day_label: bool, excluded: list[str]) -> None:
    """Notes on dates (shown on the charts) and the days to exclude (a rerun applies them)."""
    st.markdown(
        "Note what happened on particular days (a holiday, an outage, a campaign): the notes "
        "appear on the charts. Excluding days drops the units first exposed on them and "
        "re-runs every check and the decision."
    )
    if not days:
        st.info("The data has no date column.")
        return
    labels = dv.day_labels(days, day_label=day_label)
    seed_key = NOTES_SEED_KEY
    if seed_key not in st.session_state:  # the notes so far (a shared link's), else none
        notes_so_far = pd.DataFrame(date_notes(), columns=["day", "note"], dtype="object")
        st.session_state[seed_key] = notes_so_far if date_notes() else dv.empty_notes()
    edited = st.data_editor(
        st.session_state[seed_key],
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        key=K + "notes_editor",
        column_config={
            "day": st.column_config.SelectboxColumn("Day", options=labels, required=True),
            "note": st.column_config.TextColumn("What happened (e.g. outage, holiday)"),
        },
    )
    notes = [r for r in edited.to_dict("records") if r.get("day") and r.get("note")]
    if notes != date_notes():
        st.session_state[NOTES_KEY] = notes
        st.rerun()
    chosen = st.multiselect(
        "Exclude these days",
        labels,
        default=[str(d) for d in st.session_state.get(K + "exclude", [])],
        key=K + "exclude_pick",
    )
    if [str(d) for d in chosen] != [str(d) for d in excluded]:
        st.session_state[K + "exclude"] = chosen
        st.rerun()
