"""From a plan to numbers: sample size, duration, and the planning curves.

The sizing mirrors the launch decision (DESIGN.md): every success metric is tested at alpha
split across success metrics and treatment arms (for a lift surely above the launch cost,
when there is one), every guardrail for non-inferiority at its margin at the full alpha, and
power is corrected to ``1 - beta / (G + 1)`` so that the chance of passing *every* test when
the change is good stays near the planned power (``G`` counts the guardrails with a
non-inferiority margin: :func:`powered_guardrails`). The plan needs the largest of these sample
sizes.

>>> from abcore.plan import ExperimentPlan
>>> sizing = size_plan(ExperimentPlan())
>>> sizing.n_control, sizing.days, sizing.recommended_days
(57763, 6, 7)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from abcore import config, power, sequential
from abcore._checks import check_scalar
from abcore.errors import InfeasiblePlan
from abcore.plan import ExperimentPlan, MetricSpec
from abcore.sequential import MethodCost

__all__ = [
    "CurveDuration",
    "GuardrailSize",
    "InfeasiblePlan",
    "PlanSizing",
    "corrected_power",
    "days_curve",
    "default_hypothesis",
    "describe_effect",
    "describe_method",
    "detectable_lift_by_days",
    "duration_from_curve",
    "method_costs_frame",
    "planned_tuning_n",
    "power_by_days",
    "powered_guardrails",
    "sample_size_curve",
    "size_plan",
]


@dataclass(frozen=True)
class GuardrailSize:
    """Units per arm a guardrail's non-inferiority test needs (None when it can't be sized)."""

    name: str
    n_control: int | None
    reason: str | None = None


@dataclass(frozen=True)
class PlanSizing:
    """How big and how long: the answer the Plan page shows.

    ``n_control``/``n_treatment`` are per arm; ``n_total`` covers every arm. ``days`` is the
    time to enrol them; ``recommended_days`` rounds up to whole weeks (at least one), since
    behaviour differs by weekday. ``binding`` names the test that sets the size.
    """

    n_control: int
    n_treatment: int
    n_total: int
    days: int
    recommended_days: int
    binding: str
    success_n_control: int
    guardrails: tuple[GuardrailSize, ...]
    alpha_per_test: float
    power_per_test: float
    rule_of_thumb_n: float
    """Lehr's 16 sigma^2 / delta^2 for the success metric (5% two-sided, 80%, equal split)."""
    exact_reference_n: int
    """The exact normal-approximation answer under the rule of thumb's own assumptions."""
    daily_units_in_test: float
    method: str = config.SEQUENTIAL_METHOD
    """The plan's analysis method; the ``method_*`` fields are its size and duration."""
    method_n_control: int = 0
    method_n_treatment: int = 0
    method_n_total: int = 0
    method_days: int = 0
    method_recommended_days: int = 0
    inflation: float = 1.0
    """The method's sample size over the fixed horizon's, at the same power."""
    costs: tuple[MethodCost, ...] = ()
    """Every method side by side (fixed, group sequential, always valid), for the page."""
    cost_days: tuple[int, ...] = ()
    """Recommended days of each entry of ``costs`` (whole weeks)."""

    @property
    def peeking_safe(self) -> bool:
        return self.method != "fixed"


def corrected_power(target: float, guardrails: int) -> float:
    """Per-test power so that success and G guardrails all pass with about ``target``.

    >>> corrected_power(0.8, 2)
    0.9333333333333333
    """
    return 1 - (1 - target) / (guardrails + 1)


def powered_guardrails(plan: ExperimentPlan) -> tuple[MetricSpec, ...]:
    """The guardrails that count as ``G`` in the power correction: those with a margin.

    A guardrail with a non-inferiority margin must *pass* its test, which needs power; one
    without is only checked for harm (the decision stops on a significant loss), which needs
    none, so it would only inflate the size (one took 57,763 units per arm to 77,328).
    Spotify's confidence counts only non-inferiority guardrails too.

    >>> from abcore.plan import ExperimentPlan, MetricSpec
    >>> harm = MetricSpec("errors", "guardrail", baseline=0.02)
    >>> load = MetricSpec("load", "guardrail", "continuous", baseline=800, sd=400, margin=0.02)
    >>> [g.name for g in powered_guardrails(ExperimentPlan(metrics=(harm, load)))]
    ['load']
    """
    return tuple(g for g in plan.guardrails if g.margin)


