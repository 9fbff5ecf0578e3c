"""The Results page's covariates per metric and post-stratification (issue 21 item 2).

AppTest on the demo: picking covariates or a segment to post-stratify by changes the table's
test and interval, and the page's numbers equal :func:`abcore.analyze` on the demo file with
the same mapping and options, to 1e-9 (the engine itself is checked against statsmodels in
tests/test_regression.py).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import abcore
from abcore import share
from abcore.analysis import Analysis
from abcore.model import ReadoutOptions
from ui import fmt
from ui import results_state as rs
from ui.decision_state import SHARED_KEY

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "results.py")
DEMO = pd.read_parquet(ROOT / "sample_data" / "demo_experiment.parquet")


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def effects_table(at: AppTest) -> pd.DataFrame:
    for frame in at.dataframe:
        value = frame.value
        value = value.data if hasattr(value, "data") else value
        if "Result" in value.columns and "Metric" in value.columns:
            return value
    raise AssertionError("no effects table on the page")


def shown(at: AppTest) -> Analysis:
    return at.session_state[rs.ANALYSIS_KEY]


def reference(result: Analysis, options: ReadoutOptions | None = None) -> Analysis:
    """The notebook API on the demo file with the page's mapping (segments included)."""
    m = result.aggregates.mapping
    return abcore.analyze(
        DEMO,
        variant=m.variant,
        control=m.control,
        metrics=list(m.metrics),
        unit=m.unit,
        timestamp=m.timestamp,
        segments=list(m.segments),
        options=options or result.options,
    )


def assert_same_effects(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got, want = got.set_index(["metric", "arm"]), want.set_index(["metric", "arm"])
    assert list(got["method"]) == list(want.loc[got.index, "method"])
    for col in ("abs_effect", "rel_effect", "rel_ci_low", "rel_ci_high", "p_value"):
        assert got[col].to_numpy() == pytest.approx(
            want.loc[got.index, col].to_numpy(), rel=1e-9, abs=1e-12
        ), col


def test_two_covariates_switch_revenue_to_the_regression():
    at = run_page()
    before = effects_table(at).set_index("Metric").loc["revenue"]
    assert before["Test"] == "CUPED (one covariate)"  # the detected pre_revenue
    before_low = shown(at).effects.set_index("metric").loc["revenue", "rel_ci_low"]
    picker = next(m for m in at.multiselect if m.label == "Covariates of revenue")
    assert picker.value == ["pre_revenue"]
    picker.set_value(["pre_revenue", "page_load_ms"]).run()
    assert not at.exception, at.exception
    result = shown(at)
    assert result.aggregates.mapping.metric("revenue").adjusters == ("pre_revenue", "page_load_ms")
    after = effects_table(at).set_index("Metric").loc["revenue"]
    assert after["Test"] == "Regression adjustment (OLS)"
    ci = next(c for c in effects_table(at).columns if c.startswith("95% CI"))
    assert result.effects.set_index("metric").loc["revenue", "rel_ci_low"] != before_low
    want = reference(result)
    assert_same_effects(result.effects, want.effects)
    row = want.effects.set_index("metric").loc["revenue"]
    assert row["method"] == "ols_adjusted"
    assert after[ci] == fmt.interval(row["rel_ci_low"], row["rel_ci_high"])


def test_ratio_metric_takes_cuped_on_its_pre_period_numerator():
    at = run_page()
    name = next(m.name for m in shown(at).aggregates.mapping.metrics if m.kind == "ratio")
    picker = next(m for m in at.multiselect if m.label == f"Covariates of {name}")
    assert "pre-period numerator, then the pre-period denominator" in picker.help
    assert picker.max_selections == 2
    picker.set_value(["pre_revenue"]).run()
    assert not at.exception, at.exception
    result = shown(at)
    assert result.effects.set_index("metric").loc[name, "method"] == "cuped_delta_ratio"
    assert effects_table(at).set_index("Metric").loc[name, "Test"] == (
        "CUPED on a ratio (delta method)"
    )
    assert_same_effects(result.effects, reference(result).effects)


def test_post_stratify_by_a_segment_equals_the_engine():
    at = run_page()
    strata = next(s for s in at.selectbox if s.label == "Post-stratify by")
    assert strata.value is None
    before = shown(at).effects.copy()
    segment = shown(at).aggregates.mapping.segments[0]
    strata.set_value(segment).run()
    assert not at.exception, at.exception
    result = shown(at)
    assert result.options.strata == segment
    want = abcore.analyze(
        DEMO,
        variant=result.aggregates.mapping.variant,
        control=result.aggregates.mapping.control,
        metrics=list(result.aggregates.mapping.metrics),
        unit=result.aggregates.mapping.unit,
        timestamp=result.aggregates.mapping.timestamp,
        segments=list(result.aggregates.mapping.segments),
        options=ReadoutOptions(alpha=result.alpha, strata=segment),
    )
    assert_same_effects(result.effects, want.effects)
    changed = result.effects.set_index("metric").loc["revenue", "rel_ci_low"]
    assert changed != before.set_index("metric").loc["revenue", "rel_ci_low"]
    test = effects_table(at).set_index("Metric").loc["revenue", "Test"]
    assert test == f"Regression adjustment (OLS), post-stratified by {segment}"


def test_the_share_link_keeps_the_strata():
    """A results link with strata opens post-stratified on the Decision page, whose own link
    (and a link naming no segment of the data) carries them on or drops them."""
    a = abcore.analyze(
        DEMO,
        variant="variant",
        metrics=["revenue", "converted"],
        unit="user_id",
        segments=["platform"],
        options=ReadoutOptions(strata="platform"),
    )
    for strata, kept in (("platform", True), ("not_a_segment", False)):
        params = share.results_to_query_params(a.aggregates, {"strata": strata})
        at = AppTest.from_file(str(ROOT / "app_pages" / "decision.py"), default_timeout=90)
        # app.py adopts a link's results into the session; the page run alone reads them there.
        at.session_state[SHARED_KEY] = share.results_from_query_params(params)
        at.run()
        assert not at.exception, at.exception
        link = next(c.value for c in at.code if "/decision?" in c.value)
        query = {k: v[0] for k, v in parse_qs(urlparse(link).query).items()}
        _, options = share.results_from_query_params(query)
        assert options.get("strata") == ("platform" if kept else None)
