"""The plan's analysis method end to end in the engine: plan fields, sizing, the readout's
intervals and p-values, the lift over time and the early-stopping decision."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import abcore
from abcore import ExperimentPlan, MetricSpec, planning, sequential
from abcore.compare import readout_options
from abcore.errors import InputError
from abcore.model import ReadoutOptions
from abcore.peeking import PeekingRule
from abcore.stats import compare_means, compare_proportions
from sample_data.generate import make_scenario

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


# --- the plan ------------------------------------------------------------------------------


def test_a_fixed_plan_writes_no_method_keys_so_old_fingerprints_hold():
    data = ExperimentPlan().to_dict()
    assert not {"method", "looks", "spending", "rho", "tuning_n"} & set(data)
    old = {k: v for k, v in data.items() if k != "schema"}
    assert ExperimentPlan.from_dict(old).method == "fixed"
    assert ExperimentPlan.from_dict(old).fingerprint() == ExperimentPlan().fingerprint()


def test_the_method_travels_in_json_link_and_fingerprint():
    plan = dataclasses.replace(PLAN, method="group_sequential", looks=3, spending="pocock")
    assert ExperimentPlan.from_json(plan.to_json()) == plan
    assert ExperimentPlan.from_query_params(plan.to_query_params()) == plan
    assert json.loads(plan.to_json())["method"] == "group_sequential"
    assert plan.fingerprint() != PLAN.fingerprint()
    assert dataclasses.replace(PLAN, method="always_valid").peeking_safe


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"method": "bayesian"}, "method must be one of"),
        ({"looks": 0}, "looks must be >= 1"),
        ({"looks": 2.5}, "looks must be a whole number"),
        ({"spending": "linear"}, "spending must be one of"),
        ({"rho": 0}, "rho must be > 0"),
        ({"tuning_n": -5}, "tuning_n must be > 0"),
    ],
)
def test_bad_method_settings_name_the_parameter(changes, match):
    with pytest.raises(ValueError, match=match):
        ExperimentPlan(**changes)
    with pytest.raises(InputError, match=match):
        ExperimentPlan.from_dict(changes)


# --- sizing --------------------------------------------------------------------------------


def test_sizing_returns_each_methods_size_next_to_fixed():
    fixed = planning.size_plan(PLAN)
    assert fixed.method_n_control == fixed.n_control
    assert fixed.inflation == 1.0
    assert [c.method for c in fixed.costs] == ["fixed", "group_sequential", "always_valid"]
    for method in ("always_valid", "group_sequential"):
        s = planning.size_plan(dataclasses.replace(PLAN, method=method))
        cost = next(c for c in s.costs if c.method == method)
        assert s.n_control == fixed.n_control
        assert s.method_n_control == math.ceil(fixed.n_control * cost.inflation - 1e-9)
        assert s.method_recommended_days >= fixed.recommended_days
        assert s.method_recommended_days % 7 == 0
    # 4 looks with alpha t^2 cost about 5.6% more users; daily always-valid looks ~72%
    gs, av = fixed.costs[1], fixed.costs[2]
    assert 1.03 < gs.inflation < 1.08
    assert 1.5 < av.inflation < 1.9


def test_more_looks_cost_more_users():
    few = planning.size_plan(dataclasses.replace(PLAN, method="group_sequential", looks=2))
    many = planning.size_plan(dataclasses.replace(PLAN, method="group_sequential", looks=8))
    assert few.method_n_control < many.method_n_control


# --- the rule ------------------------------------------------------------------------------


def test_always_valid_interval_is_the_confidence_sequence():
    c = compare_proportions(15_000, 1_500, 15_000, 1_650)
    rule = PeekingRule("always_valid", planned_n=40_000)
    s = rule.apply(c)
    ref = sequential.sequential_comparison(c, tuning_n=40_000).absolute
    assert s.abs_ci_low == pytest.approx(ref.ci_low, rel=1e-9)
    assert s.abs_ci_high == pytest.approx(ref.ci_high, rel=1e-9)
    # the p-value is the always-valid one of the test's own z (pooled, as the fixed test)
    ref_p = sequential.always_valid_p_value(c.statistic, 1.0, 30_000, tuning_n=40_000)
    assert s.p_value == pytest.approx(ref_p, rel=1e-6)
    assert s.p_value > c.p_value
    assert s.abs_effect == c.abs_effect
    assert s.se == c.se


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("method", ["always_valid", "group_sequential"])
def test_p_value_below_alpha_exactly_when_the_interval_excludes_zero(method, alternative):
    rule = PeekingRule(method, planned_n=20_000, looks=4)
    for conv in range(950, 1_200, 10):
        c = compare_means(
            5_000, 10.0, 4.0, 5_000, 10.0 + (conv - 1_000) / 2_000, 4.0, alternative=alternative
        )
        s = rule.apply(c)
        excludes = s.abs_ci_low > 0 or s.abs_ci_high < 0
        assert (s.p_value < 0.05) == excludes, (conv, s.p_value, s.abs_ci_low, s.abs_ci_high)


def test_group_sequential_uses_the_current_looks_boundary():
    rule = PeekingRule("group_sequential", planned_n=40_000, looks=4)
    assert rule.look_fractions(20_000) == (0.25, 0.5)
    assert rule.look_fractions(50_000) == (0.25, 0.5, 0.75, 1.0)
    d = sequential.group_sequential_design(4)
    assert rule.z_boundary(40_000, 0.05, "two-sided") == pytest.approx(d.boundaries[-1])
    # between planned looks the boundary sits between theirs
    b = rule.z_boundary(24_000, 0.05, "two-sided")
    assert d.boundaries[2] < b < d.boundaries[1]
    # at the boundary the p-value is alpha
    z = rule.z_boundary(40_000, 0.05, "two-sided")
    assert rule.p_value(2 * norm.sf(z), 40_000, 0.05, "two-sided") == pytest.approx(0.05)


def test_margin_test_passes_exactly_when_its_p_value_is_below_alpha():
    rule = PeekingRule("always_valid", planned_n=40_000)
    for shift in np.linspace(-0.02, 0.06, 17):
        c = compare_means(10_000, 100.0, 30.0, 10_000, 100.0 * (1 + shift), 30.0)
        mt = rule.margin_test(c, "noninferiority", "increase", 0.02, 0.025)
        assert bool(mt.passed) == (mt.p_value < 0.025), shift
        assert mt.alpha == 0.025


def test_readout_options_need_a_planned_size_for_a_peeking_safe_method():
    with pytest.raises(ValueError, match="planned_n must be given"):
        ReadoutOptions(method="always_valid")
    o = readout_options(dataclasses.replace(PLAN, method="always_valid", tuning_n=50_000))
    assert (o.method, o.planned_n, o.tuning_n) == ("always_valid", 39_494, 50_000)


# --- the readout ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_win():
    return make_scenario("clean_win")


def test_every_table_interval_widens_under_a_peeking_safe_method(clean_win):
    fixed = abcore.analyze(clean_win, variant="variant", plan=PLAN)
    for method in ("always_valid", "group_sequential"):
        a = abcore.analyze(
            clean_win, variant="variant", plan=dataclasses.replace(PLAN, method=method)
        )
        assert a.method == method
        width = (a.effects["rel_ci_high"] - a.effects["rel_ci_low"]).to_numpy()
        fixed_width = (fixed.effects["rel_ci_high"] - fixed.effects["rel_ci_low"]).to_numpy()
        assert np.all(width >= fixed_width - 1e-12)
        assert np.all(a.effects["p_value"].to_numpy() >= fixed.effects["p_value"] - 1e-12)
        # segments stay at the fixed horizon (exploratory)
        pd.testing.assert_frame_equal(a.segments, fixed.segments)


def test_lift_over_time_carries_the_sequence_and_its_first_day(clean_win):
    plan = dataclasses.replace(PLAN, method="always_valid")
    a = abcore.analyze(clean_win, variant="variant", plan=plan)
    fixed = abcore.analyze(clean_win, variant="variant", plan=PLAN)
    d = a.daily[a.daily["metric"] == "converted"]
    f = fixed.daily[fixed.daily["metric"] == "converted"]
    assert (d["method"] == "always_valid").all()
    assert np.all(
        d["abs_ci_high"].to_numpy() - d["abs_ci_low"].to_numpy()
        >= f["abs_ci_high"].to_numpy() - f["abs_ci_low"].to_numpy() - 1e-12
    )
    first = d["first_day_excluding_zero"].iloc[0]
    assert first is not None
    assert first == d.loc[d["excludes_zero"], "day"].iloc[0]
    assert first >= f["first_day_excluding_zero"].iloc[0]


def test_a_clear_win_stops_early_only_with_a_peeking_safe_method(clean_win):
    # the plan asks for twice the data: a fixed horizon must keep running
    big = dataclasses.replace(PLAN, planned_n_per_arm=50_000, planned_days=28)
    fixed = abcore.analyze(clean_win, variant="variant", plan=big).recommendation
    assert fixed.verdict == "keep_running"
    assert any(
        "Peeking" in c.name and c.status == "warn"
        for c in abcore.analyze(clean_win, variant="variant", plan=big).checks
    )
    early = abcore.analyze(
        clean_win, variant="variant", plan=dataclasses.replace(big, method="group_sequential")
    )
    assert early.recommendation.verdict == "ship", early.recommendation.reasons
    assert any("Stopped early" in r for r in early.recommendation.reasons)
    peeking = next(c for c in early.checks if c.name == "Peeking")
    assert peeking.status == "pass"
    assert "valid at every look" in peeking.message


def test_a_guardrail_harm_stops_a_sequential_test_early():
    df = make_scenario("guardrail_harm")
    plan = dataclasses.replace(
        PLAN, method="always_valid", planned_n_per_arm=60_000, planned_days=35
    )
    rec = abcore.analyze(df, variant="variant", plan=plan).recommendation
    assert rec.verdict == "dont_ship", rec.reasons
    assert any("page_load_ms" in r for r in rec.reasons)


def test_a_flat_sequential_test_keeps_running_to_its_planned_size():
    df = make_scenario("aa")
    plan = dataclasses.replace(
        PLAN, method="always_valid", planned_n_per_arm=60_000, planned_days=35
    )
    rec = abcore.analyze(df, variant="variant", plan=plan).recommendation
    assert rec.verdict == "keep_running", rec.reasons


# --- brief and report ----------------------------------------------------------------------


def test_brief_and_report_carry_the_method_and_its_cost():
    from abcore.report import analysis_report_markdown, plan_brief_json, plan_brief_markdown

    plan = dataclasses.replace(PLAN, method="group_sequential", looks=3)
    sizing = planning.size_plan(plan)
    brief = plan_brief_markdown(plan, sizing)
    assert "Group sequential with 3 planned looks" in brief
    assert "| Group sequential (chosen) |" in brief
    assert f"Users per arm: {sizing.method_n_control:,}" in brief
    data = json.loads(plan_brief_json(plan, sizing))
    assert data["plan"]["method"] == "group_sequential"
    assert data["sizing"]["n_control"] == sizing.method_n_control
    assert data["sizing"]["fixed_horizon"]["n_control"] == sizing.n_control
    a = abcore.analyze(make_scenario("clean_win"), variant="variant", plan=plan)
    report = analysis_report_markdown(a, plan=plan)
    assert "Analysis: Group sequential." in report
    assert "within each family" in report
