"""Quantile metrics: the outer-CI test against GrowthBook's published numbers, its calibration
on heavy tails, and the summary a query computes against numpy on the raw values."""

from __future__ import annotations

import dataclasses
import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import abcore
from abcore import analysis, ingest, limits, planning, share, warehouse
from abcore.compare import compare_metric, plan_comparisons
from abcore.errors import InputError
from abcore.model import Aggregates, Mapping, MetricMapping
from abcore.plan import ExperimentPlan, MetricSpec
from abcore.quantile import (
    QuantileSummary,
    bound_levels,
    compare_quantiles,
    interpolate,
    summarize,
)


def test_matches_growthbook_reference_numbers() -> None:
    """gbstats (growthbook/growthbook@8f1db445, packages/stats/tests/bayesian/test_tests.py,
    ``TestEffectBayesianABTest.test_bayesian_effect_ab_test``): the same two
    ``QuantileStatistic`` (nu 0.9, n 11054 / 10861) give, under the improper flat prior (the
    frequentist interval), ``expected == 0.5365124375579775`` and
    ``ci == (0.4572559589115422, 0.6157689162044128)``; relative, flat prior of variance 1e6,
    ``expected == 0.07495297222736319``, ``ci == (0.06341005842481906, 0.08649588602990732)``
    (our delta-method relative interval: the prior moves it at the 1e-11 level)."""
    c = QuantileSummary(0.9, 11054, 11054, 7.157987489967789, 7.098780136176828, 7.217194843758751)
    t = QuantileSummary(0.9, 10861, 10861, 7.694499927525767, 7.64180598628119, 7.747193868770344)
    r = compare_quantiles(c, t, relative_method="delta")
    assert r.abs_effect == pytest.approx(0.5365124375579775, rel=1e-12)
    assert (r.abs_ci_low, r.abs_ci_high) == pytest.approx(
        (0.4572559589115422, 0.6157689162044128), rel=1e-12
    )
    assert r.rel_effect == pytest.approx(0.07495297222736319, rel=1e-9)
    assert (r.rel_ci_low, r.rel_ci_high) == pytest.approx(
        (0.06341005842481906, 0.08649588602990732), rel=1e-9
    )
    assert r.method == "quantile_outer_ci"
    assert r.error is None


def _smaller_bounds(values: np.ndarray, q: float) -> QuantileSummary:
    """Bounds taken for a smaller sample (1,024 of 2,000 units), as gbstats' SQL grid takes
    them: the variance must be rescaled by n_star / n."""
    runs, n = values.shape
    n_star = 1024
    value, lower, upper = np.quantile(values, [q, *bound_levels(q, n_star)], axis=-1)
    return QuantileSummary(q, np.full(runs, n), np.full(runs, n_star), value, lower, upper)


@pytest.mark.parametrize("grid", [False, True], ids=["exact", "n_star"])
@pytest.mark.parametrize("q", [0.5, 0.9])
def test_calibrated_on_lognormal_tails(q: float, grid: bool) -> None:
    """Lognormal(0, 1.5), 2,000 units per arm, 2,000 seeded runs: the 95% interval of the
    difference covers the true one (treatment's log shifted by 0.1) and the null test rejects
    at 5%, each within 3 binomial standard errors; with the bounds at n (exact, as our
    queries take them) and at a smaller n_star (1,024, as gbstats' grid may). (p99 at this
    size is conservative: 3.6% false positives and 97% coverage exact, 1.5% and 98% at
    n_star 1,024, in the same simulation.)"""
    rng = np.random.default_rng(20261207)
    runs, n, sigma, shift = 2000, 2000, 1.5, 0.1
    summary = _smaller_bounds if grid else summarize
    control = summary(rng.lognormal(0, sigma, (runs, n)), q)
    same = summary(rng.lognormal(0, sigma, (runs, n)), q)
    lifted = summary(rng.lognormal(shift, sigma, (runs, n)), q)
    tol = 3 * np.sqrt(0.05 * 0.95 / runs)
    null = compare_quantiles(control, same)
    assert abs(np.mean(null.p_value < 0.05) - 0.05) < tol
    effect = compare_quantiles(control, lifted)
    x_q = np.exp(sigma * sps.norm.ppf(q))
    true = x_q * (np.exp(shift) - 1)
    covered = (effect.abs_ci_low <= true) & (true <= effect.abs_ci_high)
    assert abs(np.mean(covered) - 0.95) < tol
    rel = np.exp(shift) - 1
    rel_covered = (effect.rel_ci_low <= rel) & (rel <= effect.rel_ci_high)
    assert abs(np.mean(rel_covered) - 0.95) < tol


