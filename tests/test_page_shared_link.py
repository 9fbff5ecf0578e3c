"""A reviewer's results link shows what the owner saw: the row-level checks, the data
preparation, the date notes and the verdict, on the Decision page and on Results.

Before, the link carried only the aggregates and a few options: a reviewer of raw
``ab_data.csv`` saw "Some checks need a look" where the owner saw units in two arms (a
failed gate, Investigate), and Results showed the bundled demo with its "Ship".
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from real_data import real
from streamlit.testing.v1 import AppTest

import abcore
from abcore import share
from abcore.errors import InputError
from abcore.model import PrepStep
from ui import fmt
from ui.decision_state import NOTES_KEY
from ui.state import demo_plan


def ab_plan():
    """The demo's settings with ab_data's one metric (the demo's others are not in it)."""
    return dataclasses.replace(demo_plan(), metrics=demo_plan().metrics[:1])


ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
DECISION = str(ROOT / "app_pages" / "decision.py")
NOTE = {"day": "2017-01-10", "note": "Outage in the checkout"}


@pytest.fixture(scope="module")
def owner_analysis():
    rows = pd.read_csv(real("ab_data.csv"))
    return abcore.analyze(
        rows,
        variant="group",
        unit="user_id",
        timestamp="timestamp",
        metrics=["converted"],
        plan=ab_plan(),
        prepare=[PrepStep("duplicate_rows")],
    )


def _checks(at: AppTest) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if "Check" in df.value.columns)


def _verdict(at: AppTest) -> str:
    return next(
        e.value
        for kind in ("success", "error", "warning")
        for e in at.get(kind)
        if e.value.startswith("### ")
    )


def _link(at: AppTest) -> dict[str, str]:
    link = next(c.value for c in at.code if "/decision?" in c.value)
    return {k: v[-1] for k, v in parse_qs(urlparse(link).query).items()}


def test_the_reviewer_sees_the_owners_checks_preparation_notes_and_verdict(owner_analysis):
    owner = AppTest.from_file(DECISION, default_timeout=120)
    owner.session_state["plan"] = ab_plan()
    owner.session_state["analysis"] = owner_analysis
    owner.session_state["aggregates"] = owner_analysis.aggregates
    owner.session_state["analysis_source"] = "ab_data.csv"
    owner.session_state[NOTES_KEY] = [NOTE]
    owner.run()
    assert not owner.exception, owner.exception
    owner_checks = _checks(owner)
    assert "Units in more than one arm" in list(owner_checks["Check"])
    assert "Fail" in list(owner_checks["Status"])
    owner_verdict = _verdict(owner)
    assert owner_verdict.startswith("### Investigate")

    reviewer = AppTest.from_file(APP, default_timeout=120)
    for key, value in _link(owner).items():
        reviewer.query_params[key] = value
    reviewer.run()
    assert not reviewer.exception, reviewer.exception
    reviewer.switch_page("app_pages/decision.py").run()
    assert not reviewer.exception, reviewer.exception
    pd.testing.assert_frame_equal(_checks(reviewer), owner_checks)
    assert _verdict(reviewer) == owner_verdict
    assert reviewer.session_state[NOTES_KEY] == [NOTE]
    shared = reviewer.session_state["shared_results"]
    assert shared.preparation == owner_analysis.preparation
    assert shared.preparation[0].rows_removed is not None

    reviewer.switch_page("app_pages/results.py").run()
    assert not reviewer.exception, reviewer.exception
    text = "\n".join(
        e.value for k in ("markdown", "caption", "error", "info") for e in reviewer.get(k)
    )
    assert "demo_experiment" not in text  # the link's readout, not the bundled demo
    assert "Units in more than one arm" in text
    assert "Duplicate rows" in text
    assert owner_analysis.preparation[0].sentence() in text
    effects = owner_analysis.effects.set_index("metric")
    assert fmt.pct(effects.loc["converted", "rel_effect"]) in text
    assert fmt.p_value(effects.loc["converted", "p_value_adjusted"]) in text
    assert owner_analysis.recommendation.label in text  # Investigate, not the demo's Ship


def test_a_link_with_bad_checks_steps_or_notes_is_a_sentence(owner_analysis):
    agg = owner_analysis.aggregates
    bad = [
        ({"checks": [{"name": "x", "status": "broken", "message": ""}]}, "status of check 1"),
        ({"checks": [{"name": "x", "status": "fail", "kind": "verdict"}]}, "kind of check 1"),
        ({"checks": [{"name": "x" * 30_000, "status": "fail"}]}, "name of check 1"),
        ({"checks": [{"name": "x", "status": "fail", "extra": 1}]}, "fields no check has"),
        ({"preparation": [{"kind": "rm -rf"}]}, "kind of preparation step 1"),
        ({"preparation": [{"kind": "duplicate_rows", "rows_removed": -3}]}, "rows_removed"),
        ({"preparation": [{"kind": "filter", "column": "c", "values": [[1]]}]}, "value of"),
        ({"preparation": [{"kind": "filter", "column": "c"}]}, "at least one value"),
        ({"notes": [{"day": "d"}]}, "a day and a note"),
        ({"notes": [{"day": "d", "note": "n"}] * 2_000}, "notes must hold"),
        ({"options": {"expected_shares": {"a": 2, "b": 0.5}}}, "expected share"),
    ]
    for extra, words in bad:
        data = share.results_to_dict(agg) | extra
        packed = share._pack(data)
        with pytest.raises(InputError, match=words):
            share.read_results_link({"results": packed})
