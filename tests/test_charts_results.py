"""Chart builders of the Results page: data in, Vega-Lite spec out."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from abcore import charts


def effects(**overrides) -> pd.DataFrame:
    data = {
        "metric": ["converted", "revenue", "page_load_ms"],
        "arm": ["treatment"] * 3,
        "rel_effect": [0.067, 0.058, 0.0054],
        "rel_ci_low": [0.013, -0.0075, -0.0012],
        "rel_ci_high": [0.125, 0.128, 0.0122],
        "significant": [True, False, False],
        "error": [None, None, None],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def spec(chart) -> dict:
    return chart.to_dict()


def layer_data(spec_dict: dict, layer: dict) -> list[dict]:
    return spec_dict["datasets"][layer["data"]["name"]]


def marks(spec_dict: dict) -> list[str]:
    return [
        layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
        for layer in spec_dict["layer"]
    ]


def dashed(layer: dict) -> bool:
    mark = layer["mark"]
    return isinstance(mark, dict) and bool(mark.get("strokeDash"))


def test_forest_chart_layers_and_encodings():
    s = spec(charts.forest_chart(effects()))
    assert marks(s) == ["rule", "rule", "point"]  # zero line, intervals, estimates
    bars, points = s["layer"][1], s["layer"][2]
    assert bars["encoding"]["x"]["field"] == "ci_low_shown"
    assert bars["encoding"]["x2"]["field"] == "ci_high_shown"
    assert bars["encoding"]["y"]["field"] == "row"
    assert points["encoding"]["x"]["field"] == "rel_effect"
    assert bars["encoding"]["x"]["axis"]["format"] == "+%"
    rows = layer_data(s, bars)
    assert [r["row"] for r in rows] == ["converted", "revenue", "page_load_ms"]
    assert bars["encoding"]["y"]["sort"] == ["converted", "revenue", "page_load_ms"]
    assert not any(dashed(layer) for layer in s["layer"])  # no margins, no dashed tick


def test_forest_chart_draws_the_guardrail_margin_dashed():
    s = spec(charts.forest_chart(effects(), {"page_load_ms": 0.02, "not_in_data": 0.05}))
    ticks = [layer for layer in s["layer"] if dashed(layer)]
    assert len(ticks) == 1
    assert ticks[0]["mark"]["type"] == "tick"
    data = layer_data(s, ticks[0])
    assert data == [{"row": "page_load_ms", "margin": 0.02, "what": "guardrail margin +2.0%"}]
    assert ticks[0]["encoding"]["x"]["field"] == "margin"
    # The axis reaches the margin even when every interval is narrower.
    narrow = effects(rel_ci_low=[-0.001] * 3, rel_ci_high=[0.001] * 3, rel_effect=[0.0] * 3)
    s = spec(charts.forest_chart(narrow, {"page_load_ms": 0.05}))
    low, high = s["layer"][1]["encoding"]["x"]["scale"]["domain"]
    assert low <= -0.05
    assert high >= 0.05


def test_forest_chart_colours_by_the_good_direction():
    frame = effects(significant=[True, False, True], rel_effect=[0.067, 0.058, 0.03])
    s = spec(
        charts.forest_chart(frame, directions={"converted": "increase", "page_load_ms": "decrease"})
    )
    status = {r["row"]: r["status"] for r in layer_data(s, s["layer"][2])}
    assert status == {
        "converted": "Significant, good direction",
        "revenue": "Not significant",
        "page_load_ms": "Significant, wrong direction",  # slower pages
    }
    scale = s["layer"][2]["encoding"]["color"]["scale"]
    assert scale["domain"] == [
        "Significant, good direction",
        "Significant, wrong direction",
        "Not significant",
    ]
    assert scale["range"] == [charts.GOOD, charts.BAD, charts.NEUTRAL]
    # Without a direction a significant row is just "Significant".
    s = spec(charts.forest_chart(frame))
    assert {r["status"] for r in layer_data(s, s["layer"][2])} == {
        "Significant",
        "Not significant",
    }


def test_forest_chart_cuts_unbounded_intervals_and_drops_failed_rows():
    frame = effects(
        rel_ci_low=[0.013, -math.inf, -0.0012],
        rel_ci_high=[0.125, math.inf, 0.0122],
    )
    frame.loc[len(frame)] = ["clicks", "treatment", float("nan"), math.nan, math.nan, False, "x"]
    s = spec(charts.forest_chart(frame))
    rows = {r["row"]: r for r in layer_data(s, s["layer"][1])}
    assert "clicks" not in rows  # no estimate, nothing to draw
    low, high = s["layer"][1]["encoding"]["x"]["scale"]["domain"]
    assert math.isfinite(low)
    assert math.isfinite(high)
    assert rows["revenue"]["ci_low_shown"] == low
    assert rows["revenue"]["ci_high_shown"] == high
    assert rows["revenue"]["ci_cut"] is True
    assert rows["revenue"]["interval"].startswith("unbounded")
    assert rows["converted"]["ci_cut"] is False
    assert rows["converted"]["interval"] == "+1.30% to +12.50%"


def test_forest_chart_axis_is_not_flattened_by_one_huge_interval():
    # Marketing A/B sample: the 4% arm gives converted +141% with an interval up to +1,779%.
    frame = effects(
        rel_effect=[1.41, 0.015, 0.009],
        rel_ci_low=[0.27, -0.12, -0.02],
        rel_ci_high=[17.79, 0.198, 0.041],
    )
    s = spec(charts.forest_chart(frame))
    _low, high = s["layer"][1]["encoding"]["x"]["scale"]["domain"]
    assert high == pytest.approx(1.5 * 1.41 * 1.15)
    assert high >= 1.41  # every estimate stays on the axis
    assert layer_data(s, s["layer"][1])[0]["ci_cut"] is True


def test_forest_chart_with_several_arms_offsets_them():
    frame = pd.concat([effects(), effects(arm=["b2"] * 3)], ignore_index=True)
    s = spec(charts.forest_chart(frame))
    assert s["layer"][1]["encoding"]["yOffset"]["field"] == "arm"
    assert s["layer"][2]["encoding"]["shape"]["field"] == "arm"
    assert s["height"] > spec(charts.forest_chart(effects()))["height"]


def daily(days) -> pd.DataFrame:
    n = len(days)
    return pd.DataFrame(
        {
            "day": days,
            "arm": ["treatment"] * n,
            "rel_effect": [0.2, 0.1, 0.05, 0.06, 0.07, 0.065][:n],
            "rel_ci_low": [-2.0, -0.3, -0.05, -0.01, 0.0, 0.01][:n],
            "rel_ci_high": [5.0, 0.5, 0.15, 0.13, 0.14, 0.12][:n],
        }
    )


def test_cumulative_lift_band_line_and_zero():
    frame = daily(pd.date_range("2026-03-02", periods=6))
    s = spec(charts.cumulative_lift_chart(frame))
    assert marks(s) == ["rule", "area", "line"]
    band, line = s["layer"][1], s["layer"][2]
    assert band["encoding"]["y"]["field"] == "ci_low_shown"
    assert band["encoding"]["y2"]["field"] == "ci_high_shown"
    assert line["encoding"]["y"]["field"] == "rel_effect"
    assert line["encoding"]["x"]["type"] == "temporal"
    # The axis fits the later days; the first day's -200%..+500% band is cut, not the scale.
    low, high = band["encoding"]["y"]["scale"]["domain"]
    assert 0.15 <= high < 1
    assert -1 < low <= -0.15
    first = layer_data(s, band)[0]
    assert first["ci_low_shown"] == low
    assert first["ci_high_shown"] == high


def test_cumulative_lift_keeps_text_day_labels_in_file_order():
    labels = ["Sat, Oct 11", "Sun, Oct 12", "Mon, Oct 13", "Tue, Oct 14"]
    s = spec(charts.cumulative_lift_chart(daily(labels)))
    x = s["layer"][2]["encoding"]["x"]
    assert x["type"] == "ordinal"
    assert x["sort"] == labels  # not alphabetical (Mon < Sat < Sun < Tue)


def test_daily_units_chart():
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(["2026-03-02", "2026-03-02", "2026-03-03", "2026-03-03"]),
            "arm": ["control", "treatment"] * 2,
            "units": [3000, 2950, 2800, 2790],
        }
    )
    s = spec(charts.daily_units_chart(frame))
    assert s["mark"]["type"] == "line"
    assert s["encoding"]["y"]["field"] == "units"
    assert s["encoding"]["color"]["field"] == "arm"
    assert s["encoding"]["color"]["scale"]["domain"] == ["control", "treatment"]
    assert s["encoding"]["x"]["type"] == "temporal"


def test_segment_chart_rows_are_segment_values():
    frame = effects(metric=["converted"] * 3).assign(
        segment="platform", segment_value=["web", "ios", "android"]
    )
    s = spec(charts.segment_chart(frame, title="converted by platform"))
    assert [r["row"] for r in layer_data(s, s["layer"][1])] == ["web", "ios", "android"]
    assert s["title"] == "converted by platform"
