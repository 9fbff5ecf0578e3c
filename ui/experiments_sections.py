"""Sections of the Experiments page and the registry's few controls on other pages (Save in
the sidebar, Register on Plan, the decision record and amendments on Decision).

Each section takes the registry and draws; the registry's calls and the session live in
:mod:`ui.experiments_state`, the words and tables in :mod:`ui.experiments_view`, and the
statistics of the learning views in :mod:`abcore.learning`.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import altair as alt
import streamlit as st
from streamlit.errors import StreamlitAPIException

from abcore import learning
from abcore.plan import ExperimentPlan
from abcore.registry import (
    STATUSES,
    ConflictError,
    Experiment,
    Registry,
    RegistryError,
    changed_after_launch,
    plan_diff,
)
from ui import experiment_state as es
from ui import experiments_state as ers
from ui import experiments_view as ev
from ui.state import upload_limit_mb
from ui.tables import pinned
from ui.text import md

K = "experiments__"


def _go(page: str) -> None:
    with contextlib.suppress(StreamlitAPIException):  # the page run alone (tests): no router
        st.switch_page(page)


def _pct(x: float) -> str:
    return f"{x * 100:+.2f}%"


# --- the Save action (sidebar) --------------------------------------------------------------


def render_conflict(reg: Registry, where: Any = st) -> None:
    """The sentence of a save that lost a race, and the way to reload the other version."""
    sentence = st.session_state.get(ers.CONFLICT_KEY)
    if not sentence:
        return
    where.warning(sentence, icon=":material/sync_problem:")
    if where.button("Reload the saved version", key=K + "reload", icon=":material/refresh:"):
        ers.reload_current(reg)
        st.rerun()


def render_save(where: Any = st) -> None:
    """Save the open experiment (never the demo), and what is saved."""
    if es.is_demo():  # checked first: a demo session never opens the database
        where.caption("The demo is not saved: start your own experiment to save it.")
        return
    if not ers.who().workspaces:  # login configured, nobody logged in: nothing is saved
        where.caption("Log in to save this experiment.")
        return
    reg = ers.registry()
    if reg is None:
        where.caption(ers.unavailable())
        return
    rec = ers.record()
    label = "Save" if rec is None else "Save changes"
    if where.button(label, key=K + "save", icon=":material/save:", width="stretch"):
        try:
            exp = ers.save(reg)
            where.caption(f"Saved {ev.when(exp.updated_at)}.")
        except ConflictError:
            pass
        except RegistryError as exc:
            where.error(md(exc), icon=":material/error:")
    elif rec is not None:
        where.caption(f"Saved experiment · version {rec['version']}")
    render_conflict(reg, where)


def render_register(plan: ExperimentPlan) -> None:
    """Register the plan before launch (the Plan page), or say when it was registered."""
    st.subheader("Pre-registration", divider="gray")
    if es.is_demo():
        st.caption("Start your own experiment to register its plan; the demo is not saved.")
        return
    reg = ers.registry()
    if reg is None:
        st.caption(ers.unavailable())
        return
    rec = ers.record()
    frozen = None
    if rec is not None:
        with contextlib.suppress(RegistryError):
            frozen = reg.registration(ers.who().workspaces, rec["id"])
    if frozen is not None:
        st.caption(
            f":material/lock: Registered {ev.when(frozen.registered_at)} by "
            f"{md(frozen.registered_by)} (fingerprint `{frozen.fingerprint}`). A change of the "
            "plan saved from now on is recorded as a dated amendment, shown on the Validity & "
            "decision page and in the report."
        )
        with contextlib.suppress(RegistryError):
            saved = reg.get(ers.who().workspaces, rec["id"]).plan
            changes = plan_diff(saved, plan.to_dict())
            if changes:
                st.warning(
                    f"Not saved yet: {md(changed_after_launch(changes))}. Save (sidebar) "
                    "records it as a dated amendment.",
                    icon=":material/edit_note:",
                )
        return
    st.caption(
        "Register the plan before the test starts: it is saved and frozen with the time and "
        f"its fingerprint (`{plan.fingerprint()}`), so any later change shows as an amendment."
    )
    if st.button("Register the plan", key=K + "register", icon=":material/lock:"):
        try:
            ers.register(reg)
            st.rerun()
        except ConflictError:
            render_conflict(reg)
        except RegistryError as exc:
            st.error(md(exc), icon=":material/error:")


# --- the Decision page: amendments and the decision record ----------------------------------


def render_amendments() -> list[str]:
    """The registered plan's amendments (changed after launch), dated; returns their lines."""
    rec = ers.record()
    reg = ers.registry() if rec is not None else None
    if reg is None or rec is None:
        return []
    try:
        lines = ev.amendment_lines(reg.amendments(ers.who().workspaces, rec["id"]))
    except RegistryError:
        return []
    if lines:
        st.warning(
            "**The plan changed after it was registered:**\n\n"
            + "\n".join(f"- {md(line)}" for line in lines),
            icon=":material/edit_note:",
        )
    return lines


