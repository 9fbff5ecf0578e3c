"""Hostile links (issues 22 and 23): bounded inflating, one validation of plans and results,
a sentence naming the field for anything outside the app's limits, never another error."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

import abcore
from abcore import ExperimentPlan, InputError, config
from abcore.funnel import FunnelSetup
from abcore.share import results_from_query_params, results_to_query_params
from sample_data.generate import make_experiment
from ui.state import demo_plan

APP = str(Path(__file__).resolve().parents[1] / "app.py")
GIB = 2**30


def pack(raw: str | bytes) -> str:
    """A link value as the app packs one (deflate, base64url without padding)."""
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(zlib.compress(data, 9)).decode().rstrip("=")


def plan_link(data: object) -> dict[str, str]:
    return {"plan": pack(json.dumps(data))}


def demo_dict() -> dict:
    return demo_plan().to_dict()


def with_(key: str, value: object) -> dict:
    return {**demo_dict(), key: value}


def with_metric(key: str, value: object) -> dict:
    data = demo_dict()
    data["metrics"][0] = {**data["metrics"][0], key: value}
    return data


@pytest.fixture(scope="module")
def results_payload() -> dict:
    analysis = abcore.analyze(make_experiment(4_000, seed=8), variant="variant")
    params = results_to_query_params(analysis.aggregates, {"alpha": 0.05})
    raw = zlib.decompress(base64.urlsafe_b64decode(params["results"] + "=="))
    return json.loads(raw)


def results_link(data: object) -> dict[str, str]:
    return {"results": pack(json.dumps(data))}


# ---- bombs --------------------------------------------------------------------------------
def bomb_link(size: int) -> str:
    """A plan whose name is ``size`` bytes of 'a', deflated in 1 MiB steps (never held whole)."""
    deflater = zlib.compressobj(9)
    parts = [deflater.compress(b'{"name":"')]
    block = b"a" * 2**20
    for _ in range(size // len(block)):
        parts.append(deflater.compress(block))
    parts += [deflater.compress(b'"}'), deflater.flush()]
    return base64.urlsafe_b64encode(b"".join(parts)).decode().rstrip("=")


@pytest.fixture(scope="module")
def gib_bomb() -> str:
    return bomb_link(GIB)


class Recorder:
    """Counts the bytes every zlib inflater hands back while it is installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.out = 0
        real_obj, real_decompress = zlib.decompressobj, zlib.decompress
        recorder = self

        class Counting:
            def __init__(self, *args: object) -> None:
                self.inner = real_obj(*args)

            def decompress(self, data: bytes, max_length: int = 0) -> bytes:
                chunk = self.inner.decompress(data, max_length)
                recorder.out += len(chunk)
                return chunk

            def __getattr__(self, name: str) -> object:
                return getattr(self.inner, name)

        def decompress(data: bytes, *args: object) -> bytes:
            chunk = real_decompress(data, *args)
            recorder.out += len(chunk)
            return chunk

        monkeypatch.setattr(zlib, "decompressobj", Counting)
        monkeypatch.setattr(zlib, "decompress", decompress)


def test_a_gib_bomb_link_is_refused_reading_at_most_the_bound(gib_bomb, monkeypatch):
    assert 1.3e6 < len(gib_bomb) < 1.5e6  # the issue's 1.39 MB link
    recorder = Recorder(monkeypatch)
    with pytest.raises(InputError, match="characters long"):
        ExperimentPlan.from_query_params({"plan": gib_bomb})
    assert recorder.out == 0  # refused on its length, before inflating anything
    # with the length limit lifted, inflating stops at the byte bound
    monkeypatch.setattr(config, "LINK_MAX_CHARS", 10**8)
    with pytest.raises(InputError, match="more than 200,000 bytes"):
        ExperimentPlan.from_query_params({"plan": gib_bomb})
    assert 0 < recorder.out <= config.PLAN_LINK_MAX_BYTES + 1


