"""The Model launch page's tools, as widgets: interleaving, canary, shadow run, ramp plan and
drift monitoring.

Each ``render_*`` function draws one tool from a demo or the user's file, computes nothing
itself (``abcore.launch``: interleaving, canary, drift do), and returns what
the launch report needs. Sentences and tables come from the pure
:mod:`ui.model_launch_view`; uploads are parsed once per session by
:mod:`ui.model_launch_state`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from abcore import config
from abcore.errors import InputError
from abcore.launch import canary as canary_engine
from abcore.launch import drift, interleaving, launch_charts
from ui import model_launch_view as mv
from ui.model_launch_state import demo_dataset, uploaded_dataset
from ui.state import get_connection, upload_limit_mb
from ui.text import md

K = "launch__"
UPLOAD_TYPES = ["csv", "tsv", "txt", "parquet", "pq"]
# Charts get an explicit height: with the default ("content") Streamlit 1.67 squeezed charts
# with long axis labels or a legend to a flat line in the browser (seen in the screenshots).


def banner(draw: Callable[..., Any], title: str, lines: list[str], icon: str) -> None:
    """A verdict: ``draw`` (st.success, st.error...) with the title and one bullet a line."""
    draw(mv.banner_body(title, lines), icon=icon)


def source(tool: str, demos: dict[str, str], help_text: str) -> str:
    """Radio: a demo or the user's own file; returns the chosen key ('upload' for a file)."""
    options = [*demos, "upload"]
    labels = {**demos, "upload": "My own file"}
    return st.radio(
        "Data",
        options,
        format_func=labels.get,
        horizontal=True,
        key=f"{K}{tool}_source",
        help=help_text,
    )


def pick_dataset(tool: str, choice: str, label: str = "Upload a CSV or Parquet file") -> Any:
    """The dataset the user chose, or None (with a message) when there is none yet."""
    if choice != "upload":
        return demo_dataset(choice)
    upload = st.file_uploader(
        label, type=UPLOAD_TYPES, key=f"{K}{tool}_file", max_upload_size=upload_limit_mb()
    )
    if upload is None:
        st.info("Upload a file to analyse it; the demo shows what the tool expects.")
        return None
    return uploaded_dataset(upload)


