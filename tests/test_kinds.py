"""Metric kinds are declared once, in :data:`abcore.model.KINDS`: each kind's statistics and
test, read by the SQL, the warehouse query, the aggregates and the comparison.

Each kind's p-value is checked against an independent reference on the raw rows
(statsmodels 0.14 ``proportions_ztest``, scipy ``ttest_ind(equal_var=False)``, the delta
method written out in numpy), and a kind registered in that one place runs through DuckDB
and the warehouse query like the kind it copies.
"""

from __future__ import annotations

import dataclasses

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportions_ztest

from abcore import ingest, warehouse
from abcore.compare import compare_metric, metric_stat
from abcore.model import KINDS, PAIR_FIELDS, STAT_FIELDS, Mapping, MetricMapping
from abcore.suffstats import PairStatistic, SampleMean

METRICS = (
    MetricMapping("converted", "binary"),
    MetricMapping("revenue", "continuous"),
    MetricMapping("ctr", "ratio", numerator="clicks", denominator="sessions"),
    MetricMapping("rate", "proportion_of_counts", numerator="buys", denominator="sessions"),
)
MAPPING = Mapping(variant="arm", control="a", unit="uid", metrics=METRICS)


def _rows(seed: int = 7, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.5, "a", "b")
    lift = np.where(arm == "b", 1.06, 1.0)
    sessions = rng.poisson(4, n) + 1
    return pd.DataFrame(
        {
            "arm": arm,
            "uid": [f"u{i}" for i in range(n)],
            "converted": (rng.random(n) < 0.10 * lift).astype(int),
            "revenue": rng.gamma(2.0, 10.0, n) * lift,
            "clicks": rng.poisson(1.5 * sessions * lift),
            "sessions": sessions,
            "buys": rng.binomial(sessions, 0.2 * lift),
        }
    )


def _aggregates(rows: pd.DataFrame, mapping: Mapping = MAPPING) -> ingest.Aggregates:
    con = ingest.connect()
    try:
        return ingest.compute_stats(con, ingest.load(con, rows), mapping)
    finally:
        con.close()


def _delta_ratio_p(a: pd.DataFrame, b: pd.DataFrame) -> float:
    def mean_var(part: pd.DataFrame) -> tuple[float, float]:
        y, x = part["clicks"].to_numpy(float), part["sessions"].to_numpy(float)
        r = y.mean() / x.mean()
        cov = np.cov(y, x, ddof=1)
        var = (cov[0, 0] - 2 * r * cov[0, 1] + r**2 * cov[1, 1]) / (len(y) * x.mean() ** 2)
        return r, var

    (ra, va), (rb, vb) = mean_var(a), mean_var(b)
    return float(2 * sps.norm.sf(abs(rb - ra) / np.sqrt(va + vb)))


def _reference_p(kind: str, a: pd.DataFrame, b: pd.DataFrame) -> float:
    if kind == "binary":
        counts = [b["converted"].sum(), a["converted"].sum()]
        return float(proportions_ztest(counts, [len(b), len(a)])[1])
    if kind == "continuous":
        return float(sps.ttest_ind(b["revenue"], a["revenue"], equal_var=False).pvalue)
    if kind == "ratio":
        return _delta_ratio_p(a, b)
    counts = [b["buys"].sum(), a["buys"].sum()]
    return float(proportions_ztest(counts, [b["sessions"].sum(), a["sessions"].sum()])[1])


@pytest.mark.parametrize("spec", METRICS, ids=lambda m: m.kind)
def test_each_kind_reads_its_statistic_and_runs_its_test(spec: MetricMapping) -> None:
    rows = _rows()
    agg = _aggregates(rows)
    kind = KINDS[spec.kind]
    stat = metric_stat(agg, spec, "a")
    assert isinstance(stat, PairStatistic if kind.statistic == "pair" else SampleMean)
    assert spec.stat_fields == (PAIR_FIELDS if kind.pair else STAT_FIELDS)
    c = compare_metric(agg, spec.name, "b")
    a, b = rows[rows["arm"] == "a"], rows[rows["arm"] == "b"]
    assert float(c.p_value) == pytest.approx(_reference_p(spec.kind, a, b), rel=1e-6)


def test_a_kind_registered_in_one_place_runs_everywhere(monkeypatch) -> None:
    """A copy of ``continuous`` under a new name, added to KINDS only, gives the continuous
    readout from DuckDB and from the warehouse query's output."""
    monkeypatch.setitem(KINDS, "amount", dataclasses.replace(KINDS["continuous"], name="amount"))
    rows = _rows(seed=11)
    new = Mapping(variant="arm", control="a", unit="uid", metrics=(MetricMapping("y", "amount"),))
    old = dataclasses.replace(new, metrics=(MetricMapping("y", "continuous"),))
    rows = rows.assign(y=rows["revenue"] + 1.7e6)  # an amount far from 0: read around a shift
    want = compare_metric(_aggregates(rows, old), "y", "b")
    got = compare_metric(_aggregates(rows, new), "y", "b")
    assert float(got.p_value) == pytest.approx(float(want.p_value), rel=1e-9)
    assert float(got.abs_effect) == pytest.approx(float(want.abs_effect), rel=1e-9)
    con = duckdb.connect()
    try:
        con.register("exposures", rows)
        output = con.execute(warehouse.stats_query(new, "exposures")).df()
    finally:
        con.close()
    aggregates, _ = warehouse.read_output(output)
    from_query = compare_metric(aggregates, "y", "b")
    assert float(from_query.p_value) == pytest.approx(float(want.p_value), rel=1e-9)
    with pytest.raises(ValueError, match="kind must be one of"):
        MetricMapping("y", "amount_unknown")
