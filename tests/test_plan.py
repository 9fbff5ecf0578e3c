"""ExperimentPlan: JSON and link round trips, unknown keys kept, bad plans explained."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abcore import ExperimentPlan, InputError, MetricSpec

DESIGN_EXAMPLE = """
{
  "name": "Checkout button copy",
  "hypothesis": "The new copy raises purchase conversion by at least 5% relative.",
  "randomization_unit": "user",
  "control": "control",
  "expected_shares": {"control": 0.5, "treatment": 0.5},
  "alpha": 0.05,
  "power": 0.8,
  "metrics": [
    {"name": "converted", "role": "success", "type": "binary", "direction": "increase",
     "baseline": 0.10, "mde": 0.05, "relative": true},
    {"name": "revenue", "role": "secondary", "type": "continuous", "direction": "increase"},
    {"name": "load_ms", "role": "guardrail", "type": "continuous", "direction": "decrease",
     "margin": 0.02}
  ],
  "min_effect_to_launch": 0.0,
  "daily_units": 20000,
  "exposure": 1.0,
  "planned_n_per_arm": 31000,
  "start_date": "2026-03-02",
  "planned_days": 14
}
"""


def test_design_example_reads_and_round_trips():
    plan = ExperimentPlan.from_json(DESIGN_EXAMPLE)
    assert plan.success.name == "converted"
    assert [g.name for g in plan.guardrails] == ["load_ms"]
    assert plan.guardrails[0].margin == 0.02
    assert plan.treatments == ("treatment",)
    assert ExperimentPlan.from_json(plan.to_json()) == plan
    assert ExperimentPlan.from_query_params(plan.to_query_params()) == plan
    original = json.loads(DESIGN_EXAMPLE)
    exported = json.loads(plan.to_json())
    for key, value in original.items():
        if key != "metrics":
            assert exported[key] == value


def test_unknown_keys_are_kept_and_missing_ones_take_defaults():
    data = {
        "name": "x",
        "owner": "growth team",
        "metrics": [{"name": "m", "baseline": 0.2, "mde": 0.1, "stage": "checkout"}],
    }
    plan = ExperimentPlan.from_dict(data)
    assert plan.extra == {"owner": "growth team"}
    assert plan.metrics[0].extra == {"stage": "checkout"}
    assert plan.alpha == 0.05
    assert plan.power == 0.8
    again = json.loads(plan.to_json())
    assert again["owner"] == "growth team"
    assert again["metrics"][0]["stage"] == "checkout"


names = st.text(min_size=1, max_size=30).filter(lambda s: s.strip())


@settings(max_examples=50, deadline=None)
@given(
    name=st.text(max_size=60),
    alpha=st.floats(0.001, 0.3),
    power=st.floats(0.5, 0.99),
    metric=names,
    baseline=st.floats(0.001, 0.999),
    arms=st.integers(1, 4),
)
def test_query_params_round_trip_any_plan(name, alpha, power, metric, baseline, arms):
    shares = {"control": 1 / (arms + 1)} | {f"t{i}": 1 / (arms + 1) for i in range(arms)}
    plan = ExperimentPlan(
        name=name,
        alpha=alpha,
        power=power,
        expected_shares=shares,
        metrics=(MetricSpec(metric, baseline=baseline, mde=0.05),),
    )
    params = plan.to_query_params()
    assert set(params) == {"plan"}
    assert all(c.isalnum() or c in "-_" for c in params["plan"])
    assert ExperimentPlan.from_query_params(params) == plan
    assert ExperimentPlan.from_query_params({"plan": [params["plan"]]}) == plan


def test_fingerprint_follows_content():
    plan = ExperimentPlan()
    assert plan.fingerprint() == ExperimentPlan.from_json(plan.to_json()).fingerprint()
    assert plan.fingerprint() != dataclasses.replace(plan, alpha=0.01).fingerprint()
    assert len(plan.fingerprint()) == 12


def test_ratio_and_treatments_from_the_split():
    plan = ExperimentPlan(expected_shares={"a": 0.5, "b": 0.25, "c": 0.25}, control="a")
    assert plan.treatments == ("b", "c")
    assert plan.ratio == 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 0.0}, "alpha must be > 0"),
        ({"power": 1.2}, "power must be < 1"),
        ({"expected_shares": {"control": 1.0}}, "at least two arms"),
        ({"expected_shares": {"control": 0.5, "b": 0.6}}, "add up to 1"),
        ({"control": "ctrl"}, "control 'ctrl' must be one of the arms"),
        ({"exposure": 0.0}, "exposure must be > 0"),
        ({"alternative": "up"}, "alternative must be one of"),
    ],
)
def test_bad_plans_name_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ExperimentPlan(**kwargs)


def test_bad_metric_fields():
    with pytest.raises(ValueError, match="role must be one of"):
        MetricSpec("m", role="primary")
    with pytest.raises(ValueError, match="margin must be >= 0"):
        MetricSpec("m", margin=-0.1)
    with pytest.raises(ValueError, match="metric name"):
        MetricSpec("  ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"alpha": 2}', "alpha must be < 1"),
        ('{"metrics": [{"role": "success"}]}', "Metric 1 has no name"),
    ],
)
def test_bad_json_is_an_input_error(text, message):
    with pytest.raises(InputError, match=message):
        ExperimentPlan.from_json(text)


@pytest.mark.parametrize(
    "param", [{}, {"plan": ""}, {"plan": "abc"}, {"plan": "eJzLSM3JyQcABiwCFQ"}]
)
def test_damaged_links_are_input_errors(param):
    with pytest.raises(InputError, match=r"link|plan"):
        ExperimentPlan.from_query_params(param)  # each message names the link or the plan


def test_cut_link_is_explained():
    packed = ExperimentPlan().to_query_params()["plan"]
    with pytest.raises(InputError, match="damaged"):
        ExperimentPlan.from_query_params({"plan": packed[: len(packed) // 2]})


@pytest.mark.parametrize(("baseline", "shown"), [(5.0, "5.0"), (float("inf"), "inf")])
def test_a_metric_with_an_impossible_baseline_quotes_it(baseline, shown):
    # the Plan page clamped such a baseline to 0 and said "Baseline must be > 0, got 0.0"
    with pytest.raises(InputError, match=f"baseline of 'converted' .* got {shown}"):
        MetricSpec("converted", baseline=baseline)


def test_a_continuous_baseline_may_be_any_finite_number():
    assert MetricSpec("revenue", type="continuous", baseline=-5.0, sd=2.0).baseline == -5.0
    with pytest.raises(InputError, match=r"sd of 'revenue' must be a finite number, got nan"):
        MetricSpec("revenue", type="continuous", baseline=5.0, sd=float("nan"))
