"""The real public datasets read the same in the notebook API and on the Results page,
under each analysis method.

The page's own path (an upload through ``ui.results_state``: parse the bytes, detect, compute
the statistics, analyse with the plan) runs inside AppTest; the notebook path is
``abcore.analyze`` on the file. The files are read from ``../shared/data/real/``, never copied.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from real_data import real
from streamlit.testing.v1 import AppTest

import abcore
from abcore import ExperimentPlan, MetricSpec

METHODS = ("fixed", "always_valid", "group_sequential")


def _plan(control, treatment, shares, metric, baseline, direction, n_per_arm) -> ExperimentPlan:
    return ExperimentPlan(
        name=f"real: {metric}",
        control=control,
        expected_shares={control: shares[0], treatment: shares[1]},
        metrics=(MetricSpec(metric, "success", "binary", direction, baseline=baseline, mde=0.05),),
        planned_n_per_arm=n_per_arm,
        planned_days=28,
    )


CASES = {
    "ab_data": (
        ["ab_data.csv"],
        "group",
        _plan("control", "treatment", (0.5, 0.5), "converted", 0.12, "increase", 120_000),
    ),
    "cookie_cats": (
        ["cookie_cats.csv"],
        "version",
        _plan("gate_30", "gate_40", (0.5, 0.5), "retention_7", 0.19, "increase", 60_000),
    ),
    "marketing": (
        ["marketing_AB_sample_ferilab.csv"],
        "test group",
        _plan("psa", "ad", (0.04, 0.96), "converted", 0.018, "increase", 400),
    ),
    "udacity": (
        ["udacity_free_trial/control_data.csv", "udacity_free_trial/experiment_data.csv"],
        "variant",
        _plan("control", "experiment", (0.5, 0.5), "Enrollments/Clicks", 0.2, "decrease", 20_000),
    ),
}


def _page_path() -> None:
    """Runs inside AppTest: the Results page's upload path for every plan in the state."""
    from pathlib import Path

    import streamlit as st

    from ui import results_state as rs

    class Upload:
        def __init__(self, path: str) -> None:
            self.name = Path(path).name
            self._bytes = Path(path).read_bytes()
            self.size = len(self._bytes)
            self.file_id = self.name

        def getvalue(self) -> bytes:
            return self._bytes

    selection = rs.select_data([Upload(p) for p in st.session_state["paths"]])
    assert selection.error is None, selection.error
    loaded = selection.loaded
    out = {}
    for plan in st.session_state["plans"]:
        mapping = rs.with_plan_metrics(loaded.detected, plan, loaded.dataset)
        computed = rs.compute(loaded, mapping, None)
        out[plan.method] = rs.analyse(
            computed,
            alpha=plan.alpha,
            correction="holm",
            relative_method="fieller",
            cuped=True,
            shares=None,
            plan=rs.plan_for(computed.aggregates, plan),
        )
    st.session_state["out"] = out


@pytest.mark.parametrize("case", list(CASES))
def test_real_data_reads_the_same_in_the_notebook_and_the_page(case):
    names, variant, base = CASES[case]
    paths = [str(real(n)) for n in names]
    plans = [dataclasses.replace(base, method=m) for m in METHODS]
    at = AppTest.from_function(_page_path, default_timeout=120)
    at.session_state["paths"] = paths
    at.session_state["plans"] = plans
    at.run()
    assert not at.exception, at.exception
    page = at.session_state["out"]
    source = paths if len(paths) > 1 else paths[0]
    widths = {}
    for plan in plans:
        notebook = abcore.analyze(source, variant=variant, plan=plan)
        shown = page[plan.method]
        assert shown.method == notebook.method == plan.method
        metric = plan.success.name
        ours = shown.effects.set_index(["metric", "arm"]).loc[metric]
        theirs = notebook.effects.set_index(["metric", "arm"]).loc[metric]
        for col in ("rel_effect", "rel_ci_low", "rel_ci_high", "p_value", "p_value_adjusted"):
            np.testing.assert_allclose(ours[col], theirs[col], rtol=1e-9, err_msg=col)
        assert shown.recommendation.verdict == notebook.recommendation.verdict
        assert shown.recommendation.reasons == notebook.recommendation.reasons
        widths[plan.method] = float((theirs["rel_ci_high"] - theirs["rel_ci_low"]).iloc[0])
    # a peeking-safe interval is never narrower than the fixed one
    assert widths["always_valid"] >= widths["fixed"]
    assert widths["group_sequential"] >= widths["fixed"] - 1e-12
