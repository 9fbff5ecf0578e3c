"""abcore.funnel: funnels, per-stage sample sizes, metrics from the funnel into the plan."""

from __future__ import annotations

import json
import math

import altair as alt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

from abcore import config, planning
from abcore.charts import funnel_chart
from abcore.errors import InputError
from abcore.funnel import (
    EXTRA_KEY,
    GUARDRAIL_CATALOGUE,
    TEMPLATES,
    Funnel,
    FunnelSetup,
    guardrail_metric,
    plan_with_funnel,
    sensitivity_for_plan,
    stage_metric,
    stage_sensitivity,
    template_funnel,
    unit_warnings,
)
from abcore.plan import ExperimentPlan, MetricSpec

STAGES = ["visit", "view", "cart", "checkout", "purchase"]
step_rates = st.lists(st.floats(0.05, 0.95), min_size=1, max_size=6)


def funnel_of(rates: list[float]) -> Funnel:
    return Funnel.from_step_rates([f"s{i}" for i in range(len(rates) + 1)], rates)


# ---- Funnel ---------------------------------------------------------------------------------
@given(step_rates)
def test_step_rates_round_trip_to_cumulative_shares(rates):
    f = funnel_of(rates)
    np.testing.assert_allclose(f.reached, np.cumprod([1.0, *rates]))
    np.testing.assert_allclose(f.step_rates[1:], rates)
    table = f.table()
    # every entrant either reaches the last stage or is lost at exactly one step
    assert math.isclose(table["lost"].sum() + f.reached[-1], 1.0)
    np.testing.assert_allclose(table["drop_off"].iloc[1:], 1 - np.asarray(rates))


def test_counts_give_shares_of_entrants():
    f = Funnel.from_counts(STAGES, [2000, 1000, 250, 100, 60])
    assert f.reached == (1.0, 0.5, 0.125, 0.05, 0.03)
    assert f.step_rates == pytest.approx((1.0, 0.5, 0.25, 0.4, 0.6))
    assert f.users == (2000, 1000, 250, 100, 60)
    assert f.table()["users"].tolist() == [2000, 1000, 250, 100, 60]


@pytest.mark.parametrize(
    ("stages", "counts", "match"),
    [
        (["visit", "buy"], [100, 120], "more users .*120.* than 'visit'"),
        (["visit", "visit"], [100, 10], "appears twice"),
        (["visit", " "], [100, 10], "needs a name"),
        (["visit"], [100], "at least two stages"),
        (["visit", "buy"], [0, 0], "No user enters"),
        (["visit", "buy"], [100, None], "'buy' is missing"),
        (["visit", "buy"], [100, 2.5], "whole numbers"),
    ],
)
def test_bad_funnel_tables_say_what_to_fix(stages, counts, match):
    with pytest.raises(InputError, match=match):
        Funnel.from_counts(stages, counts)


def test_bad_step_rates_say_what_to_fix():
    with pytest.raises(InputError, match="between 0% and 100%"):
        Funnel.from_step_rates(["a", "b"], [1.2])
    with pytest.raises(ValueError, match="reached\\[0\\] must be 1"):
        Funnel(("a", "b"), (0.5, 0.2))
    with pytest.raises(ValueError, match="unit must be one of"):
        Funnel(("a", "b"), (1.0, 0.2), unit="visitor")


@given(step_rates, st.sampled_from(config.RANDOMIZATION_UNITS), st.booleans())
def test_funnel_round_trips_through_json(rates, unit, counts):
    f = funnel_of(rates)
    f = Funnel(f.stages, f.reached, unit=unit, source="test")
    if counts:
        f = f.with_users(10_000)
    back = Funnel.from_dict(json.loads(json.dumps(f.to_dict())))
    assert back.stages == f.stages
    assert back.unit == unit
    assert back.users == f.users
    np.testing.assert_allclose(back.step_rates, f.step_rates, rtol=1e-5)


