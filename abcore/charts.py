"""Pure Altair chart builders: data in, ``alt.Chart`` out, no Streamlit.

Each chart marks the plan's current choice, so a product manager sees where they stand on
the curve and what moving along it costs.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

__all__ = ["detectable_lift_chart", "power_days_chart", "sample_size_chart"]

ACCENT = "#e4572e"
LINE = "#1f6feb"


def _rule_x(value: float, title: str) -> alt.Chart:
    data = pd.DataFrame({"x": [value], "label": [title]})
    rule = alt.Chart(data).mark_rule(color=ACCENT, strokeDash=[4, 3]).encode(x="x:Q")
    text = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, dy=-6, color=ACCENT, baseline="top")
        .encode(x="x:Q", y=alt.value(0), text="label:N")
    )
    return rule + text


def sample_size_chart(
    curve: pd.DataFrame, planned_mde: float, *, relative: bool = True, binary: bool = True
) -> alt.LayerChart:
    """Users per arm against the minimum detectable effect, the planned one marked."""
    data = curve.assign(mde_shown=curve["mde"] * (100 if relative or binary else 1))
    planned = planned_mde * (100 if relative or binary else 1)
    unit = "relative lift, %" if relative else ("percentage points" if binary else "absolute")
    line = (
        alt.Chart(data)
        .mark_line(color=LINE, strokeWidth=2.5)
        .encode(
            x=alt.X("mde_shown:Q", title=f"Minimum detectable effect ({unit})"),
            y=alt.Y("n_control:Q", title="Users per arm", scale=alt.Scale(type="log")),
            tooltip=[
                alt.Tooltip("mde_shown:Q", title="MDE", format=".3g"),
                alt.Tooltip("n_control:Q", title="Users per arm", format=",.0f"),
                alt.Tooltip("days:Q", title="Days"),
            ],
        )
    )
    return (line + _rule_x(planned, "your MDE")).properties(
        height=260, title="Smaller effects need many more users"
    )


def power_days_chart(days: pd.DataFrame, target: float, planned_days: int) -> alt.LayerChart:
    """Power at the planned MDE for each day the test runs."""
    line = (
        alt.Chart(days)
        .mark_line(color=LINE, strokeWidth=2.5)
        .encode(
            x=alt.X("day:Q", title="Days running"),
            y=alt.Y(
                "power:Q", title="Power", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])
            ),
            tooltip=[
                alt.Tooltip("day:Q", title="Day"),
                alt.Tooltip("power:Q", title="Power", format=".1%"),
            ],
        )
    )
    target_rule = (
        alt.Chart(pd.DataFrame({"y": [target]}))
        .mark_rule(color="gray", strokeDash=[2, 2])
        .encode(y="y:Q")
    )
    return (line + target_rule + _rule_x(planned_days, "planned end")).properties(
        height=260, title="Chance to detect your MDE, by day"
    )


def detectable_lift_chart(
    days: pd.DataFrame, planned_mde: float, planned_days: int
) -> alt.LayerChart:
    """Smallest relative lift detectable after each day (at the plan's alpha and power)."""
    data = days.assign(lift_pct=days["detectable_lift"] * 100)
    line = (
        alt.Chart(data)
        .mark_line(color=LINE, strokeWidth=2.5)
        .encode(
            x=alt.X("day:Q", title="Days running"),
            y=alt.Y("lift_pct:Q", title="Detectable relative lift (%)"),
            tooltip=[
                alt.Tooltip("day:Q", title="Day"),
                alt.Tooltip("lift_pct:Q", title="Detectable lift %", format=".2f"),
            ],
        )
    )
    target = (
        alt.Chart(pd.DataFrame({"y": [planned_mde * 100]}))
        .mark_rule(color="gray", strokeDash=[2, 2])
        .encode(y="y:Q")
    )
    return (line + target + _rule_x(planned_days, "planned end")).properties(
        height=260, title="What you can detect if you stop early"
    )
