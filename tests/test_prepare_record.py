"""Data preparation recorded (issue 18, item 5): the steps a readout went through, each with
the rows it removed, in the Markdown and JSON reports and in the results link, and a link's
steps read within bounds (a link is untrusted)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abcore import InputError, analyze, config, limits
from abcore.model import FILTER_OPS, PREP_KINDS, PrepStep
from abcore.report import analysis_report_json, analysis_report_markdown
from abcore.share import (
    preparation_from_query_params,
    results_from_query_params,
    results_to_dict,
    results_to_query_params,
)

STEPS = [
    PrepStep("date_window", "ts", ["2024-03-02", "2024-03-10"], unit="user"),
    PrepStep("filter", "country", ["DE", "FR"]),
    PrepStep("filter", "spend", [5], op="<"),
    PrepStep("duplicate_rows"),
]


@pytest.fixture(scope="module")
def prepared():
    rng = np.random.default_rng(18)
    n = 3_000
    frame = pd.DataFrame(
        {
            "user": rng.integers(0, 2_000, n),
            "ts": pd.Timestamp("2024-03-01")
            + pd.to_timedelta(rng.integers(0, 14 * 86_400, n), "s"),
            "arm": rng.choice(["control", "treatment"], n),
            "country": rng.choice(["DE", "FR", "IT"], n),
            "spend": rng.exponential(4, n).round(2),
            "converted": rng.integers(0, 2, n),
        }
    )
    frame["arm"] = frame.groupby("user")["arm"].transform("first")
    return analyze(frame, variant="arm", metrics=["converted"], prepare=STEPS)


def test_every_step_is_in_the_reports_with_the_rows_it_removed(prepared):
    done = prepared.preparation
    assert [s.kind for s in done] == ["date_window", "filter", "filter", "duplicate_rows"]
    assert all(s.rows_removed is not None for s in done)
    assert done[0].units_removed is not None
    text = analysis_report_markdown(prepared, source="mine.csv")
    assert "## Data preparation" in text
    for step in done:
        assert f"- {step.sentence()}" in text
    assert text.index("## Data preparation") < text.index("## Trust checks")
    data = json.loads(analysis_report_json(prepared))
    assert data["preparation"] == [s.to_dict() for s in done]
    assert [PrepStep.from_dict(s) for s in data["preparation"]] == list(done)
    # a readout without preparation says nothing of it
    plain = analyze(pd.DataFrame({"arm": ["a", "b"] * 20, "y": [0, 1] * 20}), variant="arm")
    assert "Data preparation" not in analysis_report_markdown(plain)
    assert json.loads(analysis_report_json(plain))["preparation"] == []


def test_the_link_carries_every_field_of_every_step(prepared):
    params = results_to_query_params(
        prepared.aggregates, {"alpha": 0.05}, preparation=prepared.preparation
    )
    assert preparation_from_query_params(params) == prepared.preparation
    aggregates, options = results_from_query_params(params)  # the rest reads as before
    assert options == {"alpha": 0.05}
    assert aggregates.frame.equals(prepared.aggregates.frame)
    # no preparation: no key, and nothing read back
    bare = results_to_query_params(prepared.aggregates, {"alpha": 0.05})
    assert "preparation" not in results_to_dict(prepared.aggregates)
    assert preparation_from_query_params(bare) == ()


def _link(prepared, steps) -> dict[str, str]:
    data = results_to_dict(prepared.aggregates, {"alpha": 0.05})
    data["preparation"] = steps
    return {"results": limits.deflate(json.dumps(data))}


GOOD = {"kind": "filter", "column": "country", "values": ["DE"], "op": "in", "rows_removed": 3}
HOSTILE = [
    ("steps", "The results' preparation must be a list"),
    ([GOOD] * (config.PREP_MAX_STEPS + 1), "must hold 0 to 20 items"),
    (["step"], "Preparation step 1 must be an object"),
    ([{**GOOD, "kind": "sql"}], "The kind of preparation step 1 must be one of"),
    ([{**GOOD, "op": "; DROP TABLE x"}], "The operator of preparation step 1 must be one of"),
    ([{**GOOD, "column": "c" * 500}], "The column of preparation step 1 is 500 characters"),
    ([{**GOOD, "values": list(range(config.PREP_MAX_VALUES + 1))}], "values of preparation"),
    ([{**GOOD, "values": [{"a": 1}]}], "A value of preparation step 1 must be a number"),
    ([{**GOOD, "rows_removed": -1}], "rows_removed of preparation step 1 must be >= 0"),
    ([{**GOOD, "rows_removed": 1.5}], "must be a whole number"),
    ([{**GOOD, "units_removed": "3"}], "units_removed of preparation step 1 must be a number"),
    ([{**GOOD, "rows_removed": 10**20}], "rows_removed of preparation step 1 must be <="),
    # within bounds field by field, but not a step: the step's own sentence
    (
        [{"kind": "date_window", "column": "ts", "values": ["2024-03-09", "2024-03-01"]}],
        "data preparation cannot be read: values: the date window starts on 2024-03-09",
    ),
    ([{"kind": "filter", "column": "c", "values": [1, 2], "op": "<"}], "one value"),
]


@pytest.mark.parametrize(("steps", "message"), HOSTILE)
def test_a_links_preparation_outside_the_bounds_is_a_sentence(prepared, steps, message):
    with pytest.raises(InputError, match=message):
        preparation_from_query_params(_link(prepared, steps))


VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
)
STEP = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from([*PREP_KINDS, "drop"]) | VALUE,
        "column": st.sampled_from(["ts", "country", ""]) | VALUE,
        "values": st.lists(VALUE, max_size=4) | VALUE,
        "op": st.sampled_from([*FILTER_OPS, "LIKE"]) | VALUE,
        "unit": st.sampled_from(["user", ""]) | VALUE,
        "rows_removed": VALUE,
        "units_removed": VALUE,
        "extra": VALUE,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, max_size=3) | VALUE)
def test_generated_hostile_preparation_raises_nothing_but_input_error(prepared, steps):
    try:
        done = preparation_from_query_params(_link(prepared, steps))
    except InputError:
        return
    # what a link lets through reads as steps whose sentences and dicts are whole
    for step in done:
        assert PrepStep.from_dict(json.loads(json.dumps(step.to_dict()))) == step
        assert step.sentence().endswith(".")
