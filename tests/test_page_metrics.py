"""The Metrics page through Streamlit's AppTest: funnel choices flow into the plan."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from abcore import ExperimentPlan, MetricSpec, power
from abcore.funnel import EXTRA_KEY, Funnel, FunnelSetup, guardrail_metric, plan_with_funnel
from abcore.planning import corrected_power, size_plan
from sample_data.generate import FUNNEL_STAGES
from ui.state import demo_plan

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "metrics.py")
K = "metrics__"


def run_page(plan: ExperimentPlan | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    if plan is not None:
        at.session_state["plan"] = plan
    at.run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, at.exception


def plan_of(at: AppTest) -> ExperimentPlan:
    return at.session_state["plan"]


def sensitivity(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "Candidate metric" in d.value.columns)


def row(at: AppTest, metric: str) -> pd.Series:
    table = sensitivity(at)
    return table.set_index("Candidate metric").loc[metric]


def texts(elements) -> str:
    return " ".join(e.value for e in elements)


def test_opening_the_page_shows_the_funnel_and_does_not_change_the_plan():
    at = run_page()
    assert plan_of(at) == demo_plan()
    assert at.selectbox(key=K + "template").value == "ecommerce"
    assert len(at.get("arrow_vega_lite_chart")) + len(at.get("vega_lite_chart")) == 1
    table = sensitivity(at)
    assert table["Candidate metric"].tolist() == [
        "Visit conversion",
        "Product view conversion",
        "Add to cart conversion",
        "Checkout conversion",
        "Purchase conversion",
    ]
    # the demo's success metric is not a funnel stage: it is kept until the user picks one
    assert at.selectbox(key=K + "success").value == "__keep__"
    assert at.query_params["plan"]
    at.selectbox(key=K + "success").set_value("Checkout").run()
    at.run()  # choosing a metric does not make the untouched funnel "edited"
    assert plan_of(at).extra[EXTRA_KEY]["source"] == "E-commerce template"


def test_template_stage_and_guardrail_flow_into_the_plan():
    at = run_page(ExperimentPlan(metrics=(MetricSpec("converted", baseline=0.1, mde=0.05),)))
    at.session_state["plan__metric"] = "stale Plan page input"
    at.selectbox(key=K + "template").set_value("search").run()
    funnel = plan_of(at).extra[EXTRA_KEY]
    assert funnel["stages"] == ["Search", "Click on a result", "Long click (30 s+)", "Conversion"]
    assert funnel["unit"] == "search"
    assert "plan__metric" not in at.session_state  # the Plan page re-seeds from the plan

    at.number_input(key=K + "lift").set_value(4.0).run()
    at.selectbox(key=K + "success").set_value("Long click (30 s+)").run()
    at.button(key=K + "add_guardrail").click().run()
    assert_clean(at)
    plan = plan_of(at)
    success = plan.success
    assert success.name == "Long click (30 s+) conversion"
    assert success.baseline == pytest.approx(0.60 * 0.55)
    assert success.mde == pytest.approx(0.04)
    assert (success.type, success.direction, success.role) == ("binary", "increase", "success")
    guardrail = plan.guardrails[0]
    assert guardrail.margin > 0
    assert guardrail.extra["unit"] in ("page view", "user")
    assert ExperimentPlan.from_query_params(dict(at.query_params)) == plan


def test_the_chosen_stage_shows_the_numbers_the_plan_page_will_show():
    at = run_page()
    at.selectbox(key=K + "success").set_value("Checkout").run()
    at.button(key=K + "add_guardrail").click().run()
    plan = plan_of(at)
    sizing = size_plan(plan)
    shown = row(at, "Checkout conversion")
    assert shown["Users / arm"] == f"{sizing.success_n_control:,}"
    # independent check: the plan's power raised for the guardrails, as the Plan page does
    expected = power.sample_size_proportion(
        0.55 * 0.17 * 0.45, 0.10, power=corrected_power(0.8, len(plan.guardrails))
    ).n_control
    assert shown["Users / arm"] == f"{expected:,}"
    assert "★ success metric" in shown["Note"]
    assert row(at, "Product view conversion")["Note"] == "◀ change happens here"
    assert row(at, "Product view conversion")["Users / arm"] == "—"
    assert row(at, "Add to cart conversion")["Note"] == "most sensitive"


def test_triggering_at_the_change_stage():
    at = run_page()
    at.selectbox(key=K + "success").set_value("Purchase").run()
    at.number_input(key=K + "daily").set_value(10_000).run()
    at.radio(key=K + "population").set_value("triggered").run()
    plan = plan_of(at)
    assert plan.success.baseline == pytest.approx(0.17 * 0.45 * 0.65, rel=1e-5)
    assert plan.success.extra["trigger_stage"] == "Product view"
    assert plan.daily_units == pytest.approx(10_000 * 0.55)
    shown = row(at, "Purchase conversion")
    assert shown["Triggered users / arm"] == f"{size_plan(plan).success_n_control:,}"
    # moving the change to the first stage makes the two populations the same
    at.selectbox(key=K + "change").set_value("Visit").run()
    assert at.radio(key=K + "population").disabled
    assert plan_of(at).success.baseline == pytest.approx(0.55 * 0.17 * 0.45 * 0.65, rel=1e-5)
    assert plan_of(at).daily_units == pytest.approx(10_000)


def test_session_randomization_and_unit_mismatch_warn():
    at = run_page()
    at.button(key=K + "add_guardrail").click().run()  # page load time, per page view
    assert "delta method" in texts(at.warning)
    at.radio(key=K + "rand_unit").set_value("session").run()
    assert plan_of(at).randomization_unit == "session"
    assert "one user see both versions" in texts(at.warning)
    at.radio(key=K + "rand_unit").set_value("user").run()
    at.selectbox(key=K + "success").set_value("Purchase").run()
    assert "delta method" in texts(at.warning)
    assert "one user see both versions" not in texts(at.warning)


def test_a_shared_plan_restores_the_funnel_and_choices():
    funnel = Funnel.from_counts(FUNNEL_STAGES, [20_000, 11_949, 4_401, 2_421, 1_658])
    setup = FunnelSetup(funnel, "product_view", "triggered", None, 0.06)
    plan = plan_with_funnel(
        ExperimentPlan(),
        setup,
        success_stage="checkout",
        daily_entrants=5_000,
        others=[guardrail_metric("error_rate")],
    )
    at = run_page(ExperimentPlan.from_query_params(plan.to_query_params()))
    assert plan_of(at) == plan
    assert at.data_editor[0].value["users"].tolist() == [20_000, 11_949, 4_401, 2_421, 1_658]
    assert at.radio(key=K + "numbers").value == "users"
    assert at.selectbox(key=K + "change").value == "product_view"
    assert at.radio(key=K + "population").value == "triggered"
    assert at.number_input(key=K + "lift").value == pytest.approx(6.0)
    assert at.number_input(key=K + "daily").value == 5_000
    assert at.selectbox(key=K + "success").value == "checkout"
    assert at.selectbox(key=K + "template").value is None


def test_widgets_follow_the_plan_when_it_changes_elsewhere():
    at = run_page()
    plan = plan_of(at)
    at.session_state["plan"] = ExperimentPlan.from_dict({**plan.to_dict(), "alpha": 0.1})
    at.run()
    assert at.number_input(key=K + "alpha").value == pytest.approx(0.1)


def test_editing_the_funnel_table():
    at = run_page()
    at.session_state[K + "funnel"] = {
        "edited_rows": {2: {"step_pct": 25.0}},
        "added_rows": [],
        "deleted_rows": [4],
    }
    at.run()
    assert_clean(at)
    funnel = plan_of(at).extra[EXTRA_KEY]
    assert funnel["stages"] == ["Visit", "Product view", "Add to cart", "Checkout"]
    assert funnel["steps"] == [0.55, 0.25, 0.45]
    assert "edited" in funnel["source"]


def test_a_bad_funnel_table_is_a_sentence_and_leaves_the_plan_alone():
    at = run_page()
    at.radio(key=K + "numbers").set_value("users").run()
    before = plan_of(at)
    at.session_state[K + "funnel"] = {
        "edited_rows": {3: {"users": 5_000_000}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert_clean(at)
    assert "more users" in texts(at.error)
    assert plan_of(at) == before


def test_a_bad_roles_table_is_a_sentence():
    at = run_page()
    at.session_state[K + "roles"] = {
        "edited_rows": {},
        "added_rows": [{"name": "Refund rate", "type": "binary", "baseline": 3.0}],
        "deleted_rows": [],
    }
    at.run()
    assert_clean(at)
    assert "fraction between 0 and 1" in texts(at.error)
    at.session_state[K + "roles"] = {
        "edited_rows": {},
        "added_rows": [
            {
                "name": "Refund rate",
                "role": "guardrail",
                "type": "binary",
                "baseline": 0.03,
                "direction": "decrease",
                "margin_pct": 10.0,
                "unit": "user",
            }
        ],
        "deleted_rows": [0],
    }
    at.run()
    plan = plan_of(at)
    assert "revenue" not in [m.name for m in plan.metrics]
    refund = plan.guardrails[-1]
    assert (refund.name, refund.margin, refund.baseline) == ("Refund rate", 0.1, 0.03)


def test_funnel_from_the_demo_event_log():
    at = run_page()
    at.radio(key=K + "mode").set_value("log").run()
    assert_clean(at)
    preview = at.dataframe[0].value
    assert preview["Stage"].tolist() == list(FUNNEL_STAGES)
    at.button(key=K + "use_log").click().run()
    funnel = plan_of(at).extra[EXTRA_KEY]
    assert funnel["stages"] == list(FUNNEL_STAGES)
    assert funnel["users"][0] == 20_000
    assert funnel["source"] == "event log demo_events.parquet"
    # stages in a wrong order: a warning, not an exception
    stages = next(m for m in at.multiselect if m.key.startswith(K + "logmap_stages"))
    stages.set_value(["visit", "purchase", "checkout"]).run()
    assert_clean(at)
    assert "right order" in texts(at.warning)
    at.selectbox(key=K + "logmap_timestamp").set_value("event").run()
    assert "three different columns" in texts(at.error)


def test_every_change_counts_even_back_to_an_earlier_value():
    at = run_page()
    for unit in ("session", "user", "cluster", "user"):
        at.radio(key=K + "rand_unit").set_value(unit).run()
        assert plan_of(at).randomization_unit == unit
    for key in ("saas", "ecommerce"):
        at.selectbox(key=K + "template").set_value(key).run()
        assert plan_of(at).extra[EXTRA_KEY]["template"] == key
    # after the page's own writes, a change made elsewhere is still followed
    at.session_state["plan"] = ExperimentPlan.from_dict({**plan_of(at).to_dict(), "power": 0.9})
    at.run()
    assert at.number_input(key=K + "power").value == pytest.approx(90.0)


def test_successive_table_edits_accumulate():
    at = run_page()
    edits = {2: {"step_pct": 25.0}}
    at.session_state[K + "funnel"] = {"edited_rows": edits, "added_rows": [], "deleted_rows": []}
    at.run()
    # the browser keeps sending every edit relative to the table it was first given
    edits = {**edits, 3: {"step_pct": 50.0}}
    at.session_state[K + "funnel"] = {"edited_rows": edits, "added_rows": [], "deleted_rows": []}
    at.run()
    assert_clean(at)
    reached = FunnelSetup.from_plan(plan_of(at)).funnel.reached
    assert reached[2:4] == pytest.approx([0.55 * 0.25, 0.55 * 0.25 * 0.5])
    assert "edited" in plan_of(at).extra[EXTRA_KEY]["source"]


def test_unusual_plans_open_without_changing():
    plan = ExperimentPlan(
        alpha=0.6,
        power=0.3,
        daily_units=0.5,
        randomization_unit="household",
        metrics=(MetricSpec("revenue", type="continuous", baseline=5, sd=20, mde=0.00001),),
    )
    at = run_page(plan)
    assert plan_of(at) == plan
    assert at.selectbox(key=K + "success").value == "__keep__"
    assert at.radio(key=K + "rand_unit").value == "user"
    no_success = ExperimentPlan(metrics=(MetricSpec("revenue", role="secondary"),))
    at = run_page(no_success)
    assert plan_of(at) == no_success
    assert "no success metric yet" in texts(at.warning)