def test_interpolation_is_numpys_linear_quantile() -> None:
    """The queries' two neighbouring order statistics, interpolated, are numpy's quantile."""
    rng = np.random.default_rng(3)
    x = np.sort(rng.lognormal(0, 1.5, 3001))
    for p in (0.0, 0.013, 0.5, 0.9, 0.99, 1.0):
        h = (len(x) - 1) * p
        below = x[int(np.floor(h))]
        above = x[int(np.floor(h)) + 1] if np.floor(h) + 1 < len(x) else np.nan
        assert float(interpolate(h, below, above)) == pytest.approx(float(np.quantile(x, p)))


def test_untestable_cells_say_why() -> None:
    few = summarize(np.arange(100.0), 0.99)
    assert compare_quantiles(few, few).error == "too_few_for_quantile"
    ties = summarize(np.r_[np.zeros(900), np.arange(100.0)], 0.5)
    assert compare_quantiles(ties, ties).error == "zero_variance"
    with pytest.raises(ValueError, match="q must be"):
        QuantileSummary(1.5, 10, 10, 1.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="lower must be at most"):
        QuantileSummary(0.5, 10, 10, 1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match="n_star between"):
        QuantileSummary(0.5, 10, 20, 1.0, 0.0, 2.0)


# ---- from the rows: DuckDB's summaries, the readout, a link --------------------------------
DEMO = "sample_data/demo_experiment.parquet"
P90 = MetricMapping("load_p90", "quantile", column="page_load_ms", quantile=0.9)
DEMO_MAPPING = Mapping(
    variant="variant",
    control="control",
    unit="user_id",
    timestamp="first_exposure",
    segments=("platform",),
    metrics=(MetricMapping("revenue", "continuous"), P90),
)


def _demo_aggregates(rows: pd.DataFrame, mapping: Mapping = DEMO_MAPPING) -> Aggregates:
    con = ingest.connect()
    try:
        return ingest.compute_stats(con, ingest.load(con, rows), mapping)
    finally:
        con.close()


def test_duckdb_summaries_are_numpys_order_statistics() -> None:
    """Overall and in a segment, the query's quantile and bounds are numpy's (linear) at the
    exact levels (n_star = n); the test reads them as compare_quantiles does."""
    rows = pd.read_parquet(DEMO)
    agg = _demo_aggregates(rows)
    for arm in agg.variants:
        for where, part in (
            ({}, rows),
            ({"segment": "platform", "value": "ios"}, rows[rows["platform"] == "ios"]),
        ):
            x = part.loc[part["variant"] == arm, "page_load_ms"].to_numpy(float)
            s = agg.quantile("load_p90", arm, **where)
            want = summarize(x, 0.9)
            assert (s.n, s.n_star) == (len(x), len(x))
            assert (s.value, s.lower, s.upper) == pytest.approx(
                (float(want.value), float(want.lower), float(want.upper)), rel=1e-12
            )
    c = compare_metric(agg, "load_p90", "treatment")
    want = compare_quantiles(
        agg.quantile("load_p90", "control"), agg.quantile("load_p90", "treatment")
    )
    assert c.p_value == want.p_value
    assert c.method == "quantile_outer_ci"


def test_units_are_summed_before_the_quantile() -> None:
    """Unit-day rows: the quantile is of each unit's total, not of the rows."""
    rng = np.random.default_rng(8)
    units = np.repeat(np.arange(600), 2)
    rows = pd.DataFrame(
        {"arm": np.where(units % 2, "b", "a"), "uid": units, "y": rng.lognormal(0, 1, 1200)}
    )
    spec = MetricMapping("y_p50", "quantile", column="y", quantile=0.5)
    m = Mapping(variant="arm", control="a", unit="uid", metrics=(spec,), aggregate_units=True)
    s = _demo_aggregates(rows, m).quantile("y_p50", "a")
    per_unit = rows[rows["arm"] == "a"].groupby("uid")["y"].sum().to_numpy()
    assert s.n == 300
    assert s.value == pytest.approx(float(np.median(per_unit)))


