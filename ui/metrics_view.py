"""What the Metrics page shows, as pure functions: the converters between the page's
editable tables and the engine's objects (a funnel, metric specs), the sensitivity table
and the sentences around it.

Kept out of the page so the page only draws, and so these can be tested without Streamlit.
Numbers go through :mod:`ui.fmt`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from abcore import config
from abcore.errors import InputError
from abcore.funnel import Funnel, stage_metric_name
from abcore.plan import METRIC_TYPES, ExperimentPlan, MetricSpec
from abcore.planning import powered_guardrails
from ui import fmt
from ui.text import md

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
    "quantile",
    "column",
]


@dataclass(frozen=True)
class Sizing:
    """Step ②'s choices besides the setup: the traffic, alpha and power to size with."""

    change_stage: str
    daily: float
    alpha: float
    power: float


def clamp(x: float, low: float, high: float) -> float:
    """A plan value brought into a widget's range (the widget refuses values outside it)."""
    return min(max(x, low), high)


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
            "quantile": fmt.quantile_label(m.quantile) if m.quantile is not None else None,
            "column": m.column,
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
        level = fmt.QUANTILE_LABELS.get(str(_text(row.get("quantile"))))
        if kind == "quantile" and level is None:
            raise InputError(
                f"{name} is a quantile: choose its level ({', '.join(fmt.QUANTILE_LABELS)}) in "
                "the Quantile column."
            )
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
                quantile=level if kind == "quantile" else None,
                column=_text(row.get("column")) if kind == "quantile" else None,
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
            "Baseline": [fmt.share(r) for r in table["reached"]],
            "Users / arm": [fmt.count(n) for n in table["n_control"]],
            "Days": [fmt.count(d) for d in table["days"]],
            "Triggered baseline": [fmt.share(r) for r in table["triggered_rate"]],
            "Triggered users / arm": [fmt.count(n) for n in table["triggered_n_control"]],
            "Triggered days": [fmt.count(d) for d in table["triggered_days"]],
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


def sizing_caption(
    plan: ExperimentPlan,
    *,
    lift: float,
    raised_power: float,
    daily: float,
    unit: str,
    triggered_daily: float,
    change_stage: str,
) -> str:
    """What the sensitivity table was sized for, and how to read its columns.

    ``plan`` carries the alpha and power the table used; ``raised_power`` is the power the
    guardrails make necessary (as on the Plan page).
    """
    sides = "two-sided" if plan.alternative == "two-sided" else "one-sided"
    text = (
        f"To detect a **+{lift * 100:.3g}%** relative lift at alpha {plan.alpha:g} "
        f"({sides}) and power {plan.power:.0%}"
    )
    if raised_power != plan.power:
        text += (
            f" (raised to {raised_power:.1%} so the {len(powered_guardrails(plan))} guardrail(s) "
            "with a margin pass too, as on the Plan page)"
        )
    text += f", with {daily:,} {md(unit)}s a day entering the funnel"
    if plan.exposure < 1:
        text += f" and {plan.exposure:.0%} of them in the test"
    return (
        text + ". **Baseline**: the share of entrants who reach the stage. **Triggered**: only the "
        f"{triggered_daily:,.0f} a day who reach {md(change_stage)} are "
        "randomized, so the rate is higher and the noise of users who never see the change is "
        "gone. Days count enrolment; the Plan page rounds up to whole weeks."
    )


def quickest_sentence(table: pd.DataFrame, days_col: str, lift: float) -> str | None:
    """How many days the lift takes on the first and the last measurable stage.

    >>> t = pd.DataFrame({"stage": ["Cart", "Buy", "Paid"], "days": [None, 6.0, 21.0]})
    >>> print(quickest_sentence(t, "days", 0.05))  # doctest: +NORMALIZE_WHITESPACE
    Here, +5% on **Buy conversion** shows up in **6 days**; the same lift on
    **Paid conversion** takes **21 days**.
    """
    good = table[table[days_col].notna()]
    if good.empty:
        return None
    first, last = good.iloc[0], good.iloc[-1]
    line = (
        f"Here, +{lift * 100:.3g}% on **{md(stage_metric_name(first['stage']))}** "
        f"shows up in **{int(first[days_col])} days**"
    )
    if last["stage"] != first["stage"]:
        line += (
            f"; the same lift on **{md(stage_metric_name(last['stage']))}** takes "
            f"**{int(last[days_col])} days**"
        )
    return line + "."


HOW_TO_CHOOSE = (
    "- **Sensitive**: the stage right after the change reacts first and has the most "
    "users, so a lift there is cheap to detect. But clicks and carts are not money.\n"
    "- **Meaningful**: the stage closest to revenue is what the business wants, but "
    "fewer users reach it and other steps dilute the effect (the table assumes the "
    "lift survives intact: the real cost is higher).\n"
    "- **A good default**: the most meaningful stage you can measure in a few weeks as "
    "the success metric; keep the others as secondary metrics to explain the result, "
    "and add guardrails so a win here is not a loss elsewhere."
)


def success_summary(success: MetricSpec) -> str:
    """The success metric in one line: name, type, good direction, baseline, target.

    >>> m = MetricSpec("Buy conversion", "success", "binary", baseline=0.0312, mde=0.05)
    >>> print(success_summary(m))  # doctest: +NORMALIZE_WHITESPACE
    **Buy conversion** · binary · higher is better · baseline 3.12% of funnel entrants,
    target +5%
    """
    where = (
        f"of users who reach {md(success.extra.get('trigger_stage'))}"
        if success.extra.get("population") == "triggered"
        else "of funnel entrants"
    )
    base = (
        f"baseline {fmt.share(success.baseline)} {where}"
        if success.type == "binary" and success.baseline is not None
        else f"baseline {success.baseline:g}"
        if success.baseline is not None
        else "no baseline yet"
    )
    lift = f", target {success.mde * 100:+.3g}%" if success.mde and success.relative else ""
    return (
        f"**{md(success.name)}** · {success.type} · "
        f"{DIRECTION_LABELS[success.direction].lower()} · {base}{lift}"
    )
