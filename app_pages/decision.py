"""Validity & decision: can the numbers be trusted, and should we launch?

Thin page: the analysis comes from the Results page (or the demo), the checks and the
recommendation from ``abcore.validity`` and ``abcore.decision``; ``ui.decision_view`` words
them and this file only draws them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitAPIException

from abcore import planning
from abcore.analysis import Analysis
from abcore.decision import Recommendation
from abcore.errors import InputError
from abcore.plan import ExperimentPlan
from abcore.report import analysis_report_json, analysis_report_markdown
from abcore.share import results_to_query_params
from ui import decision_view as dv
from ui.decision_sections import (
    render_aa,
    render_dates,
    render_preparation,
    render_srm,
    render_trend,
)
from ui.decision_state import (
    LoadedAnalysis,
    current_analysis,
    date_notes,
    matching_plan,
    without_days,
)
from ui.experiments_sections import render_amendments, render_decision_record
from ui.results_view import progress_sentence
from ui.state import get_plan
from ui.tables import pinned
from ui.text import md

K = "decision__"
BANNERS = {
    "ship": (st.success, ":material/rocket_launch:"),
    "dont_ship": (st.error, ":material/block:"),
    "keep_running": (st.warning, ":material/hourglass_top:"),
    "investigate": (st.error, ":material/search:"),
}


def render_verdict(analysis: Analysis, rec: Recommendation) -> None:
    """The verdict banner, each arm's verdict, and how each metric was judged."""
    draw, icon = BANNERS[rec.verdict]
    draw(dv.verdict_body(rec), icon=icon)
    st.caption(
        f"How the results were read: {planning.describe_method(analysis.options)} "
        + progress_sentence(analysis)
    )
    if len(rec.arms) > 1:
        cols = st.columns(len(rec.arms))
        for col, arm in zip(cols, rec.arms, strict=True):
            with col.container(border=True):
                st.markdown(f"**{md(arm.arm)}: {arm.label}**")
                for reason in arm.reasons[:3]:
                    st.caption(md(reason))
    with st.expander("How each metric was judged"):
        st.dataframe(
            dv.judged_frame(rec),
            hide_index=True,
            width="stretch",
            column_config=pinned(
                "Arm",
                "Metric",
                **{
                    c: st.column_config.NumberColumn(c, format="percent")
                    for c in ("Lift", "CI low", "CI high")
                },
            ),
        )
        st.caption(
            dv.judged_caption(
                analysis.correction,
                analysis.relative_method,
                analysis.method,
                analysis.plan.alternative if analysis.plan else "two-sided",
            )
        )


def render_share(
    analysis: Analysis,
    *,
    plan: ExperimentPlan,
    source: str,
    amendments: Sequence[str] = (),
) -> None:
    """The share link (plan and aggregates) and the Markdown and JSON reports.

    The reports name the user's plan and its fingerprint, the one every page shows, even
    when the decision fitted the plan to the data's arms (``matching_plan``); ``amendments``
    are the registered plan's dated changes.
    """
    st.subheader("Report and share", divider="gray")
    options: dict[str, Any] = {
        "alpha": analysis.alpha,
        "correction": analysis.correction,
        "relative_method": analysis.relative_method,
        "cuped": analysis.cuped,
    }
    if analysis.expected_shares:
        options["expected_shares"] = dict(analysis.expected_shares)
    if analysis.options.strata:
        options["strata"] = analysis.options.strata
    base = (st.context.url or "").split("?")[0].rsplit("/", 1)[0]
    results = results_to_query_params(
        analysis.aggregates,
        options,
        checks=analysis.input_checks,
        preparation=analysis.preparation,
        notes=date_notes(),
    )
    params = {**plan.to_query_params(), **results}
    link = f"{base}/decision?{urlencode(params)}"
    st.caption(
        "This link carries the plan and the aggregated results (counts and sums per arm and "
        "day, never a row of your data), the checks only the rows could make, the data "
        "preparation and the date notes: whoever opens it sees these checks and this decision."
    )
    with st.expander("Share link", icon=":material/link:"):
        st.code(link, language=None, wrap_lines=True)
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download report (Markdown)",
        analysis_report_markdown(
            analysis, plan=plan, source=source, link=link, amendments=amendments
        ),
        file_name="experiment_report.md",
        mime="text/markdown",
        icon=":material/description:",
    )
    c2.download_button(
        "Download report (JSON)",
        analysis_report_json(analysis, plan=plan),
        file_name="experiment_report.json",
        mime="application/json",
        icon=":material/data_object:",
    )


