"""The Results page through Streamlit's AppTest: the demo opens with effects, options drive them.

AppTest cannot upload files; the upload path is covered by tests/browser/test_results_upload.py.
Expected numbers come from pandas/scipy/statsmodels on the demo file, not from the page.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "results.py")
DEMO = pd.read_parquet(ROOT / "sample_data" / "demo_experiment.parquet")


@pytest.fixture(scope="module")
def demo_rates() -> pd.Series:
    return DEMO.groupby("variant")["converted"].mean()


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def effects_table(at: AppTest) -> pd.DataFrame:
    """The first dataframe with a Result column: the page's effects table."""
    for frame in at.dataframe:
        value = frame.value
        value = value.data if hasattr(value, "data") else value  # a pandas Styler
        if "Result" in value.columns and "Metric" in value.columns:
            return value
    raise AssertionError("no effects table on the page")


def row(table: pd.DataFrame, metric: str) -> pd.Series:
    return table[table["Metric"] == metric].iloc[0]


def widget(elements, key: str):
    return next(e for e in elements if e.key == key)


def charts(at: AppTest) -> list:
    return list(at.get("vega_lite_chart")) + list(at.get("arrow_vega_lite_chart"))


def test_opens_on_the_demo_with_an_effects_table(demo_rates):
    at = run_page()
    table = effects_table(at)
    metrics = set(table["Metric"])
    # Detected columns plus the plan's ratio metric (clicks / sessions).
    assert {"converted", "revenue", "page_load_ms", "clicks_per_session"} <= metrics
    converted = row(table, "converted")
    assert converted["Control"] == f"{demo_rates['control']:.2%}"
    assert converted["Treatment"] == f"{demo_rates['treatment']:.2%}"
    assert converted["Role"] == "Success"
    assert row(table, "page_load_ms")["Role"] == "Guardrail"
    counts = DEMO["variant"].value_counts()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Control"] == f"{counts['control']:,}"
    assert shown["Treatment"] == f"{counts['treatment']:,}"
    assert shown["Days covered"] == str(DEMO["first_exposure"].dt.date.nunique())
    assert len(charts(at)) >= 4  # forest, lift over time, units per day, segment
    analysis = at.session_state["analysis"]
    assert analysis.aggregates is at.session_state["aggregates"]
    assert set(analysis.effects["metric"]) == metrics
    assert not at.error


def test_success_metric_matches_a_two_proportion_z_test():
    from statsmodels.stats.proportion import proportions_ztest

    at = run_page()
    successes = DEMO.groupby("variant")["converted"].sum()
    counts = DEMO.groupby("variant")["converted"].count()
    _, p = proportions_ztest(
        [successes["treatment"], successes["control"]], [counts["treatment"], counts["control"]]
    )
    assert row(effects_table(at), "converted")["p-value"] == f"{p:.3f}"  # 0.015 -> "0.015"


def _family_adjusted(effects, method: str) -> np.ndarray:
    """statsmodels' correction within each family; secondary metrics always by BH."""
    out = np.empty(len(effects))
    for family, index in effects.groupby("family").indices.items():
        how = "fdr_bh" if family == "secondary" else method
        p = effects["p_value"].to_numpy(float)[index]
        out[index] = p if how == "none" else multipletests(p, method=how)[1]
    return out


def test_correction_applies_within_each_family():
    """The plan's success metrics, its guardrails and the exploratory rest are corrected
    separately (the decision reads the success family); the choice applies to the first
    two, the exploratory metrics keep their false-discovery correction."""
    at = run_page()
    effects = at.session_state["analysis"].effects
    assert set(effects["family"]) == {"success", "guardrail", "secondary"}
    np.testing.assert_allclose(effects["p_value_adjusted"], _family_adjusted(effects, "holm"))
    for method in ("bonferroni", "none"):
        widget(at.selectbox, "results__correction").set_value(method).run()
        assert not at.exception
        effects = at.session_state["analysis"].effects
        assert at.session_state["analysis"].correction == method
        np.testing.assert_allclose(effects["p_value_adjusted"], _family_adjusted(effects, method))


