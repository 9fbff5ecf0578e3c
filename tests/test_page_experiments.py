"""Saved experiments in the app (issue 19): the Experiments page's list, filters, reopen,
duplicate, archive and delete with a confirmation; Save in the sidebar (never the demo), a
conflicting save's sentence and reload; Register on Plan, amendments on Decision and in the
report; a decision record; a damaged database is a sentence and the calculators still work.

Each test has its own SQLite file (``ABCORE_DB_URL``) and clears the process's registry
(``st.cache_resource``), so no test reads another's experiments.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from abcore.analysis import analyze
from abcore.experiment import DataSource
from abcore.experiment import Experiment as SessionExperiment
from abcore.model import PrepStep
from abcore.plan import ExperimentPlan, MetricSpec
from abcore.registry import DataFingerprint, open_registry
from abcore.report import analysis_report_markdown
from ui import experiments_state as ers
from ui import experiments_view as ev

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGE = "app_pages/experiments.py"
DECISION = "app_pages/decision.py"
PLAN = ExperimentPlan(
    name="Checkout copy",
    metrics=(MetricSpec("converted", role="success", baseline=0.1, mde=0.05),),
    control="a",
    expected_shares={"a": 0.5, "b": 0.5},
)


@pytest.fixture
def db(tmp_path, monkeypatch):
    """A registry on a temporary file, the app's registry cache cleared before and after."""
    url = f"sqlite:///{tmp_path / 'abcore.sqlite'}"
    monkeypatch.setenv("ABCORE_DB_URL", url)
    ers._open.clear()
    reg = open_registry(url)
    yield reg
    reg.close()
    ers._open.clear()


def readout():
    rng = np.random.default_rng(19)
    n = 4000
    arm = np.where(rng.random(n) < 0.5, "a", "b")
    converted = (rng.random(n) < np.where(arm == "b", 0.13, 0.10)).astype(int)
    frame = pd.DataFrame({"arm": arm, "converted": converted})
    return analyze(frame, variant="arm", control="a", plan=PLAN)


