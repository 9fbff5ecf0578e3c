"""The launch recommendation: Ship, Don't ship, Keep running or Investigate, with reasons.

A risk-aware rule in the spirit of Spotify's ("Risk-aware product decisions in A/B tests
with multiple metrics", Schultzberg et al. 2024), checked in this order:

1. **Validity gates.** A failed trust check (sample ratio mismatch, units in several arms,
   pre-period imbalance, impossible values) means the numbers cannot be read: Investigate.
2. **Harm.** Every success metric and guardrail is also tested for a significant change in
   the wrong direction, and every guardrail for a breach of its margin: Don't ship. These
   tests form a family corrected together (the readout's correction, Holm by default) at
   the one-sided alpha, so an A/A test with many guardrails is not declared harmful by luck.
   A secondary metric's harm is pointed out (Benjamini-Hochberg, exploratory), never decisive.
3. **Success.** One-sided superiority in the good direction, with alpha split across success
   metrics and treatment arms by the readout's correction; the lift must also clear the
   cost of launching (``min_effect_to_launch``).
4. **Guardrails.** One-sided non-inferiority at each margin, at the full alpha.
5. **Maturity.** The planned sample size, whole weeks, no novelty still fading, no peeking
   before the planned end. A result that is not yet mature means Keep running, unless harm is
   already clear.

**Sidedness, as planned.** The success test is the one the plan registered, and its numbers
are the ones the Results table shows. A two-sided plan wins when the two-sided p-value of
the Results table, adjusted across the same family (every success metric in every arm, the
readout's correction), is below alpha with the effect in the good direction; the decision
quotes that p and the two-sided interval. For one test this is exactly the one-sided test
at ``alpha / 2`` in the good direction (the two-sided p is twice the one-sided one when the
estimate is on the good side), so the error rate the plan was sized for is unchanged. With
several success tests the two-sided family is the one the plan's correction was sized over
and the one the reader sees; a directional claim from a step-down two-sided family keeps the
directional error rate (Shaffer 1980, Holm's procedure), and a success metric that moved
the wrong way is caught by the harm family below, never read as a win. (Seeded simulation,
200,000 draws of Holm over 2 to 4 success tests: under the global null the false-win rate is
0.025 either way; with one success metric truly worse, z = -3, the others' false-win rate is
0.017 to 0.023 against 0.013 to 0.019 for one-sided p-values, below alpha / 2 = 0.025.)
A one-sided plan tests and quotes one-sided, with the one-sided bound the Results table
shows; its p-value is the one-sided test of the relative lift, the table's test of the
difference to the quoted digits (both asymptotic, at the same alpha).
The harm, breach and non-inferiority tests are one-sided by nature; under a two-sided plan
the harm tests run at ``alpha / 2``, the other tail of the plan's two-sided test.

**Peeking-safe methods.** When the readout's method is ``"always_valid"`` or
``"group_sequential"`` every one-sided test above runs with the method's boundary at the
current sample size and reports the method's p-value
(:meth:`abcore.peeking.PeekingRule.margin_test`), so a win or a harm it finds is valid
whenever the results are read. Such a win may then stop the test *before* the planned
horizon: the horizon checks (planned duration, planned size, peeking) no longer hold back a
clear win, though a novelty effect still fading does. Harm stops the test under any method.
Without a clear result the test keeps running to its planned size, as with a fixed horizon.

:func:`decide` reads the comparisons the readout computed
(:func:`abcore.compare.plan_comparisons`, with the readout's :class:`ReadoutOptions`) and the
checks by their kind: the table and the verdict cannot read different numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from abcore import peeking, stats
from abcore.compare import plan_comparisons, readout_options
from abcore.model import Check, ReadoutOptions
from abcore.plan import ExperimentPlan, MetricSpec
from abcore.quote import quote_p

__all__ = ["VERDICTS", "ArmRecommendation", "MetricTest", "Recommendation", "decide"]

VERDICTS = {
    "ship": "Ship",
    "dont_ship": "Don't ship",
    "keep_running": "Keep running",
    "investigate": "Investigate",
}
NEXT_STEPS = {
    "ship": "Launch to everyone and keep the guardrails on a dashboard for the first weeks.",
    "dont_ship": "Stop the test and roll back; write down what was learned.",
    "keep_running": "Keep the test running until it is mature, then read it again.",
    "investigate": "Find and fix the cause before reading any effect; then rerun the test.",
}


@dataclass(frozen=True)
class MetricTest:
    """One metric's role in the decision, for one arm."""

    metric: str
    role: str
    direction: str
    rel_effect: float
    rel_ci_low: float
    rel_ci_high: float
    p_value: float
    outcome: str
    """"win", "flat", "harm", "pass" (non-inferior), "inconclusive", "breach", "missing"."""
    sentence: str
    alpha: float = float("nan")
    bound: float = float("nan")
    threshold: float = float("nan")
    p_value_adjusted: float = float("nan")
    """The p-value after the correction of its family (NaN for an uncorrected test)."""


