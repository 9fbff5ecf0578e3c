"""What the Plan page shows, as plain functions: error sentences and the guardrail editor's
table, to and from the plan's metric specs. Kept out of the page so the page only draws."""

from __future__ import annotations

import pandas as pd

from abcore.plan import ExperimentPlan, MetricSpec

LABELS = {
    "alpha": "Significance level (alpha)",
    "power": "Power",
    "baseline": "Baseline",
    "mde": "Minimum detectable effect",
    "sd": "Standard deviation",
    "daily_units": "Daily eligible users",
    "exposure": "Share of traffic in the test",
    "variance_reduction": "Variance reduction",
    "expected share": "Split",
}
"""How the page labels the plan's fields, so an engine error names what the user sees."""
GUARD_COLUMNS = ["name", "type", "direction", "baseline", "sd", "margin_pct"]


def friendly(exc: Exception) -> str:
    """An engine error as a sentence that names the field as the page labels it."""
    text = str(exc)
    for name, label in LABELS.items():
        if text.startswith(name):
            text = label + text[len(name) :]
            break
    return f"{text} Change it on the left and the numbers will update."


def guardrail_frame(plan: ExperimentPlan) -> pd.DataFrame:
    """The plan's guardrails as the editor shows them (margins in percent)."""
    rows = [
        {
            "name": g.name,
            "type": g.type,
            "direction": g.direction,
            "baseline": g.baseline,
            "sd": g.sd,
            "margin_pct": (g.margin or 0) * 100,
        }
        for g in plan.guardrails
    ]
    return pd.DataFrame(rows, columns=GUARD_COLUMNS).astype(
        {
            "name": "object",
            "type": "object",
            "direction": "object",
            "baseline": "float64",
            "sd": "float64",
            "margin_pct": "float64",
        }
    )


def pick(value: object, allowed: tuple[str, ...], default: str) -> str:
    """``value`` when it is one of ``allowed``, else ``default`` (a cell may hold anything)."""
    return value if value in allowed else default


def guardrails_from(frame: pd.DataFrame, previous: tuple[MetricSpec, ...]) -> list[MetricSpec]:
    """The edited guardrail table back into metric specs, keeping what the table does not
    show (ratio columns, extras) from the previous specs of the same name."""
    extras = {g.name: g for g in previous}
    out = []
    for row in frame.to_dict("records"):
        name = str(row.get("name") or "").strip()
        if not name or name == "nan":
            continue
        old = extras.get(name)
        out.append(
            MetricSpec(
                name=name,
                role="guardrail",
                type=pick(row.get("type"), ("binary", "continuous", "ratio"), "continuous"),
                direction=pick(row.get("direction"), ("increase", "decrease"), "decrease"),
                baseline=None if pd.isna(row.get("baseline")) else float(row["baseline"]),
                sd=None if pd.isna(row.get("sd")) else float(row["sd"]),
                margin=None if pd.isna(row.get("margin_pct")) else float(row["margin_pct"]) / 100,
                numerator=old.numerator if old else None,
                denominator=old.denominator if old else None,
                extra=old.extra if old else {},
            )
        )
    return out