def signed_mde(metric: MetricSpec) -> float:
    """The metric's mde pointing in its good direction."""
    mde = abs(metric.mde or 0.0)
    return -mde if metric.direction == "decrease" else mde


def alternative_for(plan: ExperimentPlan, metric: MetricSpec) -> str:
    """'two-sided' stays; a one-sided plan tests in the metric's good direction."""
    if plan.alternative == "two-sided":
        return "two-sided"
    return "greater" if metric.higher_is_better else "less"


def _success_metrics(plan: ExperimentPlan) -> tuple[MetricSpec, ...]:
    return tuple(m for m in plan.metrics if m.role == "success")


def _options(plan: ExperimentPlan, metric: MetricSpec, power_: float) -> dict:
    """Options of a success test: alpha split over the success metrics (and, inside
    :mod:`abcore.power`, over the treatment arms), as the decision splits it."""
    return {
        "relative": metric.relative,
        "alpha": plan.alpha / max(1, len(_success_metrics(plan))),
        "power": power_,
        "alternative": alternative_for(plan, metric),
        "ratio": plan.ratio,
        "treatments": len(plan.treatments),
        "variance_reduction": plan.variance_reduction,
    }


def _check_success(metric: MetricSpec | None) -> MetricSpec:
    if metric is None:
        raise ValueError("The plan has no success metric: choose one on the Metrics page.")
    if metric.type == "quantile":
        raise ValueError(
            f"{metric.name!r} is a quantile: its test's variance depends on the density at the "
            "quantile, which a baseline and an sd do not give, so the plan cannot size it. "
            "Make a mean (continuous) the success metric and keep the quantile as a guardrail."
        )
    if metric.baseline is None:
        raise ValueError(f"baseline of {metric.name!r} is missing.")
    if not metric.mde:
        raise ValueError(f"mde of {metric.name!r} must be set and not 0.")
    if metric.type != "binary" and not metric.sd:
        raise ValueError(f"sd of {metric.name!r} must be > 0 for a continuous metric.")
    return metric


def _success_size(plan: ExperimentPlan, metric: MetricSpec, power_: float) -> int:
    """Control units for one success metric's test, as the decision runs it.

    With a launch cost (``min_effect_to_launch``) the decision ships only when the lift is
    surely above the cost, so the test is sized for that margin, not for a lift above zero.
    """
    options = _options(plan, metric, power_)
    cost = plan.min_effect_to_launch
    if cost > 0:
        sign = 1.0 if metric.higher_is_better else -1.0
        mde = signed_mde(metric) / (1.0 if metric.relative else abs(metric.baseline))
        alpha_one = options["alpha"] / (2 if plan.alternative == "two-sided" else 1)
        n = power.superiority_sample_size(
            metric.baseline,
            mde,
            sign * cost,
            sd=None if metric.type == "binary" else metric.sd,
            alpha=alpha_one,
            power=power_,
            ratio=plan.ratio,
            tests=len(plan.treatments),
            variance_reduction=plan.variance_reduction,
        )
        return min(math.ceil(n - 1e-9), _CAP) if n < _CAP else _CAP
    if metric.type == "binary":
        size = power.sample_size_proportion(metric.baseline, signed_mde(metric), **options)
    else:
        size = power.sample_size_mean(metric.baseline, metric.sd, signed_mde(metric), **options)
    return int(size.n_control)


def _guardrail_size(plan: ExperimentPlan, metric: MetricSpec, power_: float) -> GuardrailSize:
    if not metric.margin:
        return GuardrailSize(metric.name, None, "no non-inferiority margin set")
    if metric.type == "quantile":  # its variance needs the density at the quantile
        return GuardrailSize(metric.name, None, "a quantile is not sized (no density known)")
    if metric.baseline is None:
        return GuardrailSize(metric.name, None, "no baseline set")
    options = {
        "alpha": plan.alpha,
        "power": power_,
        "ratio": plan.ratio,
        "variance_reduction": plan.variance_reduction,
    }
    if metric.type == "binary":
        size = power.noninferiority_sample_size_proportion(
            metric.baseline, metric.margin, higher_is_better=metric.higher_is_better, **options
        )
    elif not metric.sd:
        return GuardrailSize(metric.name, None, "no standard deviation set")
    else:
        size = power.noninferiority_sample_size_mean(
            metric.baseline, metric.sd, metric.margin, **options
        )
    return GuardrailSize(metric.name, int(size.n_control))


