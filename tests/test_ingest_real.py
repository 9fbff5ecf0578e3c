"""Real public A/B datasets: loading quirks and the numbers they are known for.

The files live in ``../shared/data/real/`` (see its README for sources and published
results); they are never copied into the project (see tests/real_data.py).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from real_data import real
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from abcore import config
from abcore.ingest import compute_stats, connect, detect_schema, instrumentation_stats, load
from abcore.model import MetricMapping


def _path(name: str) -> Path:
    return real(name)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return connect()


def _pooled_ci(x_c: float, n_c: int, x_t: float, n_t: int) -> tuple[float, float, float]:
    """Difference of proportions with the pooled-SE 95% interval the Udacity course uses."""
    p = (x_c + x_t) / (n_c + n_t)
    se = math.sqrt(p * (1 - p) * (1 / n_c + 1 / n_t))
    diff = x_t / n_t - x_c / n_c
    z = stats.norm.ppf(0.975)
    return diff, diff - z * se, diff + z * se


def test_cookie_cats(con: duckdb.DuckDBPyConnection) -> None:
    ds = load(con, _path("cookie_cats.csv"))  # CRLF line ends, TRUE/FALSE booleans
    assert ds.n_rows == 90_189
    assert ds.types["retention_1"] == ds.types["retention_7"] == "BOOLEAN"
    mapping = detect_schema(con, ds)
    assert (mapping.shape, mapping.variant, mapping.unit) == ("unit", "version", "userid")
    assert mapping.control == "gate_30"  # no control-like name: first sorted, with a note
    assert any("gate_30" in note for note in mapping.notes)
    assert {m.name: m.kind for m in mapping.metrics} == {
        "sum_gamerounds": "continuous",
        "retention_1": "binary",
        "retention_7": "binary",
    }
    agg = compute_stats(con, ds, mapping)
    # Published: 7-day retention 19.02 % (gate_30) vs 18.20 % (gate_40); 1-day 44.8 % vs 44.2 %.
    assert round(agg.sample_mean("retention_7", "gate_30").mean, 4) == 0.1902
    assert round(agg.sample_mean("retention_7", "gate_40").mean, 4) == 0.1820
    assert round(agg.sample_mean("retention_1", "gate_30").mean, 3) == 0.448
    assert round(agg.sample_mean("retention_1", "gate_40").mean, 3) == 0.442
    assert sum(agg.counts().values()) == 90_189
    # The 49,854-round player is there to be capped.
    capped = compute_stats(con, ds, mapping, cap=0.999)
    assert capped.caps["sum_gamerounds"] < 49_854
    rows = con.execute(f'SELECT max(sum_gamerounds) FROM "{ds.table}"').fetchall()
    assert rows == [(49_854,)]


def test_ab_data(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = _path("ab_data.csv")
    ds = load(con, path)
    assert ds.n_rows == 294_478
    mapping = detect_schema(con, ds)
    assert (mapping.variant, mapping.control, mapping.unit, mapping.timestamp) == (
        "group",
        "control",
        "user_id",
        "timestamp",
    )
    assert mapping.metrics == (MetricMapping("converted", "binary"),)
    # landing_page restates the arm (new_page iff treatment, but for 3,893 rows): not a
    # segment, and a typed finding the pages read
    assert mapping.segments == ()
    assert mapping.arm_proxies == ("landing_page",)
    assert any("'landing_page' restates the arm" in note for note in mapping.notes)
    checks = instrumentation_stats(con, ds, mapping)
    assert checks.units_with_several_rows == 3_894  # 3,894 user ids appear twice
    by_page = dataclasses.replace(mapping, aggregate_units=False, segments=("landing_page",))
    rows = compute_stats(con, ds, by_page)
    assert len(rows.days) == 23
    seg = rows.rows("segment").set_index(["variant", "segment_value"])["n"]
    assert seg["treatment", "old_page"] + seg["control", "new_page"] == 3_893  # mismatches

    # The course's cleaning: drop group/page mismatches, keep one row of the duplicated user.
    clean = tmp_path / "ab_clean.csv"
    con.execute(
        "COPY (SELECT * FROM read_csv($1) "
        "WHERE (\"group\" = 'treatment') = (landing_page = 'new_page') "
        'QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY "timestamp") = 1) '
        f"TO '{clean}' (HEADER)",
        [str(path)],
    )
    ds = load(con, clean)
    mapping = detect_schema(con, ds)
    assert not mapping.aggregate_units
    agg = compute_stats(con, ds, mapping)
    control, treatment = (
        agg.sample_mean("converted", "control"),
        agg.sample_mean("converted", "treatment"),
    )
    # Published: control 17,489 / 145,274; treatment 17,264 / 145,310.
    assert (control.sum, control.n) == (17_489, 145_274)
    assert (treatment.sum, treatment.n) == (17_264, 145_310)
    # Published p-values: one-sided (treatment > control) 0.905, two-sided about 0.19.
    _, p_greater = proportions_ztest(
        [treatment.sum, control.sum], [treatment.n, control.n], alternative="larger"
    )
    _, p_two = proportions_ztest([treatment.sum, control.sum], [treatment.n, control.n])
    assert round(p_greater, 3) == 0.905
    assert round(p_two, 2) == 0.19


def test_marketing_sample(con: duckdb.DuckDBPyConnection) -> None:
    ds = load(con, _path("marketing_AB_sample_ferilab.csv"))
    assert ds.n_rows == 11_762
    assert ds.types["converted"] == "BOOLEAN"  # "True"/"False" strings
    mapping = detect_schema(con, ds)
    assert (mapping.variant, mapping.unit, mapping.control) == ("test group", "user id", "psa")
    assert mapping.metric("converted").kind == "binary"
    agg = compute_stats(con, ds, mapping)
    counts = agg.counts()
    assert round(counts["ad"] / sum(counts.values()), 2) == 0.96  # designed 96 % / 4 % split
    assert (
        agg.sample_mean("converted", "ad").sum
        == con.execute(
            f'SELECT count(*) FROM "{ds.table}" WHERE "test group" = \'ad\' AND converted'
        ).fetchall()[0][0]
    )


def test_udacity_free_trial(con: duckdb.DuckDBPyConnection) -> None:
    files = [
        _path("udacity_free_trial/control_data.csv"),
        _path("udacity_free_trial/experiment_data.csv"),
    ]
    ds = load(con, files)
    assert ds.names == (
        "variant",
        "Date",
        "Pageviews",
        "Clicks",
        "Enrollments",
        "Payments",
    )  # BOM gone
    assert ds.n_rows == 74
    mapping = detect_schema(con, ds)
    assert (mapping.shape, mapping.variant, mapping.control) == ("daily", "variant", "control")
    assert (mapping.timestamp, mapping.day_label) == ("Date", True)
    gross = mapping.metric("Enrollments/Clicks")
    assert (gross.kind, gross.numerator, gross.denominator) == (
        "proportion_of_counts",
        "Enrollments",
        "Clicks",
    )
    # every bounded pair of counts is offered: net conversion (Payments/Clicks) too
    assert {"Enrollments/Clicks", "Payments/Clicks", "Payments/Enrollments"} <= {
        m.name for m in mapping.metrics
    }
    net = mapping.metric("Payments/Clicks")
    assert (net.numerator, net.denominator) == ("Payments", "Clicks")
    # the 14 days without enrollments and payments are named, not dropped silently
    assert len(mapping.empty_days) == 14
    assert mapping.empty_days[0] == "Mon, Nov 3"
    assert any("empty on 14 of 37 days" in note for note in mapping.notes)
    agg = compute_stats(con, ds, mapping)
    assert len(agg.days) == 37
    assert agg.days[:2] == ("Sat, Oct 11", "Sun, Oct 12")
    # Published (first 23 days, where enrollments exist): gross conversion -0.0206,
    # 95 % CI (-0.0291, -0.0120); net conversion -0.0049, CI (-0.0116, 0.0019).
    for metric, expected in (
        ("Enrollments/Clicks", (-0.0206, -0.0291, -0.0120)),
        ("Payments/Clicks", (-0.0049, -0.0116, 0.0019)),
    ):
        c, t = agg.sample_mean(metric, "control"), agg.sample_mean(metric, "experiment")
        got = _pooled_ci(c.sum, c.n, t.sum, t.n)
        assert tuple(round(v, 4) for v in got) == pytest.approx(expected, abs=1e-4)
    # The click and pageview splits show no sample ratio mismatch.
    pageviews = agg.counts()
    clicks = {arm: agg.sample_mean("Clicks", arm).sum for arm in agg.variants}
    for observed in (list(pageviews.values()), list(clicks.values())):
        assert stats.chisquare(observed).pvalue > 0.05


@pytest.mark.parametrize(
    ("name", "sample_rows"),
    [
        ("ab_data.csv", None),  # 294,478 rows: larger than the default sample
        ("cookie_cats.csv", 10_000),  # CRLF line ends and TRUE/FALSE, read through a view
        ("marketing_AB_sample_ferilab.csv", 1_000),  # spaces in names, True/False strings
    ],
)
def test_read_in_place_equals_a_copy(
    name: str, sample_rows: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sample_rows is not None:
        monkeypatch.setattr(config, "INGEST_SAMPLE_ROWS", sample_rows)
    path = _path(name)
    con = connect()
    view, copy = load(con, path, materialize=False), load(con, path)
    assert view.in_place
    assert view.columns == copy.columns
    assert view.n_rows == pytest.approx(copy.n_rows, rel=0.1)  # a CSV's size over its lines
    results = []
    for ds in (view, copy):
        agg = compute_stats(con, ds, detect_schema(con, ds))
        mapping = agg.mapping  # the control: from the sample's arms or from every row's
        results.append((mapping, mapping.notes, agg, instrumentation_stats(con, ds, agg.mapping)))
    (m_view, notes_view, a_view, i_view), (m_copy, notes_copy, a_copy, i_copy) = results
    assert (m_view, notes_view, i_view) == (m_copy, notes_copy, i_copy)
    assert view.in_place
    pd.testing.assert_frame_equal(a_view.frame, a_copy.frame, rtol=1e-12)
    if name == "ab_data.csv":
        assert m_view.aggregate_units
        assert (i_view.units_in_multiple_arms, i_view.units_with_several_rows) == (1_895, 3_894)