def test_a_results_bomb_is_refused_reading_at_most_the_bound(monkeypatch):
    link = bomb_link(64 * 2**20)
    recorder = Recorder(monkeypatch)
    with pytest.raises(InputError, match=r"more than 500,000 bytes"):
        results_from_query_params({"results": link})
    assert 0 < recorder.out <= config.RESULTS_LINK_MAX_BYTES + 1


def test_the_largest_real_links_are_well_within_the_bounds(results_payload):
    plan = demo_plan().to_query_params()["plan"]
    assert len(json.dumps(demo_dict())) * 50 < config.PLAN_LINK_MAX_BYTES
    assert len(json.dumps(results_payload)) * 20 < config.RESULTS_LINK_MAX_BYTES
    assert ExperimentPlan.from_query_params({"plan": plan}) == demo_plan()


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 30_000, "[" * 13 + "]" * 13])
def test_deep_nesting_is_a_sentence(text):
    with pytest.raises(InputError, match="nested more than 12 levels"):
        ExperimentPlan.from_query_params({"plan": pack(text)})
    with pytest.raises(InputError, match="nested more than 12 levels"):
        results_from_query_params({"results": pack(text)})


def test_the_issues_59_character_nested_link_is_a_sentence():
    link = pack("[" * 40_000)
    assert len(link) < 100
    with pytest.raises(InputError, match="nested"):
        ExperimentPlan.from_query_params({"plan": link})


def test_brackets_inside_strings_are_not_nesting():
    plan = ExperimentPlan(name="[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{", hypothesis="]]]" * 100)
    assert ExperimentPlan.from_query_params(plan.to_query_params()) == plan


@pytest.mark.parametrize(
    ("packed", "message"),
    [
        ("not base64!", "damaged"),
        (pack("{}")[:-4], "damaged"),
        (pack(b"\xff\xfe"), "damaged"),
        (pack("{not json"), "not valid JSON"),
        (pack("1" * 5_000), "cannot be read"),
        # a pre-parse scan for brackets outside strings took minutes on this one
        (pack('"' + '\\"' * 60_000), "not valid JSON"),
    ],
)
def test_damaged_links_are_sentences(packed, message):
    with pytest.raises(InputError, match=message):
        ExperimentPlan.from_query_params({"plan": packed})