def render_interleaving() -> dict[str, Any]:
    """1 · The interleaving test: who users prefer, and how many users the test needs.

    Opens on the counts a shared link carries, else on a demo or an upload. Returns what
    the launch report needs (empty when nothing could be computed).
    """
    st.markdown(
        "Each user saw one list mixing both rankers' results; each click is credited to the "
        "ranker that contributed the item. A user **prefers A** when more of their clicks went "
        "to A. One row per click (or per impression without a click): user, credited ranker."
    )
    done: dict[str, Any] = {}
    counts = None
    shared = st.query_params.get("interleaving")
    try:
        if shared:
            counts = interleaving.counts_from_param(shared)
            label_a = st.query_params.get("a", "A")
            label_b = st.query_params.get("b", "B")
            st.info(
                "Opened from a shared link: it carries the four per-user counts below, never "
                "a row of the log.",
                icon=":material/link:",
            )
        else:
            choice = source(
                "il",
                {
                    "interleaving": "Demo: new ranker A is better",
                    "interleaving_null": "Demo: A vs A",
                },
                "The 'A vs A' demo has no preference: the test must not find one.",
            )
            ds = pick_dataset("il", choice)
        if not shared and ds is not None:
            names = list(ds.names)
            c1, c2, c3, c4 = st.columns(4)
            user_col = c1.selectbox(
                "User column",
                names,
                index=mv.guess(names, ["user", "visitor", "id"]),
                key=f"{K}il_user",
            )
            credit_col = c2.selectbox(
                "Credited-to column",
                names,
                index=mv.guess(names, ["credit", "winner", "team", "model"], fallback=1),
                key=f"{K}il_credit",
            )
            levels = interleaving.credit_levels(get_connection(), ds, credit_col)
            if len(levels) < 2:
                raise InputError(
                    f"The column '{credit_col}' holds fewer than two values: it must name both "
                    "rankers (such as A and B)."
                )
            default_a = levels.index("A") if "A" in levels else 0
            label_a = c3.selectbox("Ranker A is", levels, index=default_a, key=f"{K}il_a")
            rest = [v for v in levels if v != label_a]
            label_b = c4.selectbox(
                "Ranker B is", rest, index=rest.index("B") if "B" in rest else 0, key=f"{K}il_b"
            )
            counts = interleaving.user_outcomes(
                get_connection(),
                ds,
                user=user_col,
                credit=credit_col,
                label_a=label_a,
                label_b=label_b,
            )
        if counts is not None:
            wins_a, wins_b, ties, silent = counts
            result = interleaving.analyze_counts(wins_a, wins_b, ties)
            done.update(interleaving=result, label_a=label_a, label_b=label_b)
            lines = mv.interleaving_lines(result, label_a, label_b, silent)
            if result.preferred == "A":
                banner(st.success, f"Users prefer {md(label_a)}", lines, ":material/thumb_up:")
            elif result.preferred == "B":
                banner(st.error, f"Users prefer {md(label_b)}", lines, ":material/thumb_down:")
            else:
                lines.append(
                    "Collect more users (see the sizing below) or keep the current ranker."
                )
                banner(st.info, "No clear preference", lines, ":material/balance:")
            st.altair_chart(
                launch_charts.preference_chart(result, label_a, label_b),
                width="stretch",
                height=150,
            )

            st.subheader("How many users does the test need?", divider="gray")
            rate = interleaving.click_rate(wins_a, wins_b, ties, silent)
            observed = abs(result.delta) if result.preferred != "none" else 0.0
            s1, s2 = st.columns(2)
            target = s1.number_input(
                "Preference to detect (Δ)",
                min_value=0.001,
                max_value=0.2,
                value=round(observed, 3) if observed >= 0.001 else config.INTERLEAVING_PREFERENCE,
                step=0.005,
                format="%.3f",
                key=f"{K}il_target",
                help="Starts at the preference measured above when there is one.",
            )
            lift = s2.number_input(
                "Lift the same change brings in an A/B test (% relative, on the click rate)",
                min_value=0.1,
                max_value=50.0,
                value=config.INTERLEAVING_AB_LIFT * 100,
                step=0.5,
                key=f"{K}il_lift",
                help="A/B differences between good rankers are small: often about 1% or less.",
            )
            sizing = interleaving.size_test(target, result.tie_share, rate, lift / 100)
            done["sizing"] = sizing
            m1, m2, m3 = st.columns(3)
            m1.metric("Interleaving: users with a click", f"{sizing.interleaving_users:,}")
            m2.metric("Equivalent A/B test: users", f"{sizing.ab_users:,}")
            m3.metric("Interleaving needs", f"{sizing.ratio:,.0f}× fewer users")
            st.caption(
                f"From your log: {rate:.0%} of users clicked, {result.tie_share:.0%} of them tied. "
                f"The A/B size tests a {lift:g}% lift on that {rate:.0%} click rate "
                "(5% two-sided, 80% power), as the Plan page computes it."
            )
            base = (st.context.url or "").split("?")[0].rsplit("/", 1)[0]
            link = f"{base}/model-launch?" + urlencode(
                {
                    "interleaving": interleaving.counts_to_param(*counts),
                    "a": label_a,
                    "b": label_b,
                }
            )
            with st.expander("Share link", icon=":material/link:"):
                st.caption(
                    "Carries only the four per-user counts (preferred A, preferred B, tied, "
                    "never clicked): whoever opens it sees this verdict and sizing."
                )
                st.code(link, language=None)
    except InputError as exc:
        st.error(md(exc), icon=":material/error:")
    return done


def render_canary() -> canary_engine.CanaryResult | None:
    """2 · The canary: each metric judged against the baseline, a score and a verdict.

    Returns the judgement (None when there is none), which the ramp plan and the report read.
    """
    st.markdown(
        "**Canary.** The new version (canary) runs beside an identical copy of the current "
        "one (baseline). Each metric's per-minute values are compared; a metric **fails** when "
        "it moved in its bad direction by more than its tolerance, with 98% confidence. The "
        "score is the weighted share of passing metrics: promote at 95 or more, hold from 75, "
        "roll back below (Netflix Kayenta's defaults)."
    )
    choice = source(
        "cn",
        {"canary": "Demo: canary with a regression", "canary_null": "Demo: healthy canary"},
        "The healthy demo has no planted change: it must be promoted.",
    )
    result = None
    try:
        ds = pick_dataset("cn", choice)
        if ds is not None:
            names = list(ds.names)
            c1, c2, c3 = st.columns(3)
            group_col = c1.selectbox(
                "Group column",
                names,
                index=mv.guess(names, ["group", "deployment", "variant", "version"]),
                key=f"{K}cn_group",
            )
            levels = canary_engine.group_levels(get_connection(), ds, group_col)
            base_label = c2.selectbox(
                "Baseline is",
                levels,
                index=mv.guess(levels, ["baseline", "control", "old"]),
                key=f"{K}cn_base",
            )
            others = [v for v in levels if v != base_label] or levels
            canary_label = c3.selectbox(
                "Canary is",
                others,
                index=mv.guess(others, ["canary", "new", "treatment"]),
                key=f"{K}cn_canary",
            )
            candidates = [c for c in mv.numeric_columns(ds) if c != group_col]
            chosen = st.multiselect(
                "Metrics", candidates, default=candidates[:6], key=f"{K}cn_metrics"
            )
            setup = pd.DataFrame(
                {
                    "metric": chosen,
                    "fails when it": [canary_engine.guess_fail_on(m) for m in chosen],
                    "tolerance %": [config.CANARY_TOLERANCE * 100] * len(chosen),
                    "weight": [1.0] * len(chosen),
                    "critical": [False] * len(chosen),
                }
            ).astype({"tolerance %": "float64", "weight": "float64", "critical": "bool"})
            if not chosen:
                raise InputError("Choose at least one metric column to judge the canary on.")
            edited = st.data_editor(
                setup,
                hide_index=True,
                width="stretch",
                disabled=["metric"],
                key=f"{K}cn_setup_{'_'.join(chosen)}",
                column_config={
                    "fails when it": st.column_config.SelectboxColumn(
                        options=list(canary_engine.FAIL_ON),
                        required=True,
                        help="The bad direction: latency and errors fail when they go up.",
                    ),
                    "tolerance %": st.column_config.NumberColumn(min_value=0.0, max_value=100.0),
                    "weight": st.column_config.NumberColumn(min_value=0.01),
                    "critical": st.column_config.CheckboxColumn(
                        help="A critical metric that fails sets the score to 0."
                    ),
                },
            )
            metrics = [
                canary_engine.CanaryMetric(
                    str(row["metric"]),
                    str(row["fails when it"]),
                    float(row["weight"]),
                    bool(row["critical"]),
                    float(row["tolerance %"]) / 100,
                )
                for row in edited.to_dict("records")
            ]
            base, can = canary_engine.read_canary(
                get_connection(),
                ds,
                group=group_col,
                baseline=base_label,
                canary=canary_label,
                metrics=chosen,
            )
            result = canary_engine.judge_canary(base, can, metrics)
            title = mv.CANARY_TITLES[result.verdict]
            draw, icon = {
                "promote": (st.success, ":material/rocket_launch:"),
                "hold": (st.warning, ":material/pause_circle:"),
                "roll back": (st.error, ":material/undo:"),
            }[result.verdict]
            next_step = mv.CANARY_NEXT_STEPS[result.verdict]
            banner(
                draw,
                f"{title} · score {result.score:.0f} / 100",
                [*map(md, result.reasons), f"**Next step:** {next_step}"],
                icon,
            )
            left, right = st.columns([1, 1])
            left.altair_chart(
                launch_charts.canary_chart(result),
                width="stretch",
                height=44 * len(result.metrics) + 150,
            )
            table = result.table()
            right.dataframe(mv.canary_frame(table), hide_index=True, width="stretch")
    except InputError as exc:
        st.error(md(exc), icon=":material/error:")
    return result