def app(page: str | None = PAGE) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def table(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_the_list_shows_the_workspaces_experiments_and_filters_them(db):
    db.create("local", name="Checkout copy", owner="local", plan=PLAN)
    other = db.create("local", name="Pricing page", owner="local", plan=PLAN)
    db.register("local", other.id, expected_version=1, by="local")
    db.create("someone-else", name="Hidden", owner="bob", plan=PLAN)
    at = app()
    frame = table(at)
    assert set(frame["Name"]) == {"Checkout copy", "Pricing page"}  # not another workspace's
    assert dict(zip(frame["Name"], frame["Status"], strict=True))["Pricing page"] == "Registered"
    at.text_input(key="experiments__search").input("check").run()
    assert list(table(at)["Name"]) == ["Checkout copy"]
    at.text_input(key="experiments__search").input("").run()
    at.multiselect(key="experiments__status").select("registered").run()
    assert list(table(at)["Name"]) == ["Pricing page"]
    assert "1 of 2 experiments" in texts(at.caption)


def test_reopen_brings_back_plan_notes_days_and_the_saved_readout_without_the_file(db):
    analysis = readout()
    own = SessionExperiment(
        plan=PLAN,
        mapping=analysis.aggregates.mapping,
        options={"alpha": 0.1, "correction": "bh"},
        preparation=(PrepStep("duplicate_rows", rows_removed=3),),
        notes=({"day": "2026-01-02", "note": "outage"},),
        excluded_days=("2026-01-02",),
        source=DataSource("checkout.csv", sha256="ab" * 32, rows=4000),
    )
    exp = db.create("local", name=PLAN.name, owner="local", **ev.document(own))
    db.add_snapshot("local", exp.id, analysis.aggregates, {"alpha": 0.05}, by="local",
                    fingerprint=DataFingerprint("ab" * 32, rows=4000))  # fmt: skip
    at = app()
    button(at, "Open").click().run()
    assert not at.exception, at.exception
    opened = at.session_state["plan"]  # the Plan page, opened next, records its sizing
    assert dataclasses.replace(opened, planned_n_per_arm=None, planned_days=None) == PLAN
    assert at.session_state["experiment_is_demo"] is False
    assert at.session_state["decision__exclude"] == ["2026-01-02"]
    assert at.session_state["decision__notes"] == [{"day": "2026-01-02", "note": "outage"}]
    assert at.session_state[ers.RECORD_KEY]["id"] == exp.id
    assert at.session_state["results__alpha"] == 0.1  # the Test settings for the next upload
    assert at.session_state["results__correction"] == "bh"
    at.switch_page(DECISION).run()
    assert not at.exception, at.exception
    assert "has no results yet" not in texts(at.info)
    assert "the saved readout of" in texts(at.caption)
    at.switch_page("app_pages/results.py").run()
    assert "its saved totals, no file needed" in texts(at.info)


def test_the_session_experiment_round_trips_through_a_record_and_an_export(db):
    analysis = readout()
    own = SessionExperiment(
        plan=PLAN,
        mapping=analysis.aggregates.mapping,
        options={"alpha": 0.1, "strata": None},
        preparation=(PrepStep("duplicate_rows", rows_removed=3),),
        notes=({"day": "2026-01-02", "note": "outage"},),
        excluded_days=("2026-01-02",),
        source=DataSource("checkout.csv", sha256="cd" * 32, rows=4000),
    )
    exp = db.create("local", name=PLAN.name, owner="local", **ev.document(own))
    assert ev.session_experiment(db.get("local", exp.id)) == own
    again = db.import_experiment("other", db.export_experiment("local", exp.id))
    assert ev.session_experiment(again) == own


def test_duplicate_archive_and_delete_with_a_confirmation(db):
    exp = db.create("local", name="Checkout copy", owner="local", plan=PLAN)
    at = app()
    button(at, "Duplicate").click().run()
    assert "Made 'Copy of Checkout copy'" in texts(at.success)
    assert set(table(at)["Name"]) == {"Checkout copy", "Copy of Checkout copy"}
    at.selectbox(key="experiments__chosen").set_value(exp.id).run()
    button(at, "Archive").click().run()
    assert db.get("local", exp.id).status == "archived"
    button(at, "Delete").click().run()
    assert "This cannot be undone" in texts(at.warning)
    assert len(db.list("local")) == 2  # nothing deleted before the confirmation
    button(at, "Cancel").click().run()
    assert "This cannot be undone" not in texts(at.warning)
    button(at, "Delete").click().run()
    button(at, "Yes, delete it").click().run()
    assert [e.name for e in db.list("local")] == ["Copy of Checkout copy"]
    assert "Deleted 'Checkout copy'" in texts(at.success)


def test_save_is_off_for_the_demo_and_saves_the_users_experiment(db):
    at = app(page=None)
    assert "The demo is not saved" in texts(at.sidebar.caption)
    assert not [b for b in at.sidebar.button if b.label == "Save"]
    button(at, "Plan it").click().run()  # a blank experiment of the user's own
    at.switch_page(PAGE).run()
    button(at, "Save").click().run()
    assert not at.exception, at.exception
    saved = db.list("local")
    assert [e.name for e in saved] == ["Untitled experiment"]
    assert saved[0].owner == "local"
    assert at.session_state[ers.RECORD_KEY]["version"] == 1


def test_a_conflicting_save_says_when_the_other_save_was_and_reloads_it(db):
    exp = db.create("local", name=PLAN.name, owner="local", plan=PLAN)
    at = app()
    button(at, "Open").click().run()
    other = db.update("local", exp.id, expected_version=1, by="bob", notes="bob's change",
                      plan=dataclasses.replace(PLAN, power=0.9))  # fmt: skip
    at.switch_page(PAGE).run()
    button(at, "Save changes").click().run()
    assert not at.exception, at.exception
    warning = texts(at.sidebar.warning)
    assert "someone else saved this experiment at" in warning
    assert ev.when(other.updated_at) in warning
    assert db.get("local", exp.id).version == 2  # nothing overwritten
    button(at, "Reload the saved version").click().run()
    assert at.session_state["plan"].power == 0.9
    assert at.session_state[ers.RECORD_KEY]["version"] == 2
    assert "someone else saved" not in texts(at.sidebar.warning)


def test_register_then_a_plan_change_is_an_amendment_on_decision_and_the_report(db):
    analysis = readout()
    exp = db.create("local", name=PLAN.name, owner="local", plan=PLAN)
    db.add_snapshot("local", exp.id, analysis.aggregates, {"alpha": 0.05}, by="local")
    at = app()
    button(at, "Open").click().run()
    at.switch_page("app_pages/plan.py").run()
    button(at, "Register the plan").click().run()
    assert not at.exception, at.exception
    reg = db.registration("local", exp.id)
    assert reg is not None
    assert reg.fingerprint == at.session_state["plan"].fingerprint()
    assert "Registered" in texts(at.caption)
    at.number_input(key="plan__power_pct").set_value(90.0).run()
    assert "power 80% → 90%" in texts(at.warning)  # not saved yet, said so
    button(at, "Save changes").click().run()
    (amendment,) = db.amendments("local", exp.id)
    assert amendment.text.startswith("changed after launch: ")
    assert "power 80% → 90%" in amendment.text  # with the sizing that follows from it
    at.switch_page(DECISION).run()
    assert not at.exception, at.exception
    shown = texts(at.warning)
    assert "The plan changed after it was registered" in shown
    assert "power 80% → 90%" in shown
    report = analysis_report_markdown(
        analysis, plan=PLAN, amendments=ev.amendment_lines(db.amendments("local", exp.id))
    )
    assert "## Amendments after registration" in report
    assert "changed after launch: " in report
    assert "power 80% → 90%" in report


def test_a_decision_record_keeps_verdict_rationale_who_and_when(db):
    analysis = readout()
    exp = db.create("local", name=PLAN.name, owner="local", plan=PLAN)
    db.add_snapshot("local", exp.id, analysis.aggregates, {"alpha": 0.05}, by="local")
    at = app()
    button(at, "Open").click().run()
    at.switch_page(DECISION).run()
    at.text_area(key="experiments__rationale").input("Clear win on conversion.")
    at.button(key="FormSubmitter:experiments__decide-Record the decision").click().run()
    assert not at.exception, at.exception
    (decision,) = db.decisions("local", exp.id)
    assert decision.rationale == "Clear win on conversion."
    assert decision.decided_by == "local"
    assert decision.verdict == analysis.recommendation.verdict
    assert decision.snapshot_id == db.snapshots("local", exp.id)[-1].id
    assert db.get("local", exp.id).status == "decided"
    assert "recorded by local on" in texts(at.markdown)


def test_a_damaged_database_is_a_sentence_and_the_calculators_work(tmp_path, monkeypatch):
    path = tmp_path / "abcore.sqlite"
    path.write_bytes(b"this is not a database" * 400)
    monkeypatch.setenv("ABCORE_DB_URL", f"sqlite:///{path}")
    ers._open.clear()
    try:
        at = app()
        assert "is damaged" in texts(at.warning)
        assert "every calculator still works" in texts(at.warning)
        at.switch_page("app_pages/plan.py").run()
        assert not at.exception, at.exception
        assert at.title[0].value == "Plan the experiment"
    finally:
        ers._open.clear()


def decided(db, name: str, lift: float, seed: int, verdict: str) -> None:
    """A decided experiment whose readout saw ``lift`` on a 10% baseline."""
    rng = np.random.default_rng(seed)
    n = 6000
    arm = np.where(rng.random(n) < 0.5, "a", "b")
    converted = (rng.random(n) < np.where(arm == "b", 0.10 * (1 + lift), 0.10)).astype(int)
    frame = pd.DataFrame({"arm": arm, "converted": converted})
    analysis = analyze(frame, variant="arm", control="a", plan=PLAN)
    exp = db.create("local", name=name, owner="local", plan=PLAN)
    db.add_snapshot("local", exp.id, analysis.aggregates, {"alpha": 0.05}, by="local")
    db.record_decision("local", exp.id, verdict=verdict, reasons=(), by="local")


def test_learning_views_over_decided_experiments_offer_the_prior_to_results(db):
    lifts = (0.12, -0.03, 0.02, 0.08, -0.05, 0.01)
    for i, lift in enumerate(lifts):
        decided(db, f"Test {i}", lift, seed=i, verdict="ship" if lift > 0.05 else "dont_ship")
    db.create("local", name="Undecided", owner="local", plan=PLAN)
    at = app()
    assert "converted (6 decided)" in at.selectbox(key="experiments__metric").options[0]
    shown = texts(at.markdown)
    assert "Empirical-Bayes prior** from 6 experiments" in shown
    assert "Win rate" in [m.label for m in at.metric]
    assert [m.value for m in at.metric if m.label == "Win rate"] == ["33%"]  # 2 of 6 shipped
    wins = next(d.value for d in at.dataframe if "Shrunken lift" in d.value.columns)
    assert set(wins["Experiment"]) == {"Test 0", "Test 3"}
    assert (wins["Shrunken lift"].abs() < wins["Raw lift"].abs()).all()  # pulled toward mu
    button(at, "Use it as the prior of the Bayesian view on Results").click().run()
    assert at.session_state["results__prior"] == "proper"
    assert at.session_state["results__bayes"] is True


def test_relative_se_reads_the_standard_error_back_from_a_normal_interval():
    from scipy.stats import norm

    from abcore.learning import relative_se

    z = norm.ppf(0.975)  # scipy 1.x: the 97.5% normal quantile, 1.959964
    assert relative_se(0.03 - z * 0.011, 0.03 + z * 0.011) == pytest.approx(0.011, rel=1e-12)
    assert relative_se(-np.inf, 0.1) is None  # a one-sided interval has no such SE
    assert relative_se(None, 0.1) is None


def test_an_analysed_upload_of_a_saved_experiment_is_snapshotted_once(db, monkeypatch):
    from real_data import real

    from abcore import ingest
    from ui import results_state as rs

    con = ingest.connect()
    monkeypatch.setattr(rs, "get_connection", con.cursor)
    path = real("cookie_cats.csv")
    loaded = rs._load("upload-key", Path(path).name, path, is_demo=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["duckdb_con"] = con
    at.session_state[rs.DATASETS_KEY] = {loaded.key: loaded}
    at.session_state[rs.CURRENT_KEY] = loaded.key
    at.run()
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, at.exception
    button(at, "Save").click().run()
    (exp,) = db.list("local")
    (snap,) = db.snapshots("local", exp.id)
    assert snap.fingerprint.rows == 90189  # cookie_cats.csv's rows; the rows are not stored
    assert snap.fingerprint.file_hash == loaded.key
    assert len(str(snap.results)) < 20_000  # totals per arm: 90,189 rows would be ~2 MB
    assert db.get("local", exp.id).status == "running"
    at.run()
    at.switch_page(DECISION).run()
    at.switch_page("app_pages/results.py").run()
    assert len(db.snapshots("local", exp.id)) == 1  # the same data again: no new snapshot


def test_archiving_the_open_experiment_is_not_a_conflict_with_its_next_save(db):
    exp = db.create("local", name=PLAN.name, owner="local", plan=PLAN)
    at = app()
    button(at, "Open").click().run()
    at.switch_page(PAGE).run()
    button(at, "Archive").click().run()
    button(at, "Save changes").click().run()
    assert "someone else saved" not in texts(at.sidebar.warning)
    assert db.get("local", exp.id).version == 3  # archived, then saved


@pytest.mark.parametrize("page", ["app_pages/results.py", DECISION])
def test_save_shows_on_a_page_without_data(db, page):
    # the sidebar is drawn after the page: a page that stopped early (no data yet) hid Save
    at = app(page=None)
    button(at, "Upload results").click().run()  # a new experiment, no file yet
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert [b.label for b in at.sidebar.button if b.label == "Save"] == ["Save"]
    next(b for b in at.sidebar.button if b.label == "Save").click().run()
    assert [e.name for e in db.list("local")] == ["Untitled experiment"]


def test_an_address_opens_the_experiment_once_and_a_rerun_keeps_the_users_changes(db):
    exp = db.create("local", name="Checkout copy", owner="local", plan=PLAN)
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page(PAGE)
    at.query_params["experiment"] = exp.id
    at.run()
    assert "Opened 'Checkout copy' from its link" in texts(at.success)
    assert at.session_state[ers.RECORD_KEY]["id"] == exp.id
    at.switch_page("app_pages/plan.py").run()
    at.text_input(key="plan__name").input("Checkout copy v2").run()
    at.switch_page(PAGE)
    at.query_params["experiment"] = exp.id
    at.run()  # the same address again in this session: not reopened over the change
    assert not at.exception, at.exception
    assert "Checkout copy v2" in texts(at.sidebar.markdown)


def test_a_test_without_its_own_database_writes_none_in_the_checkout():
    # tests/conftest.py points ABCORE_DB_URL at a temporary file for every test
    checkout_db = ROOT / "data" / "abcore.sqlite"
    existed = checkout_db.exists()
    at = app(page=None)
    button(at, "Plan it").click().run()
    at.switch_page(PAGE).run()
    button(at, "Save").click().run()
    assert not at.exception, at.exception
    assert checkout_db.exists() == existed
    reg = ers.registry()
    assert reg is not None
    assert [e.name for e in reg.list("local")] == ["Untitled experiment"]


def test_reopening_then_uploading_the_same_file_restores_its_roles_and_preparation(
    db, tmp_path, monkeypatch
):
    from abcore import ingest
    from ui import results_state as rs

    rng = np.random.default_rng(5)
    n = 600
    frame = pd.DataFrame(
        {
            "user": np.arange(n),
            "arm": np.where(rng.random(n) < 0.5, "a", "b"),
            "country": rng.choice(["DE", "FR"], n),
            "converted": (rng.random(n) < 0.1).astype(int),
        }
    )
    path = tmp_path / "checkout.csv"
    frame.to_csv(path, index=False)
    con = ingest.connect()
    monkeypatch.setattr(rs, "get_connection", con.cursor)

    def with_file() -> tuple[AppTest, str]:
        loaded = rs._load("checkout-key", path.name, str(path), is_demo=False)
        at = AppTest.from_file(APP, default_timeout=120)
        at.session_state["duckdb_con"] = con
        at.session_state[rs.DATASETS_KEY] = {loaded.key: loaded}
        at.session_state[rs.CURRENT_KEY] = loaded.key
        return at, loaded.widget_prefix

    at, k = with_file()
    at.run()
    at.switch_page("app_pages/results.py").run()
    assert at.multiselect(key=k + "segments").value == ["country"]  # detection's
    at.multiselect(key=k + "segments").set_value([]).run()
    at.checkbox(key=k + "prep::duplicate_rows::").check().run()
    at.selectbox(key=k + "prep::filter::0::column").set_value("country").run()
    at.selectbox(key=k + "prep::filter::0::op").set_value("=").run()
    at.text_input(key=k + "prep::filter::0::value").input("DE").run()
    assert not at.exception, at.exception
    button(at, "Save").click().run()
    (exp,) = db.list("local")
    assert [s["kind"] for s in exp.options[ev.PREPARATION]] == ["duplicate_rows", "filter"]

    # another session opens it, and the same file is uploaded again
    at = app()
    button(at, "Open").click().run()
    fresh, k = with_file()
    for key in (rs.DATASETS_KEY, rs.CURRENT_KEY, "duckdb_con"):
        at.session_state[key] = fresh.session_state[key]
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, at.exception
    assert at.multiselect(key=k + "segments").value == []  # the saved roles, not detection's
    assert at.checkbox(key=k + "prep::duplicate_rows::").value is True
    assert at.selectbox(key=k + "prep::filter::0::column").value == "country"
    assert at.text_input(key=k + "prep::filter::0::value").value == "DE"
