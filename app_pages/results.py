"""Results: upload the experiment's data and read the effects."""

from __future__ import annotations

import streamlit as st

st.title("Results")
st.info(
    "This page will take your results file (CSV or Parquet: one row per user, a per-arm "
    "summary, or daily counts), compute the sufficient statistics in DuckDB and show the "
    "effect of every metric in every arm with confidence intervals, p-values, CUPED and "
    "multiple-testing correction. The demo experiment will be loaded here by default.",
    icon=":material/construction:",
)
st.page_link("app_pages/plan.py", label="Back to the Plan", icon=":material/arrow_back:")
