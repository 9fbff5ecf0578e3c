"""The Plan page's "plan from your own data": upload a pre-period file (or a past
experiment), see what it says the baseline, spread, CUPED correlation and traffic are beside
the plan's typed values, and adopt them with one click, per value or all.

The statistics are :mod:`abcore.estimate`'s (the page only draws); the file goes through the
same loader and schema detection as the Results page, into this session's own DuckDB
database. Widget keys start with :data:`K`, not the plan form's prefix, so adopting an
estimate (which re-seeds the form's widgets) keeps the upload and these choices.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from abcore import InputError, ingest, planning
from abcore.errors import InfeasiblePlan
from abcore.estimate import PlanEstimates, UnitCurve, estimate, plan_with_estimates
from abcore.model import Mapping
from abcore.plan import ExperimentPlan
from abcore.sql import drop_sql
from ui import fmt
from ui.state import get_connection, get_plan, set_plan, upload_limit_mb, upload_refusal
from ui.text import md

K = "planest__"
DEMO_FILE = Path(__file__).resolve().parent.parent / "sample_data" / "demo_experiment.csv"
SOURCES = {"upload": "Upload a file", "demo": "The demo experiment's data"}
EVERY_ROW = "\x00every row"
NO_COVARIATE = "\x00none"
LABELS = {
    "baseline": "Baseline",
    "sd": "Standard deviation per user",
    "correlation": "CUPED correlation (rho)",
    "daily_units": "Daily eligible users",
}


# ---- pure helpers (no Streamlit) ------------------------------------------------------------


def value_text(field: str, value: Any, binary: bool) -> str:
    """A plan value as the table prints it.

    >>> value_text("baseline", 0.1211, True), value_text("daily_units", 12723.2, True)
    ('12.11%', '12,724')
    """
    if fmt.missing(value):
        return fmt.MISSING
    if field == "baseline":
        return f"{value:.2%}" if binary else f"{value:,.4g}"
    if field == "daily_units":
        return f"{math.ceil(value - 1e-9):,}"
    if field == "correlation":
        return f"{value:.2f}"
    return f"{value:,.4g}"


def plan_values(plan: ExperimentPlan) -> dict[str, Any]:
    """The plan's own value of each adoptable field (rho from the variance reduction)."""
    success = plan.success
    return {
        "baseline": success.baseline if success else None,
        "sd": success.sd if success and success.type != "binary" else None,
        "correlation": math.sqrt(plan.variance_reduction) if plan.variance_reduction else 0.0,
        "daily_units": plan.daily_units,
    }


def estimated_values(plan: ExperimentPlan, est: PlanEstimates, metric: str) -> dict[str, Any]:
    """What the file says for each adoptable field (None where it says nothing)."""
    m = est.metric(metric)
    daily = None
    if est.curve is not None and m.baseline is not None:
        try:
            adopted = plan_with_estimates(plan, m, None, ("baseline", "sd", "correlation"))
            daily = est.curve.duration(adopted).daily_units
        except (InputError, ValueError):
            daily = None
    return {
        "baseline": m.baseline,
        "sd": m.sd if m.type != "binary" else None,
        "correlation": m.correlation,
        "daily_units": daily,
    }


def estimates_display(est: PlanEstimates) -> pd.DataFrame:
    """Every metric's estimates as text, one row each."""
    rows = []
    for m in est.metrics:
        binary = m.type == "binary"
        rows.append(
            {
                "Metric": m.name,
                "Kind": {"binary": "rate", "continuous": "mean", "ratio": "ratio"}[m.type],
                "Baseline": value_text("baseline", m.baseline, binary),
                "SD per unit": fmt.MISSING if binary else value_text("sd", m.sd, binary),
                "Units": f"{m.n:,}",
                "CUPED rho": value_text("correlation", m.correlation, binary),
                "Note": m.note or "",
            }
        )
    return pd.DataFrame(rows)


def curve_chart(curve: UnitCurve, need: float | None = None) -> alt.LayerChart | alt.Chart:
    """Unique units by day since the file's first, with the units the test needs."""
    frame = curve.frame()
    title = "Unique users so far" if curve.unique else f"{curve.column} so far (not unique)"
    line = (
        alt.Chart(frame)
        .mark_line(point=len(frame) <= 60)
        .encode(
            x=alt.X("day:Q", title="Day since the file's first"),
            y=alt.Y("units:Q", title=title),
            tooltip=["day", alt.Tooltip("units:Q", format=",")],
        )
    )
    if need is None or need > 2 * curve.total:
        return line
    rule = (
        alt.Chart(pd.DataFrame({"y": [need]}))
        .mark_rule(color="#e4572e", strokeDash=[4, 3])
        .encode(y="y:Q")
    )
    return line + rule


# ---- Streamlit ---------------------------------------------------------------------------------


