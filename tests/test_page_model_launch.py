"""The Model launch page through Streamlit's AppTest: demos give the planted verdicts, the null
twins give none, the numbers are the engine's, and bad choices become sentences."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from abcore import ingest
from abcore.launch import interleaving
from abcore.launch.canary import ramp_plan
from sample_data.generate_launch import make_interleaving_log

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "model_launch.py")


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def headings(at: AppTest) -> list[str]:
    alerts = [*at.success, *at.warning, *at.error, *at.info]
    return [a.value.split("\n")[0].removeprefix("### ") for a in alerts]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture(scope="module")
def demo() -> AppTest:
    return run_page()


def test_opens_on_the_demos_with_the_planted_verdicts(demo):
    shown = headings(demo)
    assert "Users prefer A" in shown
    assert "Roll back · score 50 / 100" in shown
    assert "Concept shift: retrain the model" in shown
    assert any(h.startswith("Agreement 97.") for h in shown)
    assert metrics(demo)["Features that moved"] == "1 of 6"
    charts = demo.get("arrow_vega_lite_chart") + demo.get("vega_lite_chart")
    assert len(charts) >= 7


def test_sizing_shows_the_engines_numbers(demo):
    con = ingest.connect()
    ds = ingest.load(con, make_interleaving_log())
    counts = interleaving.user_outcomes(con, ds, user="user_id", credit="credited_to")
    result = interleaving.analyze_counts(*counts[:3])
    rate = interleaving.click_rate(*counts)
    sizing = interleaving.size_test(round(abs(result.delta), 3), result.tie_share, rate, 0.01)
    shown = metrics(demo)
    assert shown["Interleaving: users with a click"] == f"{sizing.interleaving_users:,}"
    assert shown["Equivalent A/B test: users"] == f"{sizing.ab_users:,}"


def test_null_demos_flag_nothing():
    at = run_page()
    at.radio(key="launch__il_source").set_value("interleaving_null").run()
    at.radio(key="launch__cn_source").set_value("canary_null").run()
    at.radio(key="launch__dr_source").set_value("drift_current_null").run()
    assert not at.exception
    shown = headings(at)
    assert "No clear preference" in shown
    assert "Promote · score 100 / 100" in shown
    assert "Stable: nothing moved" in shown


def test_bad_choices_become_sentences():
    at = run_page()
    at.selectbox(key="launch__il_credit").set_value("user_id").run()
    at.multiselect(key="launch__cn_metrics").set_value([]).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("has more than 5 different values" in e for e in errors)
    assert any("Choose at least one metric" in e for e in errors)


def test_uploads_start_empty_with_a_hint():
    at = run_page()
    at.radio(key="launch__dr_source").set_value("upload").run()
    assert not at.exception
    assert any("Upload a file" in i.value for i in at.info)


def test_ramp_follows_its_inputs():
    at = run_page()
    at.number_input(key="launch__rp_harm").set_value(50.0).run()
    assert not at.exception
    rate = at.number_input(key="launch__rp_rate").value
    assert rate == pytest.approx(0.962, abs=0.001)  # the demo baseline's median error rate, %
    table = next(d.value for d in at.dataframe if "Traffic on new version" in d.value.columns)
    steps = ramp_plan(1_000_000, rate / 100, 0.5)
    assert list(table["Requests on new version"]) == [f"{s.n_new:,}" for s in steps]


def test_shared_interleaving_link_reproduces_the_verdict_without_the_log():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["interleaving"] = "1368-850-526-256"
    at.query_params["a"] = "new"
    at.query_params["b"] = "old"
    at.run()
    assert not at.exception
    assert "Users prefer new" in headings(at)
    assert any("shared link" in i.value for i in at.info)
    link = next(c.value for c in at.code if "interleaving=" in c.value)
    assert "interleaving=1368-850-526-256" in link
    assert "a=new" in link


def test_damaged_interleaving_link_is_a_sentence():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["interleaving"] = "12-x"
    at.run()
    assert not at.exception
    assert any("shared interleaving link is damaged" in e.value for e in at.error)
