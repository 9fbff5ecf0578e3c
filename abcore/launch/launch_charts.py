"""Pure Altair chart builders of the Model launch page: data in, ``alt.Chart`` out.

Each chart answers one question a product manager asks (do users prefer the new ranker? which
canary metric broke, and by how much? which feature moved, and when?) and marks the line the
verdict is drawn against.
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from abcore.launch.canary import CanaryResult, RampStep
from abcore.launch.drift import ConceptShift, DriftReport
from abcore.launch.interleaving import InterleavingResult

__all__ = [
    "canary_chart",
    "concept_chart",
    "drift_over_time_chart",
    "error_over_time_chart",
    "preference_chart",
    "ramp_chart",
    "shadow_chart",
]

GOOD = "#1a7f37"
BAD = "#cf222e"
NEUTRAL = "#8c959f"
LINE = "#1f6feb"
ACCENT = "#e4572e"


def preference_chart(result: InterleavingResult, label_a: str, label_b: str) -> alt.LayerChart:
    """Users who preferred each ranker, and the ties, as one stacked bar labelled in place."""
    data = pd.DataFrame(
        {
            "outcome": [f"prefer {label_a}", "tie", f"prefer {label_b}"],
            "users": [result.wins_a, result.ties, result.wins_b],
            "order": [0, 1, 2],
        }
    )
    total = max(result.n_users, 1)
    data["share"] = data["users"] / total
    data["start"] = data["users"].cumsum() - data["users"]
    data["middle"] = data["start"] + data["users"] / 2
    data["text"] = [f"{o}: {s:.0%}" for o, s in zip(data["outcome"], data["share"], strict=True)]
    colors = alt.Scale(domain=list(data["outcome"]), range=[LINE, NEUTRAL, ACCENT])
    bar = (
        alt.Chart(data)
        .mark_bar(height=40)
        .encode(
            x=alt.X(
                "start:Q", title="Users with a credited click", scale=alt.Scale(domain=[0, total])
            ),
            x2="end:Q",
            color=alt.Color("outcome:N", scale=colors, legend=None),
            tooltip=[
                "outcome:N",
                alt.Tooltip("users:Q", format=","),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .transform_calculate(end="datum.start + datum.users")
    )
    text = (
        alt.Chart(data)
        .mark_text(color="white", fontWeight="bold", fontSize=13)
        .encode(x="middle:Q", text="text:N")
    )
    half = (
        alt.Chart(pd.DataFrame({"x": [total / 2]}))
        .mark_rule(color="black", strokeDash=[3, 3])
        .encode(x="x:Q")
    )
    return (bar + text + half).properties(
        height=70, title="Which ranker did each user prefer? (dashed: half the users)"
    )


def canary_chart(result: CanaryResult) -> alt.LayerChart:
    """Each metric's shift (% of the baseline median) with its interval and tolerance band."""
    rows = []
    for m in result.metrics:
        if m.classification == "nodata" or not math.isfinite(m.rel_shift):
            continue
        scale = m.shift / m.rel_shift if m.rel_shift else (abs(m.baseline_median) or 1.0)
        rows.append(
            {
                "metric": m.name,
                "shift": 100 * m.rel_shift,
                "low": 100 * m.ci_low / scale if scale else 0.0,
                "high": 100 * m.ci_high / scale if scale else 0.0,
                "status": "fails" if m.failed else "passes",
                "tol_low": -100 * m.tolerance,
                "tol_high": 100 * m.tolerance,
            }
        )
    data = pd.DataFrame(
        rows, columns=["metric", "shift", "low", "high", "status", "tol_low", "tol_high"]
    )
    band = (
        alt.Chart(data)
        .mark_rule(color="#b4e8c0", strokeWidth=22)
        .encode(x="tol_low:Q", x2="tol_high:Q", y=alt.Y("metric:N", sort=None))
    )
    colors = alt.Scale(domain=["passes", "fails"], range=[GOOD, BAD])
    base = alt.Chart(data).encode(y=alt.Y("metric:N", title=None, sort=None))
    bars = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("low:Q", title="Canary vs baseline (% of the baseline median)"),
        x2="high:Q",
        color=alt.Color("status:N", scale=colors, legend=alt.Legend(orient="bottom", title=None)),
    )
    dots = base.mark_point(filled=True, size=90).encode(
        x="shift:Q",
        color=alt.Color("status:N", scale=colors),
        tooltip=[
            "metric:N",
            alt.Tooltip("shift:Q", title="shift %", format="+.1f"),
            alt.Tooltip("low:Q", title="interval low %", format="+.1f"),
            alt.Tooltip("high:Q", title="interval high %", format="+.1f"),
        ],
    )
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="black").encode(x="x:Q")
    return (band + zero + bars + dots).properties(
        height=alt.Step(44),
        title="Shift of each metric; green band = allowed tolerance",
    )