def render_decision_record(recommendation: Any) -> None:
    """Record the verdict with a rationale, and the records so far (the Decision page)."""
    st.subheader("Decision record", divider="gray")
    rec = ers.record()
    if rec is None:
        st.caption(
            "Save the experiment (sidebar) to record the decision with your rationale; the "
            "demo is not saved."
        )
        return
    reg = ers.registry()
    if reg is None:
        st.caption(ers.unavailable())
        return
    try:
        records = reg.decisions(ers.who().workspaces, rec["id"])
    except RegistryError as exc:
        st.caption(md(exc))
        return
    for d in reversed(records):
        with st.container(border=True):
            st.markdown(f"**{md(ev.decision_line(d))}**")
            if d.rationale:
                st.markdown(md(d.rationale))
            if d.reasons:
                st.caption(" · ".join(md(r) for r in d.reasons[:4]))
    if recommendation is None:
        st.caption("A plan with a success metric gives a verdict to record.")
        return
    with st.form(K + "decide", clear_on_submit=True, border=False):
        rationale = st.text_area(
            f"Why {ev.VERDICT_LABELS.get(recommendation.verdict, recommendation.verdict)}? "
            "(your rationale, saved with the verdict)",
            key=K + "rationale",
            max_chars=4000,
        )
        if st.form_submit_button("Record the decision", icon=":material/gavel:"):
            try:
                ers.record_decision(reg, recommendation, rationale)
                st.rerun()
            except RegistryError as exc:
                st.error(md(exc), icon=":material/error:")


# --- the Experiments page -------------------------------------------------------------------


def render_filters() -> tuple[str, list[str]]:
    c1, c2 = st.columns([2, 1.4], gap="medium")
    search = c1.text_input("Search by name", key=K + "search", placeholder="e.g. checkout")
    statuses = c2.multiselect(
        "Status",
        list(STATUSES),
        format_func=ev.STATUS_LABELS.get,
        key=K + "status",
        placeholder="All statuses",
    )
    return search, statuses


def render_list(experiments: tuple[Experiment, ...]) -> Experiment | None:
    """The table, and the picker of the experiment the actions below act on."""
    st.dataframe(
        ev.list_frame(experiments), hide_index=True, width="stretch", column_config=pinned("Name")
    )
    ids = [e.id for e in experiments]
    by_id = {e.id: e for e in experiments}
    rec = ers.record()
    index = ids.index(rec["id"]) if rec is not None and rec["id"] in by_id else 0
    chosen = st.selectbox(
        "Experiment to open or change",
        ids,
        index=index,
        format_func=lambda i: ev.option_label(by_id[i]),
        key=K + "chosen",
    )
    return by_id.get(chosen)


def render_actions(reg: Registry, exp: Experiment) -> None:
    """Open, duplicate, archive, export and delete (with a confirmation) one experiment."""
    me = ers.who()
    row = st.container(horizontal=True, gap="small")  # wraps on a phone
    c1 = c2 = c3 = c4 = c5 = row
    try:
        if c1.button("Open", key=K + "open", icon=":material/folder_open:", type="primary"):
            ers.reopen(reg, exp.id)
            # its results when it has some (the Plan page re-sizes the plan it opens)
            _go("app_pages/results.py" if ers.saved_readout() else "app_pages/plan.py")
            st.rerun()
        if c2.button("Duplicate", key=K + "duplicate", icon=":material/content_copy:"):
            copy = reg.duplicate(me.workspaces, exp.id, owner=me.user)
            st.session_state[K + "flash"] = f"Made {copy.name!r}, a draft with the same plan."
            st.rerun()
        if c3.button(
            "Archive", key=K + "archive", icon=":material/archive:",
            disabled=exp.status == "archived",
        ):  # fmt: skip
            archived = reg.archive(me.workspaces, exp.id, expected_version=exp.version, by=me.user)
            if (ers.record() or {}).get("id") == exp.id:  # the open one: its next save is ours
                ers.remember(archived)
            st.session_state[K + "flash"] = f"Archived {exp.name!r}; its records stay."
            st.rerun()
        c4.download_button(
            "Export",
            json.dumps(reg.export_experiment(me.workspaces, exp.id), indent=1),
            file_name=f"experiment-{exp.id[:8]}.json",
            mime="application/json",
            key=K + "export",
            icon=":material/download:",
        )
        if c5.button("Delete", key=K + "delete", icon=":material/delete:"):
            st.session_state[K + "confirm"] = exp.id
        if st.session_state.get(K + "confirm") == exp.id:
            render_delete_confirm(reg, exp)
        render_copy_link(exp)
    except RegistryError as exc:
        st.error(md(exc), icon=":material/error:")


