"""What the Metrics page shows, as plain functions: formatters, and the converters between the
page's editable tables and the engine's objects (a funnel, metric specs).

Kept out of the page so the page only draws, and so these can be tested without Streamlit.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from abcore import config
from abcore.errors import InputError
from abcore.funnel import Funnel, stage_metric_name
from abcore.plan import METRIC_TYPES, MetricSpec

UNITS = config.RANDOMIZATION_UNITS
UNIT_LABELS = {
    "user": "User",
    "session": "Session",
    "search": "Search",
    "page view": "Page view",
    "cluster": "Cluster",
}
SHORT_REASONS = {
    "entry": "entry: 100% by definition",
    "before_change": "before the change: can't move",
    "no_units": "nobody reaches it",
    "lift_too_large": "lift would pass 100%",
}
DIRECTION_LABELS = {"increase": "Higher is better", "decrease": "Lower is better"}
ROLE_COLUMNS = [
    "name",
    "role",
    "type",
    "direction",
    "baseline",
    "sd",
    "margin_pct",
    "unit",
    "numerator",
    "denominator",
]


def pct(x: float) -> str:
    """A share as a percentage: two decimals below 10%, one above; a dash for none."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.2%}" if x < 0.1 else f"{x:.1%}"


def clamp(x: float, low: float, high: float) -> float:
    """A plan value brought into a widget's range (the widget refuses values outside it)."""
    return min(max(x, low), high)


def count(x: Any) -> str:
    """A count with thousands separators; a dash for none."""
    return "—" if x is None or pd.isna(x) else f"{int(x):,}"


def funnel_frame(funnel: Funnel, numbers: str) -> pd.DataFrame:
    """The funnel as the editor shows it: users per stage, or step rates in percent."""
    if numbers == "users" and funnel.users is not None:
        return pd.DataFrame({"stage": list(funnel.stages), "users": list(funnel.users)}).astype(
            {"stage": "object", "users": "float64"}
        )
    steps = [round(r * 100, 4) for r in funnel.step_rates]
    return pd.DataFrame({"stage": list(funnel.stages), "step_pct": steps}).astype(
        {"stage": "object", "step_pct": "float64"}
    )


def funnel_from_frame(frame: pd.DataFrame, like: Funnel, source: str) -> Funnel:
    """The edited table back into a funnel (rows with neither a name nor a number dropped)."""
    rows = frame.reset_index(drop=True)
    name_ok = rows["stage"].map(lambda s: isinstance(s, str) and s.strip() != "")
    value_col = "users" if "users" in rows else "step_pct"
    rows = rows[name_ok | rows[value_col].notna()]
    if "users" in rows:
        return Funnel.from_counts(rows["stage"], rows["users"], unit=like.unit, source=source)
    return Funnel.from_step_rates(
        rows["stage"], (rows["step_pct"].iloc[1:] / 100).tolist(), unit=like.unit, source=source
    )


def edited_source(funnel: Funnel) -> str:
    """Where the funnel came from, marked as edited once."""
    base = funnel.source or "Your funnel"
    return base if base.endswith("edited") else f"{base}, edited"


