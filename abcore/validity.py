"""Validity checks: can the experiment's numbers be trusted at all?

Kohavi's rule: a failed trust check means there is no result to read. This module holds the
checks that work on aggregates (sample ratio mismatch first); each returns a typed result
that pages turn into sentences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from abcore import config, stats
from abcore._checks import check_scalar
from abcore.compare import compare_stats, daily_stats
from abcore.model import Aggregates, Check, ReadoutOptions
from abcore.sql import aa_simulation_sql
from abcore.stats import adjust_p_values, compare_samples
from abcore.suffstats import PairStatistic, SampleMean

__all__ = [
    "AAResult",
    "ArmShare",
    "SRMResult",
    "TrendResult",
    "aa_simulation_sql",
    "duration_checks",
    "effect_trend",
    "exclude_days",
    "preperiod_balance",
    "simulate_aa",
    "srm_by_day",
    "srm_by_segment",
    "srm_test",
]


@dataclass(frozen=True)
class ArmShare:
    """Observed versus expected share of units in one arm."""

    arm: str
    observed: int
    expected: float
    observed_share: float
    expected_share: float

    @property
    def relative_gap(self) -> float:
        """How far the arm is off, relative to what was expected (+0.02: 2% too many)."""
        return self.observed / self.expected - 1 if self.expected else float("nan")


@dataclass(frozen=True)
class SRMResult:
    """Chi-square goodness-of-fit test of the arm counts against the planned split.

    ``flagged`` is True when ``p_value < threshold`` (a failure: the randomization or the
    logging is broken); ``status`` adds a "warn" band between the threshold and
    ``warn_threshold``, where a mismatch is worth a look but not a verdict.
    """

    statistic: float
    p_value: float
    df: int
    flagged: bool
    status: str
    threshold: float
    arms: tuple[ArmShare, ...]

    @property
    def worst_arm(self) -> ArmShare:
        """The arm furthest from its expected count; on a tie, the one short of units (two
        arms, one lost: +100% and -100%, the lost one is the story)."""
        return max(self.arms, key=lambda a: (abs(a.relative_gap), -a.relative_gap))

    def message(self) -> str:
        worst = self.worst_arm
        gap = f"{worst.arm} has {worst.relative_gap:+.2%} units against the plan"
        if self.status == "fail":
            return (
                f"Sample ratio mismatch (p = {self.p_value:.2g} < {self.threshold:g}): {gap}. "
                "Units were lost or added unequally; results cannot be trusted until the "
                "cause is found."
            )
        if self.status == "warn":
            return (
                f"The split is a little off (p = {self.p_value:.2g}): {gap}. Not a failure at "
                f"the {self.threshold:g} threshold, but check the assignment and logging."
            )
        return f"The split matches the plan (p = {self.p_value:.2g})."


def srm_test(
    observed_counts: Sequence[float] | Mapping[str, float],
    expected_shares: Sequence[float] | Mapping[str, float] | None = None,
    *,
    threshold: float = config.SRM_THRESHOLD,
    warn_threshold: float = config.SRM_WARN_THRESHOLD,
) -> SRMResult:
    """Sample ratio mismatch: are the arm sizes consistent with the planned split?

    Args:
        observed_counts: units per arm (a mapping arm -> count, or a sequence).
        expected_shares: planned share per arm, in the same order or keyed by arm; equal
            shares when omitted. Shares are normalised to sum to 1.
        threshold: p-value below which the check fails (Kohavi's 0.001).
        warn_threshold: p-value below which the check warns.

    >>> r = srm_test({"gate_30": 44700, "gate_40": 45489})   # Cookie Cats
    >>> round(r.p_value, 4), r.status
    (0.0086, 'warn')
    """
    check_scalar(threshold, "threshold", gt=0, lt=1)
    check_scalar(warn_threshold, "warn_threshold", gt=0, lt=1)
    if isinstance(observed_counts, Mapping):
        names = [str(k) for k in observed_counts]
        counts = np.asarray(list(observed_counts.values()), dtype=float)
    else:
        counts = np.asarray(observed_counts, dtype=float)
        names = [f"arm {i}" for i in range(len(counts))]
    if counts.size < 2:
        raise ValueError("observed_counts must have at least two arms.")
    check_scalar(counts, "observed_counts", ge=0)
    if expected_shares is None:
        shares = np.full(counts.size, 1 / counts.size)
    elif isinstance(expected_shares, Mapping):
        missing = [n for n in names if n not in expected_shares]
        if missing and isinstance(observed_counts, Mapping):
            raise ValueError(f"expected_shares has no share for arm(s) {', '.join(missing)}.")
        shares = np.asarray([float(expected_shares[n]) for n in names])
    else:
        shares = np.asarray(expected_shares, dtype=float)
    if shares.size != counts.size:
        raise ValueError("expected_shares must have one share per arm.")
    check_scalar(shares, "expected_shares", gt=0)
    shares = shares / shares.sum()
    total = counts.sum()
    if total <= 0:
        raise ValueError("observed_counts must not all be zero.")
    expected = shares * total
    statistic, p_value = sps.chisquare(counts, expected)
    status = "fail" if p_value < threshold else "warn" if p_value < warn_threshold else "pass"
    arms = tuple(
        ArmShare(name, int(c), float(e), float(c / total), float(s))
        for name, c, e, s in zip(names, counts, expected, shares, strict=True)
    )
    return SRMResult(
        statistic=float(statistic),
        p_value=float(p_value),
        df=int(counts.size - 1),
        flagged=bool(p_value < threshold),
        status=status,
        threshold=threshold,
        arms=arms,
    )


# ---- SRM by day and by segment --------------------------------------------------------------


def srm_by_day(aggregates: Aggregates, expected_shares: Mapping[str, float]) -> pd.DataFrame:
    """The sample-ratio test on each day's new units: a broken day shows up as a spike.

    The days' p-values are Holm-adjusted before they get a status: 28 days tested at 5%
    each would show a red day on 76% of clean experiments (measured: 79%).

    Columns: ``day``, one ``n_<arm>`` per arm, ``control_share``,
    ``expected_control_share``, ``p_value``, ``p_value_adjusted``, ``status``.
    """
    rows = []
    for day in aggregates.days:
        counts = aggregates.counts(day=day)
        if sum(counts.values()) == 0:
            continue
        result = srm_test(counts, expected_shares)
        row = {"day": day, **{f"n_{a}": n for a, n in counts.items()}}
        row["control_share"] = result.arms[0].observed_share
        row["expected_control_share"] = result.arms[0].expected_share
        row["p_value"] = result.p_value
        rows.append(row)
    return _with_srm_status(pd.DataFrame(rows))


def _with_srm_status(frame: pd.DataFrame) -> pd.DataFrame:
    """Holm-adjusted p-values and the SRM status (fail / warn / pass) on them."""
    if frame.empty:
        return frame
    frame["p_value_adjusted"] = adjust_p_values(frame["p_value"].to_numpy(float), "holm")
    frame["status"] = [
        "fail" if p < config.SRM_THRESHOLD else "warn" if p < config.SRM_WARN_THRESHOLD else "pass"
        for p in frame["p_value_adjusted"]
    ]
    return frame


def srm_by_segment(aggregates: Aggregates, expected_shares: Mapping[str, float]) -> pd.DataFrame:
    """The sample-ratio test within each segment value, p-values Holm-adjusted.

    A mismatch confined to one platform or country points at the cause (a client bug, a
    redirect that loses users on one browser). A segment one arm lost entirely is the
    clearest such case: it stays in the table (that arm at -100%), it is never skipped.
    """
    seg = aggregates.rows("segment")
    rows = []
    for segment, value in (
        seg[["segment", "segment_value"]].drop_duplicates().itertuples(index=False)
    ):
        counts = aggregates.counts(segment=segment, value=value)
        if sum(counts.values()) == 0:
            continue
        result = srm_test(counts, expected_shares)
        rows.append(
            {
                "segment": segment,
                "segment_value": value,
                "units": sum(counts.values()),
                "worst_arm": result.worst_arm.arm,
                "gap": result.worst_arm.relative_gap,
                "p_value": result.p_value,
            }
        )
    return _with_srm_status(pd.DataFrame(rows))


# ---- pre-period balance ---------------------------------------------------------------------


def _covariate_sample(aggregates: Aggregates, spec: Any, arm: str, j: int) -> SampleMean:
    """The ``j``-th of a metric's ``covariates`` in one arm, from its moments."""
    s = aggregates.moments(spec.name, arm)
    i = (2 if spec.metric_kind.pair else 1) + j
    return SampleMean(round(float(s.n)), float(s.sums[i]), float(s.cross[i, i]), float(s.shifts[i]))


def _covariates_balance(
    aggregates: Aggregates, done: set[str], alpha: float
) -> list[tuple[str, str, Any]]:
    """Each column of the metrics' ``covariates`` lists not tested yet, once (on the units
    of the first metric that lists it)."""
    tests = []
    for spec in aggregates.mapping.metrics:
        for j, name in enumerate(spec.covariates):
            if name in done:
                continue
            done.add(name)
            control = _covariate_sample(aggregates, spec, aggregates.control, j)
            for arm in aggregates.treatments:
                treated = _covariate_sample(aggregates, spec, arm, j)
                tests.append((name, arm, compare_samples(control, treated, alpha=alpha)))
    return tests


def preperiod_balance(aggregates: Aggregates, *, alpha: float = config.ALPHA) -> list[Check]:
    """Are the arms alike *before* the experiment? A difference on a pre-period covariate
    means the randomization (or the covariate's logging) is broken: an A/A on old data.

    Tests each covariate's mean between the control and every arm (Welch); the threshold
    for failure is the SRM threshold after a Bonferroni split across the tests.
    """
    specs = [m for m in aggregates.mapping.metrics if m.covariate is not None]
    tests = []
    for spec in specs:
        control = aggregates.pair(spec.name, aggregates.control).x
        for arm in aggregates.treatments:
            c = compare_samples(control, aggregates.pair(spec.name, arm).x, alpha=alpha)
            tests.append((spec.covariate, arm, c))
    tests += _covariates_balance(aggregates, {t[0] for t in tests}, alpha)
    if not tests:
        return []
    k = len(tests)
    out = []
    for covariate, arm, c in tests:
        p = float(c.p_value)
        if p != p:
            continue
        status = "fail" if p * k < config.SRM_THRESHOLD else "warn" if p * k < alpha else "pass"
        text = (
            f"Before the test, {covariate} differed between {arm} and the control by "
            f"{c.rel_effect:+.2%} (p = {p:.2g})"
        )
        if status == "pass":
            text = f"The arms were alike before the test on {covariate} (p = {p:.2g})."
        elif status == "fail":
            text += ": the arms were not comparable to begin with; check the assignment."
        else:
            text += ": worth a look; CUPED corrects small chance imbalances."
        out.append(Check(f"Pre-period balance ({covariate}, {arm})", status, text, topic="balance"))
    return out


# ---- simulated A/A --------------------------------------------------------------------------


@dataclass(frozen=True)
class AAResult:
    """Re-randomized control arm: how often does a test of nothing come out significant?

    ``false_positive_rate`` should be close to ``alpha``; ``ci_low``/``ci_high`` is its 95%
    Clopper-Pearson interval; ``uniformity_p`` is a Kolmogorov-Smirnov test that the p-values
    are uniform, as they must be when nothing differs. ``p_values`` feed the histogram.
    """

    metric: str
    simulations: int
    alpha: float
    false_positive_rate: float
    ci_low: float
    ci_high: float
    uniformity_p: float
    p_values: np.ndarray
    randomization_unit: str | None
    analysis_rows: int

    @property
    def status(self) -> str:
        if self.ci_low > self.alpha:
            return "fail"
        return "warn" if self.uniformity_p < config.SRM_THRESHOLD else "pass"

    def message(self) -> str:
        rate = f"{self.false_positive_rate:.1%} (95% CI {self.ci_low:.1%}–{self.ci_high:.1%})"
        if self.status == "fail":
            return (
                f"{self.metric}: a test of nothing came out significant {rate} of the time, "
                f"against {self.alpha:.0%} expected. The metric's variance is underestimated, "
                "most often because rows are not independent (several rows per randomized "
                "unit): analyse it per unit, or as a ratio with the delta method."
            )
        if self.status == "warn":
            return (
                f"{self.metric}: false-positive rate {rate} is near {self.alpha:.0%}, but the "
                "p-values are not uniform (heavy tails or very few units)."
            )
        return (
            f"{self.metric}: false-positive rate {rate}, as expected for {self.alpha:.0%}: "
            "the test is calibrated on your own data."
        )


def simulate_aa(
    con: Any,
    dataset: Any,
    mapping: Any,
    metric: str,
    *,
    simulations: int = config.AA_SIMULATIONS,
    alpha: float = config.ALPHA,
    randomization_unit: str | None = None,
    seed: int = config.DEMO_SEED,
) -> AAResult:
    """Run a simulated A/A on the control arm of the uploaded data (see :class:`AAResult`)."""
    check_scalar(simulations, "simulations", ge=100, le=100_000)
    spec = mapping.metric(metric)
    if not spec.metric_kind.adds_up:
        raise ValueError(
            f"metric {metric!r} is a {spec.kind}: the simulated A/A re-splits sums, so it "
            "checks means; run it on the same column read as a continuous metric."
        )
    sql, params = aa_simulation_sql(
        dataset.table,
        mapping,
        metric,
        simulations=simulations,
        seed=seed,
        randomization_unit=randomization_unit,
    )
    frame = con.execute(sql, params).df()
    full = frame.pivot(index="s", columns="g").fillna(0.0)
    if full.shape[1] < 12:
        raise ValueError("the control arm is too small to split in two.")

    def side(g: int, col: str) -> np.ndarray:
        return full[(col, g)].to_numpy(dtype=float)

    n0, n1 = side(0, "n"), side(1, "n")

    def statistic(g: int) -> SampleMean | PairStatistic:
        """One half's statistic, read as the metric's kind reads it."""
        read = spec.metric_kind.statistic
        if read == "pair":
            sums = (side(g, name) for name in ("sy", "syy", "sx", "sxx", "sxy"))
            return PairStatistic(side(g, "n"), *sums)
        if read == "trials":
            return SampleMean(side(g, "sx"), side(g, "sy"), side(g, "sy"))
        return SampleMean(side(g, "n"), side(g, "sy"), side(g, "syy"))

    c = spec.metric_kind.test(statistic(0), statistic(1), alpha=alpha)
    p = np.asarray(c.p_value, dtype=float)
    p = p[~np.isnan(p)]
    if p.size == 0:
        raise ValueError(f"{metric} has no variance in the control arm: nothing to simulate.")
    hits = int((p < alpha).sum())
    ci = sps.binomtest(hits, p.size).proportion_ci(0.95, method="exact")
    return AAResult(
        metric=metric,
        simulations=int(p.size),
        alpha=alpha,
        false_positive_rate=hits / p.size,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        uniformity_p=float(sps.kstest(p, "uniform").pvalue),
        p_values=p,
        randomization_unit=randomization_unit or mapping.unit,
        analysis_rows=int((n0 + n1)[0]),
    )


# ---- novelty and primacy --------------------------------------------------------------------


@dataclass(frozen=True)
class TrendResult:
    """The effect by day and its trend: is an early lift fading (novelty) or growing
    (primacy)?

    ``by_day`` holds each day's own effect (not cumulative) with its CI; ``slope`` is the
    weighted least-squares change of the log lift per day, ``p_value`` its two-sided test
    (see :func:`_trend_test`); ``steady_state`` is the effect over the later half of the
    days, the estimate to trust when the effect moves.
    """

    metric: str
    arm: str
    by_day: pd.DataFrame
    slope: float
    slope_se: float
    p_value: float
    pattern: str  # "novelty" | "primacy" | "stable" | "too_short"
    steady_state: Any
    overall: Any

    @property
    def status(self) -> str:
        return "warn" if self.pattern in ("novelty", "primacy") else "pass"

    def message(self) -> str:
        late = self.steady_state
        late_text = (
            f"the later-days effect is {late.rel_effect:+.2%} "
            f"(CI {late.rel_ci_low:+.2%} to {late.rel_ci_high:+.2%})"
            if late is not None
            else ""
        )
        if self.pattern == "novelty":
            return (
                f"{self.metric} ({self.arm}): the effect fades over time (p = "
                f"{self.p_value:.2g} for a trend): a novelty effect. Trust the steady state: "
                f"{late_text}."
            )
        if self.pattern == "primacy":
            return (
                f"{self.metric} ({self.arm}): the effect grows over time (p = "
                f"{self.p_value:.2g}): users are still learning the change (primacy); "
                f"{late_text}. Consider running longer."
            )
        if self.pattern == "too_short":
            return f"{self.metric} ({self.arm}): fewer than 4 days, too short to see a trend."
        return (
            f"{self.metric} ({self.arm}): the effect is stable over time (p = "
            f"{self.p_value:.2g} for a trend)."
        )


def effect_trend(
    aggregates: Aggregates,
    metric: str,
    arm: str | None = None,
    *,
    alpha: float = config.ALPHA,
    direction: str = "increase",
    options: ReadoutOptions | None = None,
) -> TrendResult:
    """Each day's effect (units first exposed that day) and a test for a trend in it.

    ``options`` (or ``alpha``) are the readout's: the days are tested as the table tests the
    metric (CUPED on or off alike).
    """
    options = options or ReadoutOptions(alpha=alpha)
    alpha = options.alpha
    arm = arm or aggregates.treatments[0]
    spec = aggregates.mapping.metric(metric)
    if not spec.metric_kind.adds_up:
        raise ValueError(f"metric {metric!r} is a {spec.kind}: it has no effect by day.")
    days = list(aggregates.days)
    stats_c = daily_stats(aggregates, spec, aggregates.control)
    stats_t = daily_stats(aggregates, spec, arm)
    rows = []
    for day, sc, st_ in zip(days, stats_c, stats_t, strict=True):
        c = compare_stats(spec, sc, st_, options)
        log_lift, log_se = stats.log_lift(c)
        rows.append(
            {
                "day": day,
                "abs_effect": c.abs_effect,
                "se": c.se,
                "log_lift": log_lift,
                "log_se": log_se,
                "rel_effect": c.rel_effect,
                "rel_ci_low": c.rel_ci_low,
                "rel_ci_high": c.rel_ci_high,
                "n_control": sc.n,
                "n_treatment": st_.n,
            }
        )
    by_day = pd.DataFrame(rows)
    total_c, total_t = _sum(stats_c), _sum(stats_t)
    overall = compare_stats(spec, total_c, total_t, options)
    half = len(days) // 2
    steady = None
    if len(days) >= 2:
        steady = compare_stats(spec, _sum(stats_c[half:]), _sum(stats_t[half:]), options)
    slope, slope_se, p_value = _trend_test(by_day)
    if np.isnan(p_value):
        return TrendResult(
            metric, arm, by_day, np.nan, np.nan, np.nan, "too_short", steady, overall
        )
    good = 1.0 if direction == "increase" else -1.0
    lift_sign = np.sign(float(overall.abs_effect) * good) or 1.0
    pattern = "stable"
    if p_value < alpha:
        # A trend against the sign of the lift is a fading effect; with it, a growing one.
        fading = np.sign(slope * good) != lift_sign
        pattern = "novelty" if fading else "primacy"
    return TrendResult(metric, arm, by_day, slope, slope_se, p_value, pattern, steady, overall)


def _trend_test(by_day: pd.DataFrame) -> tuple[float, float, float]:
    """Slope of the daily log lift over the days, its standard error and two-sided p-value.

    The trend is read on the **log lift**, not the absolute effect: a constant relative
    lift on a metric that accumulates after exposure (early cohorts have had longer to
    spend) or that follows a weekly cycle moves the absolute effect day by day, which a
    test on the absolute scale reads as novelty (measured: 100% of such tests), while the
    log lift stays flat. Weighted least squares with the days' standard errors; NaN when
    fewer than 4 days have a defined log lift.
    """
    y = by_day["log_lift"].to_numpy(float)
    se = by_day["log_se"].to_numpy(float)
    ok = np.isfinite(y) & np.isfinite(se) & (se > 0)
    if ok.sum() < 4:
        return np.nan, np.nan, np.nan
    x = np.arange(len(by_day), dtype=float)[ok]
    y, w = y[ok], 1 / se[ok] ** 2
    xm = np.average(x, weights=w)
    sxx = np.sum(w * (x - xm) ** 2)
    slope = float(np.sum(w * (x - xm) * (y - np.average(y, weights=w))) / sxx)
    slope_se = float(np.sqrt(1 / sxx))
    return slope, slope_se, float(2 * sps.norm.sf(abs(slope / slope_se)))


def _sum(items: Sequence[Any]) -> Any:
    total = items[0]
    for s in items[1:]:
        total = total + s
    return total


# ---- duration -------------------------------------------------------------------------------


def duration_checks(
    aggregates: Aggregates,
    *,
    planned_n_per_arm: int | Mapping[str, int] | None = None,
    planned_days: int | None = None,
    method: str = "fixed",
) -> list[Check]:
    """Maturity: whole weekly cycles, at least a week, the planned size reached, no peeking.

    ``planned_n_per_arm`` is one size for every arm or a size per arm: with an unequal split
    each arm is held to its own planned size (a 10% arm never reaches the 90% arm's size).
    The checks are of kind "horizon": under a peeking-safe ``method`` ("always_valid",
    "group_sequential") the decision may stop before them, and reading before the planned
    end is not peeking.
    """
    out = []
    days = len(aggregates.days)
    if days:
        if days < config.MIN_DAYS:
            out.append(
                Check(
                    "Duration",
                    "warn",
                    f"The data covers {days} day(s): run at least {config.MIN_DAYS} "
                    "days so every weekday is in the test.",
                    "horizon",
                )
            )
        elif days % config.WEEK:
            out.append(
                Check(
                    "Duration",
                    "warn",
                    f"The data covers {days} days, not whole weeks: weekdays are "
                    f"over- or under-represented. Stop at {days + (-days) % 7} days.",
                    "horizon",
                )
            )
        else:
            weeks = days // 7
            out.append(
                Check(
                    "Duration",
                    "pass",
                    f"The data covers {days} days ({weeks} whole week{'s' if weeks > 1 else ''}).",
                    "horizon",
                )
            )
    counts = aggregates.counts()
    if planned_n_per_arm:
        targets = (
            dict(planned_n_per_arm)
            if isinstance(planned_n_per_arm, Mapping)
            else dict.fromkeys(counts, int(planned_n_per_arm))
        )
        reached = {a: counts.get(a, 0) / targets[a] for a in targets if targets[a]}
        behind = min(reached, key=reached.__getitem__)
        if reached[behind] < 1:
            out.append(
                Check(
                    "Planned sample size",
                    "warn",
                    f"Arm {behind} has {counts.get(behind, 0):,} units of the "
                    f"{targets[behind]:,} planned ({reached[behind]:.0%}): the test is "
                    "under-powered until it gets there.",
                    "horizon",
                )
            )
        else:
            sizes = set(targets.values())
            planned = (
                f"the planned {sizes.pop():,} units"
                if len(sizes) == 1
                else "its planned size ("
                + ", ".join(f"{a}: {n:,}" for a, n in targets.items())
                + ")"
            )
            out.append(
                Check("Planned sample size", "pass", f"Every arm reached {planned}.", "horizon")
            )
    if planned_days and days and days < planned_days:
        if method != "fixed":
            label = method.replace("_", " ")
            out.append(
                Check(
                    "Peeking",
                    "pass",
                    f"Read before the planned end with the {label} method, whose intervals and "
                    "p-values stay valid at every look: it may stop early for a clear win or a "
                    "clear harm; otherwise keep running to the planned size.",
                    "horizon",
                )
            )
        else:
            out.append(
                Check(
                    "Peeking",
                    "warn",
                    f"Analysed after {days} of {planned_days} planned days: stopping early "
                    "because a result looks significant inflates false positives. Read it "
                    "as a progress check, decide at the planned end.",
                    "horizon",
                )
            )
    return out


def exclude_days(aggregates: Aggregates, days: Sequence[Any]) -> Any:
    """The aggregates without the units first exposed on ``days`` (an outage, a campaign).

    Sufficient statistics add, so the overall rows are rebuilt from the remaining days
    without reading the file again. The segment breakdown cannot be rebuilt that way and is
    dropped.
    """
    frame = aggregates.frame
    day_rows = frame[frame["level"] == "day"]

    def key(value: Any) -> str:
        return str(value) if aggregates.mapping.day_label else str(pd.Timestamp(value).date())

    drop = {key(d) for d in days}
    keep = day_rows[~day_rows["day"].map(key).isin(drop)]
    if keep.empty:
        raise ValueError("days must leave at least one day of data.")
    numeric = [
        c for c in frame.columns if c not in ("level", "variant", "day", "segment", "segment_value")
    ]
    overall = keep.groupby("variant", as_index=False, sort=False)[numeric].sum()
    overall["level"] = "overall"
    overall = overall.reindex(columns=frame.columns)
    new = pd.concat([overall, keep], ignore_index=True)
    return Aggregates(
        new,
        aggregates.mapping,
        dict(aggregates.caps),
        dict(aggregates.shifts),
        dict(aggregates.floors),
    )
