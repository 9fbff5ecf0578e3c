"""Per-session state: the plan, the DuckDB connection, and the link that carries the plan.

Everything lives in ``st.session_state``, which Streamlit keeps per browser session, so two
users never share a plan or a connection.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from abcore import ExperimentPlan, InputError

PLAN_KEY = "plan"
WIDGET_PREFIX = "plan__"
LOADED_PARAM_KEY = "_loaded_plan_param"
DEMO_PLAN_PATH = Path(__file__).resolve().parent.parent / "sample_data" / "demo_plan.json"


def demo_plan() -> ExperimentPlan:
    """The plan of the bundled demo experiment, so the app opens on something real."""
    if DEMO_PLAN_PATH.exists():
        return ExperimentPlan.from_json(DEMO_PLAN_PATH.read_text(encoding="utf-8"))
    return ExperimentPlan(name="Demo experiment")


def get_plan() -> ExperimentPlan:
    if PLAN_KEY not in st.session_state:
        st.session_state[PLAN_KEY] = demo_plan()
    return st.session_state[PLAN_KEY]


def set_plan(plan: ExperimentPlan, *, reset_widgets: bool = False) -> None:
    """Store the plan; ``reset_widgets`` re-seeds the Plan page's inputs from it."""
    st.session_state[PLAN_KEY] = plan
    if reset_widgets:
        for key in [k for k in st.session_state if str(k).startswith(WIDGET_PREFIX)]:
            del st.session_state[key]


def load_plan_from_link() -> str | None:
    """Adopt the plan carried by the URL, once per distinct link; return an error sentence."""
    packed = st.query_params.get("plan")
    if not packed or st.session_state.get(LOADED_PARAM_KEY) == packed:
        return None
    st.session_state[LOADED_PARAM_KEY] = packed
    try:
        plan = ExperimentPlan.from_query_params({"plan": packed})
    except InputError as exc:
        return f"The shared link could not be opened: {exc} The demo plan is shown instead."
    set_plan(plan, reset_widgets=True)
    return None


def sync_link(plan: ExperimentPlan) -> None:
    """Make the address bar carry ``plan``, remembering it so it is not re-adopted as new."""
    params = plan.to_query_params()
    st.session_state[LOADED_PARAM_KEY] = params["plan"]
    if st.query_params.get("plan") != params["plan"]:
        st.query_params.from_dict(params)