def roles_frame(metrics: list[MetricSpec]) -> pd.DataFrame:
    """Secondary and guardrail metrics as the roles table (margins in percent)."""
    rows = [
        {
            "name": m.name,
            "role": m.role,
            "type": m.type,
            "direction": m.direction,
            "baseline": m.baseline,
            "sd": m.sd,
            "margin_pct": None if m.margin is None else round(m.margin * 100, 6),
            "numerator": m.numerator,
            "denominator": m.denominator,
            "unit": m.extra.get("unit"),
        }
        for m in metrics
    ]
    return pd.DataFrame(rows, columns=ROLE_COLUMNS).astype(
        {
            c: ("float64" if c in ("baseline", "sd", "margin_pct") else "object")
            for c in ROLE_COLUMNS
        }
    )


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def metrics_from_roles(
    frame: pd.DataFrame, previous: list[MetricSpec], success_name: str | None
) -> list[MetricSpec]:
    """Secondary and guardrail metrics from the roles table; InputError says what to fix."""
    old = {m.name: m for m in previous}
    out: list[MetricSpec] = []
    names: set[str] = {success_name} if success_name else set()
    for row in frame.to_dict("records"):
        name = _text(row.get("name"))
        if name is None:
            if any(_text(row.get(c)) for c in ("baseline", "sd", "margin_pct")):
                raise InputError("A metric in the table has no name: name it or delete the row.")
            continue
        if name in names:
            raise InputError(
                f"{name!r} appears twice (or is also the success metric): give each metric "
                "its own name, or delete the extra row."
            )
        names.add(name)
        role = row.get("role") if row.get("role") in ("secondary", "guardrail") else "guardrail"
        kind = row.get("type") if row.get("type") in METRIC_TYPES else "continuous"
        baseline = _number(row.get("baseline"))
        if kind == "binary" and baseline is not None and not 0 < baseline < 1:
            raise InputError(
                f"{name} is a rate (binary): enter its baseline as a fraction between 0 and 1, "
                "for example 0.03 for 3%."
            )
        margin = _number(row.get("margin_pct"))
        if margin is not None and margin < 0:
            raise InputError(f"The margin of {name} must be 0% or more.")
        before = old.get(name)
        extra = dict(before.extra) if before else {}
        unit = row.get("unit")
        if unit in UNITS:
            extra["unit"] = unit
        else:
            extra.pop("unit", None)
        out.append(
            MetricSpec(
                name=name,
                role=role,
                type=kind,
                direction=row.get("direction")
                if row.get("direction") in DIRECTION_LABELS
                else "increase",
                baseline=baseline,
                sd=_number(row.get("sd")),
                mde=before.mde if before else None,
                relative=before.relative if before else True,
                margin=None if margin is None else margin / 100,
                numerator=_text(row.get("numerator")),
                denominator=_text(row.get("denominator")),
                extra=extra,
            )
        )
    return out


def linked_stage(metric: MetricSpec | None, funnel: Funnel) -> str | None:
    """The funnel stage a metric was picked from, if the funnel still has it."""
    stage = metric.extra.get("funnel_stage") if metric else None
    return stage if stage in funnel.stages else None


def guess_unit(column: str) -> str:
    """The randomization unit an id column suggests by its name (user by default)."""
    low = column.lower()
    for unit, words in (("session", ("session",)), ("search", ("search", "query"))):
        if any(w in low for w in words):
            return unit
    return "user"


SUCCESS_STYLE = "background-color: #e8f0fe; font-weight: bold"
UNAFFECTED_STYLE = "color: #8b8b8b"


def sensitivity_view(
    table: pd.DataFrame,
    *,
    stages: list[str],
    change_stage: str,
    success_stage: str | None,
    secondary_stages: set[str | None],
) -> tuple[pd.DataFrame, list[list[str]]]:
    """The sensitivity table as a PM reads it (metric names, rates, users and days per arm,
    a note per stage) and each row's style: the success metric highlighted, stages the
    change cannot move greyed out."""
    change_index = stages.index(change_stage)

    def note(row: pd.Series) -> str:
        notes = []
        if row["stage"] == change_stage and row["position"] > 0:
            notes.append("◀ change happens here")
        elif not pd.isna(row["error"]):
            notes.append(SHORT_REASONS[row["error"]])
        if row["stage"] == success_stage:
            notes.append("★ success metric")
        elif row["stage"] in secondary_stages:
            notes.append("secondary metric")
        if row["position"] == change_index + 1:
            notes.append("most sensitive")
        elif row["position"] == len(stages) - 1 and row["affected"]:
            notes.append("closest to revenue")
        return " · ".join(notes)

    view = pd.DataFrame(
        {
            "Candidate metric": [stage_metric_name(s) for s in table["stage"]],
            "Baseline": [pct(r) for r in table["reached"]],
            "Users / arm": [count(n) for n in table["n_control"]],
            "Days": [count(d) for d in table["days"]],
            "Triggered baseline": [
                pct(r) if not pd.isna(r) else "—" for r in table["triggered_rate"]
            ],
            "Triggered users / arm": [count(n) for n in table["triggered_n_control"]],
            "Triggered days": [count(d) for d in table["triggered_days"]],
            "Note": [note(row) for _, row in table.iterrows()],
        }
    )
    styles = []
    for _, row in table.iterrows():
        style = (
            SUCCESS_STYLE
            if row["stage"] == success_stage
            else ""
            if row["affected"]
            else UNAFFECTED_STYLE
        )
        styles.append([style] * len(view.columns))
    return view, styles
