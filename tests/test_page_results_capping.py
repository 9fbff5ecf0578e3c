"""The Results page's capping per metric (issue 21 item 3).

AppTest on the demo: capping a metric under Columns and roles changes its effect to that of
the capped values, equal to :func:`abcore.analyze` with the same mapping to 1e-9 (the engine
is checked against numpy and scipy in tests/test_capping.py); the readout says what was cut;
bad bounds give a sentence; the Decision page's link carries the capping on.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import abcore
from abcore import share
from abcore.analysis import Analysis
from abcore.capping import Capping
from abcore.model import MetricMapping
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


def shown(at: AppTest) -> Analysis:
    return at.session_state[rs.ANALYSIS_KEY]


def by_key(widgets: object, suffix: str) -> object:
    return next(w for w in widgets if w.key and w.key.endswith(suffix))


def reference(result: Analysis) -> Analysis:
    m = result.aggregates.mapping
    return abcore.analyze(
        DEMO,
        variant=m.variant,
        control=m.control,
        metrics=list(m.metrics),
        unit=m.unit,
        timestamp=m.timestamp,
        segments=list(m.segments),
        options=result.options,
    )


def cap_revenue(at: AppTest, kind: str, lower: float | None, upper: float | None) -> None:
    by_key(at.selectbox, "capping::revenue").set_value(kind).run()
    assert not at.exception, at.exception
    by_key(at.number_input, "capping_lower::revenue").set_value(lower)
    by_key(at.number_input, "capping_upper::revenue").set_value(upper)


def test_capping_revenue_equals_the_engine_and_the_readout_says_so():
    at = run_page()
    assert by_key(at.selectbox, "capping::revenue").value == "off"
    before = shown(at).effects.set_index("metric").loc["revenue"]
    cap_revenue(at, "percentile", 1.0, 99.0)
    by_key(at.checkbox, "capping_zeros::revenue").check().run()
    assert not at.exception, at.exception
    result = shown(at)
    capping = result.aggregates.mapping.metric("revenue").capping
    assert capping == Capping(lower=1, upper=99, ignore_zeros=True)
    assert result.aggregates.mapping.metric("page_load_ms").capping is None
    buyers = DEMO.loc[DEMO["revenue"] != 0, "revenue"]
    assert result.aggregates.caps["revenue"] == pytest.approx(np.quantile(buyers, 0.99))
    assert result.aggregates.floors["revenue"] == pytest.approx(np.quantile(buyers, 0.01))
    after = result.effects.set_index("metric").loc["revenue"]
    assert after["treatment_mean"] < before["treatment_mean"]
    want = reference(result).effects.set_index("metric").loc["revenue"]
    for col in ("abs_effect", "rel_ci_low", "rel_ci_high", "p_value"):
        assert after[col] == pytest.approx(want[col], rel=1e-9), col
    captions = "\n".join(c.value for c in at.caption)
    assert "revenue capped lower at the 1st percentile of the non-zero values" in captions


def test_bad_bounds_are_a_sentence_naming_the_metric():
    at = run_page()
    cap_revenue(at, "percentile", 60.0, 40.0)
    at.run()
    assert not at.exception, at.exception
    errors = "\n".join(e.value for e in at.error)
    assert "Capping of revenue: capping's lower bound (60) must not exceed its upper" in errors
    cap_revenue(at, "percentile", None, 150.0)
    at.run()
    errors = "\n".join(e.value for e in at.error)
    assert (
        "Capping of revenue: capping's upper bound is a percentile here, so it must lie in 0 "
        "to 100, got 150." in errors
    )
    cap_revenue(at, "percentile", None, None)
    at.run()
    assert "got neither" in "\n".join(e.value for e in at.error)
    # fixed amounts may go past 100
    cap_revenue(at, "absolute", 0.0, 150.0)
    at.run()
    assert not at.error
    assert shown(at).aggregates.caps["revenue"] == 150.0


def test_the_one_click_cap_fills_the_metrics_left_off():
    at = run_page()
    cap_revenue(at, "absolute", None, 200.0)
    at.run()
    by_key(at.selectbox, "results__cap").set_value(0.99).run()
    assert not at.exception, at.exception
    mapping = shown(at).aggregates.mapping
    assert mapping.metric("revenue").capping == Capping(upper=200, kind="absolute")
    assert mapping.metric("page_load_ms").capping == Capping(upper=99)
    want = np.quantile(DEMO["page_load_ms"], 0.99)
    assert shown(at).aggregates.caps["page_load_ms"] == pytest.approx(want)


def test_the_decision_link_carries_the_capping_on():
    metrics = ["converted", MetricMapping("revenue", "continuous", capping={"upper": 99})]
    a = abcore.analyze(DEMO, variant="variant", metrics=metrics, unit="user_id")
    params = share.results_to_query_params(a.aggregates, {})
    at = AppTest.from_file(str(ROOT / "app_pages" / "decision.py"), default_timeout=90)
    at.session_state[SHARED_KEY] = share.results_from_query_params(params)
    at.run()
    assert not at.exception, at.exception
    link = next(c.value for c in at.code if "/decision?" in c.value)
    query = {k: v[0] for k, v in parse_qs(urlparse(link).query).items()}
    aggregates, _ = share.results_from_query_params(query)
    assert aggregates.mapping.metric("revenue").capping == Capping(upper=99)
    assert aggregates.caps == pytest.approx(a.aggregates.caps)