def render_shadow() -> Any:
    """2 · The shadow run: how often the two models agree, and where they differ most.

    Returns the comparison (None when there is none) for the report.
    """
    st.subheader("Shadow run: same requests, both models", divider="gray")
    st.markdown(
        "The new model answers every request too, but its answer is not served. How often do "
        "the two agree, how different are their scores and latencies, and where do they "
        "disagree most?"
    )
    choice = source(
        "sh", {"shadow": "Demo: fraud model v2 in shadow"}, "Paired outputs per request."
    )
    shadow = None
    try:
        ds = pick_dataset("sh", choice)
        if ds is not None:
            names = list(ds.names)
            nums = mv.numeric_columns(ds)
            c1, c2, c3, c4, c5 = st.columns(5)
            request_col = c1.selectbox(
                "Request id", names, index=mv.guess(names, ["request", "id"]), key=f"{K}sh_req"
            )
            cur_col = c2.selectbox(
                "Current output",
                names,
                index=mv.guess(names, ["current", "old", "prod"]),
                key=f"{K}sh_cur",
            )
            new_col = c3.selectbox(
                "New output",
                names,
                index=mv.guess(names, ["new", "shadow", "candidate"], fallback=2),
                key=f"{K}sh_new",
            )
            lat_options = [mv.NONE, *nums]
            cur_lat = c4.selectbox(
                "Current latency",
                lat_options,
                index=(mv.guess(lat_options, ["current_lat", "old_lat"], fallback=None) or 0),
                key=f"{K}sh_clat",
            )
            new_lat = c5.selectbox(
                "New latency",
                lat_options,
                index=(mv.guess(lat_options, ["new_lat", "shadow_lat"], fallback=None) or 0),
                key=f"{K}sh_nlat",
            )
            cols = [request_col, cur_col, new_col] + [c for c in (cur_lat, new_lat) if c != mv.NONE]
            frame = canary_engine.read_columns(get_connection(), ds, cols)
            shadow = canary_engine.compare_shadow(
                frame,
                current=cur_col,
                new=new_col,
                request=request_col,
                current_latency=mv.optional(cur_lat),
                new_latency=mv.optional(new_lat),
            )
            lines = mv.shadow_lines(shadow)
            draw = st.success if shadow.agreement >= 0.95 else st.warning
            banner(draw, f"Agreement {shadow.agreement:.1%}", lines, ":material/difference:")
            left, right = st.columns([1, 1.2])
            if shadow.score is not None:
                left.altair_chart(
                    launch_charts.shadow_chart(frame, cur_col, new_col, shadow.decision_threshold),
                    width="stretch",
                    height=400,
                )
            right.markdown("**Requests where the models differ most**")
            right.dataframe(shadow.top_disagreements, hide_index=True, width="stretch")
    except InputError as exc:
        st.error(md(exc), icon=":material/error:")
    return shadow


def render_ramp(canary: canary_engine.CanaryResult | None) -> tuple[Any, ...] | None:
    """2 · The ramp plan: how long each traffic step must run to notice a harm.

    The guardrail starts at the canary's baseline error rate when the canary has one.
    Returns the steps (None when the inputs make none) for the report.
    """
    st.subheader("Ramp plan: how long each traffic step must run", divider="gray")
    guard_default = 0.01
    if canary is not None:
        rates = [m for m in canary.metrics if "error" in m.name.lower()]
        if rates and 0 < rates[0].baseline_median < 1:
            guard_default = float(rates[0].baseline_median)
    r1, r2, r3 = st.columns(3)
    daily = r1.number_input(
        "Requests per day (both versions)",
        min_value=100,
        value=1_000_000,
        step=100_000,
        key=f"{K}rp_daily",
    )
    guard = r2.number_input(
        "Guardrail: current error rate (%)",
        min_value=0.001,
        max_value=99.0,
        value=round(guard_default * 100, 3),
        step=0.1,
        format="%.3f",
        key=f"{K}rp_rate",
        help="Starts at the baseline's median error rate in the canary data above.",
    )
    harm = r3.number_input(
        "Harm to detect (% relative)",
        min_value=1.0,
        max_value=500.0,
        value=config.RAMP_GUARDRAIL_HARM * 100,
        step=1.0,
        key=f"{K}rp_harm",
    )
    steps = None
    try:
        steps = canary_engine.ramp_plan(daily, guard / 100, harm / 100)
        left, right = st.columns([1.2, 1])
        right.altair_chart(launch_charts.ramp_chart(steps), width="stretch", height=320)
        left.dataframe(mv.ramp_frame(steps), hide_index=True, width="stretch")
        left.caption(
            f"Each step must run long enough to notice the error rate rising from {guard:g}% "
            f"by {harm:g}% (one-sided test at 5%, 80% power); the smaller the step, the "
            "longer it must run."
        )
    except ValueError as exc:
        st.error(f"{md(exc)} Change it above and the plan will update.", icon=":material/error:")
    return steps