def test_templates_are_valid_funnels_with_typical_rates():
    for key, template in TEMPLATES.items():
        f = template_funnel(key)
        assert f.stages == template.stages
        assert template.change_stage in f.stages[:-1]
        assert set(template.guardrails) <= set(GUARDRAIL_CATALOGUE)
        # the last stage (money) is a small minority of entrants, as in real funnels
        assert 0.001 < f.reached[-1] < 0.10, key
    assert template_funnel("ecommerce").stages == (
        "Visit",
        "Product view",
        "Add to cart",
        "Checkout",
        "Purchase",
    )
    assert template_funnel("search").stages == (
        "Search",
        "Click on a result",
        "Long click (30 s+)",
        "Conversion",
    )
    with pytest.raises(ValueError, match="template must be one of"):
        template_funnel("retail")


# ---- sensitivity ---------------------------------------------------------------------------
def test_sensitivity_matches_statsmodels_for_each_stage():
    f = Funnel.from_counts(STAGES, [10_000, 6_000, 1_500, 800, 500])
    table = stage_sensitivity(f, mde=0.1, daily_entrants=5_000, change_stage="visit")
    for k in range(1, len(STAGES)):
        p = f.reached[k]
        # samplesize_proportions_2indep_onetail(diff, prop2, power, ratio, alpha, alternative)
        ref = samplesize_proportions_2indep_onetail(0.1 * p, p, 0.8, ratio=1, alpha=0.05)
        assert table.loc[k, "n_control"] == math.ceil(ref - 1e-9)
        assert table.loc[k, "n_total"] == 2 * table.loc[k, "n_control"]
        assert table.loc[k, "days"] == math.ceil(table.loc[k, "n_total"] / 5_000)
        assert table.loc[k, "run_days"] == max(1, math.ceil(table.loc[k, "days"] / 7)) * 7


def test_triggered_view_uses_rate_and_traffic_at_the_change_stage():
    f = Funnel.from_counts(STAGES, [10_000, 6_000, 1_500, 800, 500])
    table = stage_sensitivity(
        f, mde=0.05, daily_entrants=20_000, change_stage="view", alpha=0.1, exposure=0.5
    )
    assert table["triggered_daily_units"].iloc[0] == 20_000 * 0.6
    for k in (2, 3, 4):
        rate = f.reached[k] / 0.6
        assert table.loc[k, "triggered_rate"] == pytest.approx(rate)
        ref = samplesize_proportions_2indep_onetail(0.05 * rate, rate, 0.8, ratio=1, alpha=0.1)
        assert table.loc[k, "triggered_n_control"] == math.ceil(ref - 1e-9)
        days = math.ceil(table.loc[k, "triggered_n_total"] / (20_000 * 0.6 * 0.5))
        assert table.loc[k, "triggered_days"] == days
    # stages reached before the change cannot move, in either view
    assert table["error"].tolist()[:2] == ["entry", "before_change"]
    assert table["triggered_error"].tolist()[:2] == ["entry", "before_change"]
    assert table.loc[:1, ["n_control", "triggered_n_control"]].isna().all().all()
    assert table["change"].tolist() == [False, True, False, False, False]


@settings(max_examples=60, deadline=None)
@given(step_rates, st.floats(0.01, 0.3), st.data())
def test_deeper_stages_need_more_users_and_triggering_never_needs_more_days(rates, mde, data):
    f = funnel_of(rates)
    change = data.draw(st.integers(0, len(rates) - 1))
    table = stage_sensitivity(f, mde=mde, daily_entrants=50_000, change_stage=change)
    sized = table[table["n_control"].notna()]
    assert (np.diff(sized["n_control"].astype(float)) >= 0).all()
    both = table[table["days"].notna() & table["triggered_days"].notna()]
    # up to one day of slack: both sizes are rounded up to whole users before dividing
    assert (both["triggered_days"] <= both["days"] + 1).all()