def _metric_variance(metric: MetricSpec) -> float:
    if metric.type == "binary":
        return metric.baseline * (1 - metric.baseline)
    return metric.sd**2


def _absolute(metric: MetricSpec) -> float:
    return abs(metric.mde) * (abs(metric.baseline) if metric.relative else 1.0)


def _reference_size(metric: MetricSpec) -> int:
    """Exact n at 5% two-sided, 80% power, equal split: what the rule of thumb approximates."""
    options = {"relative": metric.relative, "alpha": 0.05, "power": 0.8}
    if metric.type == "binary":
        size = power.sample_size_proportion(metric.baseline, signed_mde(metric), **options)
    else:
        size = power.sample_size_mean(metric.baseline, metric.sd, signed_mde(metric), **options)
    return int(size.n_control)


def _daily_in_test(plan: ExperimentPlan) -> float:
    return plan.daily_units * plan.exposure


def _total_for(plan: ExperimentPlan, n_control: ArrayLike) -> np.ndarray:
    """Units of every arm at its own share (rounded up) once control has ``n_control``.

    ``plan.ratio`` is the smallest treatment's, which sizes the tests; the larger
    treatments still enrol at their own shares, so counting every arm at the smallest one's
    size undercounts the total and the days (and the smallest arm's power with them).
    """
    n_c = np.asarray(n_control, dtype=float)
    control = plan.expected_shares[plan.control]
    arms = [np.ceil(plan.expected_shares[arm] / control * n_c - 1e-9) for arm in plan.treatments]
    return n_c + sum(arms)


@lru_cache(maxsize=64)
def _costs(
    n_total: int,
    alpha: float,
    power_: float,
    alternative: str,
    looks: int,
    spending: str,
    rho: float,
) -> tuple[MethodCost, ...]:
    """:func:`abcore.sequential.method_costs`, remembered: the page asks on every rerun and
    the always-valid price takes a tenth of a second."""
    return sequential.method_costs(
        n_total,
        alpha=alpha,
        power=power_,
        alternative=alternative,
        looks=looks,
        spending=spending,
        rho=rho,
    )


def _weeks(days: int) -> int:
    return max(1, math.ceil(days / config.WEEK)) * config.WEEK


_CAP = config.SAMPLE_SIZE_MAX


def _duration(days: float) -> str:
    """'3.5 years', '28,000 years', '410 days': two significant digits past ten years."""
    years = days / 365.25
    if years < 2:
        return f"{days:,.0f} days"
    if years < 10:
        return f"{years:.1f} years"
    return f"{_about(years)} years"


def _about(x: float) -> str:
    """Two significant digits, with thousands separators: '28,000', '4.7'."""
    return f"{float(f'{x:.2g}'):,.0f}" if x >= 10 else f"{x:.2g}"


def _feasible_mde(metric: MetricSpec, factor: float) -> str:
    """The metric's mde scaled so its test fits the horizon (n goes as 1 / mde squared)."""
    return describe_effect(dataclasses.replace(metric, mde=abs(metric.mde) * math.sqrt(factor)))


