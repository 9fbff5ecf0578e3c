"""Quantile metrics on the pages (issue 21 item 1), through Streamlit's AppTest on the demo.

A p90 of page_load_ms chosen in the Results page's quantile editor gets its row in the
effects table, with the arms' p90 as numpy computes it on the demo file and the engine's
test (:func:`abcore.analyze` with the same mapping; the engine itself is checked against
GrowthBook's numbers in tests/test_quantile.py). A plan's quantile guardrail is read on the
Decision page, whose share link carries the quantile's summary.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import abcore
from abcore import share
from abcore.plan import MetricSpec
from ui import results_state as rs
from ui.decision_state import SHARED_KEY
from ui.state import PLAN_KEY, demo_plan

ROOT = Path(__file__).resolve().parents[1]
DEMO = pd.read_parquet(ROOT / "sample_data" / "demo_experiment.parquet")
EDITOR_SEED = "results__ds_demo__quantiles::seed"


def effects_table(at: AppTest) -> pd.DataFrame:
    for frame in at.dataframe:
        value = frame.value
        value = value.data if hasattr(value, "data") else value
        if "Result" in value.columns and "Metric" in value.columns:
            return value
    raise AssertionError("no effects table on the page")


def test_a_p90_chosen_on_results_is_a_row_of_the_table():
    at = AppTest.from_file(str(ROOT / "app_pages" / "results.py"), default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    assert "page_load_ms_p90" not in set(effects_table(at)["Metric"])
    at.session_state[EDITOR_SEED] = pd.DataFrame(
        [{"name": None, "column": "page_load_ms", "quantile": "p90"}],
        columns=["name", "column", "quantile"],
    ).astype(object)
    at.run()
    assert not at.exception, at.exception
    row = effects_table(at).set_index("Metric").loc["page_load_ms_p90"]
    assert row["Test"] == "Quantile (order-statistic interval)"
    want = DEMO.groupby("variant")["page_load_ms"].quantile(0.9)  # linear, as quantile_cont
    assert row["Control"] == f"{want['control']:,.0f}"
    assert row["Treatment"] == f"{want['treatment']:,.0f}"
    shown = at.session_state[rs.ANALYSIS_KEY]
    m = shown.aggregates.mapping
    ref = abcore.analyze(
        DEMO,
        variant=m.variant,
        control=m.control,
        metrics=list(m.metrics),
        unit=m.unit,
        timestamp=m.timestamp,
        segments=list(m.segments),
        options=shown.options,
    )
    got = shown.effects.set_index("metric").loc["page_load_ms_p90"]
    ref_row = ref.effects.set_index("metric").loc["page_load_ms_p90"]
    for col in ("abs_effect", "rel_ci_low", "rel_ci_high", "p_value"):
        assert got[col] == pytest.approx(ref_row[col], rel=1e-12), col


def test_a_quantile_guardrail_on_decision_and_in_its_link():
    """The demo plan with a p90 guardrail (2% margin): the Decision page reads the p90 from a
    results link and says the guardrail holds; its own link carries the p90's summary."""
    guard = MetricSpec(
        "page_load_ms_p90",
        "guardrail",
        "quantile",
        direction="decrease",
        margin=0.02,
        quantile=0.9,
        column="page_load_ms",
    )
    plan = demo_plan()
    plan = dataclasses.replace(plan, metrics=(*plan.metrics, guard))
    a = abcore.analyze(DEMO, variant="variant", unit="user_id", plan=plan)
    params = share.results_to_query_params(a.aggregates)
    at = AppTest.from_file(str(ROOT / "app_pages" / "decision.py"), default_timeout=90)
    at.session_state[PLAN_KEY] = plan
    at.session_state[SHARED_KEY] = share.results_from_query_params(params)
    at.run()
    assert not at.exception, at.exception
    text = " ".join(str(e.value) for e in at.markdown) + " ".join(
        str(e.value) for e in (*at.success, *at.info, *at.warning, *at.error)
    )
    assert "Guardrail page_load_ms_p90 holds" in text
    link = next(c.value for c in at.code if "/decision?" in c.value)
    query = {k: v[0] for k, v in parse_qs(urlparse(link).query).items()}
    back, _ = share.results_from_query_params(query)
    s = back.quantile("page_load_ms_p90", "control")
    x = DEMO.loc[DEMO["variant"] == "control", "page_load_ms"].to_numpy(float)
    assert (s.n, s.value) == (len(x), float(np.quantile(x, 0.9)))


def test_metrics_and_plan_editors_keep_a_quantiles_level_or_ask_for_it():
    """The Metrics page's roles table and the Plan page's guardrail table round-trip a
    quantile guardrail's level (and column); a quantile row without a level is a sentence."""
    from abcore.errors import InputError
    from ui import metrics_view as mv
    from ui import plan_view as pv

    guard = MetricSpec(
        "load_p99", "guardrail", "quantile", "decrease", margin=0.05, quantile=0.99, column="ms"
    )
    assert mv.metrics_from_roles(mv.roles_frame([guard]), [guard], None) == [guard]
    plan = dataclasses.replace(demo_plan(), metrics=(*demo_plan().metrics, guard))
    frame = pv.guardrail_frame(plan)
    assert pv.guardrails_from(frame, plan.guardrails)[-1] == guard
    frame.loc[frame["name"] == "load_p99", "quantile"] = None
    with pytest.raises(InputError, match="load_p99 is a quantile: choose its level"):
        pv.guardrails_from(frame, plan.guardrails)
    roles = mv.roles_frame([guard]).assign(quantile=None)
    with pytest.raises(InputError, match="load_p99 is a quantile: choose its level"):
        mv.metrics_from_roles(roles, [guard], None)


def test_the_plan_page_says_it_does_not_size_a_quantile_guardrail():
    """The guardrail editor shows the level; the sizing notes say the quantile is not sized
    (its variance needs the density at the quantile) instead of sizing it as a mean."""
    guard = MetricSpec(
        "page_load_ms_p90", "guardrail", "quantile", "decrease", margin=0.02, quantile=0.9
    )
    plan = dataclasses.replace(demo_plan(), metrics=(*demo_plan().metrics, guard))
    at = AppTest.from_file(str(ROOT / "app_pages" / "plan.py"), default_timeout=90)
    at.session_state[PLAN_KEY] = plan
    at.run()
    assert not at.exception, at.exception
    text = " ".join(str(e.value) for e in (*at.markdown, *at.caption, *at.info, *at.warning))
    assert "page_load_ms_p90" in text
    assert "a quantile is not sized" in text
    seeded = at.session_state["plan__guard_seed"].set_index("name")
    assert seeded.loc["page_load_ms_p90", "quantile"] == "p90"


def test_the_plan_page_refuses_to_size_a_quantile_success_metric():
    """A quantile success metric (set on the Metrics page) stays a quantile on the Plan
    page, which says why it cannot size it, instead of reading it as a mean."""
    success = MetricSpec(
        "page_load_ms_p90",
        "success",
        "quantile",
        "decrease",
        baseline=1300,
        sd=400,
        mde=0.02,
        quantile=0.9,
        column="page_load_ms",
    )
    plan = dataclasses.replace(demo_plan(), metrics=(success,))
    at = AppTest.from_file(str(ROOT / "app_pages" / "plan.py"), default_timeout=90)
    at.session_state[PLAN_KEY] = plan
    at.run()
    assert not at.exception, at.exception
    assert any("is a quantile: its test's variance" in str(e.value) for e in at.error)
    assert at.session_state[PLAN_KEY].success.type == "quantile"
