"""One metric, two arms: the statistic each arm contributes, the test the metric's kind picks,
and the options the readout tests with.

Every table of the readout (:mod:`abcore.analysis`), the trend check
(:mod:`abcore.validity`) and the launch decision (:mod:`abcore.decision`) compare through
:func:`compare_stats`, so none of them can test a metric differently; they import this
module, and it imports none of them.

>>> from abcore.model import MetricMapping
>>> from abcore.suffstats import SampleMean
>>> spec = MetricMapping("converted", "binary")
>>> c = compare_stats(spec, SampleMean(1000, 100.0, 100.0), SampleMean(1000, 130.0, 130.0))
>>> round(float(c.abs_effect), 2)
0.03
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from abcore import config, peeking, regression, stats
from abcore.errors import InputError
from abcore.model import Aggregates, MetricMapping, ReadoutOptions
from abcore.plan import ExperimentPlan
from abcore.planning import planned_tuning_n
from abcore.quantile import QuantileSummary
from abcore.stats import Comparison
from abcore.suffstats import MomentStatistic, PairStatistic, SampleMean

__all__ = [
    "FAMILIES",
    "compare_metric",
    "compare_stats",
    "daily_stats",
    "fixed_options",
    "metric_family",
    "metric_stat",
    "plan_comparisons",
    "readout_options",
    "stratified_stat",
]


FAMILIES = ("success", "guardrail", "secondary")
"""Families of comparisons corrected together: a plan's success metrics (the launch claim),
its guardrails, and every other metric (exploratory, false-discovery rate)."""


def _binary_pair_as_sample(pair: PairStatistic) -> SampleMean:
    return pair.y


def _uses_pair(spec: MetricMapping) -> bool:
    """Ratios and CUPED metrics carry pair statistics; a proportion of counts reads as a
    sample of trials (its kind's ``statistic``, :data:`abcore.model.KINDS`)."""
    return spec.metric_kind.statistic == "pair" or spec.covariate is not None


Statistic = SampleMean | PairStatistic | MomentStatistic | QuantileSummary


def metric_stat(aggregates: Aggregates, spec: MetricMapping, arm: str, **where: Any) -> Statistic:
    """The statistic :func:`compare_stats` needs for ``spec`` in one arm (``where``: a
    ``day=`` or a ``segment=``/``value=``); ValueError when the arm has no row there.
    A metric with several covariates (or a ratio with any) carries moments; a quantile
    metric its bounded summary (overall or in a segment: it has no daily cells)."""
    if spec.metric_kind.statistic == "quantile":
        if where.get("day") is not None:
            raise ValueError(f"metric {spec.name!r} is a quantile: it has no daily statistics.")
        return aggregates.quantile(spec.name, arm, **where)
    if spec.moments:
        return aggregates.moments(spec.name, arm, **where)
    getter = aggregates.pair if _uses_pair(spec) else aggregates.sample_mean
    return getter(spec.name, arm, **where)


def _unadjusted(spec: MetricMapping, s: MomentStatistic) -> SampleMean | PairStatistic:
    """The metric's own statistic on the same units (CUPED off): the value's sample, or a
    ratio's numerator/denominator pair."""
    n = round(float(s.n))
    if not spec.metric_kind.pair:
        return SampleMean(n, float(s.sums[0]), float(s.cross[0, 0]), float(s.shifts[0]))
    return PairStatistic(
        n,
        float(s.sums[0]),
        float(s.cross[0, 0]),
        float(s.sums[1]),
        float(s.cross[1, 1]),
        float(s.cross[0, 1]),
        float(s.shifts[0]),
        float(s.shifts[1]),
    )


def compare_stats(
    spec: MetricMapping,
    control: Statistic,
    treatment: Statistic,
    options: ReadoutOptions | None = None,
    *,
    alternative: str = config.ALTERNATIVE,
) -> Comparison:
    """The one place where a metric's kind picks its test.

    The kind's declared test (:data:`abcore.model.KINDS`): a pooled z-test for binary
    metrics and proportions of counts, Welch for continuous metrics, the delta method for
    ratios; and CUPED, whatever the kind, when the metric has a pre-period covariate and
    ``options.cuped`` is on (off: the same units without the adjustment): with several
    covariates the OLS adjustment (:func:`abcore.regression.compare_regression`), on a
    ratio the delta-method CUPED (:func:`abcore.regression.compare_ratio_cuped`).
    The overall table, the daily and segment breakdowns, the trend and the decision all
    call this, so none of them can test a metric differently.

    With a peeking-safe ``options.method`` the interval and p-value become the method's
    (:meth:`abcore.peeking.PeekingRule.apply`: the confidence sequence and always-valid
    p-value, or the current group-sequential look's boundary) at this comparison's units.
    """
    options = options or ReadoutOptions()
    return _read(
        options, alternative, lambda kw: _fixed_horizon(spec, control, treatment, options, kw)
    )


def _read(
    options: ReadoutOptions, alternative: str, test: Callable[[dict[str, Any]], Comparison]
) -> Comparison:
    """The fixed-horizon ``test`` with the options' keywords, then the peeking rule."""
    kwargs = {
        "alpha": options.alpha,
        "alternative": alternative,
        "relative_method": options.relative_method,
    }
    rule = peeking.rule_for(options)
    c = test(kwargs)
    return c if rule is None else rule.apply(c)


def _fixed_horizon(
    spec: MetricMapping,
    control: Statistic,
    treatment: Statistic,
    options: ReadoutOptions,
    kwargs: dict[str, Any],
) -> Comparison:
    kind = spec.metric_kind
    if isinstance(control, MomentStatistic) and isinstance(treatment, MomentStatistic):
        if options.cuped:
            adjust = regression.compare_ratio_cuped if kind.pair else regression.compare_regression
            return adjust(control, treatment, **kwargs)
        control, treatment = _unadjusted(spec, control), _unadjusted(spec, treatment)
    if kind.statistic != "pair" and isinstance(control, PairStatistic):  # a covariate's pairs
        if options.cuped:
            return stats.compare_cuped(control, treatment, **kwargs)
        control, treatment = _binary_pair_as_sample(control), _binary_pair_as_sample(treatment)
    return kind.test(control, treatment, **kwargs)


def fixed_options(options: ReadoutOptions) -> ReadoutOptions:
    """The same options at the fixed horizon: for the segment breakdown (exploratory, its
    cells far smaller than the plan) and the novelty trend (a shape, calibrated on
    fixed-horizon tests)."""
    return dataclasses.replace(options, method="fixed")


def compare_metric(
    aggregates: Aggregates,
    metric: str,
    arm: str,
    options: ReadoutOptions | None = None,
    *,
    alternative: str = config.ALTERNATIVE,
    **where: Any,
) -> Comparison:
    """Compare one treatment arm with the control on one metric (see :func:`compare_stats`).

    ``where`` selects a day or a segment (``day=...`` or ``segment=..., value=...``).
    """
    spec = aggregates.mapping.metric(metric)
    strata = options.strata if options is not None else None
    if (
        options is not None
        and strata is not None
        and not where
        and spec.metric_kind.statistic == "sample"
    ):
        c_s = stratified_stat(aggregates, spec, aggregates.control, strata, options)
        t_s = stratified_stat(aggregates, spec, arm, strata, options)
        return _read(options, alternative, lambda kw: regression.compare_regression(c_s, t_s, **kw))
    control = metric_stat(aggregates, spec, aggregates.control, **where)
    treatment = metric_stat(aggregates, spec, arm, **where)
    return compare_stats(spec, control, treatment, options, alternative=alternative)


def stratified_stat(
    aggregates: Aggregates,
    spec: MetricMapping,
    arm: str,
    strata: str,
    options: ReadoutOptions | None = None,
) -> MomentStatistic:
    """One arm's moments of the metric (and its covariates when ``options.cuped``) with the
    dummies of the segment ``strata``'s values, from the segment level's cells: what
    :func:`abcore.regression.compare_regression` needs to post-stratify (OLS with stratum
    dummies). Every arm lists the same values in the same order (an empty cell where the arm
    has no unit)."""
    if strata not in aggregates.mapping.segments:
        known = ", ".join(repr(s) for s in aggregates.mapping.segments) or "none"
        raise InputError(f"strata must be one of the segments ({known}), got {strata!r}.")
    cuped = options is None or options.cuped
    rows = aggregates.rows("segment")
    values = list(dict.fromkeys(rows.loc[rows["segment"] == strata, "segment_value"].dropna()))

    def stat(**where: Any) -> SampleMean | MomentStatistic:
        s = metric_stat(aggregates, spec, arm, **where)
        if isinstance(s, PairStatistic):
            s = MomentStatistic.from_pair(s)
        if isinstance(s, MomentStatistic) and not cuped:
            s = s.select([0])
        return s

    overall = stat()
    cells = []
    for value in values:
        try:
            cells.append(stat(segment=strata, value=value))
        except ValueError:  # the arm has no unit with this value
            cells.append(_moments_of(overall) - _moments_of(overall))
    return regression.strata_moments(overall, cells)


def _moments_of(s: SampleMean | MomentStatistic) -> MomentStatistic:
    if isinstance(s, MomentStatistic):
        return s
    return MomentStatistic(s.n, [s.sum], [[s.sum_sq]], [s.shift])


def metric_family(plan: ExperimentPlan | None, metric: str) -> str:
    """The family a metric's comparisons are corrected in: its role in the plan, and
    "secondary" for a metric the plan does not name; "all" without a plan."""
    if plan is None:
        return "all"
    for spec in plan.metrics:
        if spec.name == metric and spec.role in FAMILIES:
            return spec.role
    return "secondary"


def plan_comparisons(
    aggregates: Aggregates, plan: ExperimentPlan, options: ReadoutOptions | None = None
) -> dict[str, dict[str, Comparison | None]]:
    """What the decision reads: every plan metric in every treatment arm (None when the
    metric is not in the data), tested two-sided with ``options`` as the table is; the
    decision derives its one-sided tests from these."""
    known = {
        spec.name
        for spec in plan.metrics
        for m in aggregates.mapping.metrics
        if m.name == spec.name and _same_quantile(spec.type, spec.quantile, m)
    }
    return {
        arm: {
            spec.name: compare_metric(aggregates, spec.name, arm, options)
            if spec.name in known
            else None
            for spec in plan.metrics
        }
        for arm in aggregates.treatments
    }


def _same_quantile(plan_type: str, level: float | None, m: MetricMapping) -> bool:
    """Whether the data's metric reads as the plan's: a quantile at the plan's level for a
    quantile, a mean (or rate, or ratio) otherwise; never the mean for the p90 of the same
    name, nor the other way round."""
    if plan_type == "quantile" or m.quantile is not None:
        return plan_type == "quantile" and m.quantile is not None and level == m.quantile
    return True


def daily_stats(aggregates: Aggregates, spec: MetricMapping, arm: str) -> list[Statistic]:
    """The statistic of each day's new units in one arm (zeros on a day the arm has none)."""
    out = []
    for day in aggregates.days:
        try:
            out.append(metric_stat(aggregates, spec, arm, day=day))
        except ValueError:  # no units of this arm on that day
            empty = metric_stat(aggregates, spec, arm)
            if isinstance(empty, MomentStatistic):
                out.append(empty - empty)
            else:
                out.append(type(empty)(0, *([0.0] * (len(dataclasses.fields(empty)) - 1))))
    return out


def resolve_options(
    options: ReadoutOptions | None, plan: ExperimentPlan | None, alpha: float | None, **given: Any
) -> ReadoutOptions:
    """``options`` when given, else one built from the keyword arguments of the call; the
    alpha defaults to the plan's (the error rate it was sized for)."""
    if options is not None:
        return options
    if alpha is None:
        alpha = plan.alpha if plan is not None else config.ALPHA
    return readout_options(plan, alpha=alpha, **given)


def readout_options(plan: ExperimentPlan | None, **given: Any) -> ReadoutOptions:
    """:class:`ReadoutOptions` that read results with the plan's method.

    A peeking-safe plan sets the method, its design and N (the planned units of control plus
    one arm, :func:`abcore.planning.planned_tuning_n`); ``given`` are the other options.
    A plan whose size cannot be computed cannot tell its sequence when to be tightest:
    that is an :class:`InputError` saying so.

    >>> from abcore.plan import ExperimentPlan
    >>> o = readout_options(ExperimentPlan(method="always_valid", planned_n_per_arm=20_000))
    >>> o.method, o.planned_n
    ('always_valid', 40000)
    """
    if plan is None or plan.method == "fixed":
        return ReadoutOptions(**given)
    try:
        planned = planned_tuning_n(plan)
    except ValueError as exc:
        raise InputError(
            f"The plan reads results with the {plan.method.replace('_', '-')} method, which "
            f"needs the planned sample size, but the plan cannot be sized: {exc}"
        ) from exc
    return ReadoutOptions(
        **given,
        method=plan.method,
        planned_n=planned,
        tuning_n=plan.tuning_n,
        looks=plan.looks,
        spending=plan.spending,
        rho=plan.rho,
    )