def render_page(loaded: LoadedAnalysis, plan: ExperimentPlan, excluded: list[str]) -> None:
    """The verdict, the trust checks in their tabs, and the report, for ``loaded``."""
    analysis = loaded.analysis
    usable_plan, plan_note = matching_plan(plan, analysis)
    st.caption(
        f"Data: **{md(loaded.label)}** · plan **{md(plan.name)}** "
        f"(fingerprint `{plan.fingerprint()}`)"
    )
    if plan_note:
        st.warning(md(plan_note), icon=":material/link_off:")
    amended = render_amendments()
    full_days = list(analysis.aggregates.days)
    if excluded:
        try:
            analysis = without_days(analysis, usable_plan, excluded)
        except ValueError as exc:
            st.error(f"Those dates cannot be excluded: {md(exc)}")
    rec = analysis.recommendation
    if rec is None:
        st.info(
            "Set up a plan with a success metric (Plan or Metrics page) whose arms match the "
            "data to get a launch recommendation. The trust checks below work without it.",
            icon=":material/info:",
        )
    else:
        render_verdict(analysis, rec)

    st.subheader("Trust checks", divider="gray")
    worst = dv.worst_status(analysis.checks)
    st.markdown(f"**{dv.STATUS_LABELS[worst]}:** {dv.WORST_SUMMARY[worst]}")
    st.dataframe(
        dv.checks_table(analysis.checks),
        hide_index=True,
        width="stretch",
        column_config=pinned("Status", "Check"),
    )
    render_preparation(analysis.preparation)
    tab_srm, tab_aa, tab_trend, tab_dates = st.tabs(
        ["Sample ratio", "A/A test", "Novelty & primacy", "Dates & exclusions"]
    )
    agg = analysis.aggregates
    shares = {a: s.expected_share for a, s in zip(agg.variants, analysis.srm.arms, strict=True)}
    with tab_srm:
        render_srm(analysis, shares)
    with tab_aa:
        render_aa(loaded, analysis)
    with tab_trend:
        render_trend(analysis, usable_plan)
    with tab_dates:
        render_dates(full_days, day_label=agg.mapping.day_label, excluded=excluded)
    render_decision_record(rec)
    render_share(analysis, plan=plan, source=loaded.label, amendments=amended)


def main() -> None:
    """The page, or a sentence when there is nothing to judge. It returns rather than calls
    st.stop: app.py draws the sidebar (Save, the account) after the page."""
    try:
        current = current_analysis()
    except (InputError, ValueError) as exc:
        st.error(f"The results could not be prepared: {md(exc)}", icon=":material/error:")
        return
    if current is None:
        st.info(
            f"**{md(get_plan().name)}** has no results yet: upload its data on the Results "
            "page (or open a results link). No verdict is given on data that is not this "
            "experiment's.",
            icon=":material/upload_file:",
        )
        with contextlib.suppress(StreamlitAPIException):  # the page run alone: no router
            st.page_link("app_pages/results.py", label="Upload results", icon=":material/upload:")
        return
    render_page(current, get_plan(), st.session_state.get(K + "exclude", []))


st.title("Validity & decision")
st.caption(
    "First: can these numbers be trusted? Then: given the plan's success metric, guardrails "
    "and cost of launching, should the change ship?"
)
main()