def _check_horizon(plan: ExperimentPlan, binding: str, n_control: int, n_total: float) -> None:
    """Raise :class:`InfeasiblePlan` when the plan needs more than the horizon of its traffic
    (or more units than any test can have), saying what would make it feasible."""
    daily = _daily_in_test(plan)
    days = n_total / daily
    shown = f"{daily:,.0f}" if daily >= 1 else f"{daily:.2g}"
    at_least = n_control >= _CAP
    if not at_least and days <= config.PLAN_HORIZON_DAYS:
        return
    factor = days / config.PLAN_HORIZON_DAYS
    more = "more than " if at_least else ""
    guard = next((g for g in plan.guardrails if g.name == binding), None)
    success = next((m for m in _success_metrics(plan) if m.name == binding), None)
    if guard is not None and guard.margin:
        wider = "" if at_least else f" (about {_pct(guard.margin * math.sqrt(factor) * 100)})"
        effect = f"a wider margin on guardrail {binding}{wider}"
    elif success is not None and not at_least:
        effect = f"a larger minimum detectable effect (about {_feasible_mde(success, factor)})"
    else:
        effect = "a much larger minimum detectable effect"
    exposure = " or more of it in the test" if plan.exposure < 1 else ""
    years = config.PLAN_HORIZON_DAYS / 365.25
    raise InfeasiblePlan(
        f"This plan is not feasible: it needs {more}{n_total:,.0f} users, {more}"
        f"{_duration(days)} at {shown} users a day in the test, and a test can run at "
        f"most {years:.0f} years. What would make it feasible: {effect}, {more}{_about(factor)} "
        f"times the traffic{exposure}, or a stage of the funnel with more users.",
        n_total=float(n_total),
        days=float(days),
        at_least=at_least,
    )


def size_plan(plan: ExperimentPlan) -> PlanSizing:
    """Size the whole plan; ValueError (naming the parameter) when it can't be sized, and
    :class:`InfeasiblePlan` (an InputError) when it needs more than
    ``config.PLAN_HORIZON_DAYS`` of its traffic, with what would make it feasible.

    Every success metric is sized at the decision's split alpha (success metrics x arms)
    and, with a launch cost, for a lift surely above that cost; every guardrail for
    non-inferiority. The largest size binds.

    ``n_control``... are the fixed horizon's size; ``method_n_control``... the size the
    plan's method needs for the same power: the fixed size times the method's inflation
    (:func:`abcore.sequential.method_costs`, priced at the success test's split alpha and
    per-test power; the always-valid price assumes daily looks for four weeks,
    ``config.AV_LOOKS``). ``costs`` lists all three methods so the page can show them side
    by side.

    >>> from abcore.plan import ExperimentPlan
    >>> s = size_plan(ExperimentPlan(method="group_sequential"))
    >>> s.n_control, s.method_n_control, round(s.inflation, 3)
    (57763, 60992, 1.056)
    """
    metric = _check_success(plan.success)
    successes = [_check_success(m) for m in _success_metrics(plan)]
    power_ = corrected_power(plan.power, len(powered_guardrails(plan)))
    sizes = {m.name: _success_size(plan, m, power_) for m in successes}
    binding = max(sizes, key=sizes.__getitem__)
    n_control = success_n = sizes[binding]
    guards = tuple(_guardrail_size(plan, g, power_) for g in plan.guardrails)
    for guard in guards:
        if guard.n_control is not None and guard.n_control > n_control:
            binding, n_control = guard.name, guard.n_control
    _check_horizon(plan, binding, n_control, float(_total_for(plan, n_control)))
    n_treatment = math.ceil(plan.ratio * n_control - 1e-9)
    n_total = int(_total_for(plan, n_control))
    days = int(power.duration_days(n_total, plan.daily_units, plan.exposure))
    weeks = max(1, math.ceil(days / config.WEEK))
    thumb = power.rule_of_thumb_n(_metric_variance(metric), _absolute(metric))
    reference = _reference_size(metric)
    alpha_per_test = plan.alpha / (len(successes) * len(plan.treatments))
    costs = _costs(
        n_total,
        float(alpha_per_test),
        float(power_),
        plan.alternative,
        int(plan.looks),
        plan.spending,
        float(plan.rho),
    )
    chosen = next(c for c in costs if c.method == plan.method)
    method_n = math.ceil(n_control * chosen.inflation - 1e-9)
    method_total = int(_total_for(plan, method_n))
    _check_horizon(plan, binding, min(method_n, _CAP), method_total)
    method_days = int(power.duration_days(method_total, plan.daily_units, plan.exposure))
    cost_days = tuple(
        _weeks(int(power.duration_days(c.n_total, plan.daily_units, plan.exposure))) for c in costs
    )
    return PlanSizing(
        n_control=n_control,
        n_treatment=n_treatment,
        n_total=n_total,
        days=days,
        recommended_days=weeks * config.WEEK,
        binding=binding,
        success_n_control=success_n,
        guardrails=guards,
        alpha_per_test=alpha_per_test,
        power_per_test=power_,
        rule_of_thumb_n=thumb,
        exact_reference_n=reference,
        daily_units_in_test=_daily_in_test(plan),
        method=plan.method,
        method_n_control=method_n,
        method_n_treatment=math.ceil(plan.ratio * method_n - 1e-9),
        method_n_total=method_total,
        method_days=method_days,
        method_recommended_days=_weeks(method_days),
        inflation=chosen.inflation,
        costs=costs,
        cost_days=cost_days,
    )


