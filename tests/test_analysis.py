"""abcore.analyze end to end: the same numbers as the stats core on pandas-computed counts."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from real_data import REAL, real

import abcore
from abcore import ExperimentPlan, InputError, MetricSpec, stats
from abcore.analysis import analyze_aggregates
from abcore.model import Aggregates
from sample_data.generate import make_experiment


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_experiment(6_000, days=7, seed=5)


@pytest.fixture(scope="module")
def result(frame):
    return abcore.analyze(frame, variant="variant", covariates={"revenue": "pre_revenue"})


def test_binary_metric_equals_the_stats_core_on_pandas_counts(frame, result):
    counts = frame.groupby("variant")["converted"].agg(["size", "sum"])
    expected = stats.compare_proportions(
        counts.loc["control", "size"],
        counts.loc["control", "sum"],
        counts.loc["treatment", "size"],
        counts.loc["treatment", "sum"],
    )
    row = result.effects.set_index("metric").loc["converted"]
    assert row["arm"] == "treatment"
    for field in ("control_mean", "treatment_mean", "abs_effect", "rel_ci_low", "p_value"):
        assert row[field] == pytest.approx(getattr(expected, field), rel=1e-9)


def test_continuous_metric_uses_cuped_with_its_covariate(frame, result):
    row = result.effects.set_index("metric").loc["revenue"]
    assert row["method"] == "cuped_welch_t"
    assert 0.2 < row["variance_reduction"] < 0.6
    plain = abcore.analyze(frame, variant="variant", metrics=["revenue"], cuped=False)
    raw = plain.effects.iloc[0]
    g = frame.groupby("variant")["revenue"]
    welch = stats.compare_means(
        g.size()["control"],
        g.mean()["control"],
        g.std()["control"],
        g.size()["treatment"],
        g.mean()["treatment"],
        g.std()["treatment"],
    )
    assert raw["p_value"] == pytest.approx(welch.p_value, rel=1e-9)
    width = row["abs_ci_high"] - row["abs_ci_low"]
    assert width < raw["abs_ci_high"] - raw["abs_ci_low"]


def test_metrics_default_to_every_numeric_non_role_column(result):
    assert set(result.effects["metric"]) == {
        "converted",
        "revenue",
        "sessions",
        "clicks",
        "page_load_ms",
    }
    assert result.mapping.unit == "user_id"
    assert result.mapping.timestamp == "first_exposure"


def test_adjusted_p_values_are_holm_across_the_table(result):
    holm = stats.adjust_p_values(result.effects["p_value"], "holm")
    np.testing.assert_allclose(result.effects["p_value_adjusted"], holm)
    assert (result.effects["significant"] == (result.effects["p_value_adjusted"] < 0.05)).all()


def test_last_cumulative_day_equals_the_overall_effect(result):
    daily = result.daily[result.daily["metric"] == "converted"]
    overall = result.effects.set_index("metric").loc["converted"]
    assert daily["day"].nunique() == 7
    assert daily["n_control"].iloc[-1] == overall["n_control"]
    assert daily["rel_effect"].iloc[-1] == pytest.approx(overall["rel_effect"])
    assert daily["units_control"].sum() == overall["n_control"]


def test_segments_cover_every_value_and_adjust(frame, result):
    seg = result.segments
    assert set(seg["segment"]) == {"platform", "device"}
    platforms = set(seg.loc[seg["segment"] == "platform", "segment_value"])
    assert platforms == set(frame["platform"].unique())
    assert (seg["p_value_adjusted"] >= seg["p_value"] - 1e-12).all()


def test_srm_uses_the_plans_split(frame):
    plan = ExperimentPlan(expected_shares={"control": 0.8, "treatment": 0.2})
    a = abcore.analyze(frame, variant="variant", metrics=["converted"], plan=plan)
    assert a.srm.status == "fail"
    assert a.checks[0].name == "Sample ratio"
    assert a.checks[0].status == "fail"


def test_share_link_aggregates_reproduce_the_effects(result):
    agg = Aggregates.from_dict(result.aggregates.to_dict())
    again = analyze_aggregates(agg)
    pd.testing.assert_frame_equal(again.effects, result.effects)


def test_several_arms_and_a_chosen_control():
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "arm": rng.choice(["B", "A", "C"], 3_000),
            "clicked": rng.integers(0, 2, 3_000),
        }
    )
    a = abcore.analyze(df, variant="arm", control="B")
    assert list(a.effects["arm"]) == ["A", "C"]
    assert a.aggregates.control == "B"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variant": "nope"}, "variant column 'nope' is not in the file"),
        ({"variant": "variant", "metrics": ["height"]}, "metric 'height' is not"),
        ({"variant": "variant", "control": "ctrl"}, "ctrl"),
        ({"variant": "variant", "expected_shares": [0.5]}, "expected_shares has 1 shares"),
    ],
)
def test_bad_calls_raise_input_errors(frame, kwargs, message):
    with pytest.raises(InputError, match=message):
        abcore.analyze(frame.head(2_000), **kwargs)


def test_cookie_cats_published_numbers():
    real("cookie_cats.csv")
    a = abcore.analyze(
        REAL / "cookie_cats.csv", variant="version", metrics=["retention_1", "retention_7"]
    )
    eff = a.effects.set_index("metric")
    assert eff.loc["retention_7", "control_mean"] == pytest.approx(0.1902, abs=5e-5)
    assert eff.loc["retention_7", "treatment_mean"] == pytest.approx(0.1820, abs=5e-5)
    assert eff.loc["retention_7", "p_value"] < 0.05
    assert eff.loc["retention_1", "p_value"] > 0.05
    assert a.srm.status == "warn"
    assert a.srm.p_value == pytest.approx(0.0086, abs=1e-4)


def test_ab_data_flags_users_in_both_arms():
    real("ab_data.csv")
    a = abcore.analyze(REAL / "ab_data.csv", variant="group", metrics=["converted"])
    leak = next(c for c in a.checks if c.name == "Units in more than one arm")
    assert leak.status == "fail"
    assert "1,895" in leak.message


def test_plan_metrics_docstring_example_runs():
    plan = ExperimentPlan(metrics=(MetricSpec("converted", baseline=0.1, mde=0.05),))
    df = make_experiment(2_000, days=3, seed=1)
    a = abcore.analyze(df, variant="variant", metrics=["converted"], plan=plan)
    assert a.plan is plan


def test_a_file_read_in_place_whose_units_repeat_after_its_first_rows(tmp_path, monkeypatch):
    # Sorted by day: the first rows hold each user once, the rest of the file repeats them.
    # The statistics' hash sample of ids sees the repeats, so analyze detects again with every
    # id counted, adds each user's rows up and gives what a copy of the file gives.
    monkeypatch.setattr(abcore.config, "INGEST_SAMPLE_ROWS", 300)
    df = make_experiment(1_500, days=7, seed=8)
    later = df.sample(600, random_state=8).assign(
        first_exposure=lambda d: d["first_exposure"] + pd.Timedelta(days=7)
    )
    rows = pd.concat([df, later], ignore_index=True).sort_values("first_exposure")
    path = tmp_path / "repeats.parquet"
    rows.to_parquet(path, index=False)
    kwargs = {"variant": "variant", "metrics": ["converted", "revenue"]}
    read_in_place, copied = abcore.analyze(path, **kwargs), abcore.analyze(rows, **kwargs)
    assert read_in_place.aggregates.mapping.aggregate_units
    assert read_in_place.aggregates.mapping == copied.aggregates.mapping
    pd.testing.assert_frame_equal(read_in_place.effects, copied.effects, rtol=1e-12)
    assert [c.message for c in read_in_place.checks] == [c.message for c in copied.checks]


def test_the_unit_check_of_a_large_file_says_it_looked_at_a_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(abcore.config, "INGEST_SAMPLE_ROWS", 300)
    monkeypatch.setattr(abcore.config, "UNIT_CHECK_SAMPLE", 200)
    path = tmp_path / "clean.csv"
    make_experiment(2_000, days=7, seed=8).to_csv(path, index=False)
    a = abcore.analyze(path, variant="variant", metrics=["converted"])
    check = next(c for c in a.checks if c.name == "Units in more than one arm")
    assert check.status == "pass"
    assert re.search(r"among \d{3} of the 2,000 units, a sample picked by a hash", check.message)


def test_units_without_a_date_or_segment_value_count_overall_only():
    df = make_experiment(3_000, days=5, seed=4)
    df.loc[df.index[:40], "first_exposure"] = pd.NaT
    df.loc[df.index[40:90], "platform"] = None
    a = abcore.analyze(df, variant="variant", metrics=["converted"], segments=["platform"])
    agg = a.aggregates
    assert sum(agg.counts().values()) == 3_000
    with pytest.raises(ValueError, match="variant must be one of"):
        agg.sample_mean("converted", "control", day=pd.NaT)
    with pytest.raises(ValueError, match="variant must be one of"):
        agg.sample_mean("converted", "control", segment="platform", value=None)
    assert set(a.segments["segment_value"]) == {"android", "ios", "web"}
    dated = df.dropna(subset=["first_exposure"])
    days = a.daily[a.daily["day"].notna()]
    assert days["n_control"].max() == (dated["variant"] == "control").sum()
