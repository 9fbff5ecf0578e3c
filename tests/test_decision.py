"""The launch recommendation on generated scenarios with a known truth."""

from __future__ import annotations

import dataclasses

import pytest

import abcore
from abcore import ExperimentPlan, MetricSpec
from abcore.decision import decide
from abcore.model import Check
from sample_data.generate import make_experiment, make_scenario

PLAN = ExperimentPlan(
    name="scenario",
    metrics=(
        MetricSpec("converted", "success", "binary", "increase", baseline=0.10, mde=0.10),
        MetricSpec("revenue", "secondary", "continuous", "increase"),
        MetricSpec(
            "page_load_ms", "guardrail", "continuous", "decrease", baseline=860, sd=330, margin=0.02
        ),
    ),
    planned_n_per_arm=19_747,
    planned_days=14,
)


def verdict(df, plan=PLAN):
    a = abcore.analyze(df, variant="variant", plan=plan)
    return a.recommendation


@pytest.mark.parametrize(
    ("scenario", "expected", "reason"),
    [
        ("clean_win", "ship", "converted improved"),
        ("srm", "investigate", "Sample ratio mismatch"),
        ("novelty", "keep_running", "novelty effect"),
        ("guardrail_harm", "dont_ship", "Guardrail page_load_ms is breached"),
        ("underpowered", "keep_running", "under-powered"),
        ("aa", "dont_ship", "no significant improvement"),
    ],
)
def test_scenarios_get_the_right_verdict_and_reason(scenario, expected, reason):
    rec = verdict(make_scenario(scenario))
    assert rec.verdict == expected, rec.reasons
    assert any(reason in r for r in rec.reasons), rec.reasons
    assert rec.next_step


def test_a_win_below_the_cost_of_launching_is_not_a_ship():
    plan = dataclasses.replace(PLAN, min_effect_to_launch=0.25)
    rec = verdict(make_scenario("clean_win"), plan)
    assert rec.verdict == "dont_ship"
    assert any("less than the 25.0% the launch costs" in r for r in rec.reasons)


def test_early_win_is_keep_running_when_not_mature():
    plan = dataclasses.replace(PLAN, planned_days=28)
    rec = verdict(make_scenario("clean_win"), plan)
    assert rec.verdict == "keep_running"
    assert any("planned days" in r or "Analysed after" in r for r in rec.reasons)


def test_inconclusive_guardrail_keeps_the_test_running():
    plan = dataclasses.replace(
        PLAN,
        metrics=(
            PLAN.metrics[0],
            dataclasses.replace(PLAN.metrics[2], margin=0.001),
        ),
    )
    rec = verdict(make_scenario("clean_win"), plan)
    assert rec.verdict == "keep_running"
    assert any("not yet shown to be within" in r for r in rec.reasons)


def test_harm_on_the_success_metric_is_dont_ship_even_if_immature():
    df = make_experiment(30_000, effects={"converted": -0.25}, guardrail_harm=0.0)
    plan = dataclasses.replace(PLAN, planned_n_per_arm=100_000)
    rec = verdict(df, plan)
    assert rec.verdict == "dont_ship"
    assert any("significantly worse" in r for r in rec.reasons)


def test_missing_success_metric_is_investigate():
    plan = dataclasses.replace(PLAN, metrics=(MetricSpec("purchases", baseline=0.1, mde=0.1),))
    rec = verdict(make_scenario("clean_win"), plan)
    assert rec.verdict == "investigate"
    assert "purchases" in rec.reasons[0]


def test_several_arms_pick_the_best_one_and_split_alpha():
    df = make_experiment(
        60_000,
        arms=("control", "small", "big"),
        effects={"small": {"converted": 0.08}, "big": {"converted": 0.16}},
        guardrail_harm=0.0,
    )
    plan = dataclasses.replace(
        PLAN, expected_shares={"control": 1 / 3, "small": 1 / 3, "big": 1 / 3}
    )
    rec = verdict(df, plan)
    assert rec.verdict == "ship"
    assert rec.best_arm == "big"
    assert sorted(a.arm for a in rec.arms) == ["big", "small"]
    big = next(a for a in rec.arms if a.arm == "big")
    win = next(t for t in big.tests if t.metric == "converted")
    # the plan is two-sided: each test two-sided at alpha (one-sided at alpha / 2 in the
    # good direction), p-values adjusted across the arms
    assert win.alpha == pytest.approx(0.05)


def test_validity_gate_beats_a_win():
    a = abcore.analyze(make_scenario("clean_win"), variant="variant", plan=PLAN)
    gate = Check("Units in more than one arm", "fail", "12 units are in both arms.")
    rec = decide(PLAN, a.aggregates, [*a.checks, gate])
    assert rec.verdict == "investigate"
    assert "12 units are in both arms." in rec.reasons


def test_recommendation_serialises():
    rec = verdict(make_scenario("clean_win"))
    data = rec.to_dict()
    assert data["label"] == "Ship"
    assert data["arms"][0]["tests"][0]["metric"] == "converted"
