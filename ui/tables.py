"""Table settings shared by every page's ``st.dataframe``.

On a phone a wide table scrolls sideways; its key columns (what each row is: the metric, the
check, the experiment) are pinned so they stay in view while the numbers scroll.
"""

from __future__ import annotations

from typing import Any

import streamlit as st


def pinned(*columns: str, **config: Any) -> dict[str, Any]:
    """A ``column_config`` that pins ``columns`` (kept in view when the table scrolls) and
    holds the other columns' settings given in ``config``."""
    out: dict[str, Any] = {c: st.column_config.Column(pinned=True) for c in columns}
    out.update(config)
    return out
