"""What the Validity & decision page shows, as pure functions: the verdict's text, the
judged tests, the checks and the sample-ratio tables.

No Streamlit and no session state (those are in :mod:`ui.decision_state`); the doctests run
in the suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from abcore.decision import Recommendation
from abcore.model import Check
from ui.text import md

STATUS_LABELS = {"pass": "Pass", "warn": "Look", "fail": "Fail"}
"""A check's status as the page words it."""
STATUS_COLORS = {"Pass": "#dafbe1", "Look": "#fff8c5", "Fail": "#ffebe9"}
WORST_SUMMARY = {
    "pass": "Every check passed.",
    "warn": "Some checks need a look.",
    "fail": "A check failed: the results cannot be trusted until it is explained.",
}
CORRECTION_NAMES = {"holm": "Holm", "bonferroni": "Bonferroni", "bh": "Benjamini-Hochberg"}
METHOD_BOUNDS = {
    "fixed": "",
    "always_valid": " Every bound is the always-valid one (a confidence sequence), "
    "so it holds at whatever day the results are read.",
    "group_sequential": " Every bound is the current look's group-sequential "
    "boundary, so a clear result may stop the test at this look.",
}


def verdict_body(rec: Recommendation) -> str:
    """The verdict banner's Markdown: the label, its reasons and the next step."""
    body = f"### {rec.label}\n\n" + "\n".join(f"- {md(r)}" for r in rec.reasons)
    return body + f"\n\n**Next step:** {md(rec.next_step)}"


def judged_frame(rec: Recommendation) -> pd.DataFrame:
    """Every test the decision read, one row per arm and metric (lifts as fractions)."""
    rows = [
        {
            "Arm": arm.arm,
            "Metric": t.metric,
            "Role": t.role,
            "Outcome": t.outcome,
            "Lift": t.rel_effect,
            "CI low": t.rel_ci_low,
            "CI high": t.rel_ci_high,
            "What it means": t.sentence,
        }
        for arm in rec.arms
        for t in arm.tests
    ]
    return pd.DataFrame(rows)


def judged_caption(
    correction: str, relative_method: str, method: str, alternative: str = "two-sided"
) -> str:
    """How the decision tested each family, under the analysis' correction and method.

    The success test is named once, with the plan's sidedness: its p-value and interval are
    the Results table's.

    >>> print(judged_caption("holm", "fieller", "fixed"))  # doctest: +NORMALIZE_WHITESPACE
    Success metrics: two-sided, as planned (the Results table's p-value and interval), alpha
    split across success metrics and arms (Holm). Guardrails: one-sided non-inferiority at
    their margin. Every metric is also tested for harm. Relative intervals by the fieller
    method.
    """
    sides = "two-sided" if alternative == "two-sided" else "one-sided"
    return (
        f"Success metrics: {sides}, as planned (the Results table's p-value and interval), "
        f"alpha split across success metrics and arms "
        f"({CORRECTION_NAMES.get(correction, 'no correction')}). Guardrails: "
        "one-sided non-inferiority at their margin. Every metric is also tested for harm. "
        f"Relative intervals by the {relative_method} method." + METHOD_BOUNDS[method]
    )


def worst_status(checks: Sequence[Check]) -> str:
    """The worst status among the checks: fail, then warn, then pass.

    >>> worst_status([Check("a", "pass", ""), Check("b", "warn", "")])
    'warn'
    """
    return min((c.status for c in checks), key=["fail", "warn", "pass"].index)


def status_style(frame: pd.DataFrame, column: str = "Status") -> Any:
    """Colour the status column: green pass, yellow look, red fail."""
    return frame.style.map(
        lambda v: f"background-color: {STATUS_COLORS.get(v, 'white')}", subset=[column]
    )


def checks_frame(checks: Sequence[Check]) -> pd.DataFrame:
    """Checks as the page's table: status in words, name, what it found.

    >>> checks_frame([Check("Sample ratio", "fail", "Off by 3%.")]).iloc[0].tolist()
    ['Fail', 'Sample ratio', 'Off by 3%.']
    """
    return pd.DataFrame(
        {
            "Status": [STATUS_LABELS[c.status] for c in checks],
            "Check": [c.name for c in checks],
            "What it found": [c.message for c in checks],
        }
    )


def checks_table(checks: Sequence[Check]) -> Any:
    """:func:`checks_frame`, coloured by status."""
    return status_style(checks_frame(checks))


def srm_frame(srm: Any) -> pd.DataFrame:
    """The sample-ratio check per arm: units, observed and planned shares, the gap."""
    return pd.DataFrame(
        {
            "Arm": [a.arm for a in srm.arms],
            "Units": [f"{a.observed:,}" for a in srm.arms],
            "Share": [a.observed_share for a in srm.arms],
            "Planned share": [a.expected_share for a in srm.arms],
            "Off by": [a.relative_gap for a in srm.arms],
        }
    )


def day_labels(days: Sequence[Any], *, day_label: bool) -> list[str]:
    """The data's days as the date pickers show them: ISO dates, or the file's own labels.

    >>> day_labels([pd.Timestamp("2026-03-02 00:00")], day_label=False)
    ['2026-03-02']
    >>> day_labels(["Sat, Oct 11"], day_label=True)
    ['Sat, Oct 11']
    """
    return [str(pd.Timestamp(d).date()) if not day_label else str(d) for d in days]


def empty_notes() -> pd.DataFrame:
    """The date-notes editor's first table: no rows, a day and a note column of text.

    >>> empty_notes().dtypes.tolist()
    [dtype('O'), dtype('O')]
    """
    return pd.DataFrame(
        {"day": pd.Series([], dtype="object"), "note": pd.Series([], dtype="object")}
    )