def test_readout_table_link_and_refusals() -> None:
    """A quantile metric gets its row in the effects table (no daily effect), survives the
    results link, and is refused with a sentence on totals per arm or with covariates."""
    rows = pd.read_parquet(DEMO)
    agg = _demo_aggregates(rows)
    a = analysis.analyze_aggregates(agg)
    row = a.effects.set_index("metric").loc["load_p90"]
    assert row["kind"] == "quantile"
    assert row["control_mean"] == pytest.approx(
        float(np.quantile(rows.loc[rows.variant == "control", "page_load_ms"], 0.9))
    )
    assert "load_p90" not in set(analysis.cumulative_effects(agg)["metric"])
    back, _ = share.results_from_query_params(share.results_to_query_params(agg))
    assert back.quantile("load_p90", "treatment") == agg.quantile("load_p90", "treatment")
    again = compare_metric(back, "load_p90", "treatment")
    assert again.p_value == pytest.approx(float(row["p_value"]), rel=1e-12)
    with pytest.raises(ValueError, match="covariates are not supported on a quantile"):
        MetricMapping("p", "quantile", column="y", quantile=0.5, covariate="x")
    with pytest.raises(ValueError, match="quantile must be a level"):
        MetricMapping("p", "quantile", column="y")
    with pytest.raises(ValueError, match="quantile is for quantile metrics only"):
        MetricMapping("p", "continuous", quantile=0.5)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("q_lower", 1e9, "lower must be at most"),
        ("q_n", 10**7, "quantile summary of metric 'load_p90' counts"),
        ("q_nstar", 2.5, "quantile summary of metric 'load_p90' counts"),
    ],
)
def test_a_tampered_link_summary_is_refused_with_a_sentence(
    field: str, value: float, message: str
) -> None:
    agg = _demo_aggregates(pd.read_parquet(DEMO))
    data = share.results_to_dict(agg)
    columns = data["aggregates"]["columns"]
    data["aggregates"]["rows"][0][columns.index(f"load_p90__{field}")] = value
    params = {share.RESULTS_KEY: share._pack(data)}
    with pytest.raises(InputError, match=message):
        share.results_from_query_params(params)


# ---- the plan and the decision --------------------------------------------------------------
GUARD = MetricSpec(
    "page_load_ms_p90",
    "guardrail",
    "quantile",
    direction="decrease",
    margin=0.02,
    quantile=0.9,
    column="page_load_ms",
)
PLAN = ExperimentPlan(
    metrics=(MetricSpec("converted", "success", "binary", baseline=0.1, mde=0.05), GUARD)
)


def test_a_quantile_guardrail_with_a_margin_decides_on_the_quantile() -> None:
    """The plan's p90 guardrail is read from the data's p90 (added from the plan), tested
    for non-inferiority at its margin on the quantile's relative interval; the plan's JSON
    and payload checks carry the level, and the Plan page says it cannot size it."""
    assert ExperimentPlan.from_json(PLAN.to_json()) == PLAN
    limits.check_plan_payload(json.loads(PLAN.to_json()))
    a = abcore.analyze(pd.read_parquet(DEMO), variant="variant", unit="user_id", plan=PLAN)
    test = next(t for t in a.recommendation.arms[0].tests if t.metric == "page_load_ms_p90")
    c = compare_metric(a.aggregates, "page_load_ms_p90", "treatment", a.options)
    assert c.method == "quantile_outer_ci"
    assert test.rel_ci_high == pytest.approx(float(c.rel_ci_high))
    assert test.outcome == "pass"  # p90 unchanged (1,298 ms in both arms), CI within 2%
    assert planning.size_plan(PLAN).guardrails[0].reason.startswith("a quantile is not sized")
    with pytest.raises(ValueError, match="is a quantile: its test's variance"):
        planning.size_plan(
            dataclasses.replace(PLAN, metrics=(dataclasses.replace(GUARD, role="success"),))
        )