def test_alpha_changes_the_interval_level_and_the_verdict():
    at = run_page()
    table = effects_table(at)
    assert "95% CI (fieller)" in table.columns
    # converted is the plan's only success test: p = 0.015 is significant at 0.05, as the
    # decision (one-sided at 0.025) finds, and higher conversion is the good direction...
    assert row(table, "converted")["Result"] == "✔ Better"
    assert at.session_state["analysis"].recommendation.verdict == "ship"
    widget(at.number_input, "results__alpha").set_value(0.01).run()
    assert not at.exception
    table = effects_table(at)
    assert "99% CI (fieller)" in table.columns
    assert "95% CI (fieller)" not in table.columns
    # ...but not at 0.01, and then the decision does not ship either.
    assert row(table, "converted")["Result"] != "✔ Better"
    assert at.session_state["analysis"].recommendation.verdict != "ship"


def test_relative_method_changes_the_intervals():
    at = run_page()
    fieller = effects_table(at)
    widget(at.selectbox, "results__method").set_value("delta").run()
    delta = effects_table(at)
    assert "95% CI (delta)" in delta.columns
    assert list(delta["95% CI (delta)"]) != list(fieller["95% CI (fieller)"])
    # The point estimate and the test do not depend on the interval method.
    assert list(delta["Relative effect"]) == list(fieller["Relative effect"])
    assert list(delta["p-value"]) == list(fieller["p-value"])


def test_show_all_three_intervals_adds_columns():
    at = run_page()
    widget(at.toggle, "results__show_all").set_value(True).run()
    assert not at.exception
    columns = set(effects_table(at).columns)
    assert {"95% CI (fieller)", "95% CI (log)", "95% CI (delta)"} <= columns


def test_other_control_flips_the_signs(demo_rates):
    at = run_page()
    before = effects_table(at)
    control = next(s for s in at.selectbox if s.label == "Control arm")
    assert control.value == "control"
    control.set_value("treatment").run()
    assert not at.exception
    after = effects_table(at)
    for metric in ("converted", "revenue", "page_load_ms"):
        b, a = row(before, metric)["Relative effect"], row(after, metric)["Relative effect"]
        assert {b[0], a[0]} == {"+", "-"}, (metric, b, a)
    assert "Control: treatment" in after.columns
    assert row(after, "converted")["Control: treatment"] == f"{demo_rates['treatment']:.2%}"
    assert at.session_state["aggregates"].control == "treatment"


def test_cuped_and_capping_change_revenue_only_where_they_apply():
    at = run_page()
    base = row(effects_table(at), "revenue")
    widget(at.toggle, "results__cuped").set_value(False).run()
    raw = row(effects_table(at), "revenue")
    # Without CUPED the treatment mean is the plain mean of the file.
    assert raw["Treatment"] == f"{DEMO.loc[DEMO.variant == 'treatment', 'revenue'].mean():.2f}"
    assert raw["95% CI (fieller)"] != base["95% CI (fieller)"]
    assert row(effects_table(at), "converted")["p-value"] != "—"

    widget(at.selectbox, "results__cap").set_value(0.99).run()
    assert not at.exception
    capped = row(effects_table(at), "revenue")
    cap = DEMO["revenue"].quantile(0.99)
    assert float(capped["Control"]) < float(raw["Control"])
    assert float(capped["Control"]) == pytest.approx(
        DEMO.loc[DEMO.variant == "control", "revenue"].clip(upper=cap).mean(), abs=0.006
    )


def test_planned_split_drives_the_sample_ratio_check():
    at = run_page()
    assert at.session_state["analysis"].srm.status == "pass"
    shares = [n for n in at.number_input if n.label in ("control (%)", "treatment (%)")]
    assert len(shares) == 2
    next(n for n in shares if n.label == "control (%)").set_value(60.0).run()
    next(n for n in at.number_input if n.label == "treatment (%)").set_value(40.0).run()
    assert not at.exception
    assert at.session_state["analysis"].srm.status == "fail"


