"""From sufficient statistics to the readout: effects per metric and arm, over time, by segment.

:func:`analyze` is the one-call entry point a notebook uses (and the page uses step by step):
read the file once in DuckDB, detect or take the roles, compute the aggregates, then test
every metric in every treatment arm against the control. Only aggregates leave DuckDB.

>>> import pandas as pd
>>> df = pd.DataFrame({"variant": ["a", "b"] * 500, "converted": [0, 1, 0, 0] * 250})
>>> a = analyze(df, variant="variant", control="a")
>>> a.effects[["metric", "arm", "control_mean", "treatment_mean"]].to_dict("records")
[{'metric': 'converted', 'arm': 'b', 'control_mean': 0.0, 'treatment_mean': 0.5}]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from abcore import bayes, config, ingest, peeking, stats, validity
from abcore.compare import (
    compare_metric,
    compare_stats,
    daily_stats,
    fixed_options,
    metric_family,
    metric_stat,
    plan_comparisons,
    readout_options,
    resolve_options,
)
from abcore.decision import decide
from abcore.errors import InputError
from abcore.model import (
    Aggregates,
    Check,
    Instrumentation,
    Mapping,
    MetricMapping,
    PrepStep,
    ReadoutOptions,
)
from abcore.plan import ExperimentPlan
from abcore.planning import size_plan
from abcore.stats import Comparison
from abcore.validity import SRMResult, srm_test

__all__ = [
    "Analysis",
    "analyze",
    "analyze_aggregates",
    "bayes_effects",
    "compare_metric",
    "compare_stats",
    "cumulative_effects",
    "earlier_looks",
    "effects_table",
    "metric_stat",
    "plan_comparisons",
    "readout_options",
    "segment_effects",
]
# compare_metric, compare_stats, metric_stat, plan_comparisons and readout_options are
# defined in abcore.compare; they stay importable from here, where notebooks found them.

EFFECT_COLUMNS = (
    "metric",
    "arm",
    "kind",
    "family",
    "n_control",
    "n_treatment",
    "control_mean",
    "treatment_mean",
    "abs_effect",
    "abs_ci_low",
    "abs_ci_high",
    "rel_effect",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "p_value_adjusted",
    "significant",
    "chance_to_beat",
    "error",
    "method",
    "alternative",
    "variance_reduction",
)
SECONDARY_CORRECTION = "bh"
"""Secondary metrics are exploratory: Benjamini-Hochberg bounds the share of false leads
instead of the chance of any, so a long list of them does not hide a real one."""


def capping_sentences(aggregates: Aggregates) -> dict[str, str]:
    """Per capped metric, what was cut, for the readout, the report and the Results page:
    the metric's capping with the values its percentiles came to. An old readout (a link
    from before per-metric capping) has only the value each metric was cut at from above.

    >>> from abcore.model import Mapping, MetricMapping
    >>> import pandas as pd
    >>> m = Mapping(variant="v", metrics=[MetricMapping("r", "continuous")])
    >>> capping_sentences(Aggregates(pd.DataFrame(), m, caps={"r": 12.5}))
    {'r': 'capped from above at 12.5'}
    """
    out = {}
    for m in aggregates.mapping.metrics:
        lower, upper = aggregates.floors.get(m.name), aggregates.caps.get(m.name)
        if m.capping is not None:
            out[m.name] = "capped " + m.capping.sentence(lower, upper)
        elif upper is not None or lower is not None:
            parts = [f"from above at {upper:,.6g}"] if upper is not None else []
            parts += [f"from below at {lower:,.6g}"] if lower is not None else []
            out[m.name] = "capped " + ", ".join(parts)
    return out


@dataclass(frozen=True, eq=False)
class Analysis:
    """The readout of one experiment.

    Attributes:
        effects: one row per (metric, treatment arm): the :class:`~abcore.stats.Comparison`
            fields plus ``family`` (the metric's role in the plan), ``p_value_adjusted``
            (within its family), ``significant`` (on the adjusted p-value) and
            ``chance_to_beat``.
        srm: the sample-ratio test against the planned split.
        checks: validity checks (status "pass" | "warn" | "fail", kind "gate" | "maturity"
            | "info") with sentences.
        daily: cumulative effect by day per metric and arm (empty without a timestamp).
        segments: effects per segment value, p-values adjusted across the whole breakdown.
        aggregates: the sufficient statistics everything above came from.
        options: how the effects were tested; the decision read the same.
        recommendation: the launch verdict, when a plan was given (None otherwise).
        preparation: the data-preparation steps run before the statistics, each with the
            rows it removed (:class:`~abcore.model.PrepStep`, JSON-ready with ``to_dict``),
            so the report and a link say what was excluded.
    """

    effects: pd.DataFrame
    srm: SRMResult
    checks: list[Check]
    daily: pd.DataFrame
    segments: pd.DataFrame
    aggregates: Aggregates
    options: ReadoutOptions = field(default_factory=ReadoutOptions)
    plan: ExperimentPlan | None = None
    recommendation: Any = None
    trends: tuple[validity.TrendResult, ...] = field(default=())
    input_checks: tuple[Check, ...] = field(default=())
    """Checks given by the caller (instrumentation), kept to re-run on other aggregates."""
    expected_shares: dict[str, float] | None = None
    preparation: tuple[PrepStep, ...] = ()

    @property
    def mapping(self) -> Mapping:
        return self.aggregates.mapping

    @property
    def capping(self) -> dict[str, str]:
        """Per capped metric, what was cut and where (:func:`capping_sentences`):
        the effects of a capped metric are of its capped values, and the readout says so."""
        return capping_sentences(self.aggregates)

    @property
    def alpha(self) -> float:
        return self.options.alpha

    @property
    def correction(self) -> str:
        return self.options.correction

    @property
    def relative_method(self) -> str:
        return self.options.relative_method

    @property
    def cuped(self) -> bool:
        return self.options.cuped

    @property
    def method(self) -> str:
        """How peeking is handled: "fixed", "always_valid" or "group_sequential"."""
        return self.options.method

    @property
    def information_fraction(self) -> float | None:
        """Share of the planned units of the compared pair reached so far (the smallest over
        treatment arms); None without a planned size (a fixed-horizon readout)."""
        planned = self.options.planned_n or self.options.tuning_n
        if not planned:
            return None
        counts = self.aggregates.counts()
        control = counts.get(self.aggregates.control, 0)
        pairs = [control + counts.get(arm, 0) for arm in self.aggregates.treatments]
        return min(pairs) / planned if pairs else None

    @property
    def look(self) -> tuple[int, int] | None:
        """For a group-sequential readout, ``(current look, planned looks)``: the current
        look is the first planned look not yet passed (the last once the plan is reached)."""
        t = self.information_fraction
        if self.method != "group_sequential" or t is None:
            return None
        k = int(self.options.looks)
        return min(k, max(1, math.ceil(t * k - 1e-9))), k

    def bayes(
        self,
        *,
        prior_mean: float = config.BAYES_PRIOR_MEAN,
        prior_sd: float | None = config.BAYES_PRIOR_SD,
    ) -> pd.DataFrame:
        """The Bayesian view of every effect (see :func:`bayes_effects`)."""
        return bayes_effects(
            self.aggregates, self.options, self.plan, prior_mean=prior_mean, prior_sd=prior_sd
        )


def _success_alternative(plan: ExperimentPlan | None, metric: str) -> str:
    """A one-sided plan tests its success metrics one-sided, in their good direction."""
    if plan is None or plan.alternative == "two-sided":
        return config.ALTERNATIVE
    spec = next(m for m in plan.metrics if m.name == metric)
    return "greater" if spec.higher_is_better else "less"


def _row(metric: MetricMapping, arm: str, c: Comparison) -> dict[str, Any]:
    row = {"metric": metric.name, "arm": arm, "kind": metric.kind}
    row.update({k: v for k, v in c.to_dict().items() if k in EFFECT_COLUMNS})
    row["chance_to_beat"] = stats.chance_to_beat(c)
    return row


def _finish(rows: list[dict[str, Any]], alpha: float, correction: str) -> pd.DataFrame:
    """Adjust p-values within each family (one family when no row names one)."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=list(EFFECT_COLUMNS))
    if "family" not in frame.columns:
        frame["family"] = "all"
    frame["p_value_adjusted"] = np.nan
    for family, index in frame.groupby("family", sort=False).groups.items():
        method = SECONDARY_CORRECTION if family == "secondary" else correction
        p = frame.loc[index, "p_value"].to_numpy(float)
        frame.loc[index, "p_value_adjusted"] = stats.adjust_p_values(p, method)
    frame["significant"] = frame["p_value_adjusted"] < alpha
    extra = [c for c in frame.columns if c not in EFFECT_COLUMNS]
    return frame[[c for c in EFFECT_COLUMNS if c in frame.columns] + extra]


def effects_table(
    aggregates: Aggregates,
    options: ReadoutOptions | None = None,
    plan: ExperimentPlan | None = None,
) -> pd.DataFrame:
    """Every metric in every treatment arm, p-values adjusted within each metric's family.

    Without a plan the whole table is one family, corrected with ``options.correction``.
    With a plan its success metrics form one family corrected with ``options.correction`` and
    tested with the plan's sidedness, exactly as the launch decision splits its alpha, so
    a success metric significant here is a win there; guardrails form a second family;
    the other metrics are exploratory (Benjamini-Hochberg, :data:`SECONDARY_CORRECTION`).
    """
    options = options or ReadoutOptions()
    rows = []
    for m in aggregates.mapping.metrics:
        family = metric_family(plan, m.name)
        alternative = (
            _success_alternative(plan, m.name) if family == "success" else config.ALTERNATIVE
        )
        for arm in aggregates.treatments:
            c = compare_metric(aggregates, m.name, arm, options, alternative=alternative)
            rows.append(_row(m, arm, c) | {"family": family})
    return _finish(rows, options.alpha, options.correction)


BAYES_COLUMNS = (
    "metric",
    "arm",
    "family",
    "direction",
    "rel_effect",
    "estimate",
    "ci_low",
    "ci_high",
    "chance_to_beat",
    "expected_loss_ship",
    "expected_loss_keep",
    "prior_mean",
    "prior_sd",
    "error",
)


def bayes_effects(
    aggregates: Aggregates,
    options: ReadoutOptions | None = None,
    plan: ExperimentPlan | None = None,
    *,
    prior_mean: float = config.BAYES_PRIOR_MEAN,
    prior_sd: float | None = config.BAYES_PRIOR_SD,
) -> pd.DataFrame:
    """The Bayesian readout of every metric in every arm, on the relative lift.

    The posterior of the relative lift from its estimate and delta-method standard error
    and a normal prior (``prior_sd=None``: flat), as :func:`abcore.bayes.bayes_comparison`
    computes it: ``chance_to_beat`` (treatment better in the metric's good direction, from
    the plan; "increase" for a metric the plan does not name), ``expected_loss_ship`` and
    ``expected_loss_keep`` (relative lift given up, on average, by shipping / by not
    shipping), and the credible interval ``ci_low``..``ci_high`` at ``1 - options.alpha``.
    The likelihood is the fixed-horizon one whatever the readout's method: a posterior
    conditions on the data seen, so it needs no correction for looking at it. Not 1 - p.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"v": ["a", "b"] * 2000, "y": [0, 1, 0, 0] * 500 + [1, 1, 0, 0] * 500})
    >>> a = analyze(df, variant="v", control="a")
    >>> round(float(a.bayes()["chance_to_beat"].iloc[0]), 3)
    1.0
    """
    options = fixed_options(options or ReadoutOptions())
    directions = {m.name: m.direction for m in plan.metrics} if plan is not None else {}
    rows = []
    for spec in aggregates.mapping.metrics:
        direction = directions.get(spec.name, "increase")
        for arm in aggregates.treatments:
            c = compare_metric(aggregates, spec.name, arm, options)
            r = bayes.bayes_comparison(
                c, prior_mean=prior_mean, prior_sd=prior_sd, direction=direction
            )
            rows.append(
                {
                    "metric": spec.name,
                    "arm": arm,
                    "family": metric_family(plan, spec.name),
                    "direction": direction,
                    "rel_effect": float(c.rel_effect),
                    "estimate": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "chance_to_beat": r.chance_to_beat,
                    "expected_loss_ship": r.expected_loss_ship,
                    "expected_loss_keep": r.expected_loss_keep,
                    "prior_mean": r.prior_mean,
                    "prior_sd": r.prior_sd,
                    "error": r.error,
                }
            )
    return pd.DataFrame(rows, columns=list(BAYES_COLUMNS))


def _cumulate(stat_by_day: list[Any]) -> list[Any]:
    out, total = [], None
    for s in stat_by_day:
        total = s if total is None else total + s
        out.append(total)
    return out


def cumulative_effects(
    aggregates: Aggregates, options: ReadoutOptions | None = None
) -> pd.DataFrame:
    """The effect as it looked at the end of each day, from the units exposed so far.

    Under a peeking-safe ``options.method`` each day's interval is the method's at that
    day's units (the confidence sequence, or the group-sequential boundary over that day
    and every day before it, each a look), so the band is valid however many days were
    read. ``excludes_zero`` marks the days whose interval excludes no effect and
    ``first_day_excluding_zero`` the first of them per metric and arm (None: not yet);
    under a fixed horizon that day means little, since a fixed interval read daily excludes
    zero by luck far more often than alpha.

    Sufficient statistics add, so day ``d`` is the sum of days ``1..d``: no second pass over
    the data. Each unit counts once, on the day it was first exposed (see
    :func:`abcore.sql.sufficient_stats_sql`), so the last day is the overall readout. Also
    carries each day's own units per arm (``units_control``...).
    """
    days = aggregates.days
    if not days:
        return pd.DataFrame()
    units = np.cumsum([sum(aggregates.counts(day=day).values()) for day in days])
    rows: list[dict[str, Any]] = []
    for spec in aggregates.mapping.metrics:
        if not spec.metric_kind.adds_up:  # a quantile: no daily cells to add up
            continue
        per_control = daily_stats(aggregates, spec, aggregates.control)
        cum_c = _cumulate(per_control)
        for arm in aggregates.treatments:
            per_arm = daily_stats(aggregates, spec, arm)
            cum_t = _cumulate(per_arm)
            by_day = _daily_looks(options, units, cum_c[-1].n + cum_t[-1].n)
            for i, day in enumerate(days):
                c = compare_stats(spec, cum_c[i], cum_t[i], by_day[i])
                rows.append(
                    {
                        "metric": spec.name,
                        "arm": arm,
                        "day": day,
                        "n_control": cum_c[i].n,
                        "n_treatment": cum_t[i].n,
                        "units_control": per_control[i].n,
                        "units_treatment": per_arm[i].n,
                        "rel_effect": c.rel_effect,
                        "rel_ci_low": c.rel_ci_low,
                        "rel_ci_high": c.rel_ci_high,
                        "abs_effect": c.abs_effect,
                        "abs_ci_low": c.abs_ci_low,
                        "abs_ci_high": c.abs_ci_high,
                        "p_value": c.p_value,
                        "error": c.error,
                    }
                )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["method"] = (options or ReadoutOptions()).method
    frame["excludes_zero"] = (frame["abs_ci_low"] > 0) | (frame["abs_ci_high"] < 0)
    first = frame[frame["excludes_zero"]].groupby(["metric", "arm"], sort=False)["day"].first()
    keys = list(zip(frame["metric"], frame["arm"], strict=True))
    frame["first_day_excluding_zero"] = [first.get(k) for k in keys]
    return frame


def _daily_looks(options: ReadoutOptions | None, units: Any, n_last: float) -> list[Any]:
    """Options for each day of a group-sequential readout, every earlier day a look.

    ``units`` are all arms' units at the end of each day, as :func:`earlier_looks` counts
    them for the readout, so the last day reads as the table does. Its design (the pair
    has ``n_last`` units then) is computed first: with two arms every earlier day's
    boundaries are its first looks, one design for the whole chart.
    """
    if options is None or options.method != "group_sequential":
        return [options] * len(units)
    by_day = []
    for i, now in enumerate(units):
        shares = sorted({float(u) / float(now) for u in units[:i] if 0 < u < now})
        by_day.append(dataclasses.replace(options, earlier_looks=tuple(shares)))
    if len(units) and n_last > 0:
        rule = peeking.rule_for(by_day[-1])
        rule.design(float(n_last), options.alpha, config.ALTERNATIVE)
    return by_day


def earlier_looks(aggregates: Aggregates) -> tuple[float, ...]:
    """The looks made before the current readout: the end of every earlier day in the data,
    as shares of the units now (all arms).

    The lift over time shows the effect at the end of every day, so each day is a look
    (Spotify's confidence counts every time point of the data the same way); a
    group-sequential boundary is computed over these looks and the current one. Data
    without days: none.
    """
    days = aggregates.days
    if len(days) < 2:
        return ()
    units = np.cumsum([sum(aggregates.counts(day=day).values()) for day in days[:-1]])
    total = sum(aggregates.counts().values())
    return tuple(sorted({float(u) / total for u in units if 0 < u < total}))


def segment_effects(aggregates: Aggregates, options: ReadoutOptions | None = None) -> pd.DataFrame:
    """Effects per segment value; p-values adjusted across every cell of the breakdown.

    Always at the fixed horizon (:func:`abcore.compare.fixed_options`): a segment is exploratory.

    Many cells mean many chances of a fluke: the adjustment keeps a lucky segment from
    looking like a finding.
    """
    options = fixed_options(options or ReadoutOptions())
    seg = aggregates.rows("segment")
    if seg.empty:
        return pd.DataFrame()
    rows = []
    cells = seg[["segment", "segment_value"]].drop_duplicates().itertuples(index=False)
    for segment, value in cells:
        for spec in aggregates.mapping.metrics:
            for arm in aggregates.treatments:
                try:
                    c = compare_metric(
                        aggregates, spec.name, arm, options, segment=segment, value=value
                    )
                except ValueError:  # an arm is absent from this segment
                    continue
                row = _row(spec, arm, c)
                row.update({"segment": segment, "segment_value": value})
                rows.append(row)
    if not rows:  # every cell lacks an arm: no breakdown to show
        return pd.DataFrame()
    frame = _finish(rows, options.alpha, options.correction)
    first = ["segment", "segment_value"]
    return frame[first + [c for c in frame.columns if c not in first]]


def _shares(aggregates: Aggregates, expected: Any, plan: ExperimentPlan | None) -> dict:
    arms = aggregates.variants
    if expected is None and plan is not None and set(plan.expected_shares) == set(arms):
        expected = plan.expected_shares
    if expected is None:
        return {a: 1 / len(arms) for a in arms}
    if isinstance(expected, MappingABC):
        missing = [a for a in arms if a not in expected]
        if missing:
            raise InputError(
                f"expected_shares has no share for arm(s) {', '.join(missing)}: give one share "
                f"per arm in the data ({', '.join(arms)})."
            )
        return {a: float(expected[a]) for a in arms}
    values = list(expected)
    if len(values) != len(arms):
        raise InputError(
            f"expected_shares has {len(values)} shares but the data has {len(arms)} arms "
            f"({', '.join(arms)}), control first."
        )
    return dict(zip(arms, map(float, values), strict=True))


def _srm_check(srm: SRMResult) -> Check:
    return Check("Sample ratio", srm.status, srm.message(), topic="srm")


def trend_check(trend: validity.TrendResult) -> Check:
    """A fading (novelty) effect is a maturity condition; other trends are information."""
    kind = "maturity" if trend.pattern == "novelty" else "info"
    return Check(f"Trend of {trend.metric} ({trend.arm})", trend.status, trend.message(), kind)


def analyze_aggregates(
    aggregates: Aggregates,
    *,
    expected_shares: Any = None,
    alpha: float | None = None,
    correction: str = config.CORRECTION,
    relative_method: str = config.RELATIVE_CI,
    cuped: bool = True,
    plan: ExperimentPlan | None = None,
    checks: Sequence[Check] = (),
    options: ReadoutOptions | None = None,
    preparation: Sequence[PrepStep] = (),
) -> Analysis:
    """Everything :func:`analyze` returns, from aggregates alone (a share link, a warehouse).

    ``checks`` are validity checks computed elsewhere (instrumentation counts need the rows);
    they join the ones computed here and feed the recommendation. ``preparation`` is the
    record of the steps the rows went through (:func:`abcore.ingest.prepare`), kept on the
    readout as it is. ``options`` replaces
    ``alpha`` (default: the plan's, else ``config.ALPHA``), ``correction``,
    ``relative_method`` and ``cuped`` when given; the table, the breakdowns and the decision
    all use the same options.
    """
    opts = resolve_options(
        options, plan, alpha, correction=correction, relative_method=relative_method, cuped=cuped
    )
    if opts.method == "group_sequential" and not opts.earlier_looks:
        opts = dataclasses.replace(opts, earlier_looks=earlier_looks(aggregates))
    srm = srm_test(aggregates.counts(), _shares(aggregates, expected_shares, plan))
    all_checks = [
        _srm_check(srm),
        *checks,
        *validity.preperiod_balance(aggregates, alpha=opts.alpha),
    ]
    planned_n, planned_days = _planned_size(plan)
    all_checks += validity.duration_checks(
        aggregates,
        planned_n_per_arm=planned_arm_sizes(plan, planned_n, aggregates) if planned_n else None,
        planned_days=planned_days,
        method=plan.method if plan is not None else "fixed",
    )
    trends = success_trends(aggregates, plan, options=fixed_options(opts))
    all_checks += [trend_check(t) for t in trends]
    recommendation = None
    if plan is not None:
        comparisons = plan_comparisons(aggregates, plan, opts)
        recommendation = decide(plan, comparisons, all_checks, options=opts)
    return Analysis(
        effects=effects_table(aggregates, opts, plan),
        srm=srm,
        checks=all_checks,
        daily=cumulative_effects(aggregates, opts),
        segments=segment_effects(aggregates, opts),
        aggregates=aggregates,
        options=opts,
        plan=plan,
        recommendation=recommendation,
        trends=tuple(trends),
        input_checks=tuple(checks),
        expected_shares={a.arm: a.expected_share for a in srm.arms},
        preparation=tuple(preparation),
    )


def planned_arm_sizes(
    plan: ExperimentPlan | None, n_control: int, aggregates: Aggregates
) -> dict[str, int]:
    """Each arm's planned units: the control's size scaled by the arm's planned share.

    Arms are matched by name with the plan's ``expected_shares``; an arm the plan does not
    name gets the plan's smallest treatment share (its ``ratio``).
    """
    if plan is None:
        return dict.fromkeys(aggregates.variants, int(n_control))
    shares = plan.expected_shares
    base = shares[plan.control]
    out = {}
    for arm in aggregates.variants:
        if arm == aggregates.control:
            ratio = 1.0
        else:
            ratio = shares[arm] / base if arm in shares and arm != plan.control else plan.ratio
        out[arm] = math.ceil(ratio * n_control - 1e-9)
    return out


def _planned_size(plan: ExperimentPlan | None) -> tuple[int | None, int | None]:
    """The plan's size and duration; sized from the plan when it does not record them."""
    if plan is None:
        return None, None
    n, days = plan.planned_n_per_arm, plan.planned_days
    if n is None:
        try:
            sizing = size_plan(plan)
        except ValueError:
            return None, days
        n, days = sizing.method_n_control, days or sizing.method_recommended_days
    return n, days


def success_trends(
    aggregates: Aggregates,
    plan: ExperimentPlan | None,
    *,
    options: ReadoutOptions | None = None,
) -> list[validity.TrendResult]:
    """Novelty/primacy trends of the plan's success metrics (or the first metric) per arm."""
    if len(aggregates.days) < 4:
        return []
    known = {m.name for m in aggregates.mapping.metrics if m.metric_kind.adds_up}
    if plan is not None:
        targets = [
            (m.name, m.direction) for m in plan.metrics if m.role == "success" and m.name in known
        ]
    else:
        first = [m.name for m in aggregates.mapping.metrics if m.name in known][:1]
        targets = [(name, "increase") for name in first]
    return [
        validity.effect_trend(aggregates, name, arm, direction=direction, options=options)
        for name, direction in targets
        for arm in aggregates.treatments
    ]


def plan_metric_mappings(plan: ExperimentPlan, columns: Sequence[str]) -> list[MetricMapping]:
    """The plan's ratio metrics as mappings, when their numerator and denominator exist, and
    its quantile metrics, when their column exists."""
    out = []
    for m in plan.metrics:
        if m.type == "ratio" and m.numerator in columns and m.denominator in columns:
            out.append(
                MetricMapping(m.name, "ratio", numerator=m.numerator, denominator=m.denominator)
            )
        elif m.type == "quantile" and (m.column or m.name) in columns:
            column = m.column or m.name
            out.append(MetricMapping(m.name, "quantile", column=column, quantile=m.quantile))
    return out


def _one_arm_sentence(inst: Instrumentation) -> str:
    checked, units = inst.units_checked, inst.units
    if checked is None or units is None or checked >= units:
        return "Every unit is in exactly one arm."
    # a leak touching a fraction f of the units escapes the sample with probability
    # (1 - checked/units)^(f * units) ~ exp(-f * checked): 1 in 100 at f = ln(100) / checked
    reach = math.log(100) / max(checked, 1)
    return (
        f"No unit is in two arms or has two rows among {checked:,} of the {units:,} units, a "
        f"sample picked by a hash of the id: a leak touching {reach * 100:.2g}% of units or more "
        "shows in it 99 times in 100 (and then every id is counted)."
    )


def instrumentation_checks(inst: Instrumentation) -> list[Check]:
    """Turn instrumentation counts into checks with sentences."""
    out = []
    if inst.units_in_multiple_arms is not None:
        k = inst.units_in_multiple_arms
        out.append(
            Check(
                "Units in more than one arm",
                "fail" if k else "pass",
                f"{k:,} units appear in more than one arm: assignment leaked, so those units saw "
                "both experiences. Drop them (or fix the assignment) before trusting the results."
                if k
                else _one_arm_sentence(inst),
            )
        )
    if inst.duplicate_unit_rows:
        out.append(
            Check(
                "Duplicate rows",
                "warn",
                f"{inst.duplicate_unit_rows:,} rows repeat a unit already seen; they were summed "
                "per unit. Check the export if each unit should have one row.",
            )
        )
    for metric, per_arm in inst.missing.items():
        counts = list(per_arm.values())
        rows = inst.rows_per_arm
        rates = [per_arm[a] / rows[a] for a in per_arm if rows.get(a)]
        if any(counts) and rates and max(rates) - min(rates) > 0.01:
            out.append(
                Check(
                    f"Missing values in {metric}",
                    "warn",
                    "Missing values differ between arms ("
                    + ", ".join(f"{a}: {per_arm[a]:,}" for a in per_arm)
                    + "): the treatment may break logging. Missing rows are left out.",
                )
            )
    for metric, k in inst.out_of_range.items():
        if k:
            out.append(
                Check(
                    f"Impossible values in {metric}",
                    "fail",
                    f"{k:,} values of {metric} are outside 0/1 for a yes/no metric.",
                )
            )
    return out


def _file_mapping(
    con: Any,
    dataset: ingest.Dataset,
    roles: dict[str, Any],
    metrics: Sequence[str | MetricMapping] | None,
    covariates: Sequence[str] | MappingABC[str, str] | None,
    plan: ExperimentPlan | None,
) -> Mapping:
    """Detected roles of ``dataset`` overridden by :func:`analyze`'s arguments."""
    detected = ingest.detect_schema(con, dataset)
    variant = roles["variant"]
    if variant not in dataset.names:
        raise InputError(
            f"variant column {variant!r} is not in the file; its columns are: "
            f"{', '.join(dataset.names)}."
        )
    changes: dict[str, Any] = {"variant": variant}
    if variant != detected.variant:
        changes["control"] = None
    if roles["control"] is not None:
        changes["control"] = roles["control"]
    for name in ("unit", "timestamp"):
        if roles[name] is not None:
            changes[name] = roles[name]
    unit = roles["unit"]
    if unit is not None and unit != detected.unit and not detected.is_aggregated:
        if unit not in dataset.names:
            raise InputError(
                f"unit column {unit!r} is not in the file; its columns are: "
                f"{', '.join(dataset.names)}."
            )
        # the caller's unit may repeat where detection's did not: its rows must be added up
        # per unit, or rows would count as independent units (false positives)
        changes["aggregate_units"] = ingest.unit_repeats(con, dataset, unit)
    if roles["segments"] is not None:
        changes["segments"] = tuple(roles["segments"])
    taken = {variant, roles["unit"], roles["timestamp"], *(roles["segments"] or ())}
    mapping = dataclasses.replace(detected, **changes)
    chosen = _choose_metrics(mapping, metrics, covariates)
    if plan is not None and metrics is None:
        have = {m.name for m in chosen}
        chosen += tuple(m for m in plan_metric_mappings(plan, dataset.names) if m.name not in have)
    chosen = tuple(m for m in chosen if m.name not in taken)
    return dataclasses.replace(mapping, metrics=chosen)


def _choose_metrics(detected: Mapping, metrics: Any, covariates: Any) -> tuple[MetricMapping, ...]:
    found = {m.name: m for m in detected.metrics}
    if metrics is None:
        chosen = list(found.values())
    else:
        chosen = []
        for item in metrics:
            if isinstance(item, MetricMapping):
                chosen.append(item)
            elif item in found:
                chosen.append(found[item])
            else:
                raise InputError(
                    f"metric {item!r} is not a numeric or yes/no column of this file; "
                    f"metrics found: {', '.join(found) or 'none'}."
                )
    if covariates:
        pairs = dict(covariates) if isinstance(covariates, MappingABC) else {}
        if not pairs:
            for cov in covariates:
                target = next((m.name for m in chosen if cov.endswith(m.name)), None)
                if target is None:
                    raise InputError(
                        f"covariate {cov!r} matches no metric by name: pass a dict "
                        "{metric: covariate} instead."
                    )
                pairs[target] = cov
        chosen = [
            dataclasses.replace(m, covariate=pairs[m.name]) if m.name in pairs else m
            for m in chosen
        ]
    return tuple(chosen)


def analyze(
    source: Any,
    *,
    variant: str,
    control: str | None = None,
    metrics: Sequence[str | MetricMapping] | None = None,
    unit: str | None = None,
    timestamp: str | None = None,
    covariates: Sequence[str] | MappingABC[str, str] | None = None,
    expected_shares: Any = None,
    alpha: float | None = None,
    plan: ExperimentPlan | None = None,
    correction: str = config.CORRECTION,
    relative_method: str = config.RELATIVE_CI,
    segments: Sequence[str] | None = None,
    cap: float | dict[str, float] | None = None,
    cuped: bool = True,
    options: ReadoutOptions | None = None,
    prepare: Sequence[PrepStep] = (),
    where: MappingABC[str, Any] | None = None,
) -> Analysis:
    """Analyse an experiment file (path, DataFrame or bytes) in one call.

    Roles not given are detected (see :func:`abcore.ingest.detect_schema`); ``metrics=None``
    takes every numeric or yes/no column that is not a role. Bad input raises
    :class:`abcore.InputError` with a sentence saying what to fix.

    A large CSV or Parquet path is read in place, in one pass (``ingest.load(...,
    materialize=False)``): detection looks at its first rows, and the unit checks look at a
    hash sample of the unit ids (``config.UNIT_CHECK_SAMPLE``), counting every id exactly
    as soon as that sample shows a repeat. The "Units in more than one arm" check says when
    it looked at a sample.

    ``where`` keeps the rows whose columns hold the values given (``{"experiment_id":
    "e7"}``: one experiment of a file that holds several), then ``prepare`` runs its
    :class:`~abcore.model.PrepStep` in order (exclude the units seen in both arms, drop
    duplicate rows, a date window...); ``Analysis.preparation`` lists both with the rows
    each removed.
    """
    con = ingest.connect()
    try:
        dataset = ingest.load(con, source, materialize=False)
        roles: dict[str, Any] = {"variant": variant, "control": control, "unit": unit}
        roles |= {"timestamp": timestamp, "segments": segments}
        steps = ingest.steps_from_where(dict(where or {})) + tuple(prepare)
        done: tuple[PrepStep, ...] = ()
        if steps:
            mapping = _file_mapping(con, dataset, roles, metrics, covariates, plan)
            dataset, done = ingest.prepare(con, dataset, steps, mapping=mapping)
        mapping = _file_mapping(con, dataset, roles, metrics, covariates, plan)
        aggregates = ingest.compute_stats(con, dataset, mapping, cap=cap)
        if ingest.units_repeat(con, dataset, mapping):
            # the first rows had one row per unit, the whole file does not: detect again
            # (now with every id counted) so each unit's rows are added up, then recompute
            mapping = _file_mapping(con, dataset, roles, metrics, covariates, plan)
            aggregates = ingest.compute_stats(con, dataset, mapping, cap=cap)
        checks: list[Check] = []
        if not mapping.is_aggregated:
            checks = instrumentation_checks(
                ingest.instrumentation_stats(con, dataset, aggregates.mapping)
            )
    finally:
        con.close()
    opts = resolve_options(
        options, plan, alpha, correction=correction, relative_method=relative_method, cuped=cuped
    )
    return analyze_aggregates(
        aggregates,
        expected_shares=expected_shares,
        plan=plan,
        checks=checks,
        options=opts,
        preparation=done,
    )
