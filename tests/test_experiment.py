"""The experiment object and binding a file to a plan (issue 18, items 1-2): the plan
follows the user's data (metrics, arms, control, split), never the demo's."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from real_data import real

from abcore import ingest
from abcore.errors import InputError
from abcore.experiment import (
    DataSource,
    Experiment,
    bind_plan,
    design_split,
    drop_metrics,
    plan_from_data,
    rename_metric,
    success_candidates,
    with_roles,
)
from abcore.model import Mapping, MetricMapping, PrepStep
from abcore.plan import ExperimentPlan, MetricSpec


def aggregates_of(path):
    con = ingest.connect()
    dataset = ingest.load(con, path)
    return ingest.compute_stats(con, dataset, ingest.detect_schema(con, dataset))


def test_experiment_round_trips_through_json():
    exp = Experiment(
        plan=ExperimentPlan(
            name="Gate", control="gate_30", expected_shares={"gate_30": 0.5, "gate_40": 0.5}
        ),
        source=DataSource("cookie_cats.csv", sha256="ab" * 32, rows=90_189),
        mapping=Mapping(variant="version", metrics=(MetricMapping("retention_7", "binary"),)),
        options={"alpha": 0.05, "cuped": True},
        preparation=(PrepStep("duplicate_rows", rows_removed=3),),
        notes=({"day": "2024-03-02", "note": "outage"},),
        excluded_days=("2024-03-02",),
    )
    again = Experiment.from_json(exp.to_json())
    assert again == exp
    assert again.fingerprint() == exp.plan.fingerprint()
    assert "NaN" not in exp.to_json()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "JSON object with a 'plan'"),
        ("{", "not valid JSON"),
        ('{"plan": {"alpha": 7}}', "alpha"),
    ],
)
def test_a_malformed_experiment_is_a_sentence(text, message):
    with pytest.raises(InputError, match=message):
        Experiment.from_json(text)


def test_design_split_reads_common_designs_only():
    # marketing_AB: designed 96% ad / 4% psa
    assert design_split({"psa": 464, "ad": 11_298}).shares == {"psa": 0.04, "ad": 0.96}
    # a broken 50/50 test stays flagged: 52/48 is no common design
    guess = design_split({"a": 5_200, "b": 4_800})
    assert guess.shares == {"a": 0.5, "b": 0.5}
    assert "sample-ratio check flags it" in guess.note
    # equal and within chance: no sentence
    assert design_split({"gate_30": 44_700, "gate_40": 45_489}) == design_split(
        {"gate_30": 44_700, "gate_40": 45_489}
    )
    assert design_split({"gate_30": 44_700, "gate_40": 45_489}).note == ""
    assert design_split({"a": 100, "b": 101, "c": 99}).shares == pytest.approx(
        {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}
    )


def test_plan_from_cookie_cats_follows_the_file():
    path = real("cookie_cats.csv")
    agg = aggregates_of(path)
    binding = plan_from_data(agg, name="cookie_cats", base=ExperimentPlan(alpha=0.01))
    plan = binding.plan
    raw = pd.read_csv(path)
    control = raw[raw["version"] == "gate_30"]
    assert plan.control == "gate_30"
    assert plan.expected_shares == {"gate_30": 0.5, "gate_40": 0.5}
    assert plan.alpha == 0.01  # what the file cannot say comes from the base plan
    assert {m.name for m in plan.metrics} == {"sum_gamerounds", "retention_1", "retention_7"}
    specs = {m.name: m for m in plan.metrics}
    assert specs["retention_7"].baseline == pytest.approx(control["retention_7"].mean(), abs=1e-6)
    assert specs["sum_gamerounds"].type == "continuous"
    assert specs["sum_gamerounds"].sd == pytest.approx(control["sum_gamerounds"].std(), rel=1e-5)
    assert plan.success.name == "retention_1"  # named like an outcome, a yes/no, first in file
    chosen = plan_from_data(agg, name="c", success="retention_7").plan
    assert chosen.success.name == "retention_7"
    assert "gate_30" in binding.notes[0]


def test_plan_from_data_keeps_the_roles_the_base_plan_gave():
    agg = aggregates_of(real("cookie_cats.csv"))
    base = ExperimentPlan(
        metrics=(
            MetricSpec("retention_7", mde=0.02),
            MetricSpec("sum_gamerounds", "guardrail", "continuous", margin=0.05),
        )
    )
    plan = plan_from_data(agg, name="c", base=base, success="retention_7").plan
    specs = {m.name: m for m in plan.metrics}
    assert specs["retention_7"].role == "success"
    assert specs["retention_7"].mde == 0.02
    assert specs["sum_gamerounds"].role == "guardrail"
    assert specs["sum_gamerounds"].margin == 0.05
    assert specs["retention_1"].role == "secondary"


def test_udacity_success_is_the_gross_conversion():
    folder = real("udacity_free_trial")
    agg = aggregates_of([folder / "control_data.csv", folder / "experiment_data.csv"])
    plan = plan_from_data(agg, name="udacity").plan
    assert plan.success.name == "Enrollments/Clicks"
    assert plan.control == "control"


def test_bind_plan_takes_the_files_arms_and_asks_for_missing_metrics():
    agg = aggregates_of(real("cookie_cats.csv"))
    plan = ExperimentPlan(
        metrics=(
            MetricSpec("retention_7", mde=0.02),
            MetricSpec("page_load_ms", "guardrail", "continuous", "decrease", margin=0.02),
        )
    )
    binding = bind_plan(plan, agg)
    assert binding.plan.control == "gate_30"
    assert set(binding.plan.expected_shares) == {"gate_30", "gate_40"}
    assert binding.missing == ("page_load_ms",)
    assert "were not this file's" in binding.notes[0]
    # already bound: nothing changes, nothing said
    assert bind_plan(binding.plan, agg).plan == binding.plan
    assert bind_plan(binding.plan, agg).notes == ()


def test_answering_a_missing_metric_renames_or_drops_it():
    plan = ExperimentPlan(
        metrics=(MetricSpec("converted", mde=0.05), MetricSpec("latency", "guardrail", margin=0.1))
    )
    renamed = rename_metric(plan, "converted", "retention_7")
    assert renamed.success.name == "retention_7"
    assert renamed.success.mde == 0.05
    assert [m.name for m in drop_metrics(plan, ["latency"]).metrics] == ["converted"]
    with pytest.raises(InputError, match="success metric"):
        drop_metrics(plan, ["converted"])
    with pytest.raises(InputError, match="already a metric"):
        rename_metric(plan, "converted", "latency")


def test_success_candidates_prefer_outcomes():
    mapping = Mapping(
        variant="v",
        metrics=(
            MetricMapping("total ads", "continuous"),
            MetricMapping("converted", "binary"),
            MetricMapping("flag", "binary"),
        ),
    )
    assert success_candidates(mapping) == ["converted", "flag", "total ads"]
    assert dataclasses.replace(mapping, metrics=()).metrics == ()


def test_with_roles_moves_the_success_metric_and_sets_guardrails():
    agg = aggregates_of(real("cookie_cats.csv"))
    plan = plan_from_data(agg, name="c").plan  # success retention_1
    plan = dataclasses.replace(
        plan,
        metrics=tuple(
            dataclasses.replace(m, mde=0.03) if m.role == "success" else m for m in plan.metrics
        ),
    )
    new = with_roles(plan, agg, success="retention_7", guardrails=["sum_gamerounds"])
    specs = {m.name: m for m in new.metrics}
    assert new.success.name == "retention_7"
    assert new.success.mde == 0.03  # the effect worth detecting carries over
    assert specs["retention_1"].role == "secondary"
    assert specs["sum_gamerounds"].role == "guardrail"
    assert specs["sum_gamerounds"].margin == 0.02
    # unchanged success: its spec stays as typed
    assert with_roles(new, agg, success="retention_7", guardrails=["sum_gamerounds"]) == new
    with pytest.raises(InputError, match="not a metric of this data"):
        with_roles(plan, agg, success="page_load_ms")
    with pytest.raises(InputError, match="at once"):
        with_roles(plan, agg, success="retention_7", guardrails=["retention_7"])
