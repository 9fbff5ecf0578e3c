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

from abcore.errors import InputError
from abcore.experiment import drop_metrics, rename_metric
from abcore.model import Mapping
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


def render_binding(plan: ExperimentPlan, mapping: Mapping) -> None:
    """What following the file changed in the plan, and one question per missing metric."""
    for note in es.bind_notes():
        st.info(md(note), icon=":material/link:")
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
            key = f"{K}{metric}"
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
