"""An experiment of the user's own, across pages (issue 18): an upload made in the demo starts
the user's experiment whose plan follows the file; a user's experiment is never shown the
demo's numbers or verdict; a plan metric missing from the file is a question on Results.

AppTest cannot upload files: the state the uploader leaves is built with the page's own
loader (as tests/test_page_results_prepare.py does); the router (app.py) runs the pages.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from real_data import real
from streamlit.testing.v1 import AppTest

from abcore import ingest
from abcore.plan import ExperimentPlan, MetricSpec
from ui import results_state as rs
from ui.state import demo_plan

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
RESULTS = "app_pages/results.py"
DECISION = "app_pages/decision.py"


def uploaded(path, monkeypatch) -> dict:
    con = ingest.connect()
    monkeypatch.setattr(rs, "get_connection", con.cursor)
    loaded = rs._load("upload-key", Path(path).name, path, is_demo=False)
    return {"duckdb_con": con, rs.DATASETS_KEY: {loaded.key: loaded}, rs.CURRENT_KEY: loaded.key}


def app(state: dict | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def verdict_banners(at: AppTest) -> str:
    return texts(at.success) + texts([e for e in at.error if e.icon != ":material/error:"])


def test_a_fresh_session_opens_on_the_start_page_with_the_demo_labelled():
    at = app()
    assert at.title[0].value == "A/B planner & interpreter"
    assert "the bundled demo" in texts(at.markdown)
    assert at.session_state["plan"] == demo_plan()


def test_an_upload_in_the_demo_starts_an_experiment_that_follows_the_file(monkeypatch):
    at = app(uploaded(real("cookie_cats.csv"), monkeypatch), RESULTS)
    plan = at.session_state["plan"]
    assert plan.control == "gate_30"
    assert set(plan.expected_shares) == {"gate_30", "gate_40"}
    assert {m.name for m in plan.metrics} == {"sum_gamerounds", "retention_1", "retention_7"}
    assert at.session_state["experiment_is_demo"] is False
    assert "The plan follows the file" in texts(at.info)
    at.switch_page(DECISION).run()
    assert not at.exception
    body = texts(at.warning) + texts(at.info) + verdict_banners(at)
    assert "page_load_ms" not in body  # no demo guardrail judges the file
    assert "not in this data" not in body
    assert at.session_state["plan"].fingerprint() in texts(at.caption)


def test_the_users_experiment_without_data_shows_no_demo_numbers():
    at = app()
    at.session_state["experiment_is_demo"] = False
    at.switch_page(RESULTS).run()
    assert not at.exception
    assert "No data yet" in texts(at.caption)
    assert "analysis" not in at.session_state
    at.switch_page(DECISION).run()
    assert "has no results yet" in texts(at.info)
    assert not at.success  # no Ship banner from the demo


def one_arm_file(folder: Path) -> Path:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"user_id": np.arange(500), "bucket": "only_arm", "converted": rng.integers(0, 2, 500)}
    )
    path = folder / "one_arm.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_file_that_cannot_be_analysed_gets_no_verdict(tmp_path, monkeypatch):
    at = app(uploaded(one_arm_file(tmp_path), monkeypatch), RESULTS)
    assert at.error  # the reason, in a sentence
    assert "analysis" not in at.session_state
    at.switch_page(DECISION).run()
    assert not at.exception
    assert "has no results yet" in texts(at.info)
    assert not at.success


def test_a_plan_metric_missing_from_the_file_is_a_question(monkeypatch):
    state = uploaded(real("cookie_cats.csv"), monkeypatch)
    own = dataclasses.replace(
        demo_plan(),
        name="Gate move",
        metrics=(
            MetricSpec("day7", mde=0.02),
            MetricSpec("rounds", "guardrail", "continuous", margin=0.05),
        ),
    )
    state.update(plan=own, experiment_is_demo=False)
    at = app(state, RESULTS)
    questions = {s.label: s for s in at.selectbox if s.key and "results__bind__q__" in s.key}
    assert set(questions) == {
        "Which column is the plan's success metric day7?",
        "Which column is the plan's guardrail metric rounds?",
    }
    at.switch_page(DECISION).run()
    assert "'day7', 'rounds' are not in this data" in texts(at.warning)
    assert not at.success
    at.switch_page(RESULTS).run()
    at.selectbox(key="results__bind__q__day7").set_value("retention_7").run()
    at.selectbox(key="results__bind__q__rounds").set_value("sum_gamerounds").run()
    plan = at.session_state["plan"]
    assert plan.success.name == "retention_7"
    assert plan.success.mde == 0.02
    assert [g.name for g in plan.guardrails] == ["sum_gamerounds"]
    at.switch_page(DECISION).run()
    assert not at.exception
    assert "not in this data" not in texts(at.warning)
    # gate_40 lowers 7-day retention (19.02% vs 18.20%, published): the launch is refused
    assert "Don't ship" in texts(at.error) + texts(at.markdown)


@pytest.mark.parametrize("button", ["start__file", "start__blank"])
def test_leaving_the_demo_is_one_click_and_coming_back_another(button):
    at = app()
    at.text_input(key="start__name").set_value("Checkout copy").run()
    at.button(key=button).click().run()
    assert at.session_state["experiment_is_demo"] is False
    assert at.session_state["plan"].name == "Checkout copy"
    at.switch_page("app_pages/start.py").run()
    at.button(key="start__demo").click().run()
    assert at.session_state["experiment_is_demo"] is True
    assert at.session_state["plan"] == demo_plan()


def test_a_funnel_template_starts_an_experiment_on_metrics():
    at = app()
    at.button(key="start__funnel").click().run()
    assert not at.exception
    plan = at.session_state["plan"]
    assert plan.extra.get("funnel")
    assert plan.success.name.endswith("conversion")
    assert at.session_state["experiment_is_demo"] is False
    assert isinstance(plan, ExperimentPlan)


def test_success_and_guardrails_are_chosen_among_the_files_metrics(monkeypatch):
    at = app(uploaded(real("cookie_cats.csv"), monkeypatch), RESULTS)
    assert at.selectbox(key="results__bind__success").value == "retention_1"
    at.selectbox(key="results__bind__success").set_value("retention_7").run()
    at.multiselect(key="results__bind__guardrails").set_value(["retention_1"]).run()
    plan = at.session_state["plan"]
    assert plan.success.name == "retention_7"
    assert [(g.name, g.margin) for g in plan.guardrails] == [("retention_1", 0.02)]
    at.switch_page(DECISION).run()
    assert not at.exception
    # gate_40 lowers 7-day retention (19.02% vs 18.20%, published): the launch is refused
    assert "Don't ship" in texts(at.error) + texts(at.markdown)