def test_degenerate_stages_get_a_reason_not_an_exception():
    f = Funnel.from_counts(["a", "b", "c", "d"], [100, 100, 60, 0])
    table = stage_sensitivity(f, mde=0.8, daily_entrants=100)
    assert table["error"].tolist() == ["entry", "entry", "lift_too_large", "no_units"]
    assert table["n_control"].isna().all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mde": 0.0}, "mde must be > 0"),
        ({"daily_entrants": -1}, "daily_entrants must be > 0"),
        ({"alternative": "less"}, "alternative must be one of"),
        ({"change_stage": "basket"}, "stage 'basket' is not in this funnel"),
        ({"exposure": 1.5}, "exposure must be <= 1"),
    ],
)
def test_sensitivity_validates_parameters(kwargs, match):
    options = {"mde": 0.05, "daily_entrants": 1_000, **kwargs}
    with pytest.raises(ValueError, match=match):
        stage_sensitivity(template_funnel("ecommerce"), **options)


@pytest.mark.parametrize("population", ["all", "triggered"])
@pytest.mark.parametrize("guardrails", [0, 2])
def test_chosen_stage_matches_the_plan_page_size(population, guardrails):
    setup = FunnelSetup.from_template("ecommerce", lift=0.08)
    setup = FunnelSetup(setup.funnel, "Product view", population, "ecommerce", 0.08)
    plan = ExperimentPlan(alternative="greater", expected_shares={"control": 0.4, "treatment": 0.6})
    keys = list(GUARDRAIL_CATALOGUE)[:guardrails]
    others = [guardrail_metric(k) for k in keys]
    new = plan_with_funnel(
        plan, setup, success_stage="Checkout", daily_entrants=30_000, others=others
    )
    table = sensitivity_for_plan(
        setup.funnel, new, mde=0.08, daily_entrants=30_000, change_stage="Product view"
    )
    prefix = "triggered_" if population == "triggered" else ""
    row = table.set_index("stage").loc["Checkout"]
    sizing = planning.size_plan(new)
    assert row[prefix + "n_control"] == sizing.success_n_control
    if sizing.binding == new.success.name:
        assert row[prefix + "days"] == sizing.days


# ---- metrics and the plan -----------------------------------------------------------------------
def test_choosing_a_stage_writes_the_success_metric_and_keeps_the_rest():
    plan = ExperimentPlan(
        metrics=(
            MetricSpec("converted", baseline=0.1, mde=0.05),
            MetricSpec("revenue", "secondary", "continuous", baseline=5, sd=20),
            MetricSpec("load_ms", "guardrail", "continuous", "decrease", 800, 400, margin=0.02),
        ),
        extra={"owner": "growth"},
    )
    setup = FunnelSetup.from_template("ecommerce", lift=0.07)
    new = plan_with_funnel(plan, setup, success_stage="Add to cart", daily_entrants=12_000)
    success = new.success
    assert success.name == "Add to cart conversion"
    assert (success.role, success.type, success.direction) == ("success", "binary", "increase")
    assert success.baseline == pytest.approx(0.55 * 0.17)
    assert success.mde == 0.07
    assert success.relative
    assert [m.name for m in new.metrics[1:]] == ["revenue", "load_ms"]
    assert new.daily_units == 12_000
    assert new.extra["owner"] == "growth"
    assert new.extra[EXTRA_KEY]["stages"] == list(TEMPLATES["ecommerce"].stages)


def test_triggered_population_uses_the_rate_and_traffic_at_the_change():
    setup = FunnelSetup(template_funnel("ecommerce"), "Product view", "triggered", "ecommerce")
    new = plan_with_funnel(ExperimentPlan(), setup, success_stage="Purchase", daily_entrants=10_000)
    assert new.success.baseline == pytest.approx(0.17 * 0.45 * 0.65)
    assert new.success.extra["trigger_stage"] == "Product view"
    assert new.daily_units == pytest.approx(5_500)


def test_the_share_link_carries_the_funnel_and_choices():
    funnel = Funnel.from_counts(STAGES, [20_000, 11_949, 4_401, 2_421, 1_658], source="log")
    setup = FunnelSetup(funnel, "view", "triggered", None, 0.06)
    plan = plan_with_funnel(
        ExperimentPlan(),
        setup,
        success_stage="cart",
        daily_entrants=3_000,
        others=[guardrail_metric("error_rate")],
        randomization_unit="session",
    )
    back = ExperimentPlan.from_query_params(plan.to_query_params())
    assert back == plan
    restored = FunnelSetup.from_plan(back)
    assert restored == setup
    assert back.success.extra["funnel_stage"] == "cart"
    assert back.guardrails[0].extra["unit"] == "page view"
    # compact: names and numbers, no rows
    assert len(json.dumps(back.extra[EXTRA_KEY])) < 400


