"""Group sequential read at unplanned times: the bounds over the looks actually made.

Lan-DeMets spending lets a test be read at any times, as long as every look is counted: the
boundary at a read is the one of the design over all the reads so far, at their information
fractions (Spotify's confidence computes its bounds over the time points in the data the
same way). The readout passes the earlier looks as ``ReadoutOptions.earlier_looks`` (shares
of the current units; :func:`abcore.analysis.analyze_aggregates` takes them from the days in
the data). Before, each read was taken as the next planned look and the earlier unplanned
reads were forgotten, so every read spent alpha again.

Calibration: 100,000 seeded A/A runs per schedule, the z-statistic a Brownian motion read
at each schedule's information fractions (vectorised), each read compared with the
boundary the product computes at that read (:func:`abcore.peeking.rule_for` on the
readout's options, :meth:`PeekingRule.z_boundary`). Two-sided at alpha = 5% is the readout
and the lift-over-time chart's first day excluding zero; one-sided at 2.5% is the decision's
early "ship" (a two-sided plan ships on a one-sided test at alpha / 2). Measured (seed
20261207; 99.9% band +-0.23 points around 5%, +-0.16 around 2.5%):

=========================  =============  =============  ===========================
reads of a 28-day plan     before, K = 4  before, K = 2  after (K = 4 and K = 2 alike)
=========================  =============  =============  ===========================
daily, two-sided 5%        6.89%          8.05%          5.04%
daily, one-sided win 2.5%  3.42%          4.02%          2.49%
daily, one-sided harm      3.47%          4.03%          2.56%
weekly, two-sided          5.00%          5.68%          5.00%
weekly, one-sided win      2.52%          2.86%          2.52%
weekly, one-sided harm     2.48%          2.82%          2.48%
irregular, two-sided       5.97%          7.04%          5.01%
irregular, one-sided win   3.02%          3.55%          2.53%
irregular, one-sided harm  2.94%          3.49%          2.48%
=========================  =============  =============  ===========================

Weekly reads are the planned looks of K = 4 (days 7, 14, 21, 28), which were right before;
irregular reads are days 2, 3, 5, 9, 10, 13, 16, 20, 23, 25, 27, 28. "Before" used the same
paths and the same bound function without the earlier looks. After the fix the planned K
no longer changes the bounds (it still prices the plan's size).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from abcore.model import ReadoutOptions
from abcore.peeking import rule_for

SIMS = 100_000
PLANNED = 40_000
SEED = 20261207
Z999 = norm.isf(0.0005)
SCHEDULES = {
    "daily": np.arange(1, 29) / 28,
    "weekly": np.array([7, 14, 21, 28]) / 28,
    "irregular": np.array([2, 3, 5, 9, 10, 13, 16, 20, 23, 25, 27, 28]) / 28,
}


def band(rate: float, reps: int = SIMS) -> float:
    return Z999 * math.sqrt(rate * (1 - rate) / reps)


def product_boundaries(
    fractions: np.ndarray, alpha: float, alternative: str, looks: int
) -> np.ndarray:
    """The boundary at each read, as the readout computes it at that read."""
    out = []
    for k, t in enumerate(fractions):
        options = ReadoutOptions(
            method="group_sequential",
            planned_n=PLANNED,
            looks=looks,
            earlier_looks=tuple(float(f / t) for f in fractions[:k]),
        )
        out.append(rule_for(options).z_boundary(t * PLANNED, alpha, alternative))
    return np.asarray(out)


def aa_paths(fractions: np.ndarray, seed: int) -> np.ndarray:
    """z-statistics of SIMS null runs at ``fractions``: W(t) / sqrt(t), W a Brownian motion."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(size=(SIMS, fractions.size)) * np.sqrt(np.diff(fractions, prepend=0.0))
    return np.cumsum(steps, axis=1) / np.sqrt(fractions)


@pytest.mark.parametrize("looks", [4, 2])
@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_reads_at_any_times_keep_alpha(schedule: str, looks: int, record_property) -> None:
    fractions = SCHEDULES[schedule]
    z = aa_paths(fractions, SEED)
    two = product_boundaries(fractions, 0.05, "two-sided", looks)
    win = product_boundaries(fractions, 0.025, "greater", looks)
    harm = product_boundaries(fractions, 0.025, "less", looks)
    rates = {
        "two_sided": float((np.abs(z) >= two).any(axis=1).mean()),
        "win": float((z >= win).any(axis=1).mean()),
        "harm": float((z <= -harm).any(axis=1).mean()),
    }
    for key, rate in rates.items():
        record_property(f"{schedule}.K{looks}.{key}", round(rate, 5))
    print(f"\n{schedule}, K = {looks}:", {k: f"{v:.2%}" for k, v in rates.items()})
    assert abs(rates["two_sided"] - 0.05) <= band(0.05)
    assert abs(rates["win"] - 0.025) <= band(0.025)
    assert abs(rates["harm"] - 0.025) <= band(0.025)


# --- the product path: the readout, the lift over time and the decision read the days -----


def test_the_lift_over_time_uses_every_earlier_day_as_a_look():
    import dataclasses

    import abcore
    from abcore import ExperimentPlan, MetricSpec
    from abcore.sequential import group_sequential_design
    from sample_data.generate import make_scenario

    df = make_scenario("clean_win")
    plan = ExperimentPlan(
        metrics=(MetricSpec("converted", baseline=0.10, mde=0.10),),
        planned_n_per_arm=60_000,
        planned_days=35,
    )
    fixed = abcore.analyze(df, variant="variant", plan=plan)
    gs = abcore.analyze(
        df, variant="variant", plan=dataclasses.replace(plan, method="group_sequential")
    )
    units = fixed.daily.groupby("day", sort=False)[["units_control", "units_treatment"]].first()
    cum = units.sum(axis=1).cumsum().to_numpy(dtype=float)
    total = sum(fixed.aggregates.counts().values())
    # the readout's looks: the end of each earlier day, as shares of the units now
    assert gs.options.earlier_looks == pytest.approx(tuple(cum[:-1] / total))
    planned = gs.options.planned_n
    f = fixed.daily[fixed.daily["metric"] == "converted"].reset_index(drop=True)
    g = gs.daily[gs.daily["metric"] == "converted"].reset_index(drop=True)
    checked = 0
    for i in range(len(g)):
        if not g["p_value"][i] < 1:
            continue
        n = float(f["n_control"][i] + f["n_treatment"][i])
        fractions = [round(float(c / cum[i]) * (n / planned), 4) for c in cum[: i + 1]]
        fractions[-1] = round(n / planned, 4)
        bound = group_sequential_design(fractions).boundaries[-1]
        # the day's group-sequential p is p_fixed x alpha / nominal, nominal = 2 sf(bound)
        implied = norm.isf(f["p_value"][i] * 0.05 / g["p_value"][i] / 2)
        assert implied == pytest.approx(bound, rel=1e-6), i
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize(
    ("earlier", "match"),
    [
        ((0.5, 0.25), "earlier_looks must be strictly increasing"),
        ((0.0, 0.5), "earlier_looks must be > 0"),
        ((0.5, 1.0), "earlier_looks must be < 1"),
    ],
)
def test_bad_earlier_looks_name_the_parameter(earlier, match) -> None:
    from abcore.peeking import PeekingRule

    with pytest.raises(ValueError, match=match):
        ReadoutOptions(method="group_sequential", planned_n=PLANNED, earlier_looks=earlier)
    with pytest.raises(ValueError, match=match):
        PeekingRule("group_sequential", planned_n=PLANNED, earlier=earlier)
