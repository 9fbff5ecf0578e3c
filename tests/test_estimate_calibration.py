"""A plan made from a file's estimates delivers its power on data drawn like that file.

Seeded, vectorised: each test bootstraps users from a real file (the arm read as the
pre-period), adds the planned effect to one arm, runs the planned sample size many times and
counts the rejections. The rate must sit within three binomial standard errors of the plan's
power: a wrong sd (or a wrong delta-method variance) moves it by far more (the sd off by 10%
moves 80% power to 71% or 87%).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from real_data import real
from scipy import stats

from abcore import planning
from abcore.estimate import estimate
from abcore.ingest import connect, detect_schema, load
from abcore.model import Mapping, MetricMapping
from abcore.plan import ExperimentPlan, MetricSpec

REPS = 4000
CHUNK = 200


def _within_binomial_error(rejections: int, target: float) -> None:
    rate = rejections / REPS
    se = np.sqrt(target * (1 - target) / REPS)
    assert abs(rate - target) < 3 * se, (rate, target, se)


def _plan(name: str, est, mde: float) -> tuple[ExperimentPlan, int]:
    spec = MetricSpec(name, type=est.type, baseline=est.baseline, sd=est.sd, mde=mde)
    plan = ExperimentPlan(metrics=(spec,))
    return plan, planning.size_plan(plan).n_control


def test_conversion_plan_from_ab_data_control_delivers_its_power():
    con = connect()
    path = real("ab_data.csv")
    ds = load(con, path)
    est = estimate(con, ds, detect_schema(con, ds), arm="control").metric("converted")
    plan, n = _plan("converted", est, 0.10)
    frame = pd.read_csv(path, usecols=["user_id", "group", "converted"])
    users = frame[frame["group"] == "control"].groupby("user_id")["converted"].max().to_numpy()
    p = users.mean()
    lift = p * 0.10 / (1 - p)  # a non-converter converts with this chance: the rate rises 10%
    rng = np.random.default_rng(20261207)
    # bootstrapping n users of 0/1 values is a binomial draw of their conversions
    control = rng.binomial(n, p, REPS)
    treated = rng.binomial(n, p, REPS)
    treated = treated + rng.binomial(n - treated, lift)
    pooled = (control + treated) / (2 * n)
    z = (treated - control) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    rejections = int(np.sum(2 * stats.norm.sf(np.abs(z)) < plan.alpha))
    _within_binomial_error(rejections, plan.power)


def test_mean_plan_from_cookie_cats_delivers_its_power():
    con = connect()
    path = real("cookie_cats.csv")
    ds = load(con, path)
    est = estimate(con, ds, detect_schema(con, ds), arm="gate_40").metric("sum_gamerounds")
    plan, n = _plan("sum_gamerounds", est, 0.10)
    frame = pd.read_csv(path, usecols=["version", "sum_gamerounds"])
    values = frame.loc[frame["version"] == "gate_40", "sum_gamerounds"].to_numpy(float)
    assert est.sd == pytest.approx(values.std(ddof=1))
    rng = np.random.default_rng(20261208)
    rejections = 0
    for _ in range(REPS // CHUNK):
        a = values[rng.integers(0, values.size, (CHUNK, n))]
        b = values[rng.integers(0, values.size, (CHUNK, n))] + 0.10 * est.baseline
        p_values = stats.ttest_ind(b, a, axis=1, equal_var=False).pvalue
        rejections += int(np.sum(p_values < plan.alpha))
    _within_binomial_error(rejections, plan.power)


def test_ratio_plan_from_the_delta_method_delivers_its_power():
    con = connect()
    ds = load(con, "sample_data/demo_experiment.csv")
    mapping = Mapping(
        variant="variant",
        unit="user_id",
        metrics=[MetricMapping("ctr", "ratio", numerator="clicks", denominator="sessions")],
    )
    est = estimate(con, ds, mapping, arm="control").metric("ctr")
    plan, n = _plan("ctr", est, 0.05)
    frame = pd.read_csv("sample_data/demo_experiment.csv")
    control = frame[frame["variant"] == "control"]
    y, x = control["clicks"].to_numpy(float), control["sessions"].to_numpy(float)
    rng = np.random.default_rng(20261209)
    rejections = 0
    for _ in range(REPS // CHUNK):
        arms = []
        for lift in (0.0, 0.05 * est.baseline):
            # the treatment's clicks per session higher by the mde: lift more clicks in
            # every session, which moves the ratio and leaves its spread as the plan assumes
            idx = rng.integers(0, y.size, (CHUNK, n))
            ys, xs = y[idx] + lift * x[idx], x[idx]
            my, mx = ys.mean(axis=1), xs.mean(axis=1)
            ratio = my / mx
            cov = ((ys - my[:, None]) * (xs - mx[:, None])).sum(axis=1) / (n - 1)
            var = ys.var(axis=1, ddof=1) - 2 * ratio * cov + ratio**2 * xs.var(axis=1, ddof=1)
            arms.append((ratio, var / (n * mx**2)))
        (r_c, v_c), (r_t, v_t) = arms
        z = (r_t - r_c) / np.sqrt(v_c + v_t)
        rejections += int(np.sum(2 * stats.norm.sf(np.abs(z)) < plan.alpha))
    _within_binomial_error(rejections, plan.power)
