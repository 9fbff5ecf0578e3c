"""Results page: how the uploaded file and the experiment's plan were bound, and the questions
binding leaves (a plan metric the file does not have).

The binding itself is :func:`ui.experiment_state.bind` (arms, control and split follow the
file; a new experiment takes its metrics from it); this module shows its sentences and asks,
for each plan metric missing from the file, which column it is or whether to drop it. An
unanswered question keeps the Validity & decision page from giving a verdict: it is never
turned into an "Investigate" about the data.
"""

from __future__ import annotations

import streamlit as st

from abcore import config
from abcore.errors import InputError
from abcore.experiment import drop_metrics, rename_metric, with_roles
from abcore.model import Aggregates, Mapping
from abcore.plan import ExperimentPlan
from ui import experiment_state as es
from ui import results_state as rs
from ui.state import seed, set_plan
from ui.text import md

K = "results__bind__"
DROP = "Not in this data: drop it from the plan"
CHOOSE = "Choose a column…"


def missing_metrics(plan: ExperimentPlan, mapping: Mapping) -> list[str]:
    """The plan's metrics the data does not have, success metric first."""
    have = {m.name for m in mapping.metrics}
    return [m.name for m in plan.metrics if m.name not in have]


def _answer(plan: ExperimentPlan, metric: str, key: str) -> None:
    choice = st.session_state.get(key)
    try:
        if choice == DROP:
            plan = drop_metrics(plan, [metric])
        elif choice and choice != CHOOSE:
            plan = rename_metric(plan, metric, str(choice))
        else:
            return
    except InputError as exc:
        st.session_state[K + "error"] = str(exc)
        return
    set_plan(plan, reset_widgets=True)


def _set_roles(plan: ExperimentPlan, aggregates: Aggregates) -> None:
    try:
        new = with_roles(
            plan,
            aggregates,
            success=st.session_state[K + "success"],
            guardrails=st.session_state.get(K + "guardrails", []),
        )
    except InputError as exc:
        st.session_state[K + "error"] = str(exc)
        return
    set_plan(new, reset_widgets=True)


def render_roles_choice(plan: ExperimentPlan, aggregates: Aggregates) -> None:
    """The success metric and the guardrails, chosen among the data's metrics."""
    names = [m.name for m in aggregates.mapping.metrics]
    success = plan.success.name if plan.success is not None else None
    if success not in names:
        return  # a question below asks which column it is first
    guards = [g.name for g in plan.guardrails if g.name in names]
    # follow the plan when it changes elsewhere (Plan page, a reopened experiment)
    if st.session_state.get(K + "seeded") != (success, guards):
        st.session_state[K + "success"] = success
        st.session_state[K + "guardrails"] = guards
        st.session_state[K + "seeded"] = (success, guards)
    c1, c2 = st.columns([1, 1.6])
    c1.selectbox(
        "Success metric",
        names,
        key=K + "success",
        on_change=_set_roles,
        args=(plan, aggregates),
        help="The metric the launch decision is about. Its planned effect carries over.",
    )
    c2.multiselect(
        "Guardrails (must not get worse)",
        [n for n in names if n != success],
        key=K + "guardrails",
        on_change=_set_roles,
        args=(plan, aggregates),
        help="Each is tested for non-inferiority at its margin (new ones: "
        f"{config.GUARDRAIL_MARGIN:.0%} worse, relative); set margins and directions in the "
        "Plan page's guardrails table.",
    )


def render_binding(plan: ExperimentPlan, aggregates: Aggregates) -> None:
    """What following the file changed in the plan, the success metric and guardrails, and
    one question per missing metric."""
    mapping = aggregates.mapping
    for note in es.bind_notes():
        st.info(md(note), icon=":material/link:")
    render_roles_choice(plan, aggregates)
    missing = missing_metrics(plan, mapping)
    if not missing:
        return
    planned = {m.name for m in plan.metrics}
    columns = [m.name for m in mapping.metrics if m.name not in planned]
    with st.container(border=True):
        st.markdown(
            "**The plan names metrics this file does not have.** Say which column holds "
            "each, or drop it; the decision waits for the answer."
        )
        error = st.session_state.pop(K + "error", None)
        if error:
            st.error(md(error), icon=":material/error:")
        for metric in missing:
            spec = next(m for m in plan.metrics if m.name == metric)
            options = [CHOOSE, *columns] + ([] if spec.role == "success" else [DROP])
            key = f"{K}q__{metric}"
            st.selectbox(
                f"Which column is the plan's {spec.role} metric {md(metric)}?",
                options,
                key=key,
                on_change=_answer,
                args=(plan, metric, key),
            )


def render_split(
    loaded: rs.Loaded, computed: rs.Computed, mapping: Mapping, plan: ExperimentPlan | None
) -> tuple[dict[str, float], bool]:
    """Each arm's planned share (for the sample-ratio check), seeded from the plan or an
    equal split; returns the shares in percent and whether they are the seeded ones."""
    st.markdown("**Planned split** (for the sample-ratio check)")
    arms = list(computed.aggregates.variants)
    if plan is not None:
        planned = {a: plan.expected_shares[a] * 100 for a in arms}
    else:
        planned = {a: 100 / len(arms) for a in arms}
    cols = st.columns(min(len(arms), 6))
    shares = {}
    for i, arm in enumerate(arms):
        shares[arm] = cols[i % len(cols)].number_input(
            f"{md(arm)} (%)",
            min_value=0.1,
            max_value=99.9,
            step=1.0,
            format="%.3g",
            key=seed(f"{loaded.widget_prefix}share::{mapping.variant}::{arm}", planned[arm]),
        )
    return shares, all(abs(shares[a] - planned[a]) < 1e-9 for a in arms)
