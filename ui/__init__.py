"""Streamlit-side helpers shared by the pages: session state, messages. No statistics here."""
