"""The amendment diff: each changed field of a plan as the pages write it."""

from __future__ import annotations

import dataclasses

from abcore.plan import ExperimentPlan, MetricSpec
from abcore.registry import PlanChange, changed_after_launch, plan_diff

BASE = ExperimentPlan(
    metrics=(
        MetricSpec("converted", baseline=0.10, mde=0.05),
        MetricSpec("revenue", "guardrail", "continuous", "increase", baseline=42.0, sd=80.0,
                   margin=0.02),
    )
)  # fmt: skip


def texts(old: ExperimentPlan, new: ExperimentPlan) -> list[str]:
    return [c.text for c in plan_diff(old.to_dict(), new.to_dict())]


def test_shares_and_thousands_read_as_people_write_them():
    new = dataclasses.replace(
        BASE, expected_shares={"control": 0.4, "treatment": 0.6}, daily_units=50_000
    )
    assert texts(BASE, new) == [
        "daily units 20,000 → 50,000",
        "share of control 50% → 40%",
        "share of treatment 50% → 60%",
    ]


def test_a_mean_is_a_number_a_rate_and_a_margin_are_percentages():
    revenue = dataclasses.replace(BASE.metrics[1], baseline=45.5, margin=0.01)
    converted = dataclasses.replace(BASE.metrics[0], baseline=0.12)
    new = dataclasses.replace(BASE, metrics=(converted, revenue))
    assert texts(BASE, new) == [
        "converted baseline 10% → 12%",
        "revenue baseline 42 → 45.5",
        "revenue margin 2% → 1%",
    ]


def test_reordering_metrics_is_no_change_and_removing_one_is_one_change():
    reordered = dataclasses.replace(BASE, metrics=BASE.metrics[::-1])
    assert texts(BASE, reordered) == []
    fewer = dataclasses.replace(BASE, metrics=BASE.metrics[:1])
    assert texts(BASE, fewer) == ["metric revenue removed"]


def test_unknown_keys_and_an_unreadable_plan_still_diff():
    old = {**BASE.to_dict(), "owner_team": "growth"}
    new = {**BASE.to_dict(), "owner_team": "search"}
    assert [c.text for c in plan_diff(old, new)] == ["owner team 'growth' → 'search'"]
    broken = {**BASE.to_dict(), "alpha": 7}  # no longer a valid plan: compared as stored
    assert [c.text for c in plan_diff(BASE.to_dict(), broken)] == ["alpha 0.05 → 7"]


def test_changes_round_trip_and_make_one_sentence():
    changes = plan_diff(BASE.to_dict(), dataclasses.replace(BASE, power=0.9).to_dict())
    assert tuple(PlanChange.from_dict(c.to_dict()) for c in changes) == changes
    assert changes[0] == PlanChange("power", 0.8, 0.9, "power 80% → 90%")
    assert changed_after_launch(changes) == "changed after launch: power 80% → 90%"
    assert changed_after_launch(()) == ""