# ---- plan fields: each case from the issues ----------------------------------------------
FUNNEL = FunnelSetup.from_template("search").to_extra()
"""The Metrics page keeps its funnel in the plan (``plan.extra["funnel"]``)."""
PLAN_CASES = [
    (with_("name", 123), "The plan's name must be text, got 123."),
    (with_("hypothesis", {}), r"The plan's hypothesis must be text, got \{\}."),
    (with_("name", "x" * 201), "name is 201 characters long; at most 200 allowed"),
    (with_("hypothesis", "x" * 20_001), "hypothesis is 20,001 characters long"),
    (with_("planned_days", "x"), "The plan's planned_days must be a number, got 'x'."),
    (with_("daily_units", math.inf), "The plan's daily_units must be a finite number, got inf."),
    (with_("daily_units", math.nan), "daily_units must be a finite number, got nan"),
    (with_("daily_units", 10**400), "daily_units must be a finite number, got a 401-digit one"),
    (
        with_metric("baseline", "x"),
        "The baseline rate of metric 'converted' must be a number, got 'x'.",
    ),
    (
        with_metric("baseline", math.inf),
        "The baseline rate of metric 'converted' must be a finite number, got inf.",
    ),
    (with_metric("baseline", 5.0), "baseline rate of metric 'converted' must be <= 1, got 5.0"),
    (with_metric("mde", "big"), "minimum detectable effect of metric 'converted' must be a"),
    (with_metric("relative", "yes"), "must be true or false, got 'yes'"),
    (with_metric("name", ""), "name of metric 1 must not be empty"),
    (with_metric("role", "boss"), "The role of metric 'converted' must be one of"),
    (with_("daily_units", 1e-6), "The plan's daily_units must be >= 1, got 1e-06."),
    (
        with_("min_effect_to_launch", 1e12),
        r"min_effect_to_launch must be < 1, got 1000000000000\.0",
    ),
    (
        with_("expected_shares", {"control": 0.9999, "treatment": 0.0001}),
        "The expected share of arm 'treatment' must be >= 0.001, got 0.0001.",
    ),
    (with_("variance_reduction", 0.999999), "variance_reduction must be <= 0.9025, got 0.999999"),
    (with_("planned_n_per_arm", -5), "planned_n_per_arm must be > 0, got -5."),
    (with_("planned_n_per_arm", 1e30), r"planned_n_per_arm must be <= 1e\+14, got 1e\+30."),
    (with_("planned_n_per_arm", 1000.5), "planned_n_per_arm must be a whole number, got 1000.5"),
    (with_("planned_days", 1e12), r"planned_days must be <= 1827, got 1000000000000.0."),
    (with_("looks", 366), "The plan's looks must be <= 12, got 366."),
    (with_("alpha", "0.05"), "The plan's alpha must be a number, got '0.05'."),
    (with_("alpha", True), "The plan's alpha must be a number, got True."),
    (with_("method", ["fixed"]), "The plan's method must be one of"),
    (with_("metrics", {"name": "x"}), "The plan's metrics must be a list"),
    (with_("metrics", "converted"), "The plan's metrics must be a list, got 'converted'."),
    (with_("metrics", [{"name": f"m{i}"} for i in range(51)]), "hold 0 to 50 items, got 51"),
    (with_("metrics", [1]), "Metric 1 must be an object of named values, got 1."),
    (with_("expected_shares", [0.5, 0.5]), "expected_shares must be an object"),
    (
        with_("expected_shares", {f"arm{i}": 1 / 2000 for i in range(2000)}),
        "expected_shares must name 2 to 10 arms, got 2,000.",
    ),
    (with_("expected_shares", {"control": "half", "t": 0.5}), "share of arm 'control' must be"),
    (with_("extra_key", {"deep": [1.0, math.inf]}), "The plan holds a number that is not finite"),
    (with_("extra_count", 10**400), "The plan holds a whole number too large to be a count"),
    (with_("funnel", []), "The plan's funnel must be an object of named values"),
    (with_("funnel", {**FUNNEL, "stages": ["s"] * 51}), "stages must hold 0 to 50 items, got 51"),
    (with_("funnel", {**FUNNEL, "users": [10**400, 1]}), "users must be a finite number, got a 4"),
    (with_("funnel", {**FUNNEL, "steps": [0.5, 2.0]}), "A share in the funnel's steps must be <="),
    (with_("funnel", {**FUNNEL, "lift": 50}), "The funnel's target lift must be <= 5, got 50."),
    (with_("funnel", {**FUNNEL, "stages": [1, 2]}), "A funnel stage's name must be text, got 1."),
    ([1, 2], "A plan must be a JSON object"),
    ("plan", "A plan must be a JSON object"),
]


@pytest.mark.parametrize(("data", "message"), PLAN_CASES)
def test_plan_fields_outside_the_limits_are_named(data, message):
    with pytest.raises(InputError, match=message):
        ExperimentPlan.from_dict(data)
    with pytest.raises(InputError, match=message):
        ExperimentPlan.from_query_params({"plan": pack(json.dumps(data, allow_nan=True))})


def test_a_plan_with_the_metrics_pages_funnel_reads():
    plan = ExperimentPlan.from_dict(with_("funnel", FUNNEL))
    again = ExperimentPlan.from_query_params(plan.to_query_params())
    assert FunnelSetup.from_plan(again) == FunnelSetup.from_template("search")