def shadow_chart(
    frame: pd.DataFrame, current: str, new: str, threshold: float | None
) -> alt.LayerChart:
    """Current against new score per request; points off the diagonal are disagreements."""
    data = (
        frame[[current, new]].dropna().head(5000).rename(columns={current: "current", new: "new"})
    )
    data["gap"] = (data["new"] - data["current"]).abs()
    points = (
        alt.Chart(data)
        .mark_circle(size=18, opacity=0.5)
        .encode(
            x=alt.X("current:Q", title="Current model's score"),
            y=alt.Y("new:Q", title="New model's score"),
            color=alt.Color("gap:Q", scale=alt.Scale(scheme="orangered"), title="|difference|"),
            tooltip=[alt.Tooltip("current:Q", format=".3f"), alt.Tooltip("new:Q", format=".3f")],
        )
    )
    lo = float(min(data["current"].min(), data["new"].min()))
    hi = float(max(data["current"].max(), data["new"].max()))
    diag = (
        alt.Chart(pd.DataFrame({"x": [lo, hi], "y": [lo, hi]}))
        .mark_line(color="black", strokeDash=[3, 3])
        .encode(x="x:Q", y="y:Q")
    )
    layers = points + diag
    if threshold is not None:
        rules = pd.DataFrame({"v": [threshold]})
        layers = (
            layers
            + alt.Chart(rules).mark_rule(color=NEUTRAL).encode(x="v:Q")
            + alt.Chart(rules).mark_rule(color=NEUTRAL).encode(y="v:Q")
        )
    return layers.properties(height=300, title="Same requests, two models")


def ramp_chart(steps: tuple[RampStep, ...]) -> alt.Chart:
    """Hours each traffic step must run."""
    data = pd.DataFrame(
        {
            "step": [f"{s.share:.0%}" for s in steps],
            "hours": [s.hours for s in steps],
            "order": list(range(len(steps))),
        }
    )
    return (
        alt.Chart(data)
        .mark_bar(color=LINE)
        .encode(
            x=alt.X("step:N", sort=None, title="Traffic on the new version"),
            y=alt.Y("hours:Q", title="Hours the step must run"),
            tooltip=["step:N", alt.Tooltip("hours:Q", format=",.1f")],
        )
        .properties(height=220, title="How long each ramp step must run")
    )


def _score(row: pd.Series) -> float:
    """Drift score: 1 on the alarm line, above 1 past it (p-values and distances alike)."""
    stat, thr = float(row["statistic"]), float(row["threshold"])
    if not np.isfinite(stat):
        return float("nan")
    if row["method"] in ("ks", "chisquare"):
        return math.log(max(stat, 1e-300)) / math.log(thr)
    return stat / thr


def drift_over_time_chart(report: DriftReport) -> alt.LayerChart:
    """Drift score of every feature per window; the alarm line at 1."""
    data = report.windows.copy()
    data["score"] = data.apply(_score, axis=1)
    data["score"] = data["score"].clip(upper=20)
    moved = {f.feature for f in report.features if f.drifted}
    data["moved"] = data["feature"].isin(moved)
    lines = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("window_start:N", sort=None, title="Window start (oldest to newest)"),
            y=alt.Y("score:Q", title="Drift score (1 = alarm line)"),
            color=alt.Color("feature:N", legend=alt.Legend(orient="right", title="Column")),
            strokeWidth=alt.condition("datum.moved", alt.value(3), alt.value(1.2)),
            tooltip=[
                "feature:N",
                "window_start:N",
                "method:N",
                alt.Tooltip("statistic:Q", format=".3g"),
                alt.Tooltip("score:Q", format=".2f"),
            ],
        )
    )
    alarm = (
        alt.Chart(pd.DataFrame({"y": [1.0]}))
        .mark_rule(color=BAD, strokeDash=[5, 3])
        .encode(y="y:Q")
    )
    return (lines + alarm).properties(height=300, title="Which column moved, and when?")


def error_over_time_chart(report: DriftReport) -> alt.LayerChart | None:
    """The model's error per window against its error on the reference data."""
    perf = report.performance
    if perf is None or perf["error"].isna().all():
        return None
    line = (
        alt.Chart(perf)
        .mark_line(point=True, color=LINE)
        .encode(
            x=alt.X("window_start:N", sort=None, title="Window start"),
            y=alt.Y("error:Q", title="Model error", scale=alt.Scale(zero=False)),
            tooltip=["window_start:N", alt.Tooltip("error:Q", format=".3f"), "n:Q"],
        )
    )
    layers = line
    if report.error_reference is not None and math.isfinite(report.error_reference):
        ref = pd.DataFrame({"y": [report.error_reference], "label": ["reference error"]})
        layers = layers + alt.Chart(ref).mark_rule(color=NEUTRAL, strokeDash=[4, 3]).encode(y="y:Q")
    return layers.properties(height=220, title="Model error by window (dashed: reference)")


def concept_chart(concept: ConceptShift, label: str) -> alt.Chart:
    """The label's mean per feature bin, reference against current."""
    bins = concept.bins.assign(order=range(len(concept.bins)))
    data = pd.concat(
        [
            bins.assign(period="reference", rate=bins["reference_rate"]),
            bins.assign(period="current", rate=bins["current_rate"]),
        ],
        ignore_index=True,
    )[["bin", "order", "period", "rate"]]
    data["bin"] = data["bin"].astype(object)
    data["period"] = data["period"].astype(object)
    return (
        alt.Chart(data)
        .mark_line(point=True, strokeWidth=2.5)
        .encode(
            x=alt.X("bin:N", sort=list(bins["bin"].astype(object)), title=concept.feature),
            y=alt.Y("rate:Q", title=f"average {label}", axis=alt.Axis(format=".0%")),
            color=alt.Color(
                "period:N",
                scale=alt.Scale(domain=["reference", "current"], range=[NEUTRAL, BAD]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
            tooltip=["bin:N", "period:N", alt.Tooltip("rate:Q", format=".1%")],
        )
        .properties(height=240, title=f"'{label}' by {concept.feature}: the relation changed")
    )
