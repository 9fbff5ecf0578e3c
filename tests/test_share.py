"""Results links: aggregates only, same effects and decision on the other side."""

from __future__ import annotations

import pandas as pd
import pytest

import abcore
from abcore import InputError
from abcore.share import _unpack, results_from_query_params, results_to_query_params
from sample_data.generate import make_experiment
from ui.state import demo_plan


@pytest.fixture(scope="module")
def analysis():
    return abcore.analyze(make_experiment(20_000, seed=8), variant="variant", plan=demo_plan())


def test_round_trip_reproduces_effects_and_decision(analysis):
    params = results_to_query_params(analysis.aggregates, {"alpha": 0.05})
    aggregates, options = results_from_query_params(params)
    again = abcore.analyze_aggregates(aggregates, plan=demo_plan(), **options)
    pd.testing.assert_frame_equal(again.effects, analysis.effects)
    assert again.recommendation.verdict == analysis.recommendation.verdict
    assert again.recommendation.reasons == analysis.recommendation.reasons


def test_link_carries_no_raw_rows(analysis):
    packed = results_to_query_params(analysis.aggregates)["results"]
    text = str(_unpack(packed))
    assert "u000001" not in text  # no unit ids
    small = abcore.analyze(make_experiment(2_000, seed=8), variant="variant")
    small_packed = results_to_query_params(small.aggregates)["results"]
    assert len(packed) < 1.5 * len(small_packed)  # size follows days x arms, not rows


@pytest.mark.parametrize("params", [{}, {"results": "abc"}, {"results": ["eJzLSM3JyQcABiwCFQ"]}])
def test_damaged_links_say_so(params):
    with pytest.raises(InputError, match="results"):
        results_from_query_params(params)
