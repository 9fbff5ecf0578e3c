"""Validity beyond SRM: simulated A/A, pre-period balance, trends, duration, exclusions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import abcore
from abcore import ingest, validity
from sample_data.generate import make_experiment, make_scenario, make_session_level


def _load(df):
    con = ingest.connect()
    ds = ingest.load(con, df)
    return con, ds, ingest.detect_schema(con, ds)


@pytest.fixture(scope="module")
def demo():
    con, ds, mapping = _load(make_scenario("demo"))
    return con, ds, mapping, ingest.compute_stats(con, ds, mapping)


@pytest.mark.parametrize("metric", ["converted", "revenue", "page_load_ms"])
def test_simulated_aa_is_calibrated_on_a_well_behaved_metric(demo, metric):
    con, ds, mapping, _ = demo
    result = validity.simulate_aa(con, ds, mapping, metric, simulations=2_000)
    assert result.simulations == 2_000
    assert result.ci_low <= 0.05 <= result.ci_high
    assert result.status == "pass"
    assert result.p_values.shape == (2_000,)


def test_simulated_aa_flags_a_metric_analysed_at_the_wrong_unit():
    con, ds, mapping = _load(make_session_level())
    assert mapping.unit == "user_id"
    naive = dataclasses.replace(mapping, aggregate_units=False)  # every session as a unit
    wrong = validity.simulate_aa(con, ds, naive, "converted", randomization_unit="user_id")
    right = validity.simulate_aa(con, ds, mapping, "converted")
    assert wrong.status == "fail"
    assert wrong.false_positive_rate > 0.12
    assert "not independent" in wrong.message()
    assert right.ci_low <= 0.05 <= right.ci_high


def test_aa_sql_is_pure_and_parameterised(demo):
    _, ds, mapping, _ = demo
    sql, params = validity.aa_simulation_sql(ds.table, mapping, "revenue", simulations=50, seed=3)
    assert (sql, params) == validity.aa_simulation_sql(
        ds.table, mapping, "revenue", simulations=50, seed=3
    )
    assert "'control'" not in sql
    assert sql.count("?") == 3
    assert params == ["control", 50, 3]


def test_preperiod_balance_catches_a_broken_randomization():
    df = make_experiment(20_000, seed=4)
    bad = df.copy()
    treated = bad["variant"] == "treatment"
    bad.loc[treated, "pre_revenue"] = bad.loc[treated, "pre_revenue"] * 1.5 + 2
    for frame, status in ((df, "pass"), (bad, "fail")):
        con, ds, mapping = _load(frame)
        checks = validity.preperiod_balance(ingest.compute_stats(con, ds, mapping))
        assert [c.status for c in checks] == [status]


def test_novelty_is_detected_and_a_stable_effect_is_not():
    con, ds, mapping = _load(make_scenario("novelty"))
    trend = validity.effect_trend(ingest.compute_stats(con, ds, mapping), "converted")
    assert trend.pattern == "novelty"
    assert trend.slope < 0
    early = trend.by_day["rel_effect"].iloc[:3].mean()
    late = trend.by_day["rel_effect"].iloc[-3:].mean()
    assert early > late
    assert float(trend.steady_state.rel_effect) < float(trend.overall.rel_effect)
    con, ds, mapping = _load(make_scenario("clean_win"))
    stable = validity.effect_trend(ingest.compute_stats(con, ds, mapping), "converted")
    assert stable.pattern == "stable"


def test_trend_slope_matches_weighted_least_squares(demo):
    agg = demo[3]
    trend = validity.effect_trend(agg, "page_load_ms", direction="decrease")
    d = trend.by_day
    x = np.arange(len(d), dtype=float)
    w = 1 / d["log_se"].to_numpy() ** 2
    design = np.column_stack([np.ones_like(x), x]) * np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(design, d["log_lift"].to_numpy() * np.sqrt(w), rcond=None)
    assert trend.slope == pytest.approx(coef[1], rel=1e-8)
    # statsmodels' WLS with known variances (scale fixed at 1)
    fit = sm.WLS(d["log_lift"].to_numpy(), sm.add_constant(x), weights=w).fit()
    assert trend.slope_se == pytest.approx(fit.bse[1] / np.sqrt(fit.scale), rel=1e-8)


def test_srm_by_day_and_segment(demo):
    agg = demo[3]
    shares = {"control": 0.5, "treatment": 0.5}
    by_day = validity.srm_by_day(agg, shares)
    assert len(by_day) == 14
    assert by_day["n_control"].sum() == agg.counts()["control"]
    by_segment = validity.srm_by_segment(agg, shares)
    assert set(by_segment["segment"]) == {"platform", "device"}
    assert (by_segment["p_value_adjusted"] >= by_segment["p_value"]).all()


def test_srm_localised_to_one_platform():
    df = make_experiment(40_000, seed=9)
    lost = (df["variant"] == "treatment") & (df["platform"] == "ios")
    df = df[~(lost & (np.arange(len(df)) % 5 == 0))]
    con, ds, mapping = _load(df)
    seg = validity.srm_by_segment(
        ingest.compute_stats(con, ds, mapping), {"control": 0.5, "treatment": 0.5}
    )
    platforms = seg[seg["segment"] == "platform"].set_index("segment_value")["status"]
    assert platforms.to_dict() == {"android": "pass", "ios": "fail", "web": "pass"}


def test_duration_checks():
    con, ds, mapping = _load(make_experiment(5_000, days=10, seed=2))
    agg = ingest.compute_stats(con, ds, mapping)
    checks = {
        c.name: c for c in validity.duration_checks(agg, planned_n_per_arm=10_000, planned_days=14)
    }
    assert checks["Duration"].status == "warn"
    assert "Stop at 14 days" in checks["Duration"].message
    assert checks["Planned sample size"].status == "warn"
    assert checks["Peeking"].status == "warn"


@pytest.mark.parametrize(("days", "said"), [(7, "(1 whole week)."), (14, "(2 whole weeks).")])
def test_whole_weeks_are_counted_in_words(days, said):
    con, ds, mapping = _load(make_experiment(3_000, days=days, seed=2))
    check = validity.duration_checks(ingest.compute_stats(con, ds, mapping))[0]
    assert (check.name, check.status) == ("Duration", "pass")
    assert check.message.endswith(said)


def test_excluding_days_equals_dropping_those_units(demo):
    _, _, _, agg = demo
    outage = list(agg.days[3:5])
    trimmed = validity.exclude_days(agg, outage)
    df = make_scenario("demo")
    kept = df[~df["first_exposure"].dt.normalize().isin(pd.to_datetime(outage))]
    direct = abcore.analyze(kept, variant="variant")
    again = abcore.analyze_aggregates(trimmed)
    a = again.effects.set_index("metric")
    b = direct.effects.set_index("metric")
    for metric in ("converted", "page_load_ms"):
        assert a.loc[metric, "p_value"] == pytest.approx(b.loc[metric, "p_value"], rel=1e-9)
    with pytest.raises(ValueError, match="at least one day"):
        validity.exclude_days(agg, list(agg.days))
