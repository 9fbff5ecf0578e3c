"""Pure Altair chart builders: data in, ``alt.Chart`` out, no Streamlit.

Each chart marks the plan's current choice, so a product manager sees where they stand on
the curve and what moving along it costs.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from abcore.funnel import Funnel, plural

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


FIXED_LABEL = "Fixed horizon"
METHOD_COLOR = "#8250df"


def _series(
    data: pd.DataFrame, columns: dict[str, str], method_label: str | None
) -> tuple[pd.DataFrame, alt.Color]:
    """Long data with a ``series`` column: the fixed horizon, and the plan's method when its
    columns are there, so both curves share one axis and a legend names them."""
    fixed_col, method_col = columns["fixed"], columns["method"]
    frames = [data.assign(value=data[fixed_col], series=FIXED_LABEL)]
    if method_label and method_col in data:
        frames.append(data.assign(value=data[method_col], series=method_label))
    long = pd.concat(frames, ignore_index=True)
    names = list(dict.fromkeys(long["series"]))
    color = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=names, range=[LINE, METHOD_COLOR][: len(names)]),
        legend=alt.Legend(orient="bottom") if len(names) > 1 else None,
    )
    return long, color


def sample_size_chart(
    curve: pd.DataFrame,
    planned_mde: float,
    *,
    relative: bool = True,
    binary: bool = True,
    method_label: str | None = None,
) -> alt.LayerChart:
    """Users per arm against the minimum detectable effect, the planned one marked.

    With ``method_label`` and the curve's ``n_control_method`` column (a peeking-safe plan)
    the method's curve is drawn above the fixed horizon's: the gap is what peeking costs.
    """
    data = curve.assign(mde_shown=curve["mde"] * (100 if relative or binary else 1))
    if "days_method" not in data:
        data["days_method"] = data["days"]
    planned = planned_mde * (100 if relative or binary else 1)
    unit = "relative lift, %" if relative else ("percentage points" if binary else "absolute")
    long, color = _series(data, {"fixed": "n_control", "method": "n_control_method"}, method_label)
    long["days_shown"] = np.where(long["series"] == FIXED_LABEL, long["days"], long["days_method"])
    line = (
        alt.Chart(long)
        .mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X("mde_shown:Q", title=f"Minimum detectable effect ({unit})"),
            y=alt.Y("value:Q", title="Users per arm", scale=alt.Scale(type="log")),
            color=color,
            tooltip=[
                alt.Tooltip("series:N", title="Analysis"),
                alt.Tooltip("mde_shown:Q", title="MDE", format=".3g"),
                alt.Tooltip("value:Q", title="Users per arm", format=",.0f"),
                alt.Tooltip("days_shown:Q", title="Days"),
            ],
        )
    )
    return (line + _rule_x(planned, "your MDE")).properties(
        height=260, title="Smaller effects need many more users"
    )


def power_days_chart(
    days: pd.DataFrame, target: float, planned_days: int, *, method_label: str | None = None
) -> alt.LayerChart:
    """Power at the planned MDE for each day the test runs (and under the plan's method,
    from ``power_method``, when ``method_label`` is given)."""
    long, color = _series(days, {"fixed": "power", "method": "power_method"}, method_label)
    line = (
        alt.Chart(long)
        .mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X("day:Q", title="Days running"),
            y=alt.Y(
                "value:Q", title="Power", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])
            ),
            color=color,
            tooltip=[
                alt.Tooltip("series:N", title="Analysis"),
                alt.Tooltip("day:Q", title="Day"),
                alt.Tooltip("value:Q", title="Power", format=".1%"),
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
    days: pd.DataFrame,
    planned_mde: float,
    planned_days: int,
    *,
    method_label: str | None = None,
) -> alt.LayerChart:
    """Smallest relative lift detectable after each day (at the plan's alpha and power),
    and under the plan's method (``detectable_lift_method``) when ``method_label`` is given."""
    cols = {"fixed": "detectable_lift", "method": "detectable_lift_method"}
    long, color = _series(days, cols, method_label)
    long["lift_pct"] = long["value"] * 100
    line = (
        alt.Chart(long)
        .mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X("day:Q", title="Days running"),
            y=alt.Y("lift_pct:Q", title="Detectable relative lift (%)"),
            color=color,
            tooltip=[
                alt.Tooltip("series:N", title="Analysis"),
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


# --------------------------------------------------------------------------------------------
# Results page: effects with intervals, lift over time, daily units, segments
# --------------------------------------------------------------------------------------------

__all__ += [
    "cumulative_lift_chart",
    "daily_units_chart",
    "forest_chart",
    "segment_chart",
]

GOOD = "#1a7f37"
BAD = "#cf222e"
NEUTRAL = "#6e7781"
ARM_COLORS = ["#1f6feb", "#e4572e", "#8250df", "#bf8700", "#1a7f37", "#cf222e", "#0a7ea4"]
_STATUS_COLORS = {
    "better": GOOD,
    "worse": BAD,
    "significant": LINE,
    "not significant": NEUTRAL,
}
_STATUS_LABELS = {
    "better": "Significant, good direction",
    "worse": "Significant, wrong direction",
    "significant": "Significant",
    "not significant": "Not significant",
}


def _finite_extent(values: pd.Series, floor: float) -> float:
    """Half-width of a symmetric axis that holds every finite value (at least ``floor``)."""
    finite = pd.to_numeric(values, errors="coerce").replace([float("inf"), float("-inf")], None)
    finite = finite.dropna().abs()
    return max(float(finite.max()) * 1.15, floor) if not finite.empty else floor


def _clip_intervals(frame: pd.DataFrame, limit: float) -> pd.DataFrame:
    """Clip interval ends to ``[-limit, limit]`` and flag the rows whose interval was cut.

    An unbounded (Fieller) or huge interval would otherwise squash every other row into a
    dot; the flag lets the tooltip say "unbounded" instead of a misleading number.
    """
    low = pd.to_numeric(frame["rel_ci_low"], errors="coerce").astype(float)
    high = pd.to_numeric(frame["rel_ci_high"], errors="coerce").astype(float)
    cut = (low < -limit) | (high > limit)
    return frame.assign(
        ci_low_shown=low.clip(lower=-limit).fillna(-limit),
        ci_high_shown=high.clip(upper=limit).fillna(limit),
        ci_cut=cut | low.isna() | high.isna(),
    )


def _status(frame: pd.DataFrame, directions: dict[str, str] | None, label: str) -> pd.Series:
    """better / worse when the metric's good direction is known, else significant or not."""
    directions = directions or {}
    out = []
    for row in frame.itertuples(index=False):
        row = row._asdict()
        if not bool(row.get("significant")):
            out.append("not significant")
            continue
        direction = directions.get(str(row.get("metric", row.get(label))))
        if direction is None:
            out.append("significant")
        else:
            up = float(row["rel_effect"]) > 0
            out.append("better" if up == (direction == "increase") else "worse")
    return pd.Series(out, index=frame.index, dtype="object")


def forest_chart(
    effects: pd.DataFrame,
    margins: dict[str, float] | None = None,
    *,
    directions: dict[str, str] | None = None,
    label: str = "metric",
    title: str = "Relative effect of each metric, with its confidence interval",
) -> alt.LayerChart:
    """Relative effect per row with its interval: a forest plot.

    Args:
        effects: one row per (``label``, ``arm``) with ``rel_effect``, ``rel_ci_low``,
            ``rel_ci_high`` and ``significant`` (as :func:`abcore.analysis.effects_table`).
            Rows without a relative effect (a failed comparison) are left out.
        margins: ``{metric: threshold}``, the relative effect a guardrail must not cross,
            signed (``+0.02`` for a lower-is-better metric allowed 2% worse); drawn as a
            dashed tick on that metric's row.
        directions: ``{metric: "increase" | "decrease"}``, the good direction, so a
            significant effect is coloured as good or bad news.
        label: the column naming each row (``"segment_value"`` for a segment breakdown).

    The axis spans every interval up to +-100% (further when an estimate itself is larger);
    longer intervals (an unbounded Fieller interval, a tiny arm) are cut at its edge and the
    tooltip says so.

    >>> df = pd.DataFrame({"metric": ["converted"], "arm": ["b"], "rel_effect": [0.05],
    ...                    "rel_ci_low": [0.01], "rel_ci_high": [0.09], "significant": [True]})
    >>> len(forest_chart(df, {"converted": -0.02}).layer)
    5
    """
    data = effects.copy()
    data = data[pd.to_numeric(data["rel_effect"], errors="coerce").notna()]
    data = data[~data["rel_effect"].isin([float("inf"), float("-inf")])]
    if "arm" not in data.columns:
        data["arm"] = ""
    finite = pd.concat([data["rel_ci_low"], data["rel_ci_high"], data["rel_effect"]])
    margin_values = pd.Series(list((margins or {}).values()), dtype=float)
    limit = _finite_extent(pd.concat([finite, margin_values]), 0.02)
    # One tiny arm's +1,800% interval must not flatten every other row: past +-100% (or
    # past 1.5x the largest estimate) the axis stops and the longer intervals are cut.
    limit = min(limit, max(1.0, 1.5 * _finite_extent(data["rel_effect"], 0.0)))
    data = _clip_intervals(data, limit)
    data["status"] = _status(data, directions, label).map(_STATUS_LABELS)
    data["row"] = data[label].astype(str)
    data["arm"] = data["arm"].astype(str)
    data["interval"] = [
        "unbounded (read the absolute effect)" if cut else f"{lo:+.2%} to {hi:+.2%}"
        for cut, lo, hi in zip(data["ci_cut"], data["rel_ci_low"], data["rel_ci_high"], strict=True)
    ]
    order = list(dict.fromkeys(data["row"]))
    several_arms = data["arm"].nunique() > 1
    x_scale = alt.Scale(domain=[-limit, limit])
    y = alt.Y("row:N", title=None, sort=order, axis=alt.Axis(labelLimit=220))
    present = [k for k in _STATUS_COLORS if _STATUS_LABELS[k] in set(data["status"])]
    color = alt.Color(
        "status:N",
        title=None,
        scale=alt.Scale(
            domain=[_STATUS_LABELS[k] for k in present],
            range=[_STATUS_COLORS[k] for k in present],
        ),
        legend=alt.Legend(orient="bottom", columns=2, labelLimit=260),
    )
    tooltip = [
        alt.Tooltip("row:N", title=label.replace("_", " ").capitalize()),
        alt.Tooltip("arm:N", title="Arm"),
        alt.Tooltip("rel_effect:Q", title="Relative effect", format="+.2%"),
        alt.Tooltip("interval:N", title="Confidence interval"),
        alt.Tooltip("status:N", title="Result"),
    ]
    encode_offset = {"yOffset": alt.YOffset("arm:N", title="Arm")} if several_arms else {}
    base = alt.Chart(data)
    bars = base.mark_rule(strokeWidth=2.5).encode(
        x=alt.X(
            "ci_low_shown:Q",
            title="Relative effect (treatment vs control)",
            scale=x_scale,
            axis=alt.Axis(format="+%"),
        ),
        x2="ci_high_shown:Q",
        y=y,
        color=color,
        tooltip=tooltip,
        **encode_offset,
    )
    points = base.mark_point(filled=True, size=90).encode(
        x=alt.X("rel_effect:Q", scale=x_scale),
        y=y,
        color=color,
        shape=alt.Shape("arm:N", title="Arm", legend=alt.Legend(orient="bottom"))
        if several_arms
        else alt.Undefined,
        tooltip=tooltip,
        **encode_offset,
    )
    zero = (
        alt.Chart(pd.DataFrame({"x": [0.0]}))
        .mark_rule(color="#444", strokeWidth=1)
        .encode(x=alt.X("x:Q", scale=x_scale))
    )
    layers = [zero, bars, points]
    if margins:
        rows = [
            {"row": str(m), "margin": float(v), "what": f"guardrail margin {float(v):+.1%}"}
            for m, v in margins.items()
            if str(m) in order and v is not None
        ]
        margin_frame = pd.DataFrame(rows, columns=["row", "margin", "what"])
        margin_base = alt.Chart(margin_frame).encode(
            x=alt.X("margin:Q", scale=x_scale),
            y=alt.Y("row:N", sort=order),
            tooltip=[alt.Tooltip("row:N", title="Metric"), alt.Tooltip("what:N", title="")],
        )
        layers.append(margin_base.mark_tick(color=ACCENT, strokeDash=[4, 3], thickness=2))
        layers.append(
            margin_base.mark_text(align="left", dx=5, dy=-9, fontSize=10, color=ACCENT).encode(
                text=alt.value("margin")
            )
        )
    per_row = 34 * (1 + 0.6 * (data["arm"].nunique() - 1)) if several_arms else 34
    height = 170 + per_row * max(len(order), 2)
    return alt.layer(*layers).properties(height=height, title=title)


def _day_axis(daily: pd.DataFrame) -> alt.X:
    """Dates as a time axis; text day labels (no year) in the order they come."""
    if pd.api.types.is_datetime64_any_dtype(daily["day"]):
        return alt.X("day:T", title="Day", axis=alt.Axis(format="%b %d"))
    return alt.X("day:O", title="Day", sort=list(dict.fromkeys(daily["day"].astype(str))))


def cumulative_lift_chart(
    daily: pd.DataFrame,
    *,
    title: str = "Relative lift so far, day by day",
    first_day: Any = None,
    first_day_label: str = "interval first excludes 0",
) -> alt.LayerChart:
    """The relative effect as it stood at the end of each day, with its interval as a band.

    Args:
        daily: rows of one metric from :func:`abcore.analysis.cumulative_effects`: ``day``,
            ``arm``, ``rel_effect``, ``rel_ci_low``, ``rel_ci_high``.

    The first days' intervals are very wide, so the vertical axis is fitted to the later
    days and earlier bands are cut at its edges: a settling line is what the reader needs.
    ``first_day`` (e.g. ``daily["first_day_excluding_zero"]``) draws a labelled rule on the
    first day the band left zero behind; under a peeking-safe method the band is the
    confidence sequence (or the group-sequential boundary), valid on every day shown.

    >>> df = pd.DataFrame({"day": pd.to_datetime(["2026-03-02", "2026-03-03"]),
    ...                    "arm": "b", "rel_effect": [0.1, 0.05],
    ...                    "rel_ci_low": [-0.3, -0.05], "rel_ci_high": [0.5, 0.15]})
    >>> [layer.mark.type for layer in cumulative_lift_chart(df).layer]
    ['rule', 'area', 'line']
    """
    data = daily.copy()
    if not pd.api.types.is_datetime64_any_dtype(data["day"]):
        data["day"] = data["day"].astype(str)
    days = list(dict.fromkeys(data["day"]))
    later = data[data["day"].isin(days[len(days) // 3 :])]
    limit = _finite_extent(
        pd.concat([later["rel_ci_low"], later["rel_ci_high"], data["rel_effect"]]), 0.02
    )
    data = _clip_intervals(data, limit)
    x = _day_axis(data)
    scale = alt.Scale(domain=[-limit, limit], clamp=True)
    arms = list(dict.fromkeys(data["arm"].astype(str)))
    color = alt.Color(
        "arm:N",
        title="Arm",
        scale=alt.Scale(domain=arms, range=ARM_COLORS[1 : len(arms) + 1]),
        legend=alt.Legend(orient="bottom") if len(arms) > 1 else None,
    )
    tooltip = [
        alt.Tooltip("day:T" if x.shorthand == "day:T" else "day:O", title="Day"),
        alt.Tooltip("arm:N", title="Arm"),
        alt.Tooltip("rel_effect:Q", title="Lift so far", format="+.2%"),
        alt.Tooltip("rel_ci_low:Q", title="CI low", format="+.2%"),
        alt.Tooltip("rel_ci_high:Q", title="CI high", format="+.2%"),
    ]
    band = (
        alt.Chart(data)
        .mark_area(opacity=0.18)
        .encode(
            x=x,
            y=alt.Y(
                "ci_low_shown:Q", scale=scale, title="Relative lift", axis=alt.Axis(format="+%")
            ),
            y2="ci_high_shown:Q",
            color=color,
        )
    )
    line = (
        alt.Chart(data)
        .mark_line(strokeWidth=2.5, point=True)
        .encode(x=x, y=alt.Y("rel_effect:Q", scale=scale), color=color, tooltip=tooltip)
    )
    zero = (
        alt.Chart(pd.DataFrame({"y": [0.0]}))
        .mark_rule(color="#444")
        .encode(y=alt.Y("y:Q", scale=scale))
    )
    layers = [zero, band, line]
    if first_day is not None and not (isinstance(first_day, float) and np.isnan(first_day)):
        marker = pd.DataFrame({"day": [first_day], "label": [first_day_label]})
        if not pd.api.types.is_datetime64_any_dtype(data["day"]):
            marker["day"] = marker["day"].astype(str)
        else:
            marker["day"] = pd.to_datetime(marker["day"])
        layers.append(
            alt.Chart(marker).mark_rule(color=GOOD, strokeDash=[5, 3], strokeWidth=2).encode(x=x)
        )
        # the label reads towards the middle of the chart, so it is never cut at an edge
        late = str(marker["day"].iloc[0]) in {str(d) for d in days[len(days) // 2 :]}
        layers.append(
            alt.Chart(marker)
            .mark_text(
                align="right" if late else "left",
                dx=-5 if late else 5,
                dy=6,
                baseline="top",
                color=GOOD,
                fontWeight="bold",
            )
            .encode(x=x, y=alt.value(0), text="label:N")
        )
    return alt.layer(*layers).properties(height=340, title=title)


def daily_units_chart(
    units: pd.DataFrame, *, title: str = "Users entering the test each day"
) -> alt.Chart:
    """New units per arm per day: gaps, ramps and one arm losing traffic show here first.

    Args:
        units: ``day``, ``arm`` and ``units`` (e.g. the day level of the aggregates).

    >>> df = pd.DataFrame({"day": ["Sat, Oct 11"] * 2, "arm": ["a", "b"], "units": [10, 12]})
    >>> daily_units_chart(df).mark.type
    'line'
    """
    data = units.copy()
    if not pd.api.types.is_datetime64_any_dtype(data["day"]):
        data["day"] = data["day"].astype(str)
    arms = list(dict.fromkeys(data["arm"].astype(str)))
    x = _day_axis(data)
    return (
        alt.Chart(data)
        .mark_line(strokeWidth=2.5, point=True)
        .encode(
            x=x,
            y=alt.Y("units:Q", title="Units", axis=alt.Axis(format=",.0f")),
            color=alt.Color(
                "arm:N",
                title="Arm",
                scale=alt.Scale(domain=arms, range=ARM_COLORS[: len(arms)]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("day:T" if x.shorthand == "day:T" else "day:O", title="Day"),
                alt.Tooltip("arm:N", title="Arm"),
                alt.Tooltip("units:Q", title="Units", format=",.0f"),
            ],
        )
        .properties(height=320, title=title)
    )


def segment_chart(
    segments: pd.DataFrame,
    *,
    directions: dict[str, str] | None = None,
    title: str = "Relative effect by segment",
) -> alt.LayerChart:
    """A forest plot of one metric across the values of one segment column.

    Args:
        segments: rows of :func:`abcore.analysis.segment_effects` for one segment column and
            one metric; colours use the adjusted significance.
    """
    return forest_chart(segments, directions=directions, label="segment_value", title=title)


# ---- validity charts ------------------------------------------------------------------------


def _note_rules(notes: list[dict] | None) -> alt.Chart | None:
    if not notes:
        return None
    data = pd.DataFrame(notes)
    data["day"] = pd.to_datetime(data["day"], errors="coerce")
    data = data.dropna(subset=["day"])
    if data.empty:
        return None
    rule = (
        alt.Chart(data)
        .mark_rule(color="#8250df", strokeDash=[3, 3])
        .encode(
            x="day:T",
            tooltip=[alt.Tooltip("day:T", title="Day"), alt.Tooltip("note:N", title="Note")],
        )
    )
    text = (
        alt.Chart(data)
        .mark_text(align="left", dx=3, dy=4, baseline="top", color="#8250df", fontSize=11)
        .encode(x="day:T", y=alt.value(0), text="note:N")
    )
    return rule + text


def srm_daily_chart(by_day: pd.DataFrame, notes: list[dict] | None = None) -> alt.LayerChart:
    """The control's share of each day's new units against the planned share."""
    data = by_day.assign(day=pd.to_datetime(by_day["day"], errors="coerce"))
    base = alt.Chart(data)
    line = base.mark_line(color=LINE, point=True).encode(
        x=alt.X("day:T", title="Day", axis=alt.Axis(format="%b %d")),
        y=alt.Y(
            "control_share:Q",
            title="Control's share of the day's units",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(zero=False),
        ),
        tooltip=[
            alt.Tooltip("day:T", title="Day"),
            alt.Tooltip("control_share:Q", title="Control share", format=".2%"),
            alt.Tooltip("p_value:Q", title="SRM p-value", format=".3g"),
            alt.Tooltip("status:N", title="Status"),
        ],
    )
    flagged = (
        base.transform_filter(alt.datum.status != "pass")
        .mark_point(color=ACCENT, size=90, filled=True)
        .encode(x="day:T", y="control_share:Q")
    )
    expected = base.mark_rule(color="gray", strokeDash=[4, 3]).encode(
        y="mean(expected_control_share):Q"
    )
    layers = [line, flagged, expected]
    rules = _note_rules(notes)
    if rules is not None:
        layers.append(rules)
    return alt.layer(*layers).properties(
        height=240, title="Split by day (dashed: planned share; red: days that are off)"
    )


def pvalue_histogram(p_values, alpha: float = 0.05, bins: int = 20) -> alt.LayerChart:
    """Histogram of A/A p-values: flat when the test is calibrated, a spike near 0 when not."""
    data = pd.DataFrame({"p_value": np.asarray(p_values, dtype=float)})
    expected = len(data) / bins
    bars = (
        alt.Chart(data)
        .mark_bar(color=LINE, opacity=0.85)
        .encode(
            x=alt.X("p_value:Q", bin=alt.Bin(step=1 / bins, extent=[0, 1]), title="p-value"),
            y=alt.Y("count():Q", title="Simulated A/A tests"),
            tooltip=[alt.Tooltip("count():Q", title="Tests")],
        )
    )
    flat = (
        alt.Chart(pd.DataFrame({"y": [expected]}))
        .mark_rule(color="gray", strokeDash=[4, 3])
        .encode(y="y:Q")
    )
    cut = _rule_x(alpha, f"alpha = {alpha:g}")
    return (bars + flat + cut).properties(
        height=220, title="p-values of the A/A tests (dashed: what a calibrated test gives)"
    )


def effect_by_day_chart(by_day: pd.DataFrame, notes: list[dict] | None = None) -> alt.LayerChart:
    """Each day's relative effect (units first exposed that day) with its 95% interval."""
    data = by_day.assign(
        day=pd.to_datetime(by_day["day"], errors="coerce"),
        lift=by_day["rel_effect"] * 100,
        low=by_day["rel_ci_low"].clip(lower=-1e3) * 100,
        high=by_day["rel_ci_high"].clip(upper=1e3) * 100,
    )
    base = alt.Chart(data)
    band = base.mark_errorbar(color=LINE, opacity=0.6).encode(
        x=alt.X("day:T", title="Day of first exposure", axis=alt.Axis(format="%b %d")),
        y=alt.Y("low:Q", title="Relative effect that day (%)"),
        y2="high:Q",
    )
    points = base.mark_point(color=LINE, filled=True, size=60).encode(
        x="day:T",
        y="lift:Q",
        tooltip=[
            alt.Tooltip("day:T", title="Day"),
            alt.Tooltip("lift:Q", title="Effect %", format=".2f"),
            alt.Tooltip("low:Q", title="CI low %", format=".2f"),
            alt.Tooltip("high:Q", title="CI high %", format=".2f"),
        ],
    )
    trend = (
        base.transform_regression("day", "lift")
        .mark_line(color=ACCENT, strokeDash=[5, 3])
        .encode(x="day:T", y="lift:Q")
    )
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="gray").encode(y="y:Q")
    layers = [zero, band, points, trend]
    rules = _note_rules(notes)
    if rules is not None:
        layers.append(rules)
    return alt.layer(*layers).properties(height=260, title="Effect by day of first exposure")


__all__ += ["effect_by_day_chart", "pvalue_histogram", "srm_daily_chart"]


# ---- the funnel (Metrics page) ---------------------------------------------------------
__all__ += ["funnel_chart"]

_FUNNEL_REACHED = "#1f6feb"
_FUNNEL_LOST = "#f2b8a9"
_FUNNEL_MARK = "#e4572e"


def funnel_chart(
    funnel: Funnel, *, change_stage: str | None = None, success_stage: str | None = None
) -> alt.LayerChart:
    """Horizontal funnel: the share of entrants reaching each stage and the share lost at
    each step, labelled with the cumulative and the step conversion.

    The stage where the change happens and the success metric's stage are named in the
    labels, so the chart reads on its own.
    """
    table = funnel.table()
    stages = list(table["stage"])
    units = plural(funnel.unit)
    labels, notes, marks = [], [], []
    for i, row in table.iterrows():
        users = "" if pd.isna(row["users"]) else f"{int(row['users']):,} {units}"
        if i == 0:
            labels.append("100% of entrants")
            notes.append(users)
        else:
            labels.append(f"{row['reached']:.1%} of entrants")
            step = f"{row['step_rate']:.0%} of the stage before"
            notes.append(f"{step} · {users}" if users else step)
        mark = []
        if row["stage"] == change_stage:
            mark.append("◀ change happens here")
        if row["stage"] == success_stage:
            mark.append("◀ success metric")
        marks.append("  ".join(mark))
    base = table.assign(
        label=labels, note=notes, mark=marks, total=table["reached"] + table["lost"]
    )
    long = pd.concat(
        [
            base.assign(part="reach this stage", value=base["reached"], part_order=0),
            base.assign(part="drop off at this step", value=base["lost"], part_order=1),
        ]
    )
    parts = ["reach this stage", "drop off at this step"]
    y = alt.Y("stage:N", sort=stages, title=None, axis=alt.Axis(labelFontSize=13, labelLimit=220))
    tooltip = [
        alt.Tooltip("stage:N", title="Stage"),
        alt.Tooltip("reached:Q", title="Share of entrants", format=".1%"),
        alt.Tooltip("step_rate:Q", title="Of the step before", format=".1%"),
        alt.Tooltip("drop_off:Q", title="Drop-off at this step", format=".1%"),
        alt.Tooltip("users:Q", title=plural(funnel.unit).capitalize(), format=",.0f"),
    ]
    bars = (
        alt.Chart(long)
        .mark_bar(height={"band": 0.7})
        .encode(
            y=y,
            x=alt.X(
                "value:Q",
                stack="zero",
                title="Share of funnel entrants",
                scale=alt.Scale(domain=[0, 1.7]),
                axis=alt.Axis(format="%", values=[0, 0.25, 0.5, 0.75, 1.0]),
            ),
            color=alt.Color(
                "part:N",
                scale=alt.Scale(domain=parts, range=[_FUNNEL_REACHED, _FUNNEL_LOST]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            order=alt.Order("part_order:Q"),
            tooltip=tooltip,
        )
    )

    def text(field: str, dy: int, dx: int = 6, **style: Any) -> alt.Chart:
        return (
            alt.Chart(base)
            .mark_text(align="left", dx=dx, dy=dy, **style)
            .encode(y=y, x="total:Q", text=f"{field}:N")
        )

    layers = [
        bars,
        text("label", -14, fontSize=12, fontWeight="bold", color="#222"),
        text("note", 1, fontSize=11, color="#666"),
        text("mark", 16, fontSize=11, fontWeight="bold", color=_FUNNEL_MARK),
    ]
    return alt.layer(*layers).properties(
        height=max(200, 66 * len(stages)),
        title="How many users reach each stage",
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )
