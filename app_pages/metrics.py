"""Metrics: choose the success metric, guardrails and randomization unit from the funnel."""

from __future__ import annotations

import streamlit as st

from ui.state import get_plan

st.title("Choose what to measure")
st.caption("Coming next: the customer funnel, and how sensitive each stage is.")
plan = get_plan()
st.info(
    "This page will show your customer funnel (from a template or an uploaded event log), "
    "how many users and days each stage needs to detect your target lift, and let you pick "
    "the success metric, secondary metrics and guardrails with their margins. "
    "Until then, set the success metric and guardrails on the **Plan** page.",
    icon=":material/construction:",
)
st.markdown("**Metrics in the current plan**")
st.dataframe(
    [
        {"metric": m.name, "role": m.role, "type": m.type, "good direction": m.direction}
        for m in plan.metrics
    ],
    hide_index=True,
)
st.page_link("app_pages/plan.py", label="Go to the Plan", icon=":material/arrow_forward:")