def test_a_plan_at_the_page_limits_reads():
    wide = "\U0001f600"  # four bytes in UTF-8: the longest a character can take
    success = demo_dict()["metrics"][0]
    guards = [
        {
            "name": wide * 198 + f"{i:02x}",
            "role": "guardrail",
            "type": "continuous",
            "baseline": 800.5,
            "sd": 400.25,
            "margin": 0.02,
            "direction": "decrease",
        }
        for i in range(config.PLAN_MAX_METRICS - 1)
    ]
    data = {
        **demo_dict(),
        "name": wide * config.NAME_MAX_CHARS,
        "hypothesis": wide * config.TEXT_MAX_CHARS,
        "metrics": [success, *guards],
        "expected_shares": {f"arm{i}": 1 / config.PLAN_MAX_ARMS for i in range(10)},
        "control": "arm0",
        "looks": config.PLAN_MAX_LOOKS,
        "variance_reduction": 0.95**2,
        "planned_days": config.PLAN_HORIZON_DAYS,
    }
    plan = ExperimentPlan.from_dict(data)
    assert len(plan.to_json(indent=None).encode()) < config.PLAN_LINK_MAX_BYTES
    assert ExperimentPlan.from_query_params(plan.to_query_params()) == plan
    assert ExperimentPlan.from_json(plan.to_json()) == plan


# ---- results fields ------------------------------------------------------------------------
def edit(payload: dict, path: tuple, value: object) -> dict:
    data = json.loads(json.dumps(payload))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


RESULTS_CASES = [
    (("aggregates", "mapping"), ["variant"], "mapping must be an object of named values"),
    (("aggregates", "mapping"), "variant", "mapping must be an object of named values"),
    (("aggregates", "mapping", "variant"), 123, "variant column must be text, got 123"),
    (("aggregates", "mapping", "segments"), "device", "segments must be a list"),
    (("aggregates", "mapping", "metrics"), {}, "The results' metrics must be a list"),
    (("aggregates", "rows"), "rows", "The results' rows must be a list"),
    (("aggregates", "rows", 0, 5), math.inf, "A number in row 1 of the results must be a fini"),
    (("aggregates", "rows", 0, 5), "many", "A number in row 1 of the results must be a number"),
    (("aggregates", "rows", 0), [1], "Row 1 of the results must hold"),
    (("aggregates", "rows", 0, 0), "total", "The level of row 1 of the results must be one of"),
    (("aggregates", "columns"), ["a"], "columns must hold 5 to 1,000 items"),
    (("aggregates", "caps"), {"revenue": "x"}, "The cap of metric 'revenue' must be a number"),
    (("aggregates", "shifts"), {"revenue": [1.0]}, "shifts must hold 2 to 2 items"),
    (("options", "alpha"), "x", "The results' alpha must be a number, got 'x'."),
    (("options", "alpha"), 0.9, "The results' alpha must be <= 0.5, got 0.9."),
    (("options", "cuped"), "no", "cuped option must be true or false"),
    (("aggregates",), [], "aggregates must be an object"),
    (("aggregates", "mapping", "metrics", 0, "name"), "renamed", "no column 'renamed__n'"),
]


@pytest.mark.parametrize(("path", "value", "message"), RESULTS_CASES)
def test_results_fields_outside_the_limits_are_named(results_payload, path, value, message):
    data = edit(results_payload, path, value)
    with pytest.raises(InputError, match=message):
        results_from_query_params(results_link(data))


def _grow(payload: dict, level: str, count: int, field: int) -> dict:
    data = json.loads(json.dumps(payload))
    template = next(r for r in data["aggregates"]["rows"] if r[0] == level)
    rows = [r for r in data["aggregates"]["rows"] if r[0] != level]
    for i in range(count):
        row = list(template)
        row[field] = f"x{i}" if field != 2 else f"2020-01-01T{i}"
        rows.append(row)
    data["aggregates"]["rows"] = rows
    return data


@pytest.mark.parametrize(
    ("level", "count", "field", "message"),
    [
        ("overall", 9, 1, "compare 2 to 10 arms, got 11"),
        ("day", 401, 2, "cover 401 days; at most 400"),
        ("segment", 51, 4, "has 51 values in the results; at most 50"),
        ("overall", 2000, 1, "arms|bytes"),
        ("day", 2000, 2, "days|bytes"),
    ],
)
def test_results_past_the_upload_limits_are_refused(results_payload, level, count, field, message):
    data = _grow(results_payload, level, count, field)
    with pytest.raises(InputError, match=message):
        results_from_query_params(results_link(data))


