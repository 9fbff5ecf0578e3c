"""Regression adjustment through the readout: the mapping's ``covariates``, the file path
(DuckDB SQL), the warehouse query, share links and their limits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import abcore
from abcore import InputError, share
from abcore.compare import compare_metric
from abcore.limits import check_results_payload
from abcore.model import Aggregates, Mapping, MetricMapping, ReadoutOptions
from abcore.sql import sufficient_stats_sql
from abcore.validity import preperiod_balance
from tests.test_warehouse import DEMO, DEMO_ROLES, _duckdb_readout, assert_same_readout

REG_METRICS = [
    MetricMapping("converted", "binary", covariates=["pre_revenue", "sessions"]),
    MetricMapping("revenue", "continuous", covariates=["pre_revenue", "sessions", "page_load_ms"]),
    MetricMapping(
        "ctr",
        "ratio",
        numerator="clicks",
        denominator="sessions",
        covariates=["pre_revenue", "page_load_ms"],
    ),
    MetricMapping(
        "load", "ratio", numerator="page_load_ms", denominator="sessions", covariate="pre_revenue"
    ),
    MetricMapping("page_load_ms", "continuous", covariate="pre_revenue"),
]


def _three_covariates(n: int = 6_000, seed: int = 4, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal([10.0, 5.0, 1.0], [[4, 1, 0.5], [1, 2, 0.3], [0.5, 0.3, 1]], n)
    arm = rng.choice(["control", "treatment"], n)
    y = 3 + x @ np.array([0.8, -0.5, 1.2]) + rng.normal(0, 2, n) + 0.2 * (arm == "treatment")
    day = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 7, n), unit="D")
    frame = pd.DataFrame(
        {"uid": np.arange(n), "arm": arm, "ts": day, "seg": rng.choice(list("pqr"), n),
         "y": y + shift, "x1": x[:, 0] + shift, "x2": x[:, 1], "x3": x[:, 2]}
    )  # fmt: skip
    frame.loc[rng.choice(n, 50, replace=False), "x2"] = np.nan  # incomplete rows drop out
    return frame


ROLES_3 = dict(
    variant="arm",
    control="control",
    unit="uid",
    timestamp="ts",
    segments=["seg"],
    metrics=[MetricMapping("y", "continuous", covariates=["x1", "x2", "x3"])],
)


def test_file_path_equals_statsmodels_ols_with_three_covariates() -> None:
    frame = _three_covariates()
    got = abcore.analyze(frame, **ROLES_3).effects.iloc[0]
    rows = frame.dropna()
    design = np.column_stack(
        [np.ones(len(rows)), (rows["arm"] == "treatment").astype(float), rows[["x1", "x2", "x3"]]]
    )
    fit = sm.OLS(rows["y"].to_numpy(), design).fit()
    assert got["abs_effect"] == pytest.approx(fit.params[1], abs=1e-9)
    low, high = fit.conf_int()[1]
    assert (got["abs_ci_low"], got["abs_ci_high"]) == pytest.approx((low, high), abs=1e-9)
    assert got["p_value"] == pytest.approx(fit.pvalues[1], abs=1e-12)


def test_warehouse_equals_file_path_with_three_covariates() -> None:
    frame = _three_covariates()
    ref = abcore.analyze(frame, **ROLES_3)
    got = _duckdb_readout(frame, ref.aggregates.mapping)
    assert_same_readout(got, ref)
    assert set(got.effects["method"]) == {"ols_adjusted"}


def test_a_large_mean_keeps_the_adjustment_in_both_paths() -> None:
    """The metric and a covariate 1e6 above their spread: the metric's sums are taken around
    its shift, so the effect and interval stay those of the unshifted data."""
    small = abcore.analyze(_three_covariates(), **ROLES_3).effects.iloc[0]
    frame = _three_covariates(shift=1e6)
    large = abcore.analyze(frame, **ROLES_3)
    row = large.effects.iloc[0]
    for col in ("abs_effect", "abs_ci_low", "abs_ci_high"):
        assert row[col] == pytest.approx(small[col], rel=1e-6), col
    assert_same_readout(_duckdb_readout(frame, large.aggregates.mapping), large, rtol=1e-7)


def test_demo_with_covariates_and_ratio_cuped_equals_the_file_path() -> None:
    roles = {**DEMO_ROLES, "metrics": REG_METRICS}
    ref = abcore.analyze(DEMO, **roles)
    got = _duckdb_readout(pd.read_csv(DEMO, parse_dates=["first_exposure"]), ref.aggregates.mapping)
    assert_same_readout(got, ref)
    effects = ref.effects.set_index("metric")
    assert effects.loc["revenue", "method"] == "ols_adjusted"
    assert effects.loc["ctr", "method"] == "cuped_delta_ratio"
    assert effects.loc["page_load_ms", "method"] == "cuped_welch_t"  # one covariate: as before


def test_cuped_off_reads_the_unadjusted_metric_on_the_same_units() -> None:
    ref = abcore.analyze(DEMO, **{**DEMO_ROLES, "metrics": REG_METRICS})
    agg = ref.aggregates
    off = ReadoutOptions(cuped=False)
    assert compare_metric(agg, "revenue", "treatment", off).method == "welch_t"
    assert compare_metric(agg, "ctr", "treatment", off).method == "delta_ratio"
    plain = abcore.analyze(DEMO, **DEMO_ROLES).aggregates
    a = compare_metric(agg, "ctr", "treatment", off)
    b = compare_metric(plain, "ctr", "treatment", off)
    assert a.abs_effect == pytest.approx(b.abs_effect, rel=1e-12)  # demo has no missing values


def test_one_covariate_in_a_list_is_the_old_mapping() -> None:
    old = MetricMapping("revenue", "continuous", covariate="pre_revenue")
    assert MetricMapping("revenue", "continuous", covariates=["pre_revenue"]) == old
    assert old.to_dict() == {"name": "revenue", "kind": "continuous", "column": "revenue",
                             "covariate": "pre_revenue"}  # fmt: skip
    assert old.stat_fields == ("n", "sum", "sum_sq", "pair_n", "sum_y", "sum_y_sq", "sum_x",
                               "sum_x_sq", "sum_xy")  # fmt: skip
    several = MetricMapping("r", "continuous", covariate="a", covariates=["b", "a"])
    assert several.covariates == ("a", "b")
    assert several.covariate is None
    assert MetricMapping.from_dict(json.loads(json.dumps(several.to_dict()))) == several
    with pytest.raises(ValueError, match="covariates must be a list of column names"):
        MetricMapping("r", "continuous", covariates="a")
    with pytest.raises(ValueError, match="at most 10 columns"):
        MetricMapping("r", "continuous", covariates=[f"c{i}" for i in range(11)])


def test_old_share_link_and_warehouse_output_read_as_before() -> None:
    """A readout without ``covariates`` writes the same payload as before the field existed
    (no ``covariates`` key in its metrics), so old links read unchanged."""
    a = abcore.analyze(DEMO, **DEMO_ROLES)
    payload = a.aggregates.to_dict()
    assert all("covariates" not in m for m in payload["mapping"]["metrics"])
    back = Aggregates.from_dict(json.loads(json.dumps(payload)))
    assert back.mapping == a.aggregates.mapping
    pd.testing.assert_frame_equal(back.frame, a.aggregates.frame)


def test_share_link_round_trip_with_covariates() -> None:
    a = abcore.analyze(DEMO, **{**DEMO_ROLES, "metrics": REG_METRICS})
    params = share.results_to_query_params(a.aggregates, {"cuped": True})
    agg, _ = share.results_from_query_params(params)
    assert agg.mapping == a.aggregates.mapping
    for metric in ("revenue", "ctr", "load", "converted"):
        x = compare_metric(agg, metric, "treatment")
        y = compare_metric(a.aggregates, metric, "treatment")
        assert x.abs_effect == pytest.approx(y.abs_effect, rel=1e-12)
        assert x.se == pytest.approx(y.se, rel=1e-12)


def test_limits_check_the_covariates_of_a_link() -> None:
    a = abcore.analyze(DEMO, **{**DEMO_ROLES, "metrics": REG_METRICS})
    payload = {"aggregates": a.aggregates.to_dict()}
    check_results_payload(json.loads(json.dumps(payload)))
    bad = json.loads(json.dumps(payload))
    shifted = json.loads(json.dumps(payload))
    shifted["aggregates"]["shifts"] = {"revenue": [1.0, 0.0, 2.0, 0.0, 3.0]}  # y, x, 3 covariates
    check_results_payload(shifted)
    shifted["aggregates"]["shifts"] = {"revenue": [1.0, 0.0, 2.0, 0.0, 3.0, 4.0]}
    with pytest.raises(InputError, match="shifts must hold 2 to 5 items"):
        check_results_payload(shifted)
    bad["aggregates"]["mapping"]["metrics"][1]["covariates"] = [f"c{i}" for i in range(11)]
    with pytest.raises(InputError, match="covariates of results metric 'revenue'"):
        check_results_payload(bad)
    bad["aggregates"]["mapping"]["metrics"][1]["covariates"] = ["pre_revenue", 3]
    with pytest.raises(InputError, match="must be text"):
        check_results_payload(bad)
    check_results_payload({**payload, "options": {"strata": "platform"}})
    with pytest.raises(InputError, match="The results' strata must be text"):
        check_results_payload({**payload, "options": {"strata": 3}})


def test_aggregated_shapes_refuse_covariates() -> None:
    mapping = Mapping(
        shape="aggregated", variant="arm", control="a", n_column="n",
        metrics=[MetricMapping("r", "ratio", numerator="s", denominator="t", covariate="s")],
    )  # fmt: skip
    with pytest.raises(ValueError, match="needs unit-level rows"):
        sufficient_stats_sql("t", mapping)


def test_post_stratified_readout_equals_ols_with_stratum_dummies_in_both_paths() -> None:
    """``ReadoutOptions(strata="platform")``: the overall effect is the arm's coefficient in
    OLS with the platform's dummies (and the covariate with CUPED on), from the segment
    cells, so the warehouse query gives the same numbers."""
    rows = pd.read_csv(DEMO, parse_dates=["first_exposure"])
    options = ReadoutOptions(strata="platform")
    ref = abcore.analyze(DEMO, **DEMO_ROLES, options=options)
    effects = ref.effects.set_index("metric")
    arm = (rows["variant"] == "treatment").astype(float)
    dummies = pd.get_dummies(rows["platform"], drop_first=True, dtype=float)
    for metric, extra in (("converted", []), ("revenue", ["pre_revenue"])):
        design = np.column_stack([np.ones(len(rows)), arm, rows[extra], dummies])
        fit = sm.OLS(rows[metric].to_numpy(float), design).fit()
        assert effects.loc[metric, "abs_effect"] == pytest.approx(fit.params[1], abs=1e-9)
        low, high = fit.conf_int()[1]
        assert effects.loc[metric, "abs_ci_low"] == pytest.approx(low, abs=1e-9)
        assert effects.loc[metric, "abs_ci_high"] == pytest.approx(high, abs=1e-9)
    assert effects.loc["ctr", "method"] == "delta_ratio"  # a ratio is not stratified
    off = compare_metric(
        ref.aggregates, "revenue", "treatment", ReadoutOptions(strata="platform", cuped=False)
    )
    fit = sm.OLS(
        rows["revenue"].to_numpy(float), np.column_stack([np.ones(len(rows)), arm, dummies])
    ).fit()
    assert off.abs_effect == pytest.approx(fit.params[1], abs=1e-9)
    assert off.se == pytest.approx(fit.bse[1], abs=1e-9)
    got = _duckdb_readout(rows, ref.aggregates.mapping)
    for metric in ("converted", "revenue"):
        x = compare_metric(got.aggregates, metric, "treatment", options)
        y = compare_metric(ref.aggregates, metric, "treatment", options)
        assert x.abs_effect == pytest.approx(y.abs_effect, rel=1e-9)
        assert x.se == pytest.approx(y.se, rel=1e-9)
    with pytest.raises(InputError, match="strata must be one of the segments"):
        compare_metric(ref.aggregates, "revenue", "treatment", ReadoutOptions(strata="country"))


def test_preperiod_balance_checks_each_listed_covariate_once() -> None:
    frame = _three_covariates()
    a = abcore.analyze(frame, **ROLES_3)
    checks = preperiod_balance(a.aggregates)
    assert [c.name for c in checks] == [f"Pre-period balance (x{j}, treatment)" for j in (1, 2, 3)]
    tilted = frame.assign(x3=frame["x3"] + 0.5 * (frame["arm"] == "treatment"))
    worst = preperiod_balance(abcore.analyze(tilted, **ROLES_3).aggregates)[2]
    assert worst.status == "fail"
    assert "x3 differed between treatment and the control" in worst.message
