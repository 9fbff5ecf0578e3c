"""Plan from your own data (abcore.estimate): estimates against pandas on the real files,
the unique-units curve and the duration it gives (planning.duration_from_curve)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from real_data import real

from abcore import config, planning
from abcore.errors import InfeasiblePlan, InputError
from abcore.estimate import NO_DATES, RATIO_OF_TOTALS, estimate
from abcore.ingest import connect, detect_schema, load
from abcore.model import Mapping, MetricMapping
from abcore.plan import ExperimentPlan, MetricSpec

DEMO = "sample_data/demo_experiment.csv"


@pytest.fixture(scope="module")
def con():
    return connect()


@pytest.fixture(scope="module")
def ab_data(con):
    path = real("ab_data.csv")
    ds = load(con, path)
    return ds, detect_schema(con, ds), pd.read_csv(path, parse_dates=["timestamp"])


@pytest.mark.parametrize("arm", ["control", None])
def test_ab_data_baseline_sd_and_units_match_pandas(con, ab_data, arm):
    ds, mapping, frame = ab_data
    est = estimate(con, ds, mapping, arm=arm)
    rows = frame if arm is None else frame[frame["group"] == arm]
    # a user converted if any of their rows converted (the readout's rollup)
    per_user = rows.groupby("user_id")["converted"].max()
    got = est.metric("converted")
    assert got.type == "binary"
    assert got.n == len(per_user)
    assert got.baseline == pytest.approx(per_user.mean(), rel=1e-12)
    assert got.sd == pytest.approx(per_user.std(ddof=1), rel=1e-9)
    assert est.arm == arm


def test_ab_data_curve_counts_each_user_once_on_their_first_day(con, ab_data):
    ds, mapping, frame = ab_data
    curve = estimate(con, ds, mapping, arm="control").curve
    first = frame.groupby("user_id")["timestamp"].min().dt.normalize()
    days = (first - first.min()).dt.days + 1
    expected = days.value_counts().sort_index().cumsum()
    assert curve.unique
    assert curve.column == "user_id"
    assert curve.days == tuple(range(1, 24))
    assert curve.days_in_file == 23
    assert curve.units == tuple(int(expected.loc[d]) for d in curve.days)
    # every arm counts towards traffic: the curve does not depend on the arm read
    assert curve.total == frame["user_id"].nunique()
    growth = (expected.loc[23] - expected.loc[23 - config.ESTIMATE_GROWTH_DAYS]) / 14
    assert curve.growth_per_day == pytest.approx(growth)
    assert (curve.first_day, curve.last_day) == ("2017-01-02", "2017-01-24")


def test_repeat_visitors_make_the_curve_sub_linear(con):
    rng = np.random.default_rng(7)
    # 2,000 users who each visit on several random days of 28: unique users saturate
    users = np.repeat(np.arange(2000), 5)
    day = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 28, users.size), "D")
    frame = pd.DataFrame({"uid": users, "ts": day, "spend": rng.exponential(10, users.size)})
    ds = load(con, frame)
    mapping = Mapping(unit="uid", timestamp="ts", metrics=[MetricMapping("spend", "continuous")])
    est = estimate(con, ds, mapping)
    units = np.array(est.curve.units)
    daily = np.diff(units, prepend=0)
    assert units[-1] == 2000
    assert daily[:7].mean() > 3 * daily[-7:].mean()  # new users dry up
    per_user = frame.groupby("uid")["spend"].sum()  # amounts add up per unit
    assert est.metric("spend").baseline == pytest.approx(per_user.mean())
    assert est.metric("spend").sd == pytest.approx(per_user.std(ddof=1))


def test_cookie_cats_estimates_without_a_curve(con):
    path = real("cookie_cats.csv")
    ds = load(con, path)
    est = estimate(con, ds, detect_schema(con, ds), arm="gate_30")
    frame = pd.read_csv(path)
    control = frame[frame["version"] == "gate_30"]
    rounds = est.metric("sum_gamerounds")
    assert rounds.type == "continuous"
    assert rounds.n == len(control)
    assert rounds.baseline == pytest.approx(control["sum_gamerounds"].mean())
    assert rounds.sd == pytest.approx(control["sum_gamerounds"].std(ddof=1))
    assert est.metric("retention_7").baseline == pytest.approx(control["retention_7"].mean())
    assert est.curve is None
    assert NO_DATES in est.notes


def test_udacity_daily_totals_give_a_rate_of_clicks_and_a_curve_of_clicks(con):
    path = real("udacity_free_trial") / "control_data.csv"
    ds = load(con, path)
    mapping = detect_schema(con, ds)
    est = estimate(con, ds, mapping, count_column="Clicks")
    frame = pd.read_csv(path, encoding="utf-8-sig")
    both = frame.dropna(subset=["Enrollments", "Clicks"])
    gross = est.metric("Enrollments/Clicks")
    # each click is a trial that enrolls or not: the units are clicks
    assert gross.type == "binary"
    assert gross.n == both["Clicks"].sum()
    assert gross.baseline == pytest.approx(both["Enrollments"].sum() / both["Clicks"].sum())
    assert gross.baseline == pytest.approx(0.2189, abs=1e-4)  # the course's control value
    curve = est.curve
    assert not curve.unique
    assert curve.column == "Clicks"
    assert curve.units == tuple(int(x) for x in frame["Clicks"].cumsum())
    assert curve.first_day == "Sat, Oct 11"
    assert curve.days_in_file == 37
    assert any("daily totals, not unit ids" in n for n in est.notes)


def test_a_ratio_of_totals_says_it_needs_unit_rows(con):
    ds = load(con, real("udacity_free_trial") / "control_data.csv")
    mapping = Mapping(
        shape="daily",
        timestamp="Date",
        day_label=True,
        n_column="Clicks",
        metrics=[MetricMapping("gross", "ratio", numerator="Enrollments", denominator="Clicks")],
    )
    est = estimate(con, ds, mapping)
    assert est.metric("gross").baseline is None
    assert est.metric("gross").note == RATIO_OF_TOTALS


@pytest.fixture(scope="module")
def demo(con):
    ds = load(con, DEMO)
    return ds, pd.read_csv(DEMO)


def test_ratio_delta_method_variance_per_unit(con, demo):
    ds, frame = demo
    mapping = Mapping(
        unit="user_id",
        metrics=[MetricMapping("ctr", "ratio", numerator="clicks", denominator="sessions")],
    )
    got = estimate(con, ds, mapping).metric("ctr")
    y, x = frame["clicks"], frame["sessions"]
    ratio = y.sum() / x.sum()
    # delta method: Var(Y/X) per unit = (var_y - 2 R cov_xy + R^2 var_x) / mean_x^2
    var = (y.var() - 2 * ratio * np.cov(y, x)[0, 1] + ratio**2 * x.var()) / x.mean() ** 2
    assert got.type == "ratio"
    assert got.baseline == pytest.approx(ratio)
    assert got.variance == pytest.approx(var)
    assert got.sd == pytest.approx(np.sqrt(var))
    # the same number as the linearised values' sample variance
    linear = (y - ratio * x) / x.mean()
    assert got.variance == pytest.approx(linear.var(ddof=1))


def test_cuped_correlation_matches_pandas_and_ols(con, demo):
    ds, frame = demo
    est = estimate(con, ds, detect_schema(con, ds), arm="control")
    control = frame[frame["variant"] == "control"]
    revenue = est.metric("revenue")
    assert revenue.covariates == ("pre_revenue",)
    assert revenue.correlation == pytest.approx(control["revenue"].corr(control["pre_revenue"]))
    assert revenue.variance_reduction == pytest.approx(revenue.correlation**2)
    two = Mapping(
        unit="user_id",
        metrics=[MetricMapping("revenue", "continuous", covariates=("pre_revenue", "sessions"))],
    )
    got = estimate(con, ds, two).metric("revenue")
    # statsmodels 0.15 OLS(revenue ~ 1 + pre_revenue + sessions).rsquared
    fit = sm.OLS(frame["revenue"], sm.add_constant(frame[["pre_revenue", "sessions"]])).fit()
    assert got.correlation**2 == pytest.approx(fit.rsquared, rel=1e-9)


def test_ratio_cuped_correlates_the_linearised_ratios(con):
    rng = np.random.default_rng(3)
    n = 5000
    pre_x = rng.poisson(5, n) + 1
    pre_y = rng.binomial(pre_x, 0.3)
    x = pre_x + rng.poisson(1, n)
    y = rng.binomial(x, 0.1 + 0.6 * pre_y / pre_x)
    frame = pd.DataFrame({"u": np.arange(n), "y": y, "x": x, "py": pre_y, "px": pre_x})
    ds = load(con, frame)
    metric = MetricMapping("r", "ratio", numerator="y", denominator="x", covariates=("py", "px"))
    got = estimate(con, ds, Mapping(unit="u", metrics=[metric])).metric("r")
    lin = (frame.y - frame.y.sum() / frame.x.sum() * frame.x) / frame.x.mean()
    pre = (frame.py - frame.py.sum() / frame.px.sum() * frame.px) / frame.px.mean()
    assert got.correlation == pytest.approx(lin.corr(pre), rel=1e-9)
    assert got.correlation > 0.3


def test_curve_is_bounded_and_exact_at_its_points(con):
    days = pd.date_range("2020-01-01", periods=1000, freq="D")
    frame = pd.DataFrame({"u": np.arange(3000), "d": np.repeat(days, 3), "v": 1.0})
    ds = load(con, frame)
    mapping = Mapping(unit="u", timestamp="d", metrics=[MetricMapping("v", "continuous")])
    curve = estimate(con, ds, mapping).curve
    assert len(curve.days) == config.ESTIMATE_CURVE_POINTS
    assert curve.days[-1] == 1000
    assert curve.units[-1] == 3000
    assert curve.units == tuple(3 * d for d in curve.days)
    assert curve.growth_per_day == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("kwargs", "mapping", "match"),
    [
        ({"arm": "control"}, Mapping(metrics=[MetricMapping("converted", "binary")]), "variant"),
        ({}, Mapping(metrics=[MetricMapping("nope", "binary")]), "'nope' is not in this file"),
        ({}, Mapping(), "No metric is chosen"),
        (
            {"arm": "ghost"},
            Mapping(variant="group", metrics=[MetricMapping("converted", "binary")]),
            "No row of arm 'ghost'",
        ),
    ],
)
def test_bad_input_is_a_sentence(con, ab_data, kwargs, mapping, match):
    ds, *_ = ab_data
    with pytest.raises(InputError, match=match):
        estimate(con, ds, mapping, **kwargs)


# ---- the duration from the curve --------------------------------------------------------------


def _plan(baseline: float, mde: float, exposure: float = 1.0) -> ExperimentPlan:
    return ExperimentPlan(
        metrics=(MetricSpec("converted", baseline=baseline, mde=mde),), exposure=exposure
    )


def test_duration_is_the_first_day_the_unique_users_reach_the_size(con, ab_data):
    ds, mapping, frame = ab_data
    est = estimate(con, ds, mapping, arm="control")
    m = est.metric("converted")
    plan = _plan(m.baseline, 0.05, exposure=0.5)
    sizing = planning.size_plan(plan)
    curve = est.curve
    got = planning.duration_from_curve(
        plan, curve.days, curve.units, growth_per_day=curve.growth_per_day, sizing=sizing
    )
    first = frame.groupby("user_id")["timestamp"].min().dt.normalize()
    cumulative = ((first - first.min()).dt.days + 1).value_counts().sort_index().cumsum()
    expected = int(cumulative.index[np.argmax(cumulative.to_numpy() * 0.5 >= sizing.n_total)])
    assert not got.extrapolated
    assert got.days == expected
    assert got.recommended_days == -(-expected // 7) * 7
    assert f"day {expected} of its 23" in got.sentence
    # adopting its daily rate gives the plan the same duration
    adopted = dataclasses.replace(plan, daily_units=got.daily_units)
    assert planning.size_plan(adopted).days == got.days


def test_duration_past_the_file_extrapolates_the_last_weeks_and_says_so(con, ab_data):
    ds, mapping, _ = ab_data
    curve = estimate(con, ds, mapping).curve
    plan = _plan(0.12, 0.02)  # about 1.7 million users: past the file's 290,584
    sizing = planning.size_plan(plan)
    got = planning.duration_from_curve(
        plan, curve.days, curve.units, growth_per_day=curve.growth_per_day, sizing=sizing
    )
    expected = 23 + int(np.ceil((sizing.n_total - curve.total) / curve.growth_per_day))
    assert got.extrapolated
    assert got.days == expected
    assert "extrapolation" in got.sentence
    assert "last weeks' growth" in got.sentence


def test_duration_past_the_horizon_is_infeasible():
    plan = _plan(0.12, 0.001)
    with pytest.raises(InfeasiblePlan, match="not feasible"):
        planning.duration_from_curve(plan, [1, 2], [1000, 1500], growth_per_day=500)
    with pytest.raises(InfeasiblePlan, match="stopped growing"):
        planning.duration_from_curve(_plan(0.1, 0.05), [1, 2], [1000, 1000], growth_per_day=0)


@pytest.mark.parametrize(
    ("days", "units", "match"),
    [([], [], "same, non-zero length"), ([1, 1], [2, 3], "rise from 1"), ([1, 2], [5, 3], "fall")],
)
def test_duration_from_a_bad_curve_names_it(days, units, match):
    with pytest.raises(ValueError, match=match):
        planning.duration_from_curve(_plan(0.1, 0.05), days, units, growth_per_day=1.0)


def test_baseline_reads_every_unit_and_cuped_only_those_with_a_covariate(con):
    rng = np.random.default_rng(11)
    n = 4000
    pre = rng.gamma(2.0, 5.0, n)
    y = pre * 0.8 + rng.gamma(2.0, 5.0, n)
    pre[: n // 2] = np.nan  # half the users are new: no pre-period value
    y[: n // 2] += 10.0  # and new users spend more
    frame = pd.DataFrame({"u": np.arange(n), "y": y, "pre": pre})
    ds = load(con, frame)
    metric = MetricMapping("y", "continuous", covariate="pre")
    got = estimate(con, ds, Mapping(unit="u", metrics=[metric])).metric("y")
    assert got.n == n
    assert got.baseline == pytest.approx(frame["y"].mean())
    assert got.sd == pytest.approx(frame["y"].std(ddof=1))
    assert got.correlation == pytest.approx(frame["y"].corr(frame["pre"]))  # pairwise complete
    assert got.covariates == ("pre",)
