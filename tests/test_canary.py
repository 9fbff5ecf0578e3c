"""Canary judge, shadow comparison and ramp plan: checked against scipy, brute force, Kayenta's
own test example, and by simulation on null canaries (false-alarm rate) and planted ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from abcore import ingest, power
from abcore.errors import InputError
from abcore.launch.canary import (
    CanaryMetric,
    compare_shadow,
    hodges_lehmann,
    judge_canary,
    judge_metric,
    ramp_plan,
    read_canary,
    read_columns,
)


def _brute(x, y, confidence):
    diffs = np.sort((np.asarray(y)[:, None] - np.asarray(x)[None, :]).ravel())
    n = diffs.size
    z = stats.norm.isf((1 - confidence) / 2)
    c = int(np.floor(n / 2 - z * np.sqrt(len(x) * len(y) * (len(x) + len(y) + 1) / 12)))
    return np.median(diffs), diffs[c], diffs[n - c - 1]


def test_hodges_lehmann_on_r_wilcox_test_help_example():
    # R: x <- c(0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46)
    #    y <- c(1.15, 0.88, 0.90, 0.74, 1.21)
    #    wilcox.test(x, y, conf.int = TRUE)  ->  difference in location 0.305
    x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    y = [1.15, 0.88, 0.90, 0.74, 1.21]
    assert hodges_lehmann(y, x).shift == pytest.approx(0.305)


@pytest.mark.parametrize("n", [7, 60, 2100])  # 2100 x 2100 pairs takes the bisection path
def test_hodges_lehmann_matches_brute_force(n):
    rng = np.random.default_rng(n)
    x, y = rng.lognormal(size=n), rng.lognormal(0.2, 1, size=n + 1)
    est = hodges_lehmann(x, y, confidence=0.95)
    shift, low, high = _brute(x, y, 0.95)
    assert est.shift == pytest.approx(shift, rel=1e-9)
    assert est.ci_low == pytest.approx(low, rel=1e-9)
    assert est.ci_high == pytest.approx(high, rel=1e-9)


def test_hodges_lehmann_interval_covers_the_true_shift_at_its_level():
    # 2000 seeded pairs of samples (n = 60, a shift of 3 on skewed data): coverage 0.98
    # nominal, measured 0.9775.
    rng = np.random.default_rng(4)
    hits = 0
    sims = 2000
    for _ in range(sims):
        x = rng.gamma(2.0, 10.0, 60)
        y = rng.gamma(2.0, 10.0, 60) + 3.0
        e = hodges_lehmann(x, y, confidence=0.98)
        hits += e.ci_low <= 3.0 <= e.ci_high
    assert hits / sims == pytest.approx(0.98, abs=3.2 * np.sqrt(0.98 * 0.02 / sims))


samples = st.lists(
    st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: round(v, 3)), min_size=2, max_size=30
)


@settings(max_examples=150, deadline=None)
@given(samples, samples, st.floats(-100, 100).map(lambda v: round(v, 2)))
def test_hodges_lehmann_moves_with_a_shift_and_flips_with_the_arms(x, y, c):
    e = hodges_lehmann(x, y)
    moved = hodges_lehmann(x, [v + c for v in y])
    assert moved.shift == pytest.approx(e.shift + c, abs=1e-6)
    assert moved.ci_low == pytest.approx(e.ci_low + c, abs=1e-6)
    flipped = hodges_lehmann(y, x)
    assert flipped.shift == pytest.approx(-e.shift, abs=1e-9)
    assert flipped.ci_low == pytest.approx(-e.ci_high, abs=1e-9)
    assert e.ci_low <= e.shift <= e.ci_high


def test_p_value_is_scipy_mannwhitneyu():
    rng = np.random.default_rng(2)
    x, y = rng.normal(10, 2, 80), rng.normal(10.8, 2, 90)
    j = judge_metric("m", x, y)
    assert j.p_value == pytest.approx(stats.mannwhitneyu(y, x, alternative="two-sided").pvalue)


def test_kayenta_classifier_suite_example_is_high():
    # spinnaker/kayenta MannWhitneyClassifierSuite, "Mean Ratio Effect Size: High":
    # experiment (20, 22, 21, 25, 30) vs control (1, 2.2, 1.1, 2.5, 3) at confidence 0.95.
    j = judge_metric(
        "high-metric",
        [1.0, 2.2, 1.1, 2.5, 3.0],
        [20.0, 22.0, 21.0, 25.0, 30.0],
        tolerance=0.10,
        confidence=0.95,
    )
    assert j.classification == "high"


def test_failure_direction_decides_what_counts():
    rng = np.random.default_rng(9)
    base, canary = rng.normal(100, 5, 120), rng.normal(90, 5, 120)
    assert judge_metric("latency", base, canary, fail_on="increase").classification == "pass"
    assert judge_metric("latency", base, canary, fail_on="increase").moved == "down"
    assert judge_metric("orders", base, canary, fail_on="decrease").classification == "low"
    assert judge_metric("x", base, canary, fail_on="either").classification == "low"


def test_tolerance_lets_small_significant_moves_pass():
    rng = np.random.default_rng(5)
    base, canary = rng.normal(100, 2, 2000), rng.normal(102, 2, 2000)  # +2%, significant
    assert judge_metric("m", base, canary, tolerance=0.05).classification == "pass"
    assert judge_metric("m", base, canary, tolerance=0.0).classification == "high"


def _metrics():
    return [
        CanaryMetric("latency_ms", "increase"),
        CanaryMetric("error_rate", "increase"),
        CanaryMetric("orders", "decrease"),
        CanaryMetric("cpu", "increase"),
    ]


def _samples(rng, n, latency_lift=0.0, error_lift=0.0):
    return {
        "latency_ms": rng.lognormal(np.log(200 * (1 + latency_lift)), 0.15, n),
        "error_rate": rng.gamma(20, 0.0005 * (1 + error_lift), n),
        "orders": rng.poisson(40, n).astype(float),
        "cpu": rng.normal(0.55, 0.05, n),
    }


def test_false_alarm_rate_on_null_canaries():
    # 1000 seeded A-vs-A canaries, 4 metrics x 120 one-minute samples each: measured 0.0%
    # "roll back" and 2.3% "hold". A metric fails only if its 98% interval misses 0 in its
    # failure direction (at most 1% per metric) AND it moved by more than 5%, so "not
    # promoted" is at most 1 - 0.99^4 = 3.9%; rolling back needs two such failures.
    rng = np.random.default_rng(20260302)
    verdicts = [
        judge_canary(_samples(rng, 120), _samples(rng, 120), _metrics()).verdict
        for _ in range(1000)
    ]
    assert verdicts.count("roll back") <= 2
    not_promoted = 1 - verdicts.count("promote") / len(verdicts)
    assert not_promoted <= 1 - 0.99**4 + 3.2 * np.sqrt(0.04 * 0.96 / 1000)


def test_false_alarm_rate_without_tolerance_is_bounded_by_the_interval_level():
    # Same null canaries with tolerance 0: each metric fails when its 98% interval misses 0 in
    # its failure direction (1% per metric); 1000 sims measured 2.6% not promoted (2.5% hold,
    # 0.1% roll back).
    rng = np.random.default_rng(7)
    metrics = [CanaryMetric(m.name, m.fail_on, tolerance=0.0) for m in _metrics()]
    verdicts = [
        judge_canary(_samples(rng, 120), _samples(rng, 120), metrics).verdict for _ in range(1000)
    ]
    not_promoted = 1 - verdicts.count("promote") / len(verdicts)
    assert not_promoted <= 1 - 0.99**4 + 3.2 * np.sqrt(0.04 * 0.96 / 1000)


def test_planted_regression_is_rolled_back():
    rng = np.random.default_rng(1)
    result = judge_canary(
        _samples(rng, 120), _samples(rng, 120, latency_lift=0.15, error_lift=0.5), _metrics()
    )
    assert result.verdict == "roll back"
    assert result.score == pytest.approx(50.0)
    failed = {m.name for m in result.metrics if m.failed}
    assert failed == {"latency_ms", "error_rate"}
    assert any("latency_ms is" in r for r in result.reasons)


def test_score_thresholds_and_critical_metrics():
    rng = np.random.default_rng(1)
    base, canary = _samples(rng, 120), _samples(rng, 120, latency_lift=0.15)
    assert judge_canary(base, canary, _metrics()).verdict == "hold"  # 75: marginal
    critical = [CanaryMetric("latency_ms", "increase", critical=True), *_metrics()[1:]]
    result = judge_canary(base, canary, critical)
    assert result.score == 0.0
    assert result.verdict == "roll back"


def test_nodata_is_not_scored():
    j = judge_metric("m", [np.nan, np.inf], [1.0, 2.0])
    assert j.classification == "nodata"
    result = judge_canary({"m": [np.nan], "k": [1.0, 2, 3]}, {"m": [1.0], "k": [1.0, 2, 3]},
                          [CanaryMetric("m"), CanaryMetric("k")])  # fmt: skip
    assert result.score == 100.0


def test_canary_validates_parameters():
    with pytest.raises(ValueError, match="fail_on must be one of"):
        CanaryMetric("m", "sideways")
    with pytest.raises(ValueError, match="weight must be > 0"):
        CanaryMetric("m", weight=0)
    with pytest.raises(ValueError, match="metrics names 'z'"):
        judge_canary({"m": [1.0]}, {"m": [1.0]}, [CanaryMetric("z")])
    with pytest.raises(ValueError, match="confidence must be < 1"):
        hodges_lehmann([1.0], [2.0], confidence=1.0)


# --------------------------------------------------------------------------------------------
# Shadow
# --------------------------------------------------------------------------------------------


def _shadow(rng, n=1000):
    cur = rng.beta(2, 5, n)
    new = np.clip(cur + rng.normal(0.02, 0.05, n), 0, 1)
    return pd.DataFrame(
        {
            "request_id": np.arange(n),
            "current_score": cur,
            "new_score": new,
            "current_ms": rng.normal(40, 5, n),
            "new_ms": rng.normal(44, 5, n),
        }
    )


def test_shadow_paired_difference_is_scipy_ttest_rel():
    frame = _shadow(np.random.default_rng(3))
    r = compare_shadow(
        frame,
        current="current_score",
        new="new_score",
        request="request_id",
        current_latency="current_ms",
        new_latency="new_ms",
    )
    ref = stats.ttest_rel(frame["new_score"], frame["current_score"])
    ci = ref.confidence_interval(0.95)
    assert r.score.p_value == pytest.approx(ref.pvalue)
    assert (r.score.ci_low, r.score.ci_high) == pytest.approx((ci.low, ci.high))
    lat = stats.ttest_rel(frame["new_ms"], frame["current_ms"])
    assert r.latency.p_value == pytest.approx(lat.pvalue)
    expected = ((frame.current_score >= 0.5) == (frame.new_score >= 0.5)).mean()
    assert r.agreement == pytest.approx(expected)
    assert r.agreement_ci_low < r.agreement < r.agreement_ci_high


def test_shadow_lists_the_biggest_disagreements_first():
    frame = _shadow(np.random.default_rng(4), n=200)
    frame.loc[17, "new_score"] = frame.loc[17, "current_score"] + 0.9
    r = compare_shadow(frame, current="current_score", new="new_score", request="request_id")
    assert r.top_disagreements["request_id"].iloc[0] == 17
    gaps = r.top_disagreements["difference"].abs().to_numpy()
    assert np.all(np.diff(gaps) <= 0)
    assert len(r.top_disagreements) == 10


def test_shadow_text_labels_agree_when_equal():
    frame = pd.DataFrame({"cur": ["cat", "dog", "cat", "cow"], "new": ["cat", "cat", "cat", "cow"]})
    r = compare_shadow(frame, current="cur", new="new")
    assert r.agreement == 0.75
    assert r.score is None
    assert r.top_disagreements["cur"].iloc[0] == "dog"


def test_shadow_bad_input_raises_sentences():
    frame = _shadow(np.random.default_rng(5), n=20)
    with pytest.raises(InputError, match="The column 'nope' is not in the shadow file"):
        compare_shadow(frame, current="nope", new="new_score")
    with pytest.raises(InputError, match="must be two different columns"):
        compare_shadow(frame, current="new_score", new="new_score")
    empty = frame.assign(new_score=np.nan)
    with pytest.raises(InputError, match="No request has both"):
        compare_shadow(empty, current="current_score", new="new_score")


# --------------------------------------------------------------------------------------------
# Ramp
# --------------------------------------------------------------------------------------------


def test_ramp_steps_come_from_abcore_power():
    steps = ramp_plan(500_000, 0.02, 0.10)
    for step in steps:
        ratio = step.share / (1 - step.share)
        size = power.sample_size_proportion(0.02, 0.10, alternative="greater", ratio=ratio)
        assert step.n_new == size.n_treatment
        assert step.hours == pytest.approx(size.n_total / (500_000 / 24))
        assert step.days == power.duration_days(size.n_total, 500_000)
    hours = [s.hours for s in steps]
    assert hours == sorted(hours, reverse=True)


def test_ramp_for_a_mean_guardrail_and_validation():
    steps = ramp_plan(200_000, 250.0, 0.05, sd=120.0)
    size = power.sample_size_mean(250.0, 120.0, 0.05, alternative="greater", ratio=1 / 99)
    assert steps[0].n_new == size.n_treatment
    with pytest.raises(ValueError, match="steps must be < 1"):
        ramp_plan(1000, 0.1, steps=(0.5, 1.0))
    with pytest.raises(ValueError, match="daily_units must be > 0"):
        ramp_plan(0, 0.1)


# --------------------------------------------------------------------------------------------
# Reading uploads through DuckDB
# --------------------------------------------------------------------------------------------

BAD = Path(__file__).parent / "data" / "bad" / "launch"


def test_read_canary_splits_groups_like_pandas():
    from sample_data.generate_launch import make_canary

    frame = make_canary()
    con = ingest.connect()
    ds = ingest.load(con, frame)
    base, can = read_canary(
        con, ds, group="group", baseline="baseline", canary="canary", metrics=["latency_ms", "cpu"]
    )
    np.testing.assert_allclose(base["latency_ms"], frame[frame.group == "baseline"].latency_ms)
    np.testing.assert_allclose(can["cpu"], frame[frame.group == "canary"].cpu)


def test_bad_launch_files_canary_and_shadow():
    con = ingest.connect()
    one = ingest.load(con, BAD / "canary_one_group.csv")
    with pytest.raises(InputError, match=r"No row of .* has 'canary' in 'group'"):
        read_canary(
            con, one, group="group", baseline="baseline", canary="canary", metrics=["latency_ms"]
        )
    text = ingest.load(con, BAD / "canary_text_metric.csv")
    with pytest.raises(InputError, match="holds text, not numbers"):
        read_canary(
            con, text, group="group", baseline="baseline", canary="canary", metrics=["latency_ms"]
        )
    shadow = ingest.load(con, BAD / "shadow_text_latency.csv")
    frame = read_columns(con, shadow, list(shadow.names))
    with pytest.raises(InputError, match="latency columns must hold numbers"):
        compare_shadow(
            frame,
            current="current_score",
            new="new_score",
            current_latency="current_latency_ms",
            new_latency="new_latency_ms",
        )