def _n_control_after(plan: ExperimentPlan, days: ArrayLike) -> np.ndarray:
    """Control-arm units enrolled after ``days`` days of traffic."""
    share = plan.expected_shares[plan.control]
    return np.asarray(days, dtype=float) * _daily_in_test(plan) * share


def detectable_lift_by_days(
    plan: ExperimentPlan, days: ArrayLike, *, under_method: bool = False
) -> np.ndarray:
    """Smallest relative lift on the success metric detectable after each number of days.

    ``under_method``: as the plan's method reads it (the days shrunk by its inflation; the
    same as without for a fixed horizon).
    """
    metric = _check_success(plan.success)
    if under_method and plan.peeking_safe:
        days = np.asarray(days, dtype=float) / size_plan(plan).inflation
    n = _n_control_after(plan, days)
    options = _options(plan, metric, corrected_power(plan.power, len(powered_guardrails(plan))))
    options["relative"] = True
    if metric.type == "binary":
        lift = power.mde_proportion(metric.baseline, n, **options)
    else:
        lift = power.mde_mean(metric.baseline, metric.sd, n, **options)
    return np.abs(np.asarray(lift, dtype=float))


def power_by_days(plan: ExperimentPlan, days: ArrayLike) -> np.ndarray:
    """Power of the success test after each number of days, at the planned mde."""
    metric = _check_success(plan.success)
    n = _n_control_after(plan, days)
    options = _options(plan, metric, corrected_power(plan.power, len(powered_guardrails(plan))))
    options.pop("power")
    if metric.type == "binary":
        out = power.power_proportion(metric.baseline, signed_mde(metric), n, **options)
    else:
        out = power.power_mean(metric.baseline, metric.sd, signed_mde(metric), n, **options)
    return np.asarray(out, dtype=float)


def sample_size_curve(plan: ExperimentPlan, points: int = config.CURVE_POINTS) -> pd.DataFrame:
    """Users per arm against the mde, around the planned one (one vectorised call).

    Columns: ``mde`` (in the plan's units: relative or absolute), ``n_control``,
    ``n_total``, ``days``; a peeking-safe plan adds ``n_control_method`` and ``days_method``
    (the fixed size times the method's inflation, which does not depend on the mde).
    """
    metric = _check_success(plan.success)
    planned = abs(metric.mde)
    upper = planned * 3
    if metric.type == "binary":
        room = (1 - metric.baseline) if metric.higher_is_better else metric.baseline
        room = room / metric.baseline if metric.relative else room
        upper = min(upper, room * 0.95)
    grid = np.linspace(planned / 3, upper, points)
    options = _options(plan, metric, corrected_power(plan.power, len(powered_guardrails(plan))))
    sign = 1.0 if metric.higher_is_better else -1.0
    if metric.type == "binary":
        size = power.sample_size_proportion(metric.baseline, sign * grid, **options)
    else:
        size = power.sample_size_mean(metric.baseline, metric.sd, sign * grid, **options)
    total = _total_for(plan, size.n_control)
    days = power.duration_days(total, plan.daily_units, plan.exposure)
    frame = pd.DataFrame({"mde": grid, "n_control": size.n_control, "n_total": total, "days": days})
    if plan.peeking_safe:
        inflation = size_plan(plan).inflation
        n_method = np.ceil(np.asarray(size.n_control, dtype=float) * inflation - 1e-9)
        frame["n_control_method"] = n_method
        frame["days_method"] = power.duration_days(
            _total_for(plan, n_method), plan.daily_units, plan.exposure
        )
    return frame


