"""The effects CSV: safe to open in a spreadsheet, numbers kept as numbers, parses back."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abcore import analyze
from abcore.report import effects_csv, spreadsheet_safe

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def read_back(data: bytes, **kwargs) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False, na_values=[""], **kwargs
    )


def hostile_effects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "metric": ['=HYPERLINK("http://evil.example","click")', "revenue", "@SUM(A1)"],
            "arm": ["+cmd|' /C calc'!A0", "-2+3", "treatment"],
            "rel_effect": [-0.0213, 0.058, 0.0],
            "p_value": [0.0004, 0.084, 1.0],
            "n_control": [25_136, 25_136, 10],
            "significant": [True, False, False],
            "error": [None, "zero_variance", None],
        }
    )


def test_formulas_are_quoted_and_numbers_stay_numeric():
    data = effects_csv(hostile_effects())
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the encoding right
    back = read_back(data)
    assert list(back["metric"]) == [
        '\'=HYPERLINK("http://evil.example","click")',
        "revenue",
        "'@SUM(A1)",
    ]
    assert list(back["arm"]) == ["'+cmd|' /C calc'!A0", "'-2+3", "treatment"]
    assert back["rel_effect"].dtype == np.float64
    assert back["rel_effect"].tolist() == [-0.0213, 0.058, 0.0]  # negative number unquoted
    assert back["n_control"].dtype == np.int64
    assert back["significant"].tolist() == [True, False, False]
    assert back["error"].isna().tolist() == [True, False, True]
    text = data.decode("utf-8-sig")
    assert ",-0.0213," in text


def test_headers_are_made_safe_too():
    frame = pd.DataFrame({"=cmd()": ["x"], "ok": [1.5]})
    back = read_back(effects_csv(frame))
    assert list(back.columns) == ["'=cmd()", "ok"]


def test_input_frame_is_not_modified():
    frame = hostile_effects()
    before = frame.copy()
    effects_csv(frame)
    pd.testing.assert_frame_equal(frame, before)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"])), min_size=1))
def test_any_text_round_trips_made_safe(names):
    frame = pd.DataFrame({"metric": names, "value": np.arange(len(names), dtype=float) - 1})
    back = read_back(effects_csv(frame), dtype={"metric": str}, na_filter=False)
    assert back["metric"].tolist() == [spreadsheet_safe(n) for n in names]
    assert not any(str(v).startswith(FORMULA_START) for v in back["metric"])
    assert back["value"].tolist() == frame["value"].tolist()


def test_a_real_analysis_exports_every_column():
    df = pd.DataFrame(
        {
            "variant": ["control", "+treatment"] * 200,
            "=converted": [0, 1, 0, 0] * 100,
            "revenue": np.linspace(0, 10, 400),
        }
    )
    effects = analyze(df, variant="variant", control="control").effects
    back = read_back(effects_csv(effects))
    assert list(back.columns) == list(effects.columns)
    assert set(back["metric"]) == {"'=converted", "revenue"}
    assert set(back["arm"]) == {"'+treatment"}
    for column in ("control_mean", "rel_effect", "p_value", "p_value_adjusted"):
        assert pd.api.types.is_float_dtype(back[column]), column
        np.testing.assert_allclose(back[column], effects[column].astype(float), rtol=1e-12)


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_unbounded_intervals_stay_readable(value):
    frame = pd.DataFrame({"metric": ["m"], "rel_ci_high": [value]})
    back = read_back(effects_csv(frame))
    assert back["rel_ci_high"].iloc[0] == value
