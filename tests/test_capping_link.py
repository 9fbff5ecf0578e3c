"""A results link carries each metric's capping and the values it came to; a link is
untrusted, so a capping in it is held to bounds (abcore.limits) and an old link, whose one
pooled cap predates per-metric capping, still opens."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

import abcore
from abcore.capping import Capping
from abcore.errors import InputError
from abcore.limits import deflate
from abcore.model import MetricMapping
from abcore.share import results_from_query_params, results_to_query_params
from sample_data.generate import make_experiment

METRICS = [
    MetricMapping("converted", "binary"),
    MetricMapping("revenue", "continuous", capping=Capping(lower=1, upper=99, ignore_zeros=True)),
]


@pytest.fixture(scope="module")
def payload() -> dict:
    analysis = abcore.analyze(make_experiment(4_000, seed=8), variant="variant", metrics=METRICS)
    params = results_to_query_params(analysis.aggregates, {"alpha": 0.05})
    return json.loads(zlib.decompress(base64.urlsafe_b64decode(params["results"] + "==")))


def _link(data: dict) -> dict[str, str]:
    return {"results": deflate(json.dumps(data))}


def _with_capping(payload: dict, capping: object) -> dict:
    data = json.loads(json.dumps(payload))
    (revenue,) = [m for m in data["aggregates"]["mapping"]["metrics"] if m["name"] == "revenue"]
    revenue["capping"] = capping
    return data


def test_the_link_carries_the_capping_and_its_values(payload: dict) -> None:
    aggregates, _ = results_from_query_params(_link(payload))
    assert aggregates.mapping.metric("revenue").capping == METRICS[1].capping
    assert set(aggregates.caps) == {"revenue"}
    assert set(aggregates.floors) == {"revenue"}
    assert aggregates.floors["revenue"] < aggregates.caps["revenue"]


def test_an_old_link_with_one_pooled_cap_still_opens(payload: dict) -> None:
    data = _with_capping(payload, None)
    for m in data["aggregates"]["mapping"]["metrics"]:
        m.pop("capping", None)
    data["aggregates"].pop("floors")
    data["aggregates"]["caps"] = {"revenue": 123.5}
    aggregates, options = results_from_query_params(_link(data))
    assert aggregates.caps == {"revenue": 123.5}
    assert aggregates.mapping.metric("revenue").capping is None
    assert options == {"alpha": 0.05}


@pytest.mark.parametrize(
    ("capping", "says"),
    [
        ({"upper": 120}, r"upper bound of capping of results metric 'revenue' must be <= 100"),
        ({"lower": -1, "upper": 5}, "lower bound .* must be >= 0"),
        ({"lower": 60, "upper": 40}, r"lower bound \(60\) above its upper bound \(40\)"),
        ({"upper": 1e300, "kind": "absolute"}, "must be <= 1e\\+15"),
        ({"upper": 5, "kind": "median"}, "kind of capping .* must be one of"),
        ({"upper": "99"}, "must be a number"),
        ({"upper": 99, "ignore_zeros": "yes"}, "ignores zeros must be true or false"),
        ({"upper": 99, "script": 1}, "takes lower, upper, kind and ignore_zeros"),
        ({"kind": "percentile"}, "neither a lower nor an upper bound"),
        ("99", "must be an object of named values"),
    ],
)
def test_a_bad_capping_in_a_link_gets_a_sentence(payload: dict, capping: object, says: str) -> None:
    with pytest.raises(InputError, match=says):
        results_from_query_params(_link(_with_capping(payload, capping)))


def test_a_capping_on_a_conversion_in_a_link_gets_a_sentence(payload: dict) -> None:
    data = json.loads(json.dumps(payload))
    data["aggregates"]["mapping"]["metrics"][0]["capping"] = {"upper": 99}
    with pytest.raises(InputError, match="capping applies to continuous metrics only"):
        results_from_query_params(_link(data))


def test_bad_floors_in_a_link_get_a_sentence(payload: dict) -> None:
    data = json.loads(json.dumps(payload))
    data["aggregates"]["floors"] = {"revenue": "low"}
    with pytest.raises(InputError, match="The floor of metric 'revenue' must be a number"):
        results_from_query_params(_link(data))