def render_copy_link(exp: Experiment) -> None:
    """The chosen experiment's address, to copy: it opens the experiment for the members of
    its workspace only (a reviewer without an account needs a results link instead)."""
    st.caption(
        "Copy link: opens it for anyone logged in to its workspace. For a reviewer without "
        "an account, share the results link on the Validity & decision page."
    )
    st.code(ev.experiment_address(st.context.url, exp.id), language=None, wrap_lines=True)


def render_link(reg: Registry) -> None:
    """Open the experiment the address names (``?experiment=<id>``), or say in a sentence
    that it is not in the user's workspaces."""
    wanted = ers.linked_id()
    if not wanted:
        return
    try:
        opened, sentence = ers.open_link(reg, wanted)
    except RegistryError as exc:
        st.error(md(exc), icon=":material/error:")
        return
    if opened:
        st.success(md(sentence), icon=":material/link:")
        st.session_state.setdefault(K + "chosen", wanted)
    else:
        st.error(md(sentence), icon=":material/link_off:")


def render_delete_confirm(reg: Registry, exp: Experiment) -> None:
    st.warning(
        f"Delete **{md(exp.name)}** with its registration, snapshots and decision records? "
        "This cannot be undone (Export keeps a copy).",
        icon=":material/warning:",
    )
    c1, c2, _ = st.columns([1, 1, 3])
    if c1.button("Yes, delete it", key=K + "delete_yes", type="primary"):
        reg.delete(ers.who().workspaces, exp.id)
        st.session_state.pop(K + "confirm", None)
        if (ers.record() or {}).get("id") == exp.id:
            st.session_state.pop(ers.RECORD_KEY, None)
        st.session_state[K + "flash"] = f"Deleted {exp.name!r}."
        st.rerun()
    if c2.button("Cancel", key=K + "delete_no"):
        st.session_state.pop(K + "confirm", None)
        st.rerun()


def render_timeline(reg: Registry, exp: Experiment) -> None:
    with st.expander(f"Timeline of {md(exp.name)}", icon=":material/timeline:", expanded=True):
        try:
            frame = ev.timeline_frame(reg.timeline(ers.who().workspaces, exp.id))
        except RegistryError as exc:
            st.caption(md(exc))
            return
        st.dataframe(frame, hide_index=True, width="stretch")


def render_import(reg: Registry) -> None:
    with st.expander("Import an experiment (JSON export)", icon=":material/upload:"):
        file = st.file_uploader(
            "Experiment file", type=["json"], key=K + "import", max_upload_size=upload_limit_mb()
        )
        if file is None:
            return
        if st.session_state.get(K + "imported") == file.file_id:
            st.caption("Imported: it is in the list above.")
            return
        try:
            exp = reg.import_experiment(ers.who().workspace, file.getvalue())
        except RegistryError as exc:
            st.error(md(exc), icon=":material/error:")
            return
        st.session_state[K + "imported"] = file.file_id
        st.session_state[K + "flash"] = f"Imported {exp.name!r}."
        st.rerun()


# --- learning -------------------------------------------------------------------------------


def _learned(reg: Registry) -> tuple[dict[str, list[learning.PastResult]], list[Any]]:
    """Per metric, the decided experiments' results; and their plan-vs-actual comparisons.
    Read once per experiment version (a snapshot's readout is recomputed from its cells)."""
    me = ers.who()
    cache = st.session_state.setdefault(K + "learned", {})
    per_metric: dict[str, list[learning.PastResult]] = {}
    comparisons = []
    for exp in reg.list(me.workspaces):
        if exp.verdict is None:
            continue
        key = f"{exp.id}|{exp.version}|{exp.verdict}"
        if key not in cache:
            cache[key] = _one(reg, exp)
        results, comparison = cache[key]
        for metric, past in results.items():
            per_metric.setdefault(metric, []).append(past)
        if comparison is not None:
            comparisons.append(comparison)
    return per_metric, comparisons


