"""Validity checks: can the experiment's numbers be trusted at all?

Kohavi's rule: a failed trust check means there is no result to read. This module holds the
checks that work on aggregates (sample ratio mismatch first); each returns a typed result
that pages turn into sentences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from abcore import config
from abcore._checks import check_scalar

__all__ = ["ArmShare", "Check", "SRMResult", "srm_test"]


@dataclass(frozen=True)
class Check:
    """One validity check as the decision and the page show it."""

    name: str
    status: str  # "pass" | "warn" | "fail"
    message: str


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
        return max(self.arms, key=lambda a: abs(a.relative_gap))

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