def _render_source() -> tuple[ingest.Dataset, Mapping, str] | None:
    """The file to estimate from (an upload or the demo), loaded once per file."""
    source = st.radio(
        "Data", list(SOURCES), format_func=SOURCES.get, horizontal=True, key=K + "source"
    )
    if source == "upload":
        upload = st.file_uploader(
            "A pre-period file or a past experiment (CSV, TSV, TXT, Parquet, or .gz)",
            type=["csv", "tsv", "txt", "parquet", "gz"],
            key=K + "file",
            max_upload_size=upload_limit_mb(),
            help="One row per user (or per user-day, or per visit), with a user id, a date "
            "and the metric; daily totals work too. Uploads are limited to "
            f"{upload_limit_mb():,} MB per session.",
        )
        refusal = upload_refusal(upload)
        if refusal:
            st.error(md(refusal), icon=":material/error:")
            return None
        if upload is None:
            return None
        ident, data, name = f"upload:{upload.file_id}", upload.getvalue(), upload.name
    else:
        ident, data, name = "demo", DEMO_FILE, DEMO_FILE.name
    if st.session_state.get(K + "ident") != ident:
        con = get_connection()
        old = st.session_state.pop(K + "loaded", None)
        if old is not None:
            con.execute(drop_sql(old[0].table, "VIEW" if old[0].in_place else "TABLE"))
        st.session_state.pop(K + "ident", None)
        st.session_state.pop(K + "cache", None)
        try:
            ds = ingest.load(con, data, name=name)
            mapping = ingest.detect_schema(con, ds)
        except InputError as exc:
            st.error(md(exc), icon=":material/error:")
            return None
        st.session_state[K + "loaded"] = (ds, mapping, name)
        st.session_state[K + "ident"] = ident
    return st.session_state[K + "loaded"]


def _render_options(mapping: Mapping, plan: ExperimentPlan) -> dict[str, Any] | None:
    """Which metric, which rows, which covariate and which count: the user's choices."""
    names = [m.name for m in mapping.metrics]
    if not names:
        st.warning(
            "No column of this file looks like a metric (a number or yes/no per row).",
            icon=":material/warning:",
        )
        return None
    success = plan.success.name if plan.success else None
    c1, c2 = st.columns(2)
    metric = c1.selectbox(
        "Metric to plan for",
        names,
        index=names.index(success) if success in names else 0,
        key=K + "metric",
    )
    arm = None
    if mapping.variant:
        arms = [EVERY_ROW] + ([mapping.control] if mapping.control else [])
        arm = c2.selectbox(
            "Read the metric in",
            arms,
            index=len(arms) - 1,
            format_func=lambda a: "every row" if a == EVERY_ROW else f"the control arm ({a})",
            key=K + "arm",
            help="In a past experiment the treatment moved the metric: its control arm is "
            "the cleaner baseline. The traffic curve always counts every arm.",
        )
        arm = None if arm == EVERY_ROW else arm
    chosen = mapping.metric(metric)
    covariate, count = None, None
    if mapping.is_aggregated:
        counts = [c for c in (chosen.denominator, mapping.n_column) if c]
        if counts:
            # one box per metric: a count ratio's own trials come first when it is chosen
            count = st.selectbox(
                "Units counted each day",
                list(dict.fromkeys(counts)),
                key=f"{K}count_{names.index(metric)}",
            )
    elif not chosen.metric_kind.pair and _covariates(mapping, chosen.column):
        options = [NO_COVARIATE, *_covariates(mapping, chosen.column)]
        default = chosen.covariate if chosen.covariate in options else NO_COVARIATE
        covariate = st.selectbox(
            "Pre-period covariate (CUPED)",
            options,
            index=options.index(default),
            format_func=lambda c: "none" if c == NO_COVARIATE else c,
            key=K + "covariate",
            help="The same metric measured before the test, per user: its correlation with "
            "the metric says how much variance CUPED will remove.",
        )
        covariate = None if covariate == NO_COVARIATE else covariate
    return {"metric": metric, "arm": arm, "covariate": covariate, "count": count}


def _covariates(mapping: Mapping, column: str | None) -> list[str]:
    """Columns that could be the metric's pre-period covariate: the proposed covariates,
    then the other metrics' columns."""
    taken = {mapping.unit, mapping.variant, mapping.timestamp, column}
    columns = [*mapping.covariates, *(m.column for m in mapping.metrics if m.column)]
    return [c for c in dict.fromkeys(columns) if c not in taken]


def _estimates(ds: ingest.Dataset, mapping: Mapping, options: dict[str, Any]) -> PlanEstimates:
    """The file's estimates for these choices, remembered for the session's reruns."""
    key = (st.session_state.get(K + "ident"), *sorted(options.items()))
    cache = st.session_state.setdefault(K + "cache", {})
    if key not in cache:
        metrics = tuple(
            dataclasses.replace(m, covariate=options["covariate"], covariates=())
            if m.name == options["metric"] and not m.metric_kind.pair
            else m
            for m in mapping.metrics
        )
        mapping = dataclasses.replace(mapping, metrics=metrics)
        cache.clear()  # one set of choices at a time: the session's memory stays small
        cache[key] = estimate(
            get_connection(), ds, mapping, arm=options["arm"], count_column=options["count"]
        )
    return cache[key]