def _day_grid(last: int, points: int = config.CURVE_POINTS) -> np.ndarray:
    """Whole days from 1 to ``last``: all of them, or ``points`` of them spread evenly.

    >>> _day_grid(5).tolist(), len(_day_grid(10_000_000))
    ([1, 2, 3, 4, 5], 200)
    """
    if last <= points:
        return np.arange(1, last + 1)
    return np.unique(np.round(np.linspace(1, last, points)).astype(np.int64))


def days_curve(plan: ExperimentPlan, max_days: int | None = None) -> pd.DataFrame:
    """Power and detectable lift by day from 1 to ``max_days`` (default: 2x plan).

    Every day up to ``config.CURVE_POINTS`` days; past that, that many days spread evenly
    from the first to the last, so the work is bounded whatever the duration.

    A peeking-safe plan adds ``power_method`` and ``detectable_lift_method``: the fixed
    curves with the days divided by the method's inflation (a method that needs 6% more
    users reaches on day 1.06 d what the fixed horizon reaches on day d). The inflation is
    exact at the plan's power and close elsewhere.
    """
    sizing = size_plan(plan)
    last = max_days or max(28, 2 * sizing.method_recommended_days)
    days = _day_grid(int(last))
    frame = pd.DataFrame(
        {
            "day": days,
            "power": power_by_days(plan, days),
            "detectable_lift": detectable_lift_by_days(plan, days),
        }
    )
    if plan.peeking_safe:
        shrunk = days / sizing.inflation
        frame["power_method"] = power_by_days(plan, shrunk)
        frame["detectable_lift_method"] = detectable_lift_by_days(plan, shrunk)
    return frame


METHOD_NAMES = {
    "fixed": "Fixed horizon",
    "always_valid": "Always valid",
    "group_sequential": "Group sequential",
}


SPENDING_NAMES = {
    "power": "strict early: early looks stop only for a large effect",
    "obf": "strictest early: early looks stop only for a very large effect",
    "pocock": "the same bar at every look: stops sooner, costs more users",
}


def describe_method(plan: Any) -> str:
    """The plan's way of reading results in one sentence a product manager can follow.

    ``plan`` is an :class:`ExperimentPlan` or anything with its ``method``, ``looks`` and
    ``spending`` (a readout's :class:`~abcore.model.ReadoutOptions`).

    >>> from abcore.plan import ExperimentPlan
    >>> describe_method(ExperimentPlan(method="group_sequential"))[:37]
    'Group sequential with 4 planned looks'
    """
    if plan.method == "always_valid":
        return (
            "Always valid: the results may be read any day and the test stopped as soon as "
            "they are clear; intervals and p-values stay valid however often you look."
        )
    if plan.method == "group_sequential":
        return (
            f"Group sequential with {plan.looks} planned looks ({SPENDING_NAMES[plan.spending]}); "
            "the test may stop at a look whose result crosses that look's bar."
        )
    return (
        "Fixed horizon: the results are read once, at the planned end; reading earlier and "
        "stopping on a good-looking day inflates false wins."
    )


def method_costs_frame(plan: ExperimentPlan, sizing: PlanSizing | None = None) -> pd.DataFrame:
    """The three analysis methods side by side for this plan: what each costs.

    Columns: ``method``, ``label``, ``n_control`` (per arm), ``n_total``, ``days`` (whole
    weeks), ``extra_share`` (users over the fixed horizon), ``looks`` and ``chosen``.

    >>> from abcore.plan import ExperimentPlan
    >>> method_costs_frame(ExperimentPlan())[["method", "n_control"]].to_dict("list")
    {'method': ['fixed', 'group_sequential', 'always_valid'], 'n_control': [57763, 60992, 99563]}
    """
    sizing = sizing or size_plan(plan)
    rows = []
    for cost, days in zip(sizing.costs, sizing.cost_days, strict=True):
        n = math.ceil(sizing.n_control * cost.inflation - 1e-9)
        rows.append(
            {
                "method": cost.method,
                "label": METHOD_NAMES[cost.method],
                "n_control": n,
                "n_total": int(_total_for(plan, n)),
                "days": days,
                "extra_share": cost.extra_share,
                "looks": cost.looks,
                "chosen": cost.method == plan.method,
            }
        )
    return pd.DataFrame(rows)