@dataclass(frozen=True)
class ArmRecommendation:
    """The verdict for one treatment arm against the control."""

    arm: str
    verdict: str
    reasons: tuple[str, ...]
    next_step: str
    tests: tuple[MetricTest, ...] = ()

    @property
    def label(self) -> str:
        return VERDICTS[self.verdict]


@dataclass(frozen=True)
class Recommendation:
    """The overall verdict, its reasons and next step, and the verdict of every arm."""

    verdict: str
    reasons: list[str]
    next_step: str
    arms: tuple[ArmRecommendation, ...] = ()
    best_arm: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return VERDICTS[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "label": self.label,
            "reasons": list(self.reasons),
            "next_step": self.next_step,
            "best_arm": self.best_arm,
            "arms": [
                {
                    "arm": a.arm,
                    "verdict": a.verdict,
                    "reasons": list(a.reasons),
                    "tests": [t.__dict__ for t in a.tests],
                }
                for a in self.arms
            ],
        }


def _pct(x: float) -> str:
    return f"{x:+.2%}" if np.isfinite(x) else ("+∞" if x > 0 else "−∞")


def _interval(c: stats.Comparison) -> str:
    low, high = _pct(float(c.rel_ci_low)), _pct(float(c.rel_ci_high))
    return f"{_pct(float(c.rel_effect))} (CI {low} to {high})"


def _success_bounds(
    c: stats.Comparison, mt: stats.MarginTest, fam: _Families
) -> tuple[float, float]:
    """The success test's relative interval: two-sided, or the one-sided bound of a
    one-sided plan with the other end unbounded (as the Results table shows it)."""
    if fam.two_sided:
        return float(c.rel_ci_low), float(c.rel_ci_high)
    if mt.direction == "increase":
        return float(mt.bound), float("inf")
    return float("-inf"), float(mt.bound)


def _success_interval(c: stats.Comparison, mt: stats.MarginTest, fam: _Families) -> str:
    """The success metric's effect and the interval of its test, as the Results table
    shows it: two-sided under a two-sided plan, else the one-sided bound of the test."""
    if fam.two_sided:
        return _interval(c)
    bound = _pct(float(mt.bound))
    side = "above" if mt.direction == "increase" else "below"
    return f"{_pct(float(c.rel_effect))} (CI {side} {bound})"


def _opposite(direction: str) -> str:
    return "decrease" if direction == "increase" else "increase"


def _one_sided_alpha(plan: ExperimentPlan, alpha: float) -> float:
    return alpha / 2 if plan.alternative == "two-sided" else alpha


def _test(
    spec: MetricSpec,
    role: str,
    c: stats.Comparison,
    outcome: str,
    sentence: str,
    mt: stats.MarginTest | None = None,
    p_adjusted: float = float("nan"),
    interval: tuple[float, float] | None = None,
) -> MetricTest:
    low, high = interval or (float(c.rel_ci_low), float(c.rel_ci_high))
    return MetricTest(
        metric=spec.name,
        role=role,
        direction=spec.direction,
        rel_effect=float(c.rel_effect),
        rel_ci_low=low,
        rel_ci_high=high,
        p_value=float(mt.p_value) if mt is not None else float(c.p_value),
        outcome=outcome,
        sentence=sentence,
        alpha=float(mt.alpha) if mt is not None else float("nan"),
        bound=float(mt.bound) if mt is not None else float("nan"),
        threshold=float(mt.threshold) if mt is not None else float("nan"),
        p_value_adjusted=float(p_adjusted),
    )


Tested = tuple[stats.MarginTest, float]
"""A one-sided test and its p-value adjusted within its family."""