def _adopt(est: PlanEstimates, metric: str, fields: tuple[str, ...]) -> None:
    """Button callback: write the estimates into the plan and re-seed the form from it."""
    try:
        new = plan_with_estimates(get_plan(), est.metric(metric), est.curve, fields)
    except (InputError, ValueError) as exc:
        st.session_state[K + "error"] = str(exc)
        return
    set_plan(new, reset_widgets=True)


def _render_table(
    plan: ExperimentPlan, sizing: planning.PlanSizing, est: PlanEstimates, metric: str
) -> None:
    """The file's estimates beside the plan's values, a button to use each, and what the
    plan would need with all of them."""
    binary = est.metric(metric).type == "binary"
    mine, theirs = plan_values(plan), estimated_values(plan, est, metric)
    head = st.columns([2.2, 1.3, 1.3, 1])
    for col, text in zip(head, ["", "**From your data**", "**In the plan**", ""], strict=True):
        col.markdown(text)
    usable = []
    for field, label in LABELS.items():
        if fmt.missing(theirs[field]) and field in ("sd", "correlation"):
            continue
        c1, c2, c3, c4 = st.columns([2.2, 1.3, 1.3, 1])
        c1.markdown(label)
        c2.markdown(value_text(field, theirs[field], binary))
        c3.markdown(value_text(field, mine[field], plan.success.type == "binary"))
        ok = not fmt.missing(theirs[field])
        usable += [field] if ok else []
        c4.button(
            "Use",
            key=K + "use_" + field,
            disabled=not ok,
            on_click=_adopt,
            args=(est, metric, (field,)),
        )
    st.button(
        "Use all of these",
        key=K + "use_all",
        type="primary",
        disabled=not usable,
        on_click=_adopt,
        args=(est, metric, tuple(usable)),
        icon=":material/download_done:",
    )
    error = st.session_state.pop(K + "error", None)
    if error:
        st.error(md(error), icon=":material/error:")
    _render_needs(plan, sizing, est, metric)


def _render_needs(
    plan: ExperimentPlan, sizing: planning.PlanSizing, est: PlanEstimates, metric: str
) -> None:
    """Users and days with the file's values, beside the plan's, and the curve."""
    m = est.metric(metric)
    if m.baseline is None:
        st.info(md(f"{metric}: {m.note}."), icon=":material/info:")
        return
    try:
        adopted = plan_with_estimates(plan, m, None, ("baseline", "sd", "correlation"))
        size = planning.size_plan(adopted)
        duration = est.curve.duration(adopted, size) if est.curve is not None else None
    except (InputError, ValueError) as exc:
        st.warning(md(exc), icon=":material/warning:")
        return
    c1, c2 = st.columns(2)
    c1.metric(
        "Users per arm, from your data",
        f"{size.method_n_control:,}",
        delta=f"{size.method_n_control - sizing.method_n_control:+,} vs the plan",
        delta_color="off",
    )
    if duration is not None:
        c2.metric(
            "Duration, from your data",
            f"{duration.recommended_days} days",
            delta=f"{duration.recommended_days - sizing.method_recommended_days:+d} days vs "
            "the plan",
            delta_color="off",
        )
        st.caption(md(duration.sentence))
        st.altair_chart(curve_chart(est.curve, duration.n_total / plan.exposure), width="stretch")


def render_plan_from_data(plan: ExperimentPlan, sizing: planning.PlanSizing) -> None:
    """The section: source, choices, estimates beside the plan, and the adopt buttons."""
    st.subheader("Plan from your own data", divider="gray")
    st.caption(
        "Upload last month's data (or a past experiment) to estimate the baseline, its "
        "spread, CUPED's correlation and how many unique users arrive day by day; returning "
        "users make that curve bend, so a constant daily rate gets the duration wrong."
    )
    loaded = _render_source()
    if loaded is None:
        return
    ds, mapping, name = loaded
    st.caption(f"**Data:** {md(name)}, {ds.n_rows:,} rows.")
    options = _render_options(mapping, plan)
    if options is None:
        return
    try:
        est = _estimates(ds, mapping, options)
    except InputError as exc:
        st.error(md(exc), icon=":material/error:")
        return
    for note in est.notes:
        st.caption(md(note))
    with st.expander("Every metric in the file"):
        st.dataframe(estimates_display(est), hide_index=True, width="stretch")
    try:
        _render_table(plan, sizing, est, options["metric"])
    except InfeasiblePlan as exc:
        st.warning(md(exc), icon=":material/warning:")