def test_a_plan_quantile_never_reads_the_mean_of_the_same_name() -> None:
    """A plan p90 named like a column the data reads as a mean is 'not in the data', not
    the mean's comparison under the p90's name (and a bad level is a sentence)."""
    same_name = dataclasses.replace(GUARD, name="page_load_ms", column=None)
    plan = dataclasses.replace(PLAN, metrics=(PLAN.metrics[0], same_name))
    agg = _demo_aggregates(pd.read_parquet(DEMO))
    assert plan_comparisons(agg, plan)["treatment"]["page_load_ms"] is None
    with pytest.raises(InputError, match="quantile of 'x' must be a level"):
        MetricSpec("x", "guardrail", "quantile", quantile=1.5)
    with pytest.raises(InputError, match="The quantile of metric 'x'"):
        limits.check_plan_payload({"metrics": [{"name": "x", "type": "quantile", "quantile": 2}]})


def test_the_warehouse_query_gives_each_arms_exact_order_statistics() -> None:
    """The warehouse query (run here in DuckDB, rendered for every engine) ranks each arm's
    values: its summaries are numpy's at the exact levels (``n_star = n``), the p90's test is
    compare_quantiles on them and the file's, and the quantile has no segment breakdown from
    it (its rows are cells; the arm's summary only travels)."""
    rows = pd.read_parquet(DEMO)
    for dialect in warehouse.DIALECTS:
        assert "ROW_NUMBER()" in warehouse.stats_query(DEMO_MAPPING, "t", dialect=dialect)
    con = duckdb.connect()
    try:
        con.register("exposures", rows)
        output = con.execute(warehouse.stats_query(DEMO_MAPPING, "exposures")).df()
    finally:
        con.close()
    agg, _ = warehouse.read_output(output)
    want = {}
    for arm in agg.variants:
        x = rows.loc[rows["variant"] == arm, "page_load_ms"].to_numpy(float)
        want[arm] = summarize(x, 0.9)
        got = agg.quantile("load_p90", arm)
        assert (got.n, got.n_star) == (len(x), len(x))
        assert (got.value, got.lower, got.upper) == pytest.approx(
            (float(want[arm].value), float(want[arm].lower), float(want[arm].upper)), rel=1e-12
        )
    c = compare_metric(agg, "load_p90", "treatment")
    assert c.p_value == pytest.approx(
        float(compare_quantiles(want["control"], want["treatment"]).p_value), rel=1e-9
    )
    from_file = compare_metric(_demo_aggregates(rows), "load_p90", "treatment")
    assert (c.abs_ci_low, c.abs_ci_high, c.p_value) == pytest.approx(
        (from_file.abs_ci_low, from_file.abs_ci_high, from_file.p_value), rel=1e-12
    )
    segments = analysis.segment_effects(agg)
    assert "load_p90" not in set(segments["metric"])
    assert "revenue" in set(segments["metric"])


def test_small_cells_and_missing_values_read_as_untestable_not_as_errors() -> None:
    """A segment with a handful of units (below the grid) and a column with gaps: the
    readout runs; the small cell says it has too few units, and missing values are left out
    of the quantile's units."""
    rng = np.random.default_rng(12)
    n = 3000
    rows = pd.DataFrame(
        {
            "arm": np.where(rng.random(n) < 0.5, "a", "b"),
            "uid": np.arange(n),
            "seg": np.where(np.arange(n) < 10, "tiny", "big"),
            "y": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(0, 1, n)),
        }
    )
    spec = MetricMapping("y_p90", "quantile", column="y", quantile=0.9)
    m = Mapping(variant="arm", control="a", unit="uid", segments=("seg",), metrics=(spec,))
    agg = _demo_aggregates(rows, m)
    assert agg.quantile("y_p90", "a").n == int(rows.loc[rows["arm"] == "a", "y"].notna().sum())
    seg = analysis.segment_effects(agg).set_index("segment_value")
    assert seg.loc["tiny", "error"] == "too_few_for_quantile"
    assert seg.loc["big", "error"] is None or pd.isna(seg.loc["big", "error"])
    assert analysis.analyze_aggregates(agg).effects["error"].isna().all()