def _family(
    plan: ExperimentPlan,
    comparisons: dict[str, dict[str, stats.Comparison | None]],
    roles: tuple[str, ...],
    test: Any,
    correction: str,
) -> dict[tuple[str, str], Tested]:
    """``test(comparison, spec)`` for every metric of ``roles`` in every arm, p-values
    adjusted together."""
    keys, tests = [], []
    for arm, by_metric in comparisons.items():
        for spec in plan.metrics:
            c = by_metric.get(spec.name)
            if spec.role not in roles or c is None or np.isnan(float(c.p_value)):
                continue
            mt = test(c, spec)
            if mt is None:
                continue
            keys.append((arm, spec.name))
            tests.append(mt)
    if not tests:
        return {}
    adjusted = stats.adjust_p_values([float(t.p_value) for t in tests], correction)
    return dict(zip(keys, zip(tests, adjusted, strict=True), strict=True))


@dataclass(frozen=True)
class _Families:
    """Every one-sided test of the decision, adjusted within its family."""

    success: dict[tuple[str, str], Tested]
    harm: dict[tuple[str, str], Tested]
    breach: dict[tuple[str, str], Tested]
    secondary_harm: dict[tuple[str, str], Tested]
    alpha_one: float
    alpha: float
    """The readout's alpha: guardrails' non-inferiority runs at it, one-sided."""
    rule: peeking.PeekingRule | None = None
    """The peeking-safe method's rule (None: fixed horizon)."""
    two_sided: bool = False
    """The plan is two-sided: the success family holds the two-sided p-values, read at
    ``alpha`` with the effect in the good direction."""

    @property
    def success_alpha(self) -> float:
        """The level the success family's adjusted p-values are read at."""
        return self.alpha if self.two_sided else self.alpha_one

    @property
    def sides(self) -> str:
        """The success test named once, as the sentence and the table say it."""
        return "two-sided, as planned" if self.two_sided else "one-sided, as planned"

    def superiority(
        self, c: stats.Comparison, direction: str, alpha: float, min_effect: float = 0.0
    ) -> stats.MarginTest:
        """One-sided superiority under the readout's method."""
        if self.rule is None:
            return stats.superiority(c, direction=direction, min_effect=min_effect, alpha=alpha)
        return self.rule.margin_test(c, "superiority", direction, min_effect, alpha)

    def noninferiority(
        self, c: stats.Comparison, margin: float, direction: str
    ) -> stats.MarginTest:
        """One-sided non-inferiority at the readout's alpha under its method."""
        if self.rule is None:
            return stats.noninferiority(c, margin=margin, direction=direction, alpha=self.alpha)
        return self.rule.margin_test(c, "noninferiority", direction, margin, self.alpha)

    def passed(self, family: str, arm: str, metric: str) -> Tested | None:
        """The test when it is significant after correction, else None."""
        found = getattr(self, family).get((arm, metric))
        return found if found is not None and found[1] < self.alpha_one else None


def _families(
    plan: ExperimentPlan,
    comparisons: dict[str, dict[str, stats.Comparison | None]],
    options: ReadoutOptions,
) -> _Families:
    correction = options.correction
    alpha = _one_sided_alpha(plan, options.alpha)
    rule = peeking.rule_for(options)
    tests = _Families({}, {}, {}, {}, alpha, options.alpha, rule)

    two_sided = plan.alternative == "two-sided"

    def success(c: stats.Comparison, spec: MetricSpec) -> stats.MarginTest:
        mt = tests.superiority(c, spec.direction, alpha)
        if not two_sided:
            return mt
        # the plan's two-sided test: the p-value the Results table shows (the method's)
        return dataclasses.replace(mt, p_value=float(c.p_value), alpha=options.alpha)

    def harm(c: stats.Comparison, spec: MetricSpec) -> stats.MarginTest:
        return tests.superiority(c, _opposite(spec.direction), alpha)

    def breach(c: stats.Comparison, spec: MetricSpec) -> stats.MarginTest | None:
        if not spec.margin:
            return None
        margin = min(spec.margin, 0.99)
        return tests.superiority(c, _opposite(spec.direction), alpha, margin)

    return _Families(
        success=_family(plan, comparisons, ("success",), success, correction),
        harm=_family(plan, comparisons, ("success", "guardrail"), harm, correction),
        breach=_family(plan, comparisons, ("guardrail",), breach, correction),
        secondary_harm=_family(plan, comparisons, ("secondary",), harm, "bh"),
        alpha_one=alpha,
        alpha=options.alpha,
        rule=rule,
        two_sided=two_sided,
    )