def test_bad_mapping_is_a_sentence_and_no_earlier_numbers():
    """A mapping that fails shows its sentence and no readout: the numbers of the previous
    mapping are not this data's, and the Decision page must not judge them either."""
    at = run_page()
    assert "analysis" in at.session_state
    variant = next(s for s in at.selectbox if s.label == "Variant column (which arm)")
    variant.set_value("user_id").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("different values" in e for e in errors), errors
    assert "analysis" not in at.session_state
    with pytest.raises(AssertionError, match="no effects table"):
        effects_table(at)

    next(s for s in at.selectbox if s.label == "Variant column (which arm)").set_value(
        "variant"
    ).run()
    assert not at.exception
    assert not at.error
    assert "converted" in set(effects_table(at)["Metric"])


def test_segment_breakdown_adjusts_across_every_cell():
    at = run_page()
    segments = at.session_state["analysis"].segments
    assert set(segments["segment"]) == {"platform", "device"}
    assert widget(at.selectbox, "results__segment").value in {"platform", "device"}
    expected = multipletests(segments["p_value"], method="holm")[1]
    np.testing.assert_allclose(segments["p_value_adjusted"], expected)
    widget(at.selectbox, "results__segment").set_value("platform").run()
    tables = [
        f.value.data if hasattr(f.value, "data") else f.value
        for f in at.dataframe
        if "Segment value" in (f.value.data if hasattr(f.value, "data") else f.value).columns
    ]
    assert tables
    assert set(tables[0]["Segment value"]) == set(DEMO["platform"])


@pytest.mark.parametrize("label", ["Variant column (which arm)", "Date or timestamp"])
def test_any_column_in_a_role_gives_results_or_a_sentence(label):
    at = run_page()
    options = next(s for s in at.selectbox if s.label == label).options
    for option in options:
        next(s for s in at.selectbox if s.label == label).set_value(option).run()
        assert not at.exception, (label, option, at.exception)
        if "analysis" in at.session_state:
            assert effects_table(at) is not None
        else:  # a sentence, and no readout of another mapping's numbers
            assert at.error, (label, option)
            with pytest.raises(AssertionError, match="no effects table"):
                effects_table(at)


def test_a_segment_with_thousands_of_values_is_refused_with_a_sentence():
    at = run_page()
    previous = at.session_state["analysis"]
    segments = next(m for m in at.multiselect if m.label.startswith("Segments"))
    assert "user_id" not in segments.options  # the unit id is taken
    segments.set_value(["revenue"]).run()
    assert not at.exception
    n = DEMO["revenue"].nunique()
    assert any(f"'revenue' has {n:,} different values" in e.value for e in at.error), at.error
    assert previous is not None
    assert "analysis" not in at.session_state


# --- the plan's analysis method, one story, the Bayesian view --------------------------------


def run_with_plan(plan) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["plan"] = plan
    at.run()
    assert not at.exception, at.exception
    return at


def sequential_plan(method: str):
    import dataclasses

    from abcore.planning import size_plan
    from ui.state import demo_plan

    plan = dataclasses.replace(demo_plan(), method=method)
    sizing = size_plan(plan)
    return dataclasses.replace(
        plan,
        planned_n_per_arm=sizing.method_n_control,
        planned_days=sizing.method_recommended_days,
    )


