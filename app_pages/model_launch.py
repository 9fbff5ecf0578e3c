"""Model launch: evaluate a new model (interleaving), deploy it (canary, shadow, ramp), watch it
(drift).

Thin page: uploads go through ``abcore.ingest`` into this session's DuckDB connection
(``ui.model_launch_state``); ``abcore.launch.interleaving``, ``.canary`` and ``.drift``
compute everything; ``abcore.launch.launch_charts`` draws it. Each tool is a ``render_*`` function
of ``ui.model_launch_sections`` and opens on a seeded demo with a planted effect, or its null
twin where nothing should be flagged.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from abcore.launch.launch_report import launch_report_markdown
from ui.model_launch_sections import (
    K,
    render_canary,
    render_drift,
    render_interleaving,
    render_ramp,
    render_shadow,
)


def render_deploy() -> dict[str, Any]:
    """Tab 2: the canary, the shadow run and the ramp plan (which starts from the canary)."""
    canary = render_canary()
    shadow = render_shadow()
    return {"canary": canary, "shadow": shadow, "ramp": render_ramp(canary)}


def render_report(done: dict[str, Any]) -> None:
    """Every tool's verdict and numbers in one Markdown download (a tool without a result,
    None, is left out)."""
    st.download_button(
        "Download the launch report (Markdown)",
        launch_report_markdown(**done),
        file_name="model_launch_report.md",
        mime="text/markdown",
        icon=":material/download:",
        key=f"{K}report",
        help="Every tool's verdict and numbers, as shown in the three tabs.",
    )


st.title("Model launch")
st.caption(
    "Launching a model in three steps: **evaluate** it against the current one with an "
    "interleaving test, **deploy** it safely with a canary (plus a shadow run and a traffic "
    "ramp), then **watch** its data for drift. Each tab opens on a seeded demo; pick "
    "'My own file' to use yours."
)
report_slot = st.container()
tab_eval, tab_deploy, tab_watch = st.tabs(
    [
        ":material/compare_arrows: 1 · Interleaving test",
        ":material/rocket_launch: 2 · Canary, shadow & ramp",
        ":material/monitoring: 3 · Drift monitoring",
    ]
)
with tab_eval:
    done = render_interleaving()
with tab_deploy:
    done.update(render_deploy())
with tab_watch:
    done["drift"] = render_drift()
with report_slot:
    render_report(done)