def _pct(x: float) -> str:
    return f"{x:.4g}%" if abs(x) < 1 else f"{x:.3g}%"


def describe_effect(metric: MetricSpec) -> str:
    """'+5% relative' or '+0.5 points' for the metric's mde, signed by its direction."""
    mde = signed_mde(metric)
    if metric.relative:
        return f"{mde * 100:+.3g}% relative"
    if metric.type == "binary":
        return f"{mde * 100:+.3g} percentage points"
    return f"{mde:+.4g} (absolute)"


def default_hypothesis(plan: ExperimentPlan) -> str:
    """H0 / H1 in plain words, built from the plan's choices.

    >>> from abcore.plan import ExperimentPlan
    >>> print(default_hypothesis(ExperimentPlan()).splitlines()[0])
    H1: the treatment changes converted (control 10% now) by at least +5% relative.
    """
    metric = plan.success
    if metric is None:
        return "Choose a success metric to state the hypothesis."
    if metric.baseline is None:
        now = ""
    elif metric.type == "binary":
        now = f" (control {_pct(metric.baseline * 100)} now)"
    else:
        now = f" (control mean {metric.baseline:.4g} now)"
    verb = {
        "two-sided": "changes",
        "greater": "raises",
        "less": "lowers",
    }[alternative_for(plan, metric)]
    lines = [
        f"H1: the treatment {verb} {metric.name}{now} by at least {describe_effect(metric)}.",
        f"H0: the treatment does not change {metric.name}.",
    ]
    guards = [g for g in plan.guardrails if g.margin]
    if guards:
        names = ", ".join(f"{g.name} (no more than {g.margin * 100:.3g}% worse)" for g in guards)
        lines.append(f"Guardrails that must hold: {names}.")
    if plan.min_effect_to_launch:
        lines.append(
            f"Launch only if the lift is above {plan.min_effect_to_launch * 100:.3g}% "
            "(the cost of launching)."
        )
    if plan.peeking_safe:
        lines.append(
            "Read with the always-valid method: it may stop early for a clear win or harm."
            if plan.method == "always_valid"
            else f"Read at {plan.looks} planned looks: it may stop at a look for a clear win "
            "or harm."
        )
    return "\n".join(lines)


def planned_tuning_n(plan: ExperimentPlan) -> int:
    """N* for a plan: planned units in control plus one treatment arm (the compared pair).

    Uses ``plan.planned_n_per_arm`` (units in control) when set, else the size the plan's
    method needs (:func:`size_plan`'s ``method_n_control``). The pair, not
    every arm, because each comparison's sequence counts the units of its two arms (as
    gbstats does).
    """
    n_control = plan.planned_n_per_arm
    if n_control is None:
        n_control = size_plan(plan).method_n_control
    check_scalar(n_control, "planned_n_per_arm", gt=0)
    return int(n_control + math.ceil(plan.ratio * n_control - 1e-9))


@dataclass(frozen=True)
class CurveDuration:
    """How long the test runs on the traffic a file showed (:func:`duration_from_curve`).

    ``days`` is the first day on which the unique units seen since the start, times the
    exposure, reach ``n_total``; ``recommended_days`` rounds it up to whole weeks.
    ``extrapolated`` says the file's days held too few units, so its last weeks' growth was
    carried forward. ``daily_units`` is the constant daily traffic that gives the same days
    (what the plan's "daily eligible users" becomes when the estimate is adopted);
    ``sentence`` says all of it to a person.
    """

    days: int
    recommended_days: int
    n_total: int
    extrapolated: bool
    daily_units: float
    sentence: str


def _reach_day(
    need: float, days: np.ndarray, units: np.ndarray, last: int, growth: float
) -> tuple[float, bool]:
    """First day whose units reach ``need`` (inf when never), and whether it lies past the
    curve's last day."""
    hit = np.flatnonzero(units >= need)
    if hit.size:
        return float(days[hit[0]]), False
    if growth <= 0:
        return math.inf, True
    return last + math.ceil((need - units[-1]) / growth - 1e-9), True


