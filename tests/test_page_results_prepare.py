"""Data preparation on the Results page (issue 18, item 5): the steps suggested from the
file's findings, applied when ticked, listed with the rows they removed, and the readout equal
to the notebook's ``abcore.analyze(..., prepare=[...])`` on the same file.

AppTest cannot upload files: the session state the uploader leaves is built with the page's
own loader, as tests/test_page_results_warehouse.py does.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd
import pytest
from real_data import real
from streamlit.testing.v1 import AppTest

from abcore import analyze, ingest
from abcore.model import PrepStep
from abcore.share import preparation_from_query_params
from ui import results_state as rs

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "results.py")
DECISION = str(ROOT / "app_pages" / "decision.py")


def generated(folder: Path) -> Path:
    """2,000 users; 'page' restates the arm except on 40 rows; 50 users also in the other
    arm (a second, later row)."""
    rng = np.random.default_rng(18)
    n = 2_000
    arm = rng.choice(["control", "treatment"], n)
    page = np.where(arm == "control", "old_page", "new_page")
    flip = rng.choice(n, 40, replace=False)
    page[flip] = np.where(page[flip] == "old_page", "new_page", "old_page")
    frame = pd.DataFrame(
        {
            "user_id": np.arange(100_000, 100_000 + n),
            "timestamp": pd.Timestamp("2024-03-01")
            + pd.to_timedelta(rng.integers(0, 14 * 86_400, n), unit="s"),
            "group": arm,
            "page": page,
            "converted": (rng.random(n) < np.where(arm == "control", 0.10, 0.13)).astype(int),
        }
    )
    again = frame.sample(50, random_state=1).copy()
    again["group"] = np.where(again["group"] == "control", "treatment", "control")
    again["page"] = np.where(again["group"] == "control", "old_page", "new_page")
    again["timestamp"] += pd.Timedelta(hours=1)
    path = folder / "my_test.csv"
    pd.concat([frame, again]).to_csv(path, index=False)
    return path


def uploaded(path: Path, monkeypatch) -> tuple[dict, rs.Loaded]:
    """The session state the uploader leaves after ``path``: the page's own loader."""
    con = ingest.connect()
    monkeypatch.setattr(rs, "get_connection", con.cursor)
    loaded = rs._load("upload-key", path.name, path, is_demo=False)
    state = {"duckdb_con": con, rs.DATASETS_KEY: {loaded.key: loaded}, rs.CURRENT_KEY: loaded.key}
    return state, loaded