def render_drift() -> Any:
    """3 · Drift: did the features, the outcome or their link move since training?

    Returns the report (None when there is none) for the launch report.
    """
    st.markdown(
        "Compare recent production data (**current**) with the data the model learned from "
        "(**reference**): did a feature move (covariate shift), did the outcome become more or "
        "less common (label shift), or did the link between a feature and the outcome change "
        "(concept shift)?"
    )
    choice = source(
        "dr",
        {"drift_current": "Demo: churn model, drifting", "drift_current_null": "Demo: stable"},
        "The stable demo comes from the same process as its reference: nothing should flag.",
    )
    report = None
    try:
        if choice == "upload":
            u1, u2 = st.columns(2)
            with u1:
                ref_ds = pick_dataset("dr_ref", "upload", "Reference data (training period)")
            with u2:
                cur_ds = pick_dataset("dr_cur", "upload", "Current data (production)")
        else:
            ref_ds, cur_ds = demo_dataset("drift_reference"), demo_dataset(choice)
        if ref_ds is not None and cur_ds is not None:
            ref, cur = drift.read_pair(get_connection(), ref_ds, cur_ds)
            shared = list(ref.columns)
            options = [mv.NONE, *shared]
            d1, d2, d3, d4 = st.columns(4)
            label = d1.selectbox(
                "Label (outcome)",
                options,
                index=mv.guess(
                    options, ["churn", "label", "target", "converted", "outcome"], fallback=0
                ),
                key=f"{K}dr_label",
            )
            pred = d2.selectbox(
                "Model prediction",
                options,
                index=mv.guess(options, ["score", "pred", "proba"], fallback=0),
                key=f"{K}dr_pred",
            )
            time_col = d3.selectbox(
                "Time",
                options,
                index=mv.guess(options, ["time", "date", "day"], fallback=0),
                key=f"{K}dr_time",
            )
            method = d4.selectbox(
                "Test",
                list(drift.METHODS),
                format_func=mv.DRIFT_METHODS.get,
                key=f"{K}dr_method",
            )
            report = drift.drift_report(
                ref,
                cur,
                label=mv.optional(label),
                prediction=mv.optional(pred),
                timestamp=mv.optional(time_col),
                method=method,
            )
            title, draw, icon = {
                "stable": ("Stable: nothing moved", st.success, ":material/check_circle:"),
                "drift": ("Drift: the data moved", st.warning, ":material/trending_up:"),
                "concept shift": (
                    "Concept shift: retrain the model",
                    st.error,
                    ":material/warning:",
                ),
            }[report.verdict]
            banner(draw, title, [md(line) for line in (*report.sentences, *report.notes)], icon)
            m1, m2, m3, m4 = st.columns(4)
            moved = sum(f.drifted for f in report.features)
            m1.metric("Features that moved", f"{moved} of {len(report.features)}")
            m2.metric(
                "Dataset drift",
                "yes" if report.dataset_drift else "no",
                help=f"Yes when at least {report.share_threshold:.0%} of the features moved.",
            )
            m3.metric(
                "Label shift",
                "n/a" if report.label is None else ("yes" if report.label.drifted else "no"),
            )
            if report.error_reference is not None and report.error_current is not None:
                m4.metric(
                    "Model error",
                    f"{report.error_current:.3f}",
                    delta=f"{report.error_current - report.error_reference:+.3f} vs reference",
                    delta_color="inverse",
                )
            st.altair_chart(
                launch_charts.drift_over_time_chart(report), width="stretch", height=440
            )
            charts_row = st.columns(2)
            err = launch_charts.error_over_time_chart(report)
            if err is not None:
                charts_row[0].altair_chart(err, width="stretch", height=360)
            flagged = [c for c in report.concept if c.flagged]
            if flagged:
                charts_row[1].altair_chart(
                    launch_charts.concept_chart(flagged[0], label), width="stretch", height=380
                )
            table = report.table()
            st.dataframe(mv.drift_frame(table), hide_index=True, width="stretch")
    except InputError as exc:
        st.error(md(exc), icon=":material/error:")
    return report