@dataclass
class _Findings:
    """What the metrics of one arm said, sorted by what each finding does to the verdict."""

    tests: list[MetricTest] = field(default_factory=list)
    harm: list[str] = field(default_factory=list)
    waits: list[str] = field(default_factory=list)
    wins: list[str] = field(default_factory=list)
    flats: list[str] = field(default_factory=list)
    below_cost: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def add(
        self,
        spec: MetricSpec,
        role: str,
        c: stats.Comparison,
        outcome: str,
        text: str,
        mt: stats.MarginTest | None = None,
        *,
        to: list[str] | None = None,
        p_adjusted: float = float("nan"),
        interval: tuple[float, float] | None = None,
    ) -> None:
        """Record a metric's test; ``to`` is the list of reasons its sentence joins;
        ``interval`` the relative interval shown (default: the comparison's two-sided one)."""
        self.tests.append(_test(spec, role, c, outcome, text, mt, p_adjusted, interval))
        if to is not None:
            to.append(text)


def _read_success(
    plan: ExperimentPlan,
    arm: str,
    spec: MetricSpec,
    c: stats.Comparison,
    fam: _Families,
    found: _Findings,
) -> None:
    """Harm first, then the adjusted one-sided win, then the launch cost."""
    hurt = fam.passed("harm", arm, spec.name)
    if hurt is not None:
        text = (
            f"{spec.name} got significantly worse: {_interval(c)}, p = {hurt[1]:.2g} after "
            "correction."
        )
        found.add(spec, "success", c, "harm", text, hurt[0], to=found.harm, p_adjusted=hurt[1])
        return
    mt, p_adj = fam.success[(arm, spec.name)]
    alpha_one = fam.alpha_one
    sign = 1 if spec.higher_is_better else -1
    shown = _success_bounds(c, mt, fam)
    if p_adj >= fam.success_alpha or not sign * float(c.rel_effect) > 0:
        text = (
            f"{spec.name} shows no significant improvement: {_success_interval(c, mt, fam)}, "
            f"p = {quote_p(p_adj)} after correction ({fam.sides})."
        )
        found.add(
            spec, "success", c, "flat", text, mt, to=found.flats, p_adjusted=p_adj, interval=shown
        )
        return
    cost = plan.min_effect_to_launch
    if cost > 0:
        # the cost test splits alpha over the success tests as the sizing does (Bonferroni)
        split = alpha_one / max(1, len(fam.success))
        over = fam.superiority(c, spec.direction, split, cost)
        if not over.passed and sign * float(c.rel_effect) < cost:
            text = (
                f"{spec.name} improved, {_interval(c)}, but by less than the "
                f"{cost:.1%} the launch costs."
            )
            found.add(spec, "success", c, "flat", text, over, to=found.below_cost)
            return
        if not over.passed:
            found.waits.append(
                f"{spec.name} improved but is not yet surely above the "
                f"{cost:.1%} cost of launching."
            )
    text = (
        f"{spec.name} improved: {_success_interval(c, mt, fam)}, p = {quote_p(p_adj)} after "
        f"correction ({fam.sides}, alpha {fam.success_alpha:g})."
    )
    found.add(spec, "success", c, "win", text, mt, to=found.wins, p_adjusted=p_adj, interval=shown)


def _read_guardrail(
    plan: ExperimentPlan,
    arm: str,
    spec: MetricSpec,
    c: stats.Comparison,
    fam: _Families,
    found: _Findings,
) -> None:
    """Breach of the margin, then significant harm (forgiven within the margin), then
    non-inferiority: a guardrail not yet shown within its margin makes the test wait."""
    margin = spec.margin or 0.0
    breach = fam.passed("breach", arm, spec.name)
    if breach is not None:
        text = (
            f"Guardrail {spec.name} is breached: {_interval(c)}, worse than its "
            f"{margin:.1%} margin (p = {breach[1]:.2g} after correction)."
        )
        found.add(
            spec, "guardrail", c, "breach", text, breach[0], to=found.harm, p_adjusted=breach[1]
        )
        return
    ni = fam.noninferiority(c, margin, spec.direction) if margin else None
    hurt = fam.passed("harm", arm, spec.name)
    if hurt is not None:
        text = (
            f"Guardrail {spec.name} got significantly worse: {_interval(c)}, p = "
            f"{hurt[1]:.2g} after correction."
        )
        if ni is not None and ni.passed:
            text += f" Still within its {margin:.1%} margin."
            found.add(spec, "guardrail", c, "pass", text, ni)
        else:
            found.add(
                spec, "guardrail", c, "harm", text, hurt[0], to=found.harm, p_adjusted=hurt[1]
            )
        return
    if ni is None:
        text = f"Guardrail {spec.name} has no margin: only harm is tested; none found."
        found.add(spec, "guardrail", c, "pass", text, fam.harm.get((arm, spec.name), (None,))[0])
    elif ni.passed:
        text = f"Guardrail {spec.name} holds: {_interval(c)}, within its {margin:.1%} margin."
        found.add(spec, "guardrail", c, "pass", text, ni)
    else:
        text = (
            f"Guardrail {spec.name} is not yet shown to be within its "
            f"{margin:.1%} margin: {_interval(c)}."
        )
        found.add(spec, "guardrail", c, "inconclusive", text, ni, to=found.waits)