def test_a_real_results_link_still_round_trips(results_payload):
    aggregates, options = results_from_query_params(results_link(results_payload))
    assert options == {"alpha": 0.05}
    assert len(aggregates.variants) >= 2


# ---- generated hostile payloads: nothing but InputError -------------------------------------
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e-12, 1e30, 1e12, -5, 0.999999, 366, 2000, 0, -0.0]),
    st.text(max_size=30),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
PLAN_KEYS = [*list(demo_dict()), "schema", "extra", "tuning_n", "looks", "rho", "start_date"]


@st.composite
def hostile_plans(draw: st.DrawFn) -> object:
    """The demo plan with some fields replaced by anything, or anything at all."""
    if draw(st.booleans()):
        return draw(JSON)
    data = demo_dict()
    for key in draw(st.lists(st.sampled_from(PLAN_KEYS), min_size=1, max_size=4)):
        data[key] = draw(JSON)
    if draw(st.booleans()):
        metric = dict(demo_dict()["metrics"][0])
        for key in draw(st.lists(st.sampled_from(list(metric) or ["name"]), max_size=3)):
            metric[key] = draw(JSON)
        data["metrics"] = [metric]
    return data


def _only_input_errors(call, *args) -> None:
    with contextlib.suppress(InputError):
        call(*args)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_plans())
def test_generated_hostile_plans_raise_nothing_but_input_error(data):
    text = json.dumps(data, allow_nan=True)
    _only_input_errors(ExperimentPlan.from_query_params, {"plan": pack(text)})
    _only_input_errors(ExperimentPlan.from_json, text)


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every place in a payload a hostile value can go (rows: their first two only)."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value[:2]):
            out += _paths(item, (*prefix, i))
    return out


def _put(data: object, path: tuple, value: object) -> None:
    """Set ``value`` at ``path`` when the path still leads somewhere (else leave it)."""
    for key in path[:-1]:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return
    last = path[-1]
    if isinstance(data, dict) or (
        isinstance(data, list) and isinstance(last, int) and last < len(data)
    ):
        data[last] = value


@st.composite
def hostile_results(draw: st.DrawFn, payload: dict) -> object:
    """A real payload with one to three values replaced by anything, or anything at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(JSON)
    data = json.loads(json.dumps(payload))
    places = [*_paths(data), ("options", "alpha"), ("options", "correction")]
    for path in draw(st.lists(st.sampled_from(places), min_size=1, max_size=3)):
        _put(data, path, draw(JSON))
    return data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_hostile_results_raise_nothing_but_input_error(results_payload, data):
    payload = data.draw(hostile_results(results_payload))
    try:
        aggregates, options = results_from_query_params(results_link(payload))
    except InputError:
        return
    # what a link lets through, the Decision page analyses: a sentence (ValueError) at most
    allowed = {"alpha", "correction", "relative_method", "cuped"}
    with contextlib.suppress(ValueError):
        abcore.analyze_aggregates(aggregates, **{k: options[k] for k in allowed & set(options)})


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_arbitrary_link_values_raise_nothing_but_input_error(value):
    packed = pack(value) if isinstance(value, bytes) else value
    _only_input_errors(ExperimentPlan.from_query_params, {"plan": packed})
    _only_input_errors(results_from_query_params, {"results": packed})


# ---- the app: a sentence, never a crash, nothing rendered from the payload ------------------
@pytest.mark.parametrize(
    "params",
    [
        {"plan": pack("[" * 100_000)},
        {"plan": pack(json.dumps(with_("name", 123)))},
        {"plan": pack(json.dumps(with_("planned_n_per_arm", -5)))},
        {"results": pack("[" * 100_000)},
        {"results": pack(json.dumps({"aggregates": {"mapping": "x"}}))},
    ],
)
def test_the_app_shows_a_sentence_for_a_hostile_link(params):
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "could not be opened" in errors
    plan, demo = at.session_state["plan"], demo_plan()
    assert (plan.name, plan.metrics, plan.expected_shares) == (
        demo.name,
        demo.metrics,
        demo.expected_shares,
    )