@pytest.mark.parametrize("method", ["fixed", "always_valid", "group_sequential"])
def test_the_plans_method_drives_the_table_and_the_page_says_so(method):
    import abcore

    plan = sequential_plan(method)
    at = run_with_plan(plan)
    result = at.session_state["analysis"]
    assert result.method == method
    notebook = abcore.analyze(
        ROOT / "sample_data" / "demo_experiment.parquet", variant="variant", plan=plan
    )
    ours = result.effects.set_index("metric")
    theirs = notebook.effects.set_index("metric")
    for col in ("rel_ci_low", "rel_ci_high", "p_value", "p_value_adjusted"):
        np.testing.assert_allclose(ours.loc[theirs.index, col], theirs[col], rtol=1e-9)
    assert result.recommendation.verdict == notebook.recommendation.verdict
    captions = "\n".join(c.value for c in at.caption)
    name = {
        "fixed": "fixed horizon",
        "always_valid": "always-valid",
        "group_sequential": "group-sequential",
    }[method]
    assert name in captions
    interval = {
        "fixed": "95% CI",
        "always_valid": "95% always-valid CI",
        "group_sequential": "95% group-sequential CI",
    }[method]
    assert any(c.startswith(interval) for c in effects_table(at).columns)


def test_headline_table_and_verdict_tell_one_story():
    at = run_page()
    info = "\n".join(i.value for i in at.info)
    assert "across every metric" not in info
    assert "**Success metric converted**" in info
    assert "**Guardrails**" in info
    assert "**Exploratory metrics**" in info
    verdict = at.session_state["analysis"].recommendation.label
    assert f"**Launch decision: {verdict}**" in info
    table = effects_table(at)
    assert list(dict.fromkeys(table["Role"])) == ["Success", "Guardrail", "Exploratory"]
    # the success row the headline calls significant is significant in the table
    assert row(table, "converted")["Result"].startswith("✔")
    captions = "\n".join(c.value for c in at.caption)
    assert "within each family" in captions


def test_lift_over_time_marks_the_first_day_the_sequence_excluded_zero():
    plan = sequential_plan("group_sequential")
    at = run_with_plan(plan)
    daily = at.session_state["analysis"].daily
    first = daily[daily["metric"] == "converted"]["first_day_excluding_zero"].iloc[0]
    text = "\n".join(m.value for m in at.markdown)
    assert f"first excluded zero on **{first:%b %d}**" in text
    assert "group-sequential boundary" in text
    day_tables = [d.value for d in at.dataframe if "Excludes 0" in list(d.value.columns)]
    assert day_tables
    assert "yes" in set(day_tables[0]["Excludes 0"])


def test_bayesian_toggle_shows_chance_to_beat_and_what_it_is_not():
    from abcore import bayes

    at = run_page()
    widget(at.toggle, "results__bayes").set_value(True).run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "Chance to beat control" in d.value.columns)
    result = at.session_state["analysis"]
    c = abcore_compare(result, "converted")
    expected = bayes.bayes_comparison(c).chance_to_beat
    shown = table[table["Metric"] == "converted"]["Chance to beat control"].iloc[0]
    assert shown == f"{expected:.1%}"
    text = "\n".join(m.value for m in at.markdown)
    assert "not 1 − p" in text
    # a proper prior shrinks the chance towards one half
    widget(at.radio, "results__prior").set_value("proper").run()
    widget(at.number_input, "results__prior_sd").set_value(1.0).run()
    table = next(d.value for d in at.dataframe if "Chance to beat control" in d.value.columns)
    shrunk = table[table["Metric"] == "converted"]["Chance to beat control"].iloc[0]
    assert float(shrunk.rstrip("%")) < float(shown.rstrip("%"))


def abcore_compare(result, metric):
    from abcore.compare import compare_metric, fixed_options

    return compare_metric(result.aggregates, metric, "treatment", fixed_options(result.options))


def test_first_day_sentence_when_no_day_excluded_zero():
    """Dates that never left zero come back as NaT, not NaN: a sentence, not a ValueError
    (seen in the browser on an A/A upload read at alpha 0.2)."""
    from ui.results_view import first_day_sentence

    days = pd.date_range("2026-03-02", periods=3)
    daily = pd.DataFrame({"day": days, "first_day_excluding_zero": pd.NaT})
    assert first_day_sentence(daily, "fixed").startswith("The interval has not excluded zero")
    daily["first_day_excluding_zero"] = days[1]
    assert "(day 2 of 3)" in first_day_sentence(daily, "fixed")
