"""What the Model launch page shows, as pure functions: column guesses, each tool's verdict
in sentences, and its table as text.

No Streamlit and no session state (uploads are in :mod:`ui.model_launch_state`); numbers go
through :mod:`ui.fmt`; the doctests run in the suite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from abcore import ingest
from ui import fmt
from ui.text import md

NUMERIC_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL",
)  # fmt: skip
NONE = "(none)"
"""The choice that leaves an optional column (a latency, a label) out."""
CANARY_TITLES = {"promote": "Promote", "hold": "Hold", "roll back": "Roll back"}
CANARY_NEXT_STEPS = {
    "promote": "Move to the next ramp step.",
    "hold": "Keep the canary at its traffic and look at the failing metric before going on.",
    "roll back": "Send all traffic back to the baseline and fix the regression.",
}
CANARY_RESULTS = {
    "pass": "pass",
    "high": "FAIL: too high",
    "low": "FAIL: too low",
    "nodata": "no data",
}
DRIFT_METHODS = {
    "auto": "Automatic (Evidently's rule)",
    "ks": "Kolmogorov-Smirnov",
    "wasserstein": "Wasserstein (normed)",
    "chisquare": "Chi-square",
    "jensenshannon": "Jensen-Shannon",
    "psi": "PSI",
}


def guess(names: Sequence[str], hints: Sequence[str], *, fallback: int | None = 0) -> int | None:
    """Index of the first column whose name contains a hint (for a selectbox's default).

    >>> guess(["ts", "user_id", "model"], ["user", "id"]), guess(["a", "b"], ["x"], fallback=5)
    (1, 1)
    >>> guess(["a"], ["x"], fallback=None) is None
    True
    """
    lowered = [n.lower() for n in names]
    for hint in hints:
        for i, name in enumerate(lowered):
            if hint in name:
                return i
    if fallback is None or not names:
        return None
    return min(fallback, len(names) - 1)


def numeric_columns(dataset: ingest.Dataset) -> list[str]:
    """The dataset's columns of a number type (candidate metrics and latencies)."""
    return [n for n, t in dataset.types.items() if t.upper().startswith(NUMERIC_TYPES)]


def optional(choice: str) -> str | None:
    """A column choice, None for :data:`NONE`.

    >>> optional("latency_ms"), optional(NONE)
    ('latency_ms', None)
    """
    return None if choice == NONE else choice


def banner_body(title: str, lines: Sequence[str]) -> str:
    """A verdict banner's Markdown: the title as a heading, then one bullet per line.

    >>> print(banner_body("Promote", ["All metrics pass."]))
    ### Promote
    <BLANKLINE>
    - All metrics pass.
    """
    return f"### {title}\n\n" + "\n".join(f"- {line}" for line in lines)


def interleaving_lines(result: Any, label_a: str, label_b: str, silent: int) -> list[str]:
    """The interleaving verdict's two sentences: who preferred what, and the interval."""
    decisive = result.wins_a + result.wins_b
    return [
        f"Of the {decisive:,} users who preferred one ranker, "
        f"{result.wins_a / max(decisive, 1):.0%} chose {md(label_a)} ({result.wins_a:,} vs "
        f"{result.wins_b:,}); {result.ties:,} tied and {silent:,} never clicked.",
        f"Preference share Δ = {result.delta:+.3f} (95% interval {result.ci_low:+.3f} "
        f"to {result.ci_high:+.3f}): 0 is no preference, +0.5 would be every user "
        f"preferring {md(label_a)}. Sign test p = {result.p_value:.2g}.",
    ]


def canary_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The canary's per-metric judgement as text: result, medians, relative shift.

    >>> t = pd.DataFrame({"name": ["latency"], "classification": ["high"],
    ...     "baseline_median": [120.0], "canary_median": [150.0], "rel_shift": [0.25]})
    >>> canary_frame(t).iloc[0].tolist()
    ['latency', 'FAIL: too high', '120 → 150', '+25.0%']
    """
    return pd.DataFrame(
        {
            "Metric": table["name"],
            "Result": table["classification"].map(CANARY_RESULTS),
            "Baseline → canary (median)": [
                f"{b:,.4g} → {c:,.4g}"
                for b, c in zip(table["baseline_median"], table["canary_median"], strict=True)
            ],
            "Shift": table["rel_shift"].map(lambda x: fmt.pct(x, digits=1, none="n/a")),
        }
    )


def shadow_lines(shadow: Any) -> list[str]:
    """The shadow run's verdict: agreement, score and latency differences, the next step."""
    lines = [
        f"They agree on {shadow.agreement:.1%} of {shadow.n_requests:,} requests "
        f"(95% interval {shadow.agreement_ci_low:.1%} to {shadow.agreement_ci_high:.1%})"
        + (
            f", deciding 'positive' at a score of {shadow.decision_threshold:g}."
            if shadow.decision_threshold is not None
            else "."
        ),
    ]
    if shadow.score is not None:
        lines.append(
            f"The new score is {shadow.score.diff:+.4f} on average (95% interval "
            f"{shadow.score.ci_low:+.4f} to {shadow.score.ci_high:+.4f})."
        )
    if shadow.latency is not None:
        lines.append(
            f"The new model takes {shadow.latency.diff:+.1f} ms per request on average "
            f"(95% interval {shadow.latency.ci_low:+.1f} to {shadow.latency.ci_high:+.1f})."
        )
    lines.append(
        "**Next step:** "
        + (
            "they mostly agree: check the requests listed below, then start the canary."
            if shadow.agreement >= 0.95
            else "they often disagree: review the requests below before serving any traffic."
        )
    )
    return lines


def ramp_frame(steps: Sequence[Any]) -> pd.DataFrame:
    """The ramp plan as text: each step's share, requests and how long it must run."""
    return pd.DataFrame(
        {
            "Traffic on new version": [f"{s.share:.0%}" for s in steps],
            "Requests on new version": [f"{s.n_new:,}" for s in steps],
            "Run at least": [
                f"{s.hours:,.1f} hours" if s.hours < 48 else f"{s.days} days" for s in steps
            ],
        }
    )


def drift_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The drift report per column as text: moved, test, value, alarm threshold, summaries.

    >>> t = pd.DataFrame({"feature": ["age"], "drifted": [True], "method": ["ks"],
    ...     "statistic": [0.0123], "threshold": [0.05], "reference_summary": ["mean 40"],
    ...     "current_summary": ["mean 44"]})
    >>> drift_frame(t).iloc[0].tolist()
    ['age', 'yes', 'ks', '0.0123', 'p < 0.05', 'mean 40', 'mean 44']
    """
    return pd.DataFrame(
        {
            "Column": table["feature"],
            "Moved": table["drifted"].map({True: "yes", False: "no"}),
            "Test": table["method"],
            "Value": table["statistic"].map("{:.3g}".format),
            "Alarm at": [
                f"p < {t:g}" if m in ("ks", "chisquare") else f"> {t:g}"
                for m, t in zip(table["method"], table["threshold"], strict=True)
            ],
            "Reference": table["reference_summary"],
            "Current": table["current_summary"],
        }
    )
