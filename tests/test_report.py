"""The brief exports: numbers, fingerprint, escaping."""

from __future__ import annotations

import json
import re

from abcore import ExperimentPlan, MetricSpec
from abcore.planning import size_plan
from abcore.report import plan_brief_json, plan_brief_markdown, spreadsheet_safe


def test_markdown_brief_carries_the_numbers_and_the_fingerprint():
    plan = ExperimentPlan(
        name="Checkout", metrics=(MetricSpec("converted", baseline=0.1, mde=0.05),)
    )
    sizing = size_plan(plan)
    text = plan_brief_markdown(plan, sizing, link="http://x/?plan=abc")
    assert plan.fingerprint() in text
    assert f"{sizing.n_control:,}" in text
    assert f"{sizing.n_total:,}" in text
    assert "http://x/?plan=abc" in text


def test_user_text_cannot_inject_markdown_or_html():
    plan = ExperimentPlan(
        name="<script>alert(1)</script> *bold*",
        metrics=(MetricSpec("[link](http://evil)", baseline=0.1, mde=0.05),),
    )
    text = plan_brief_markdown(plan, size_plan(plan))
    assert re.search(r"(?<!\\)<script>", text) is None
    assert "\\<script>" in text  # the < that opens the tag is escaped: text in any viewer
    assert "[link](http://evil)" not in text


def test_json_brief_round_trips_the_plan():
    plan = ExperimentPlan()
    data = json.loads(plan_brief_json(plan, size_plan(plan)))
    assert data["fingerprint"] == plan.fingerprint()
    assert ExperimentPlan.from_dict(data["plan"]) == plan
    assert data["sizing"]["n_control"] == size_plan(plan).n_control


def test_spreadsheet_safe():
    for bad in ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=x"]:
        assert spreadsheet_safe(bad).startswith("'")
    assert spreadsheet_safe("normal") == "normal"
    assert spreadsheet_safe(3) == 3
