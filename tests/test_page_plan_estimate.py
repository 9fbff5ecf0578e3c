"""The Plan page's "plan from your own data" through AppTest: the demo file's estimates
beside the plan's values, adopted with one click (per value or all).

AppTest cannot upload a file; the upload itself is covered by
tests/browser/test_plan_estimate.py. The demo file goes through the same loader.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from abcore import ExperimentPlan, MetricSpec, planning

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "plan.py")
DEMO = ROOT / "sample_data" / "demo_experiment.csv"


def run_page(plan: ExperimentPlan | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    if plan is not None:
        at.session_state["plan"] = plan
    at.run()
    assert not at.exception, at.exception
    return at


def with_demo(at: AppTest) -> AppTest:
    at.radio(key="planest__source").set_value("demo").run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def control() -> pd.DataFrame:
    frame = pd.read_csv(DEMO)
    return frame[frame["variant"] == "control"]


def test_opens_without_data_and_asks_for_a_file():
    at = run_page()
    assert any(s.value == "Plan from your own data" for s in at.subheader)
    assert at.get("file_uploader")
    assert "Users per arm, from your data" not in metrics(at)


def test_use_all_writes_the_demo_estimates_into_the_plan():
    plan = ExperimentPlan(
        metrics=(MetricSpec("converted", baseline=0.2, mde=0.05),), daily_units=50_000
    )
    at = with_demo(run_page(plan))
    c = control()
    shown = metrics(at)
    assert "Users per arm, from your data" in shown
    button(at, "planest__use_all").click().run()
    assert not at.exception, at.exception
    new = at.session_state["plan"]
    assert new.success.name == "converted"
    assert new.success.baseline == pytest.approx(c["converted"].mean())
    # the demo's users arrive over 14 days with returns: the adopted daily traffic gives
    # the plan the curve's duration
    sizing = planning.size_plan(new)
    assert metrics(at)["Users per arm"] == f"{sizing.method_n_control:,}"
    assert metrics(at)["Duration"] == f"{sizing.method_recommended_days} days"
    assert metrics(at)["Duration, from your data"] == f"{sizing.method_recommended_days} days"
    assert new.daily_units < 50_000
    # the form shows the adopted values
    baseline = next(n for n in at.number_input if n.label == "Baseline conversion rate (%)")
    assert baseline.value == pytest.approx(c["converted"].mean() * 100)


def test_use_one_value_changes_only_that_value():
    plan = ExperimentPlan(
        metrics=(MetricSpec("revenue", type="continuous", baseline=5.0, sd=10.0, mde=0.05),),
    )
    at = with_demo(run_page(plan))
    at.selectbox(key="planest__covariate").set_value("pre_revenue").run()
    button(at, "planest__use_sd").click().run()
    assert not at.exception, at.exception
    new = at.session_state["plan"]
    c = control()
    assert new.success.sd == pytest.approx(c["revenue"].std(ddof=1))
    assert new.success.baseline == 5.0
    assert new.variance_reduction == 0
    assert new.daily_units == plan.daily_units
    button(at, "planest__use_correlation").click().run()
    rho = c["revenue"].corr(c["pre_revenue"])
    new = at.session_state["plan"]
    assert new.variance_reduction == pytest.approx(round(round(rho, 2) ** 2, 6))
    assert math.isclose(at.slider(key="plan__rho").value, round(rho, 2))


def test_a_file_without_dates_says_what_the_duration_needs(tmp_path, monkeypatch):
    frame = control()[["user_id", "variant", "converted", "revenue"]]
    path = tmp_path / "no_dates.csv"
    frame.to_csv(path, index=False)
    import ui.plan_estimate as pe

    monkeypatch.setattr(pe, "DEMO_FILE", path)
    at = with_demo(run_page())
    assert any("no date or timestamp column" in c.value for c in at.caption)
    assert "Duration, from your data" not in metrics(at)
    assert "Users per arm, from your data" in metrics(at)


def test_daily_totals_count_the_metric_s_trials_each_day(monkeypatch):
    from real_data import real

    import ui.plan_estimate as pe

    monkeypatch.setattr(pe, "DEMO_FILE", real("udacity_free_trial") / "control_data.csv")
    at = run_page()
    at.radio(key="planest__source").set_value("demo").run()
    at.selectbox(key="planest__metric").set_value("Enrollments/Clicks").run()
    assert not at.exception, at.exception
    # the units of a count ratio are its trials: clicks, not pageviews
    (count,) = [s for s in at.selectbox if s.label == "Units counted each day"]
    assert count.value == "Clicks"
    assert any("daily totals, not unit ids" in c.value for c in at.caption)
    assert "Duration, from your data" in metrics(at)
    button(at, "planest__use_baseline").click().run()
    assert at.session_state["plan"].success.name == "Enrollments/Clicks"
    assert at.session_state["plan"].success.baseline == pytest.approx(0.21887, abs=1e-5)
