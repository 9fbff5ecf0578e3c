"""Pages read typed flags, never sentences (issue 17): an engine error names its parameter,
and the checks a page places beside its own section carry a topic."""

from __future__ import annotations

from pathlib import Path

import pytest

import abcore
from abcore.errors import ParameterError
from abcore.plan import ExperimentPlan
from ui.plan_view import friendly

DEMO = Path(__file__).resolve().parents[1] / "sample_data"


def test_a_bound_names_its_parameter_in_a_field():
    with pytest.raises(ParameterError) as info:
        ExperimentPlan(power=1.2)
    assert info.value.parameter == "power"
    assert isinstance(info.value, ValueError)  # notebook code catching ValueError still works


def test_the_plan_page_labels_the_field_from_the_parameter_not_the_wording():
    # the same words without the typed parameter are left alone
    assert friendly(ValueError("power must be < 1, got 1.2.")).startswith("power must")
    typed = ParameterError("power must be < 1, got 1.2.", parameter="power")
    assert friendly(typed).startswith("Power must be < 1")


def test_sample_ratio_and_balance_checks_carry_their_topic():
    plan = ExperimentPlan.from_json((DEMO / "demo_plan.json").read_text())
    analysis = abcore.analyze(DEMO / "demo_experiment.parquet", variant="variant", plan=plan)
    topics = {c.name: c.topic for c in analysis.checks}
    assert topics["Sample ratio"] == "srm"
    balance = [name for name, topic in topics.items() if topic == "balance"]
    assert balance
    assert all(name.startswith("Pre-period balance") for name in balance)