def run_page(state: dict, page: str = PAGE) -> AppTest:
    at = AppTest.from_file(page, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def checkbox(at: AppTest, loaded: rs.Loaded, kind: str, column: str = ""):
    key = f"{loaded.widget_prefix}prep::{kind}::{column}"
    return next(c for c in at.checkbox if c.key == key)


def errors(at: AppTest) -> list[str]:
    """Error sentences (not the validity summary, which is drawn as an error too)."""
    return [e.value for e in at.error if e.icon == ":material/error:"]


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_ticked_steps_give_the_notebook_readout(tmp_path, monkeypatch):
    path = generated(tmp_path)
    state, loaded = uploaded(path, monkeypatch)
    assert loaded.detected.arm_proxies == ("page",)
    at = run_page(state)
    assert not errors(at)
    assert "Data preparation" in [e.label for e in at.expander]
    assert "page is not offered as a segment: it restates the arm." in captions(at)
    # offered, none ticked: the readout is the file as uploaded
    labels = [c.label for c in at.checkbox if "prep::" in str(c.key)]
    assert labels[0] == "Drop rows where page disagrees with the arm"
    assert any("Exclude the 50 units (user_id) seen in more than one arm" in x for x in labels)
    assert not any(c.value for c in at.checkbox if "prep::" in str(c.key))
    raw = at.session_state["analysis"]
    assert raw.preparation == ()
    # the 50 users in both arms count once in each
    assert int(raw.effects.iloc[0]["n_control"] + raw.effects.iloc[0]["n_treatment"]) == 2_050

    checkbox(at, loaded, "arm_mismatch", "page").check()
    checkbox(at, loaded, "mixed_units", "user_id").check()
    at.run()
    assert not at.exception
    assert not errors(at), errors(at)
    steps = [PrepStep("arm_mismatch", "page"), PrepStep("mixed_units", "user_id")]
    notebook = analyze(path, variant="group", metrics=["converted"], prepare=steps)
    result = at.session_state["analysis"]
    assert [s.to_dict() for s in result.preparation] == [s.to_dict() for s in notebook.preparation]
    # pandas: the 40 flipped rows go first, then every row of the 50 users still in two arms
    frame = pd.read_csv(path)
    agree = frame[(frame["group"] == "control") == (frame["page"] == "old_page")]
    arms = agree.groupby("user_id")["group"].nunique()
    kept = agree[~agree["user_id"].isin(arms.index[arms > 1])]
    assert result.preparation[0].rows_removed == len(frame) - len(agree)
    assert result.preparation[1].rows_removed == len(agree) - len(kept)
    cols = ["metric", "arm", "n_control", "n_treatment", "control_mean", "treatment_mean"]
    pd.testing.assert_frame_equal(result.effects[cols], notebook.effects[cols])
    for col in ("rel_effect", "p_value", "p_value_adjusted", "rel_ci_low", "rel_ci_high"):
        np.testing.assert_allclose(result.effects[col], notebook.effects[col], rtol=1e-9)
    n = result.effects.iloc[0]
    assert int(n["n_control"] + n["n_treatment"]) == kept["user_id"].nunique()
    # each step listed under the data line with the rows it removed
    text = captions(at)
    for step in result.preparation:
        assert step.sentence() in text
    # Units in more than one arm now passes: the check reads the prepared rows
    assert {c.name: c.status for c in result.checks}["Units in more than one arm"] == "pass"

    # Decision reads the same analysis, with its preparation, and its A/A resamples the
    # prepared rows, not the upload
    keys = ("analysis", "aggregates", "analysis_source", "analysis_rows")
    published = {k: at.session_state[k] for k in keys}
    decision = run_page(published | state, page=DECISION)
    assert decision.session_state["analysis"].preparation == result.preparation
    next(s for s in decision.selectbox if s.key == "decision__aa_sims").set_value(500)
    next(b for b in decision.button if b.key == "decision__aa_run").click().run()
    aa = decision.session_state["decision__aa_result"]
    control = kept.loc[kept["group"] == "control", "user_id"].nunique()
    assert aa.analysis_rows == control < raw.effects.iloc[0]["n_control"]

    # unticked: back to the file as uploaded
    checkbox(at, loaded, "arm_mismatch", "page").uncheck()
    checkbox(at, loaded, "mixed_units", "user_id").uncheck()
    at.run()
    assert at.session_state["analysis"].preparation == ()
    assert "rows removed" not in captions(at)


@pytest.mark.parametrize("kind", ["duplicate_rows"])
def test_a_step_that_removes_nothing_says_so(tmp_path, monkeypatch, kind):
    state, loaded = uploaded(generated(tmp_path), monkeypatch)
    at = run_page(state)
    checkbox(at, loaded, kind).check()
    at.run()
    assert not errors(at)
    assert "Dropped duplicate rows (kept one of rows equal in every column): 0 rows removed." in (
        captions(at)
    )


def test_ab_data_after_the_course_cleaning_reads_as_published(monkeypatch):
    """/work/shared/data/real/README.md: after dropping the group/page mismatches and keeping
    one row per user, control 17,489 / 145,274 and treatment 17,264 / 145,310."""
    state, loaded = uploaded(Path(real("ab_data.csv")), monkeypatch)
    at = run_page(state)
    assert "landing_page is not offered as a segment: it restates the arm." in captions(at)
    checkbox(at, loaded, "arm_mismatch", "landing_page").check()
    checkbox(at, loaded, "repeat_units", "user_id").check()
    at.run()
    assert not at.exception
    assert not errors(at), errors(at)
    result = at.session_state["analysis"]
    assert [(s.kind, s.rows_removed) for s in result.preparation] == [
        ("arm_mismatch", 3_893),
        ("repeat_units", 1),
    ]
    row = result.effects.set_index("metric").loc["converted"]
    assert (row["n_control"], row["n_treatment"]) == (145_274, 145_310)
    assert row["control_mean"] == pytest.approx(17_489 / 145_274, abs=1e-12)
    assert row["treatment_mean"] == pytest.approx(17_264 / 145_310, abs=1e-12)
    assert "Dropped the rows where 'landing_page' disagrees with the arm: 3,893 rows removed." in (
        captions(at)
    )


def widget(items, key: str):
    return next(w for w in items if w.key == key)


def first_seen_in(frame: pd.DataFrame, first: str, last: str) -> pd.DataFrame:
    """pandas: every row of the users whose first row falls from ``first`` to ``last``."""
    day = pd.to_datetime(frame["timestamp"]).groupby(frame["user_id"]).transform("min")
    day = day.dt.normalize()
    return frame[(day >= first) & (day <= last)]


def test_a_date_window_and_a_filter_are_recorded_on_results_and_decision(tmp_path, monkeypatch):
    path = generated(tmp_path)
    state, loaded = uploaded(path, monkeypatch)
    at = run_page(state)
    key = f"{loaded.widget_prefix}prep::date_window::timestamp"
    box = widget(at.checkbox, key)
    assert box.label == (
        "Keep the units (user_id) first seen in a date window (by timestamp), with all their rows"
    )
    assert not box.value
    assert "The data's timestamp runs from" not in captions(at)  # dates shown once ticked
    box.check().run()
    assert "The data's timestamp runs from 2024-03-01 to 2024-03-14." in captions(at)
    assert at.session_state["analysis"].preparation[0].rows_removed == 0  # the whole span
    widget(at.date_input, key + "::to").set_value(pd.Timestamp("2024-03-07").date()).run()
    assert not errors(at), errors(at)

    frame = pd.read_csv(path)
    kept = first_seen_in(frame, "2024-03-01", "2024-03-07")
    step = PrepStep("date_window", "timestamp", ["2024-03-01", "2024-03-07"], unit="user_id")
    result = at.session_state["analysis"]
    (done,) = result.preparation
    assert (done.rows_removed, done.units_removed) == (
        len(frame) - len(kept),
        frame["user_id"].nunique() - kept["user_id"].nunique(),
    )
    notebook = analyze(path, variant="group", metrics=["converted"], prepare=[step])
    assert result.preparation == notebook.preparation
    reference = analyze(kept, variant="group", metrics=["converted"])
    cols = ["n_control", "n_treatment", "control_mean", "treatment_mean"]
    pd.testing.assert_frame_equal(result.effects[cols], reference.effects[cols])
    assert done.sentence() in captions(at)

    # a row filter after the window: one more step, with the rows it removed
    prefix = f"{loaded.widget_prefix}prep::filter::"
    assert [s.key for s in at.selectbox if str(s.key).startswith(prefix)] == [prefix + "0::column"]
    widget(at.selectbox, prefix + "0::column").set_value("page").run()
    widget(at.selectbox, prefix + "0::op").set_value("≠").run()
    widget(at.text_input, prefix + "0::value").input("old_page").run()
    assert not errors(at), errors(at)
    both = at.session_state["analysis"].preparation
    new = kept[kept["page"] != "old_page"]
    assert [s.kind for s in both] == ["date_window", "filter"]
    assert both[1].rows_removed == len(kept) - len(new)
    assert both[1].sentence() in captions(at)
    assert prefix + "1::column" in [s.key for s in at.selectbox]  # the next filter row

    # the Decision page lists both, its reports and its link carry them
    keys = ("analysis", "aggregates", "analysis_source", "analysis_rows")
    decision = run_page({k: at.session_state[k] for k in keys} | state, page=DECISION)
    assert "**Data preparation** (applied to the rows before the statistics, in order)" in [
        m.value for m in decision.markdown
    ]
    for s in both:
        assert s.sentence() in captions(decision)
    link = next(c.value for c in decision.code if "results=" in c.value)
    params = dict(parse_qsl(urlsplit(link).query))
    assert preparation_from_query_params(params) == both

    # whoever opens the link sees the same steps on the Decision page
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for name, value in params.items():
        app.query_params[name] = value
    app.run()
    assert not app.exception
    opened = run_page(
        {"shared_results": app.session_state["shared_results"]},
        page=DECISION,
    )
    assert "Data: **a shared link (aggregates only)**" in captions(opened)
    for s in both:
        assert s.sentence() in captions(opened)


def test_an_inverted_window_or_a_value_of_the_wrong_type_is_a_sentence(tmp_path, monkeypatch):
    state, loaded = uploaded(generated(tmp_path), monkeypatch)
    at = run_page(state)
    key = f"{loaded.widget_prefix}prep::date_window::timestamp"
    widget(at.checkbox, key).check().run()
    widget(at.date_input, key + "::from").set_value(pd.Timestamp("2024-03-10").date())
    widget(at.date_input, key + "::to").set_value(pd.Timestamp("2024-03-05").date()).run()
    assert not at.exception
    assert any(
        "the date window starts on 2024-03-10, after it ends on 2024-03-05" in e for e in errors(at)
    ), errors(at)
    # no readout: the last one came from other steps, so it is not this data's
    assert "analysis" not in at.session_state

    widget(at.date_input, key + "::from").set_value(pd.Timestamp("2025-01-01").date())
    widget(at.date_input, key + "::to").set_value(pd.Timestamp("2025-01-31").date()).run()
    assert any(
        "holds none of the data, whose 'timestamp' runs from 2024-03-01 to 2024-03-14" in e
        for e in errors(at)
    ), errors(at)

    widget(at.checkbox, key).uncheck().run()
    prefix = f"{loaded.widget_prefix}prep::filter::0::"
    widget(at.selectbox, prefix + "column").set_value("converted").run()
    widget(at.selectbox, prefix + "op").set_value("≥").run()
    widget(at.text_input, prefix + "value").input("lots").run()
    assert not at.exception
    assert any(
        "The filter on 'converted': 'lots' is not a number, and 'converted' holds numbers" in e
        for e in errors(at)
    ), errors(at)
    widget(at.text_input, prefix + "value").input("1").run()
    assert not errors(at), errors(at)
    assert at.session_state["analysis"].preparation[0].values == (1,)