def duration_from_curve(
    plan: ExperimentPlan,
    days: ArrayLike,
    units: ArrayLike,
    *,
    growth_per_day: float,
    days_in_file: int | None = None,
    sizing: PlanSizing | None = None,
) -> CurveDuration:
    """Days to enrol the plan's units on the traffic of a file: unique units by day since
    its start (``days``, ``units``: :class:`abcore.estimate.UnitCurve`), not a constant rate.

    With repeat visitors, unique users grow more slowly each day (most of Tuesday's users
    were there on Monday), so a constant rate from the first days understates the duration
    and one from the file's average overstates it at first. The test ends on the first day
    the curve times ``plan.exposure`` reaches the plan's units (its method's
    ``method_n_total``). Past the file's last day the curve is carried forward at
    ``growth_per_day`` (the last weeks' new units a day), and the sentence says so. More than
    ``config.PLAN_HORIZON_DAYS`` raises :class:`InfeasiblePlan`, with the sentence
    :func:`size_plan` gives, at the curve's average rate over that span.

    >>> from abcore.plan import ExperimentPlan
    >>> plan = ExperimentPlan()          # needs 115,526 users in total
    >>> d = duration_from_curve(plan, [1, 2, 3], [50_000, 90_000, 120_000], growth_per_day=30_000)
    >>> d.days, d.extrapolated, d.recommended_days
    (3, False, 7)
    >>> duration_from_curve(plan, [1, 2], [50_000, 90_000], growth_per_day=20_000).days
    4
    """
    sizing = sizing or size_plan(plan)
    day_arr = np.asarray(days, dtype=float)
    unit_arr = np.asarray(units, dtype=float)
    if day_arr.ndim != 1 or day_arr.size == 0 or day_arr.shape != unit_arr.shape:
        raise ValueError("days and units must be two lists of the same, non-zero length.")
    if np.any(np.diff(day_arr) <= 0) or np.any(np.diff(unit_arr) < 0) or day_arr[0] < 1:
        raise ValueError("days must rise from 1 and units must never fall.")
    check_scalar(growth_per_day, "growth_per_day", ge=0)
    last = int(days_in_file or day_arr[-1])
    n_total = int(sizing.method_n_total)
    exposed = unit_arr * plan.exposure
    day, extrapolated = _reach_day(n_total, day_arr, exposed, last, growth_per_day * plan.exposure)
    if day > config.PLAN_HORIZON_DAYS:
        if not math.isfinite(day):
            raise InfeasiblePlan(
                f"This plan is not feasible on this traffic: it needs {n_total:,} users, and "
                f"the file's unique users stopped growing at {unit_arr[-1]:,.0f} in its last "
                "days. What would make it feasible: a larger minimum detectable effect, a "
                "wider audience, or a file covering more days.",
                n_total=float(n_total),
                days=math.inf,
                at_least=False,
            )
        rate = n_total / (day * plan.exposure)
        _check_horizon(
            dataclasses.replace(plan, daily_units=rate), sizing.binding, sizing.n_control, n_total
        )
    day = int(day)
    rate = n_total / (day * plan.exposure)
    weeks = _weeks(day)
    share = "" if plan.exposure == 1 else f" ({plan.exposure:.0%} of them in the test)"
    if extrapolated:
        sentence = (
            f"The test needs {n_total:,} users{share}, more than the file's {last} days hold "
            f"({unit_arr[-1]:,.0f} unique users): past its last day the curve is carried "
            f"forward at its last weeks' growth ({growth_per_day:,.0f} new users a day), "
            f"which puts the end on day {day} ({weeks} days in whole weeks). That is an "
            "extrapolation: a file covering more days would tell more."
        )
    else:
        sentence = (
            f"The file's unique users{share} reach the {n_total:,} users the test needs on "
            f"day {day} of its {last} ({weeks} days in whole weeks): {rate:,.0f} new users "
            "a day on average over that span."
        )
    return CurveDuration(day, weeks, n_total, extrapolated, rate, sentence)
