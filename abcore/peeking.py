"""The readout under a plan's method: how a peeking-safe plan turns each test into a valid one.

:mod:`abcore.sequential` holds the maths (confidence sequences, group-sequential designs);
this module applies it to a readout: :class:`PeekingRule` widens the critical value at the
current sample size (the confidence sequence's boundary, or the current look's boundary,
computed over the looks actually made at their information fractions), and :func:`rule_for`
builds the rule a readout's options ask for. The table, the lift over time and the decision
all read their tests through it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from scipy.stats import norm

from abcore import config
from abcore._checks import check_scalar, check_shares
from abcore.sequential import (
    MAX_Z,
    GroupSequentialDesign,
    confidence_sequence,
    cs_boundary_z,
    group_sequential_design,
)

if TYPE_CHECKING:
    from abcore.stats import Comparison

__all__ = ["PeekingRule", "rule_for"]


@lru_cache(maxsize=512)
def _cached_design(
    fractions: tuple[float, ...], alpha: float, alternative: str, spending: str, rho: float
) -> GroupSequentialDesign:
    options = (alpha, alternative, spending, rho)
    for longer in _RECENT.get(options, ()):
        if longer.information_fractions[: len(fractions)] == fractions:
            return _first_looks(longer, len(fractions))
    design = group_sequential_design(
        list(fractions), alpha=alpha, alternative=alternative, spending=spending, rho=rho
    )
    recent = _RECENT.setdefault(options, [])
    recent.insert(0, design)
    del recent[_RECENT_KEPT:]
    return design


_RECENT: dict[tuple[float, str, str, float], list[GroupSequentialDesign]] = {}
"""Recent designs per options: a day's looks are the first looks of the last day's design
(boundary k depends on looks 1..k only), so one design serves the whole lift over time."""
_RECENT_KEPT = 16


def _first_looks(design: GroupSequentialDesign, k: int) -> GroupSequentialDesign:
    """The design's first ``k`` looks, as a design."""
    return dataclasses.replace(
        design,
        information_fractions=design.information_fractions[:k],
        boundaries=design.boundaries[:k],
        nominal_alpha=design.nominal_alpha[:k],
        alpha_spent=design.alpha_spent[:k],
    )


