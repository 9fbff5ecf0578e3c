"""Validity & decision: can the numbers be trusted, and should we launch?"""

from __future__ import annotations

import streamlit as st

st.title("Validity & decision")
st.info(
    "This page will check the experiment's validity (sample ratio mismatch, A/A and "
    "pre-period balance, novelty and primacy, instrumentation) and turn the results, the "
    "guardrails and the plan into a launch recommendation: Ship, Don't ship, Keep running "
    "or Investigate, each with its reasons.",
    icon=":material/construction:",
)
st.page_link("app_pages/plan.py", label="Back to the Plan", icon=":material/arrow_back:")
