"""Start: which experiment is open, and how to begin a new one.

The app's home (its address is ``/``; every other page has its own: ``/plan``,
``/results``...). A new experiment is blank (its plan follows the first file, or is typed on
Plan), starts from a funnel template (Metrics), or from a file (Results). The bundled demo
is labelled as the demo; leaving it is one click, and coming back another.
"""

from __future__ import annotations

import contextlib

import streamlit as st
from streamlit.errors import StreamlitAPIException

from abcore import config
from abcore.funnel import TEMPLATES, FunnelSetup, plan_with_funnel
from abcore.plan import ExperimentPlan
from ui import experiment_state as es
from ui import experiments_state as ers
from ui.state import get_plan
from ui.text import md

K = "start__"


def _go(page: str, **query: str) -> None:
    with contextlib.suppress(StreamlitAPIException):  # the page run alone (tests): no router
        st.switch_page(page, query_params=query or None)


def render_saved_link() -> None:
    """The way to the saved experiments (the Experiments page is their one list); an old
    ``/?experiment=<id>`` address goes on to the Experiments page, which opens it."""
    wanted = ers.linked_id()
    if wanted:
        _go("app_pages/experiments.py", **{ers.LINK_PARAM: wanted})
    with contextlib.suppress(StreamlitAPIException):  # the page run alone (tests): no router
        st.page_link(
            "app_pages/experiments.py", label="Saved experiments →", icon=":material/inventory_2:"
        )


def render_current() -> None:
    """The open experiment: its name, whether it is the demo, its fingerprint."""
    plan = get_plan()
    with st.container(border=True):
        label = " · the bundled demo" if es.is_demo() else ""
        st.markdown(f"**Open experiment:** {md(plan.name)}{label}")
        st.caption(
            f"Success metric {md(plan.success.name) if plan.success else '(none)'} · arms "
            f"{md(', '.join(plan.expected_shares))} · fingerprint `{plan.fingerprint()}`"
        )
        if es.is_demo():
            st.caption(
                "The demo is a made-up checkout test, there to show every page with numbers. "
                "Your own data is never judged by its plan: start an experiment below."
            )


def _blank_name() -> str:
    return st.session_state.get(K + "name", "").strip() or "Untitled experiment"


def render_new() -> None:
    """Three ways to begin, and the way back to the demo."""
    st.subheader("New experiment", divider="gray")
    st.text_input(
        "Name", key=K + "name", max_chars=config.NAME_MAX_CHARS, placeholder="e.g. Checkout copy"
    )
    c1, c2, c3 = st.columns(3, gap="medium")
    with c1.container(border=True):
        st.markdown("**From your data**")
        st.caption(
            "Upload the results file: the plan takes its metrics, arms, control and split "
            "from it, and you confirm them."
        )
        if st.button("Upload results", key=K + "file", icon=":material/upload_file:"):
            es.start_blank(_blank_name())
            _go("app_pages/results.py")
    with c2.container(border=True):
        st.markdown("**Blank plan**")
        st.caption(
            "Size a test before it runs: type the baseline, the effect worth detecting and "
            "the traffic. A file uploaded later fills in the arms and metrics."
        )
        if st.button("Plan it", key=K + "blank", icon=":material/calculate:"):
            es.start_blank(_blank_name())
            _go("app_pages/plan.py")
    with c3.container(border=True):
        st.markdown("**From a funnel template**")
        key = st.selectbox(
            "Template",
            list(TEMPLATES),
            format_func=lambda k: TEMPLATES[k].title,
            key=K + "template",
            label_visibility="collapsed",
        )
        if st.button("Use the funnel", key=K + "funnel", icon=":material/filter_alt:"):
            setup = FunnelSetup.from_template(key)
            stages = setup.funnel.stages
            after = stages[min(stages.index(setup.change_stage) + 1, len(stages) - 1)]
            plan = plan_with_funnel(ExperimentPlan(name=_blank_name()), setup, success_stage=after)
            es.start(plan)
            _go("app_pages/metrics.py")
    if not es.is_demo() and st.button(
        "Back to the demo", key=K + "demo", icon=":material/science:", type="tertiary"
    ):
        es.start_demo()
        st.rerun()


st.title("A/B planner & interpreter")
st.caption(
    "Plan a test (how many users, how many days), then read its results: effects with "
    "intervals, trust checks and a launch decision. The pages follow an experiment's life: "
    "Metrics → Plan → Results → Validity & decision."
)
render_current()
render_saved_link()
render_new()