def _read_secondary(
    arm: str, spec: MetricSpec, c: stats.Comparison, fam: _Families, found: _Findings
) -> None:
    """Secondary metrics never block a launch; a harm that survives their false-discovery
    correction is pointed out (exploratory)."""
    hurt = fam.passed("secondary_harm", arm, spec.name)
    if hurt is not None:
        text = (
            f"Secondary metric {spec.name} got worse: {_interval(c)} (exploratory, "
            f"p = {hurt[1]:.2g} after a false-discovery correction). Look into it before "
            "launching."
        )
        found.add(spec, "secondary", c, "harm", text, hurt[0], p_adjusted=hurt[1])
    else:
        found.add(spec, "secondary", c, "flat", f"{spec.name}: {_interval(c)}.")


def _decide_arm(
    plan: ExperimentPlan,
    arm: str,
    comparisons: dict[str, stats.Comparison | None],
    fam: _Families,
    gates: list[Check],
    maturity: _Maturity,
) -> ArmRecommendation:
    found = _Findings()
    for spec in plan.metrics:
        c = comparisons.get(spec.name)
        key = spec.role in ("success", "guardrail")
        if c is None:
            if key:
                found.missing.append(spec.name)
        elif np.isnan(float(c.p_value)):
            reason = stats.ERRORS.get(str(c.error), "it could not be tested")
            found.add(spec, spec.role, c, "missing", f"{spec.name}: {reason}")
            if key:
                found.waits.append(f"{spec.name} could not be tested: {reason}")
        elif spec.role == "success":
            _read_success(plan, arm, spec, c, fam, found)
        elif spec.role == "guardrail":
            _read_guardrail(plan, arm, spec, c, fam, found)
        else:
            _read_secondary(arm, spec, c, fam, found)
    return _verdict(arm, found, gates, maturity)


@dataclass(frozen=True)
class _Maturity:
    """Maturity checks not yet passed: about the planned horizon, and the others (novelty)."""

    horizon: list[str]
    other: list[str]
    peeking_safe: bool = False
    method: str = "fixed"

    @property
    def all(self) -> list[str]:
        return self.horizon + self.other

    @property
    def win_may_stop(self) -> bool:
        """A clear win may be read now: mature, or early under a peeking-safe method."""
        return not self.other and (self.peeking_safe or not self.horizon)


METHOD_LABELS = {
    "fixed": "fixed horizon",
    "always_valid": "always valid",
    "group_sequential": "group sequential",
}


