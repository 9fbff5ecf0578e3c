"""Router: page config, the plan carried by a shared link, and the navigation."""

from __future__ import annotations

import streamlit as st

from ui.auth import render_account
from ui.decision_state import load_results_from_link
from ui.experiment_state import is_demo
from ui.experiments_sections import render_save
from ui.state import get_plan, load_plan_from_link
from ui.text import md

st.set_page_config(page_title="A/B planner & interpreter", page_icon="🧪", layout="wide")

link_errors = [e for e in (load_plan_from_link(), load_results_from_link()) if e]

pages = [
    # the home is its own page, so every other page has its own address (/plan...): the
    # default page is served at / only
    st.Page("app_pages/start.py", title="Start", icon=":material/home:", default=True),
    st.Page(
        "app_pages/experiments.py",
        title="Experiments",
        icon=":material/inventory_2:",
        url_path="experiments",
    ),
    st.Page(
        "app_pages/metrics.py", title="Metrics", icon=":material/filter_alt:", url_path="metrics"
    ),
    st.Page("app_pages/plan.py", title="Plan", icon=":material/calculate:", url_path="plan"),
    st.Page(
        "app_pages/results.py", title="Results", icon=":material/monitoring:", url_path="results"
    ),
    st.Page(
        "app_pages/decision.py",
        title="Validity & decision",
        icon=":material/verified:",
        url_path="decision",
    ),
    st.Page(
        "app_pages/model_launch.py",
        title="Model launch",
        icon=":material/model_training:",
        url_path="model-launch",
    ),
]
page = st.navigation(pages)

for error in link_errors:
    st.error(md(error), icon=":material/link_off:")

page.run()

# Drawn after the page so it shows the plan as the page left it.
plan = get_plan()
with st.sidebar:
    st.caption("Experiment · the bundled demo" if is_demo() else "Experiment")
    st.markdown(f"**{md(plan.name)}**")
    st.caption(f"Plan fingerprint `{plan.fingerprint()}`")
    if is_demo():
        st.page_link("app_pages/start.py", label="Start your own", icon=":material/add:")
    render_account()
    render_save()