@dataclass(frozen=True)
class PeekingRule:
    """How a peeking-safe method turns a fixed-horizon test at ``n`` units into a valid one.

    Both methods amount to a wider critical value at the current sample size: the
    confidence sequence's ``z_boundary`` (always valid) or the current look's boundary
    (group sequential). So every test the readout and the decision run (two-sided effects,
    one-sided superiority, non-inferiority margins, Fieller relative intervals) stays the
    fixed-horizon test, run at the *nominal alpha* that boundary implies, and its p-value is
    mapped to the method's: for always valid, the always-valid p-value of the test's z
    (exact: ``p < alpha`` exactly when the sequence excludes the null); for group sequential,
    ``p x alpha / nominal alpha``, below alpha exactly when the look crosses its boundary
    (the repeated p-value to first order; exact at the first look of the power family).
    One rule for every test is what keeps the table, the chart and the verdict agreeing.

    Attributes:
        method: ``"always_valid"`` or ``"group_sequential"``.
        planned_n: planned units of control plus one treatment arm: the group-sequential
            information fraction is ``n / planned_n`` (capped at 1: the last look).
        tuning_n: N* of the always-valid sequence (default ``planned_n``).
        looks, spending, rho: the group-sequential design; without ``earlier`` the planned
            looks (equally spaced) before the current information fraction count as made.
        earlier: the looks made before this one, as shares of the current units
            (increasing, in (0, 1)); the boundary is the design's over them and the current
            look. Spending allows looks at any times only when every look is counted (as
            Spotify's confidence counts the data's time points): taking each read as the
            next planned look spent alpha again (28 daily reads, K = 4: 6.9%, not 5%).

    >>> rule = PeekingRule("always_valid", planned_n=40_000)
    >>> round(rule.z_boundary(20_000, 0.05, "two-sided"), 3)
    3.084
    >>> gs = PeekingRule("group_sequential", planned_n=40_000, looks=4)
    >>> round(gs.z_boundary(40_000, 0.05, "two-sided"), 3)   # the last look of 4
    2.092
    >>> daily = PeekingRule("group_sequential", planned_n=40_000,
    ...                     earlier=tuple(d / 28 for d in range(1, 28)))
    >>> round(daily.z_boundary(40_000, 0.05, "two-sided"), 3)   # the 28th daily look
    2.238
    """

    method: str
    planned_n: float
    tuning_n: float | None = None
    looks: int = config.GS_LOOKS
    spending: str = config.SPENDING
    rho: float = config.SPENDING_RHO
    earlier: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        check_scalar(self.method, "method", in_=("always_valid", "group_sequential"))
        check_scalar(self.planned_n, "planned_n", gt=0)
        if self.tuning_n is not None:
            check_scalar(self.tuning_n, "tuning_n", gt=0)
        check_scalar(self.looks, "looks", ge=1, le=config.SEQUENTIAL_MAX_LOOKS)
        object.__setattr__(self, "earlier", check_shares(self.earlier, "earlier_looks"))

    @property
    def n_star(self) -> float:
        return float(self.tuning_n if self.tuning_n is not None else self.planned_n)

    def fraction(self, n: float) -> float:
        """Share of the planned information reached with ``n`` units (not capped)."""
        return float(n) / float(self.planned_n)

    def look_fractions(self, n: float) -> tuple[float, ...]:
        """Information fractions of the looks made by ``n`` units, the current one last:
        the ``earlier`` looks, else the planned ones before it. Rounded to 1e-4 and capped
        at 1 (looks past the plan's end spend nothing more); coinciding looks count once."""
        t = self.fraction(n)
        if self.earlier:
            raw = [share * t for share in self.earlier]
        else:
            k = int(self.looks)
            raw = [j / k for j in range(1, k) if j / k < min(round(t, 4), 1.0) - 1e-9]
        made: list[float] = []
        for f in (*raw, t):
            f = min(round(f, 4), 1.0)
            if f > 0 and (not made or f > made[-1]):
                made.append(f)
        if not made or min(round(t, 4), 1.0) <= 0:
            return ()
        return tuple(made)

    def design(self, n: float, alpha: float, alternative: str) -> GroupSequentialDesign | None:
        """The group-sequential design with the looks made by ``n`` units (None: no units)."""
        fractions = self.look_fractions(n)
        if not fractions:
            return None
        return _cached_design(fractions, float(alpha), alternative, self.spending, self.rho)

    def z_boundary(self, n: float, alpha: float, alternative: str) -> float:
        """Critical value (in standard errors) of the method's test at ``n`` units."""
        if not n > 0:
            return math.inf
        if self.method == "always_valid":
            return float(
                cs_boundary_z(n, tuning_n=self.n_star, alpha=alpha, alternative=alternative)
            )
        design = self.design(n, alpha, alternative)
        return math.inf if design is None else float(design.boundaries[-1])

    def nominal_alpha(self, n: float, alpha: float, alternative: str) -> float:
        """The fixed-horizon level whose critical value is the method's boundary at ``n``."""
        z = self.z_boundary(n, alpha, alternative)
        if z >= MAX_Z:
            return 0.0
        return float((2 if alternative == "two-sided" else 1) * norm.sf(z))

    def p_value(self, p_fixed: float, n: float, alpha: float, alternative: str) -> float:
        """The method's p-value for a fixed-horizon p-value of the same test.

        ``alternative`` is the fixed test's; a one-sided ``p_fixed`` above 0.5 means the
        estimate is on the wrong side.
        """
        p = float(p_fixed)
        if not math.isfinite(p):
            return p
        if self.method == "always_valid":
            if alternative == "two-sided":
                z = float(norm.isf(min(max(p, 1e-300), 1.0) / 2))
            else:
                z = float(norm.isf(min(max(p, 1e-300), 1.0)))
                z = -z if alternative == "less" else z
            cs = confidence_sequence(
                z, 1.0, n, tuning_n=self.n_star, alpha=alpha, alternative=alternative
            )
            return float(cs.p_value) if cs.error is None else 1.0
        nominal = self.nominal_alpha(n, alpha, alternative)
        return 1.0 if nominal <= 0 else min(1.0, p * alpha / nominal)

    def apply(self, comparison: Comparison) -> Comparison:
        """The comparison with the method's intervals and p-value (scalar comparisons).

        Everything else (estimates, standard errors, counts) is kept, so a later one-sided
        test (:meth:`margin_test`) can be rebuilt from it. A comparison that could not be
        tested comes back unchanged.
        """
        import dataclasses

        from scipy.stats import t as t_dist

        from abcore import stats

        if not math.isfinite(float(comparison.p_value)):
            return comparison
        alpha, alternative = float(comparison.alpha), str(comparison.alternative)
        n = float(comparison.n_control) + float(comparison.n_treatment)
        nominal = self.nominal_alpha(n, alpha, alternative)
        p = self.p_value(float(comparison.p_value), n, alpha, alternative)
        if nominal <= 0:
            inf = math.inf
            return dataclasses.replace(
                comparison,
                abs_ci_low=-inf,
                abs_ci_high=inf,
                rel_ci_low=-inf,
                rel_ci_high=inf,
                p_value=p,
            )
        tail = nominal / (2 if alternative == "two-sided" else 1)
        crit = float(t_dist.isf(tail, float(comparison.df)))
        est, se = float(comparison.abs_effect), float(comparison.se)
        low, high = est - crit * se, est + crit * se
        if alternative == "greater":
            high = math.inf
        elif alternative == "less":
            low = -math.inf
        rel_low, rel_high = stats.relative_interval(comparison, alpha=nominal)
        return dataclasses.replace(
            comparison,
            abs_ci_low=low,
            abs_ci_high=high,
            rel_ci_low=float(rel_low),
            rel_ci_high=float(rel_high),
            p_value=p,
        )

    def margin_test(
        self, comparison: Comparison, kind: str, direction: str, threshold: float, alpha: float
    ) -> Any:
        """A one-sided superiority or non-inferiority test under the method.

        ``threshold`` is ``min_effect`` (superiority) or ``margin`` (non-inferiority), as
        :func:`abcore.stats.superiority` / :func:`abcore.stats.noninferiority` take them;
        ``alpha`` is the test's one-sided level. The bound is the method's, the p-value the
        method's, ``alpha`` the one asked for.
        """
        import dataclasses

        from abcore import stats

        side = "greater" if direction == "increase" else "less"
        n = float(comparison.n_control) + float(comparison.n_treatment)
        nominal = self.nominal_alpha(n, alpha, side)
        level = min(max(nominal, 1e-300), 0.5)
        if kind == "superiority":
            mt = stats.superiority(
                comparison, direction=direction, min_effect=threshold, alpha=level
            )
        else:
            mt = stats.noninferiority(
                comparison, margin=threshold, direction=direction, alpha=level
            )
        p = self.p_value(float(mt.p_value), n, alpha, side)
        passed = bool(mt.passed) and nominal > 0
        return dataclasses.replace(mt, p_value=p, alpha=alpha, passed=passed)


def rule_for(options: Any) -> PeekingRule | None:
    """The :class:`PeekingRule` of a :class:`abcore.model.ReadoutOptions` (None: fixed)."""
    method = getattr(options, "method", "fixed")
    if method == "fixed":
        return None
    planned = options.planned_n if options.planned_n is not None else options.tuning_n
    return PeekingRule(
        method,
        planned_n=planned,
        tuning_n=options.tuning_n,
        looks=options.looks,
        spending=options.spending,
        rho=options.rho,
        earlier=tuple(getattr(options, "earlier_looks", ())),
    )