def test_keeping_a_non_funnel_success_metric_and_refreshing_linked_ones():
    plan = ExperimentPlan()  # success "converted", not from a funnel
    setup = FunnelSetup.from_template("ecommerce")
    kept = plan_with_funnel(plan, setup)
    assert kept.success == plan.success
    linked = plan_with_funnel(
        plan,
        setup,
        success_stage="Checkout",
        others=[stage_metric(setup, "Purchase", role="secondary")],
    )
    # the user edits the funnel: linked metrics follow, without choosing the stage again
    edited = Funnel.from_step_rates(setup.funnel.stages, [0.5, 0.2, 0.5, 0.5])
    again = plan_with_funnel(linked, FunnelSetup(edited, "Product view", lift=0.1))
    assert again.success.baseline == pytest.approx(0.05)
    assert again.success.mde == pytest.approx(0.1)
    assert again.metrics[1].baseline == pytest.approx(0.025)
    assert again.metrics[1].role == "secondary"


def test_damaged_funnel_in_a_plan_is_ignored():
    plan = ExperimentPlan(extra={EXTRA_KEY: {"stages": ["a"], "reached": [1.0]}})
    assert FunnelSetup.from_plan(plan) is None
    assert FunnelSetup.from_plan(ExperimentPlan(extra={EXTRA_KEY: "junk"})) is None


@pytest.mark.parametrize("key", list(GUARDRAIL_CATALOGUE))
def test_catalogue_guardrails_can_be_sized_by_the_plan(key):
    metric = guardrail_metric(key)
    assert metric.role == "guardrail"
    assert metric.margin > 0
    assert metric.extra["unit"] in config.RANDOMIZATION_UNITS
    plan = ExperimentPlan(metrics=(*ExperimentPlan().metrics, metric))
    sizing = planning.size_plan(plan)
    assert all(g.n_control for g in sizing.guardrails)


def test_unit_warnings():
    per_user = [MetricSpec("converted", extra={"unit": "user"})]
    assert unit_warnings("user", per_user) == []
    assert unit_warnings("user", [MetricSpec("no unit given")]) == []
    load = unit_warnings("user", [guardrail_metric("page_load_time")])
    assert len(load) == 1
    assert "delta method" in load[0]
    assert "Set its type to ratio" in load[0]
    ratio = MetricSpec("load", type="ratio", extra={"unit": "page view"})
    assert "Set its type" not in unit_warnings("user", [ratio])[0]
    session = unit_warnings("session", per_user)
    assert "both versions" in session[0]
    assert "mixes the two versions" in session[1]
    assert "number of clusters" in unit_warnings("cluster", [])[0]
    with pytest.raises(ValueError, match="randomization_unit must be one of"):
        unit_warnings("household", [])


def test_funnel_chart_names_the_change_and_the_success_metric():
    f = Funnel.from_counts(STAGES, [2000, 1000, 250, 100, 60])
    chart = funnel_chart(f, change_stage="view", success_stage="cart")
    assert isinstance(chart, alt.LayerChart)
    spec = chart.to_dict()
    rows = [r for ds in spec["datasets"].values() for r in ds]
    shown = {r["stage"]: r for r in rows if "label" in r}
    assert shown["cart"]["label"] == "12.5% of entrants"
    assert shown["cart"]["note"] == "25% of the stage before · 250 users"
    assert (shown["visit"]["label"], shown["visit"]["note"]) == ("100% of entrants", "2,000 users")
    assert shown["view"]["mark"] == "◀ change happens here"
    assert shown["cart"]["mark"] == "◀ success metric"
    assert shown["visit"]["mark"] == ""
    parts = pd.DataFrame([r for r in rows if "part" in r])
    lost = parts[parts["part"] == "drop off at this step"].set_index("stage")["value"]
    assert lost["view"] == pytest.approx(0.5)
