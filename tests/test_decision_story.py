"""One test, one story: the decision quotes the p-value, interval and sidedness the Results
table shows, and the test is the one the plan registered."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import abcore
from abcore import stats
from abcore.decision import decide
from abcore.quote import quote_p
from abcore.report import analysis_report_json, analysis_report_markdown
from ui.state import demo_plan

DEMO = "sample_data/demo_experiment.parquet"


def _readout(plan):
    return abcore.analyze(pd.read_parquet(DEMO), variant="variant", plan=plan)


def _success(analysis):
    row = analysis.effects[analysis.effects["family"] == "success"].iloc[0]
    test = next(
        t for a in analysis.recommendation.arms for t in a.tests if t.metric == row["metric"]
    )
    return row, test


def test_a_two_sided_plan_quotes_the_results_two_sided_p_and_interval():
    plan = demo_plan()
    assert plan.alternative == "two-sided"
    analysis = _readout(plan)
    row, test = _success(analysis)
    assert analysis.recommendation.verdict == "ship"
    assert test.p_value_adjusted == pytest.approx(float(row["p_value_adjusted"]), rel=1e-12)
    assert f"p = {quote_p(row['p_value_adjusted'])} after correction" in test.sentence
    assert "two-sided, as planned" in test.sentence
    assert "one-sided" not in test.sentence
    low, high = float(row["rel_ci_low"]), float(row["rel_ci_high"])
    assert f"CI {low:+.2%} to {high:+.2%}" in test.sentence


def test_a_one_sided_plan_quotes_the_results_one_sided_p_and_bound():
    plan = dataclasses.replace(demo_plan(), alternative="greater")
    analysis = _readout(plan)
    row, test = _success(analysis)
    assert np.isinf(float(row["rel_ci_high"]))  # the table shows the one-sided bound
    # the decision tests the relative lift, the table the difference: the same test to
    # within the rounding of the quote (both asymptotic, one-sided at alpha)
    assert test.p_value_adjusted == pytest.approx(float(row["p_value_adjusted"]), rel=1e-2)
    assert f"p = {quote_p(row['p_value_adjusted'])} after correction" in test.sentence
    assert "one-sided, as planned" in test.sentence
    assert f"CI above {float(row['rel_ci_low']):+.2%}" in test.sentence


def test_the_two_sided_win_is_the_one_sided_test_at_half_alpha():
    """The reading changed, not the test: over a grid of lifts either side of zero the
    two-sided win (p < alpha, good side) is exactly the one-sided test at alpha / 2."""
    plan = demo_plan()
    base = 0.10
    n = 20_000
    for lift in np.linspace(-0.08, 0.08, 81):
        conversions = round(n * base * (1 + lift))
        c = stats.compare_proportions(n, round(n * base), n, conversions)
        only = dataclasses.replace(
            plan, metrics=tuple(m for m in plan.metrics if m.name == "converted")
        )
        rec = decide(only, {"treatment": {"converted": c}}, ())
        win = any(t.outcome == "win" for t in rec.arms[0].tests)
        old = bool(stats.superiority(c, direction="increase", alpha=plan.alpha / 2).passed)
        assert win == old, lift


def test_the_reports_tell_the_story_of_the_pages():
    plan = demo_plan()
    analysis = _readout(plan)
    row, _ = _success(analysis)
    quoted = quote_p(row["p_value_adjusted"])
    text = analysis_report_markdown(analysis, plan=plan)
    assert f"p = {quoted} after correction (two-sided, as planned" in text
    table_row = next(line for line in text.splitlines() if line.startswith("| converted |"))
    assert table_row.endswith(f"| {quoted} |")
    assert "Success metrics two-sided, as planned." in text
    data = json.loads(analysis_report_json(analysis, plan=plan))
    (test,) = [t for t in data["recommendation"]["arms"][0]["tests"] if t["metric"] == "converted"]
    effect = next(e for e in data["effects"] if e["metric"] == "converted")
    assert test["p_value_adjusted"] == pytest.approx(effect["p_value_adjusted"], rel=1e-12)
