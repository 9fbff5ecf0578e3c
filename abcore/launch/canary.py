"""Canary and shadow analysis, and a traffic ramp plan.

**Canary** (in the spirit of Netflix's Kayenta judge, NetflixACAJudge): the baseline and the
canary run side by side; each metric's samples (one value per minute, say) are compared with a
Mann-Whitney test and the Hodges-Lehmann shift with its distribution-free interval (Kayenta's
classifier uses that interval at confidence 0.98). A metric is classified *high* or *low* when
the interval excludes zero **and** the shift is beyond a relative tolerance in the direction
that counts as a failure for it; otherwise *pass*. The score is the weighted share of passing
metrics (0 if a critical metric fails, as Kayenta's WeightedSumScorer); the verdict is
*promote* at or above the pass score (Kayenta's default 95), *hold* at or above the marginal
score (75), *roll back* below it. On 1,000 seeded A-vs-A canaries (4 metrics x 120 minutes,
``tests/test_canary.py``) none was rolled back and 2.3% were held; the 98% interval covered the
true shift in 97.75% of 2,000 skewed samples.

**Shadow**: the new model answers the same requests as the current one without serving its
answer; :func:`compare_shadow` reports how often they agree, the paired difference of their
scores (and latencies) with a confidence interval, and the requests where they differ most.

**Ramp**: :func:`ramp_plan` tells how long each traffic step (1% -> 5% -> 25% -> 50%) must run to
detect a given harm on a guardrail at that traffic, from :mod:`abcore.power`.

>>> rng = np.random.default_rng(0)
>>> base, canary = rng.normal(100, 10, 120), rng.normal(130, 10, 120)
>>> j = judge_metric("latency_ms", base, canary, fail_on="increase")
>>> j.classification, round(j.shift)
('high', 28)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.stats import mannwhitneyu, norm
from scipy.stats import t as student_t

from abcore import config
from abcore import power as power_calc
from abcore._checks import check_scalar
from abcore.errors import InputError
from abcore.launch.sql import first_rows_sql, group_numbers_sql, value_counts_sql

if TYPE_CHECKING:
    import duckdb

    from abcore.ingest import Dataset

__all__ = [
    "CanaryMetric",
    "CanaryResult",
    "MetricJudgement",
    "RampStep",
    "ShadowResult",
    "compare_shadow",
    "group_levels",
    "guess_fail_on",
    "hodges_lehmann",
    "judge_canary",
    "judge_metric",
    "ramp_plan",
    "read_canary",
    "read_columns",
]

FailOn = Literal["increase", "decrease", "either"]
FAIL_ON: tuple[str, ...] = ("increase", "decrease", "either")


# --------------------------------------------------------------------------------------------
# Hodges-Lehmann shift and its distribution-free interval
# --------------------------------------------------------------------------------------------


class ShiftEstimate(NamedTuple):
    """Hodges-Lehmann shift of ``y`` over ``x`` (median of all differences y_j - x_i)."""

    shift: float
    ci_low: float
    ci_high: float


def _count_at_most(x_sorted: NDArray[np.float64], y: NDArray[np.float64], d: float) -> int:
    """Number of pairs with ``y_j - x_i <= d``."""
    return int((x_sorted.size - np.searchsorted(x_sorted, y - d, side="left")).sum())


def _kth_difference(x_sorted: NDArray[np.float64], y: NDArray[np.float64], k: int) -> float:
    """The k-th smallest (1-based) of the ``n_x * n_y`` differences, without forming them.

    Bisection on the value: the count of differences at most ``d`` is a sum of binary
    searches, so memory stays O(n) whatever the sample sizes.
    """
    if x_sorted.size * y.size <= 4_000_000:
        diffs = (y[:, None] - x_sorted[None, :]).ravel()
        return float(np.partition(diffs, k - 1)[k - 1])
    lo = float(y.min() - x_sorted.max())
    hi = float(y.max() - x_sorted.min())
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if _count_at_most(x_sorted, y, mid) >= k:
            hi = mid
        else:
            lo = mid
    return hi


def hodges_lehmann(
    x: ArrayLike, y: ArrayLike, *, confidence: float = config.CANARY_CONFIDENCE
) -> ShiftEstimate:
    """Shift of ``y`` relative to ``x`` and Moses' distribution-free interval.

    The interval runs from the ``(C + 1)``-th to the ``(N - C)``-th smallest of the
    ``N = n_x n_y`` pairwise differences, with ``C`` from the normal approximation of the
    Mann-Whitney statistic (as R's ``wilcox.test(y, x, conf.int=TRUE, exact=FALSE,
    correct=FALSE)`` without ties).

    >>> e = hodges_lehmann([1, 2, 3, 4, 5], [3, 4, 5, 6, 7], confidence=0.9)
    >>> e.shift
    2.0
    """
    check_scalar(confidence, "confidence", gt=0, lt=1)
    xs = np.sort(np.asarray(x, dtype=float))
    ys = np.asarray(y, dtype=float)
    n_x, n_y = xs.size, ys.size
    total = n_x * n_y
    if total % 2:
        shift = _kth_difference(xs, ys, total // 2 + 1)
    else:
        shift = (_kth_difference(xs, ys, total // 2) + _kth_difference(xs, ys, total // 2 + 1)) / 2
    z = float(norm.isf((1 - confidence) / 2))
    c = math.floor(total / 2 - z * math.sqrt(n_x * n_y * (n_x + n_y + 1) / 12))
    c = max(c, 0)
    low = _kth_difference(xs, ys, c + 1)
    high = _kth_difference(xs, ys, total - c)
    return ShiftEstimate(shift, low, high)


# --------------------------------------------------------------------------------------------
# Canary judge
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CanaryMetric:
    """How one metric is judged.

    ``fail_on``: the direction of change that counts as a failure ("increase" for latency
    and errors, "decrease" for orders, "either"); ``weight``: its share of the score;
    ``critical``: a failure zeroes the score (Kayenta's critical metrics);
    ``tolerance``: relative shift (of the baseline median) allowed before failing.
    """

    name: str
    fail_on: FailOn = "either"
    weight: float = 1.0
    critical: bool = False
    tolerance: float = config.CANARY_TOLERANCE

    def __post_init__(self) -> None:
        check_scalar(self.fail_on, "fail_on", in_=FAIL_ON)
        check_scalar(self.weight, "weight", gt=0)
        check_scalar(self.tolerance, "tolerance", ge=0)


_WORSE_WHEN_UP = ("latency", "_ms", "error", "fail", "timeout", "cpu", "memory", "crash", "5xx")
_WORSE_WHEN_DOWN = ("order", "revenue", "conversion", "click", "success", "throughput", "sales")


def guess_fail_on(name: str) -> str:
    """The failure direction a metric's name suggests (the user can change it).

    >>> guess_fail_on("latency_ms"), guess_fail_on("orders"), guess_fail_on("queue_depth")
    ('increase', 'decrease', 'either')
    """
    lowered = name.lower()
    if any(k in lowered for k in _WORSE_WHEN_UP):
        return "increase"
    if any(k in lowered for k in _WORSE_WHEN_DOWN):
        return "decrease"
    return "either"


class MetricJudgement(NamedTuple):
    """One metric's comparison and classification."""

    name: str
    n_baseline: int
    n_canary: int
    baseline_median: float
    canary_median: float
    shift: float
    ci_low: float
    ci_high: float
    rel_shift: float
    """``shift / |baseline median|`` (nan when the median is 0)."""
    p_value: float
    classification: str
    """"pass", "high", "low" (a failure in that direction) or "nodata"."""
    moved: str
    """"up", "down" or "no clear change": what the data show, whatever the failure direction."""
    weight: float
    critical: bool
    fail_on: str
    tolerance: float

    @property
    def failed(self) -> bool:
        return self.classification in ("high", "low")


def _clean(values: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]


def judge_metric(
    name: str,
    baseline: ArrayLike,
    canary: ArrayLike,
    *,
    fail_on: str = "either",
    tolerance: float = config.CANARY_TOLERANCE,
    confidence: float = config.CANARY_CONFIDENCE,
    weight: float = 1.0,
    critical: bool = False,
) -> MetricJudgement:
    """Compare one metric's canary samples with the baseline's (Mann-Whitney, Hodges-Lehmann).

    Missing and infinite values are dropped (Kayenta's default NaN strategy, "remove"); a side
    left with no value gives "nodata", which does not count in the score.

    >>> judge_metric("errors", [1, 2, 3] * 20, [1, 2, 3] * 20).classification
    'pass'
    """
    spec = CanaryMetric(name, fail_on, weight, critical, tolerance)  # validates
    check_scalar(confidence, "confidence", gt=0, lt=1)
    x, y = _clean(baseline), _clean(canary)
    nan = float("nan")
    if x.size == 0 or y.size == 0:
        return MetricJudgement(
            name,
            x.size,
            y.size,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            "nodata",
            "no data",
            spec.weight,
            spec.critical,
            spec.fail_on,
            spec.tolerance,
        )
    est = hodges_lehmann(x, y, confidence=confidence)
    p = float(mannwhitneyu(y, x, alternative="two-sided").pvalue) if x.size and y.size else nan
    if np.array_equal(np.sort(x), np.sort(y)):
        p = 1.0
    median = float(np.median(x))
    scale = abs(median) if median != 0 else float(np.mean(np.abs(x)))
    rel = (
        est.shift / scale
        if scale > 0
        else (0.0 if est.shift == 0 else math.copysign(1e9, est.shift))
    )
    up = est.ci_low > 0 and rel > tolerance
    down = est.ci_high < 0 and rel < -tolerance
    moved = "up" if est.ci_low > 0 else "down" if est.ci_high < 0 else "no clear change"
    classification = "pass"
    if up and spec.fail_on in ("increase", "either"):
        classification = "high"
    elif down and spec.fail_on in ("decrease", "either"):
        classification = "low"
    return MetricJudgement(
        name,
        int(x.size),
        int(y.size),
        median,
        float(np.median(y)),
        est.shift,
        est.ci_low,
        est.ci_high,
        rel,
        p,
        classification,
        moved,
        spec.weight,
        spec.critical,
        spec.fail_on,
        spec.tolerance,
    )


@dataclass(frozen=True)
class CanaryResult:
    """The judge's verdict with each metric's reading."""

    metrics: tuple[MetricJudgement, ...]
    score: float
    verdict: str
    """"promote", "hold" or "roll back"."""
    pass_score: float
    marginal_score: float
    reasons: tuple[str, ...]

    def table(self) -> pd.DataFrame:
        """One row per metric, for display and export."""
        return pd.DataFrame([m._asdict() for m in self.metrics])


def _fmt(value: float) -> str:
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def judge_canary(
    baseline: Mapping[str, ArrayLike],
    canary: Mapping[str, ArrayLike],
    metrics: Sequence[CanaryMetric],
    *,
    confidence: float = config.CANARY_CONFIDENCE,
    pass_score: float = config.CANARY_PASS_SCORE,
    marginal_score: float = config.CANARY_MARGINAL_SCORE,
) -> CanaryResult:
    """Judge a canary on several metrics and give a verdict.

    Args:
        baseline: Metric name -> baseline samples.
        canary: Metric name -> canary samples.
        metrics: How each metric is judged (its name must be a key of both mappings).
        confidence: Confidence of each metric's interval.
        pass_score: Score (0-100) at or above which the canary is promoted.
        marginal_score: Score below which it is rolled back; in between: hold.

    >>> rng = np.random.default_rng(1)
    >>> b = {"latency": rng.normal(100, 5, 90), "orders": rng.normal(50, 5, 90)}
    >>> c = {"latency": rng.normal(100, 5, 90), "orders": rng.normal(50, 5, 90)}
    >>> judge_canary(b, c, [CanaryMetric("latency", "increase"), CanaryMetric("orders")]).verdict
    'promote'
    """
    check_scalar(pass_score, "pass_score", ge=0, le=100)
    check_scalar(marginal_score, "marginal_score", ge=0, le=pass_score)
    if not metrics:
        raise ValueError("metrics must name at least one metric.")
    judged = []
    for m in metrics:
        if m.name not in baseline or m.name not in canary:
            raise ValueError(f"metrics names '{m.name}', which is not in baseline and canary.")
        judged.append(
            judge_metric(
                m.name,
                baseline[m.name],
                canary[m.name],
                fail_on=m.fail_on,
                tolerance=m.tolerance,
                confidence=confidence,
                weight=m.weight,
                critical=m.critical,
            )
        )
    with_data = [j for j in judged if j.classification != "nodata"]
    total = sum(j.weight for j in with_data)
    score = 100 * sum(j.weight for j in with_data if not j.failed) / total if total else 0.0
    critical_failed = [j for j in with_data if j.failed and j.critical]
    if critical_failed:
        score = 0.0
    if score >= pass_score and with_data:
        verdict = "promote"
    elif score >= marginal_score and with_data:
        verdict = "hold"
    else:
        verdict = "roll back"
    reasons = []
    for j in judged:
        if j.classification == "nodata":
            reasons.append(f"{j.name}: no data on one side; not scored.")
        elif j.failed:
            word = "higher" if j.classification == "high" else "lower"
            reasons.append(
                f"{j.name} is {abs(j.rel_shift):.0%} {word} on the canary "
                f"(median {_fmt(j.baseline_median)} -> {_fmt(j.canary_median)}), beyond the "
                f"{j.tolerance:.0%} tolerance" + (" (critical metric)." if j.critical else ".")
            )
    if not reasons:
        reasons.append("Every metric is within its tolerance of the baseline.")
    return CanaryResult(tuple(judged), score, verdict, pass_score, marginal_score, tuple(reasons))


# --------------------------------------------------------------------------------------------
# Shadow
# --------------------------------------------------------------------------------------------


class PairedDifference(NamedTuple):
    """Mean of ``new - current`` over requests, with a paired t interval."""

    mean_current: float
    mean_new: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int


@dataclass(frozen=True)
class ShadowResult:
    """Agreement of the new model with the current one on the same requests."""

    n_requests: int
    agreement: float
    agreement_ci_low: float
    agreement_ci_high: float
    score: PairedDifference | None
    latency: PairedDifference | None
    top_disagreements: pd.DataFrame
    decision_threshold: float | None


def _paired(
    current: NDArray[np.float64], new: NDArray[np.float64], alpha: float
) -> PairedDifference:
    d = new - current
    n = d.size
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    if se == 0:
        p = 1.0 if mean == 0 else 0.0
        return PairedDifference(float(current.mean()), float(new.mean()), mean, mean, mean, p, n)
    crit = float(student_t.isf(alpha / 2, n - 1))
    p = float(2 * student_t.sf(abs(mean / se), n - 1))
    return PairedDifference(
        float(current.mean()), float(new.mean()), mean, mean - crit * se, mean + crit * se, p, n
    )


def _wilson(k: int, n: int, alpha: float) -> tuple[float, float]:
    z = float(norm.isf(alpha / 2))
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def compare_shadow(
    frame: pd.DataFrame,
    *,
    current: str,
    new: str,
    request: str | None = None,
    current_latency: str | None = None,
    new_latency: str | None = None,
    decision_threshold: float | None = config.SHADOW_DECISION_THRESHOLD,
    alpha: float = config.ALPHA,
    top: int = config.SHADOW_TOP_DISAGREEMENTS,
) -> ShadowResult:
    """Compare paired per-request outputs of the current and the new model.

    Numeric outputs (scores) agree when both fall on the same side of ``decision_threshold``
    (``None``: when equal); text outputs (labels) agree when equal. The score difference is
    a paired t interval (as ``scipy.stats.ttest_rel``); the agreement rate has a Wilson
    interval. Requests with a missing output on either side are left out.

    Raises:
        InputError: a column is missing, or no request has both outputs.

    >>> f = pd.DataFrame({"cur": [0.1, 0.7, 0.4, 0.9], "new": [0.2, 0.6, 0.6, 0.8]})
    >>> compare_shadow(f, current="cur", new="new").agreement
    0.75
    """
    check_scalar(alpha, "alpha", gt=0, lt=1)
    check_scalar(top, "top", ge=1)
    cols = [c for c in (request, current, new, current_latency, new_latency) if c]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InputError(
            f"The column '{missing[0]}' is not in the shadow file: pick the columns holding "
            "the current and the new model's output for each request."
        )
    if current == new:
        raise InputError("The current and new outputs must be two different columns.")
    data = frame[cols].dropna(subset=[current, new])
    if data.empty:
        raise InputError(
            "No request has both a current and a new output: check the two output columns."
        )
    cur, nxt = data[current], data[new]
    numeric = pd.api.types.is_numeric_dtype(cur) and pd.api.types.is_numeric_dtype(nxt)
    if numeric:
        c, n = cur.to_numpy(dtype=float), nxt.to_numpy(dtype=float)
        if decision_threshold is None:
            agree = c == n
        else:
            agree = (c >= decision_threshold) == (n >= decision_threshold)
        score = _paired(c, n, alpha)
        gap = np.abs(n - c)
    else:
        agree = cur.astype(str).to_numpy() == nxt.astype(str).to_numpy()
        score = None
        gap = (~agree).astype(float)
    latency = None
    if current_latency and new_latency:
        lat = data[[current_latency, new_latency]].dropna()
        if not lat.empty:
            try:
                latency = _paired(
                    lat[current_latency].to_numpy(dtype=float),
                    lat[new_latency].to_numpy(dtype=float),
                    alpha,
                )
            except (TypeError, ValueError) as exc:
                raise InputError(
                    "The latency columns must hold numbers (milliseconds, say): pick other "
                    "columns or leave them empty."
                ) from exc
    k, total = int(agree.sum()), int(agree.size)
    low, high = _wilson(k, total, alpha)
    order = np.argsort(-gap, kind="stable")[:top]
    worst = data.iloc[order].assign(difference=(nxt - cur).iloc[order] if numeric else None)
    worst = worst[worst.columns.drop("difference")] if not numeric else worst
    return ShadowResult(
        total,
        k / total,
        low,
        high,
        score,
        latency,
        worst.reset_index(drop=True),
        decision_threshold if numeric else None,
    )


# --------------------------------------------------------------------------------------------
# Ramp plan
# --------------------------------------------------------------------------------------------


class RampStep(NamedTuple):
    """One traffic step: the share on the new version and how long it must run."""

    share: float
    n_new: int
    n_current: int
    hours: float
    days: int


def ramp_plan(
    daily_units: float,
    baseline: float,
    harm: float = config.RAMP_GUARDRAIL_HARM,
    *,
    steps: Sequence[float] = config.RAMP_STEPS,
    sd: float | None = None,
    alpha: float = config.ALPHA,
    power: float = config.POWER,
) -> tuple[RampStep, ...]:
    """How long each traffic step must run to detect ``harm`` on a guardrail.

    At share ``s`` the new version gets ``s`` of the traffic and the current version the
    rest (ratio ``s / (1 - s)``); the one-sided test for harm is sized with
    :func:`abcore.power.sample_size_proportion` (a rate such as errors, ``sd=None``) or
    :func:`abcore.power.sample_size_mean` (a mean such as latency, with its ``sd``); the
    step must run until ``n_total`` units have arrived.

    Args:
        daily_units: Requests (or users) a day across both versions.
        baseline: The guardrail's current rate (or mean, with ``sd``).
        harm: Relative harm to detect (0.10: 10% worse, in the increasing direction).
        steps: Traffic shares of the new version, each in (0, 1).

    >>> [round(s.hours) for s in ramp_plan(1_000_000, 0.01, 0.10)]  # errors at 1%, +10%
    [153, 32, 8, 6]
    """
    check_scalar(daily_units, "daily_units", gt=0)
    check_scalar(harm, "harm", gt=0)
    if not steps:
        raise ValueError("steps must hold at least one traffic share.")
    out = []
    for share in steps:
        check_scalar(share, "steps", gt=0, lt=1)
        ratio = share / (1 - share)
        options = {"alpha": alpha, "power": power, "alternative": "greater", "ratio": ratio}
        if sd is None:
            size = power_calc.sample_size_proportion(baseline, harm, **options)
        else:
            size = power_calc.sample_size_mean(baseline, sd, harm, **options)
        hours = size.n_total / (daily_units / 24)
        days = power_calc.duration_days(size.n_total, daily_units)
        out.append(RampStep(share, int(size.n_treatment), int(size.n_control), hours, int(days)))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Reading uploads through DuckDB
# --------------------------------------------------------------------------------------------


def group_levels(con: duckdb.DuckDBPyConnection, dataset: Dataset, group: str) -> list[str]:
    """The values of the column that says baseline or canary (most frequent first, at most 10).

    Raises:
        InputError: the column is missing, or holds more than 10 values (it names servers or
            requests, not the two deployments).
    """
    if group not in dataset.names:
        raise InputError(
            f"The column '{group}' is not in {dataset.source}: pick the column that says "
            "whether a row comes from the baseline or the canary."
        )
    rows = con.execute(value_counts_sql(dataset.table, group), [11]).fetchall()
    if len(rows) > 10:
        raise InputError(
            f"The column '{group}' has more than 10 different values; the group column names "
            "the two deployments (such as baseline and canary). Pick another column."
        )
    return [str(v) for v, _ in rows]


def read_canary(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    *,
    group: str,
    baseline: str,
    canary: str,
    metrics: Sequence[str],
) -> tuple[dict[str, NDArray[np.float64]], dict[str, NDArray[np.float64]]]:
    """Each metric's baseline and canary samples from a long table (one row per interval).

    The group labels are bound as parameters; column names are quoted.

    Raises:
        InputError: a column is missing or holds text, a group label is absent, the two
            labels are the same, or no metric is chosen.
    """
    if not metrics:
        raise InputError("Choose at least one metric column to judge the canary on.")
    if baseline == canary:
        raise InputError("The baseline and the canary must be two different groups.")
    for col in [group, *metrics]:
        if col not in dataset.names:
            raise InputError(
                f"The column '{col}' is not in {dataset.source}: pick one of "
                f"{', '.join(repr(n) for n in dataset.names[:8])}."
            )
    types = dataset.types
    text = [m for m in metrics if not _is_numeric_type(types.get(m, ""))]
    if text:
        raise InputError(
            f"The metric column '{text[0]}' holds text, not numbers: pick a numeric column "
            "(latency, error rate, orders...)."
        )
    levels = group_levels(con, dataset, group)
    for label in (baseline, canary):
        if label not in levels:
            raise InputError(
                f"No row of {dataset.source} has '{label}' in '{group}': pick the values that "
                f"name the baseline and the canary (found {', '.join(levels[:5])})."
            )
    sql = group_numbers_sql(dataset.table, metrics, group)
    out = []
    for label in (baseline, canary):
        frame = con.execute(sql, [label]).df()
        out.append({m: frame[m].to_numpy(dtype=float, na_value=np.nan) for m in metrics})
    return out[0], out[1]


def read_columns(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    columns: Sequence[str],
    *,
    max_rows: int = config.DRIFT_MAX_ROWS,
) -> pd.DataFrame:
    """Some columns of an upload as a pandas frame (the first ``max_rows`` rows).

    Raises:
        InputError: a column is missing.
    """
    for col in columns:
        if col not in dataset.names:
            raise InputError(
                f"The column '{col}' is not in {dataset.source}: pick one of "
                f"{', '.join(repr(n) for n in dataset.names[:8])}."
            )
    return con.execute(first_rows_sql(dataset.table, columns), [int(max_rows)]).df()


_NUMERIC_PREFIXES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL", "BOOLEAN",
)  # fmt: skip


def _is_numeric_type(duck_type: str) -> bool:
    return duck_type.upper().startswith(_NUMERIC_PREFIXES)