def _verdict(
    arm: str, found: _Findings, gates: list[Check], maturity: _Maturity
) -> ArmRecommendation:
    """Gates, then harm, then a mature win, then a mature loss; otherwise keep running.

    A peeking-safe method lets a clear win through before the planned horizon.
    """
    tests = tuple(found.tests)

    def rec(verdict: str, reasons: list[str], step: str | None = None) -> ArmRecommendation:
        return ArmRecommendation(arm, verdict, tuple(reasons), step or NEXT_STEPS[verdict], tests)

    failed = [g.message for g in gates if g.blocks]
    if failed or found.missing:
        return rec(
            "investigate",
            failed
            + [
                f"The plan's metric {m} is not in the data: map it on the Results page."
                for m in found.missing
            ],
        )
    if found.harm:
        return rec("dont_ship", found.harm)
    mature = not maturity.all
    if found.wins and not found.waits:
        if mature:
            return rec("ship", found.wins + _passes(found.tests))
        if maturity.win_may_stop:
            early = (
                f"Stopped early: the {METHOD_LABELS[maturity.method]} readout is valid at "
                "every look, so this win holds before the planned end (its size may still be "
                "smaller than it looks today)."
            )
            return rec("ship", [*found.wins, *_passes(found.tests), early])
        early = "Decide when the test is mature: a win read early is usually smaller than it looks."
        return rec("keep_running", [*maturity.all, *found.wins, early])
    if found.below_cost and mature:
        return rec("dont_ship", found.below_cost)
    if found.flats and mature and not found.waits:
        planned = (
            "The test reached its planned size: a lift as large as the one planned would most "
            "likely have shown."
        )
        return rec("dont_ship", [*found.flats, planned])
    step = None
    if mature and found.waits:
        step = (
            "The test is mature but a guardrail is inconclusive: extend it to power the "
            "guardrail, or agree a wider margin before deciding."
        )
    reasons = maturity.all + found.waits + found.wins + found.flats + found.below_cost
    return rec("keep_running", reasons, step)


def _passes(tests: list[MetricTest]) -> list[str]:
    return [t.sentence for t in tests if t.role == "guardrail" and t.outcome == "pass"]


def decide(
    plan: ExperimentPlan,
    comparisons: Mapping[str, Mapping[str, stats.Comparison | None]] | Any,
    checks: Sequence[Check] = (),
    *,
    options: ReadoutOptions | None = None,
) -> Recommendation:
    """The launch recommendation for every treatment arm, and overall.

    Args:
        plan: the experiment plan: metrics with roles, directions and margins, alpha, the
            cost of launching, the planned size.
        comparisons: ``{arm: {metric: Comparison or None}}`` for every plan metric (None: not
            in the data), as :func:`abcore.compare.plan_comparisons` computes them with the
            readout's options. :class:`abcore.model.Aggregates` are accepted too (a notebook
            shortcut): they are compared with ``options`` first.
        checks: validity checks, read by kind: a failed ``"gate"`` blocks any reading, a
            ``"maturity"`` check not passed means the test is not mature.
        options: the readout's options: ``options.alpha`` is the error rate of the tests
            (one-sided tests run at half of it when the plan is two-sided) and
            ``options.correction`` splits it over the success metrics x arms and corrects
            the harm tests; ``options.method`` the peeking-safe method. Default: the plan's
            alpha and method.
    """
    if options is None:
        options = readout_options(plan, alpha=plan.alpha)
    if hasattr(comparisons, "mapping"):
        comparisons = plan_comparisons(comparisons, plan, options)
    by_arm = {arm: dict(by_metric) for arm, by_metric in comparisons.items()}
    maturity = _Maturity(
        horizon=[c.message for c in checks if c.immature and c.kind == "horizon"],
        other=[c.message for c in checks if c.immature and c.kind == "maturity"],
        peeking_safe=options.method != "fixed",
        method=options.method,
    )
    gates = [c for c in checks if c.kind == "gate"]
    fam = _families(plan, by_arm, options)
    arms = tuple(_decide_arm(plan, arm, by_arm[arm], fam, gates, maturity) for arm in by_arm)
    return _overall(plan, arms)


def _overall(plan: ExperimentPlan, arms: tuple[ArmRecommendation, ...]) -> Recommendation:
    verdicts = [a.verdict for a in arms]
    best = None
    if "investigate" in verdicts:
        verdict = "investigate"
    elif "ship" in verdicts:
        verdict = "ship"
        shipping = [a for a in arms if a.verdict == "ship"]
        success = plan.success.name if plan.success else None
        sign = 1 if (plan.success is None or plan.success.higher_is_better) else -1

        def lift(a: ArmRecommendation) -> float:
            return max((sign * t.rel_effect for t in a.tests if t.metric == success), default=0.0)

        best = max(shipping, key=lift).arm
    elif "keep_running" in verdicts:
        verdict = "keep_running"
    else:
        verdict = "dont_ship"
    chosen = next(a for a in arms if a.verdict == verdict and (best is None or a.arm == best))
    reasons = list(chosen.reasons)
    if len(arms) > 1:
        reasons = [f"{a.arm}: {a.label}" for a in arms] + reasons
        if best:
            reasons.insert(0, f"Ship {best}: the arm with the largest lift among those that pass.")
    return Recommendation(verdict, reasons, chosen.next_step, arms, best)