def _one(reg: Registry, exp: Experiment) -> tuple[dict[str, learning.PastResult], Any]:
    snaps = reg.snapshots(ers.who().workspaces, exp.id)
    if not snaps:
        return {}, None
    plan = exp.experiment_plan()
    try:
        analysis = ers.snapshot_analysis(snaps[-1], None)
    except (RegistryError, ValueError):
        return {}, None
    past = ev.past_results(
        analysis.effects, name=exp.name, won=exp.verdict == "ship", alpha=analysis.alpha
    )
    try:
        comparison = learning.plan_vs_actual(plan, learning.observed_numbers(analysis))
    except ValueError:
        comparison = None
    return past, comparison


def render_learning(reg: Registry) -> None:
    """What the workspace's decided experiments say about the next one, per metric."""
    st.subheader("What past experiments say", divider="gray")
    try:
        per_metric, comparisons = _learned(reg)
    except RegistryError as exc:
        st.caption(md(exc))
        return
    if not per_metric:
        st.caption(
            "Nothing to learn from yet: record a decision on an experiment with saved results "
            "(Validity & decision page) and it joins these views."
        )
        return
    metrics = sorted(per_metric, key=lambda m: -len(per_metric[m]))
    metric = st.selectbox(
        "Metric", metrics, key=K + "metric",
        format_func=lambda m: f"{m} ({len(per_metric[m])} decided)",
    )  # fmt: skip
    learned = learning.learn_metric(metric, per_metric[metric])
    s = learned.summary
    c1, c2, c3 = st.columns(3)
    c1.metric("Decided experiments", s.n)
    c2.metric(
        "Win rate",
        f"{s.win_rate:.0%}",
        help=f"Shipped {s.n_won} of {s.n}; {1 - s.alpha:.0%} interval "
        f"{s.win_rate_ci_low:.0%} to {s.win_rate_ci_high:.0%} (Wilson).",
    )
    c3.metric("Median observed lift", _pct(s.quantile(0.5)))
    frame = ev.distribution_frame(per_metric[metric])
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("Observed lift:Q", bin=alt.Bin(maxbins=20), axis=alt.Axis(format="%")),
            y=alt.Y("count():Q", title="Experiments", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("Won:N", title=None, legend=alt.Legend(orient="top")),
        )
        .properties(height=220)
    )
    st.altair_chart(chart, width="stretch")
    render_prior(learned)
    render_plan_actual(comparisons)


def render_prior(learned: learning.MetricLearning) -> None:
    prior = learned.prior
    if not prior.usable:
        st.caption(md(prior.message or ""))
        return
    st.markdown(
        f"**Empirical-Bayes prior** from {prior.n} experiments: true lifts are about "
        f"{_pct(prior.mu)} give or take {prior.tau * 100:.2f}%."
    )
    if st.button("Use it as the prior of the Bayesian view on Results", key=K + "use_prior"):
        args = learned.bayes_prior
        st.session_state["results__bayes"] = True
        st.session_state["results__prior"] = "proper"
        st.session_state["results__prior_mean"] = float(args["prior_mean"] or 0) * 100
        st.session_state["results__prior_sd"] = max(float(args["prior_sd"] or 0) * 100, 0.1)
        st.caption("Set: the Results page's Bayesian view now starts from it.")
    wins = ev.shrinkage_frame(learned.shrinkage)
    if len(wins):
        st.caption(md(learned.shrinkage.note))
        pct = st.column_config.NumberColumn(format="percent")
        st.dataframe(
            wins, hide_index=True, width="stretch",
            column_config={c: pct for c in ("Raw lift", "Shrunken lift")},
        )  # fmt: skip


def render_plan_actual(comparisons: list[Any]) -> None:
    if not comparisons:
        return
    frame = ev.plan_actual_frame(learning.team_numbers(comparisons))
    if frame.empty:
        return
    st.markdown(
        "**Plan versus actual:** what the decided experiments saw over what their plans "
        "assumed (the median; 0.70x is 30% less than planned)."
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={"Observed / planned": st.column_config.NumberColumn(format="%.2fx")},
    )
