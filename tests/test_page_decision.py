"""The Validity & decision page through AppTest: verdicts, checks, A/A, exclusions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import abcore
from sample_data.generate import make_scenario
from ui.state import demo_plan

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "decision.py")


def run_page(**state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def test_opens_on_the_demo_with_a_verdict_and_checks():
    at = run_page()
    assert "### Ship" in texts(at.success)
    assert "converted improved" in texts(at.success)
    assert at.session_state["analysis"].recommendation.verdict == "ship"
    checks = next(df.value for df in at.dataframe if "Check" in df.value.columns)
    assert "Sample ratio" in list(checks["Check"])
    assert set(checks["Status"]) <= {"Pass", "Look", "Fail"}


@pytest.mark.parametrize(
    ("scenario", "draw", "label"),
    [
        ("guardrail_harm", "error", "### Don't ship"),
        ("srm", "error", "### Investigate"),
        ("underpowered", "warning", "### Keep running"),
    ],
)
def test_planted_problems_get_their_verdict(scenario, draw, label):
    plan = demo_plan()
    analysis = abcore.analyze(make_scenario(scenario), variant="variant", plan=plan)
    at = run_page(plan=plan, analysis=analysis, analysis_source=scenario)
    assert label in texts(getattr(at, draw))


def test_a_plan_change_is_decided_at_once():
    plan = demo_plan()
    costly = dataclasses.replace(plan, min_effect_to_launch=0.5)
    at = run_page(plan=costly)
    assert "### Don't ship" in texts(at.error)
    assert "launch costs" in texts(at.error)


def test_plan_without_the_data_metric_explains_itself():
    plan = dataclasses.replace(
        demo_plan(), metrics=(abcore.MetricSpec("purchases", baseline=0.1, mde=0.1),)
    )
    at = run_page(plan=plan)
    assert "'purchases' is not in this data" in texts(at.warning)
    assert "say which column holds each" in texts(at.warning)
    assert "launch recommendation" in texts(at.info)


def test_simulated_aa_runs_from_the_button():
    at = run_page()
    at.button(key="decision__aa_run").click().run()
    assert not at.exception
    assert "false-positive rate" in texts(at.success) + texts(at.warning)


def test_excluding_days_reruns_the_decision():
    at = run_page()
    before = at.session_state["analysis"].aggregates.counts()
    pick = at.multiselect(key="decision__exclude_pick")
    pick.set_value(pick.options[:2]).run()
    assert not at.exception
    assert at.session_state["decision__exclude"] == pick.options[:2]
    shown = [m.value for m in at.dataframe]
    assert shown
    assert sum(before.values()) > 0


def _sequential(plan, method, **changes):
    from abcore.planning import size_plan

    plan = dataclasses.replace(plan, method=method, **changes)
    sizing = size_plan(plan)
    return dataclasses.replace(
        plan,
        planned_n_per_arm=changes.get("planned_n_per_arm", sizing.method_n_control),
        planned_days=changes.get("planned_days", sizing.method_recommended_days),
    )


@pytest.mark.parametrize(
    ("method", "label"),
    [
        ("fixed", "Fixed horizon"),
        ("always_valid", "Always valid"),
        ("group_sequential", "Group sequential"),
    ],
)
def test_the_page_says_which_method_decided(method, label):
    plan = _sequential(demo_plan(), method)
    at = run_page(plan=plan)
    captions = "\n".join(c.value for c in at.caption)
    assert f"How the results were read: {label}" in captions
    rec = at.session_state["analysis"].recommendation
    notebook = abcore.analyze(
        Path(PAGE).parents[1] / "sample_data" / "demo_experiment.parquet",
        variant="variant",
        plan=plan,
    ).recommendation
    assert rec.verdict == notebook.verdict


def test_a_sequential_plan_may_stop_early_and_says_why():
    df = make_scenario("clean_win")
    base = dataclasses.replace(demo_plan(), planned_n_per_arm=50_000, planned_days=28)
    analysis = abcore.analyze(df, variant="variant", plan=base)
    at = run_page(plan=base, analysis=analysis, analysis_source="clean win")
    assert "### Keep running" in texts(at.warning)
    checks = next(df.value for df in at.dataframe if "Check" in df.value.columns)
    peeking = checks[checks["Check"] == "Peeking"]
    assert list(peeking["Status"]) == ["Look"]

    plan = dataclasses.replace(base, method="group_sequential")
    at = run_page(plan=plan, analysis=analysis, analysis_source="clean win")
    assert "### Ship" in texts(at.success)
    assert "Stopped early" in texts(at.success)
    checks = next(df.value for df in at.dataframe if "Check" in df.value.columns)
    peeking = checks[checks["Check"] == "Peeking"]
    assert list(peeking["Status"]) == ["Pass"]
